/* srgan/nn.h: float32 tensors and neural-network layers, each with its
 * forward and backward pass side by side, plus a plain reference forward for
 * every fast kernel (tests compare the two).
 *
 * One tensor type: NCHW, contiguous, float32. Tensors do not own memory by
 * themselves; memory comes from an arena (inference tiles, training steps)
 * or from sr_tensor_alloc() for long-lived buffers.
 *
 *     sr_arena *a = sr_arena_new(64 << 20);
 *     sr_tensor x = sr_tensor_arena(a, 1, 3, 32, 32);
 *     sr_conv2d c = { .cin = 3, .cout = 16, .kh = 3, .kw = 3, .stride = 1,
 *                     .pad = 1, .weight = w, .bias = b };
 *     sr_tensor y = sr_tensor_arena(a, 1, 16, 32, 32);
 *     float *scratch = sr_arena_alloc(a, sr_conv2d_scratch_floats(&c, &x));
 *     sr_conv2d_forward(&c, &x, &y, scratch);
 *     sr_lrelu_forward(y.data, y.data, sr_tensor_numel(&y), 0.1f);
 *     sr_arena_reset(a);                    // all of it back at once
 *
 * Backward functions ACCUMULATE into parameter gradients (dweight, dbias,
 * dalpha) so that several batch items or calls can add up; they OVERWRITE the
 * input gradient dx. Any dx or parameter-gradient pointer may be NULL to skip
 * that part of the work.
 *
 * No function here starts threads: parallelism is over tiles (inference) or
 * batch items (training), one single-threaded GEMM per worker, which was
 * measured faster than OpenBLAS's own threading on 2 cores.
 */
#ifndef SRGAN_NN_H
#define SRGAN_NN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- memory ----------------------------------------------------------- */

typedef struct sr_arena sr_arena;
/* A bump allocator of `bytes` capacity (64-byte aligned allocations). */
sr_arena *sr_arena_new(size_t bytes);
/* n floats, 64-byte aligned, uninitialised; NULL when the arena is full. */
float *sr_arena_alloc(sr_arena *a, size_t nfloats);
void sr_arena_reset(sr_arena *a);
size_t sr_arena_used(const sr_arena *a);  /* bytes in use now            */
size_t sr_arena_peak(const sr_arena *a);  /* most bytes ever in use      */
void sr_arena_free(sr_arena *a);
size_t sr_arena_cap(const sr_arena *a);   /* bytes it can hold        */

/* A process-wide pool of arenas, so that memory once faulted in is reused
 * by the next tile, file or call instead of being mapped and zeroed again by
 * the kernel (thread-safe). take: a pooled arena of at least `bytes`
 * (reset), or a new one (NULL when out of memory). give: hand it back (the
 * pool keeps a bounded number; the rest are freed). clear: free all pooled
 * arenas. created: how many arenas take has had to make; bytes: capacity
 * of the arenas held now (tests). */
sr_arena *sr_arena_pool_take(size_t bytes);
/* The same, but only a pooled arena of at most `most` bytes (else a new
 * one, and nothing pooled is freed): for a small buffer that must not take
 * a large tile arena the next stage would then make again. */
sr_arena *sr_arena_pool_take_fit(size_t bytes, size_t most);
void sr_arena_pool_give(sr_arena *a);
void sr_arena_pool_clear(void);
size_t sr_arena_pool_created(void);
size_t sr_arena_pool_bytes(void);

/* 64-byte aligned heap memory for long-lived buffers (weights, grads). */
float *sr_alloc_floats(size_t n);  /* zeroed; NULL on failure */
void sr_free_floats(float *p);

/* ---- tensor ----------------------------------------------------------- */

typedef struct sr_tensor {
    int n, c, h, w;
    float *data; /* n*c*h*w floats, NCHW */
} sr_tensor;

static inline size_t sr_tensor_numel(const sr_tensor *t)
{
    return (size_t)t->n * t->c * t->h * t->w;
}
/* A tensor whose data comes from the arena (data NULL if it is full). */
sr_tensor sr_tensor_arena(sr_arena *a, int n, int c, int h, int w);
/* A tensor with its own zeroed heap data; free with sr_tensor_free. */
sr_tensor sr_tensor_alloc(int n, int c, int h, int w);
void sr_tensor_free(sr_tensor *t);

