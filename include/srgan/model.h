/* srgan/model.h: the residual-block generator with pixel-shuffle upsampling,
 * its weights, and seamless tiled inference as a pipeline stage.
 *
 * Two variants, chosen by the "arch" metadata of the weights file:
 *  - "msrresnet" (default; BasicSR MSRResNet): conv_first 3x3 + LReLU(0.1),
 *    B x [conv1 3x3 - ReLU - conv2 3x3 + identity] (body.N.conv1/conv2),
 *    pixel-shuffle stages (upconv1, upconv2 for x4; upconv1 only for x2, x3;
 *    three for x8) each followed by LReLU(0.1), conv_hr 3x3 + LReLU,
 *    conv_last 3x3, plus a bilinear upsampling of the input (global skip).
 *  - "srresnet" (original SRGAN, Ledig et al. 2017): 9x9 head + PReLU,
 *    B x [conv-BN-PReLU-conv-BN + identity], conv-BN + long skip,
 *    pixel-shuffle stages with PReLU, 9x9 tail; batch norm is folded into the
 *    convs at load.
 *
 *     sr_error err = {0};
 *     sr_generator *g = sr_generator_load("weights/x4.safetensors", &err);
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
    SR_ARCH_SRRESNET
} sr_arch;

typedef struct sr_generator_config {
    sr_arch arch;
    int scale;        /* 2, 3, 4 or 8 */
    int blocks;       /* residual blocks */
    int channels;     /* feature channels */
    int in_channels;  /* 1 or 3 */
    int out_channels; /* 1 or 3 */
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
/* Save with metadata: every key/value pair of meta (NULL-terminated list of
 * key, value, key, value, ..., NULL) is stored besides the architecture. */
int sr_generator_save(const sr_generator *g, const char *path, const char *const *meta,
                      sr_error *err);
void sr_generator_free(sr_generator *g);

const sr_generator_config *sr_generator_get_config(const sr_generator *g);
/* Metadata of the file it was loaded from (NULL if none or created). */
const char *sr_generator_meta(const sr_generator *g, const char *key);
/* Receptive-field radius in INPUT pixels: a tile halo at least this wide
 * makes tiled inference equal to whole-image inference. */
int sr_generator_halo(const sr_generator *g);
int sr_generator_param_count(const sr_generator *g);
sr_param *sr_generator_param(sr_generator *g, int i);

/* Whole-image inference: x [1, in_ch, H, W] in [0,1] -> y [1, out_ch, sH, sW]. */
int sr_generator_forward(const sr_generator *g, const sr_tensor *x, sr_tensor *y, sr_error *err);

/* ---- tiled inference stage --------------------------------------------- */

typedef struct sr_tile_opts {
    int tile;          /* input tile side in pixels (without halo); 0 = from max_memory */
    int threads;       /* worker threads (tiles in parallel); 0 = all cores */
    size_t max_memory; /* bytes for tile buffers; 0 = SR_DEFAULT_MAX_MEMORY */
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
