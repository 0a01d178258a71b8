/* test_resample_stage: the streaming resampler stage against a plain
 * whole-image reference written here from the definitions (pixel centres
 * aligned, edges clamped, kernel stretched by 1/scale when shrinking,
 * weights normalised), pulled in bands of several sizes. */
#include <math.h>
#include <stdint.h>

#include "srgan/resample.h"
#include "mem_stage.h"
#include "testlib.h"

/* ---- reference -------------------------------------------------------- */

static double sinc(double x)
{
    return x == 0.0 ? 1.0 : sin(M_PI * x) / (M_PI * x);
}

static double ref_kernel(sr_filter f, double x)
{
    double ax = fabs(x), a = -0.5;
    switch (f) {
    case SR_FILTER_BILINEAR:
        return ax < 1.0 ? 1.0 - ax : 0.0;
    case SR_FILTER_BICUBIC: /* Keys' general form */
        if (ax <= 1.0)
            return (a + 2.0) * ax * ax * ax - (a + 3.0) * ax * ax + 1.0;
        if (ax < 2.0)
            return a * ax * ax * ax - 5.0 * a * ax * ax + 8.0 * a * ax - 4.0 * a;
        return 0.0;
    case SR_FILTER_LANCZOS3:
        return ax < 3.0 ? sinc(x) * sinc(x / 3.0) : 0.0;
    default:
        return 0.0;
    }
}

static double ref_support(sr_filter f)
{
    return f == SR_FILTER_BILINEAR ? 1.0 : f == SR_FILTER_BICUBIC ? 2.0 : 3.0;
}

static int clampi(long i, int n)
{
    return i < 0 ? 0 : i >= n ? n - 1 : (int)i;
}

/* Taps of output coordinate o (clamped input indices, normalised weights). */
static int ref_taps(sr_filter f, int in, int out, int o, int *idx, double *w)
{
    if (f == SR_FILTER_NEAREST) {
        /* floor((o + 0.5) / scale), exactly */
        idx[0] = clampi((long)(((2L * o + 1) * in) / (2L * out)), in);
        w[0] = 1.0;
        return 1;
    }
    double s = (double)out / in;
    double u = (o + 0.5) / s - 0.5;
    double st = s < 1.0 ? s : 1.0; /* antialias: stretch by 1/scale */
    double r = ref_support(f) / st;
    int n = 0;
    double sum = 0.0;
    for (long j = (long)floor(u - r) - 1; j <= (long)ceil(u + r) + 1; j++) {
        double v = ref_kernel(f, (u - (double)j) * st);
        if (v == 0.0)
            continue;
        idx[n] = clampi(j, in);
        w[n] = v;
        sum += v;
        n++;
    }
    for (int k = 0; k < n; k++)
        w[k] /= sum;
    return n;
}

static void ref_resize(const float *in, int w, int h, int c, float *out, int ow, int oh,
                       sr_filter f, int premul)
{
    int ix[512], iy[512];
    double wx[512], wy[512];
    int pa = premul && (c == 2 || c == 4);
    for (int y = 0; y < oh; y++) {
        int ny = ref_taps(f, h, oh, y, iy, wy);
        for (int x = 0; x < ow; x++) {
            int nx = ref_taps(f, w, ow, x, ix, wx);
            double acc[8] = {0};
            for (int a = 0; a < ny; a++)
                for (int b = 0; b < nx; b++) {
                    const float *p = in + ((size_t)iy[a] * w + ix[b]) * c;
                    double alpha = pa ? p[c - 1] : 1.0;
                    for (int ch = 0; ch < c; ch++) {
                        double v = (pa && ch < c - 1) ? p[ch] * alpha : p[ch];
                        acc[ch] += wy[a] * wx[b] * v;
                    }
                }
            float *o = out + ((size_t)y * ow + x) * c;
            for (int ch = 0; ch < c; ch++) {
                double v = acc[ch];
                if (pa && ch < c - 1)
                    v = acc[c - 1] > 0.0 ? v / acc[c - 1] : 0.0;
                o[ch] = (float)v;
            }
        }
    }
}

/* ---- helpers ---------------------------------------------------------- */

static float *random_image(int w, int h, int c, uint32_t seed)
{
    float *p = malloc((size_t)w * h * c * sizeof *p);
    for (size_t i = 0; i < (size_t)w * h * c; i++) {
        seed = seed * 1664525u + 1013904223u;
        p[i] = (float)((seed >> 8) & 0xffff) / 65535.0f;
    }
    return p;
}

