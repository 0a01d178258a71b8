/* conv2d_direct.c: stride-1 convolution computed directly on NCHW data with
 * AVX-512, no im2col.
 *
 * A block of output rows is computed from a zero-padded copy of the input
 * rows it needs (the "band", row pitch a multiple-of-16 output width plus
 * kw - 1, so every vector load is in bounds and the padding needs no
 * branches). The weights are repacked so that 8 output channels of one
 * (ci, ky, kx) tap are adjacent. The micro-kernel keeps 8 output channels x
 * NV vectors of 16 output pixels in registers (24 accumulators for NV = 3),
 * and for each tap does NV unaligned loads, 8 broadcasts and 8 * NV FMAs.
 *
 * Compiled with a target attribute, so the build needs no -march flag;
 * sr_conv_direct_cpu_ok() tells the dispatcher whether the CPU can run it. */
#include "conv2d_internal.h"

#include <string.h>

#define CO_BLK 8       /* output channels per micro-kernel call */
#define DIRECT_ROWS 8  /* output rows per band */
#define COB_GROUP 8    /* 8-channel blocks per weight group (64 channels) */

static size_t round_up(size_t v, size_t a)
{
    return (v + a - 1) / a * a;
}

static int band_rows(const sr_direct_geom *g)
{
    return g->oh < DIRECT_ROWS ? g->oh : DIRECT_ROWS;
}

static size_t band_pitch(const sr_direct_geom *g)
{
    return round_up((size_t)g->ow, 16) + (size_t)g->kw - 1;
}

static size_t packed_weight_floats(const sr_direct_geom *g)
{
    size_t ncob = ((size_t)g->cout + CO_BLK - 1) / CO_BLK;
    return round_up(ncob * CO_BLK * g->cin * g->kh * g->kw, 16);
}

/* Output rows per dweight band: about DW_PIXELS output pixels, so the dy
 * rows of 8 channels stay in L1 while every input channel and tap passes. */
#define DW_PIXELS 1024
static int dw_rows(const sr_direct_geom *g)
{
    int rb = (DW_PIXELS + g->ow - 1) / g->ow;
    return rb > g->oh ? g->oh : rb < 1 ? 1 : rb;
}

size_t sr_conv_direct_dw_scratch(const sr_direct_geom *g)
{
    if (g->oh <= 0 || g->ow <= 0)
        return 1;
    return (size_t)g->cin * (dw_rows(g) + g->kh - 1) * band_pitch(g) + 16;
}

size_t sr_conv_direct_scratch(const sr_direct_geom *g)
{
    if (g->oh <= 0 || g->ow <= 0)
        return 1;
    size_t band = (size_t)g->cin * (band_rows(g) + g->kh - 1) * band_pitch(g);
    return packed_weight_floats(g) + band + 16;
}

/* wp[cob][ci][ky][kx][j] = w[cob*co_blk + j][ci][ky][kx], zero past cout */
void sr_direct_pack_weights(const sr_direct_geom *g, const float *w, float *wp, int co_blk)
{
    const size_t kk = (size_t)g->kh * g->kw;
    const int ncob = (g->cout + co_blk - 1) / co_blk;
    for (int cob = 0; cob < ncob; cob++)
        for (int ci = 0; ci < g->cin; ci++)
            for (size_t k = 0; k < kk; k++) {
                float *d = wp + (((size_t)cob * g->cin + ci) * kk + k) * co_blk;
                for (int j = 0; j < co_blk; j++) {
                    int co = cob * co_blk + j;
                    d[j] = co < g->cout ? w[((size_t)co * g->cin + ci) * kk + k] : 0.0f;
                }
            }
}

static void pack_weights(const sr_direct_geom *g, const float *w, float *wp)
{
    sr_direct_pack_weights(g, w, wp, CO_BLK);
}

static void fill_band(const sr_direct_geom *g, const float *x, int oy0, int rows, float *band)
{
    sr_direct_fill_band(g, x, oy0, rows, band, band_pitch(g));
}

