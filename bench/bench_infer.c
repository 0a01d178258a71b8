/* bench_infer.c: tiled inference speed of the generator (C side of
 * bench/bench_infer.sh).
 *
 *     bench_infer [--size 256] [--threads 2] [--tile 0] [--repeats 3]
 *                 [--arch msrresnet|srresnet] [--blocks 16] [--feat 64]
 *                 [--weights FILE.safetensors] [--prepare 1|0]
 *                 [--precision fp32|bf16|auto]
 *
 * --prepare 0 skips sr_generator_prepare (no Winograd: the previous paths);
 * --precision (default fp32, the previous figures) prepares with
 * sr_generator_prepare_precision: bf16 needs AVX512-BF16 (refused
 * elsewhere), auto is what srgan-up's default resolves to on this CPU;
 * --weights loads a model (its architecture) instead of random weights.
 * Random weights (sr_generator_new) and a random size x size RGB input held
 * in memory; the x4 output rows are pulled through the tiled stage exactly
 * as the CLI does (without file I/O). Prints output megapixels per second
 * (median of the repeats after one warm-up), the tile layout, and the peak
 * RSS of the process; the last line is "RESULT {json}". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "srgan/model.h"

typedef struct memsrc {
    sr_stage base;
    const float *data;
} memsrc;

static int mem_pull(sr_stage *s, int y0, int n, float *out, sr_error *err)
{
    (void)err;
    memsrc *m = (memsrc *)s;
    size_t row = (size_t)s->width * s->channels;
    memcpy(out, m->data + (size_t)y0 * row, (size_t)n * row * sizeof(float));
    return 0;
}

static void mem_destroy(sr_stage *s)
{
    free(s);
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    int size = 256, threads = 2, tile = 0, repeats = 3, blocks = 16, feat = 64, prepare = 1;
    const char *weights = NULL;
    sr_precision prec = SR_PRECISION_FP32;
    sr_arch arch = SR_ARCH_MSRRESNET;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--size")) size = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--threads")) threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--tile")) tile = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--repeats")) repeats = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--blocks")) blocks = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--feat")) feat = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--prepare")) prepare = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--weights")) weights = argv[i + 1];
        else if (!strcmp(argv[i], "--precision")) {
            if (sr_precision_parse(argv[i + 1], &prec)) {
                fprintf(stderr, "bench_infer: --precision: '%s' is not fp32, bf16 or auto\n",
                        argv[i + 1]);
                return 2;
            }
        }
        else if (!strcmp(argv[i], "--arch"))
            arch = strcmp(argv[i + 1], "srresnet") ? SR_ARCH_MSRRESNET : SR_ARCH_SRRESNET;
        else {
            fprintf(stderr, "bench_infer: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (repeats < 1 || repeats > 100)
        repeats = 3;
    if (prec == SR_PRECISION_BF16 && !sr_bf16_supported()) {
        fprintf(stderr, "bench_infer: --precision bf16: this CPU has no AVX512-BF16\n");
        return 2;
    }
    prec = sr_precision_resolve(prec);
    sr_error err = {0};
    sr_generator_config cfg = {.arch = arch, .scale = 4, .blocks = blocks, .channels = feat, .in_channels = 3, .out_channels = 3};
    sr_generator *g = weights ? sr_generator_load(weights, &err) : sr_generator_new(&cfg, 1, &err);
    if (!g || (prepare && sr_generator_prepare_precision(g, prec, &err))) {
        fprintf(stderr, "bench_infer: %s\n", err.msg);
        return 1;
    }
    cfg = *sr_generator_get_config(g);
    arch = cfg.arch;
    blocks = cfg.blocks;
    feat = cfg.channels;
    float *img = malloc((size_t)size * size * 3 * sizeof(float));
    uint32_t r = 1;
    for (size_t i = 0; i < (size_t)size * size * 3; i++) {
        r = r * 1664525u + 1013904223u;
        img[i] = (float)(r >> 8) / 16777216.0f;
    }
    const int band = 64;
    float *rows = malloc((size_t)band * 4 * size * 3 * sizeof(float));
    double times[100];
    for (int it = 0; it <= repeats; it++) {
        memsrc *m = calloc(1, sizeof *m);
        m->base = (sr_stage){.width = size, .height = size, .channels = 3, .pull = mem_pull,
                             .destroy = mem_destroy};
        m->data = img;
        sr_tile_opts o = {.tile = tile, .threads = threads, .max_memory = 0};
        double t0 = now();
        sr_stage *st = sr_generator_stage_new(&m->base, g, &o, &err);
        if (!st) {
            fprintf(stderr, "bench_infer: %s\n", err.msg);
            return 1;
        }
        for (int y = 0; y < st->height; y += band) {
            int n = st->height - y < band ? st->height - y : band;
            if (sr_stage_pull(st, y, n, rows, &err)) {
                fprintf(stderr, "bench_infer: %s\n", err.msg);
                return 1;
            }
        }
        sr_stage_free(st);
        if (it > 0) /* the first run warms up */
            times[it - 1] = now() - t0;
    }
    qsort(times, (size_t)repeats, sizeof *times, cmp_d);
    double med = times[repeats / 2];
    double mp = (4.0 * size) * (4.0 * size) / 1e6;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    const char *ct = getenv("OPENBLAS_CORETYPE");
    printf("C %s x4 %dx%d%s, LR %dx%d, threads %d, tile %d (auto if 0), OPENBLAS_CORETYPE=%s: "
           "precision %s, median %.3f s (min %.3f), %.3f output MP/s, peak RSS %.0f MiB\n",
           sr_arch_name(arch), blocks, feat, prepare ? "" : " (not prepared)", size, size,
           threads, tile, ct ? ct : "(unset)", sr_precision_name(prec), med,
           times[0], mp / med, ru.ru_maxrss / 1024.0);
    printf("RESULT {\"bench\": \"infer_c\", \"arch\": \"%s\", \"lr_size\": %d, \"threads\": %d, "
           "\"tile\": %d, \"prepared\": %d, \"precision\": \"%s\", \"coretype\": \"%s\", "
           "\"median_s\": %.4f, "
           "\"out_mpix_per_s\": %.4f, \"peak_rss_mb\": %.1f}\n",
           sr_arch_name(arch), size, threads, tile, prepare, sr_precision_name(prec),
           ct ? ct : "", med, mp / med,
           ru.ru_maxrss / 1024.0);
    free(rows);
    free(img);
    sr_generator_free(g);
    return 0;
}