/* ---- conv2d ----------------------------------------------------------- */

typedef struct sr_conv2d {
    int cin, cout;
    int kh, kw;
    int stride;  /* same in both directions */
    int pad;     /* zero padding, same on all sides */
    float *weight; /* [cout][cin][kh][kw], PyTorch OIHW */
    float *bias;   /* [cout], or NULL for no bias */
    float *wino;   /* Winograd-transformed weights made by sr_conv2d_prepare,
                    * or NULL (then AUTO never picks Winograd) */
    float *wino_dx; /* the same for the backward's dx kernel (the flipped,
                     * transposed weights), made by sr_conv2d_prepare_backward
                     * for fixed networks used in training (VGG), or NULL */
    uint32_t *wino_bf16; /* the Winograd weights rounded to bf16 (pairs of
                          * input channels per word), made by
                          * sr_conv2d_prepare_bf16, or NULL: then inference
                          * runs this conv in bf16 (see sr_precision) */
    uint16_t *amx;       /* the weights in bf16 for the AMX direct kernel
                          * (sr_conv2d_prepare_bf16 on CPUs with AMX-BF16),
                          * or NULL; where set, bf16 inference runs AMX */
    uint16_t *amx_dx;    /* the same for the backward's dx kernel of fixed
                          * weights (sr_conv2d_prepare_amx(l, 1): VGG in bf16
                          * training), or NULL: packed per backward call */
    uint32_t *wino_dx_bf16; /* wino_dx rounded to bf16 as wino_bf16 is
                             * (sr_conv2d_prepare_backward_bf16: VGG in bf16
                             * training without AMX), or NULL */
    int bf16_gemm; /* nonzero: where this conv runs im2col GEMMs, its forward
                    * and input gradient take bf16 operands with fp32 sums
                    * (vdpbf16ps) on CPUs where bf16 training runs that
                    * instruction (AVX512-BF16 without AMX), instead of
                    * sgemm or the direct kernel; the weight gradient stays
                    * fp32. Set by bf16 training for the discriminator and
                    * VGG's smallest maps. 1x1 convs stay fp32. */
    uint32_t *gemm_bf16w; /* those GEMMs' weights packed in bf16, the forward's
                           * then the dx's (sr_conv2d_prepare_gemm_bf16, once
                           * per change of the weights), or NULL: then each
                           * call packs them into its scratch */
} sr_conv2d;

static inline int sr_conv_out_size(int in, int k, int stride, int pad)
{
    return (in + 2 * pad - k) / stride + 1;
}
/* Floats of scratch memory forward/backward need for input x. */
size_t sr_conv2d_scratch_floats(const sr_conv2d *l, const sr_tensor *x);
/* y must be shaped [x.n, cout, oh, ow]. Stride-1 convs larger than 1x1 run
 * a direct AVX-512 kernel when the CPU has AVX-512F (runtime dispatch, no
 * im2col); the rest use im2col + sgemm with the column matrix built a few
 * output rows at a time. Either way scratch depends on the width and the
 * channels, not the height. */
void sr_conv2d_forward(const sr_conv2d *l, const sr_tensor *x, sr_tensor *y, float *scratch);
/* Plain six-loop reference (tests only). */
void sr_conv2d_forward_ref(const sr_conv2d *l, const sr_tensor *x, sr_tensor *y);
/* x is the forward input, dy the gradient of y. dx is overwritten; dweight
 * ([cout][cin][kh][kw]) and dbias are accumulated. Same scratch as forward. */
void sr_conv2d_backward(const sr_conv2d *l, const sr_tensor *x, const sr_tensor *dy,
                        sr_tensor *dx, float *dweight, float *dbias, float *scratch);

/* What a conv applies to its output while it is still in cache, instead of
 * separate passes over memory: y = act(conv(x) + bias + residual). The
 * values are the same, bit for bit, as sr_add(residual, y) followed by the
 * activation function of the same kind. */