/* band[ci][r][c] = x[ci][oy0 + r - pad][c - pad], zero outside the image */
void sr_direct_fill_band(const sr_direct_geom *g, const float *x, int oy0, int rows, float *band,
                         size_t pitch)
{
    for (int ci = 0; ci < g->cin; ci++)
        for (int r = 0; r < rows; r++) {
            float *d = band + ((size_t)ci * rows + r) * pitch;
            int iy = oy0 + r - g->pad;
            if (iy < 0 || iy >= g->h) {
                memset(d, 0, pitch * sizeof(float));
                continue;
            }
            memset(d, 0, (size_t)g->pad * sizeof(float));
            memcpy(d + g->pad, x + ((size_t)ci * g->h + iy) * g->w, (size_t)g->w * sizeof(float));
            memset(d + g->pad + g->w, 0, (pitch - g->pad - g->w) * sizeof(float));
        }
}

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#include <immintrin.h>
#define HAVE_AVX512_KERNEL 1

#define AVX512 __attribute__((target("avx512f")))

/* One micro-kernel: output row oy (band-relative row ry), pixels
 * [ox, ox + 16*NV), channels [cob*8, cob*8 + NC) of which the first nco are
 * stored. NC = 8 with NV <= 3; NC = 4 with NV = 6 for convs with at most 4
 * outputs (an RGB conv_last), instead of 8 channels of which 5 would
 * multiply zero weights (the 64 -> 3 conv_last of MSRResNet x4 ran at a
 * third of the FMA rate, 11 % of an inference). Each output gets the same
 * operations in the same order either way: the same bits. */
static inline __attribute__((always_inline)) AVX512 void
micro(const sr_direct_geom *g, const float *band, int band_h, size_t pitch, int ry,
      const float *wcob, const float *bias8, int nco, float *y, int oy, int ox, const int NC,
      const int NV)
{
    __m512 acc[CO_BLK][6];
    _Pragma("GCC unroll 8")
    for (int j = 0; j < NC; j++)
        _Pragma("GCC unroll 8")
        for (int v = 0; v < NV; v++)
            acc[j][v] = _mm512_set1_ps(bias8[j]);
    const int kh = g->kh, kw = g->kw;
    for (int ci = 0; ci < g->cin; ci++) {
        const float *wc = wcob + (size_t)ci * kh * kw * CO_BLK;
        for (int ky = 0; ky < kh; ky++) {
            const float *xr = band + ((size_t)ci * band_h + ry + ky) * pitch + ox;
            const float *wr = wc + (size_t)ky * kw * CO_BLK;
            for (int kx = 0; kx < kw; kx++) {
                __m512 xv[6];
                _Pragma("GCC unroll 8")
                for (int v = 0; v < NV; v++)
                    xv[v] = _mm512_loadu_ps(xr + kx + 16 * v);
                const float *wk = wr + kx * CO_BLK;
                _Pragma("GCC unroll 8")
                for (int j = 0; j < NC; j++) {
                    __m512 wv = _mm512_set1_ps(wk[j]);
                    _Pragma("GCC unroll 8")
                    for (int v = 0; v < NV; v++)
                        acc[j][v] = _mm512_fmadd_ps(wv, xv[v], acc[j][v]);
                }
            }
        }
    }
    const size_t plane = (size_t)g->oh * g->ow;
    _Pragma("GCC unroll 8")
    for (int v = 0; v < NV; v++) {
        int px = ox + 16 * v;
        int left = g->ow - px;
        __mmask16 m = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1u);
        float *yp = y + (size_t)oy * g->ow + px;
        _Pragma("GCC unroll 8")
        for (int j = 0; j < NC; j++)
            if (j < nco)
                _mm512_mask_storeu_ps(yp + j * plane, m, acc[j][v]);
    }
}

static AVX512 void micro_n6(const sr_direct_geom *g, const float *band, int band_h, size_t pitch,
                            int ry, const float *wcob, const float *bias8, int nco, float *y,
                            int oy, int ox)
{
    micro(g, band, band_h, pitch, ry, wcob, bias8, nco, y, oy, ox, 4, 6);
}

static AVX512 void micro3(const sr_direct_geom *g, const float *band, int band_h, size_t pitch,
                          int ry, const float *wcob, const float *bias8, int nco, float *y,
                          int oy, int ox)
{
    micro(g, band, band_h, pitch, ry, wcob, bias8, nco, y, oy, ox, CO_BLK, 3);
}
static AVX512 void micro2(const sr_direct_geom *g, const float *band, int band_h, size_t pitch,
                          int ry, const float *wcob, const float *bias8, int nco, float *y,
                          int oy, int ox)
{
    micro(g, band, band_h, pitch, ry, wcob, bias8, nco, y, oy, ox, CO_BLK, 2);
}
static AVX512 void micro1(const sr_direct_geom *g, const float *band, int band_h, size_t pitch,
                          int ry, const float *wcob, const float *bias8, int nco, float *y,
                          int oy, int ox)
{
    micro(g, band, band_h, pitch, ry, wcob, bias8, nco, y, oy, ox, CO_BLK, 1);
}

