/* conv2d_direct_avx2.c: the direct stride-1 convolution of conv2d_direct.c
 * for CPUs with AVX2 + FMA but no AVX-512 (AMD Zen 2/3, Intel before
 * Skylake-X): the same blocking (a zero-padded band of input rows, weights
 * packed so the channels of one tap are adjacent), with 8-wide vectors and
 * the 16 ymm registers in mind: the micro-kernel keeps 4 output channels x
 * NV (<= 3) vectors of 8 pixels in 12 accumulators, and for each tap does NV
 * unaligned loads, 4 broadcasts and 4 * NV FMAs. 3x3 kernels get a copy of
 * the micro-kernel with the taps unrolled.
 *
 * Its scratch is never larger than the AVX-512 kernel's (narrower pitch,
 * 4-channel weight blocks), so sr_conv_direct_scratch() and
 * sr_conv_direct_dw_scratch() are the bounds for both. */
#include "conv2d_internal.h"

#include <string.h>

#define CO4 4          /* output channels per micro-kernel call */
#define ROWS4 8        /* output rows per band */
#define GROUP4 16      /* 4-channel blocks per weight group (64 channels) */
#define DW_PIXELS4 1024

static size_t round_up(size_t v, size_t a)
{
    return (v + a - 1) / a * a;
}

static size_t pitch8(const sr_direct_geom *g)
{
    return round_up((size_t)g->ow, 8) + (size_t)g->kw - 1;
}

static size_t packed4_floats(const sr_direct_geom *g)
{
    size_t ncob = ((size_t)g->cout + CO4 - 1) / CO4;
    return round_up(ncob * CO4 * g->cin * g->kh * g->kw, 16);
}

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#include <immintrin.h>
#define HAVE_AVX2_KERNEL 1
#define AVX2 __attribute__((target("avx2,fma")))

