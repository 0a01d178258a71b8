/* test_degrade.c: the degradation pipelines of srgan-train --degrade, each
 * operation against a reference:
 *  - blur kernels against numpy/scipy values from BasicSR's formulas
 *    (tests/fixtures/train/degrade_kernels.txt, tools/make_degrade_fixtures.py),
 *    sums, centring and symmetry; the filter against a direct sum;
 *  - Gaussian noise and the Poisson generator: mean and variance;
 *  - the JPEG round trip: byte-equal to libjpeg's own encode/decode;
 *  - resizes: sr_imresize_aa against sr_imresize, area = block mean;
 *  - pipelines: deterministic per stream, 8-bit quantised (real), the
 *    noise variance of a flat field (microscopy), quantisation;
 *  - parameter files: overrides and one-line errors naming file and line;
 *  - the dataset: crops unchanged, LR degraded, same batch twice and through
 *    the loader thread; validation with --val-lr and --val-degrade. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <jpeglib.h>
#include "srgan/degrade.h"
#include "srgan/image.h"
#include "testlib.h"

static void filter_case(int sep, int C);

static void test_kernels_against_reference(void)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/fixtures/train/degrade_kernels.txt", TEST_SRCDIR());
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    if (!f) return;
    char head[256];
    CHECK(fgets(head, sizeof head, f) != NULL);
    int t, k, cases = 0;
    double sx, sy, th, beta;
    while (fscanf(f, "%d %d %lf %lf %lf %lf", &t, &k, &sx, &sy, &th, &beta) == 6) {
        double want[441], got[441], sum = 0, mx = 0, my = 0, maxerr = 0;
        for (int i = 0; i < k * k; i++) CHECK(fscanf(f, "%lf", &want[i]) == 1);
        sr_kernel_make((sr_kernel_type)t, k, sx, sy, th, beta, got);
        for (int i = 0; i < k * k; i++) {
            double e = fabs(got[i] - want[i]);
            maxerr = e > maxerr ? e : maxerr;
            sum += got[i];
            mx += got[i] * (i % k - k / 2);
            my += got[i] * (i / k - k / 2);
        }
        CHECK_MSG(maxerr < 1e-12, "kernel type %d size %d: max error %g", t, k, maxerr);
        CHECK_NEAR(sum, 1.0, 1e-12);
        CHECK_NEAR(mx, 0.0, 1e-12); /* point symmetric: no shift */
        CHECK_NEAR(my, 0.0, 1e-12);
        cases++;
    }
    fclose(f);
    CHECK(cases == 10);
}

/* general kernels and rank-one ones (the two-pass path) */
static void test_filter_direct_sum(void)
{
    for (int sep = 0; sep < 2; sep++)
        for (int C = 1; C <= 3; C += 2)
            filter_case(sep, C);
}

static void filter_case(int sep, int C)
{
    enum { W = 13, H = 9, K = 5 };
    float in[W * H * 3], out[W * H * 3];
    double kern[K * K];
    sr_rng r;
    sr_rng_seed(&r, 5, 0);
    for (int i = 0; i < W * H * C; i++) in[i] = (float)sr_rng_uniform(&r);
    for (int i = 0; i < K * K; i++) kern[i] = sr_rng_uniform(&r) - 0.3;
    if (sep) sr_kernel_make(SR_KERNEL_ANISO, K, 1.3, 0.6, 0, 1, kern); /* axis-aligned: rank one */
    sr_error err = {0};
    CHECK(sr_degrade_filter(in, W, H, C, kern, K, out, &err) == 0);
    double maxerr = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            for (int c = 0; c < C; c++) {
                double acc = 0;
                for (int j = 0; j < K; j++)
                    for (int i = 0; i < K; i++) {
                        int yy = y + j - K / 2, xx = x + i - K / 2;
                        /* reflect without repeating the edge: -1 -> 1 */
                        yy = yy < 0 ? -yy : yy >= H ? 2 * (H - 1) - yy : yy;
                        xx = xx < 0 ? -xx : xx >= W ? 2 * (W - 1) - xx : xx;
                        acc += kern[j * K + i] * in[(yy * W + xx) * C + c];
                    }
                double e = fabs(acc - out[(y * W + x) * C + c]);
                maxerr = e > maxerr ? e : maxerr;
            }
    CHECK_MSG(maxerr < 1e-5, "separable %d, %d channels: %g", sep, C, maxerr);
    CHECK(sr_degrade_filter(in, W, H, C, kern, 4, out, &err) == -1); /* even size refused */
}

