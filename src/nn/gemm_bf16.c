/* gemm_bf16.c: C = A x B with bf16 operands and fp32 sums (vdpbf16ps), for
 * the im2col convs of bf16 training (conv2d_internal.h), and its plain-C
 * reference. The packing follows the Winograd bf16 GEMMs' (pairs of k
 * interleaved in 32-bit words, even k in the low half), so that the same
 * micro-kernel runs them (sr_gemm_bf16_blocks). */
#include "conv2d_internal.h"

#include <math.h>
#include <string.h>

#define MR 6  /* rows per packed block of A (the micro-kernel's) */
#define NRB 16 /* columns are padded to a multiple of this */

static size_t round_up(size_t v, size_t a)
{
    return (v + a - 1) / a * a;
}

size_t sr_gemm_bf16_a_words(int M, int K)
{
    return round_up((size_t)M, MR) * (((size_t)K + 1) / 2);
}

void sr_gemm_bf16_pack_a(int M, int K, const float *a, size_t sm, size_t sk, uint32_t *ap)
{
    const int K2 = (K + 1) / 2, M6 = (int)round_up((size_t)M, MR);
    /* the loop along A's contiguous axis innermost, so its reads run in
     * order (a transposed A, the dx's, read across rows was 6 % of a GAN
     * step) */
    if (sk == 1) {
        for (int mb = 0; mb < M6; mb += MR)
            for (int j = 0; j < MR; j++) {
                const int m = mb + j;
                uint32_t *d = ap + (size_t)mb * K2 + (size_t)j;
                for (int k2 = 0; k2 < K2; k2++) {
                    const int k = 2 * k2;
                    uint32_t w = 0;
                    if (m < M)
                        w = (uint32_t)sr_bf16_round(a[(size_t)m * sm + (size_t)k]) |
                            (k + 1 < K ? (uint32_t)sr_bf16_round(a[(size_t)m * sm + (size_t)k + 1]) << 16
                                       : 0u);
                    d[(size_t)k2 * MR] = w;
                }
            }
        return;
    }
    for (int k2 = 0; k2 < K2; k2++) {
        const int k = 2 * k2;
        const float *e = a + (size_t)k * sk, *o = k + 1 < K ? e + sk : NULL;
        for (int mb = 0; mb < M6; mb += MR) {
            uint32_t *d = ap + (size_t)mb * K2 + (size_t)k2 * MR;
            for (int j = 0; j < MR; j++) {
                const size_t m = (size_t)(mb + j);
                d[j] = mb + j < M ? (uint32_t)sr_bf16_round(e[m * sm]) |
                                        (o ? (uint32_t)sr_bf16_round(o[m * sm]) << 16 : 0u)
                                  : 0u;
            }
        }
    }
}

size_t sr_gemm_bf16_scratch(int M, int N, int K)
{
    const size_t Np = round_up((size_t)N, NRB);
    return (((size_t)K + 1) / 2) * Np + round_up((size_t)M, MR) * Np + 16;
}

/* bp[k2][n] = pair of rows 2 k2 and 2 k2 + 1 of B at column n (zeros past
 * K and N, up to Np) */
static void pack_b_ref(int N, int K, const float *b, size_t ldb, int Np, uint32_t *bp)
{
    for (int k2 = 0; k2 < (K + 1) / 2; k2++) {
        const float *e = b + (size_t)(2 * k2) * ldb;
        const float *o = 2 * k2 + 1 < K ? e + ldb : NULL;
        uint32_t *d = bp + (size_t)k2 * Np;
        for (int n = 0; n < Np; n++)
            d[n] = n < N ? (uint32_t)sr_bf16_round(e[n]) |
                               (o ? (uint32_t)sr_bf16_round(o[n]) << 16 : 0u)
                         : 0u;
    }
}

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#include <immintrin.h>
#include "conv2d_winograd_avx2.h" /* bf16_round16 */

/* pack_b_ref with AVX-512: the same words */
static __attribute__((target("avx512f"))) void pack_b_512(int N, int K, const float *b,
                                                          size_t ldb, int Np, uint32_t *bp)
{
    for (int k2 = 0; k2 < (K + 1) / 2; k2++) {
        const float *e = b + (size_t)(2 * k2) * ldb;
        const float *o = 2 * k2 + 1 < K ? e + ldb : NULL;
        uint32_t *d = bp + (size_t)k2 * Np;
        for (int n = 0; n < Np; n += 16) {
            const int left = N - n;
            const __mmask16 m = left >= 16 ? (__mmask16)0xffff
                                : left > 0  ? (__mmask16)((1u << left) - 1u)
                                            : (__mmask16)0;
            /* masked-off lanes load +0, whose bf16 is 0 */
            const __m512i lo = bf16_round16(_mm512_maskz_loadu_ps(m, e + n));
            const __m512i hi = o ? _mm512_slli_epi32(bf16_round16(_mm512_maskz_loadu_ps(m, o + n)), 16)
                                 : _mm512_setzero_si512();
            _mm512_storeu_si512(d + n, _mm512_or_si512(lo, hi));
        }
    }
}
#endif

void sr_gemm_bf16(const uint32_t *ap, int M, int N, int K, const float *b, size_t ldb, float *c,
                  size_t ldc, float *scratch)
{
    const int K2 = (K + 1) / 2, Np = (int)round_up((size_t)N, NRB);
    const int M6 = (int)round_up((size_t)M, MR);
    uint32_t *bp = (uint32_t *)(void *)scratch;
    float *m = scratch + (size_t)K2 * Np;
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    if (__builtin_cpu_supports("avx512f"))
        pack_b_512(N, K, b, ldb, Np, bp);
    else
#endif
        pack_b_ref(N, K, b, ldb, Np, bp);
    sr_gemm_bf16_blocks(ap, bp, M6, K2, Np, m);
    for (int i = 0; i < M; i++)
        memcpy(c + (size_t)i * ldc, m + (size_t)i * Np, (size_t)N * sizeof(float));
}

void sr_gemm_bf16_ref(int M, int N, int K, const float *a, size_t sm, size_t sk, const float *b,
                      size_t ldb, float *c, size_t ldc)
{
    for (int i = 0; i < M; i++)
        for (int n = 0; n < N; n++) {
            float acc = 0.0f; /* pairs in order: the odd k, then the even one */
            for (int k = 0; k < K; k += 2) {
                if (k + 1 < K)
                    acc = fmaf(sr_bf16_to_float(sr_bf16_round(a[(size_t)i * sm + (size_t)(k + 1) * sk])),
                               sr_bf16_to_float(sr_bf16_round(b[(size_t)(k + 1) * ldb + n])), acc);
                else
                    acc = fmaf(0.0f, 0.0f, acc); /* the zero pad: the instruction adds +0 too */
                acc = fmaf(sr_bf16_to_float(sr_bf16_round(a[(size_t)i * sm + (size_t)k * sk])),
                           sr_bf16_to_float(sr_bf16_round(b[(size_t)k * ldb + n])), acc);
            }
            c[(size_t)i * ldc + n] = acc;
        }
}
