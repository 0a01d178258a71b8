/* Core pipeline: sample conversion, the row cache, channel stages, errors. */
#include <stdint.h>
#include "srgan/pipeline.h"
#include "testlib.h"

/* A synthetic stage: value(x, y, c) = y * 1000 + x * 10 + c. Counts pulls
 * and checks that rows are asked for in order, each once. */
typedef struct synth {
    sr_stage base;
    int next;
    int out_of_order;
    int rows_pulled;
} synth;

static float synth_value(int x, int y, int c)
{
    return (float)(y * 1000 + x * 10 + c);
}

static int synth_pull(sr_stage *s, int y0, int n, float *out, sr_error *err)
{
    synth *t = (synth *)s;
    (void)err;
    if (y0 != t->next)
        t->out_of_order++;
    t->next = y0 + n;
    t->rows_pulled += n;
    for (int y = y0; y < y0 + n; y++)
        for (int x = 0; x < s->width; x++)
            for (int c = 0; c < s->channels; c++)
                *out++ = synth_value(x, y, c);
    return 0;
}

static void synth_destroy(sr_stage *s)
{
    free(s);
}

static sr_stage *synth_new(int w, int h, int c)
{
    synth *t = calloc(1, sizeof *t);
    t->base.width = w;
    t->base.height = h;
    t->base.channels = c;
    t->base.pull = synth_pull;
    t->base.destroy = synth_destroy;
    return &t->base;
}

static void test_samples_roundtrip(void)
{
    uint8_t u8[256], u8b[256];
    uint16_t u16[1000], u16b[1000];
    float f[1000];
    for (int i = 0; i < 256; i++)
        u8[i] = (uint8_t)i;
    for (int i = 0; i < 1000; i++)
        u16[i] = (uint16_t)(i * 65 + (i == 999 ? 65535 - 999 * 65 : 0));
    sr_samples_to_float(u8, SR_U8, 256, f);
    CHECK_NEAR(f[255], 1.0, 0);
    CHECK_NEAR(f[0], 0.0, 0);
    sr_samples_from_float(f, SR_U8, 256, u8b);
    CHECK(!memcmp(u8, u8b, sizeof u8));
    sr_samples_to_float(u16, SR_U16, 1000, f);
    sr_samples_from_float(f, SR_U16, 1000, u16b);
    CHECK(!memcmp(u16, u16b, sizeof u16));
}

static void test_samples_clamp_round(void)
{
    float f[6] = {-0.5f, 1.5f, NAN, 0.5f / 255.0f + 1e-6f, 0.4f / 255.0f, INFINITY};
    uint8_t u[6];
    sr_samples_from_float(f, SR_U8, 6, u);
    CHECK(u[0] == 0);
    CHECK(u[1] == 255);
    CHECK(u[2] == 0);
    CHECK(u[3] == 1);
    CHECK(u[4] == 0);
    CHECK(u[5] == 255);
    float g[2] = {-3.0f, 7.5f}, h[2];
    sr_samples_from_float(g, SR_F32, 2, h); /* float is not clamped */
    CHECK(h[0] == -3.0f && h[1] == 7.5f);
}

static int window_matches(const float *p, int w, int c, int y0, int y1)
{
    for (int y = y0; y < y1; y++)
        for (int x = 0; x < w; x++)
            for (int k = 0; k < c; k++)
                if (*p++ != synth_value(x, y, k))
                    return 0;
    return 1;
}

static void test_rowcache_sliding(void)
{
    sr_error err = {0};
    sr_stage *s = synth_new(5, 100, 2);
    sr_rowcache *rc = sr_rowcache_new(s, 12, &err);
    CHECK(rc != NULL);
    /* Overlapping windows, as a resampler or tiler asks. */
    int windows[][2] = {{0, 4}, {0, 8}, {2, 12}, {5, 17}, {16, 20}, {30, 42}, {41, 42}, {90, 100}};
    for (size_t i = 0; i < sizeof windows / sizeof windows[0]; i++) {
        const float *p = sr_rowcache_get(rc, windows[i][0], windows[i][1], &err);
        CHECK(p != NULL);
        if (p)
            CHECK_MSG(window_matches(p, 5, 2, windows[i][0], windows[i][1]), "window %zu", i);
    }
    synth *t = (synth *)s;
    CHECK(t->out_of_order == 0);
    CHECK(t->rows_pulled == 100); /* every row exactly once */
    /* Going back up or asking for too many rows is an error, not a crash. */
    CHECK(sr_rowcache_get(rc, 10, 12, &err) == NULL && err.code == SR_ERR_ARG);
    sr_error_clear(&err);
    CHECK(sr_rowcache_get(rc, 90, 100, &err) != NULL);
    sr_rowcache_free(rc);
    sr_stage_free(s);
}

