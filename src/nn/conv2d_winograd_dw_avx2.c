/* conv2d_winograd_dw_avx2.c: the weight gradient of a 3x3 stride-1 pad-1
 * conv by Winograd F(4x4, 3x3), AVX2 + FMA (training).
 *
 * dU[p][ci][co] += sum over tiles t of V[p][ci][t] * M'[p][t][co] for each
 * of the 36 points p: a GEMM of cin x cout with K = tiles, a quarter of the
 * direct correlation's multiplications (36 per 4x4 outputs instead of 144).
 * Per band of tiles (the forward's banding, sr_wino_next_band):
 *  1. V by the forward's input transform (sr_wino_input_band_avx2), V[36][cin][ntp];
 *  2. M' = A dy A^T, 8 tiles per vector like the forward's output transform,
 *     then 8 channels x 8 tiles transposed so that M'[p][t][co..co+8] is
 *     one vector: the GEMM's broadcast operand is then V (any cin) and its
 *     vector operand M' (cout padded to 16 with zero channels);
 *  3. 36 GEMMs by a 6-channel x 16-channel micro-kernel (12 accumulators)
 *     summing over the band's tiles, added to dU.
 * dU stays in the transformed domain over a whole batch;
 * sr_wino_dweight_finish takes it back to dweight once. */
#include "conv2d_internal.h"
#include "conv2d_winograd.h"

#include <string.h>

#define NCO 16 /* output channels per micro-kernel call (two vectors) */
#define NCI 6  /* input channels per micro-kernel call */

/* dMt: [36][SR_WINO_NT_MAX][co16]; V: [36][cin][SR_WINO_NT_MAX] */
static size_t mt_floats(const sr_wino_geom *g)
{
    return (size_t)WINO_P * SR_WINO_NT_MAX * sr_wino_du_pitch(g->cout);
}

size_t sr_wino_dweight_scratch(const sr_wino_geom *g)
{
    return (size_t)WINO_P * SR_WINO_NT_MAX * g->cin + mt_floats(g) + 16;
}

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#include "conv2d_winograd_avx2.h"