/* Run the stage pulling `band` rows at a time (0 = all at once). Returns
 * the output (NULL on error); *max_pull: the largest pull seen upstream. */
static float *run_stage(const float *in, int w, int h, int c, int ow, int oh, sr_filter f,
                        int premul, int band, int *max_pull)
{
    mem_stage *m = mem_stage_new(in, w, h, c);
    sr_error err = {0};
    sr_stage *s = sr_resample_stage_new(&m->base, ow, oh, f, premul, &err);
    if (!s) {
        fprintf(stderr, "stage: %s\n", err.msg);
        return NULL;
    }
    float *out = calloc((size_t)ow * oh * c, sizeof *out);
    if (band <= 0)
        band = oh;
    for (int y = 0; y < oh; y += band) {
        int n = oh - y < band ? oh - y : band;
        if (sr_stage_pull(s, y, n, out + (size_t)y * ow * c, &err)) {
            fprintf(stderr, "pull: %s\n", err.msg);
            free(out);
            out = NULL;
            break;
        }
    }
    if (max_pull)
        *max_pull = m->order_errors ? 1 << 30 : m->max_pull;
    sr_stage_free(s);
    return out;
}

static double max_abs_diff(const float *a, const float *b, size_t n)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (!(d <= m))
            m = d; /* NaN propagates */
    }
    return m;
}

typedef struct geo {
    int w, h, ow, oh, c;
} geo;

static const geo GEOS[] = {
    {7, 5, 14, 10, 3},   /* x2 */
    {5, 4, 40, 32, 1},   /* x8 */
    {8, 6, 20, 15, 4},   /* x2.5 */
    {9, 7, 27, 21, 2},   /* x3, odd */
    {13, 11, 5, 4, 3},   /* fractional downscale */
    {16, 24, 2, 3, 1},   /* /8 */
    {9, 7, 9, 7, 3},     /* identity */
    {1, 6, 3, 15, 3},    /* one pixel wide */
    {6, 1, 15, 3, 1},    /* one pixel high */
    {1, 1, 4, 4, 4},     /* single pixel */
    {11, 3, 27, 19, 5},  /* different x and y scales, 5 channels */
    {20, 20, 7, 33, 3},  /* shrink x, grow y */
};

static const sr_filter FILTERS[] = {SR_FILTER_NEAREST, SR_FILTER_BILINEAR, SR_FILTER_BICUBIC,
                                    SR_FILTER_LANCZOS3};

/* ---- tests ------------------------------------------------------------ */

static void test_matches_reference_in_any_band_size(void)
{
    static const int bands[] = {0, 1, 3, 7};
    for (size_t fi = 0; fi < sizeof FILTERS / sizeof *FILTERS; fi++) {
        for (size_t gi = 0; gi < sizeof GEOS / sizeof *GEOS; gi++) {
            for (int premul = 0; premul < 2; premul++) {
                geo g = GEOS[gi];
                sr_filter f = FILTERS[fi];
                float *in = random_image(g.w, g.h, g.c, (uint32_t)(gi * 31 + fi + 1));
                size_t n = (size_t)g.ow * g.oh * g.c;
                float *ref = malloc(n * sizeof *ref);
                ref_resize(in, g.w, g.h, g.c, ref, g.ow, g.oh, f, premul);
                float *first = NULL;
                for (size_t b = 0; b < sizeof bands / sizeof *bands; b++) {
                    int max_pull = 0;
                    float *out =
                        run_stage(in, g.w, g.h, g.c, g.ow, g.oh, f, premul, bands[b], &max_pull);
                    CHECK(out != NULL);
                    if (!out)
                        continue;
                    /* Premultiplied colour divided by a small alpha magnifies
                     * float rounding; compare relative to 1/min alpha there. */
                    double tol = premul && (g.c == 2 || g.c == 4) ? 2e-3 : 2e-5;
                    double d = max_abs_diff(out, ref, n);
                    CHECK_MSG(d <= tol, "%s %dx%dx%d -> %dx%d premul %d band %d: max diff %g",
                              sr_filter_name(f), g.w, g.h, g.c, g.ow, g.oh, premul, bands[b], d);
                    /* Window bound: never more input rows at once than the
                     * filter's footprint (+2 for rounding of its ends). */
                    double sy = (double)g.oh / g.h;
                    double foot = 2.0 * ref_support(f) / (sy < 1.0 ? sy : 1.0);
                    CHECK_MSG(max_pull <= (int)ceil(foot) + 2, "%s: pulled %d rows at once",
                              sr_filter_name(f), max_pull);
                    if (!first)
                        first = out;
                    else {
                        CHECK_MSG(memcmp(first, out, n * sizeof *out) == 0,
                                  "%s %dx%d band %d differs from whole pull", sr_filter_name(f),
                                  g.ow, g.oh, bands[b]);
                        free(out);
                    }
                }
                free(first);
                free(ref);
                free(in);
            }
        }
    }
}