static void test_noise_moments(void)
{
    enum { N = 200000 };
    float *img = malloc(N * 3 * sizeof(float));
    sr_rng r;
    sr_rng_seed(&r, 11, 3);
    for (int gray = 0; gray < 2; gray++) {
        for (int i = 0; i < N * 3; i++) img[i] = 0.5f;
        sr_degrade_gaussian_noise(img, N, 3, 0.1, gray, &r);
        double m = 0, v = 0, same = 0;
        for (int i = 0; i < N * 3; i++) m += img[i];
        m /= N * 3;
        for (int i = 0; i < N * 3; i++) v += (img[i] - m) * (img[i] - m);
        v /= N * 3 - 1;
        for (int i = 0; i < N; i++) same += img[3 * i] == img[3 * i + 1] && img[3 * i] == img[3 * i + 2];
        CHECK_NEAR(m, 0.5, 0.001);
        CHECK_NEAR(v, 0.01, 0.0002);
        CHECK(gray ? same == N : same < N / 100);
    }
    free(img);
    const double lams[] = {0.5, 3, 9.9, 10, 47, 800};
    for (size_t j = 0; j < sizeof lams / sizeof *lams; j++) {
        double lam = lams[j], m = 0, v = 0;
        long *k = malloc(N * sizeof *k);
        for (int i = 0; i < N; i++) k[i] = sr_rng_poisson(&r, lam), m += k[i];
        m /= N;
        for (int i = 0; i < N; i++) v += (k[i] - m) * (k[i] - m);
        v /= N - 1;
        /* 5 standard errors of the mean and of the variance */
        CHECK_MSG(fabs(m - lam) < 5 * sqrt(lam / N), "lambda %g: mean %g", lam, m);
        CHECK_MSG(fabs(v - lam) < 5 * sqrt((2 * lam * lam + lam) / N), "lambda %g: var %g", lam, v);
        free(k);
    }
    CHECK(sr_rng_poisson(&r, 0) == 0);
    /* Real-ESRGAN's Poisson noise: an image of the two values 64/255 and
     * 192/255 has vals = 2, so v = 192/255 gets Poisson(2 v) / 2 - v: mean
     * 0, variance v / 2 (times scale^2); gray noise is shared by channels */
    float *im = malloc(N * 3 * sizeof(float));
    for (int gray = 0; gray < 2; gray++) {
        for (int i = 0; i < N; i++)
            for (int c = 0; c < 3; c++) im[3 * i + c] = (i % 2 ? 192 : 64) / 255.0f;
        sr_degrade_poisson_noise(im, N, 3, 0.5, gray, &r);
        double m = 0, v = 0, vv = 192 / 255.0;
        int same = 0;
        for (int i = 1; i < N; i += 2) m += im[3 * i] - vv;
        m /= N / 2;
        for (int i = 1; i < N; i += 2) v += (im[3 * i] - vv - m) * (im[3 * i] - vv - m);
        v /= N / 2 - 1;
        for (int i = 0; i < N; i++) same += im[3 * i] == im[3 * i + 1];
        double want = 0.25 * vv / 2;
        CHECK_MSG(fabs(m) < 5 * sqrt(want / (N / 2)), "gray %d: mean %g", gray, m);
        CHECK_MSG(fabs(v - want) < 0.03 * want, "gray %d: var %g, want %g", gray, v, want);
        CHECK(gray ? same == N : same < N / 2);
    }
    free(im);
}

