/* srgan/model.h: super-resolution generators, their weights, and seamless
 * tiled inference as a pipeline stage.
 *
 * Five architectures, chosen by the "arch" metadata of the weights file
 * (or, without it, recognised from the tensor names):
 *  - "msrresnet" (default; BasicSR MSRResNet): conv_first 3x3 + LReLU(0.1),
 *    B x [conv1 3x3 - ReLU - conv2 3x3 + identity] (body.N.conv1/conv2),
 *    pixel-shuffle stages (upconv1, upconv2 for x4; upconv1 only for x2, x3;
 *    three for x8) each followed by LReLU(0.1), conv_hr 3x3 + LReLU,
 *    conv_last 3x3, plus a bilinear upsampling of the input (global skip).
 *  - "srresnet" (original SRGAN, Ledig et al. 2017): 9x9 head + PReLU,
 *    B x [conv-BN-PReLU-conv-BN + identity], conv-BN + long skip,
 *    pixel-shuffle stages with PReLU, 9x9 tail; batch norm is folded into the
 *    convs at load.
 *  - "srvgg" (Real-ESRGAN SRVGGNetCompact): body.0 conv + body.1 activation,
 *    num_conv x [conv 3x3, activation] (body.N, convs and PReLUs numbered
 *    together), a conv to out*s*s channels and a pixel shuffle by s, plus a
 *    nearest upsampling of the input. act_type prelu (per channel), relu or
 *    leakyrelu (0.1).
 *  - "rrdbnet" (ESRGAN / Real-ESRGAN RRDBNet, x4 and x2): conv_first, B
 *    RRDBs body.N.rdbK.convJ (dense blocks of growth num_grow_ch, LReLU(0.2),
 *    residual scaling 0.2), conv_body + long skip, two nearest x2 + conv_up1 /
 *    conv_up2 + LReLU, conv_hr + LReLU, conv_last. x2 pixel-unshuffles the
 *    input by 2 first: tiles are aligned to 2 input pixels and odd image
 *    sides are reflect-padded (cropped after), as Real-ESRGAN's inference.
 *  - "edsr" (BasicSR EDSR): (x - rgb_mean) * img_range, conv_first, B x
 *    [conv1 - ReLU - conv2, * res_scale, + identity], conv_after_body + long
 *    skip, upsample.(2k) conv + pixel shuffle stages, conv_last, / img_range
 *    + rgb_mean.
 * Each is one file src/model/arch_*.c that lists its layers; the halo,
 * memory plans, inference, training and the tensor checks come from that
 * list.
 *
 * Tensor names (PyTorch state_dict style, OIHW weights) are BasicSR's and
 * Real-ESRGAN's, so converted checkpoints (tools/convert_basicsr.py) load
 * unchanged. SRResNet: conv_first (9x9) + act_first.weight (PReLU alpha, [1]
 * or [C]); body.N.conv1, body.N.bn1, body.N.act.weight, body.N.conv2,
 * body.N.bn2; conv_body, bn_body; upconvK + act_upK.weight; conv_last (9x9).
 * A bnX is .weight, .bias, .running_mean, .running_var (eps from the
 * metadata "bn_eps", default 1e-5); a conv followed by BN may lack .bias. BN
 * tensors are optional: without them the conv is used as is, which is how
 * this library saves an SRResNet (BN already folded).
 *
 * Metadata (__metadata__, strings): arch, scale (or BasicSR's "upscale"),
 * num_block (srvgg: num_conv), num_feat, num_in_ch, num_out_ch, and per
 * architecture num_grow_ch, act_type, res_scale, img_range, rgb_mean
 * ("R,G,B"); optionally value_range ("0,1" only), training_data, date, ...
 * Missing architecture keys are inferred from the tensor shapes; every
 * tensor must match the architecture and none may be left over.
 *
 *     sr_error err = {0};
 *     sr_generator *g = sr_generator_load("weights/x4-psnr.safetensors", &err);
 *     sr_tile_opts to = { .tile = 0, .threads = 2, .max_memory = 0 };
 *     sr_stage *up = sr_generator_stage_new(src, g, &to, &err); // owns src
 *     ... sr_pipeline_run(up, writer, 0, NULL, &err) ...
 *     sr_stage_free(up);
 *     sr_generator_free(g);
 */
#ifndef SRGAN_MODEL_H
#define SRGAN_MODEL_H