typedef enum sr_act_kind { SR_ACT_NONE = 0, SR_ACT_RELU, SR_ACT_LRELU, SR_ACT_PRELU } sr_act_kind;
typedef struct sr_conv_epilogue {
    const float *residual; /* shaped like y and NOT overlapping it; NULL: none */
    sr_act_kind act;
    float slope;           /* LRELU */
    const float *alpha;    /* PRELU: output channel co uses alpha[0] if nalpha == 1, */
    int nalpha, group;     /* else alpha[co / group] (group r*r before a pixel shuffle) */
} sr_conv_epilogue;
/* sr_conv2d_forward, then ep (NULL: none). */
void sr_conv2d_forward_ep(const sr_conv2d *l, const sr_tensor *x, sr_tensor *y, float *scratch,
                          const sr_conv_epilogue *ep);

/* Which kernel a conv call uses. AUTO (what sr_conv2d_forward/backward do):
 * for stride-1 convs larger than 1x1, the AVX-512 direct kernel when the CPU
 * has AVX-512F, else the AVX2 + FMA direct kernel when it has those;
 * im2col + sgemm otherwise. GEMM forces im2col + sgemm; DIRECT asks for the
 * best direct kernel and DIRECT_AVX2 for the AVX2 one (tests, benchmarks),
 * each falling back to GEMM where it cannot run. Results agree to float
 * rounding. Scratch from sr_conv2d_scratch_floats suffices for all. */
typedef enum sr_conv_impl {
    SR_CONV_AUTO = 0,
    SR_CONV_GEMM,
    SR_CONV_DIRECT,
    SR_CONV_DIRECT_AVX2,
    SR_CONV_WINOGRAD,     /* F(4x4, 3x3), AVX2 + FMA: 3x3 stride-1 pad-1 convs
                           * (backward: dx by Winograd, dweight as AUTO) */
    SR_CONV_WINOGRAD_REF, /* the same in plain C (same bits; tests) */
    SR_CONV_REF           /* the six-loop reference (tests) */
} sr_conv_impl;
/* Winograd F(4x4, 3x3). AUTO runs it, on CPUs with AVX2 + FMA (AVX-512
 * ones too: its GEMM has AVX-512 micro-kernels, and MSRResNet x4 ran 2.2x
 * faster than the AVX-512 direct kernel on the AVX-512 EPYC VM), for 3x3
 * stride-1 pad-1 convs with at least
 * SR_WINOGRAD_MIN_CHANNELS output channels that have been prepared: sr_conv2d_prepare transforms the weights once (call it when the
 * weights are final, e.g. after loading, and again whenever they change;
 * sr_conv2d_release frees the copy; prepare on a layer Winograd does not
 * handle does nothing). Its results differ from the direct paths by float
 * rounding, a little more than they differ from each other (relative error
 * bound: tests/nn/test_nn_winograd.c). Training is not bound by these
 * rules (no tiles): its forward (sr_conv2d_train_prepare) and backward
 * (dx, a 3x3 conv of dy with the flipped kernel, and dweight; see
 * sr_conv2d_backward_begin) run Winograd on every CPU with AVX2 + FMA,
 * AVX-512 ones included, transforming the weights once per step.
 *
 * The environment variable SRGAN_CONV = auto | gemm (im2col) | direct |
 * avx2 | winograd | winograd-ref | ref overrides what AUTO picks, for every
 * conv it can run (unprepared layers then transform their weights per call,
 * in scratch; with winograd and winograd-ref, the convs Winograd cannot run
 * get what AUTO gives them without the override). Read once, at the first
 * conv. */
#define SR_WINOGRAD_MIN_CHANNELS 8
int sr_conv2d_prepare(sr_conv2d *l);  /* 0, or -1 when out of memory */
/* For a conv whose weights stay fixed while training runs its backward (a
 * loss network: VGG): the dx kernel's Winograd weights once, instead of per
 * backward call. Call after sr_conv2d_prepare (which releases both). */
