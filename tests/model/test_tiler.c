/* test_tiler.c: tiled inference through the generator stage equals
 * whole-image inference for every architecture, x2/x3/x4, 1 and 3
 * channels, tile sizes down to 1 pixel (smaller than the halo), odd sizes,
 * 1-pixel-wide and -high images, 1 and 2 threads and the automatic tile
 * size; and the halo covers the real receptive field. Bit for bit (tol())
 * where no conv runs im2col + sgemm, else within 1e-5.
 * The self-ensemble equals averaging eight whole-image runs of the flipped
 * and rotated image: exactly with one tile, within the same bound tiled.
 * The generators are prepared (sr_generator_prepare) as the CLI does: with
 * >= 8 channels the default dispatch runs Winograd (AVX2 CPUs), its 4x4
 * grid anchored to image coordinates at every resolution (after pixel
 * shuffles, nearest upsampling, rrdbnet's unshuffle) and in tail strips.
 * Run again by meson with SRGAN_CONV=winograd (every 3x3 conv Winograd, the
 * others as AUTO runs them): still bit-exact; and with
 * SRGAN_TEST_PRECISION=bf16 (generators prepared with
 * sr_generator_prepare_precision(BF16): the convs with >= 8 input and
 * output channels run the bf16 Winograd kernel, or its plain-C reference on
 * CPUs without AVX512-BF16): still bit-exact, and sr_tile_opts.fp32 really
 * switches back to fp32. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "srgan/model.h"
#include "testlib.h"

/* A source stage over an HWC float image in memory; checks the pull order. */
typedef struct memsrc {
    sr_stage base;
    const float *data;
    int next;
    int *bad_order;
} memsrc;

static int mem_pull(sr_stage *s, int y0, int n, float *out, sr_error *err)
{
    memsrc *m = (memsrc *)s;
    if (y0 < m->next || y0 + n > s->height) {
        *m->bad_order = 1;
        sr_error_set(err, SR_ERR_ARG, "memsrc: bad request");
        return -1;
    }
    size_t row = (size_t)s->width * s->channels;
    memcpy(out, m->data + (size_t)y0 * row, (size_t)n * row * sizeof(float));
    m->next = y0 + n;
    return 0;
}

static void mem_destroy(sr_stage *s)
{
    free(s);
}

static sr_stage *memsrc_new(const float *data, int w, int h, int c, int *bad)
{
    memsrc *m = calloc(1, sizeof *m);
    m->base = (sr_stage){.width = w, .height = h, .channels = c, .pull = mem_pull,
                         .destroy = mem_destroy};
    m->data = data;
    m->bad_order = bad;
    return &m->base;
}

/* The allowed tiled-vs-whole difference. 0 where no conv runs im2col +
 * sgemm (whose rounding may depend on the tile's width): on AVX2 + FMA CPUs
 * under the default dispatch (direct kernels, and Winograd for the prepared
 * 3x3 convs with >= 8 outputs, its grid anchored to the image) and under
 * SRGAN_CONV=winograd (every 3x3 conv Winograd, the others as AUTO); the
 * test generators have too few channels for AUTO's sgemm (>= 16 outputs on
 * 9x9 convs). Else 1e-5. */
