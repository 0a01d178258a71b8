/* conv2d_amx.c: bf16 3x3 convolutions on Intel AMX (tdpbf16ps), for
 * inference and bf16 training (forward, input gradient as the forward of
 * the flipped kernel, weight gradient), and their plain-C references.
 *
 * Why direct and not Winograd: one tdpbf16ps multiplies a 16 x 32 bf16 tile
 * by a 32 x 16 one into 16 x 16 fp32 sums, 16 times the multiply-adds per
 * cycle of AVX-512 fp32 FMAs. At that rate Winograd's 4x fewer multiplies do
 * not pay for its transforms (on the Sapphire Rapids VM of 2026-12-02 the
 * fp32 Winograd transforms alone took longer than all AMX convs), and the
 * direct form needs no transform: a conv is 9 x (Cin / 32) tile products
 * per 16 output channels x 16 pixels, read straight from the input.
 *
 * Layouts (what the tiles read, so that no tile needs a gather):
 *   - input, three rows at a time, each in three copies (one per tap
 *     column, see to_pairs): 32-bit words holding the bf16 of channels
 *     2 c2 (low half) and 2 c2 + 1, zero outside the image and past Cin
 *     (rounded up to 32); a B tile is 16 channel pairs x 16 pixels of one
 *     row, each tile row on its own 64-byte line;
 *   - weights, once at prepare: wa[tap][cb][k][i] = bf16(w[k][32 cb + i][tap]),
 *     Cout rounded up to 32 (zero rows); an A tile is 16 output channels x 32
 *     input channels, 1 KB contiguous;
 *   - output: a C tile is 16 output channels x 16 pixels of one row,
 *     started from the bias, stored into a row buffer and from there into
 *     the NCHW fp32 planes with the epilogue (see sr_amx_forward).
 * Each output sums its 9 x Cin products in the same order (tap, then block
 * of 32 channels) wherever it lies, so a tile of an image gives the whole
 * image's bits; the epilogue (activation, residual) runs on each output row
 * while it is in cache.
 *
 * Rounding: activations and weights to bf16 as sr_bf16_round does (round to
 * nearest even, denormals to zero). The hardware's sum of a pair of
 * products is not a sequence of fmaf in either order (measured), so the
 * reference (sr_amx_forward_ref) sums in double and the test bounds the
 * difference by the bf16 products' magnitudes (tests/nn/test_nn_amx.c).
 *
 * Linux gives a process AMX's 8 KB of tile state only when asked
 * (arch_prctl ARCH_REQ_XCOMP_PERM); sr_amx_supported() asks, once. */
#include "conv2d_internal.h"
#include "conv2d_winograd.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define AMX_CB 32 /* input channels per tile product (K of one tdpbf16ps) */
#define AMX_KB 16 /* output channels per C tile */
#define AMX_NX 16 /* pixels per C tile */

static int cin_pad(int cin)
{
    return (cin + AMX_CB - 1) / AMX_CB * AMX_CB;
}

static int cout_pad(int cout)
{
    return (cout + 2 * AMX_KB - 1) / (2 * AMX_KB) * (2 * AMX_KB);
}

/* The image columns rounded up to the 32 pixels of two C tiles, plus two
 * (the padding columns): row_words(w) - 2 is the padded width W32. */
static int row_words(int w)
{
    return (w + 2 * AMX_NX - 1) / (2 * AMX_NX) * (2 * AMX_NX) + 2;
}

/* Words per channel pair in one shifted copy of an input row (to_pairs):
 * the 32-pixel blocks plus 16 words of slack on each side (a store one
 * word left of the row, or past it, lands there), a multiple of 16 so
 * that every B tile row starts on a 64-byte line. */
static int copy_words(int w)
{
    return row_words(w) - 2 + 32;
}

int sr_amx_layer_ok(const sr_conv2d *l)
{
    return l->kh == 3 && l->kw == 3 && l->stride == 1 && l->pad == 1 &&
           l->cin >= SR_BF16_MIN_CHANNELS && l->cout >= SR_BF16_MIN_CHANNELS;
}

size_t sr_amx_weight_halves(int cin, int cout)
{
    return (size_t)9 * cin_pad(cin) * cout_pad(cout);
}