/* libjpeg's own round trip, the way any program would write it */
static void libjpeg_roundtrip(uint8_t *img, int w, int h, int c, int q)
{
    struct jpeg_compress_struct ci;
    struct jpeg_error_mgr je;
    unsigned char *buf = NULL;
    unsigned long len = 0;
    ci.err = jpeg_std_error(&je);
    jpeg_create_compress(&ci);
    jpeg_mem_dest(&ci, &buf, &len);
    ci.image_width = w, ci.image_height = h, ci.input_components = c;
    ci.in_color_space = c == 3 ? JCS_RGB : JCS_GRAYSCALE;
    jpeg_set_defaults(&ci);
    jpeg_set_quality(&ci, q, TRUE);
    jpeg_start_compress(&ci, TRUE);
    for (int y = 0; y < h; y++) {
        JSAMPROW row = img + (size_t)y * w * c;
        jpeg_write_scanlines(&ci, &row, 1);
    }
    jpeg_finish_compress(&ci);
    jpeg_destroy_compress(&ci);
    struct jpeg_decompress_struct di;
    di.err = jpeg_std_error(&je);
    jpeg_create_decompress(&di);
    jpeg_mem_src(&di, buf, len);
    jpeg_read_header(&di, TRUE);
    jpeg_start_decompress(&di);
    for (int y = 0; y < h; y++) {
        JSAMPROW row = img + (size_t)y * w * c;
        jpeg_read_scanlines(&di, &row, 1);
    }
    jpeg_finish_decompress(&di);
    jpeg_destroy_decompress(&di);
    free(buf);
}

static void test_jpeg_equals_libjpeg(void)
{
    enum { W = 37, H = 29 };
    for (int c = 1; c <= 3; c += 2)
        for (int q = 30; q <= 95; q += 65) {
            uint8_t a[W * H * 3], b[W * H * 3];
            for (int i = 0; i < W * H * c; i++)
                a[i] = (uint8_t)((i * 7 + (i / (W * c)) * 13 + (i % 5) * 40) & 255);
            memcpy(b, a, sizeof a);
            sr_error err = {0};
            CHECK(sr_jpeg_roundtrip(a, W, H, c, q, &err) == 0);
            libjpeg_roundtrip(b, W, H, c, q);
            CHECK_MSG(!memcmp(a, b, (size_t)W * H * c), "c %d q %d", c, q);
            int changed = 0;
            for (int i = 0; i < W * H * c; i++) changed += a[i] != (uint8_t)((i * 7 + (i / (W * c)) * 13 + (i % 5) * 40) & 255);
            CHECK(changed > 0); /* lossy: it did something */
        }
    sr_error err = {0};
    uint8_t x[4] = {0};
    CHECK(sr_jpeg_roundtrip(x, 2, 2, 2, 50, &err) == -1);
}

static void test_resize_reuses_resampler(void)
{
    enum { W = 24, H = 16, C = 3 };
    float in[W * H * C], a[W * H * C * 4], b[W * H * C * 4];
    sr_rng r;
    sr_rng_seed(&r, 2, 2);
    for (int i = 0; i < W * H * C; i++) in[i] = (float)sr_rng_uniform(&r);
    sr_error err = {0};
    const sr_filter fs[] = {SR_FILTER_BILINEAR, SR_FILTER_BICUBIC};
    for (int j = 0; j < 2; j++) {
        CHECK(sr_imresize_aa(in, W, H, C, a, 11, 7, fs[j], 1, &err) == 0);
        CHECK(sr_imresize(in, W, H, C, b, 11, 7, fs[j], &err) == 0);
        CHECK(!memcmp(a, b, 11 * 7 * C * sizeof(float)));
    }
    /* area at 1/2: the mean of each 2x2 block */
    CHECK(sr_imresize_aa(in, W, H, C, a, W / 2, H / 2, SR_FILTER_NEAREST, 1, &err) == 0);
    double maxerr = 0;
    for (int y = 0; y < H / 2; y++)
        for (int x = 0; x < W / 2; x++)
            for (int c = 0; c < C; c++) {
                double m = (in[((2 * y) * W + 2 * x) * C + c] + in[((2 * y) * W + 2 * x + 1) * C + c] +
                            in[((2 * y + 1) * W + 2 * x) * C + c] +
                            in[((2 * y + 1) * W + 2 * x + 1) * C + c]) / 4;
                double e = fabs(m - a[(y * (W / 2) + x) * C + c]);
                maxerr = e > maxerr ? e : maxerr;
            }
    CHECK(maxerr < 1e-6);
    /* bilinear without antialiasing at 1/2 (F.interpolate): the mean of 2x2 too,
     * and at 1/4 only the 2 middle pixels of each 4 count: not the antialiased one */
    CHECK(sr_imresize_aa(in, W, H, C, a, W / 4, H / 4, SR_FILTER_BILINEAR, 0, &err) == 0);
    CHECK(sr_imresize(in, W, H, C, b, W / 4, H / 4, SR_FILTER_BILINEAR, &err) == 0);
    double m = (in[((1) * W + 1) * C] + in[((1) * W + 2) * C] + in[((2) * W + 1) * C] +
                in[((2) * W + 2) * C]) / 4;
    CHECK_NEAR(a[0], m, 1e-6);
    CHECK(fabs(b[0] - m) > 1e-4);
}