/* r[i] <- column i of the 8x8 matrix whose rows are r[0..8) */
INL void transpose8(__m256 *r)
{
    __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    r[0] = _mm256_permute2f128_ps(s0, s4, 0x20);
    r[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
    r[2] = _mm256_permute2f128_ps(s2, s6, 0x20);
    r[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
    r[4] = _mm256_permute2f128_ps(s0, s4, 0x31);
    r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
    r[6] = _mm256_permute2f128_ps(s2, s6, 0x31);
    r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}

/* M' of channel k for the 8 tiles (r, j .. j+7) of band b: m[p] over tiles. */
INL void grad_tiles(const sr_wino_geom *g, const float *dy, int k, const sr_wino_band *b, int r,
                    int j, __m256 *m)
{
    const int h = g->h, w = g->w;
    const int oyl = 4 * (b->ty0 + r) - g->py, xb = 4 * (b->cx0 + j) - g->px;
    __m256 d[4][4], t[6][4];
    for (int o = 0; o < 4; o++) {
        const int yy = oyl + o;
        if (yy < 0 || yy >= h || xb >= w || xb + 32 <= 0) {
            d[o][0] = d[o][1] = d[o][2] = d[o][3] = _mm256_setzero_ps();
            continue;
        }
        const float *row = dy + ((size_t)k * h + yy) * w;
        if (xb >= 0 && xb + 32 <= w) {
            deinterleave(row + xb, d[o]);
        } else { /* outputs past the image have no gradient */
            float line[32] = {0};
            const int a = xb > 0 ? xb : 0, e = xb + 32 < w ? xb + 32 : w;
            memcpy(line + (a - xb), row + a, (size_t)(e - a) * sizeof(float));
            deinterleave(line, d[o]);
        }
    }
    for (int q = 0; q < 4; q++) /* down the columns */
        WINO_A(V_ADD, V_SUB, V_FMA, V_C, d[0][q], d[1][q], d[2][q], d[3][q], t[0][q], t[1][q],
               t[2][q], t[3][q], t[4][q], t[5][q]);
    for (int i = 0; i < 6; i++) /* across */
        WINO_A(V_ADD, V_SUB, V_FMA, V_C, t[i][0], t[i][1], t[i][2], t[i][3], m[i * 6 + 0],
               m[i * 6 + 1], m[i * 6 + 2], m[i * 6 + 3], m[i * 6 + 4], m[i * 6 + 5]);
}

/* Mt[p][t][co] for the band (ld = co16, zero channels past cout). */
static AVX2 void grad_band(const sr_wino_geom *g, const float *dy, const sr_wino_band *b,
                           float *Mt)
{
    const int K = g->cout, ld = sr_wino_du_pitch(K);
    const size_t pstride = (size_t)SR_WINO_NT_MAX * ld;
    static const float zero8[8];
    for (int co0 = 0; co0 < ld; co0 += 8) {
        for (int r = 0; r < b->nr; r++)
            for (int j = 0; j < b->ncx; j += 8) {
                __m256 st[8][WINO_P]; /* [channel][p], 8 tiles per vector */
                for (int kk = 0; kk < 8; kk++) {
                    if (co0 + kk < K)
                        grad_tiles(g, dy, co0 + kk, b, r, j, st[kk]);
                    else
                        for (int p = 0; p < WINO_P; p++)
                            st[kk][p] = _mm256_loadu_ps(zero8);
                }
                const int t0 = r * b->ncx + j;
                for (int p = 0; p < WINO_P; p++) {
                    __m256 v[8];
                    for (int kk = 0; kk < 8; kk++)
                        v[kk] = st[kk][p];
                    transpose8(v); /* v[tt]: channels co0.. of tile t0 + tt */
                    float *dst = Mt + p * pstride + (size_t)t0 * ld + co0;
                    for (int tt = 0; tt < 8; tt++)
                        _mm256_storeu_ps(dst + (size_t)tt * ld, v[tt]);
                }
            }
    }
}

/* du[j][0..16) += sum over t < nt of v[j][t] * m[t][0..16), j < R. */
INL void micro(const float *v, size_t ldv, const float *m, size_t ldm, int nt, float *du,
               size_t lddu, const int R)
{
    __m256 acc[NCI][2];
    _Pragma("GCC unroll 6")
    for (int j = 0; j < R; j++)
        acc[j][0] = acc[j][1] = _mm256_setzero_ps();
    for (int t = 0; t < nt; t++) {
        const __m256 m0 = _mm256_loadu_ps(m + (size_t)t * ldm);
        const __m256 m1 = _mm256_loadu_ps(m + (size_t)t * ldm + 8);
        _Pragma("GCC unroll 6")
        for (int j = 0; j < R; j++) {
            const __m256 bj = _mm256_broadcast_ss(v + (size_t)j * ldv + t);
            acc[j][0] = _mm256_fmadd_ps(bj, m0, acc[j][0]);
            acc[j][1] = _mm256_fmadd_ps(bj, m1, acc[j][1]);
        }
    }
    _Pragma("GCC unroll 6")
    for (int j = 0; j < R; j++) {
        float *d = du + (size_t)j * lddu;
        _mm256_storeu_ps(d, _mm256_add_ps(_mm256_loadu_ps(d), acc[j][0]));
        _mm256_storeu_ps(d + 8, _mm256_add_ps(_mm256_loadu_ps(d + 8), acc[j][1]));
    }
}

typedef void (*micro_fn)(const float *, size_t, const float *, size_t, int, float *, size_t);
#define MICRO(R)                                                                             \
    static AVX2 void micro##R(const float *v, size_t ldv, const float *m, size_t ldm, int nt, \
                              float *du, size_t lddu)                                        \
    {                                                                                        \
        micro(v, ldv, m, ldm, nt, du, lddu, R);                                              \
    }
MICRO(1)
MICRO(2)
MICRO(3)
MICRO(4)
MICRO(5)
MICRO(6)

/* The same micro-kernel with AVX-512 (CPUs that have it): 6 input
 * channels x NV (<= 4) vectors of 16 output channels, 24 accumulators of
 * the 32 zmm registers; the GEMM is most of the kernel's time and a zmm FMA
 * does twice the work of a ymm one on cores with 512-bit units. */
static inline __attribute__((always_inline)) AVX512 void
micro512(const float *v, size_t ldv, const float *m, size_t ldm, int nt, float *du, size_t lddu,
         const int R, const int NV)
{
    __m512 acc[NCI][4];
    _Pragma("GCC unroll 6")
    for (int j = 0; j < R; j++)
        _Pragma("GCC unroll 4")
        for (int q = 0; q < NV; q++)
            acc[j][q] = _mm512_setzero_ps();
    for (int t = 0; t < nt; t++) {
        __m512 mv[4];
        _Pragma("GCC unroll 4")
        for (int q = 0; q < NV; q++)
            mv[q] = _mm512_loadu_ps(m + (size_t)t * ldm + 16 * q);
        _Pragma("GCC unroll 6")
        for (int j = 0; j < R; j++) {
            const __m512 bj = _mm512_set1_ps(v[(size_t)j * ldv + t]);
            _Pragma("GCC unroll 4")
            for (int q = 0; q < NV; q++)
                acc[j][q] = _mm512_fmadd_ps(bj, mv[q], acc[j][q]);
        }
    }
    _Pragma("GCC unroll 6")
    for (int j = 0; j < R; j++)
        _Pragma("GCC unroll 4")
        for (int q = 0; q < NV; q++) {
            float *d = du + (size_t)j * lddu + 16 * q;
            _mm512_storeu_ps(d, _mm512_add_ps(_mm512_loadu_ps(d), acc[j][q]));
        }
}

#define MICRO512(R, NV)                                                                      \
    static AVX512 void micro512_##R##_##NV(const float *v, size_t ldv, const float *m,       \
                                           size_t ldm, int nt, float *du, size_t lddu)       \
    {                                                                                        \
        micro512(v, ldv, m, ldm, nt, du, lddu, R, NV);                                       \
    }