int sr_conv2d_prepare_backward(sr_conv2d *l);
void sr_conv2d_release(sr_conv2d *l);
/* ---- bf16 inference ------------------------------------------------------
 * On CPUs with AVX512-BF16 (vdpbf16ps), inference can run the Winograd
 * GEMMs of 3x3 convs with bf16 operands: the transformed weights U rounded
 * to bf16 once, at prepare; each band's transformed input V rounded when it
 * is made; sums, input and output transforms, bias and epilogue in fp32.
 * On CPUs with AMX-BF16 (sr_amx_supported) the same convs run directly
 * instead, without Winograd: weights rounded to bf16 once at prepare
 * (l->amx), input rows as they are read, sums on AMX tiles in fp32
 * (conv2d_amx.c; about 2x faster than fp32 on the Sapphire Rapids VM,
 * where vdpbf16ps Winograd was slower than fp32).
 * Only convs with at least SR_BF16_MIN_CHANNELS input AND output channels
 * take it: the 3-channel head and tail convs stay fp32 (an earlier attempt
 * measured the head's worst bf16 error at 4.9e-2 of its largest output).
 * A bf16 conv's output is the same bits in a tile as in the whole image
 * (the Winograd grid rule of sr_conv2d_forward_at holds; sr_conv2d_reach
 * counts it as Winograd).
 * Accuracy on Set5 with the shipped models: bench/README.md ("bf16").
 *
 *     sr_precision p = SR_PRECISION_AUTO;
 *     sr_precision_parse("bf16", &p);           // from --precision
 *     if (p == SR_PRECISION_BF16 && !sr_bf16_supported()) ... refuse ...
 *     p = sr_precision_resolve(p);             // AUTO -> BF16 or FP32
 *     if (p == SR_PRECISION_BF16) sr_conv2d_prepare_bf16(&conv);
 *     else sr_conv2d_prepare(&conv);
 *     sr_conv2d_forward(&conv, &x, &y, scratch);  // bf16 where prepared
 *
 * SRGAN_CONV=winograd-ref runs the plain-C bf16 reference for bf16 convs
 * (same bits as the kernel); gemm, direct, avx2 and ref run fp32. On a CPU
 * without AVX512-BF16 a bf16-prepared conv runs that reference (slow:
 * tests). SRGAN_NO_BF16=1 makes sr_bf16_supported() 0 (tests). */
typedef enum sr_precision {
    SR_PRECISION_FP32 = 0,
    SR_PRECISION_BF16,
    SR_PRECISION_AUTO /* BF16 where sr_bf16_faster() and SR_PRECISION_AUTO_BF16, else FP32 */
} sr_precision;
#define SR_BF16_MIN_CHANNELS 8
/* What AUTO picks on a CPU with AVX512-BF16 (1: bf16), chosen from the
 * Set5 measurements in bench/README.md. */
#define SR_PRECISION_AUTO_BF16 1
/* Non-zero when the CPU has AVX-512F and AVX512-BF16 (and SRGAN_NO_BF16
 * is unset or 0). */
int sr_bf16_supported(void);
/* Non-zero when bf16 is supported, the CPU has AMX-BF16 and the kernel
 * grants the tile state (and SRGAN_NO_AMX is unset or 0): bf16 convs then
 * run direct on AMX tiles instead of Winograd with vdpbf16ps. */
int sr_amx_supported(void);
/* Non-zero where bf16 was measured faster than fp32: AMX CPUs, and AMD
 * CPUs with AVX512-BF16 (Intel's vdpbf16ps without AMX was slower). */
int sr_bf16_faster(void);
/* AUTO -> BF16 where sr_bf16_faster(), else FP32; FP32 and BF16 unchanged. */
sr_precision sr_precision_resolve(sr_precision p);
/* "fp32", "bf16", "auto" -> *p: 0, or -1 for anything else. */
int sr_precision_parse(const char *s, sr_precision *p);
const char *sr_precision_name(sr_precision p);
/* sr_conv2d_prepare, then the bf16 weights for convs bf16 takes (3x3
 * stride-1 pad-1, >= SR_BF16_MIN_CHANNELS in and out). 0, or -1 when out
 * of memory. sr_conv2d_prepare and sr_conv2d_release drop them. */
int sr_conv2d_prepare_bf16(sr_conv2d *l);
/* For a conv with bf16 weights (wino_bf16 or amx): frees its fp32
 * Winograd weights, which only a forward forced to fp32 would read (it
 * then runs the direct kernel: the same bits in tiles, slower). A bf16-only
 * inference touches 4x the model's size less memory (srgan-up
 * --precision bf16). Does nothing to other convs. */
