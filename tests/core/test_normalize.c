/* Percentile normalisation and the affine stage. */
#include <stdint.h>
#include "srgan/normalize.h"
#include "testlib.h"

/* Write a 1-channel image whose pixel values are given, one page each. */
static void write_pages(const char *path, sr_dtype t, int w, int h, int pages,
                        double (*value)(int i, int page))
{
    sr_error err = {0};
    sr_image_info info;
    memset(&info, 0, sizeof info);
    sr_default_meta(&info.meta);
    info.width = w, info.height = h, info.channels = 1, info.dtype = t, info.pages = pages;
    sr_write_opts wo = {.overwrite = 1};
    sr_writer *wr = sr_writer_open(path, SR_FMT_TIFF, &info, &wo, &err);
    CHECK(wr != NULL);
    if (!wr)
        return;
    float *f = malloc(sizeof(float) * w);
    uint8_t *raw = malloc(4 * (size_t)w);
    for (int p = 0; p < pages; p++) {
        if (p)
            CHECK(sr_writer_next_page(wr, &info, &err) == 0);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++)
                f[x] = (float)value(y * w + x, p);
            sr_samples_from_float(f, t, (size_t)w, raw);
            CHECK(sr_writer_write_rows(wr, raw, 1, &err) == 0);
        }
    }
    CHECK(sr_writer_finish(wr, &err) == 0);
    free(f);
    free(raw);
}

/* Page p holds levels p*1000 .. p*1000 + 999 (u16), one each. */
static double ramp(int i, int page)
{
    return (page * 1000 + i) / 65535.0;
}

static void test_percentiles_u16(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/norm_u16.tif", TEST_TMPDIR());
    write_pages(path, SR_U16, 40, 25, 2, ramp);
    sr_error err = {0};
    sr_norm_range r;
    /* Page 0: 0..999, so the 1st and 99th percentiles are about 10 and 989. */
    CHECK(sr_norm_percentiles(path, NULL, 0, 1.0, 99.0, &r, &err) == 0);
    CHECK_NEAR(r.lo * 65535, 10, 1.01);
    CHECK_NEAR(r.hi * 65535, 989, 1.01);
    CHECK_NEAR(r.min * 65535, 0, 1e-6);
    CHECK_NEAR(r.max * 65535, 999, 1e-3);
    /* Page 1 alone: 1000..1999. */
    CHECK(sr_norm_percentiles(path, NULL, 1, 0.0, 100.0, &r, &err) == 0);
    CHECK_NEAR(r.lo * 65535, 1000, 1e-3);
    CHECK_NEAR(r.hi * 65535, 1999, 1e-3);
    /* The stack: 0..1999, median about 1000. */
    CHECK(sr_norm_percentiles(path, NULL, -1, 50.0, 100.0, &r, &err) == 0);
    CHECK_NEAR(r.lo * 65535, 1000, 1.01);
    CHECK_NEAR(r.hi * 65535, 1999, 1e-3);
    /* A page that is not there, and bad percentiles. */
    CHECK(sr_norm_percentiles(path, NULL, 5, 1, 99, &r, &err) == -1 && err.code == SR_ERR_ARG);
    sr_error_clear(&err);
    CHECK(sr_norm_percentiles(path, NULL, 0, 50, 10, &r, &err) == -1);
}

static double float_values(int i, int page)
{
    (void)page;
    return -5.0 + i * 0.01; /* -5 .. 4.99 */
}

static void test_percentiles_float(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/norm_f32.tif", TEST_TMPDIR());
    write_pages(path, SR_F32, 50, 20, 1, float_values);
    sr_error err = {0};
    sr_norm_range r;
    CHECK(sr_norm_percentiles(path, NULL, -1, 10.0, 90.0, &r, &err) == 0);
    CHECK_NEAR(r.min, -5.0, 1e-5);
    CHECK_NEAR(r.max, 4.99, 1e-5);
    CHECK_NEAR(r.lo, -4.0, 0.02);
    CHECK_NEAR(r.hi, 3.99, 0.02);
}

typedef struct const_stage {
    sr_stage base;
    float v[4];
} const_stage;

static int const_pull(sr_stage *s, int y0, int n, float *out, sr_error *err)
{
    (void)y0, (void)err;
    const_stage *c = (const_stage *)s;
    for (int i = 0; i < n * s->width; i++)
        out[i] = c->v[i % 4];
    return 0;
}

static void const_destroy(sr_stage *s)
{
    free(s);
}