void sr_amx_pack(const float *w, int cin, int cout, uint16_t *wa)
{
    const int CB = cin_pad(cin) / AMX_CB, KP = cout_pad(cout);
    for (int t = 0; t < 9; t++)
        for (int cb = 0; cb < CB; cb++)
            for (int k = 0; k < KP; k++)
                for (int i = 0; i < AMX_CB; i++) {
                    const int c = cb * AMX_CB + i;
                    wa[(((size_t)t * CB + cb) * KP + k) * AMX_CB + i] =
                        k < cout && c < cin ? sr_bf16_round(w[((size_t)k * cin + c) * 9 + t]) : 0;
                }
}

size_t sr_amx_scratch(int cin, int cout, int h, int w)
{
    (void)h; /* three rows of the input's pairs, one output row of every channel */
    return (size_t)9 * (cin_pad(cin) / 2) * copy_words(w) +
           (size_t)cout_pad(cout) * (row_words(w) + 14 + AMX_NX) + 96;
}

/* ---- reference ---------------------------------------------------------- */

void sr_amx_forward_ref(int cin, int cout, int h, int w, const float *x, const uint16_t *wa,
                        const float *bias, float *y, const sr_conv_epilogue *ep,
                        const sr_wino_gate *gt)
{
    const int CB = cin_pad(cin) / AMX_CB, KP = cout_pad(cout);
    const size_t plane = (size_t)h * w;
    float *out = y;
    if (ep && ep->residual == y) { /* y += conv: the conv apart first (tests only) */
        out = malloc(plane * cout * sizeof *out);
        if (!out)
            abort();
    }
    for (int k = 0; k < cout; k++)
        for (int oy = 0; oy < h; oy++)
            for (int ox = 0; ox < w; ox++) {
                double acc = bias ? bias[k] : 0.0;
                for (int t = 0; t < 9; t++) {
                    const int iy = oy + t / 3 - 1, ix = ox + t % 3 - 1;
                    if (iy < 0 || iy >= h || ix < 0 || ix >= w)
                        continue;
                    for (int cb = 0; cb < CB; cb++)
                        for (int i = 0; i < AMX_CB && cb * AMX_CB + i < cin; i++) {
                            const int c = cb * AMX_CB + i;
                            const float a = sr_bf16_to_float(
                                wa[(((size_t)t * CB + cb) * KP + k) * AMX_CB + i]);
                            const float b = sr_bf16_to_float(
                                sr_bf16_round(x[(size_t)c * plane + (size_t)iy * w + ix]));
                            acc += (double)a * b;
                        }
                }
                out[(size_t)k * plane + (size_t)oy * w + ox] = (float)acc;
            }
    if (out != y) {
        for (size_t i = 0; i < plane * cout; i++)
            y[i] = out[i] + y[i];
        free(out);
        sr_conv_epilogue e = *ep;
        e.residual = NULL;
        sr_conv_epilogue_rows(&e, y, plane, 0, cout, 0, plane);
    } else if (ep) {
        sr_conv_epilogue_rows(ep, y, plane, 0, cout, 0, plane);
    }
    if (gt)
        for (size_t i = 0; i < plane * cout; i++)
            y[i] = gt->x[i] > 0.0f ? y[i] : gt->act == SR_ACT_RELU ? 0.0f : y[i] * gt->slope;
}

/* ---- weight gradient ------------------------------------------------------
 * dW[k][c][t] = sum over pixels p of dy[k][p] . x[c][p shifted by tap t]:
 * per tap a GEMM with the pixels as the summed dimension. A tiles: 16
 * output channels x 32 pixels of one dy row (bf16, dyb[k][row][x]); B
 * tiles: 16 pixel pairs x 16 input channels (xp[row][x / 2][c], 32-bit
 * words holding the bf16 of two neighbouring pixels of channel c, low half
 * first). The taps' column shifts by -1, 0, +1 pixel need the pairs
 * starting at odd (kx = 0, 2) and even (kx = 1) pixels: two copies. Output
 * rows go in groups of AMX_DW_G, the sums in an fp32 accumulator
 * acc[9][cout rounded to 32][cin rounded to 32] kept over the batch. */
#define AMX_DW_G 8

size_t sr_amx_dw_acc_floats(int cin, int cout)
{
    return (size_t)9 * cout_pad(cout) * cin_pad(cin);
}