void sr_conv2d_release_fp32(sr_conv2d *l);
/* Only the AMX weights (l->amx; with dx also l->amx_dx, the dx kernel's),
 * keeping whatever else is prepared (a fixed loss network's Winograd
 * forward and dx weights): its forward then runs AMX under AUTO and
 * winograd, and sr_conv2d_backward_begin_bf16 takes amx_dx instead of
 * packing the flipped kernel per call. Does nothing where AMX does not take
 * l. 0, or -1 when out of memory; sr_conv2d_release frees them. */
int sr_conv2d_prepare_amx(sr_conv2d *l, int dx);
/* For a fixed network trained through in bf16 on a CPU with AVX512-BF16 but
 * without AMX: after sr_conv2d_prepare and sr_conv2d_prepare_backward,
 * rounds both Winograd weights to bf16 (l->wino_bf16, l->wino_dx_bf16,
 * replacing any made before) for convs bf16 takes; the forward then runs
 * bf16 under AUTO and winograd, and sr_conv2d_backward_begin_bf16 takes
 * wino_dx_bf16. Does nothing (changes nothing) elsewhere.
 * 0, or -1 when out of memory; sr_conv2d_release frees them. */
int sr_conv2d_prepare_backward_bf16(sr_conv2d *l);
/* Packs the weights of a conv flagged bf16_gemm for its bf16 GEMMs
 * (forward and dx) into l->gemm_bf16w, reusing the buffer of an earlier
 * call: call it after every change of the weights (the discriminator
 * does, once per step). No-op (0) for other convs or where the CPU does
 * not run them; -1 when out of memory (the calls then pack per batch).
 * sr_conv2d_release frees it. */
int sr_conv2d_prepare_gemm_bf16(sr_conv2d *l);
/* Non-zero where bf16 training runs bf16 kernels: AMX (direct, on tiles),
 * or AVX512-BF16 with AVX2 + FMA (Winograd with vdpbf16ps GEMMs). */
int sr_bf16_train_supported(void);

/* The impl training's forward runs for a prepared conv with fixed weights
 * (Winograd where sr_conv2d_train_prepare would take it), for
 * sr_conv2d_forward_impl. */
sr_conv_impl sr_conv2d_train_impl(const sr_conv2d *l);
/* sr_conv2d_forward_ep_impl for a tensor x that is a crop of a larger image whose
 * pixel (0, 0) lies at image coordinates (oy, ox) (>= 0). Winograd computes
 * 4x4 output tiles and an output's rounding depends on its place in its
 * tile, so the tile grid is anchored to the image, not to the crop: then a
 * crop's outputs are bit for bit the whole image's wherever their tile's
 * 6x6 inputs are the same. Other kernels ignore the origin. */
void sr_conv2d_forward_at(const sr_conv2d *l, const sr_tensor *x, sr_tensor *y, float *scratch,
                          sr_conv_impl impl, const sr_conv_epilogue *ep, int oy, int ox);
/* Output rows [r0, r1) only of sr_conv2d_forward_at, for one image (n = 1)
 * and a stride-1 conv whose output is as tall as its input: the other rows
 * of y are not written, and x's rows are read only where those outputs
 * need them ([r0 - pad, r1 + pad), zero outside x; off the tile grid
 * below, the whole tile rows around them). The rows get the bits the whole
 * call gives them (but with SR_CONV_GEMM: sgemm's rounding depends on the
 * width of the matrix it is given, as it does for tiles). Scratch: sr_conv2d_rows_scratch_floats. The generator's tail computes a few rows of each layer
 * at a time with it (gen_forward.c), so a full-resolution layer never
 * needs more than a window of rows. Winograd kernels compute whole tile
 * rows: a range that is not on the image's tile grid (oy + r0, and oy + r1
 * unless r1 = h, multiples of 4) costs a copy, as on AMX, whose kernel
 * has no row range (SRGAN_ROWS_COPY=1 forces the copy everywhere: tests). */
