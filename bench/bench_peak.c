/* bench_peak.c: the single-core fp32 FMA peak that conv speeds are
 * compared with: loops of independent 8-wide and (where the CPU has
 * AVX-512) 16-wide FMAs (12 accumulators, more than latency x throughput),
 * the larger of the two being the peak (cores with 512-bit FMA units, such
 * as AMD Zen 5 and Intel server cores, do twice the 8-wide loop's work; Zen 4
 * splits a 16-wide FMA in two and gets the same from both), and OpenBLAS
 * sgemm on 1024^3 (one thread) as the practical reference. GFLOP/s, best of
 * REPS.
 *
 *     bench_peak [REPS] */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "srgan/nn.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
__attribute__((target("avx2,fma"))) static float fma_loop(long n)
{
    __m256 a[12], b = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
    for (int i = 0; i < 12; i++)
        a[i] = _mm256_set1_ps((float)i);
    for (long k = 0; k < n; k++)
        for (int i = 0; i < 12; i++)
            a[i] = _mm256_fmadd_ps(a[i], b, c);
    __m256 s = a[0];
    for (int i = 1; i < 12; i++)
        s = _mm256_add_ps(s, a[i]);
    float out[8];
    _mm256_storeu_ps(out, s);
    return out[0];
}
#define FMA_FLOPS_PER_ITER (12 * 8 * 2)

__attribute__((target("avx512f"))) static float fma_loop512(long n)
{
    __m512 a[12], b = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
    for (int i = 0; i < 12; i++)
        a[i] = _mm512_set1_ps((float)i);
    for (long k = 0; k < n; k++)
        for (int i = 0; i < 12; i++)
            a[i] = _mm512_fmadd_ps(a[i], b, c);
    __m512 s = a[0];
    for (int i = 1; i < 12; i++)
        s = _mm512_add_ps(s, a[i]);
    return _mm512_reduce_add_ps(s);
}
#endif

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 5;
    openblas_set_num_threads(1);
    double best = 0;
#ifdef FMA_FLOPS_PER_ITER
    const long n = 50 * 1000 * 1000;
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        volatile float sink = fma_loop(n);
        (void)sink;
        double g = (double)n * FMA_FLOPS_PER_ITER / (now() - t0) * 1e-9;
        best = g > best ? g : best;
    }
    printf("AVX2 FMA loop, 1 thread: %.1f GFLOP/s\n", best);
    if (__builtin_cpu_supports("avx512f")) {
        double best512 = 0;
        for (int r = 0; r < reps; r++) {
            double t0 = now();
            volatile float sink = fma_loop512(n);
            (void)sink;
            double g = (double)n * FMA_FLOPS_PER_ITER * 2 / (now() - t0) * 1e-9;
            best512 = g > best512 ? g : best512;
        }
        printf("AVX-512 FMA loop, 1 thread: %.1f GFLOP/s\n", best512);
        best = best512 > best ? best512 : best;
    }
    printf("FMA peak (the larger), 1 thread: %.1f GFLOP/s\n", best);
#endif
    const int N = 1024;
    float *A = sr_alloc_floats((size_t)N * N), *B = sr_alloc_floats((size_t)N * N);
    float *C = sr_alloc_floats((size_t)N * N);
    for (size_t i = 0; i < (size_t)N * N; i++) {
        A[i] = (float)(i % 17) * 0.01f;
        B[i] = (float)(i % 13) * 0.01f;
    }
    best = 0;
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, N, N, 1.0f, A, N, B, N, 0.0f,
                    C, N);
        double g = 2.0 * N * N * N / (now() - t0) * 1e-9;
        best = g > best ? g : best;
    }
    printf("OpenBLAS sgemm 1024^3, 1 thread: %.1f GFLOP/s\n", best);
    sr_free_floats(A);
    sr_free_floats(B);
    sr_free_floats(C);
    return 0;
}