static float *test_image(int w, int h, int c, uint64_t seed)
{
    float *p = malloc((size_t)w * h * c * sizeof(float));
    sr_rng r;
    sr_rng_seed(&r, seed, 0);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int k = 0; k < c; k++)
                p[((size_t)y * w + x) * c + k] =
                    (float)(0.5 + 0.3 * sin(x * 0.3 + k) * cos(y * 0.2) + 0.1 * sr_rng_uniform(&r));
    return p;
}

static void test_real_pipeline(void)
{
    enum { W = 96, H = 80, C = 3, S = 4 };
    float *hr = test_image(W, H, C, 1);
    float a[(W / S) * (H / S) * C], b[(W / S) * (H / S) * C], bic[(W / S) * (H / S) * C];
    sr_degrade_params p;
    sr_error err = {0};
    CHECK(sr_degrade_parse("real", &p, &err) == 0);
    CHECK(p.kind == SR_DEGRADE_REAL && p.jpeg_range[0] == 30 && p.noise_range[1] == 30);
    sr_degrade_params bp;
    CHECK(sr_degrade_parse("bicubic", &bp, &err) == 0);
    sr_rng r;
    sr_rng_seed(&r, 0, 0);
    CHECK(sr_degrade_apply(&bp, &r, hr, W, H, C, bic, W / S, H / S, 0, &err) == 0);
    int differ = 0;
    for (int s = 0; s < 20; s++) {
        sr_rng r1, r2;
        sr_rng_seed(&r1, 7, (uint64_t)s);
        sr_rng_seed(&r2, 7, (uint64_t)s);
        CHECK_MSG(sr_degrade_apply(&p, &r1, hr, W, H, C, a, W / S, H / S, 1 / 255.0, &err) == 0,
                  "%s", err.msg);
        CHECK(sr_degrade_apply(&p, &r2, hr, W, H, C, b, W / S, H / S, 1 / 255.0, &err) == 0);
        CHECK(!memcmp(a, b, sizeof a)); /* same stream, same LR */
        double d = 0;
        int quantised = 1;
        for (size_t i = 0; i < sizeof a / sizeof *a; i++) {
            d += fabs(a[i] - bic[i]);
            float q = a[i] * 255;
            quantised &= a[i] >= 0 && a[i] <= 1 && fabsf(q - roundf(q)) < 1e-3f;
        }
        CHECK(quantised);
        differ += d / (sizeof a / sizeof *a) > 0.004;
    }
    CHECK(differ >= 18); /* degraded, not a bicubic copy */
    /* gray models get the same pipeline on one channel */
    float g[(W / S) * (H / S)];
    float *hr1 = test_image(W, H, 1, 2);
    sr_rng_seed(&r, 7, 99);
    CHECK(sr_degrade_apply(&p, &r, hr1, W, H, 1, g, W / S, H / S, 1 / 255.0, &err) == 0);
    free(hr1);
    free(hr);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void test_microscopy_pipeline(void)
{
    enum { W = 128, H = 128, S = 2 };
    char path[4096];
    mkdir(TEST_TMPDIR(), 0777);
    snprintf(path, sizeof path, "%s/scope.ini", TEST_TMPDIR());
    /* fixed photon level, no read noise: the LR of a flat field is
     * Poisson(0.5 * 100) / 100: mean 0.5, variance 0.005 */
    write_file(path, "# our widefield\n[degrade]\npipeline = microscopy\npsf_sigma = 0.8, 1.2\n"
                     "photons = 100\nread_noise = 0\noffset = 0.01, 0.03\n");
    sr_degrade_params p;
    sr_error err = {0};
    CHECK_MSG(sr_degrade_parse(path, &p, &err) == 0, "%s", err.msg);
    CHECK(p.kind == SR_DEGRADE_MICROSCOPY && p.photons[0] == 100 && p.photons[1] == 100);
    CHECK(p.psf_sigma[0] == 0.8 && p.offset[1] == 0.03);
    float *flat = malloc(W * H * sizeof(float)), *lr = malloc(W * H / 4 * sizeof(float));
    for (int i = 0; i < W * H; i++) flat[i] = 0.5f;
    sr_rng r;
    sr_rng_seed(&r, 3, 1);
    CHECK(sr_degrade_apply(&p, &r, flat, W, H, 1, lr, W / S, H / S, 0, &err) == 0);
    double m = 0, v = 0;
    int n = W * H / 4;
    for (int i = 0; i < n; i++) m += lr[i];
    m /= n;
    for (int i = 0; i < n; i++) v += (lr[i] - m) * (lr[i] - m);
    v /= n - 1;
    CHECK_NEAR(m, 0.5, 5 * sqrt(0.005 / n));
    CHECK_NEAR(v, 0.005, 5 * 0.005 * sqrt(2.0 / n));
    /* read noise adds its variance */
    write_file(path, "pipeline = microscopy\nphotons = 100\nread_noise = 0.05\noffset = 0.5\n");
    CHECK(sr_degrade_parse(path, &p, &err) == 0);
    CHECK(sr_degrade_apply(&p, &r, flat, W, H, 1, lr, W / S, H / S, 0, &err) == 0);
    m = v = 0;
    for (int i = 0; i < n; i++) m += lr[i];
    m /= n;
    for (int i = 0; i < n; i++) v += (lr[i] - m) * (lr[i] - m);
    v /= n - 1;
    CHECK_NEAR(m, 0.5, 5 * sqrt(0.0075 / n));
    CHECK_NEAR(v, 0.0075, 5 * 0.0075 * sqrt(2.0 / n));
    /* quantised to the source's levels (offset removed again) */
    CHECK(sr_degrade_apply(&p, &r, flat, W, H, 1, lr, W / S, H / S, 0.1, &err) == 0);
    int on_levels = 1;
    for (int i = 0; i < n; i++) on_levels &= fabs(lr[i] * 10 - round(lr[i] * 10)) < 1e-4;
    CHECK(on_levels);
    free(flat);
    free(lr);
}

static void expect_error(const char *text, const char *want)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/bad.ini", TEST_TMPDIR());
    write_file(path, text);
    sr_degrade_params p;
    sr_error err = {0};
    CHECK(sr_degrade_parse(path, &p, &err) == -1);
    CHECK_MSG(strstr(err.msg, path) && strstr(err.msg, want) && !strchr(err.msg, '\n'),
              "'%s' lacks '%s'", err.msg, want);
}