static void test_constant_stays_constant(void)
{
    static const geo gs[] = {{10, 9, 40, 36, 3}, {10, 9, 25, 22, 3}, {40, 33, 5, 4, 3},
                             {17, 17, 51, 6, 3}};
    for (size_t fi = 0; fi < sizeof FILTERS / sizeof *FILTERS; fi++)
        for (size_t gi = 0; gi < sizeof gs / sizeof *gs; gi++) {
            geo g = gs[gi];
            size_t nin = (size_t)g.w * g.h * g.c;
            float *in = malloc(nin * sizeof *in);
            for (size_t i = 0; i < nin; i++)
                in[i] = 0.3f;
            float *out = run_stage(in, g.w, g.h, g.c, g.ow, g.oh, FILTERS[fi], 0, 5, NULL);
            CHECK(out != NULL);
            if (out) {
                double d = 0.0;
                for (size_t i = 0; i < (size_t)g.ow * g.oh * g.c; i++)
                    d = fmax(d, fabs(out[i] - 0.3));
                CHECK_MSG(d < 1e-6, "%s -> %dx%d: off by %g", sr_filter_name(FILTERS[fi]), g.ow,
                          g.oh, d);
            }
            free(out);
            free(in);
        }
}

static void test_bilinear_analytic(void)
{
    /* [0, 1] x2 with centres aligned: u = -0.25, 0.25, 0.75, 1.25. */
    const float in[2] = {0.f, 1.f};
    float *out = run_stage(in, 2, 1, 1, 4, 1, SR_FILTER_BILINEAR, 0, 0, NULL);
    CHECK(out != NULL);
    if (out) {
        CHECK_NEAR(out[0], 0.0, 1e-7);
        CHECK_NEAR(out[1], 0.25, 1e-7);
        CHECK_NEAR(out[2], 0.75, 1e-7);
        CHECK_NEAR(out[3], 1.0, 1e-7);
    }
    free(out);
    /* nearest x2 duplicates, /2 picks the right-hand pixel of each pair */
    const float row[4] = {1.f, 2.f, 3.f, 4.f};
    out = run_stage(row, 4, 1, 1, 8, 1, SR_FILTER_NEAREST, 0, 0, NULL);
    CHECK(out && out[0] == 1.f && out[1] == 1.f && out[2] == 2.f && out[7] == 4.f);
    free(out);
    out = run_stage(row, 4, 1, 1, 2, 1, SR_FILTER_NEAREST, 0, 0, NULL);
    CHECK(out && out[0] == 2.f && out[1] == 4.f);
    free(out);
}