#include <stddef.h>
#include <stdint.h>
#include "srgan/error.h"
#include "srgan/nn.h"
#include "srgan/pipeline.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sr_arch {
    SR_ARCH_MSRRESNET = 0,
    SR_ARCH_SRRESNET,
    SR_ARCH_SRVGG,   /* Real-ESRGAN SRVGGNetCompact */
    SR_ARCH_RRDBNET, /* ESRGAN / Real-ESRGAN RRDBNet */
    SR_ARCH_EDSR     /* BasicSR EDSR */
} sr_arch;

/* srvgg activations (act_type) */
typedef enum sr_act_type { SR_ACT_TYPE_PRELU = 0, SR_ACT_TYPE_RELU, SR_ACT_TYPE_LEAKYRELU } sr_act_type;

typedef struct sr_generator_config {
    sr_arch arch;
    int scale;        /* 2, 3, 4 or 8 (rrdbnet: 2 or 4; edsr: 2, 3, 4 or 8) */
    int blocks;       /* residual blocks (srvgg: num_conv, rrdbnet: RRDB blocks) */
    int channels;     /* feature channels */
    int in_channels;  /* 1 to 4 */
    int out_channels; /* 1 to 4 */
    /* Architecture extras: 0 means the architecture's default. */
    int grow;          /* rrdbnet: num_grow_ch (default 32) */
    sr_act_type act;   /* srvgg: act_type (default prelu) */
    float res_scale;   /* edsr: res_scale (default 1) */
    float img_range;   /* edsr: img_range (default 255; with it rgb_mean defaults */
    float rgb_mean[4]; /*   to DIV2K's 0.4488, 0.4371, 0.4040) */
} sr_generator_config;

/* One named parameter tensor (BasicSR naming) with its gradient buffer. */
typedef struct sr_param {
    char name[64];
    int ndim;
    int64_t shape[4];
    size_t numel;
    float *data;
    float *grad; /* NULL until sr_generator_enable_grad */
} sr_param;

typedef struct sr_generator sr_generator;

/* A generator with freshly initialised weights (Kaiming x 0.1 in residual
 * blocks, ICNR for convs feeding pixel shuffle), from seed. */
sr_generator *sr_generator_new(const sr_generator_config *cfg, uint64_t seed, sr_error *err);
/* Load from safetensors; architecture from __metadata__. */
sr_generator *sr_generator_load(const char *path, sr_error *err);

/* The configuration and parameter count (as it runs: batch norm folded) of
 * a weights file, from its metadata and tensor shapes, without reading the
 * weights. 0, or -1 with err (for a file sr_generator_load would refuse for
 * its configuration; bad tensor data is only found by loading). */
int sr_generator_describe(const char *path, sr_generator_config *cfg, size_t *params,
                          sr_error *err);
/* Find shipped or installed weights by name ("x4-psnr" finds
 * x4-psnr.safetensors) in the search path: $SRGAN_UP_WEIGHTS (a directory or
 * one file), then -- only for programs run from this project's build
 * directory -- the source tree's weights/, then the installed data directory
 * (PREFIX/share/srgan-up). Writes the file's path; 0, or -1 with err.
 *
 *     char path[4096];
 *     if (sr_model_find("x4-psnr", path, sizeof path, &err) == 0)
 *         g = sr_generator_load(path, &err);
 */
int sr_model_find(const char *name, char *path, size_t cap, sr_error *err);
/* The search path itself, in order (at most max entries); returns the count. */
int sr_model_dirs(const char **dirs, int max);
/* Whether the running program lives in this project's build directory. */
int sr_running_from_build_tree(void);
/* Save with metadata: every key/value pair of meta (NULL-terminated list of
 * key, value, key, value, ..., NULL) is stored besides the architecture. */
int sr_generator_save(const sr_generator *g, const char *path, const char *const *meta,
                      sr_error *err);
void sr_generator_free(sr_generator *g);
/* Make the generator ready for fast inference: transform the weights of the
 * convs that run Winograd (sr_conv2d_prepare). Call once the weights are
 * final (after loading), and again if they change: until then inference
 * uses the old transform. Training never needs it. sr_generator_free frees
 * the transforms. The halo (sr_generator_halo) grows with Winograd. */