size_t sr_amx_dw_scratch(int cin, int cout, int w)
{
    const size_t W32 = (size_t)row_words(w) - 2;
    /* dy: cout_pad rows of G x W32 bf16; x: 2 phases x (G + 2) rows x
     * (W32 / 2 + 1) pairs x cin_pad words */
    return (size_t)cout_pad(cout) * AMX_DW_G * W32 / 2 +
           (size_t)2 * (AMX_DW_G + 2) * (W32 / 2 + 1) * cin_pad(cin) + 64;
}

void sr_amx_dweight_ref(int cin, int cout, int h, int w, const float *x, const float *dy,
                        float *acc)
{
    const int CP = cin_pad(cin), KP = cout_pad(cout);
    const size_t plane = (size_t)h * w;
    for (int t = 0; t < 9; t++)
        for (int k = 0; k < cout; k++)
            for (int c = 0; c < cin; c++) {
                double sum = 0.0;
                for (int oy = 0; oy < h; oy++)
                    for (int ox = 0; ox < w; ox++) {
                        const int iy = oy + t / 3 - 1, ix = ox + t % 3 - 1;
                        if (iy < 0 || iy >= h || ix < 0 || ix >= w)
                            continue;
                        sum += (double)sr_bf16_to_float(sr_bf16_round(dy[k * plane + (size_t)oy * w + ox])) *
                               sr_bf16_to_float(sr_bf16_round(x[c * plane + (size_t)iy * w + ix]));
                    }
                float *a = &acc[((size_t)t * KP + k) * CP + c];
                *a = (float)((double)*a + sum);
            }
}

void sr_amx_dweight_finish(const float *acc, int cin, int cout, float *dw)
{
    const int CP = cin_pad(cin), KP = cout_pad(cout);
    for (int k = 0; k < cout; k++)
        for (int c = 0; c < cin; c++)
            for (int t = 0; t < 9; t++)
                dw[((size_t)k * cin + c) * 9 + t] += acc[((size_t)t * KP + k) * CP + c];
}

/* ---- AMX kernel ---------------------------------------------------------- */

#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 11 && defined(__x86_64__) && \
    defined(__linux__)
#define HAVE_AMX 1
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ARCH_REQ_XCOMP_PERM 0x1023
#define XFEATURE_XTILEDATA 18

static int amx_ok;
static pthread_once_t amx_once = PTHREAD_ONCE_INIT;

static void read_amx(void)
{
    const char *v = getenv("SRGAN_NO_AMX");
    if (v && *v && strcmp(v, "0"))
        return;
    if (!sr_bf16_supported()) /* also honours SRGAN_NO_BF16 */
        return;
    if (!__builtin_cpu_supports("amx-tile") || !__builtin_cpu_supports("amx-bf16"))
        return;
    /* the kernel must grant the tile data state; a refusal (old kernel, a
     * hypervisor without it) leaves AMX off */
    amx_ok = syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0;
}

int sr_amx_supported(void)
{
    pthread_once(&amx_once, read_amx);
    return amx_ok;
}

#define AMX __attribute__((target("avx512f,avx512bw,amx-tile,amx-bf16")))
#include "conv2d_winograd_avx2.h" /* bf16_round16 */

typedef struct tile_config {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} tile_config;

/* All 8 tiles 16 rows x 64 bytes (this thread's configuration; released
 * with _tile_release at the end of each kernel call). */
AMX static void tiles_16x64(void)
{
    tile_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    for (int t = 0; t < 8; t++) {
        cfg.colsb[t] = 64;
        cfg.rows[t] = 16;
    }
    _tile_loadconfig(&cfg);
}

/* Input row r - 1 (zero for r = 0 and h + 1) as three copies, one per tap
 * column kx: copy kx word j (j from 0) holds the pair of input column
 * j + kx - 1, zero outside the image, so that the B tile of output pixels
 * [x0, x0 + 16) and tap column kx starts at word x0 of copy kx: aligned,
 * which a single copy read at x0 + kx would be for one tap in three (the
 * others span two cache lines per tile row). row: [3][C2P][copy_words]. */
