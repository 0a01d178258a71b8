/* bench_degrade.c: CPU seconds to make one training batch (the loader's
 * work: crops from cached images and their LR) with each --degrade
 * pipeline, against the CPU seconds of one psnr training step on a batch of
 * the same shape (MSRResNet 16x64, 1 thread; run with OPENBLAS_NUM_THREADS=1).
 * Process CPU time, not wall time, so that a loaded machine compares like
 * with like. Optionally saves the patches of the last batch as PNGs.
 *
 *   bench_degrade HR_DIR [scale 4] [batches 10] [batch 16] [patch 128] [png_dir]
 * Prints one RESULT {json} line with medians. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "srgan/degrade.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_degrade HR_DIR [scale] [batches] [batch] [patch] [png_dir]\n");
        return 2;
    }
    int scale = argc > 2 ? atoi(argv[2]) : 4, n = argc > 3 ? atoi(argv[3]) : 10;
    int B = argc > 4 ? atoi(argv[4]) : 16, P = argc > 5 ? atoi(argv[5]) : 128;
    const char *png = argc > 6 ? argv[6] : NULL;
    if (n < 1 || n > 1000) n = 10;
    sr_error err = {0};
    sr_dataset *ds = sr_dataset_open(argv[1], NULL, scale, 3, (size_t)1 << 30, &err);
    if (!ds) {
        fprintf(stderr, "bench_degrade: %s\n", err.msg);
        return 1;
    }
    sr_dataset_filter(ds, P, NULL, 0);
    int lp = P / scale;
    float *hr = malloc((size_t)B * 3 * P * P * sizeof(float));
    float *lr = malloc((size_t)B * 3 * lp * lp * sizeof(float));
    double *t = malloc((size_t)n * sizeof *t);
    const char *presets[] = {"bicubic", "real", "microscopy"};
    printf("RESULT {\"scale\": %d, \"batch\": %d, \"patch\": %d", scale, B, P);
    for (int k = 0; k < 3; k++) {
        sr_degrade_params p;
        sr_degrade_parse(presets[k], &p, &err);
        sr_dataset_set_degrade(ds, &p);
        /* warm-up: fills the image cache for these batches */
        for (int i = 0; i < n; i++)
            if (sr_dataset_batch(ds, 1, i, B, P, 1, hr, lr, &err)) {
                fprintf(stderr, "bench_degrade: %s\n", err.msg);
                return 1;
            }
        for (int i = 0; i < n; i++) {
            double t0 = now();
            sr_dataset_batch(ds, 1, i, B, P, 1, hr, lr, &err);
            t[i] = now() - t0;
        }
        qsort(t, (size_t)n, sizeof *t, cmpd);
        printf(", \"%s_s\": %.4f", presets[k], t[n / 2]);
        for (int j = 0; png && j < B; j++) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s_%02d.png", png, presets[k], j);
            sr_save_png_planar(path, lr + (size_t)j * 3 * lp * lp, 3, lp, lp, &err);
            if (k == 0) {
                snprintf(path, sizeof path, "%s/hr_%02d.png", png, j);
                sr_save_png_planar(path, hr + (size_t)j * 3 * P * P, 3, P, P, &err);
            }
        }
    }
    /* a training step on the last batch */
    sr_train_config c;
    sr_train_config_defaults(&c, SR_PHASE_PSNR);
    c.threads = 1, c.batch = B, c.patch = P, c.gen.scale = scale, c.schedule = "constant";
    sr_generator *g = sr_generator_new(&c.gen, 1, &err);
    sr_trainer *tr = g ? sr_trainer_new(&c, g, NULL, NULL, &err) : NULL;
    if (!tr) {
        fprintf(stderr, "bench_degrade: %s\n", err.msg);
        return 1;
    }
    int steps = n < 3 ? n : 3;
    for (int i = -1; i < steps; i++) {
        double t0 = now();
        sr_trainer_step(tr, hr, lr, NULL, &err);
        if (i >= 0) t[i] = now() - t0;
    }
    qsort(t, (size_t)steps, sizeof *t, cmpd);
    printf(", \"train_step_s\": %.4f}\n", t[steps / 2]);
    sr_trainer_free(tr);
    free(hr);
    free(lr);
    free(t);
    sr_dataset_free(ds);
    return 0;
}
