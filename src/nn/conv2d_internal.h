/* conv2d_internal.h: pieces of the conv2d implementation shared between
 * conv2d.c (dispatch, im2col + sgemm, backward) and conv2d_direct.c (the
 * AVX-512 direct kernel). Not part of the public API. */
#ifndef SRGAN_NN_CONV2D_INTERNAL_H
#define SRGAN_NN_CONV2D_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "srgan/nn.h"

/* Geometry of one stride-1 direct convolution on one image. */
typedef struct sr_direct_geom {
    int cin, cout, kh, kw, pad;
    int h, w;   /* input size  */
    int oh, ow; /* output size */
    int y0, y1; /* the forward computes (and writes) output rows [y0, y1) only */
} sr_direct_geom;

/* Non-zero when this CPU can run the direct kernel (AVX-512F). */
int sr_conv_direct_cpu_ok(void);
/* Non-zero when this CPU can run the AVX2 + FMA direct kernel. */
int sr_conv_avx2_cpu_ok(void);
/* Scratch floats sr_conv_direct() needs for geometry g. */
size_t sr_conv_direct_scratch(const sr_direct_geom *g);
/* y[cout][oh][ow] = bias + conv(x[cin][h][w], weight OIHW), stride 1, zero
 * padding g->pad, then the epilogue ep (NULL: none) applied to each output
 * row of a channel group as soon as it is computed. bias may be NULL.
 * weight NULL: scratch still holds the weights the previous call with the
 * same g and scratch packed at its start (the images of a batch after the
 * first: packing 256 -> 512 4x4 weights per image was 2 % of a GAN step). */
void sr_conv_direct(const sr_direct_geom *g, const float *x, const float *weight,
                    const float *bias, float *y, float *scratch, const sr_conv_epilogue *ep);

/* Apply ep to y[co][p0 .. p0 + len) for co in [co0, co1) (planes of
 * `plane` floats); ep->residual is indexed like y. conv2d.c. */
void sr_conv_epilogue_rows(const sr_conv_epilogue *ep, float *y, size_t plane, int co0, int co1,
                           size_t p0, size_t len);

/* dw[cout][cin][kh][kw] += correlation of dy[cout][oh][ow] with the padded
 * x[cin][h][w] (the weight gradient of the conv above). */
size_t sr_conv_direct_dw_scratch(const sr_direct_geom *g);
void sr_conv_direct_dweight(const sr_direct_geom *g, const float *x, const float *dy, float *dw,
                            float *scratch);

/* The same two kernels with AVX2 + FMA (conv2d_direct_avx2.c); the scratch
 * sizes above are enough for them. */
void sr_conv_direct_avx2(const sr_direct_geom *g, const float *x, const float *weight,
                         const float *bias, float *y, float *scratch, const sr_conv_epilogue *ep);
void sr_conv_direct_dweight_avx2(const sr_direct_geom *g, const float *x, const float *dy,
                                 float *dw, float *scratch);

/* Helpers both use: weights packed in blocks of co_blk output channels,
 * wp[cob][ci][ky][kx][j] = w[cob*co_blk + j][ci][ky][kx] (zero past cout),
 * and a zero-padded band of input rows with the given row pitch,
 * band[ci][r][c] = x[ci][oy0 + r - pad][c - pad]. */
void sr_direct_pack_weights(const sr_direct_geom *g, const float *w, float *wp, int co_blk);
void sr_direct_fill_band(const sr_direct_geom *g, const float *x, int oy0, int rows, float *band,
                         size_t pitch);

/* ---- Winograd F(4x4, 3x3), 3x3 stride-1 pad-1 convs only ---------------
 * conv2d_winograd.c: weight transform, the plain-C reference; the AVX2 + FMA
 * kernel is conv2d_winograd_avx2.c. Output tiles of 4x4 are anchored to the
 * IMAGE's coordinates, not to the tensor's: local pixel (0, 0) lies at
 * absolute (oy, ox), the grid has a tile starting at every absolute row and
 * column divisible by 4, so the first tile row/column of the tensor starts
 * at local -(oy mod 4) / -(ox mod 4) (partial tiles are zero-padded). An
 * output's rounding depends on where it sits in its tile and on the tile's
 * 6x6 inputs; with a fixed grid, a crop of the image computes the same bits
 * as the whole image wherever those inputs agree. */