static double tol(int arch)
{
    (void)arch;
    const char *conv = getenv("SRGAN_CONV");
    const int dflt = !conv || !*conv || !strcmp(conv, "auto") || !strcmp(conv, "winograd") ||
                     !strcmp(conv, "winograd-ref");
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (dflt && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return 0.0;
#else
    (void)dflt;
#endif
    return 1e-5;
}

static uint32_t rng = 777;
static float frand(void)
{
    rng = rng * 1664525u + 1013904223u;
    return (float)(rng >> 8) / 16777216.0f;
}

/* Every architecture, at the scales it supports (rrdbnet: x2 with the
 * pixel unshuffle that needs 2-aligned windows, and x4). */
#define NARCH 5
static int scale_ok(int arch, int scale)
{
    return arch != SR_ARCH_RRDBNET || scale != 3;
}

/* SRGAN_TEST_PRECISION=bf16: prepare the generators for bf16 inference. */
static int test_bf16(void)
{
    const char *p = getenv("SRGAN_TEST_PRECISION");
    return p && !strcmp(p, "bf16");
}

/* bf16 on a CPU without AVX512-BF16 runs the kernel's plain-C reference,
 * about 30x slower: the self-ensemble runs (8 passes each) are left to the
 * fp32 and Winograd runs of this test and to bf16 CPUs, which keeps this
 * run within its timeout under ASan on AVX2-only machines (it took 154 s of
 * a release build there, with them). */
static int slow_bf16_reference(void)
{
    return test_bf16() && !sr_bf16_supported();
}

/* Random generator with weights at Kaiming scale (x10 the 0.1 init) so that
 * every layer matters and a too-small halo would show. */
static sr_generator *make_gen(sr_arch arch, int scale, int ch, int blocks, int feat)
{
    sr_generator_config c = {.arch = arch, .scale = scale, .blocks = blocks, .channels = feat, .in_channels = ch, .out_channels = ch};
    c.grow = 4;          /* rrdbnet: small dense blocks */
    c.res_scale = 0.5f;  /* edsr: the scaled residual op */
    sr_error err = {0};
    sr_generator *g = sr_generator_new(&c, 42 + scale + 10 * ch + 100 * arch, &err);
    if (!g) {
        fprintf(stderr, "%s\n", err.msg);
        exit(2);
    }
    for (int i = 0; i < sr_generator_param_count(g); i++) {
        sr_param *p = sr_generator_param(g, i);
        size_t len = strlen(p->name);
        int is_w = len > 7 && !strcmp(p->name + len - 7, ".weight") && p->ndim == 4;
        for (size_t k = 0; k < p->numel; k++) {
            if (is_w)
                p->data[k] *= 8.0f;
            else if (p->ndim == 1 && strstr(p->name, "act") == NULL)
                p->data[k] = 0.1f * (frand() - 0.5f); /* biases */
        }
    }
    if (sr_generator_prepare_precision(g, test_bf16() ? SR_PRECISION_BF16 : SR_PRECISION_FP32,
                                       &err)) { /* as the CLI does, weights final */
        fprintf(stderr, "%s\n", err.msg);
        exit(2);
    }
    return g;
}

/* Whole image, HWC. */
static float *whole(const sr_generator *g, const float *img, int w, int h, int c)
{
    const int s = sr_generator_get_config(g)->scale;
    sr_tensor x = sr_tensor_alloc(1, c, h, w), y = sr_tensor_alloc(1, c, s * h, s * w);
    for (int yy = 0; yy < h; yy++)
        for (int xx = 0; xx < w; xx++)
            for (int k = 0; k < c; k++)
                x.data[((size_t)k * h + yy) * w + xx] = img[((size_t)yy * w + xx) * c + k];
    sr_error err = {0};
    if (sr_generator_forward(g, &x, &y, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        exit(2);
    }
    float *out = malloc(sr_tensor_numel(&y) * sizeof(float));
    for (int yy = 0; yy < s * h; yy++)
        for (int xx = 0; xx < s * w; xx++)
            for (int k = 0; k < c; k++)
                out[((size_t)yy * s * w + xx) * c + k] =
                    y.data[((size_t)k * s * h + yy) * s * w + xx];
    sr_tensor_free(&x);
    sr_tensor_free(&y);
    return out;
}

static double tiled_diff(const sr_generator *g, const float *img, const float *ref, int w, int h,
                         int c, const sr_tile_opts *o, int chunk)
{
    const int s = sr_generator_get_config(g)->scale;
    int bad = 0;
    sr_error err = {0};
    sr_stage *st = sr_generator_stage_new(memsrc_new(img, w, h, c, &bad), g, o, &err);
    if (!st) {
        fprintf(stderr, "stage: %s\n", err.msg);
        return INFINITY;
    }
    if (st->width != s * w || st->height != s * h || st->channels != c)
        return INFINITY;
    size_t row = (size_t)st->width * c;
    float *buf = malloc(row * (size_t)chunk * sizeof(float));
    double maxd = 0;
    for (int y0 = 0; y0 < st->height; y0 += chunk) {
        int n = st->height - y0 < chunk ? st->height - y0 : chunk;
        if (sr_stage_pull(st, y0, n, buf, &err)) {
            fprintf(stderr, "pull: %s\n", err.msg);
            maxd = INFINITY;
            break;
        }
        for (size_t i = 0; i < (size_t)n * row; i++) {
            double d = fabs((double)buf[i] - ref[(size_t)y0 * row + i]);
            if (!(d <= maxd))
                maxd = d;
        }
    }
    free(buf);
    sr_stage_free(st);
    return bad ? INFINITY : maxd;
}

static void test_tiled_equals_whole(void)
{
    static const int sizes[][2] = {{13, 11}, {1, 9}, {10, 1}, {6, 7}};
    static const int tiles[] = {1, 3, 7, 0};
    int runs = 0, fails = 0;
    double worst = 0;
    for (int arch = 0; arch < NARCH; arch++) {
        for (int scale = 2; scale <= 4; scale++) {
            if (!scale_ok(arch, scale))
                continue;
            for (int ch = 1; ch <= 3; ch += 2) {
                sr_generator *g = make_gen((sr_arch)arch, scale, ch, 1, 4);
                for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++) {
                    int w = sizes[si][0], h = sizes[si][1];
                    float *img = malloc((size_t)w * h * ch * sizeof(float));
                    for (int i = 0; i < w * h * ch; i++)
                        img[i] = frand();
                    float *ref = whole(g, img, w, h, ch);
                    for (size_t ti = 0; ti < sizeof tiles / sizeof *tiles; ti++) {
                        sr_tile_opts o = {.tile = tiles[ti], .threads = 1 + (int)((si + ti) % 2)};
                        double d = tiled_diff(g, img, ref, w, h, ch, &o, 1 + (int)(ti * 5) % 7);
                        runs++;
                        worst = fmax(worst, d);
                        if (!(d <= tol(arch))) {
                            fails++;
                            fprintf(stderr, "  %s x%d ch%d %dx%d tile %d threads %d: diff %g\n",
                                    sr_arch_name((sr_arch)arch), scale, ch, w, h, o.tile,
                                    o.threads, d);
                        }
                    }
                    free(ref);
                    free(img);
                }
                sr_generator_free(g);
            }
        }
    }
    fprintf(stderr, "  %d tiled runs, worst max abs diff %.3g\n", runs, worst);
    CHECK(fails == 0);
}

/* A deeper net, a larger image, several tiles per band on 2 threads, and the
 * automatic tile size from a small memory budget, and 5 threads (tail bands
 * of one step of rows). */
static void test_larger(void)
{
    for (int arch = 0; arch < NARCH; arch++) {
        sr_generator *g = make_gen((sr_arch)arch, 4, 3, 3, 8);
        const int w = 41, h = 29, c = 3;
        float *img = malloc((size_t)w * h * c * sizeof(float));
        for (int i = 0; i < w * h * c; i++)
            img[i] = frand();
        float *ref = whole(g, img, w, h, c);
        sr_tile_opts o1 = {.tile = 8, .threads = 2};
        double d1 = tiled_diff(g, img, ref, w, h, c, &o1, 13);
        sr_tile_opts o2 = {.tile = 0, .threads = 2, .max_memory = 3u << 20};
        double d2 = tiled_diff(g, img, ref, w, h, c, &o2, 64);
        sr_tile_opts o3 = {.tile = 0, .threads = 0};
        double d3 = tiled_diff(g, img, ref, w, h, c, &o3, 1000);
        sr_tile_opts o4 = {.tile = 0, .threads = 5};
        d3 += tiled_diff(g, img, ref, w, h, c, &o4, 1000);
        fprintf(stderr, "  %s: tile 8: %.3g, auto (3 MB): %.3g, auto: %.3g\n",
                sr_arch_name((sr_arch)arch), d1, d2, d3);
        CHECK(d1 <= tol(arch) && d2 <= tol(arch) && d3 <= tol(arch));
        free(ref);
        free(img);
        sr_generator_free(g);
    }
}

static float *ensemble_whole(const sr_generator *g, const float *img, int w, int h, int c);

/* Whether AUTO runs Winograd for a prepared 3x3 conv with 16 outputs
 * (AVX2 + FMA without AVX-512, or SRGAN_CONV=winograd). */
static int auto_runs_winograd(void)
{
    float wt[9 * 16 * 16] = {0};
    sr_conv2d probe = {.cin = 16, .cout = 16, .kh = 3, .kw = 3, .stride = 1, .pad = 1,
                       .weight = wt};
    int run = 0;
    CHECK((test_bf16() ? sr_conv2d_prepare_bf16(&probe) : sr_conv2d_prepare(&probe)) == 0);
    const int wino = sr_conv2d_reach(&probe, &run) == 3;
    sr_conv2d_release(&probe);
    return wino;
}

/* The default dispatch on prepared generators of every architecture with
 * 16 channels (SRResNet 8; on AVX2 CPUs: Winograd for the 3x3 convs with
 * >= 8 outputs, the direct kernel for the few-output tail convs and
 * SRResNet's 9x9 convs):
 * tiles bit-exact, at windows that start anywhere in the 4x4 grid, and the
 * halo grows by Winograd's reach once prepared. */
static void test_prepared_exact(void)
{
    const int wino = auto_runs_winograd();
    for (int arch = 0; arch < NARCH; arch++) {
        for (int scale = 2; scale <= 4; scale += 2) {
            /* SRResNet with 8 channels: AUTO runs its 9x9 head conv with >= 16
             * outputs by im2col + sgemm (as in a 64-channel model), whose
             * rounding depends on the tile width (within 1e-5, not exact) */
            const int feat = arch == SR_ARCH_SRRESNET ? 8 : 16;
            sr_generator *g = make_gen((sr_arch)arch, scale, 3, 2, feat);
            const int w = 46, h = 34, c = 3; /* even: rrdbnet x2's ensemble */
            float *img = malloc((size_t)w * h * c * sizeof(float));
            for (int i = 0; i < w * h * c; i++)
                img[i] = frand();
            float *ref = whole(g, img, w, h, c);
            sr_tile_opts o1 = {.tile = 7, .threads = 2};
            double d1 = tiled_diff(g, img, ref, w, h, c, &o1, 13);
            sr_tile_opts o2 = {.tile = 20, .threads = 1};
            double d2 = tiled_diff(g, img, ref, w, h, c, &o2, 64);
            /* the whole image on 3 members: 3 tail bands of about 12 rows, each
             * starting from its own margin (gen_tail.c) */
            sr_tile_opts o5 = {.tile = 64, .threads = 3};
            d2 += tiled_diff(g, img, ref, w, h, c, &o5, 1000);
            sr_tile_opts o3 = {.tile = 10, .threads = 2, .ensemble = 1};
            float *eref = slow_bf16_reference() ? NULL : ensemble_whole(g, img, w, h, c);
            double d3 = eref ? tiled_diff(g, img, eref, w, h, c, &o3, 29) : 0;
            if (test_bf16()) { /* fp32 on request: exact in tiles, not the bf16 bits */
                sr_tile_opts o4 = {.tile = 9, .threads = 2, .fp32 = 1};
                const double d4 = tiled_diff(g, img, ref, w, h, c, &o4, 17);
                fprintf(stderr, "  %s x%d: tile 9 fp32 vs whole bf16: %.3g\n",
                        sr_arch_name((sr_arch)arch), scale, d4);
                CHECK(d4 > 0);
            }
            const int halo = sr_generator_halo(g);
            /* unprepared: no Winograd under AUTO, a smaller halo */
            const char *conv = getenv("SRGAN_CONV");
            const int forced = conv && !strncmp(conv, "winograd", 8);
            sr_generator *v = sr_generator_new(sr_generator_get_config(g), 1, &(sr_error){0});
            const int halo_plain = sr_generator_halo(v);
            sr_generator_free(v);
            fprintf(stderr, "  %s x%d: tile 7: %.3g, tile 20: %.3g, ensemble tile 10: %.3g "
                            "(halo %d, unprepared %d, winograd %d)\n",
                    sr_arch_name((sr_arch)arch), scale, d1, d2, d3, halo, halo_plain, wino);
            CHECK(d1 <= tol(arch) && d2 <= tol(arch) && d3 <= tol(arch));
            if (wino)
                CHECK(d1 == 0 && d2 == 0 && d3 == 0);
            if (wino && !forced)
                CHECK_MSG(halo > halo_plain, "%s x%d: halo %d, unprepared %d",
                          sr_arch_name((sr_arch)arch), scale, halo, halo_plain);
            free(eref);
            free(ref);
            free(img);
            sr_generator_free(g);
        }
    }
}

/* Perturb one input pixel: every output that changes lies within the halo
 * (in input pixels), and the halo is not much larger than the real reach. */
static void test_halo_covers_receptive_field(void)
{
    /* Winograd convs (SRGAN_CONV=winograd): the halo is the worst case over
     * the 4x4 grid phases of every resolution, which one perturbed pixel
     * per phase need not all hit */
    const char *conv = getenv("SRGAN_CONV");
    const int wslack = conv && !strcmp(conv, "winograd") ? 4 : 2;
    for (int arch = 0; arch < NARCH; arch++) {
        for (int scale = 2; scale <= 4; scale++) {
            if (!scale_ok(arch, scale))
                continue;
            sr_generator *g = make_gen((sr_arch)arch, scale, 1, 2, 4);
            const int H = sr_generator_halo(g);
            const int n = 2 * H + 16, s = scale;
            float *img = malloc((size_t)n * n * sizeof(float));
            for (int i = 0; i < n * n; i++)
                img[i] = frand();
            float *a = whole(g, img, n, n, 1);
            /* Winograd's reach depends on the pixel's place in the 4x4 tile
             * grid: perturb one pixel of each phase in turn */
            int reach = 0;
            for (int ph = 0; ph < 4; ph++) {
                const int py = n / 2 + ph, px = n / 2 + ph;
                const float keep = img[py * n + px];
                img[py * n + px] += 1.0f;
                float *b = whole(g, img, n, n, 1);
                img[py * n + px] = keep;
                for (int y = 0; y < s * n; y++) {
                    for (int x = 0; x < s * n; x++) {
                        if (a[(size_t)y * s * n + x] == b[(size_t)y * s * n + x])
                            continue;
                        int dy = abs(y / s - py), dx = abs(x / s - px);
                        int d = dy > dx ? dy : dx;
                        reach = d > reach ? d : reach;
                    }
                }
                free(b);
            }
            /* RRDBNet's longest paths pass 0.2 scalings six times and
             * through 32 convs: at its far end the perturbation falls below
             * float resolution, so the visible reach is shorter there */
            const int slack = arch == SR_ARCH_RRDBNET ? H / 4 : wslack;
            CHECK_MSG(reach <= H && reach >= H - slack, "%s x%d: reach %d, halo %d",
                      sr_arch_name((sr_arch)arch), scale, reach, H);
            free(a);
            free(img);
            sr_generator_free(g);
        }
    }
}

/* ---- self-ensemble ------------------------------------------------------
 * The reference is the definition, written independently of the tiler's
 * coordinate map: view k of an HWC image is a horizontal flip (k & 1), a
 * vertical flip (k & 2), then a transpose (k & 4); the output of each view
 * is undone in the reverse order, and the eight are summed in order k = 0..7
 * and multiplied by 1/8. */
static float *flip_h(const float *a, int w, int h, int c)
{
    float *o = malloc((size_t)w * h * c * sizeof(float));
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            memcpy(o + ((size_t)y * w + x) * c, a + ((size_t)y * w + (w - 1 - x)) * c,
                   (size_t)c * sizeof(float));
    return o;
}

static float *flip_v(const float *a, int w, int h, int c)
{
    float *o = malloc((size_t)w * h * c * sizeof(float));
    for (int y = 0; y < h; y++)
        memcpy(o + (size_t)y * w * c, a + (size_t)(h - 1 - y) * w * c, (size_t)w * c * sizeof(float));
    return o;
}

/* w x h in, h x w out */
static float *transpose(const float *a, int w, int h, int c)
{
    float *o = malloc((size_t)w * h * c * sizeof(float));
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            memcpy(o + ((size_t)x * h + y) * c, a + ((size_t)y * w + x) * c,
                   (size_t)c * sizeof(float));
    return o;
}

/* Apply step f to *img (w x h) in place; transpose swaps *w and *h. */
static void apply(float *(*f)(const float *, int, int, int), float **img, int *w, int *h, int c)
{
    float *o = f(*img, *w, *h, c);
    free(*img);
    *img = o;
    if (f == transpose) {
        int t = *w;
        *w = *h;
        *h = t;
    }
}

static float *ensemble_whole(const sr_generator *g, const float *img, int w, int h, int c)
{
    const int s = sr_generator_get_config(g)->scale;
    const size_t n = (size_t)s * w * s * h * c;
    float *acc = malloc(n * sizeof(float));
    for (int k = 0; k < 8; k++) {
        int vw = w, vh = h;
        float *v = malloc((size_t)w * h * c * sizeof(float));
        memcpy(v, img, (size_t)w * h * c * sizeof(float));
        if (k & 1)
            apply(flip_h, &v, &vw, &vh, c);
        if (k & 2)
            apply(flip_v, &v, &vw, &vh, c);
        if (k & 4)
            apply(transpose, &v, &vw, &vh, c);
        float *o = whole(g, v, vw, vh, c);
        int ow = s * vw, oh = s * vh;
        if (k & 4)
            apply(transpose, &o, &ow, &oh, c);
        if (k & 2)
            apply(flip_v, &o, &ow, &oh, c);
        if (k & 1)
            apply(flip_h, &o, &ow, &oh, c);
        for (size_t i = 0; i < n; i++)
            acc[i] = k ? acc[i] + o[i] : o[i];
        free(o);
        free(v);
    }
    for (size_t i = 0; i < n; i++)
        acc[i] *= 0.125f;
    return acc;
}

/* One tile covering the image: bit-identical to averaging eight whole-image
 * runs (the same convolutions on the same data, summed in the same order).
 * Smaller tiles and two threads: within the plain tiler's bound (1e-5),
 * since a tile's convolution may round differently from the whole image's.
 * And the ensemble is not the plain output (the views do differ). */
static void test_ensemble_equals_eight_whole_runs(void)
{
    static const int sizes[][2] = {{13, 11}, {1, 9}, {10, 1}, {6, 7}, {8, 6}};
    static const int tiles[] = {1, 3, 7};
    int exact_fail = 0, tiled_fail = 0, same_as_plain = 0, runs = 0;
    double worst = 0;
    for (int arch = 0; arch < NARCH; arch++) {
        for (int scale = 2; scale <= 4; scale++) {
            if (!scale_ok(arch, scale))
                continue;
            for (int ch = 1; ch <= 3; ch += 2) {
                sr_generator *g = make_gen((sr_arch)arch, scale, ch, 1, 4);
                for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++) {
                    int w = sizes[si][0], h = sizes[si][1];
                    float *img = malloc((size_t)w * h * ch * sizeof(float));
                    for (int i = 0; i < w * h * ch; i++)
                        img[i] = frand();
                    if (arch == SR_ARCH_RRDBNET && scale == 2 && (w % 2 || h % 2)) {
                        /* the flipped views of an odd side would not be
                         * 2-aligned: refused, saying why */
                        sr_tile_opts e = {.tile = 4, .threads = 1, .ensemble = 1};
                        sr_error err = {0};
                        int bad = 0;
                        sr_stage *st = sr_generator_stage_new(memsrc_new(img, w, h, ch, &bad), g,
                                                              &e, &err);
                        CHECK(st == NULL && strstr(err.msg, "multiples of 2") != NULL);
                        sr_stage_free(st);
                        free(img);
                        continue;
                    }
                    float *ref = ensemble_whole(g, img, w, h, ch);
                    sr_tile_opts one = {.tile = w > h ? w : h, .threads = 1, .ensemble = 1};
                    double d = tiled_diff(g, img, ref, w, h, ch, &one, 5);
                    if (d != 0) {
                        exact_fail++;
                        fprintf(stderr, "  %s x%d ch%d %dx%d one tile: diff %g\n",
                                sr_arch_name((sr_arch)arch), scale, ch, w, h, d);
                    }
                    sr_tile_opts pl = {.tile = w > h ? w : h, .threads = 1};
                    if (w > 1 && h > 1 && tiled_diff(g, img, ref, w, h, ch, &pl, 5) < 1e-4)
                        same_as_plain++;
                    for (size_t ti = 0; ti < sizeof tiles / sizeof *tiles; ti++) {
                        sr_tile_opts o = {.tile = tiles[ti], .threads = 1 + (int)((si + ti) % 2),
                                          .ensemble = 1};
                        d = tiled_diff(g, img, ref, w, h, ch, &o, 1 + (int)(ti * 5) % 7);
                        worst = fmax(worst, d);
                        runs++;
                        if (!(d <= tol(arch))) {
                            tiled_fail++;
                            fprintf(stderr, "  %s x%d ch%d %dx%d tile %d threads %d: diff %g\n",
                                    sr_arch_name((sr_arch)arch), scale, ch, w, h, o.tile,
                                    o.threads, d);
                        }
                    }
                    free(ref);
                    free(img);
                }
                sr_generator_free(g);
            }
        }
    }
    fprintf(stderr, "  %d tiled ensemble runs, worst max abs diff %.3g\n", runs, worst);
    CHECK(exact_fail == 0);
    CHECK(tiled_fail == 0);
    CHECK(same_as_plain == 0);
}

