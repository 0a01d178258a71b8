/* conv2d_winograd_bf16.c: the bf16 parts of Winograd F(4x4, 3x3) inference
 * on CPUs with AVX512-BF16 (vdpbf16ps), and their plain-C reference.
 *
 * The input and output transforms stay in fp32 (conv2d_winograd_avx2.c);
 * only the 36 GEMMs M[p] = U[p] x V[p], the bulk of the work, take bf16
 * operands: U is rounded to bf16 once at prepare (sr_wino_pack_bf16), V per
 * band after its fp32 transform (sr_wino_band_to_bf16), both with pairs of
 * input channels interleaved in 32-bit words as vdpbf16ps reads them (even
 * channel in the low half). The sums are fp32: each vdpbf16ps adds two exact
 * bf16 x bf16 products to an fp32 accumulator, measured on this project's
 * Zen 4 host (and as Intel's SDM describes it) as acc += odd product, then
 * acc += even product, each rounded once (round to nearest even), i.e.
 * fmaf(u_odd, v_odd, acc) then fmaf(u_even, v_even, acc). The reference
 * (sr_wino_forward_bf16_ref) does exactly that, channel pair after channel
 * pair from zero, so the kernel and the reference give the same bits
 * (tests/nn/test_nn_winograd_bf16.c). One difference is left out of the
 * reference: the instruction flushes denormal products and results to zero
 * (bf16 operands here are never denormal: sr_bf16_round flushes them), a
 * case that does not arise with image activations.
 *
 * Rounding to bf16 is done with integer operations (not vcvtne2ps2bf16) so
 * that the kernel and the reference round alike on every CPU: round to
 * nearest even on the upper 16 bits, denormal inputs flushed to (signed)
 * zero. */
#include "conv2d_internal.h"
#include "conv2d_winograd.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static int c2_of(int cin)
{
    return (cin + 1) / 2;
}

static int round6(int k)
{
    return (k + WINO_MR - 1) / WINO_MR * WINO_MR;
}

size_t sr_wino_u_bf16_words(int cin, int cout)
{
    return (size_t)WINO_P * round6(cout) * c2_of(cin);
}

/* ub[p][kb][c2][j] = bf16(u[p][kb][2 c2][j]) | bf16(u[p][kb][2 c2 + 1][j]) << 16
 * (zero for the channel past an odd cin). */
void sr_wino_pack_bf16(const float *u, int cin, int cout, uint32_t *ub)
{
    const int kb = round6(cout) / WINO_MR, C2 = c2_of(cin);
    for (int p = 0; p < WINO_P; p++)
        for (int b = 0; b < kb; b++) {
            const float *s = u + ((size_t)p * kb + b) * cin * WINO_MR;
            uint32_t *d = ub + ((size_t)p * kb + b) * C2 * WINO_MR;
            for (int c2 = 0; c2 < C2; c2++)
                for (int j = 0; j < WINO_MR; j++) {
                    const int c = 2 * c2;
                    const uint32_t lo = sr_bf16_round(s[(size_t)c * WINO_MR + j]);
                    const uint32_t hi =
                        c + 1 < cin ? sr_bf16_round(s[(size_t)(c + 1) * WINO_MR + j]) : 0u;
                    d[(size_t)c2 * WINO_MR + j] = lo | hi << 16;
                }
        }
}

/* ---- CPU support -------------------------------------------------------- */

static int bf16_ok;
static pthread_once_t bf16_once = PTHREAD_ONCE_INIT;

static void read_bf16(void)
{
    const char *v = getenv("SRGAN_NO_BF16");
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    bf16_ok = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bf16");
#endif
    if (v && *v && strcmp(v, "0"))
        bf16_ok = 0;
}

int sr_bf16_supported(void)
{
    pthread_once(&bf16_once, read_bf16);
    return bf16_ok;
}

/* Where bf16 was measured faster than fp32 (MSRResNet x4, 256^2, one
 * thread, bench_infer): with AMX (Sapphire Rapids VM, 2026-12-02: 0.98 s
 * against 1.56 s fp32), and vdpbf16ps Winograd on AMD (Zen 4 VM: 0.83
 * against 1.17 s). Intel's vdpbf16ps without AMX was slower than fp32
 * (1.97 s on the Sapphire Rapids VM with SRGAN_NO_AMX). */
int sr_bf16_faster(void)
{
    if (sr_amx_supported())
        return 1;
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    return sr_bf16_supported() && __builtin_cpu_is("amd");
#else
    return 0;
#endif
}

/* ---- reference ---------------------------------------------------------- */