AMX static void to_pairs(const float *x, int cin, int h, int w, uint32_t *row, int r)
{
    const int C2P = cin_pad(cin) / 2, cw = copy_words(w), W32 = cw - 32;
    const size_t plane = (size_t)h * w, cstride = (size_t)C2P * cw;
    if (r == 0 || r == h + 1) {
        for (int k = 0; k < 3; k++)
            for (int c2 = 0; c2 < C2P; c2++)
                memset(row + k * cstride + (size_t)c2 * cw + 16, 0, (size_t)W32 * sizeof *row);
        return;
    }
    for (int c2 = 0; c2 < C2P; c2++) {
        uint32_t *d0 = row + (size_t)c2 * cw + 16; /* word 0 of copy 0 */
        uint32_t *d1 = d0 + cstride, *d2 = d1 + cstride;
        const int c = 2 * c2;
        const float *e = c < cin ? x + (size_t)c * plane + (size_t)(r - 1) * w : NULL;
        const float *o = c + 1 < cin ? e + plane : NULL;
        int j = 0;
        if (e) {
            /* input column j goes to word j + 1 of copy 0, j of copy 1,
             * j - 1 of copy 2 (word -1: slack) */
            for (; j < w; j += 16) {
                const __mmask16 m = w - j >= 16 ? 0xffff : (__mmask16)((1u << (w - j)) - 1);
                const __m512i lo = bf16_round16(_mm512_maskz_loadu_ps(m, e + j));
                const __m512i hi = o ? _mm512_slli_epi32(bf16_round16(_mm512_maskz_loadu_ps(m, o + j)), 16)
                                     : _mm512_setzero_si512();
                const __m512i v = _mm512_or_si512(lo, hi);
                _mm512_storeu_si512(d0 + j + 1, v);
                _mm512_storeu_si512(d1 + j, v);
                _mm512_storeu_si512(d2 + j - 1, v);
            }
        }
        /* j: the columns written, rounded up to 16 (zeros past w) */
        d0[0] = 0;
        memset(d0 + j + 1, 0, (size_t)(W32 - j - 1 > 0 ? W32 - j - 1 : 0) * sizeof *d0);
        memset(d1 + j, 0, (size_t)(W32 - j > 0 ? W32 - j : 0) * sizeof *d1);
        memset(d2 + j - 1, 0, (size_t)(W32 - j + 1 > 0 ? W32 - j + 1 : 0) * sizeof *d2);
    }
}

/* Row stride of the output row buffer, in floats: the 32-pixel blocks plus
 * 16, so that a C tile's 16 rows do not share cache sets. */
static int obuf_stride(int w)
{
    return row_words(w) - 2 + 16;
}

/* One output row: d = act(s + r), then times the activation's derivative
 * at gate (training's dx), with the checks made at compile time (ACT: 0
 * none, 1 ReLU, 2 leaky with slope va; G: 0 no gate, 1 gate to 0, 2 gate
 * to gslope); the last vector is masked. */
static inline __attribute__((always_inline)) AMX void
row_body(const float *s, float *d, const float *r, const float *gate, int w, __m512 va,
         __m512 vg, const int R, const int ACT, const int G)
{
    const __m512 z = _mm512_setzero_ps();
    for (int i = 0; i < w; i += 16) {
        const __mmask16 m = w - i >= 16 ? 0xffff : (__mmask16)((1u << (w - i)) - 1);
        __m512 v = _mm512_maskz_loadu_ps(m, s + i);
        if (R)
            v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, r + i));
        if (ACT == 1)
            v = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v, z, _CMP_GT_OQ), v);
        else if (ACT == 2)
            v = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(v, z, _CMP_GT_OQ), _mm512_mul_ps(v, va), v);
        if (G) {
            const __mmask16 pos = _mm512_cmp_ps_mask(_mm512_maskz_loadu_ps(m, gate + i), z, _CMP_GT_OQ);
            v = G == 1 ? _mm512_maskz_mov_ps(pos, v) : _mm512_mask_blend_ps(pos, _mm512_mul_ps(v, vg), v);
        }
        _mm512_mask_storeu_ps(d + i, m, v);
    }
}

/* One output row of channel c: d = act(s + r) (r NULL: no residual), the
 * bits of sr_conv_epilogue_rows on a copy of s, in one pass; gate (may be
 * NULL): then times 1 where gate > 0, else gslope (0: ReLU's zero). */