/* The automatic tile size with the ensemble stays within the memory budget
 * the plain run gets (the views reuse the tile's buffers), on a deeper net
 * and several bands. */
static void test_ensemble_larger(void)
{
    sr_generator *g = make_gen(SR_ARCH_MSRRESNET, 4, 3, 3, 8);
    const int w = 41, h = 29, c = 3;
    float *img = malloc((size_t)w * h * c * sizeof(float));
    for (int i = 0; i < w * h * c; i++)
        img[i] = frand();
    float *ref = ensemble_whole(g, img, w, h, c);
    sr_tile_opts o1 = {.tile = 8, .threads = 2, .ensemble = 1};
    double d1 = tiled_diff(g, img, ref, w, h, c, &o1, 13);
    sr_tile_opts o2 = {.tile = 0, .threads = 2, .max_memory = 3u << 20, .ensemble = 1};
    double d2 = tiled_diff(g, img, ref, w, h, c, &o2, 64);
    fprintf(stderr, "  tile 8: %.3g, auto (3 MB): %.3g\n", d1, d2);
    CHECK(d1 <= tol(SR_ARCH_MSRRESNET) && d2 <= tol(SR_ARCH_MSRRESNET));
    free(ref);
    free(img);
    sr_generator_free(g);
}

/* Output rows of the stage over img, HWC (NULL on failure). */
static float *stage_output(const sr_generator *g, const float *img, int w, int h, int c,
                           const sr_tile_opts *o)
{
    int bad = 0;
    sr_error err = {0};
    sr_stage *st = sr_generator_stage_new(memsrc_new(img, w, h, c, &bad), g, o, &err);
    if (!st)
        return NULL;
    size_t n = (size_t)st->width * st->height * c;
    float *out = malloc(n * sizeof(float));
    if (sr_stage_pull(st, 0, st->height, out, &err) || bad) {
        free(out);
        out = NULL;
    }
    sr_stage_free(st);
    return out;
}