/* dweight micro-kernel: for 8 output channels and NT (<= 3) adjacent
 * kernel columns kx0.. of input channel ci, row ky, accumulate
 * sum over the band's output pixels of dy[co][p] * band[ci][p + (ky, kx)]
 * in 8 x NT vectors of 16 partial sums, then add their totals to dw. */
static inline __attribute__((always_inline)) AVX512 void
dw_micro(const sr_direct_geom *g, const float *band, int band_h, size_t pitch, int rows,
         const float *dy, int oy0, int nco, int ci, int ky, int kx0, float *dw, const int NT)
{
    __m512 acc[CO_BLK][3];
    _Pragma("GCC unroll 8")
    for (int j = 0; j < CO_BLK; j++)
        _Pragma("GCC unroll 8")
        for (int t = 0; t < NT; t++)
            acc[j][t] = _mm512_setzero_ps();
    const size_t plane = (size_t)g->oh * g->ow;
    const int nvec = (g->ow + 15) / 16;
    const int tail = g->ow - (nvec - 1) * 16;
    const __mmask16 tail_m = (__mmask16)(tail >= 16 ? 0xFFFF : (1u << tail) - 1u);
    for (int r = 0; r < rows; r++) {
        const float *xr = band + ((size_t)ci * band_h + r + ky) * pitch + kx0;
        const float *dyr = dy + (size_t)(oy0 + r) * g->ow;
        for (int v = 0; v < nvec; v++) {
            __mmask16 m = v == nvec - 1 ? tail_m : (__mmask16)0xFFFF;
            __m512 xv[3];
            _Pragma("GCC unroll 8")
            for (int t = 0; t < NT; t++)
                xv[t] = _mm512_loadu_ps(xr + 16 * v + t);
            _Pragma("GCC unroll 8")
            for (int j = 0; j < CO_BLK; j++) {
                /* channels past cout read channel 0 again; their sums are dropped */
                __m512 d = _mm512_maskz_loadu_ps(m, dyr + (j < nco ? j : 0) * plane + 16 * v);
                _Pragma("GCC unroll 8")
                for (int t = 0; t < NT; t++)
                    acc[j][t] = _mm512_fmadd_ps(d, xv[t], acc[j][t]);
            }
        }
    }
    const size_t kk = (size_t)g->kh * g->kw;
    _Pragma("GCC unroll 8")
    for (int j = 0; j < nco; j++)
        _Pragma("GCC unroll 8")
        for (int t = 0; t < NT; t++)
            dw[((size_t)j * g->cin + ci) * kk + (size_t)ky * g->kw + kx0 + t] +=
                _mm512_reduce_add_ps(acc[j][t]);
}

static AVX512 void dw_band(const sr_direct_geom *g, const float *band, int band_h, size_t pitch,
                           int rows, const float *dy, int oy0, float *dw)
{
    const int ncob = (g->cout + CO_BLK - 1) / CO_BLK;
    const size_t plane = (size_t)g->oh * g->ow, kk = (size_t)g->kh * g->kw;
    for (int cob = 0; cob < ncob; cob++) {
        int nco = g->cout - cob * CO_BLK < CO_BLK ? g->cout - cob * CO_BLK : CO_BLK;
        const float *dyc = dy + (size_t)cob * CO_BLK * plane;
        float *dwc = dw + (size_t)cob * CO_BLK * g->cin * kk;
        for (int ci = 0; ci < g->cin; ci++)
            for (int ky = 0; ky < g->kh; ky++)
                for (int kx = 0; kx < g->kw; kx += 3) {
                    int nt = g->kw - kx < 3 ? g->kw - kx : 3;
                    if (nt == 3)
                        dw_micro(g, band, band_h, pitch, rows, dyc, oy0, nco, ci, ky, kx, dwc, 3);
                    else if (nt == 2)
                        dw_micro(g, band, band_h, pitch, rows, dyc, oy0, nco, ci, ky, kx, dwc, 2);
                    else
                        dw_micro(g, band, band_h, pitch, rows, dyc, oy0, nco, ci, ky, kx, dwc, 1);
                }
    }
}

int sr_conv_direct_cpu_ok(void)
{
    return __builtin_cpu_supports("avx512f");
}
#else
int sr_conv_direct_cpu_ok(void)
{
    return 0;
}
#endif

