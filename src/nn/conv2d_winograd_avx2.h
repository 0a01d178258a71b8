/* conv2d_winograd_avx2.h: what the two AVX2 + FMA Winograd files (the
 * forward, conv2d_winograd_avx2.c, and the weight gradient,
 * conv2d_winograd_dw_avx2.c) share: the target attributes, the vector ops
 * the conv2d_winograd.h macros are instantiated with, and the tile-column
 * de-interleave of the input transform. Kept in one place so that both
 * kernels run exactly the same operations (and so give the same bits as the
 * plain-C reference). Include only inside an x86 GNUC block. Internal to
 * src/nn. */
#ifndef SRGAN_NN_CONV2D_WINOGRAD_AVX2_H
#define SRGAN_NN_CONV2D_WINOGRAD_AVX2_H

#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma")))
#define AVX512 __attribute__((target("avx512f")))
#define INL static inline __attribute__((always_inline)) AVX2

#define V_ADD(a, b) _mm256_add_ps((a), (b))
#define V_SUB(a, b) _mm256_sub_ps((a), (b))
#define V_FMA(a, b, c) _mm256_fmadd_ps((a), (b), (c))
#define V_C(x) _mm256_set1_ps(x)

/* The AVX-512 transforms (16 tiles per vector): the same operations per
 * lane as the V_* ones above, so the same bits. */
#define AVX512T __attribute__((target("avx512f,avx2,fma")))
#define INL512 static inline __attribute__((always_inline)) AVX512T
#define W_ADD(a, b) _mm512_add_ps((a), (b))
#define W_SUB(a, b) _mm512_sub_ps((a), (b))
#define W_FMA(a, b, c) _mm512_fmadd_ps((a), (b), (c))
#define W_C(x) _mm512_set1_ps(x)

/* 32 floats (in four vectors) = quads of 8 tiles -> o[q][j] = in[4j + q] */
INL void deinterleave_v(__m256 v0, __m256 v1, __m256 v2, __m256 v3, __m256 *o)
{
    __m256 s0 = _mm256_permute2f128_ps(v0, v2, 0x20), s1 = _mm256_permute2f128_ps(v0, v2, 0x31);
    __m256 s2 = _mm256_permute2f128_ps(v1, v3, 0x20), s3 = _mm256_permute2f128_ps(v1, v3, 0x31);
    __m256 t0 = _mm256_unpacklo_ps(s0, s1), t1 = _mm256_unpackhi_ps(s0, s1);
    __m256 t2 = _mm256_unpacklo_ps(s2, s3), t3 = _mm256_unpackhi_ps(s2, s3);
    o[0] = _mm256_shuffle_ps(t0, t2, 0x44);
    o[1] = _mm256_shuffle_ps(t0, t2, 0xEE);
    o[2] = _mm256_shuffle_ps(t1, t3, 0x44);
    o[3] = _mm256_shuffle_ps(t1, t3, 0xEE);
}

INL void deinterleave(const float *in, __m256 *o)
{
    deinterleave_v(_mm256_loadu_ps(in), _mm256_loadu_ps(in + 8), _mm256_loadu_ps(in + 16),
                   _mm256_loadu_ps(in + 24), o);
}

/* An input row for the transform: row[i] is the image's column xs + i for
 * i in [lo, hi), and zero (the padding) elsewhere. The transform reads it
 * in place, with masked loads at the image's edges, instead of copying it
 * into a zero-padded line first: GCC made those copy loops libc memcpy
 * calls, 10 % of a bf16 inference (a quarter of them on each call's own
 * overhead, rows being 130 floats). row may point outside the plane; only
 * lanes in [lo, hi) are read (masked-off lanes of a masked load do not
 * fault). */
typedef struct in_row {
    const float *row;
    int lo, hi;
} in_row;

/* lanes i of the 8 at row + k with k + i in [lo, hi) */
INL __m256 row_load8(const in_row *r, int k)
{
    if (k >= r->lo && k + 8 <= r->hi)
        return _mm256_loadu_ps(r->row + k);
    const __m256i i = _mm256_add_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                                       _mm256_set1_epi32(k));
    const __m256i m = _mm256_and_si256(_mm256_cmpgt_epi32(i, _mm256_set1_epi32(r->lo - 1)),
                                       _mm256_cmpgt_epi32(_mm256_set1_epi32(r->hi), i));
    return _mm256_maskload_ps(r->row + k, m);
}