/* The second file of a batch runs in the arenas the first one faulted in
 * (no new arena, so no fresh pages to map and zero), and the reused, dirty
 * memory gives the same output bit for bit. A third stage on a larger image
 * needs larger arenas: it makes new ones, and the result is still exact. */
static void test_arenas_reused_across_files(void)
{
    sr_generator *g = make_gen(SR_ARCH_MSRRESNET, 4, 3, 2, 8);
    const int w = 37, h = 23, c = 3;
    float *img = malloc((size_t)w * h * c * sizeof(float));
    for (int i = 0; i < w * h * c; i++)
        img[i] = frand();
    sr_tile_opts o = {.tile = 16, .threads = 2};
    float *a = stage_output(g, img, w, h, c, &o);
    size_t made = sr_arena_pool_created();
    float *b = stage_output(g, img, w, h, c, &o);
    CHECK_MSG(sr_arena_pool_created() == made, "second file made %zu new arenas",
              sr_arena_pool_created() - made);
    CHECK(a && b && !memcmp(a, b, (size_t)16 * w * h * c * sizeof(float)));
    sr_tile_opts big = {.tile = 40, .threads = 2};
    float *ref = whole(g, img, w, h, c);
    float *d = stage_output(g, img, w, h, c, &big);
    double maxd = 0;
    for (size_t i = 0; d && i < (size_t)16 * w * h * c; i++)
        maxd = fmax(maxd, fabs((double)d[i] - ref[i]));
    CHECK(d && maxd <= tol(SR_ARCH_MSRRESNET));
    free(a);
    free(b);
    free(d);
    free(ref);
    free(img);
    sr_generator_free(g);
}