AMX static void row_out(const float *s, float *d, const float *r, const sr_conv_epilogue *ep,
                        const float *gate, float gslope, int c, int w)
{
    const sr_act_kind act = ep ? ep->act : SR_ACT_NONE;
    float a = 0.0f;
    if (act == SR_ACT_LRELU)
        a = ep->slope;
    else if (act == SR_ACT_PRELU)
        a = ep->alpha[ep->nalpha == 1 ? 0 : c / (ep->group > 0 ? ep->group : 1)];
    const __m512 va = _mm512_set1_ps(a), vg = _mm512_set1_ps(gslope);
    const int A = act == SR_ACT_NONE ? 0 : act == SR_ACT_RELU ? 1 : 2;
    if (gate) /* training's dx: no residual and no activation of its own */
        gslope == 0.0f ? row_body(s, d, r, gate, w, va, vg, r != NULL, A, 1)
                       : row_body(s, d, r, gate, w, va, vg, r != NULL, A, 2);
    else if (r)
        A == 0 ? row_body(s, d, r, NULL, w, va, vg, 1, 0, 0)
        : A == 1 ? row_body(s, d, r, NULL, w, va, vg, 1, 1, 0)
                 : row_body(s, d, r, NULL, w, va, vg, 1, 2, 0);
    else
        A == 0 ? row_body(s, d, NULL, NULL, w, va, vg, 0, 0, 0)
        : A == 1 ? row_body(s, d, NULL, NULL, w, va, vg, 0, 1, 0)
                 : row_body(s, d, NULL, NULL, w, va, vg, 0, 2, 0);
}

AMX void sr_amx_forward(int cin, int cout, int h, int w, const float *x, const uint16_t *wa,
                        const float *bias, float *y, float *scratch, const sr_conv_epilogue *ep,
                        const sr_wino_gate *gt)
{
    const int CB = cin_pad(cin) / AMX_CB, KP = cout_pad(cout), C2P = cin_pad(cin) / 2;
    const int cw = copy_words(w), W32 = row_words(w) - 2;
    const size_t plane = (size_t)h * w;
    /* xb rows in a ring of three (scratch bounded by the width): output row
     * oy reads rows oy, oy + 1, oy + 2, at ring slots r % 3 */
    uint32_t *xb = (uint32_t *)(((uintptr_t)scratch + 63) & ~(uintptr_t)63);
    const size_t xcopy = (size_t)C2P * cw, xrow = 3 * xcopy;
    to_pairs(x, cin, h, w, xb, 0);
    to_pairs(x, cin, h, w, xb + xrow, 1);

    tiles_16x64();
    /* A C tile goes to a row buffer, not straight into y: y's channel planes
     * lie a multiple of 4 KB apart, so a tile's 16 rows (and a row's 64
     * channels) would share one set of every cache, and the stores and the
     * epilogue after them ran from memory (the epilogue took a third of the
     * time on the SPR VM). */
    const int ldo = obuf_stride(w);
    float *obuf = (float *)(xb + 3 * xrow + 16);
    obuf = (float *)(((uintptr_t)obuf + 63) & ~(uintptr_t)63);
    const size_t ldb = (size_t)cw * 4; /* bytes between a B tile's rows */
    /* the bias of every output channel as C tile rows, to start the sums */
    float *btall = obuf + (size_t)KP * ldo;
    for (int m = 0; m < KP; m++)
        for (int n = 0; n < AMX_NX; n++)
            btall[(size_t)m * AMX_NX + n] = bias && m < cout ? bias[m] : 0.0f;
    for (int oy = 0; oy < h; oy++) {
        to_pairs(x, cin, h, w, xb + (size_t)((oy + 2) % 3) * xrow, oy + 2);
        /* 32 pixels at a time, every output channel for them: their B tiles
         * (3 rows x 3 copies x Cin / 2 pairs x 32 words) stay in L1 while
         * the weights come from L2 (6 % faster than channels outside) */
        for (int x0 = 0; x0 < W32; x0 += 2 * AMX_NX) {
            for (int k = 0; k < KP; k += 2 * AMX_KB) {
                const float *bk = btall + (size_t)k * AMX_NX;
                _tile_loadd(0, bk, 64);
                _tile_loadd(1, bk, 64);
                _tile_loadd(2, bk + AMX_KB * AMX_NX, 64);
                _tile_loadd(3, bk + AMX_KB * AMX_NX, 64);
                for (int t = 0; t < 9; t++) {
                    const uint32_t *brow =
                        xb + (size_t)((oy + t / 3) % 3) * xrow + (size_t)(t % 3) * xcopy + 16 + x0;
                    const uint16_t *arow = wa + ((size_t)t * CB * KP + k) * AMX_CB;
                    for (int cb = 0; cb < CB; cb++) {
                        const uint16_t *a = arow + (size_t)cb * KP * AMX_CB;
                        const uint32_t *b = brow + (size_t)cb * 16 * cw;
                        _tile_loadd(4, a, 64);
                        _tile_loadd(5, a + AMX_KB * AMX_CB, 64);
                        _tile_loadd(6, b, ldb);
                        _tile_loadd(7, b + AMX_NX, ldb);
                        _tile_dpbf16ps(0, 4, 6);
                        _tile_dpbf16ps(1, 4, 7);
                        _tile_dpbf16ps(2, 5, 6);
                        _tile_dpbf16ps(3, 5, 7);
                    }
                }
                float *o = obuf + (size_t)k * ldo + x0;
                _tile_stored(0, o, (size_t)ldo * 4);
                _tile_stored(1, o + AMX_NX, (size_t)ldo * 4);
                _tile_stored(2, o + (size_t)AMX_KB * ldo, (size_t)ldo * 4);
                _tile_stored(3, o + (size_t)AMX_KB * ldo + AMX_NX, (size_t)ldo * 4);
            }
        }
        for (int c = 0; c < cout; c++)
            row_out(obuf + (size_t)c * ldo, y + (size_t)c * plane + (size_t)oy * w,
                    ep && ep->residual ? ep->residual + (size_t)c * plane + (size_t)oy * w : NULL,
                    ep, gt ? gt->x + (size_t)c * plane + (size_t)oy * w : NULL,
                    gt && gt->act == SR_ACT_LRELU ? gt->slope : 0.0f, c, w);
    }
    _tile_release();
}

