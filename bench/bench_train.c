/* bench_train.c: seconds per training iteration of srgan-train's step
 * (sr_trainer_step: the same code the loop runs, without data loading) on
 * random data, for comparison with ../shared/peers/torch_ref_bench.py train.
 *
 *   bench_train psnr|gan [steps] [vgg.safetensors] [threads]
 * MSRResNet 16x64 x4, batch 16 of 32x32 LR (128x128 HR). Prints one
 * RESULT {json} line with the median. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "srgan/train.h"

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double now(void)
{
    return clock_s(CLOCK_MONOTONIC);
}

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    int gan = argc > 1 && !strcmp(argv[1], "gan");
    int steps = argc > 2 ? atoi(argv[2]) : 5;
    const char *vgg = argc > 3 ? argv[3] : "../shared/vgg19/vgg19_conv.safetensors";
    int threads = argc > 4 ? atoi(argv[4]) : 2;
    const int bf16 = argc > 5 && !strcmp(argv[5], "bf16"); /* mixed precision (AMX or AVX512-BF16) */
    if (steps < 1 || steps > 1000) steps = 5;
    sr_train_config c;
    sr_train_config_defaults(&c, gan ? SR_PHASE_GAN : SR_PHASE_PSNR);
    c.threads = threads;
    c.bf16 = bf16;
    c.vgg_path = vgg;
    c.schedule = "constant";
    sr_error err = {0};
    sr_generator *g = sr_generator_new(&c.gen, 1, &err);
    sr_trainer *t = g ? sr_trainer_new(&c, g, NULL, NULL, &err) : NULL;
    if (!t) {
        fprintf(stderr, "bench_train: %s\n", err.msg);
        return 1;
    }
    size_t nh = (size_t)16 * 3 * 128 * 128, nl = (size_t)16 * 3 * 32 * 32;
    float *hr = malloc(nh * sizeof(float)), *lr = malloc(nl * sizeof(float));
    sr_rng r;
    sr_rng_seed(&r, 1, 0);
    for (size_t i = 0; i < nh; i++) hr[i] = (float)sr_rng_uniform(&r);
    for (size_t i = 0; i < nl; i++) lr[i] = (float)sr_rng_uniform(&r);
    /* CPU seconds too (all threads): on a shared machine a step's wall time
     * also counts the time other processes held its core */
    double *times = malloc(2 * (size_t)steps * sizeof(double)), *cpu = times + steps;
    for (int i = -1; i < steps; i++) { /* one warm-up step */
        double t0 = now(), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
        if (sr_trainer_step(t, hr, lr, NULL, &err)) {
            fprintf(stderr, "bench_train: %s\n", err.msg);
            return 1;
        }
        if (i >= 0) {
            times[i] = now() - t0;
            cpu[i] = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
        }
    }
    qsort(times, (size_t)steps, sizeof *times, cmpd);
    qsort(cpu, (size_t)steps, sizeof *cpu, cmpd);
    double med = times[steps / 2], cmed = cpu[steps / 2];
    printf("srgan-train %s step: median %.3f s over %d steps (%.3f it/s, %d threads), CPU %.3f s\n",
           gan ? "gan (l1+vgg+gan)" : "psnr (l1)", med, steps, 1 / med, threads, cmed);
    printf("RESULT {\"bench\": \"train_c\", \"phase\": \"%s\", \"median_s\": %.4f, \"it_per_s\": %.4f, "
           "\"threads\": %d, \"cpu_s\": %.4f}\n", gan ? "gan" : "psnr", med, 1 / med, threads, cmed);
    free(times);
    free(hr);
    free(lr);
    sr_trainer_free(t);
    return 0;
}