/* Regions taller than the tail's strip (64 LR rows) run the upsampling tail
 * strip by strip; the result equals tiles too short to be split. */
static void test_tail_strips(void)
{
    for (int arch = 0; arch < NARCH; arch++) {
        for (int scale = 2; scale <= 4; scale += 2) {
            sr_generator *g = make_gen((sr_arch)arch, scale, 3, 2, 8);
            const int w = 11, h = 150, c = 3;
            float *img = malloc((size_t)w * h * c * sizeof(float));
            for (int i = 0; i < w * h * c; i++)
                img[i] = frand();
            float *ref = whole(g, img, w, h, c); /* 3 strips */
            sr_tile_opts o1 = {.tile = 9, .threads = 2};   /* no strips */
            sr_tile_opts o2 = {.tile = 130, .threads = 1}; /* strips within a tile */
            double d1 = tiled_diff(g, img, ref, w, h, c, &o1, 17);
            double d2 = tiled_diff(g, img, ref, w, h, c, &o2, 64);
            fprintf(stderr, "  %s x%d: tile 9: %.3g, tile 130: %.3g\n",
                    sr_arch_name((sr_arch)arch), scale, d1, d2);
            CHECK(d1 <= tol(arch) && d2 <= tol(arch));
            /* memory follows the strip, not the region: 800 more rows grow
             * the whole-image arena by the LR trunk's few maps (5 with
             * strips), not by the full-resolution ones (2 * scale^2 more) */
            const int w2 = 40;
            size_t bytes[2];
            for (int k = 0; k < 2; k++) {
                const int h2 = k ? 1200 : 400;
                float *img2 = malloc((size_t)w2 * h2 * c * sizeof(float));
                for (int i = 0; i < w2 * h2 * c; i++)
                    img2[i] = frand();
                sr_arena_pool_clear();
                free(whole(g, img2, w2, h2, c));
                bytes[k] = sr_arena_pool_bytes();
                free(img2);
            }
            /* rrdbnet's trunk keeps three dense blocks of 8 + 4 * 4 channels */
            const size_t maps = arch == SR_ARCH_RRDBNET ? 16 : 8;
            size_t lr_map = (size_t)8 * 800 * w2 * sizeof(float);
            CHECK_MSG(bytes[1] - bytes[0] < maps * lr_map, "%s: arena grew %zu bytes, %zu LR maps %zu",
                      sr_arch_name((sr_arch)arch), bytes[1] - bytes[0], maps, maps * lr_map);
            free(ref);
            free(img);
            sr_generator_free(g);
        }
    }
}