static void test_rowcache_window_over_height(void)
{
    sr_error err = {0};
    sr_stage *s = synth_new(3, 4, 1);
    sr_rowcache *rc = sr_rowcache_new(s, 50, &err); /* capped at height */
    const float *p = sr_rowcache_get(rc, 0, 4, &err);
    CHECK(p && window_matches(p, 3, 1, 0, 4));
    CHECK(sr_rowcache_get(rc, 0, 5, &err) == NULL);
    sr_rowcache_free(rc);
    sr_stage_free(s);
}

static void test_channel_stages(void)
{
    sr_error err = {0};
    /* select channel 1 of 3 */
    sr_stage *s = sr_select_stage_new(synth_new(4, 3, 3), 1, 1, &err);
    float row[64];
    CHECK(s && s->channels == 1);
    CHECK(sr_stage_pull(s, 0, 1, row, &err) == 0);
    for (int x = 0; x < 4; x++)
        CHECK(row[x] == synth_value(x, 0, 1));
    sr_stage_free(s);
    /* gray -> rgb -> gray is the identity */
    s = sr_rgb_to_gray_stage_new(sr_gray_to_rgb_stage_new(synth_new(4, 3, 1), &err), &err);
    CHECK(s && s->channels == 1);
    CHECK(sr_stage_pull(s, 0, 3, row, &err) == 0);
    for (int y = 0; y < 3; y++)
        for (int x = 0; x < 4; x++)
            CHECK_NEAR(row[y * 4 + x], synth_value(x, y, 0), 1e-3);
    sr_stage_free(s);
    /* merge 2 + 1 channels */
    s = sr_merge_stage_new(synth_new(4, 3, 2), synth_new(4, 3, 1), &err);
    CHECK(s && s->channels == 3);
    CHECK(sr_stage_pull(s, 0, 2, row, &err) == 0);
    CHECK(row[0] == synth_value(0, 0, 0) && row[1] == synth_value(0, 0, 1) && row[2] == synth_value(0, 0, 0));
    CHECK(row[3 * 5 + 2] == synth_value(1, 1, 0));
    sr_stage_free(s);
    /* mismatched sizes are refused, and both inputs freed (ASan checks) */
    CHECK(sr_merge_stage_new(synth_new(4, 3, 1), synth_new(5, 3, 1), &err) == NULL);
    CHECK(err.code == SR_ERR_ARG);
    sr_error_clear(&err);
    CHECK(sr_select_stage_new(synth_new(4, 3, 2), 1, 2, &err) == NULL);
}

static void test_error_keeps_first(void)
{
    sr_error err = {0};
    sr_error_set(&err, SR_ERR_CORRUPT, "a.png: truncated\nat byte %d", 7);
    sr_error_set(&err, SR_ERR_IO, "outer");
    CHECK(err.code == SR_ERR_CORRUPT);
    CHECK(!strcmp(err.msg, "a.png: truncated at byte 7"));
    sr_error_set(NULL, SR_ERR_IO, "no crash");
    /* Control characters from names in files never reach the terminal. */
    sr_error err2 = {0};
    sr_error_set(&err2, SR_ERR_WEIGHTS, "m.safetensors: tensor '%s' unknown", "\x1b[2J\x1b[31mX\x7f");
    CHECK(!strcmp(err2.msg, "m.safetensors: tensor '?[2J?[31mX?' unknown"));
    CHECK(!strcmp(sr_status_name(SR_ERR_CORRUPT), "corrupt"));
}

int main(void)
{
    RUN(test_samples_roundtrip);
    RUN(test_samples_clamp_round);
    RUN(test_rowcache_sliding);
    RUN(test_rowcache_window_over_height);
    RUN(test_channel_stages);
    RUN(test_error_keeps_first);
    return testlib_summary();
}