void sr_conv2d_forward_rows(const sr_conv2d *l, const sr_tensor *x, sr_tensor *y, float *scratch,
                            sr_conv_impl impl, const sr_conv_epilogue *ep, int oy, int ox, int r0,
                            int r1);
/* rows: the most rows one call computes; on_grid: every call's range is on
 * the tile grid (else the copy's room is added). */
size_t sr_conv2d_rows_scratch_floats(const sr_conv2d *l, const sr_tensor *x, int rows,
                                     int on_grid);
/* How many pixels (each side) an output's exact bits may depend on, for a
 * chain of convs as AUTO runs them, to size tile halos: add up
 * sr_conv2d_reach over the convs at one resolution, with *run = 0 at the
 * start (and after any resampling). Direct and im2col convs reach kh/2.
 * A Winograd conv's tile makes each of its 4 outputs depend (in rounding)
 * on up to 5 of the 6 tile inputs: with the grid fixed, n consecutive
 * Winograd convs reach at most 3, 4, 7, 8, ... (3 and 1 in turn, from the
 * worst phase), so they count 3, 1, 3, 1, ... along a run. */
int sr_conv2d_reach(const sr_conv2d *l, int *run);
/* Non-zero where AUTO runs l on Winograd's 4x4 tile grid (as
 * sr_conv2d_reach counts it): output row 4t + i of a tile then depends, in
 * its rounding, on input rows 4t - 1 .. 4t + 3 (i = 0), 4t .. 4t + 3 (i = 1,
 * 2) and 4t .. 4t + 4 (i = 3), the kernels compute whole tile rows, and
 * nothing else of a tile row's inputs reaches an output (rows outside
 * these may hold anything finite or not). */
int sr_conv2d_tiled(const sr_conv2d *l);
void sr_conv2d_forward_impl(const sr_conv2d *l, const sr_tensor *x, sr_tensor *y,
                            float *scratch, sr_conv_impl impl);
void sr_conv2d_backward_impl(const sr_conv2d *l, const sr_tensor *x, const sr_tensor *dy,
                             sr_tensor *dx, float *dweight, float *dbias, float *scratch,
                             sr_conv_impl impl);
void sr_conv2d_forward_ep_impl(const sr_conv2d *l, const sr_tensor *x, sr_tensor *y,
                               float *scratch, sr_conv_impl impl, const sr_conv_epilogue *ep);
/* The backward of one conv over a batch handed over image by image (the
 * generator's images are channel slices, not one tensor): begin once, add
 * each image (or group of images), end once. Work that depends only on the
 * weights is done once in begin (the Winograd dx kernel's transform), and a
 * Winograd weight gradient is summed over the batch in the transformed
 * domain (dU, kept in scratch) and added to dweight once, in end. scratch:
 * sr_conv2d_scratch_floats(l, one image), untouched by the caller until
 * end. Each add overwrites its dx (NULL or no data: none) and accumulates
 * dbias (may be NULL) and, at once or at end, dweight (may be NULL).
 * sr_conv2d_backward_impl is begin + add + end.
 * Kernels, per layer: dx as described at SR_WINOGRAD_MIN_CHANNELS below
 * (Winograd for convs with enough input channels, on any CPU with AVX2 +
 * FMA); dweight by Winograd too (conv2d_winograd_dw_avx2.c) where both
 * channel counts are at least SR_WINOGRAD_MIN_CHANNELS (SRGAN_CONV=winograd:
 * every 3x3 stride-1 pad-1 conv; winograd-ref: the plain-C one), else the
 * direct or im2col kernels as before. */
typedef struct sr_conv2d_bwd {
    const sr_conv2d *l;
    float *dweight, *dbias;
    float *scratch;     /* per-image scratch, after the kept parts */
    const float *u_dx;  /* transformed dx kernel, or NULL */
    float *du;          /* Winograd dweight sums, or NULL */
    int wdx, wdw;       /* Winograd dx; dweight (1 AVX2, 2 plain C) */
    sr_conv_impl impl;  /* the other kernels' choice */
    const uint16_t *amx_dx; /* bf16 training: the dx kernel packed for AMX, or NULL */
    float *amx_dw;          /* bf16 training: AMX weight-gradient sums, or NULL */
    const uint32_t *ub_dx;  /* bf16 training without AMX: u_dx rounded to bf16
                             * for the vdpbf16ps Winograd kernel, or NULL */
} sr_conv2d_bwd;
void sr_conv2d_backward_begin(sr_conv2d_bwd *b, const sr_conv2d *l, float *dweight,
                              float *dbias, float *scratch, sr_conv_impl impl);