typedef struct sr_wino_geom {
    int cin, cout, h, w; /* input size = output size */
    int py, px;          /* oy mod 4, ox mod 4 */
    int y0, y1;          /* the forward computes (and writes) output rows [y0, y1) only:
                          * whole tile rows, so y0 + py, and y1 + py unless y1 == h,
                          * are multiples of 4 (sr_conv2d_forward_rows) */
} sr_wino_geom;

/* The geometry of the whole image (every output row). */
static inline sr_wino_geom sr_wino_geom_of(int cin, int cout, int h, int w, int py, int px)
{
    sr_wino_geom g = {cin, cout, h, w, py, px, 0, h};
    return g;
}

/* The forward's tile rows [*t0, *t1). */
static inline void sr_wino_tile_rows(const sr_wino_geom *g, int *t0, int *t1)
{
    *t0 = (g->y0 + g->py) / 4;
    *t1 = (g->y1 + g->py + 3) / 4;
}

/* Non-zero for the convs Winograd handles (3x3, stride 1, padding 1). */
int sr_wino_layer_ok(const sr_conv2d *l);
/* Floats of the packed transformed weights, U[36][cout/6][cin][6] (cout
 * rounded up to a multiple of 6 with zero rows), and their computation from
 * OIHW weights: U = G g G^T in double, rounded once to float. */
size_t sr_wino_u_floats(int cin, int cout);
void sr_wino_transform_weights(const float *w, int cin, int cout, float *u);
/* Non-zero when the Winograd kernels run their GEMMs with AVX-512 (the CPU
 * has AVX-512F and SRGAN_WINO_AVX2 is not set: tests use it to cover the
 * AVX2 micro-kernels on AVX-512 CPUs; both give the same bits). */
int sr_wino_avx512(void);
/* Reference: plain C, one tile at a time, same operations as the AVX2
 * kernel (so the same bits). bias may be NULL; ep may be NULL. */
void sr_wino_forward_ref(const sr_wino_geom *g, const float *x, const float *u,
                         const float *bias, float *y, const sr_conv_epilogue *ep);
/* The AVX2 + FMA kernel (needs sr_conv_avx2_cpu_ok()) and its scratch.
 * Unlike the other kernels, it allows ep->residual == y (y += conv: each
 * residual pixel is read just before it is overwritten). */
size_t sr_wino_scratch(const sr_wino_geom *g);
void sr_wino_forward_avx2(const sr_wino_geom *g, const float *x, const float *u,
                          const float *bias, float *y, float *scratch,
                          const sr_conv_epilogue *ep);

/* The same, then each output d multiplied by the derivative of an
 * activation at gate (shaped like y): the bits of sr_relu_backward(gate, y,
 * y) or sr_lrelu_backward(gate, y, y, slope) after the call above, in the
 * kernel's store (training: the dx of a conv that is the only reader of a
 * ReLU'd value). Also allows ep->residual == y. */
typedef struct sr_wino_gate {
    const float *x;  /* the activation's output (its sign is the input's) */
    sr_act_kind act; /* SR_ACT_RELU or SR_ACT_LRELU */
    float slope;
} sr_wino_gate;
void sr_wino_forward_gated_avx2(const sr_wino_geom *g, const float *x, const float *u,
                                const float *bias, float *y, float *scratch,
                                const sr_conv_epilogue *ep, const sr_wino_gate *gt);