void sr_wino_forward_bf16_ref(const sr_wino_geom *g, const float *x, const uint32_t *ub,
                              const float *bias, float *y, const sr_conv_epilogue *ep)
{
    const int C = g->cin, C2 = c2_of(C), K = g->cout, h = g->h, w = g->w, kb = round6(K) / WINO_MR;
    const int txn = (w + g->px + 3) / 4;
    int ty0, tyn;
    sr_wino_tile_rows(g, &ty0, &tyn);
    float *V = malloc(((size_t)C2 * 2) * WINO_P * sizeof(float));
    if (!V)
        abort(); /* tests only */
    memset(V, 0, ((size_t)C2 * 2) * WINO_P * sizeof(float));
    for (int ty = ty0; ty < tyn; ty++)
        for (int tx = 0; tx < txn; tx++) {
            const int oy = 4 * ty - g->py, ox = 4 * tx - g->px;
            for (int c = 0; c < C; c++) {
                float *v = V + (size_t)c * WINO_P;
                sr_wino_ref_input_tile(x, c, h, w, oy, ox, v);
                for (int p = 0; p < WINO_P; p++)
                    v[p] = sr_bf16_to_float(sr_bf16_round(v[p]));
            }
            for (int k = 0; k < K; k++) {
                float m[WINO_P];
                for (int p = 0; p < WINO_P; p++) {
                    const uint32_t *up = ub + ((size_t)p * kb + k / WINO_MR) * C2 * WINO_MR +
                                         k % WINO_MR;
                    float acc = 0.0f; /* pairs in order: odd channel, then even */
                    for (int c2 = 0; c2 < C2; c2++) {
                        const uint32_t pr = up[(size_t)c2 * WINO_MR];
                        acc = fmaf(sr_bf16_to_float((uint16_t)(pr >> 16)),
                                   V[(size_t)(2 * c2 + 1) * WINO_P + p], acc);
                        acc = fmaf(sr_bf16_to_float((uint16_t)(pr & 0xffffu)),
                                   V[(size_t)(2 * c2) * WINO_P + p], acc);
                    }
                    m[p] = acc;
                }
                sr_wino_ref_output_tile(m, bias ? bias[k] : 0.0f, y + (size_t)k * h * w, h, w,
                                        oy, ox);
            }
        }
    free(V);
    if (ep)
        sr_conv_epilogue_rows(ep, y, (size_t)h * w, 0, K, (size_t)g->y0 * w,
                              (size_t)(g->y1 - g->y0) * w);
}

/* ---- AVX512-BF16 kernel parts -------------------------------------------- */

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#include <immintrin.h>

#define BF16 __attribute__((target("avx512f,avx512bf16")))
#include "conv2d_winograd_avx2.h"

/* 16 floats -> their bf16 bits in the low halves of 16 words (sr_bf16_round):
 * bf16_round16, conv2d_winograd_avx2.h (the AVX-512 input transform packs
 * with it too). */
#define round16 bf16_round16

BF16 void sr_wino_band_to_bf16(const float *V, int C, int ntp, uint32_t *Vb)
{
    const int C2 = c2_of(C);
    for (int p = 0; p < WINO_P; p++)
        for (int c2 = 0; c2 < C2; c2++) {
            const float *e = V + ((size_t)p * C + 2 * c2) * ntp;
            const float *o = 2 * c2 + 1 < C ? e + ntp : NULL;
            uint32_t *d = Vb + ((size_t)p * C2 + c2) * ntp;
            for (int t = 0; t < ntp; t += 16) { /* ntp: a multiple of 16 */
                const __m512i lo = round16(_mm512_loadu_ps(e + t));
                const __m512i hi = o ? _mm512_slli_epi32(round16(_mm512_loadu_ps(o + t)), 16)
                                     : _mm512_setzero_si512();
                _mm512_storeu_si512(d + t, _mm512_or_si512(lo, hi));
            }
        }
}

/* m[b * 6 + j][16 q + i] = sum over channel pairs (vdpbf16ps, in order from
 * zero) of u_b[c2][j] . v[c2][16 q + i]: NB (1 or 2) blocks of 6 output
 * channels x NV (1 or 2) vectors of 16 tiles. */
static inline __attribute__((always_inline)) BF16 void
microbf(const uint32_t *u0, const uint32_t *u1, const uint32_t *v, size_t ldv, int C2, float *m,
        size_t ldm, const int NB, const int NV)
{
    __m512 acc[2][WINO_MR][2];
    _Pragma("GCC unroll 2")
    for (int b = 0; b < NB; b++)
        _Pragma("GCC unroll 6")
        for (int j = 0; j < WINO_MR; j++)
            _Pragma("GCC unroll 2")
            for (int q = 0; q < NV; q++)
                acc[b][j][q] = _mm512_setzero_ps();
    for (int c = 0; c < C2; c++, u0 += WINO_MR, u1 += WINO_MR, v += ldv) {
        __m512bh vv[2];
        _Pragma("GCC unroll 2")
        for (int q = 0; q < NV; q++)
            vv[q] = (__m512bh)_mm512_loadu_si512(v + 16 * q);
        _Pragma("GCC unroll 2")
        for (int b = 0; b < NB; b++)
            _Pragma("GCC unroll 6")
            for (int j = 0; j < WINO_MR; j++) {
                const __m512bh bj = (__m512bh)_mm512_set1_epi32((int)(b ? u1 : u0)[j]);
                _Pragma("GCC unroll 2")
                for (int q = 0; q < NV; q++)
                    acc[b][j][q] = _mm512_dpbf16_ps(acc[b][j][q], bj, vv[q]);
            }
    }
    _Pragma("GCC unroll 2")
    for (int b = 0; b < NB; b++)
        _Pragma("GCC unroll 6")
        for (int j = 0; j < WINO_MR; j++)
            _Pragma("GCC unroll 2")
            for (int q = 0; q < NV; q++)
                _mm512_storeu_ps(m + (size_t)(b * WINO_MR + j) * ldm + 16 * q, acc[b][j][q]);
}