/* Few tiles: each tile runs on all threads at once, its layers split into
 * row bands (gen_forward.c). 1, 2 and 3 threads give the same bytes, equal
 * to the whole-image forward, with the tail's strips shared out too (150
 * rows: 3 strips), for every architecture (rrdbnet x2: its unshuffled trunk
 * on one thread, the tail on all), with the self-ensemble, and against
 * many small tiles run in parallel (one tile per thread). */
static void test_threads_identical(void)
{
    for (int arch = 0; arch < NARCH; arch++) {
        for (int scale = 2; scale <= 4; scale += 2) {
            const int feat = arch == SR_ARCH_SRRESNET ? 8 : 16;
            sr_generator *g = make_gen((sr_arch)arch, scale, 3, 2, feat);
            const int w = 30, h = 150, c = 3; /* even: rrdbnet x2 */
            const size_t n = (size_t)scale * scale * w * h * c;
            float *img = malloc((size_t)w * h * c * sizeof(float));
            for (int i = 0; i < w * h * c; i++)
                img[i] = frand();
            float *ref = whole(g, img, w, h, c);
            float *out[3] = {NULL, NULL, NULL};
            for (int t = 0; t < 3; t++) {
                sr_tile_opts o = {.tile = h, .threads = t + 1};
                out[t] = stage_output(g, img, w, h, c, &o);
                CHECK(out[t] != NULL);
            }
            double d = 0;
            for (size_t i = 0; out[0] && i < n; i++)
                d = fmax(d, fabs((double)out[0][i] - ref[i]));
            const int same12 = out[0] && out[1] && !memcmp(out[0], out[1], n * sizeof(float));
            const int same13 = out[0] && out[2] && !memcmp(out[0], out[2], n * sizeof(float));
            sr_tile_opts small = {.tile = 16, .threads = 2};
            float *tiled = stage_output(g, img, w, h, c, &small);
            const int same_tiled = tiled && out[1] && !memcmp(tiled, out[1], n * sizeof(float));
            sr_tile_opts ens1 = {.tile = h, .threads = 1, .ensemble = 1};
            sr_tile_opts ens2 = {.tile = h, .threads = 2, .ensemble = 1};
            const int ens = !slow_bf16_reference();
            float *e1 = ens ? stage_output(g, img, w, h, c, &ens1) : NULL;
            float *e2 = ens ? stage_output(g, img, w, h, c, &ens2) : NULL;
            const int same_ens = !ens || (e1 && e2 && !memcmp(e1, e2, n * sizeof(float)));
            fprintf(stderr, "  %s x%d: vs whole %.3g, 1 == 2 threads %d, 1 == 3 threads %d, "
                            "banded == tile-parallel %d, ensemble 1 == 2 threads %d\n",
                    sr_arch_name((sr_arch)arch), scale, d, same12, same13, same_tiled, same_ens);
            CHECK(d <= tol(arch));
            CHECK(same12 && same13 && same_ens);
            if (d == 0) /* kernels whose bits do not depend on the tile */
                CHECK(same_tiled);
            for (int t = 0; t < 3; t++)
                free(out[t]);
            free(tiled);
            free(e1);
            free(e2);
            free(ref);
            free(img);
            sr_generator_free(g);
        }
    }
}

static void test_errors(void)
{
    sr_generator *g = make_gen(SR_ARCH_MSRRESNET, 2, 3, 1, 4);
    float img[4 * 4] = {0};
    int bad = 0;
    sr_error err = {0};
    sr_tile_opts o = {0};
    /* channel mismatch: refused, source freed (ASan would see a leak) */
    CHECK(sr_generator_stage_new(memsrc_new(img, 4, 4, 1, &bad), g, &o, &err) == NULL);
    CHECK(err.code == SR_ERR_ARG && strstr(err.msg, "channels"));
    sr_generator_free(g);
}

int main(void)
{
    RUN(test_tiled_equals_whole);
    RUN(test_larger);
    RUN(test_prepared_exact);
    RUN(test_halo_covers_receptive_field);
    RUN(test_ensemble_equals_eight_whole_runs);
    RUN(test_ensemble_larger);
    RUN(test_arenas_reused_across_files);
    RUN(test_tail_strips);
    RUN(test_threads_identical);
    RUN(test_errors);
    return testlib_summary();
}
