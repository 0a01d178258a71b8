/* test_mesh4.c: sr_mesh4 against ../shared/peers/mesh4.py, whose values on
 * repository images and on a synthetic gridded image (RGB and gray) are in
 * tests/fixtures/resample/mesh4.txt (tools/make_mesh4_fixtures.py); a flat
 * image scores 0 and an image too small for the 8-px border is NaN. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "srgan/image.h"
#include "srgan/resample.h"
#include "testlib.h"

static uint8_t *load_u8(const char *path, int *w, int *h, int *c)
{
    sr_error err = {0};
    sr_reader *r = sr_reader_open(path, NULL, &err);
    CHECK_MSG(r != NULL, "%s", err.msg);
    if (!r) return NULL;
    const sr_image_info *in = sr_reader_info(r);
    CHECK(in->dtype == SR_U8);
    uint8_t *px = malloc(sr_row_bytes(in) * (size_t)in->height);
    CHECK(px && !sr_reader_read_rows(r, px, in->height, &err));
    *w = in->width, *h = in->height, *c = in->channels;
    sr_reader_close(r);
    return px;
}

static void test_against_reference(void)
{
    char path[4096], name[1024];
    snprintf(path, sizeof path, "%s/tests/fixtures/resample/mesh4.txt", TEST_SRCDIR());
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    if (!f) return;
    double want;
    int n = 0;
    while (fscanf(f, "%1023s %lf", name, &want) == 2) {
        snprintf(path, sizeof path, "%s/%s", TEST_SRCDIR(), name);
        int w, h, c;
        uint8_t *px = load_u8(path, &w, &h, &c);
        if (!px) continue;
        double got = sr_mesh4(px, w, h, c);
        CHECK_MSG(fabs(got - want) < 1e-9, "%s: %.12f, mesh4.py %.12f", name, got, want);
        free(px);
        n++;
    }
    fclose(f);
    CHECK(n == 6);
}

static void test_flat_and_small(void)
{
    uint8_t img[40 * 30 * 3];
    memset(img, 77, sizeof img);
    CHECK_NEAR(sr_mesh4(img, 40, 30, 3), 0.0, 1e-12);
    CHECK(isnan(sr_mesh4(img, 19, 30, 3)));
    CHECK(!isnan(sr_mesh4(img, 20, 20, 3)));
}

int main(void)
{
    RUN(test_against_reference);
    RUN(test_flat_and_small);
    return testlib_summary();
}
