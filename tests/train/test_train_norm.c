/* Training data: 16-bit images are presented percentile-normalised (as
 * srgan-up's default --normalize at inference), 8-bit ones as stored. */
#include <stdint.h>
#include "srgan/image.h"
#include "srgan/train.h"
#include "testlib.h"

static void write_gray(const char *path, sr_dtype t, int w, int h, double lo, double hi)
{
    sr_error err = {0};
    sr_image_info info;
    memset(&info, 0, sizeof info);
    sr_default_meta(&info.meta);
    info.width = w, info.height = h, info.channels = 1, info.dtype = t, info.pages = 1;
    sr_write_opts wo = {.overwrite = 1};
    sr_writer *wr = sr_writer_open(path, SR_FMT_TIFF, &info, &wo, &err);
    CHECK(wr != NULL);
    if (!wr)
        return;
    uint16_t *row16 = malloc(sizeof(uint16_t) * w);
    uint8_t *row8 = malloc(w);
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            double v = lo + (hi - lo) * (double)(y * w + x) / (w * h - 1);
            row16[x] = (uint16_t)v;
            row8[x] = (uint8_t)v;
        }
        CHECK(sr_writer_write_rows(wr, t == SR_U16 ? (void *)row16 : (void *)row8, 1, &err) == 0);
    }
    CHECK(sr_writer_finish(wr, &err) == 0);
    free(row16);
    free(row8);
}

static void test_u16_percentile_window(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/train_norm_u16.tif", TEST_TMPDIR());
    write_gray(path, SR_U16, 100, 50, 1000, 2000); /* a ramp over 1000..2000 */
    sr_error err = {0};
    int w, h;
    float *p = sr_load_image_planar(path, 1, &w, &h, &err);
    CHECK(p != NULL);
    if (!p)
        return;
    float mn = p[0], mx = p[0];
    for (int i = 0; i < w * h; i++) {
        mn = p[i] < mn ? p[i] : mn;
        mx = p[i] > mx ? p[i] : mx;
    }
    /* 1st percentile -> 0, 99.8th -> 1: the ends overshoot slightly. */
    CHECK_NEAR(mn, -0.01 / 0.988, 0.003);
    CHECK_NEAR(mx, 1.0 + 0.002 / 0.988, 0.003);
    CHECK_NEAR(p[w * h / 2], 0.5, 0.01);
    free(p);
}

static void test_u8_as_stored(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/train_norm_u8.tif", TEST_TMPDIR());
    write_gray(path, SR_U8, 40, 20, 10, 60);
    sr_error err = {0};
    int w, h;
    float *p = sr_load_image_planar(path, 1, &w, &h, &err);
    CHECK(p != NULL);
    if (!p)
        return;
    CHECK_NEAR(p[0], 10 / 255.0, 1e-6);
    CHECK_NEAR(p[w * h - 1], 60 / 255.0, 1e-6);
    free(p);
}

int main(void)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", TEST_TMPDIR());
    if (system(cmd) != 0)
        return 2;
    RUN(test_u16_percentile_window);
    RUN(test_u8_as_stored);
    return testlib_summary();
}