int sr_generator_prepare(sr_generator *g, sr_error *err);
/* sr_generator_prepare, and with p resolving to SR_PRECISION_BF16
 * (sr_precision_resolve, nn.h) the bf16 weights of the convs bf16 takes
 * (>= SR_BF16_MIN_CHANNELS in and out: not the RGB head and tail), so that
 * inference runs them in bf16 unless a tile stage's fp32 option says
 * otherwise. FP32 is sr_generator_prepare. Check sr_bf16_supported()
 * before asking for BF16: without it, bf16 convs run a slow plain-C
 * reference. sr_generator_blend keeps the precision it finds.
 *
 *     sr_precision p = sr_precision_resolve(SR_PRECISION_AUTO);
 *     if (sr_generator_prepare_precision(g, p, &err)) ... */
int sr_generator_prepare_precision(sr_generator *g, sr_precision p, sr_error *err);
/* After preparing in bf16, for a run that never asks for fp32 tiles
 * (sr_tile_opts.fp32): drops the fp32 Winograd weights of the convs bf16
 * runs (sr_conv2d_release_fp32; 24 MB for MSRResNet x4). */
void sr_generator_drop_fp32(sr_generator *g);

const sr_generator_config *sr_generator_get_config(const sr_generator *g);
/* Metadata of the file it was loaded from (NULL if none or created). */
const char *sr_generator_meta(const sr_generator *g, const char *key);
/* Network interpolation: every parameter of g becomes s * g + (1 - s) *
 * other (same architecture and shapes, else -1 with err). s = 1 leaves g
 * unchanged and s = 0 makes it an exact copy of other. srgan-up --denoise
 * blends a model trained with noise (x4-real) with its noise-free partner
 * this way, as Real-ESRGAN's denoise strength does.
 *
 *     sr_generator *g = sr_generator_load("x4-real.safetensors", &err);
 *     sr_generator *p = sr_generator_load("x4-psnr.safetensors", &err);
 *     if (sr_generator_blend(g, p, 0.5f, &err) == 0) ... use g ...
 */
int sr_generator_blend(sr_generator *g, const sr_generator *other, float s, sr_error *err);
/* Receptive-field radius in INPUT pixels: a tile halo at least this wide
 * makes tiled inference equal to whole-image inference. */
int sr_generator_halo(const sr_generator *g);
int sr_generator_param_count(const sr_generator *g);
sr_param *sr_generator_param(sr_generator *g, int i);
/* Parameter by name, or NULL. */
sr_param *sr_generator_param_by_name(sr_generator *g, const char *name);
/* "msrresnet", "srresnet", "srvgg", "rrdbnet", "edsr". */
const char *sr_arch_name(sr_arch arch);
/* The architecture named `name` (any case, as in the weights' "arch"
 * metadata or srgan-train --arch); 0, or -1 when it names none. */
int sr_arch_parse(const char *name, sr_arch *arch);
/* "msrresnet, srresnet, srvgg, rrdbnet, edsr": the names sr_arch_parse accepts, for messages. */
const char *sr_arch_list(void);
/* Check a configuration (scale 2/3/4/8, channels, blocks...); 0 or -1. */
int sr_generator_config_check(const sr_generator_config *cfg, sr_error *err);

/* Whole-image inference: x [N, in_ch, H, W] in [0,1] -> y [N, out_ch, sH, sW]
 * (y allocated by the caller). Uses a temporary arena of its own. */
int sr_generator_forward(const sr_generator *g, const sr_tensor *x, sr_tensor *y, sr_error *err);

/* ---- training ------------------------------------------------------------
 * The training forward keeps every activation the backward needs in the
 * caller's arena; the backward accumulates parameter gradients. SRResNet is
 * trained in its BN-folded form (the BN layers act as in eval mode: they are
 * already part of the convs), so batch statistics are not computed.
 *
 *     sr_generator_enable_grad(g, &err);
 *     sr_arena *a = sr_arena_new(sr_generator_train_arena_bytes(g, n, h, w));
 *     sr_generator_zero_grad(g);
 *     sr_gen_acts *acts = sr_generator_train_forward(g, &x, &y, a, &err);
 *     ... loss, dy = dLoss/dy ...
 *     sr_generator_backward(g, acts, &dy, NULL, NULL, a, &err);
 *     ... optimiser step on sr_generator_param(g, i)->data / ->grad ...
 *     sr_arena_reset(a);
 */
typedef struct sr_gen_acts sr_gen_acts;