#define MICRO512_R(R) MICRO512(R, 1) MICRO512(R, 2) MICRO512(R, 3) MICRO512(R, 4)
MICRO512_R(1)
MICRO512_R(2)
MICRO512_R(3)
MICRO512_R(4)
MICRO512_R(5)
MICRO512_R(6)
#define FNS512(R) {micro512_##R##_1, micro512_##R##_2, micro512_##R##_3, micro512_##R##_4}

static void band_gemm(const sr_wino_geom *g, const float *V, const float *Mt,
                      const sr_wino_band *b, float *du, int avx512)
{
    static const micro_fn fns[NCI + 1] = {NULL, micro1, micro2, micro3, micro4, micro5, micro6};
    static const micro_fn fns512[NCI + 1][4] = {{NULL}, FNS512(1), FNS512(2), FNS512(3),
                                                FNS512(4), FNS512(5), FNS512(6)};
    const int C = g->cin, ld = sr_wino_du_pitch(g->cout);
    const size_t ntp = (size_t)b->ntp;
    for (int p = 0; p < WINO_P; p++) {
        const float *vp = V + (size_t)p * C * ntp;
        const float *mp = Mt + (size_t)p * SR_WINO_NT_MAX * ld;
        float *dp = du + (size_t)p * C * ld;
        for (int c0 = 0; c0 < C; c0 += NCI) {
            const int R = C - c0 < NCI ? C - c0 : NCI;
            if (avx512) {
                for (int k0 = 0; k0 < ld; k0 += 64) {
                    const int nv = (ld - k0 < 64 ? ld - k0 : 64) / 16;
                    fns512[R][nv - 1](vp + (size_t)c0 * ntp, ntp, mp + k0, (size_t)ld, b->nt,
                                      dp + (size_t)c0 * ld + k0, (size_t)ld);
                }
            } else {
                for (int k0 = 0; k0 < ld; k0 += NCO)
                    fns[R](vp + (size_t)c0 * ntp, ntp, mp + k0, (size_t)ld, b->nt,
                           dp + (size_t)c0 * ld + k0, (size_t)ld);
            }
        }
    }
}

void sr_wino_dweight_avx2(const sr_wino_geom *g, const float *x, const float *dy, float *du,
                          float *scratch)
{
    float *V = scratch, *Mt = scratch + (size_t)WINO_P * SR_WINO_NT_MAX * g->cin;
    const int avx512 = sr_wino_avx512();
    sr_wino_band b;
    for (int n = 0; sr_wino_next_band(g, n, &b); n++) {
        if (avx512 && (b.ncx >= 16 || b.ncx == 8)) /* the same V (conv2d_winograd_avx2.c) */
            sr_wino_input_band_avx512(g, x, &b, V);
        else
            sr_wino_input_band_avx2(g, x, &b, V);
        grad_band(g, dy, &b, Mt);
        band_gemm(g, V, Mt, &b, du, avx512);
    }
}

#else /* no AVX2 build: never dispatched (sr_conv_avx2_cpu_ok() is 0) */

void sr_wino_dweight_avx2(const sr_wino_geom *g, const float *x, const float *dy, float *du,
                          float *scratch)
{
    (void)scratch;
    sr_wino_dweight_ref(g, x, dy, du);
}

#endif