/* The bf16 bits of 32 floats (zero past n) as 16 words of pixel pairs. */
AMX static inline __m512i pairs32(const float *p, int n)
{
    const __mmask16 m0 = n >= 16 ? 0xffff : n <= 0 ? 0 : (__mmask16)((1u << n) - 1);
    const int n1 = n - 16;
    const __mmask16 m1 = n1 >= 16 ? 0xffff : n1 <= 0 ? 0 : (__mmask16)((1u << n1) - 1);
    const __m256i lo = _mm512_cvtepi32_epi16(bf16_round16(_mm512_maskz_loadu_ps(m0, p)));
    const __m256i hi = _mm512_cvtepi32_epi16(bf16_round16(_mm512_maskz_loadu_ps(m1, p + 16)));
    return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}

AMX void sr_amx_dweight(int cin, int cout, int h, int w, const float *x, const float *dy,
                        float *acc, float *scratch)
{
    const int CP = cin_pad(cin), KP = cout_pad(cout), W32 = row_words(w) - 2, NP = W32 / 2 + 1;
    const size_t plane = (size_t)h * w;
    uint16_t *dyb = (uint16_t *)(((uintptr_t)scratch + 63) & ~(uintptr_t)63);
    uint32_t *xp = (uint32_t *)(dyb + (size_t)KP * AMX_DW_G * W32); /* [phase][r][NP][CP] */
    const size_t xrow = (size_t)NP * CP, xphase = (size_t)(AMX_DW_G + 2) * xrow;
    tiles_16x64();
    const __m512i pidx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
                                                              11, 12, 13, 14, 15),
                                            _mm512_set1_epi32(CP));
    for (int y0 = 0; y0 < h; y0 += AMX_DW_G) {
        const int G = h - y0 < AMX_DW_G ? h - y0 : AMX_DW_G;
        /* dy rows y0 .. y0 + G of every channel (zero past cout, w, G) */
        for (int k = 0; k < KP; k++)
            for (int g = 0; g < AMX_DW_G; g++) {
                uint16_t *d = dyb + ((size_t)k * AMX_DW_G + g) * W32;
                if (k >= cout || g >= G) {
                    memset(d, 0, (size_t)W32 * sizeof *d);
                    continue;
                }
                const float *src = dy + k * plane + (size_t)(y0 + g) * w;
                for (int x0 = 0; x0 < W32; x0 += 32)
                    _mm512_storeu_si512(d + x0, pairs32(src + x0, w - x0));
            }
        /* input rows y0 - 1 .. y0 + G, both phases: phase 0 pairs (2j, 2j + 1),
         * phase 1 pairs (2j - 1, 2j) */
        for (int r = 0; r < AMX_DW_G + 2; r++) {
            const int iy = y0 - 1 + r;
            for (int ph = 0; ph < 2; ph++) {
                uint32_t *row = xp + ph * xphase + (size_t)r * xrow;
                if (iy < 0 || iy >= h || r > G + 1) {
                    memset(row, 0, xrow * sizeof *row);
                    continue;
                }
                for (int c = 0; c < CP; c++) {
                    if (c >= cin) {
                        for (int j = 0; j < NP; j++)
                            row[(size_t)j * CP + c] = 0;
                        continue;
                    }
                    const float *src = x + c * plane + (size_t)iy * w;
                    /* pixel 2j + ph - 1 .. : phase 1 starts one pixel left */
                    for (int j0 = 0; j0 < NP; j0 += 16) {
                        const int p0 = 2 * j0 - ph; /* first pixel of pair j0 */
                        __m512i v;
                        if (p0 >= 0) { /* masked loads: zeros past the row */
                            v = pairs32(src + p0, w - p0);
                        } else { /* phase 1's first pair starts at pixel -1 (zero) */
                            float buf[32] = {0.0f};
                            for (int q = 1; q < 32 && q - 1 < w; q++)
                                buf[q] = src[q - 1];
                            v = pairs32(buf, 32);
                        }
                        const int nj = NP - j0 < 16 ? NP - j0 : 16;
                        _mm512_mask_i32scatter_epi32(row + (size_t)j0 * CP + c,
                                                     (__mmask16)((1u << nj) - 1), pidx, v, 4);
                    }
                }
            }
        }
        const size_t lda = (size_t)AMX_DW_G * W32 * 2, ldb = (size_t)CP * 4, ldc = (size_t)CP * 4;
        for (int t = 0; t < 9; t++) {
            const int ky = t / 3, kx = t % 3;
            /* kx 1: phase 0 from pair x0 / 2; kx 0: phase 1 from x0 / 2;
             * kx 2: phase 1 from x0 / 2 + 1 */
            const uint32_t *xb = xp + (kx == 1 ? 0 : xphase) + (kx == 2 ? CP : 0);
            for (int k = 0; k < KP; k += 32)
                for (int c = 0; c < CP; c += 32) {
                    float *C = acc + ((size_t)t * KP + k) * CP + c;
                    _tile_loadd(0, C, ldc);
                    _tile_loadd(1, C + 16, ldc);
                    _tile_loadd(2, C + (size_t)16 * CP, ldc);
                    _tile_loadd(3, C + (size_t)16 * CP + 16, ldc);
                    for (int g = 0; g < G; g++) {
                        const uint32_t *brow = xb + (size_t)(g + ky) * xrow + c;
                        const uint16_t *arow = dyb + ((size_t)k * AMX_DW_G + g) * W32;
                        for (int x0 = 0; x0 < W32; x0 += 32) {
                            const uint32_t *b = brow + (size_t)(x0 / 2) * CP;
                            _tile_loadd(4, arow + x0, lda);
                            _tile_loadd(5, arow + (size_t)16 * AMX_DW_G * W32 + x0, lda);
                            _tile_loadd(6, b, ldb);
                            _tile_loadd(7, b + 16, ldb);
                            _tile_dpbf16ps(0, 4, 6);
                            _tile_dpbf16ps(1, 4, 7);
                            _tile_dpbf16ps(2, 5, 6);
                            _tile_dpbf16ps(3, 5, 7);
                        }
                    }
                    _tile_stored(0, C, ldc);
                    _tile_stored(1, C + 16, ldc);
                    _tile_stored(2, C + (size_t)16 * CP, ldc);
                    _tile_stored(3, C + (size_t)16 * CP + 16, ldc);
                }
        }
    }
    _tile_release();
}

#else /* no AMX: never dispatched (sr_amx_supported() is 0) */

int sr_amx_supported(void)
{
    return 0;
}

void sr_amx_forward(int cin, int cout, int h, int w, const float *x, const uint16_t *wa,
                    const float *bias, float *y, float *scratch, const sr_conv_epilogue *ep,
                    const sr_wino_gate *gt)
{
    (void)scratch;
    sr_amx_forward_ref(cin, cout, h, w, x, wa, bias, y, ep, gt);
}

void sr_amx_dweight(int cin, int cout, int h, int w, const float *x, const float *dy,
                    float *acc, float *scratch)
{
    (void)scratch;
    sr_amx_dweight_ref(cin, cout, h, w, x, dy, acc);
}

#endif