static void test_premultiplied_alpha_no_bleed(void)
{
    /* transparent red | opaque blue, RGBA */
    const float rgba[8] = {1.f, 0.f, 0.f, 0.f, 0.f, 0.f, 1.f, 1.f};
    for (size_t fi = 1; fi < sizeof FILTERS / sizeof *FILTERS; fi++) {
        float *out = run_stage(rgba, 2, 1, 4, 9, 3, FILTERS[fi], 1, 0, NULL);
        CHECK(out != NULL);
        int seen = 0;
        for (int i = 0; out && i < 9 * 3; i++) {
            const float *p = out + 4 * i;
            if (p[3] > 1e-3f) {
                seen++;
                CHECK_MSG(fabsf(p[0]) < 1e-5f && fabsf(p[2] - 1.f) < 1e-4f,
                          "%s px %d: %g %g %g %g", sr_filter_name(FILTERS[fi]), i, p[0], p[1],
                          p[2], p[3]);
            } else if (p[3] <= 0.f) {
                CHECK(p[0] == 0.f && p[2] == 0.f);
            }
        }
        CHECK(seen > 0);
        free(out);
        /* Without premultiplication red does bleed (so the check above can fail). */
        out = run_stage(rgba, 2, 1, 4, 9, 3, FILTERS[fi], 0, 0, NULL);
        int bled = 0;
        for (int i = 0; out && i < 9 * 3; i++)
            if (out[4 * i + 3] > 0.1f && out[4 * i] > 0.05f)
                bled = 1;
        CHECK(bled);
        free(out);
    }
    /* gray + alpha: white transparent next to opaque black stays black */
    const float ga[4] = {1.f, 0.f, 0.f, 1.f};
    float *out = run_stage(ga, 2, 1, 2, 7, 2, SR_FILTER_BICUBIC, 1, 0, NULL);
    for (int i = 0; out && i < 14; i++)
        if (out[2 * i + 1] > 1e-3f)
            CHECK_NEAR(out[2 * i], 0.0, 1e-5);
    free(out);
    /* premultiply is ignored for RGB (no alpha channel): same as plain */
    float *in = random_image(5, 4, 3, 99);
    float *a = run_stage(in, 5, 4, 3, 12, 9, SR_FILTER_BICUBIC, 1, 0, NULL);
    float *b = run_stage(in, 5, 4, 3, 12, 9, SR_FILTER_BICUBIC, 0, 0, NULL);
    CHECK(a && b && memcmp(a, b, 12 * 9 * 3 * sizeof(float)) == 0);
    free(a);
    free(b);
    free(in);
}

static void test_errors(void)
{
    float px[3] = {0};
    int freed = 0;
    mem_stage *m = mem_stage_new(px, 1, 1, 3);
    m->freed = &freed;
    sr_error err = {0};
    CHECK(sr_resample_stage_new(&m->base, 0, 4, SR_FILTER_BICUBIC, 0, &err) == NULL);
    CHECK(err.code == SR_ERR_ARG && err.msg[0]);
    CHECK(freed == 1); /* the stage owns its source even when it fails */

    sr_error_clear(&err);
    m = mem_stage_new(px, 1, 1, 3);
    CHECK(sr_resample_stage_new(&m->base, 2, 2, (sr_filter)42, 0, &err) == NULL);
    CHECK(err.code == SR_ERR_ARG);
    sr_error_clear(&err);
    CHECK(sr_resample_stage_new(NULL, 2, 2, SR_FILTER_BICUBIC, 0, &err) == NULL);

    /* out-of-order and out-of-range pulls are refused */
    float *in = random_image(4, 4, 1, 5);
    m = mem_stage_new(in, 4, 4, 1);
    sr_stage *s = sr_resample_stage_new(&m->base, 8, 8, SR_FILTER_BICUBIC, 0, &err);
    CHECK(s != NULL);
    float out[8 * 8];
    CHECK(sr_stage_pull(s, 0, 4, out, &err) == 0);
    CHECK(sr_stage_pull(s, 2, 2, out, &err) == -1 && err.code == SR_ERR_ARG);
    sr_error_clear(&err);
    CHECK(sr_stage_pull(s, 6, 4, out, &err) == -1);
    sr_error_clear(&err);
    CHECK(sr_stage_pull(s, 4, 4, out, &err) == 0);
    sr_stage_free(s);
    free(in);
}

static void test_filter_names(void)
{
    CHECK(sr_filter_from_name("nearest") == SR_FILTER_NEAREST);
    CHECK(sr_filter_from_name("bilinear") == SR_FILTER_BILINEAR);
    CHECK(sr_filter_from_name("bicubic") == SR_FILTER_BICUBIC);
    CHECK(sr_filter_from_name("lanczos") == SR_FILTER_LANCZOS3);
    CHECK(sr_filter_from_name("lanczos3") == SR_FILTER_LANCZOS3);
    CHECK(sr_filter_from_name("sinc") == -1);
    CHECK(sr_filter_from_name(NULL) == -1);
    for (size_t i = 0; i < sizeof FILTERS / sizeof *FILTERS; i++)
        CHECK(sr_filter_from_name(sr_filter_name(FILTERS[i])) == (int)FILTERS[i]);
}

int main(void)
{
    RUN(test_matches_reference_in_any_band_size);
    RUN(test_constant_stays_constant);
    RUN(test_bilinear_analytic);
    RUN(test_premultiplied_alpha_no_bleed);
    RUN(test_errors);
    RUN(test_filter_names);
    return testlib_summary();
}