void sr_conv_direct(const sr_direct_geom *g, const float *x, const float *weight,
                    const float *bias, float *y, float *scratch, const sr_conv_epilogue *ep)
{
#ifdef HAVE_AVX512_KERNEL
    if (g->oh <= 0 || g->ow <= 0)
        return;
    float *wp = scratch;
    float *band = scratch + packed_weight_floats(g);
    const size_t pitch = band_pitch(g);
    const size_t kk = (size_t)g->kh * g->kw;
    const int ncob = (g->cout + CO_BLK - 1) / CO_BLK;
    const int rb = band_rows(g);
    const int nvec = (g->ow + 15) / 16;
    if (weight)
        pack_weights(g, weight, wp);
    for (int oy0 = g->y0; oy0 < g->y1; oy0 += rb) {
        int rows = g->y1 - oy0 < rb ? g->y1 - oy0 : rb;
        int band_h = rows + g->kh - 1;
        fill_band(g, x, oy0, band_h, band);
        /* output channels in groups whose packed weights stay in L2 next
         * to the band; within a group, one (row, 48-pixel) input block is
         * reused from L1 by every 8-channel micro-kernel */
        for (int cg = 0; cg < ncob; cg += COB_GROUP) {
            int cg_end = cg + COB_GROUP < ncob ? cg + COB_GROUP : ncob;
            for (int r = 0; r < rows; r++) {
                for (int v0 = 0; v0 < nvec; v0 += 3) {
                    int nv = nvec - v0 < 3 ? nvec - v0 : 3;
                    if (g->cout <= 4 && nvec - v0 >= 6) { /* RGB out: 4 x 96 pixels */
                        float bias8[CO_BLK] = { 0 };
                        if (bias)
                            for (int j = 0; j < g->cout; j++)
                                bias8[j] = bias[j];
                        micro_n6(g, band, band_h, pitch, r, wp, bias8, g->cout, y, oy0 + r,
                                 v0 * 16);
                        v0 += 3; /* 6 vectors done */
                        continue;
                    }
                    for (int cob = cg; cob < cg_end; cob++) {
                        float bias8[CO_BLK] = { 0 };
                        int nco = g->cout - cob * CO_BLK < CO_BLK ? g->cout - cob * CO_BLK : CO_BLK;
                        if (bias)
                            _Pragma("GCC unroll 8")
                            for (int j = 0; j < nco; j++)
                                bias8[j] = bias[cob * CO_BLK + j];
                        const float *wcob = wp + (size_t)cob * g->cin * kk * CO_BLK;
                        float *ycob = y + (size_t)cob * CO_BLK * g->oh * g->ow;
                        int oy = oy0 + r, ox = v0 * 16;
                        if (nv == 3)
                            micro3(g, band, band_h, pitch, r, wcob, bias8, nco, ycob, oy, ox);
                        else if (nv == 2)
                            micro2(g, band, band_h, pitch, r, wcob, bias8, nco, ycob, oy, ox);
                        else
                            micro1(g, band, band_h, pitch, r, wcob, bias8, nco, ycob, oy, ox);
                    }
                }
                if (ep) /* the row of this channel group is still in cache */
                    sr_conv_epilogue_rows(ep, y, (size_t)g->oh * g->ow, cg * CO_BLK,
                                          cg_end * CO_BLK < g->cout ? cg_end * CO_BLK : g->cout,
                                          (size_t)(oy0 + r) * g->ow, (size_t)g->ow);
            }
        }
    }
#else
    (void)g; (void)x; (void)weight; (void)bias; (void)y; (void)scratch; (void)ep;
#endif
}

void sr_conv_direct_dweight(const sr_direct_geom *g, const float *x, const float *dy, float *dw,
                            float *scratch)
{
#ifdef HAVE_AVX512_KERNEL
    if (g->oh <= 0 || g->ow <= 0)
        return;
    const size_t pitch = band_pitch(g);
    const int rb = dw_rows(g);
    for (int oy0 = 0; oy0 < g->oh; oy0 += rb) {
        int rows = g->oh - oy0 < rb ? g->oh - oy0 : rb;
        int band_h = rows + g->kh - 1;
        fill_band(g, x, oy0, band_h, scratch);
        dw_band(g, scratch, band_h, pitch, rows, dy, oy0, dw);
    }
#else
    (void)g; (void)x; (void)dy; (void)dw; (void)scratch;
#endif
}