/* ---- Winograd weight gradient (training) ---------------------------------
 * The forward is y = A^T [U . V] A per tile and channel pair, U = G g G^T,
 * V = B^T d B; so dL/dU[co][ci] = sum over tiles of M'[co] . V[ci] with
 * M' = A dy A^T (the 4x4 output gradient of the tile taken to 6x6), and
 * dL/dg = G^T (dL/dU) G. dU is accumulated over the tiles of every image of
 * a batch, in layout du[36][cin][co16] (co16 = cout rounded up to 16, zero
 * columns past cout), and taken back to dweight once (..._finish). Tiles are
 * anchored at the image's (0, 0) (training images are never crops). */
size_t sr_wino_du_floats(int cin, int cout);
int sr_wino_du_pitch(int cout); /* co16 */
/* du += the dU of one image (x [cin][h][w], dy [cout][h][w]): plain C
 * reference, and the AVX2 + FMA kernel with its scratch (floats). */
void sr_wino_dweight_ref(const sr_wino_geom *g, const float *x, const float *dy, float *du);
size_t sr_wino_dweight_scratch(const sr_wino_geom *g);
void sr_wino_dweight_avx2(const sr_wino_geom *g, const float *x, const float *dy, float *du,
                          float *scratch);
/* dw[cout][cin][3][3] += G^T du G, in double. */
void sr_wino_dweight_finish(const float *du, int cin, int cout, float *dw);

/* The plain-C tile transforms both references share (conv2d_winograd.c):
 * V = B^T d B for the 6x6 input patch of channel c whose first output is
 * (oy, ox), zero outside the image; and A^T m A + b stored into the output
 * plane yk where inside the image. */
void sr_wino_ref_input_tile(const float *x, int c, int h, int w, int oy, int ox, float *v);
void sr_wino_ref_output_tile(const float *m, float b, float *yk, int h, int w, int oy, int ox);

/* ---- bf16 Winograd inference (conv2d_winograd_bf16.c) ---------------------
 * The GEMMs of the forward with bf16 operands and fp32 sums, on CPUs with
 * AVX512-BF16 (sr_bf16_supported, nn.h). Operands hold pairs of input
 * channels per 32-bit word (channel 2i in the low half, 2i + 1 in the high
 * one; zero past an odd cin): U as ub[36][cout/6][cin/2][6] (cout rounded up
 * to 6, cin to 2), made once from the fp32 U by sr_wino_pack_bf16; a band's
 * V as Vb[36][cin/2][ntp]. */
/* f rounded to bf16 (its upper 16 bits): to nearest even, denormals to
 * signed zero. Inline: packing runs it per weight and per activation. */