static void test_param_file_errors(void)
{
    mkdir(TEST_TMPDIR(), 0777);
    expect_error("pipeline = real\nblur_sigma = 3, 0.2\n", ":2: blur_sigma: a range");
    expect_error("pipeline = real\nblur_sigmaa = 1, 2\n", ":2: unknown key 'blur_sigmaa'");
    expect_error("blur_sigma = 1, 2\n", ":1: the first setting must be");
    expect_error("pipeline = real\npsf_sigma = 1, 2\n", "not a setting of pipeline real");
    expect_error("pipeline = real\nkernel_prob = 1, 2\n", "takes 6 comma-separated numbers");
    expect_error("pipeline = real\njpeg_range = 0, 50\n", "JPEG quality");
    expect_error("pipeline = real\nkernel_size = 8, 21\n", "odd integers");
    expect_error("pipeline = real\nsinc_prob = 1.5\n", "within 0..1");
    expect_error("pipeline = microscopy\nphotons = abc\n", "takes 2 comma-separated numbers");
    expect_error("pipeline = fancy\n", "pipeline must be");
    expect_error("pipeline = real\nnot a setting\n", ":2: expected 'key = value'");
    expect_error("# nothing\n", "no 'pipeline = real|microscopy' line");
    sr_degrade_params p;
    sr_error err = {0};
    CHECK(sr_degrade_parse("/nonexistent/deg.ini", &p, &err) == -1);
    CHECK(strstr(err.msg, "/nonexistent/deg.ini") != NULL);
    /* a good file overrides only what it names */
    char path[4096];
    snprintf(path, sizeof path, "%s/good.ini", TEST_TMPDIR());
    write_file(path, "pipeline = real   # start from Real-ESRGAN's defaults\n"
                     "jpeg_range = 60, 90\nkernel_prob = 1, 0, 0, 0, 0, 0\n");
    CHECK_MSG(sr_degrade_parse(path, &p, &err) == 0, "%s", err.msg);
    CHECK(p.jpeg_range[0] == 60 && p.jpeg_range[1] == 90 && p.kernel_prob[1] == 0);
    CHECK(p.jpeg_range2[0] == 30 && p.blur_sigma[1] == 3);
}