/* The same for bf16 training: where AMX takes the conv (sr_amx_supported(),
 * 3x3 stride-1 pad-1, >= SR_BF16_MIN_CHANNELS in and out, no SRGAN_CONV
 * override) its dx and dweight run on AMX with bf16 operands and fp32 sums
 * (dweight summed over the batch on the tiles, added at _end); dbias stays
 * fp32. Without AMX, on CPUs with AVX512-BF16, the same convs' dx runs the
 * Winograd kernel with bf16 GEMMs (the dx kernel's U rounded to bf16 once
 * per call, or prepared: wino_dx_bf16); dweight stays fp32 Winograd.
 * Elsewhere it is sr_conv2d_backward_begin(AUTO). */
void sr_conv2d_backward_begin_bf16(sr_conv2d_bwd *b, const sr_conv2d *l, float *dweight,
                                   float *dbias, float *scratch);
void sr_conv2d_backward_add(sr_conv2d_bwd *b, const sr_tensor *x, const sr_tensor *dy,
                            sr_tensor *dx);
void sr_conv2d_backward_end(sr_conv2d_bwd *b);
/* sr_conv2d_backward_add, except that dx (initialised) is added to: dx +=
 * the input gradient, with the same bits as _add into tmp then
 * sr_add(dx, tmp, dx). With Winograd dx the sum is made in the kernel's
 * store (no tmp, no separate pass); other kernels use tmp (numel(dx)
 * floats). */
void sr_conv2d_backward_acc(sr_conv2d_bwd *b, const sr_tensor *x, const sr_tensor *dy,
                            sr_tensor *dx, float *tmp);
/* sr_conv2d_backward_add (dx stored, not NULL), then dx multiplied by the
 * derivative of act (SR_ACT_RELU or SR_ACT_LRELU with slope) at gate,
 * shaped like dx: the bits of sr_relu_backward(gate, dx, dx) or
 * sr_lrelu_backward(gate, dx, dx, slope) after it, made in the Winograd
 * kernel's store where dx runs by Winograd (training: the dx of a conv that
 * is the only reader of an activation's output). */
void sr_conv2d_backward_gated(sr_conv2d_bwd *b, const sr_tensor *x, const sr_tensor *dy,
                              sr_tensor *dx, sr_act_kind act, float slope, const float *gate);
/* Training forward with weights that change every step: when training runs
 * l by Winograd (AUTO: 3x3 stride-1 pad-1 convs with at least
 * SR_WINOGRAD_MIN_CHANNELS outputs, on CPUs with AVX2 + FMA, with or without
 * AVX-512; SRGAN_CONV overrides), transforms l's current weights into u
 * (sr_conv2d_train_u_floats(l) floats), makes *lw a copy of *l that uses
 * them and returns the impl to pass to sr_conv2d_forward_ep_impl with lw;
 * else *lw = *l and SR_CONV_AUTO. Call once per step (or per batch), not
 * per image. */
size_t sr_conv2d_train_u_floats(const sr_conv2d *l);
sr_conv_impl sr_conv2d_train_prepare(const sr_conv2d *l, sr_conv2d *lw, float *u);
/* The same for bf16 training (mixed precision: fp32 master weights, Adam
 * state and activations): where AMX takes l (see
 * sr_conv2d_backward_begin_bf16) packs l's current weights to bf16 in u and
 * makes lw run them on AMX; elsewhere sr_conv2d_train_prepare. */
sr_conv_impl sr_conv2d_train_prepare_bf16(const sr_conv2d *l, sr_conv2d *lw, float *u);
/* Non-zero when impl really runs its own kernel for l (not the fallback). */
int sr_conv2d_impl_supported(const sr_conv2d *l, sr_conv_impl impl);
/* Non-zero when SR_CONV_DIRECT really runs a direct kernel for l. */
int sr_conv2d_direct_supported(const sr_conv2d *l);