static inline uint16_t sr_bf16_round(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if (!(u & 0x7f800000u))
        u &= 0x80000000u; /* denormal (or zero): signed zero */
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

static inline float sr_bf16_to_float(uint16_t b)
{
    const uint32_t u = (uint32_t)b << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}
size_t sr_wino_u_bf16_words(int cin, int cout);
void sr_wino_pack_bf16(const float *u, int cin, int cout, uint32_t *ub);
/* Reference: sr_wino_forward_ref with V and U rounded to bf16 and each sum
 * taken pair by pair, fmaf(u_odd, v_odd, acc) then fmaf(u_even, v_even,
 * acc), as vdpbf16ps does: the kernel's bits. */
void sr_wino_forward_bf16_ref(const sr_wino_geom *g, const float *x, const uint32_t *ub,
                              const float *bias, float *y, const sr_conv_epilogue *ep);
/* The kernel (needs sr_bf16_supported()): conv2d_winograd_avx2.c's forward
 * with the two steps below in place of its fp32 GEMM. Scratch:
 * sr_wino_scratch (it covers Vb). Allows ep->residual == y. */
void sr_wino_forward_bf16(const sr_wino_geom *g, const float *x, const uint32_t *ub,
                          const float *bias, float *y, float *scratch, const sr_conv_epilogue *ep);
/* The same, then each output times an activation's derivative at gt (as
 * sr_wino_forward_gated_avx2; gt may be NULL): bf16 training's dx without
 * AMX. Its reference: sr_wino_forward_bf16_ref, then sr_relu_backward or
 * sr_lrelu_backward in place (the bits of the non-AVX2 build's fallback). */
void sr_wino_forward_gated_bf16(const sr_wino_geom *g, const float *x, const uint32_t *ub,
                                const float *bias, float *y, float *scratch,
                                const sr_conv_epilogue *ep, const sr_wino_gate *gt);
/* A band's V[36][C][ntp] (ntp a multiple of 16) to Vb. */
void sr_wino_band_to_bf16(const float *V, int C, int ntp, uint32_t *Vb);
/* M[p][k - kb0][ntp] (rows ldm_p * ntp floats apart per p) = U[p] x V[p]
 * for output channels [kb0, kb0 + kbn) (multiples of 6) of K6. */
void sr_wino_gemm_bf16(const uint32_t *ub, const uint32_t *Vb, int C, int K6, int kb0, int kbn,
                       int ntp, float *M, int ldm_p);

/* ---- bf16 GEMM for the im2col convs (gemm_bf16.c) --------------------
 * C[M][N] = A[M][K] x B[K][N] with operands rounded to bf16 (sr_bf16_round)
 * and fp32 sums by vdpbf16ps: bf16 training's forward and input gradient
 * of the convs that run im2col (the discriminator's 4x4 convs, VGG's 8x8
 * maps; conv flag bf16_gemm). A is packed once per batch (the weights),
 * B per block of columns. Each sum runs over the pairs of k in order from
 * zero, the odd k of a pair then the even one, each product added with
 * one rounding, as the instruction does (conv2d_winograd_bf16.c); the
 * reference does exactly that, so the two give the same bits. */
/* Words of packed A: 6-row blocks of (K + 1) / 2 pairs. */
size_t sr_gemm_bf16_a_words(int M, int K);
/* ap[mb][k2][j] = bf16(a(6 mb + j, 2 k2)) | bf16(a(6 mb + j, 2 k2 + 1)) << 16,
 * zero past M and K; element (m, k) of A at a[m * sm + k * sk] (W: sm = K,
 * sk = 1; its transpose: sm = 1, sk = M). */
void sr_gemm_bf16_pack_a(int M, int K, const float *a, size_t sm, size_t sk, uint32_t *ap);
/* Scratch floats of sr_gemm_bf16 for M x N x K (packed B and the padded
 * product). */
size_t sr_gemm_bf16_scratch(int M, int N, int K);
/* c[m * ldc + n] = sum (beta 0) from ap and B (row-major, ldb). */
void sr_gemm_bf16(const uint32_t *ap, int M, int N, int K, const float *b, size_t ldb, float *c,
                  size_t ldc, float *scratch);
/* The same in plain C from A itself (the reference). */
void sr_gemm_bf16_ref(int M, int N, int K, const float *a, size_t sm, size_t sk, const float *b,
                      size_t ldb, float *c, size_t ldc);
/* The micro-kernel loop (conv2d_winograd_bf16.c): m[M6][Np] = A x B over
 * whole blocks, bp[K2][Np] (Np a multiple of 16). */
void sr_gemm_bf16_blocks(const uint32_t *ap, const uint32_t *bp, int M6, int K2, int Np,
                         float *m);

/* ---- bf16 direct 3x3 convs on AMX (conv2d_amx.c) ---------------------
 * For 3x3 stride-1 pad-1 convs with >= SR_BF16_MIN_CHANNELS in and out.
 * Weights packed once as wa[9][cin/32][cout][32] bf16 (cin rounded up to
 * 32, cout to 32, zeros); sums in fp32 started from the bias. */
int sr_amx_layer_ok(const sr_conv2d *l);
size_t sr_amx_weight_halves(int cin, int cout);
void sr_amx_pack(const float *w, int cin, int cout, uint16_t *wa);
/* Scratch floats for an input of cin x h x w (its bf16 pair copy). */
size_t sr_amx_scratch(int cin, int cout, int h, int w);
/* The kernel (needs sr_amx_supported()). Allows ep->residual == y (y +=
 * conv: a row's residual is read as the row is written). gt (may be NULL):
 * each output then times the activation's derivative at gt->x (training's
 * dx of a conv that reads an activation, as sr_wino_forward_gated_avx2). */
void sr_amx_forward(int cin, int cout, int h, int w, const float *x, const uint16_t *wa,
                    const float *bias, float *y, float *scratch, const sr_conv_epilogue *ep,
                    const sr_wino_gate *gt);
/* bf16 training's weight gradient on AMX: acc[9][cout to 32][cin to 32]
 * (sr_amx_dw_acc_floats, zeroed once per batch) += the taps' sums of
 * bf16(dy) x bf16(x) over one image's pixels, in fp32 on the tiles; then
 * sr_amx_dweight_finish adds acc to dw[cout][cin][3][3]. Scratch:
 * sr_amx_dw_scratch (bounded by the width). The reference sums each tap of
 * one image in double and adds it to acc. */
size_t sr_amx_dw_acc_floats(int cin, int cout);
size_t sr_amx_dw_scratch(int cin, int cout, int w);
void sr_amx_dweight(int cin, int cout, int h, int w, const float *x, const float *dy,
                    float *acc, float *scratch);
void sr_amx_dweight_ref(int cin, int cout, int h, int w, const float *x, const float *dy,
                        float *acc);
void sr_amx_dweight_finish(const float *acc, int cin, int cout, float *dw);
/* Plain C: the same bf16 operands, each sum in double (the hardware's own
 * order of rounding is not reproduced: tests bound the difference). */
void sr_amx_forward_ref(int cin, int cout, int h, int w, const float *x, const uint16_t *wa,
                        const float *bias, float *y, const sr_conv_epilogue *ep,
                        const sr_wino_gate *gt);

/* A band of the AVX2 kernels: tile rows [ty0, ty0 + nr) x tile columns
 * [cx0, cx0 + ncx); tile (r, j) is column r * ncx + j of the band's
 * transformed arrays, whose rows are ntp apart. */
typedef struct sr_wino_band {
    int ty0, nr, cx0, ncx, nt, ntp;
} sr_wino_band;
#define SR_WINO_NT_MAX 32 /* tiles per band, at most */
/* The band's transformed input, V[36][cin][ntp] (conv2d_winograd_avx2.c). */
void sr_wino_input_band_avx2(const sr_wino_geom *g, const float *x, const sr_wino_band *b,
                             float *V);
/* The same with AVX-512 (needs sr_wino_avx512()), for bands with ncx >= 16
 * (16 tiles per vector) or ncx == 8 (two tile rows per vector); the same
 * bits. The forward and the weight gradient use it there. */
void sr_wino_input_band_avx512(const sr_wino_geom *g, const float *x, const sr_wino_band *b,
                               float *V);
/* The same, then rounded to bf16 and packed: Vb as sr_wino_band_to_bf16
 * makes from V (the same bits), without writing V. */
void sr_wino_input_band_bf16_avx512(const sr_wino_geom *g, const float *x, const sr_wino_band *b,
                                    uint32_t *Vb);
/* The forward's output transform of a band: y (output channels [k0, k0 +
 * kn)) = A^T M A + bias, then ep and gt (each may be NULL), from the
 * products M[36][SR_WINO_KB][ntp] (row k - k0). With avx512 non-zero (and
 * sr_wino_avx512()) and ncx >= 16: the AVX-512 version, else the AVX2 one;
 * the same bits. Exposed for the tests. */
#define SR_WINO_KB 24 /* output channels per GEMM block (multiple of 6) */
void sr_wino_output_band(const sr_wino_geom *g, const float *M, int k0, int kn,
                         const sr_wino_band *b, const float *bias, float *y,
                         const sr_conv_epilogue *ep, const sr_wino_gate *gt, int avx512);
/* Cuts the image's tiles into bands: the n-th band (n from 0) in *b, 0
 * when there is none. The forward's banding, shared. */
int sr_wino_next_band(const sr_wino_geom *g, int n, sr_wino_band *b);

#endif
