/* bench_conv.c: conv2d speed in GFLOP/s (2 * cout * cin * kh * kw * oh * ow
 * per image), for the shapes that dominate MSRResNet inference and training.
 *
 *     bench_conv [reps]
 *
 * For each shape and each kernel path (direct AVX-512, im2col + sgemm) it
 * reports the best of `reps` runs: one thread, and two threads each running
 * its own conv at the same time (how the tiler and the trainer use 2 cores),
 * OpenBLAS limited to 1 thread. Also the backward pass (dx + dweight + dbias).
 * Run it with OPENBLAS_CORETYPE as set and unset: sgemm speed depends on it. */
#include "srgan/nn.h"

#include <cblas.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct job {
    sr_conv2d c;
    sr_tensor x, y;
    float *scratch;
    sr_conv_impl impl;
    int backward, reps; /* backward: 1 dx + dweight + dbias, 2 dweight only, 3 dx only */
    double best; /* seconds */
} job;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void job_init(job *j, int cin, int cout, int k, int h, int w)
{
    j->c = (sr_conv2d){ cin, cout, k, k, 1, k / 2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL};
    size_t nw = (size_t)cout * cin * k * k;
    j->c.weight = sr_alloc_floats(nw);
    j->c.bias = sr_alloc_floats((size_t)cout);
    for (size_t i = 0; i < nw; i++)
        j->c.weight[i] = (float)((i * 7919) % 1000) * 1e-4f - 0.05f;
    j->x = sr_tensor_alloc(1, cin, h, w);
    for (size_t i = 0; i < sr_tensor_numel(&j->x); i++)
        j->x.data[i] = (float)((i * 104729) % 1000) * 1e-3f - 0.5f;
    j->y = sr_tensor_alloc(1, cout, h, w);
    if (sr_conv2d_prepare(&j->c)) /* Winograd weights once, as at model load */
        abort();
    j->scratch = sr_alloc_floats(sr_conv2d_scratch_floats(&j->c, &j->x));
}

static void job_free(job *j)
{
    sr_conv2d_release(&j->c);
    sr_free_floats(j->c.weight);
    sr_free_floats(j->c.bias);
    sr_tensor_free(&j->x);
    sr_tensor_free(&j->y);
    sr_free_floats(j->scratch);
}

static void *job_run(void *p)
{
    job *j = p;
    float *dw = NULL, *db = NULL;
    sr_tensor dx = j->x;
    if (j->backward) {
        dw = sr_alloc_floats((size_t)j->c.cout * j->c.cin * j->c.kh * j->c.kw);
        db = sr_alloc_floats((size_t)j->c.cout);
        dx = sr_tensor_alloc(j->x.n, j->x.c, j->x.h, j->x.w);
    }
    j->best = 1e30;
    for (int r = 0; r < j->reps; r++) {
        double t0 = now();
        if (j->backward)
            sr_conv2d_backward_impl(&j->c, &j->x, &j->y, j->backward == 2 ? NULL : &dx,
                                    j->backward == 3 ? NULL : dw,
                                    j->backward == 1 ? db : NULL, j->scratch, j->impl);
        else
            sr_conv2d_forward_impl(&j->c, &j->x, &j->y, j->scratch, j->impl);
        double t = now() - t0;
        if (t < j->best)
            j->best = t;
    }
    if (j->backward) {
        sr_free_floats(dw);
        sr_free_floats(db);
        sr_tensor_free(&dx);
    }
    return NULL;
}

static int two_threads = 1;

static void bench(const char *name, int cin, int cout, int k, int h, int w, sr_conv_impl impl,
                  int backward, int reps)
{
    sr_conv2d probe = { cin, cout, k, k, 1, k / 2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL};
    if (!sr_conv2d_impl_supported(&probe, impl))
        return; /* would only time the GEMM fallback again */
    double flop = 2.0 * cout * cin * k * k * (double)h * w * (backward == 1 ? 2.0 : 1.0);
    job j[2];
    job_init(&j[0], cin, cout, k, h, w);
    job_init(&j[1], cin, cout, k, h, w);
    for (int i = 0; i < 2; i++) {
        j[i].impl = impl;
        j[i].backward = backward;
        j[i].reps = reps;
    }
    job_run(&j[0]); /* one thread */
    double one = flop / j[0].best * 1e-9, two = 0;
    if (two_threads) {
        pthread_t t;
        pthread_create(&t, NULL, job_run, &j[1]);
        job_run(&j[0]);
        pthread_join(t, NULL);
        two = flop / j[0].best * 1e-9 + flop / j[1].best * 1e-9;
    }
    printf(two_threads ? "%-26s %-11s %-8s  1 thread %7.1f GFLOP/s   2 threads %7.1f GFLOP/s\n"
                       : "%-26s %-11s %-8s  1 thread %7.1f GFLOP/s\n", name,
           impl == SR_CONV_DIRECT        ? "direct"
           : impl == SR_CONV_DIRECT_AVX2 ? "direct-avx2"
           : impl == SR_CONV_GEMM        ? "gemm"
           : impl == SR_CONV_WINOGRAD    ? "winograd"
                                         : "auto",
           backward == 1 ? "backward" : backward == 2 ? "dweight" : backward == 3 ? "dx" : "forward",
           one, two);
    fflush(stdout);
    job_free(&j[0]);
    job_free(&j[1]);
}

/* The Winograd table of bench/README.md: 3x3 forward, GFLOP/s counted as
 * the direct conv's FLOPs (2 * cout * cin * 9 per pixel), Winograd against
 * the other paths, at the sizes and channel counts MSRResNet runs, and the
 * small channel counts that decide SR_WINOGRAD_MIN_CHANNELS. */