static void test_affine_roundtrip_and_clip(void)
{
    const_stage *c = calloc(1, sizeof *c);
    c->base = (sr_stage){.width = 8, .height = 2, .channels = 1, .pull = const_pull, .destroy = const_destroy};
    c->v[0] = 0.1f, c->v[1] = 0.2f, c->v[2] = 0.5f, c->v[3] = 0.7f;
    sr_error err = {0};
    sr_clip_count clip = {0};
    double lo = 0.2, hi = 0.6, span = hi - lo;
    sr_stage *s = sr_affine_stage_new(&c->base, 1 / span, -lo / span, NULL, &err);
    s = sr_affine_stage_new(s, span, lo, &clip, &err);
    float out[16];
    CHECK(s && sr_stage_pull(s, 0, 2, out, &err) == 0);
    for (int i = 0; i < 16; i++)
        CHECK_NEAR(out[i], c->v[i % 4], 1e-6);
    CHECK(clip.low == 0 && clip.high == 0);
    sr_stage_free(s);
    /* A map that pushes values out of [0,1] is counted. */
    c = calloc(1, sizeof *c);
    c->base = (sr_stage){.width = 8, .height = 2, .channels = 1, .pull = const_pull, .destroy = const_destroy};
    c->v[0] = 0.1f, c->v[1] = 0.2f, c->v[2] = 0.5f, c->v[3] = 0.7f;
    s = sr_affine_stage_new(&c->base, 2.0, -0.3, &clip, &err); /* -0.1, 0.1, 0.7, 1.1 */
    CHECK(s && sr_stage_pull(s, 0, 2, out, &err) == 0);
    CHECK(clip.low == 4 && clip.high == 4);
    sr_stage_free(s);
}


/* Signed samples: levels below zero are binned exactly, too. */
static double signed_ramp(int i, int page)
{
    (void)page;
    return (i - 500) / 32767.0; /* int16 -500 .. 499 */
}

static void test_percentiles_signed_and_channels(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/norm_i16.tif", TEST_TMPDIR());
    write_pages(path, SR_I16, 40, 25, 1, signed_ramp);
    sr_error err = {0};
    sr_norm_range r;
    CHECK(sr_norm_percentiles(path, NULL, 0, 0.0, 100.0, &r, &err) == 0);
    CHECK_NEAR(r.lo * 32767, -500, 1e-3);
    CHECK_NEAR(r.hi * 32767, 499, 1e-3);
    CHECK(sr_norm_percentiles(path, NULL, 0, 1.0, 99.0, &r, &err) == 0);
    CHECK_NEAR(r.lo * 32767, -490, 1.01);

    /* Independent channels (ExtraSamples unspecified) get their own windows:
     * channel 1 of ch2_u16 is 0 on the left half, 300..1250 on the right. */
    char fx[600];
    snprintf(fx, sizeof fx, "%s/tests/fixtures/tifftypes/ch2_u16.tif", TEST_SRCDIR());
    CHECK(sr_norm_percentiles_ch(fx, NULL, 0, 1, 1, 0.0, 100.0, &r, &err) == 0);
    CHECK_NEAR(r.lo * 65535, 0, 1e-3);
    CHECK_NEAR(r.hi * 65535, 1250, 1e-3);
    CHECK(sr_norm_percentiles_ch(fx, NULL, 0, 0, 1, 0.0, 100.0, &r, &err) == 0);
    CHECK_NEAR(r.lo * 65535, 1000, 1e-3);
    CHECK_NEAR(r.hi * 65535, 1000 + 23 * 100 + 19 * 7, 1e-3);

    /* A stack of a uint16 page and a float page has no common unit. */
    snprintf(fx, sizeof fx, "%s/tests/fixtures/tifftypes/mixed_u16_f32.tif", TEST_SRCDIR());
    sr_error_clear(&err);
    CHECK(sr_norm_percentiles(fx, NULL, -1, 1.0, 99.0, &r, &err) == -1 &&
          err.code == SR_ERR_UNSUPPORTED);
    /* each page alone is fine, in its own units */
    CHECK(sr_norm_percentiles(fx, NULL, 1, 0.0, 100.0, &r, &err) == 0);
    CHECK_NEAR(r.hi, 0.5, 1e-6);
}

int main(void)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", TEST_TMPDIR());
    if (system(cmd) != 0)
        return 2;
    RUN(test_percentiles_u16);
    RUN(test_percentiles_float);
    RUN(test_affine_roundtrip_and_clip);
    RUN(test_percentiles_signed_and_channels);
    return testlib_summary();
}