/* Precision of the training forward and backward: FP32 (the default: the
 * one-step PyTorch parity holds there), or BF16, mixed precision: the 3x3
 * convs with >= SR_BF16_MIN_CHANNELS in and out take bf16 operands with
 * fp32 sums, on AMX for their forward, input and weight gradients, or on
 * CPUs with AVX512-BF16 and no AMX by Winograd with vdpbf16ps GEMMs for
 * their forward and input gradient (the weight gradient stays fp32);
 * weights, Adam state, activations and everything else stay fp32 (the
 * trainer runs VGG19's convs in bf16 too: sr_vgg_prepare_precision).
 * AUTO is sr_train_precision_resolve's. -1 with err when BF16 is asked for
 * on a CPU with neither (sr_bf16_train_supported, nn.h). */
int sr_generator_set_train_precision(sr_generator *g, sr_precision p, sr_error *err);
/* AUTO -> BF16 where bf16 training runs and was measured faster
 * (sr_bf16_faster: AMX; AMD with AVX512-BF16, a psnr step 0.64 s against
 * 0.71 s on the Zen 4 VM), else FP32; FP32 and BF16 unchanged. */
sr_precision sr_train_precision_resolve(sr_precision p);

/* Allocate (zeroed) gradient buffers for every parameter; idempotent. */
int sr_generator_enable_grad(sr_generator *g, sr_error *err);
void sr_generator_zero_grad(sr_generator *g);
/* Arena bytes that train_forward + backward need for a batch of n inputs of
 * h x w (y and dy not included: the caller allocates them). */
size_t sr_generator_train_arena_bytes(const sr_generator *g, int n, int h, int w);
/* x [n, in_ch, h, w] -> y [n, out_ch, s*h, s*w] (caller-allocated). x is
 * referenced, not copied: keep it unchanged until the backward. The returned
 * activations live in the arena. NULL with err set on failure. */
sr_gen_acts *sr_generator_train_forward(const sr_generator *g, const sr_tensor *x, sr_tensor *y,
                                        sr_arena *a, sr_error *err);
/* dy: gradient of the loss w.r.t. y. Adds parameter gradients into grads[i]
 * (one buffer of numel floats per parameter i; lets each worker thread keep
 * its own), or into sr_param.grad when grads is NULL (enable_grad first).
 * dx (shape of x), when not NULL, is overwritten with dLoss/dx. Temporaries
 * come from the arena (after the activations); the arena must be the one
 * the forward used, not reset in between. */
int sr_generator_backward(const sr_generator *g, const sr_gen_acts *acts, const sr_tensor *dy,
                          sr_tensor *dx, float *const *grads, sr_arena *a, sr_error *err);

/* ---- tiled inference stage --------------------------------------------- */

typedef struct sr_tile_opts {
    int tile;          /* input tile side in pixels (without halo); 0 = from max_memory.
                        * Tiles may be made narrower (never wider) so that every
                        * thread gets work in a band. */
    int threads;       /* worker threads (tiles in parallel); 0 = all cores */
    size_t max_memory; /* bytes for tile buffers; 0 = SR_DEFAULT_MAX_MEMORY */
    /* Called after each tile (from worker threads, so it must be
     * thread-safe) with the tiles done and the image's total. The row-based
     * progress of a pipeline moves only once per band, and a small image is
     * one band. May be NULL. */
    void (*on_tile)(void *user, long done, long total);
    void *on_tile_user;
    /* Nonzero: self-ensemble (EDSR+, RCAN+). Each tile runs eight times, on
     * the eight flips and rotations of its input window (view k: horizontal
     * flip if k & 1, vertical flip if k & 2, then transpose if k & 4); each
     * output is mapped back and they are averaged as
     * (((v0 + v1) + v2) ... + v7) * 0.125 in float, which is what averaging
     * eight whole-image runs in that order gives. 8x the time, same memory.
     * The halo makes every view of a tile equal to that view of the whole
     * image. */
    int ensemble;
    /* Nonzero: run fp32 even where the generator was prepared with bf16
     * weights (sr_generator_prepare_precision), e.g. for 16-bit and float
     * input whose intensities matter. Either way a tile's output is the
     * whole image's, bit for bit. */
    int fp32;
} sr_tile_opts;

#define SR_DEFAULT_MAX_MEMORY ((size_t)1 << 30) /* 1 GiB */

/* Stage producing the generator's output for src (channels == in_channels),
 * tile by tile with a halo of sr_generator_halo(), reading src through a
 * row window: memory depends on tile size and width, not on height. Owns
 * src, not g. */
sr_stage *sr_generator_stage_new(sr_stage *src, const sr_generator *g, const sr_tile_opts *o,
                                 sr_error *err);

#ifdef __cplusplus
}
#endif
#endif