static void winograd_table(int reps)
{
    static const struct { const char *name; int cin, cout, h, w; } sh[] = {
        {"3x3 64->64 64x64", 64, 64, 64, 64},       {"3x3 64->64 128x128", 64, 64, 128, 128},
        {"3x3 64->64 256x256", 64, 64, 256, 256},   {"3x3 64->64 326x326 (tile)", 64, 64, 326, 326},
        {"3x3 64->256 128x128", 64, 256, 128, 128}, {"3x3 64->64 32x1024 (HR)", 64, 64, 32, 1024},
        {"3x3 3->64 128x128", 3, 64, 128, 128},     {"3x3 64->3 128x128", 64, 3, 128, 128},
        {"3x3 8->8 128x128", 8, 8, 128, 128},       {"3x3 16->16 128x128", 16, 16, 128, 128},
        {"3x3 32->32 128x128", 32, 32, 128, 128},
    };
    const sr_conv_impl impls[] = {SR_CONV_GEMM, SR_CONV_DIRECT_AVX2, SR_CONV_WINOGRAD};
    for (size_t i = 0; i < sizeof sh / sizeof *sh; i++)
        for (size_t k = 0; k < sizeof impls / sizeof *impls; k++)
            bench(sh[i].name, sh[i].cin, sh[i].cout, 3, sh[i].h, sh[i].w, impls[k], 0,
                  sh[i].h * sh[i].w >= 65536 ? reps : reps * 4);
}

/* Training's 3x3 convs: forward, dweight and dx by each path, one image. */
static void train_table(int reps)
{
    static const struct { const char *name; int cin, cout, h, w; } sh[] = {
        {"3x3 64->64 32x32 (LR)", 64, 64, 32, 32},   {"3x3 64->256 32x32 (up1)", 64, 256, 32, 32},
        {"3x3 64->256 64x64 (up2)", 64, 256, 64, 64}, {"3x3 64->64 128x128 (HR)", 64, 64, 128, 128},
        {"3x3 64->3 128x128 (last)", 64, 3, 128, 128},
        {"3x3 256->256 32x32 (VGG3)", 256, 256, 32, 32},
        {"3x3 512->512 16x16 (VGG4)", 512, 512, 16, 16},
        {"3x3 512->512 8x8 (VGG5)", 512, 512, 8, 8},
    };
    const sr_conv_impl impls[] = {SR_CONV_DIRECT, SR_CONV_GEMM, SR_CONV_WINOGRAD};
    for (size_t i = 0; i < sizeof sh / sizeof *sh; i++)
        for (int bw = 0; bw <= 3; bw += bw ? 1 : 2)
            for (size_t k = 0; k < sizeof impls / sizeof *impls; k++)
                bench(sh[i].name, sh[i].cin, sh[i].cout, 3, sh[i].h, sh[i].w, impls[k], bw,
                      sh[i].h * sh[i].w >= 16384 ? reps : reps * 4);
}

/*     bench_conv [reps] [1]       (a second argument 1: one thread only)
 *     bench_conv reps 0|1 wino    (the Winograd table only)
 *     bench_conv reps 0|1 train   (training's convs: forward, dweight, dx) */
int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 5;
    two_threads = !(argc > 2 && atoi(argv[2]) == 1);
    if (argc > 3 && !strcmp(argv[3], "wino")) {
        openblas_set_num_threads(1);
        winograd_table(reps);
        return 0;
    }
    if (argc > 3 && !strcmp(argv[3], "train")) {
        openblas_set_num_threads(1);
        train_table(reps);
        return 0;
    }
    openblas_set_num_threads(1);
    const char *ct = getenv("OPENBLAS_CORETYPE");
    printf("OPENBLAS_CORETYPE=%s; best of %d\n", ct ? ct : "(unset)", reps);
    /* DIRECT is the AVX-512 kernel where the CPU has it, else the AVX2 one */
    enum { NI = 4 };
    sr_conv_impl impls[NI] = { SR_CONV_DIRECT, SR_CONV_DIRECT_AVX2, SR_CONV_GEMM,
                               SR_CONV_WINOGRAD };
    for (int i = 0; i < NI; i++)
        bench("3x3 64->64 128x128", 64, 64, 3, 128, 128, impls[i], 0, reps);
    for (int i = 0; i < NI; i++)
        bench("3x3 64->64 32x1024 (HR)", 64, 64, 3, 32, 1024, impls[i], 0, reps);
    for (int i = 0; i < NI; i++)
        bench("3x3 64->256 128x128", 64, 256, 3, 128, 128, impls[i], 0, reps);
    for (int i = 0; i < NI; i++)
        bench("3x3 3->64 128x128", 3, 64, 3, 128, 128, impls[i], 0, reps);
    for (int i = 0; i < NI; i++)
        bench("3x3 64->3 128x128", 64, 3, 3, 128, 128, impls[i], 0, reps);
    for (int i = 0; i < NI; i++)
        bench("3x3 64->64 32x32 (train)", 64, 64, 3, 32, 32, impls[i], 0, reps * 4);
    for (int i = 0; i < NI; i++)
        bench("3x3 64->64 128x128", 64, 64, 3, 128, 128, impls[i], 1, reps);
    for (int i = 0; i < NI; i++)
        bench("3x3 64->64 32x32 (train)", 64, 64, 3, 32, 32, impls[i], 1, reps * 4);
    for (int i = 0; i < NI; i++)
        bench("3x3 64->3 128x128 (train)", 64, 3, 3, 128, 128, impls[i], 1, reps);
    for (int i = 0; i < NI; i++)
        bench("3x3 64->256 32x32 (train)", 64, 256, 3, 32, 32, impls[i], 1, reps * 2);
    return 0;
}