/* ---- pointwise activations (in place allowed: y == x, dx == dy) -------- */

void sr_relu_forward(const float *x, float *y, size_t n);
/* x is the forward INPUT. */
void sr_relu_backward(const float *x, const float *dy, float *dx, size_t n);
void sr_lrelu_forward(const float *x, float *y, size_t n, float slope);
void sr_lrelu_backward(const float *x, const float *dy, float *dx, size_t n, float slope);
/* PReLU with nalpha = 1 (shared) or nalpha = x->c (per channel). */
void sr_prelu_forward(const sr_tensor *x, const float *alpha, int nalpha, sr_tensor *y);
void sr_prelu_backward(const sr_tensor *x, const float *alpha, int nalpha,
                       const sr_tensor *dy, sr_tensor *dx, float *dalpha);

/* y = a + b (elementwise, any of them may alias). Backward of add is the
 * identity on both inputs, so it has no function of its own. */
void sr_add(const float *a, const float *b, float *y, size_t n);
/* y += s * x */
void sr_axpy(float s, const float *x, float *y, size_t n);

/* ---- pixel shuffle (PyTorch order) ------------------------------------
 * out[n, c, h*r + i, w*r + j] = in[n, c*r*r + i*r + j, h, w]             */
void sr_pixel_shuffle_forward(const sr_tensor *x, int r, sr_tensor *y);
/* Plain reference of the forward pass (tests compare the two). */
void sr_pixel_shuffle_forward_ref(const sr_tensor *x, int r, sr_tensor *y);
/* The forward for rows [0, rows) of one image whose channel planes are
 * x_plane floats apart in x (y_plane in y): windows of rows (gen_tail.c). */
void sr_pixel_shuffle_rows(const float *x, size_t x_plane, float *y, size_t y_plane, int oc,
                           int rows, int iw, int r);
void sr_pixel_shuffle_backward(const sr_tensor *dy, int r, sr_tensor *dx);

/* ---- upsampling (F.interpolate, scale_factor integer, align_corners=False)
 * Bicubic uses A = -0.75 and clamps source indices at the edges, as PyTorch. */
typedef enum sr_interp {
    SR_INTERP_NEAREST = 0,
    SR_INTERP_BILINEAR,
    SR_INTERP_BICUBIC
} sr_interp;
void sr_upsample_forward(const sr_tensor *x, int scale, sr_interp mode, sr_tensor *y);
void sr_upsample_backward(const sr_tensor *dy, int scale, sr_interp mode, sr_tensor *dx);
/* Upsample a region: y covers output pixels [oy0, oy0 + y->h) x [ox0, ox0 + y->w)
 * of the upsampling of an image of size full_h x full_w, of which x holds
 * the input window starting at (iy0, ix0). Source indices are clamped to the
 * FULL image (not the window), so a tile gives exactly the whole-image values
 * as long as the window covers the taps (radius 2 input pixels suffices). */
void sr_upsample_region(const sr_tensor *x, int iy0, int ix0, int full_h, int full_w,
                        int scale, sr_interp mode, int oy0, int ox0, sr_tensor *y);

/* ---- max pool 2x2 stride 2 (VGG) --------------------------------------- */
void sr_maxpool2_forward(const sr_tensor *x, sr_tensor *y);
/* x is the forward input; the gradient goes to the first maximum, as PyTorch. */
void sr_maxpool2_backward(const sr_tensor *x, const sr_tensor *dy, sr_tensor *dx);
/* The window-by-window references of both (tests: the same bits). */
void sr_maxpool2_forward_ref(const sr_tensor *x, sr_tensor *y);
void sr_maxpool2_backward_ref(const sr_tensor *x, const sr_tensor *dy, sr_tensor *dx);

/* ---- batch norm folded into the preceding conv (inference) -------------
 * w' = w * g / sqrt(var + eps), b' = (b - mean) * g / sqrt(var + eps) + beta.
 * bias must exist (allocate zeros when the conv had none). */
void sr_fold_batchnorm(sr_conv2d *conv, const float *gamma, const float *beta,
                       const float *mean, const float *var, float eps);

#ifdef __cplusplus
}
#endif
#endif