int sr_conv_avx2_cpu_ok(void)
{
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

/* lanes [0, left) set, left in 1..8 */
static inline __attribute__((always_inline)) AVX2 __m256i lane_mask(int left)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(left), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* Output row oy (band-relative ry), pixels [ox, ox + 8*NV), channels
 * [cob*4, cob*4 + nco). kh and kw are literals in the 3x3 copies. */
static inline __attribute__((always_inline)) AVX2 void
micro(const sr_direct_geom *g, const float *band, int band_h, size_t pitch, int ry,
      const float *wcob, const float *bias4, int nco, float *y, int oy, int ox, const int NV,
      const int kh, const int kw)
{
    __m256 acc[CO4][3];
    _Pragma("GCC unroll 4")
    for (int j = 0; j < CO4; j++)
        _Pragma("GCC unroll 3")
        for (int v = 0; v < NV; v++)
            acc[j][v] = _mm256_set1_ps(bias4[j]);
    for (int ci = 0; ci < g->cin; ci++) {
        const float *wc = wcob + (size_t)ci * kh * kw * CO4;
        const float *xc = band + ((size_t)ci * band_h + ry) * pitch + ox;
        _Pragma("GCC unroll 3")
        for (int ky = 0; ky < kh; ky++) {
            _Pragma("GCC unroll 3")
            for (int kx = 0; kx < kw; kx++) {
                __m256 xv[3];
                _Pragma("GCC unroll 3")
                for (int v = 0; v < NV; v++)
                    xv[v] = _mm256_loadu_ps(xc + (size_t)ky * pitch + kx + 8 * v);
                const float *wk = wc + ((size_t)ky * kw + kx) * CO4;
                _Pragma("GCC unroll 4")
                for (int j = 0; j < CO4; j++) {
                    __m256 wv = _mm256_broadcast_ss(wk + j);
                    _Pragma("GCC unroll 3")
                    for (int v = 0; v < NV; v++)
                        acc[j][v] = _mm256_fmadd_ps(wv, xv[v], acc[j][v]);
                }
            }
        }
    }
    const size_t plane = (size_t)g->oh * g->ow;
    _Pragma("GCC unroll 3")
    for (int v = 0; v < NV; v++) {
        int px = ox + 8 * v;
        int left = g->ow - px;
        float *yp = y + (size_t)oy * g->ow + px;
        if (left >= 8) {
            _Pragma("GCC unroll 4")
            for (int j = 0; j < nco; j++)
                _mm256_storeu_ps(yp + j * plane, acc[j][v]);
        } else {
            __m256i m = lane_mask(left);
            _Pragma("GCC unroll 4")
            for (int j = 0; j < nco; j++)
                _mm256_maskstore_ps(yp + j * plane, m, acc[j][v]);
        }
    }
}

typedef void (*micro_fn)(const sr_direct_geom *, const float *, int, size_t, int, const float *,
                         const float *, int, float *, int, int);
#define MICRO(name, NV, KH, KW)                                                                  \
    static AVX2 void name(const sr_direct_geom *g, const float *band, int band_h, size_t pitch, \
                          int ry, const float *wcob, const float *bias4, int nco, float *y,     \
                          int oy, int ox)                                                       \
    {                                                                                           \
        micro(g, band, band_h, pitch, ry, wcob, bias4, nco, y, oy, ox, NV, KH, KW);            \
    }
MICRO(micro3_k3, 3, 3, 3)
MICRO(micro2_k3, 2, 3, 3)
MICRO(micro1_k3, 1, 3, 3)
MICRO(micro3_kn, 3, g->kh, g->kw)
MICRO(micro2_kn, 2, g->kh, g->kw)
MICRO(micro1_kn, 1, g->kh, g->kw)

void sr_conv_direct_avx2(const sr_direct_geom *g, const float *x, const float *weight,
                         const float *bias, float *y, float *scratch, const sr_conv_epilogue *ep)
{
    if (g->oh <= 0 || g->ow <= 0)
        return;
    float *wp = scratch;
    float *band = scratch + packed4_floats(g);
    const size_t pitch = pitch8(g);
    const size_t kk = (size_t)g->kh * g->kw;
    const int ncob = (g->cout + CO4 - 1) / CO4;
    const int rb = g->oh < ROWS4 ? g->oh : ROWS4;
    const int nvec = (g->ow + 7) / 8;
    const int k3 = g->kh == 3 && g->kw == 3;
    const micro_fn m3 = k3 ? micro3_k3 : micro3_kn, m2 = k3 ? micro2_k3 : micro2_kn,
                   m1 = k3 ? micro1_k3 : micro1_kn;
    if (weight) /* NULL: packed by the previous call (conv2d_internal.h) */
        sr_direct_pack_weights(g, weight, wp, CO4);
    for (int oy0 = g->y0; oy0 < g->y1; oy0 += rb) {
        int rows = g->y1 - oy0 < rb ? g->y1 - oy0 : rb;
        int band_h = rows + g->kh - 1;
        sr_direct_fill_band(g, x, oy0, band_h, band, pitch);
        /* as the AVX-512 kernel: a weight group stays in L2 next to the
         * band, one (row, 24-pixel) input block is reused from L1 by every
         * 4-channel micro-kernel of the group */
        for (int cg = 0; cg < ncob; cg += GROUP4) {
            int cg_end = cg + GROUP4 < ncob ? cg + GROUP4 : ncob;
            for (int r = 0; r < rows; r++) {
                for (int v0 = 0; v0 < nvec; v0 += 3) {
                    int nv = nvec - v0 < 3 ? nvec - v0 : 3;
                    micro_fn m = nv == 3 ? m3 : nv == 2 ? m2 : m1;
                    for (int cob = cg; cob < cg_end; cob++) {
                        float bias4[CO4] = { 0 };
                        int nco = g->cout - cob * CO4 < CO4 ? g->cout - cob * CO4 : CO4;
                        for (int j = 0; bias && j < nco; j++)
                            bias4[j] = bias[cob * CO4 + j];
                        m(g, band, band_h, pitch, r, wp + (size_t)cob * g->cin * kk * CO4, bias4,
                          nco, y + (size_t)cob * CO4 * g->oh * g->ow, oy0 + r, v0 * 8);
                    }
                }
                if (ep) /* the row of this channel group is still in cache */
                    sr_conv_epilogue_rows(ep, y, (size_t)g->oh * g->ow, cg * CO4,
                                          cg_end * CO4 < g->cout ? cg_end * CO4 : g->cout,
                                          (size_t)(oy0 + r) * g->ow, (size_t)g->ow);
            }
        }
    }
}

static inline __attribute__((always_inline)) AVX2 float hsum(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* dweight: for 4 output channels and NT (<= 3) adjacent kernel columns
 * kx0.. of input channel ci, row ky, sum over the band's output pixels of
 * dy[co][p] * band[ci][p + (ky, kx)] in 4 x NT vectors, then add the totals
 * to dw. */
static inline __attribute__((always_inline)) AVX2 void
dw_micro(const sr_direct_geom *g, const float *band, int band_h, size_t pitch, int rows,
         const float *dy, int oy0, int nco, int ci, int ky, int kx0, float *dw, const int NT)
{
    __m256 acc[CO4][3];
    _Pragma("GCC unroll 4")
    for (int j = 0; j < CO4; j++)
        _Pragma("GCC unroll 3")
        for (int t = 0; t < NT; t++)
            acc[j][t] = _mm256_setzero_ps();
    const size_t plane = (size_t)g->oh * g->ow;
    const int nvec = (g->ow + 7) / 8;
    const __m256i tail_m = lane_mask(g->ow - (nvec - 1) * 8);
    for (int r = 0; r < rows; r++) {
        const float *xr = band + ((size_t)ci * band_h + r + ky) * pitch + kx0;
        const float *dyr = dy + (size_t)(oy0 + r) * g->ow;
        for (int v = 0; v < nvec; v++) {
            __m256 xv[3];
            _Pragma("GCC unroll 3")
            for (int t = 0; t < NT; t++)
                xv[t] = _mm256_loadu_ps(xr + 8 * v + t);
            _Pragma("GCC unroll 4")
            for (int j = 0; j < CO4; j++) {
                /* channels past cout read channel 0 again; their sums are dropped */
                const float *dp = dyr + (j < nco ? j : 0) * plane + 8 * v;
                __m256 d = v == nvec - 1 ? _mm256_maskload_ps(dp, tail_m) : _mm256_loadu_ps(dp);
                _Pragma("GCC unroll 3")
                for (int t = 0; t < NT; t++)
                    acc[j][t] = _mm256_fmadd_ps(d, xv[t], acc[j][t]);
            }
        }
    }
    const size_t kk = (size_t)g->kh * g->kw;
    for (int j = 0; j < nco; j++)
        _Pragma("GCC unroll 3")
        for (int t = 0; t < NT; t++)
            dw[((size_t)j * g->cin + ci) * kk + (size_t)ky * g->kw + kx0 + t] += hsum(acc[j][t]);
}

static AVX2 void dw_band(const sr_direct_geom *g, const float *band, int band_h, size_t pitch,
                         int rows, const float *dy, int oy0, float *dw)
{
    const int ncob = (g->cout + CO4 - 1) / CO4;
    const size_t plane = (size_t)g->oh * g->ow, kk = (size_t)g->kh * g->kw;
    for (int cob = 0; cob < ncob; cob++) {
        int nco = g->cout - cob * CO4 < CO4 ? g->cout - cob * CO4 : CO4;
        const float *dyc = dy + (size_t)cob * CO4 * plane;
        float *dwc = dw + (size_t)cob * CO4 * g->cin * kk;
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

void sr_conv_direct_dweight_avx2(const sr_direct_geom *g, const float *x, const float *dy,
                                 float *dw, float *scratch)
{
    if (g->oh <= 0 || g->ow <= 0)
        return;
    const size_t pitch = pitch8(g);
    int rb = (DW_PIXELS4 + g->ow - 1) / g->ow;
    rb = rb > g->oh ? g->oh : rb < 1 ? 1 : rb;
    for (int oy0 = 0; oy0 < g->oh; oy0 += rb) {
        int rows = g->oh - oy0 < rb ? g->oh - oy0 : rb;
        int band_h = rows + g->kh - 1;
        sr_direct_fill_band(g, x, oy0, band_h, scratch, pitch);
        dw_band(g, scratch, band_h, pitch, rows, dy, oy0, dw);
    }
}
#else
int sr_conv_avx2_cpu_ok(void)
{
    return 0;
}
void sr_conv_direct_avx2(const sr_direct_geom *g, const float *x, const float *weight,
                         const float *bias, float *y, float *scratch, const sr_conv_epilogue *ep)
{
    (void)g; (void)x; (void)weight; (void)bias; (void)y; (void)scratch; (void)ep;
}
void sr_conv_direct_dweight_avx2(const sr_direct_geom *g, const float *x, const float *dy,
                                 float *dw, float *scratch)
{
    (void)g; (void)x; (void)dy; (void)dw; (void)scratch;
}
#endif