/* ---- dataset and validation -------------------------------------------- */

static const char *fixture_dir(char *buf, size_t n, const char *sub)
{
    snprintf(buf, n, "%s/tests/fixtures/train/val/%s", TEST_SRCDIR(), sub);
    return buf;
}

static void test_dataset_degrade(void)
{
    char dir[4096];
    fixture_dir(dir, sizeof dir, "hr");
    sr_error err = {0};
    sr_dataset *ds = sr_dataset_open(dir, NULL, 4, 3, 64 << 20, &err);
    CHECK_MSG(ds != NULL, "%s", err.msg);
    if (!ds) return;
    sr_dataset_filter(ds, 32, NULL, 0);
    enum { B = 3, P = 32, LP = 8 };
    float hr0[B * 3 * P * P], lr0[B * 3 * LP * LP], hr1[B * 3 * P * P], lr1[B * 3 * LP * LP];
    float hr2[B * 3 * P * P], lr2[B * 3 * LP * LP];
    CHECK(sr_dataset_batch(ds, 9, 2, B, P, 1, hr0, lr0, &err) == 0);
    sr_degrade_params p;
    sr_degrade_parse("real", &p, &err);
    sr_dataset_set_degrade(ds, &p);
    CHECK_MSG(sr_dataset_batch(ds, 9, 2, B, P, 1, hr1, lr1, &err) == 0, "%s", err.msg);
    CHECK_MSG(sr_dataset_batch(ds, 9, 2, B, P, 1, hr2, lr2, &err) == 0, "%s", err.msg);
    CHECK(!memcmp(hr0, hr1, sizeof hr0)); /* same crops and flips as bicubic */
    CHECK(!memcmp(hr1, hr2, sizeof hr1) && !memcmp(lr1, lr2, sizeof lr1));
    CHECK(memcmp(lr0, lr1, sizeof lr0) != 0);
    /* the loader thread makes the same batches */
    sr_loader *l = sr_loader_new(ds, 9, 2, B, P, 1, 2, &err);
    CHECK(l != NULL);
    if (l) {
        CHECK(sr_loader_next(l, hr2, lr2, &err) == 0);
        CHECK(!memcmp(hr1, hr2, sizeof hr1) && !memcmp(lr1, lr2, sizeof lr1));
        sr_loader_free(l);
    }
    /* back to bicubic: the original LR */
    sr_degrade_parse("bicubic", &p, &err);
    sr_dataset_set_degrade(ds, &p);
    CHECK(sr_dataset_batch(ds, 9, 2, B, P, 1, hr2, lr2, &err) == 0);
    CHECK(!memcmp(lr0, lr2, sizeof lr0));
    sr_dataset_free(ds);
}

static double val_psnr(sr_generator *g, sr_valset *v)
{
    double p = NAN, s;
    sr_error err = {0};
    CHECK_MSG(sr_validate(g, v, NULL, 0, 0, &p, &s, &err) == 0, "%s", err.msg);
    return p;
}