/* deinterleave of the row's columns [k, k + 32) */
INL void row_deinterleave(const in_row *r, int k, __m256 *o)
{
    if (k >= r->lo && k + 32 <= r->hi)
        deinterleave(r->row + k, o);
    else
        deinterleave_v(row_load8(r, k), row_load8(r, k + 8), row_load8(r, k + 16),
                       row_load8(r, k + 24), o);
}

static inline float row_at(const in_row *r, int k)
{
    return k >= r->lo && k < r->hi ? r->row[k] : 0.0f;
}

/* 64 floats (in four vectors) = quads of 16 tiles -> o[q][j] = in[4j + q] */
INL512 void deinterleave16v(__m512 v0, __m512 v1, __m512 v2, __m512 v3, __m512 *o)
{
    const __m512i i01 = _mm512_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28, 1, 5, 9, 13, 17, 21, 25, 29);
    const __m512i i23 = _mm512_setr_epi32(2, 6, 10, 14, 18, 22, 26, 30, 3, 7, 11, 15, 19, 23, 27, 31);
    /* tiles 0..7 (a) and 8..15 (b), columns q0 | q1 and q2 | q3 in the halves */
    const __m512 a01 = _mm512_permutex2var_ps(v0, i01, v1), a23 = _mm512_permutex2var_ps(v0, i23, v1);
    const __m512 b01 = _mm512_permutex2var_ps(v2, i01, v3), b23 = _mm512_permutex2var_ps(v2, i23, v3);
    o[0] = _mm512_shuffle_f32x4(a01, b01, 0x44);
    o[1] = _mm512_shuffle_f32x4(a01, b01, 0xEE);
    o[2] = _mm512_shuffle_f32x4(a23, b23, 0x44);
    o[3] = _mm512_shuffle_f32x4(a23, b23, 0xEE);
}

INL512 void deinterleave16(const float *in, __m512 *o)
{
    deinterleave16v(_mm512_loadu_ps(in), _mm512_loadu_ps(in + 16), _mm512_loadu_ps(in + 32),
                    _mm512_loadu_ps(in + 48), o);
}

/* lanes i of the 16 at row + k with k + i in [lo, hi) */
INL512 __m512 row_load16(const in_row *r, int k)
{
    if (k >= r->lo && k + 16 <= r->hi)
        return _mm512_loadu_ps(r->row + k);
    const int a = r->lo - k > 0 ? r->lo - k : 0, e = r->hi - k < 16 ? r->hi - k : 16;
    const __mmask16 m = e > a ? (__mmask16)((0xffffu >> (16 - (e - a))) << a) : 0;
    return _mm512_maskz_loadu_ps(m, r->row + k);
}

/* deinterleave16 of the row's columns [k, k + 64) */
INL512 void row_deinterleave16(const in_row *r, int k, __m512 *o)
{
    if (k >= r->lo && k + 64 <= r->hi)
        deinterleave16(r->row + k, o);
    else
        deinterleave16v(row_load16(r, k), row_load16(r, k + 16), row_load16(r, k + 32),
                        row_load16(r, k + 48), o);
}

/* 16 floats -> their bf16 bits in the low halves of 16 words
 * (sr_bf16_round: denormals to signed zero, then round to nearest even);
 * AVX-512F integer operations only. Shared by sr_wino_band_to_bf16 and the
 * AVX-512 input transform's fused packing. */
static inline __attribute__((always_inline, target("avx512f"))) __m512i
bf16_round16(__m512 f)
{
    __m512i u = _mm512_castps_si512(f);
    const __mmask16 den =
        _mm512_cmpeq_epi32_mask(_mm512_and_si512(u, _mm512_set1_epi32(0x7f800000)),
                                _mm512_setzero_si512());
    u = _mm512_mask_and_epi32(u, den, u, _mm512_set1_epi32((int)0x80000000u));
    const __m512i odd = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
    u = _mm512_add_epi32(u, _mm512_add_epi32(odd, _mm512_set1_epi32(0x7fff)));
    return _mm512_srli_epi32(u, 16);
}

#endif