typedef void (*microbf_fn)(const uint32_t *, const uint32_t *, const uint32_t *, size_t, int,
                           float *, size_t);
#define MICROBF(NB, NV)                                                                       \
    static BF16 void microbf_##NB##_##NV(const uint32_t *u0, const uint32_t *u1,              \
                                         const uint32_t *v, size_t ldv, int C2, float *m,     \
                                         size_t ldm)                                          \
    {                                                                                         \
        microbf(u0, u1, v, ldv, C2, m, ldm, NB, NV);                                          \
    }
MICROBF(1, 1)
MICROBF(1, 2)
MICROBF(2, 1)
MICROBF(2, 2)

BF16 void sr_wino_gemm_bf16(const uint32_t *ub, const uint32_t *Vb, int C, int K6, int kb0,
                            int kbn, int ntp, float *M, int ldm_p)
{
    static const microbf_fn fns[2][2] = {{microbf_1_1, microbf_1_2},
                                         {microbf_2_1, microbf_2_2}};
    const int C2 = c2_of(C);
    for (int p = 0; p < WINO_P; p++) {
        const uint32_t *up = ub + ((size_t)p * (K6 / WINO_MR) + kb0 / WINO_MR) * C2 * WINO_MR;
        const uint32_t *vp = Vb + (size_t)p * C2 * ntp;
        float *mp = M + (size_t)p * ldm_p * ntp;
        for (int t = 0; t < ntp; t += 32) {
            const int nv = ntp - t >= 32 ? 2 : 1;
            for (int k6 = 0; k6 < kbn; k6 += 2 * WINO_MR) {
                const int nb = kbn - k6 >= 2 * WINO_MR ? 2 : 1;
                fns[nb - 1][nv - 1](up + (size_t)k6 * C2, up + (size_t)(k6 + WINO_MR) * C2,
                                    vp + t, (size_t)ntp, C2, mp + (size_t)k6 * ntp + t,
                                    (size_t)ntp);
            }
        }
    }
}

/* m[M6][Np] = A x B for the whole padded blocks (gemm_bf16.c): the same
 * micro-kernel as the Winograd GEMMs, over all K2 channel pairs at once
 * (a 32-column panel of B, K2 x 128 bytes, stays in L2 for K up to 4608). */
BF16 void sr_gemm_bf16_blocks(const uint32_t *ap, const uint32_t *bp, int M6, int K2, int Np,
                              float *m)
{
    static const microbf_fn fns[2][2] = {{microbf_1_1, microbf_1_2},
                                         {microbf_2_1, microbf_2_2}};
    for (int t = 0; t < Np; t += 32) {
        const int nv = Np - t >= 32 ? 2 : 1;
        for (int k6 = 0; k6 < M6; k6 += 2 * WINO_MR) {
            const int nb = M6 - k6 >= 2 * WINO_MR ? 2 : 1;
            fns[nb - 1][nv - 1](ap + (size_t)k6 * K2, ap + (size_t)(k6 + WINO_MR) * K2, bp + t,
                                (size_t)Np, K2, m + (size_t)k6 * Np + t, (size_t)Np);
        }
    }
}

#else /* no x86: never dispatched (sr_bf16_supported() is 0) */

void sr_gemm_bf16_blocks(const uint32_t *ap, const uint32_t *bp, int M6, int K2, int Np,
                         float *m)
{
    (void)ap; (void)bp; (void)M6; (void)K2; (void)Np; (void)m;
}

void sr_wino_band_to_bf16(const float *V, int C, int ntp, uint32_t *Vb)
{
    (void)V; (void)C; (void)ntp; (void)Vb;
}

void sr_wino_gemm_bf16(const uint32_t *ub, const uint32_t *Vb, int C, int K6, int kb0, int kbn,
                       int ntp, float *M, int ldm_p)
{
    (void)ub; (void)Vb; (void)C; (void)K6; (void)kb0; (void)kbn; (void)ntp; (void)M; (void)ldm_p;
}

#endif