static void test_validation_sets(void)
{
    char hr[4096], gen[4096], lrdir[4096], bad[4096];
    fixture_dir(hr, sizeof hr, "hr");
    snprintf(gen, sizeof gen, "%s/tests/fixtures/train/parity_gen.safetensors", TEST_SRCDIR());
    snprintf(lrdir, sizeof lrdir, "%s/val_lr", TEST_TMPDIR());
    snprintf(bad, sizeof bad, "%s/val_lr_bad", TEST_TMPDIR());
    mkdir(TEST_TMPDIR(), 0777);
    mkdir(lrdir, 0777);
    mkdir(bad, 0777);
    sr_error err = {0};
    sr_generator *g = sr_generator_load(gen, &err);
    CHECK_MSG(g != NULL, "%s", err.msg);
    if (!g) return;
    sr_valset *vb = sr_valset_open(hr, 2, 3, &err);
    CHECK(vb != NULL);
    /* paired LR files: the bicubic LR written as 8-bit PNG, and a flat gray
     * one of the right size; the first scores like the made set, the second
     * far below */
    const char *names[] = {"img0", "img1", "img2"};
    for (int k = 0; k < 3; k++) {
        char hp[8192], lp[8192], bp[8192];
        snprintf(hp, sizeof hp, "%s/%s.png", hr, names[k]);
        int w, h;
        float *im = sr_load_image_planar(hp, 3, &w, &h, &err);
        CHECK(im != NULL);
        if (!im) return;
        int mw = w - w % 2, mh = h - h % 2, lw = mw / 2, lh = mh / 2;
        float *il = malloc((size_t)mw * mh * 3 * sizeof(float));
        float *sl = malloc((size_t)lw * lh * 3 * sizeof(float));
        float *pl = malloc((size_t)lw * lh * 3 * sizeof(float));
        for (int y = 0; y < mh; y++)
            for (int x = 0; x < mw; x++)
                for (int c = 0; c < 3; c++)
                    il[((size_t)y * mw + x) * 3 + c] = im[((size_t)c * h + y) * w + x];
        sr_imresize(il, mw, mh, 3, sl, lw, lh, SR_FILTER_BICUBIC, &err);
        for (size_t i = 0; i < (size_t)lw * lh; i++)
            for (int c = 0; c < 3; c++) pl[(size_t)c * lw * lh + i] = sl[i * 3 + c];
        snprintf(lp, sizeof lp, "%s/%s.png", lrdir, names[k]);
        CHECK(sr_save_png_planar(lp, pl, 3, lw, lh, &err) == 0);
        for (size_t i = 0; i < (size_t)lw * lh * 3; i++) pl[i] = 0.5f;
        snprintf(bp, sizeof bp, "%s/%s.png", bad, names[k]);
        CHECK(sr_save_png_planar(bp, pl, 3, lw, lh, &err) == 0);
        free(il);
        free(sl);
        free(pl);
        free(im);
    }
    sr_valset *vl = sr_valset_open_ex(hr, lrdir, NULL, 2, 3, &err);
    sr_valset *vf = sr_valset_open_ex(hr, bad, NULL, 2, 3, &err);
    CHECK_MSG(vl && vf, "%s", err.msg);
    if (vb && vl && vf) {
        double pb = val_psnr(g, vb), pl = val_psnr(g, vl), pf = val_psnr(g, vf);
        CHECK_MSG(fabs(pb - pl) < 0.1, "made %.3f paired %.3f", pb, pl);
        CHECK_MSG(pf < pb - 3, "flat LR %.3f vs %.3f", pf, pb);
    }
    /* a paired LR of the wrong size is refused, naming both files */
    sr_valset *w = sr_valset_open_ex(hr, hr, NULL, 2, 3, &err);
    CHECK(w == NULL && strstr(err.msg, "not 1/2 of"));
    sr_valset_free(w);
    /* degraded once, with a fixed seed: the same numbers each time, and not
     * those of bicubic */
    sr_degrade_params p;
    sr_degrade_parse("real", &p, &err);
    sr_valset *d1 = sr_valset_open_ex(hr, NULL, &p, 2, 3, &err);
    sr_valset *d2 = sr_valset_open_ex(hr, NULL, &p, 2, 3, &err);
    CHECK_MSG(d1 && d2, "%s", err.msg);
    if (d1 && d2 && vb) {
        double a = val_psnr(g, d1), b = val_psnr(g, d2);
        CHECK(a == b);
        CHECK(fabs(a - val_psnr(g, vb)) > 0.05);
    }
    sr_valset_free(d1);
    sr_valset_free(d2);
    sr_valset_free(vb);
    sr_valset_free(vl);
    sr_valset_free(vf);
    sr_generator_free(g);
}

int main(void)
{
    RUN(test_kernels_against_reference);
    RUN(test_filter_direct_sum);
    RUN(test_noise_moments);
    RUN(test_jpeg_equals_libjpeg);
    RUN(test_resize_reuses_resampler);
    RUN(test_real_pipeline);
    RUN(test_microscopy_pipeline);
    RUN(test_param_file_errors);
    RUN(test_dataset_degrade);
    RUN(test_validation_sets);
    return testlib_summary();
}
