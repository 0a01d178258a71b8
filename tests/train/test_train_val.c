/* test_train_val.c: the validation path end to end against
 * ../shared/peers/sr_eval.py values committed in
 * tests/fixtures/train/val/sr_eval.json (made by tools/make_train_fixtures.py
 * with the PyTorch twin of parity_gen.safetensors):
 *  - metrics of the committed SR PNGs (what sr_eval.py measured) through
 *    sr_val_metrics: equal to the printed 4 decimals;
 *  - sr_validate: modcrop, LR by MATLAB bicubic, C generator, rounding,
 *    metrics: equal up to the few pixels whose rounding may differ between
 *    float32 and float64 pipelines; sample PNGs written. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "srgan/train.h"
#include "testlib.h"

static double want_psnr, want_ssim;

static void read_json(void)
{
    char path[4096], buf[512] = {0};
    snprintf(path, sizeof path, "%s/tests/fixtures/train/val/sr_eval.json", TEST_SRCDIR());
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    if (!f) return;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strstr(buf, "\"psnr_y\":"), *s = strstr(buf, "\"ssim_y\":");
    CHECK(p && s);
    want_psnr = p ? strtod(p + 9, NULL) : NAN;
    want_ssim = s ? strtod(s + 9, NULL) : NAN;
}

static void test_metrics_of_committed_sr(void)
{
    double sp = 0, ss = 0;
    for (int k = 0; k < 3; k++) {
        char hp[4096], sp_[4096];
        snprintf(hp, sizeof hp, "%s/tests/fixtures/train/val/hr/img%d.png", TEST_SRCDIR(), k);
        snprintf(sp_, sizeof sp_, "%s/tests/fixtures/train/val/sr/img%d.png", TEST_SRCDIR(), k);
        int w, h, ws, hs;
        sr_error err = {0};
        float *hr = sr_load_image_planar(hp, 3, &w, &h, &err);
        float *sr = sr_load_image_planar(sp_, 3, &ws, &hs, &err);
        CHECK_MSG(hr && sr, "%s", err.msg);
        if (!hr || !sr) return;
        int mw = w - w % 2, mh = h - h % 2;
        CHECK(ws == mw && hs == mh);
        float *crop = malloc((size_t)3 * mw * mh * sizeof(float));
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < mh; y++)
                memcpy(crop + ((size_t)c * mh + y) * mw, hr + ((size_t)c * h + y) * w,
                       (size_t)mw * sizeof(float));
        double p, s;
        sr_val_metrics(sr, crop, 3, mw, mh, 2, &p, &s);
        sp += p, ss += s;
        free(crop);
        free(hr);
        free(sr);
    }
    CHECK_NEAR(sp / 3, want_psnr, 6e-5);
    CHECK_NEAR(ss / 3, want_ssim, 6e-5);
}

static void test_validate_end_to_end(void)
{
    char dir[4096], gen[4096], tmp[4096];
    snprintf(dir, sizeof dir, "%s/tests/fixtures/train/val/hr", TEST_SRCDIR());
    snprintf(gen, sizeof gen, "%s/tests/fixtures/train/parity_gen.safetensors", TEST_SRCDIR());
    snprintf(tmp, sizeof tmp, "%s/train_val_samples", TEST_TMPDIR());
    mkdir(TEST_TMPDIR(), 0777);
    mkdir(tmp, 0777);
    sr_error err = {0};
    sr_generator *g = sr_generator_load(gen, &err);
    sr_valset *v = sr_valset_open(dir, 2, 3, &err);
    CHECK_MSG(g && v, "%s", err.msg);
    if (!g || !v) return;
    CHECK(sr_valset_count(v) == 3);
    double p = 0, s = 0;
    CHECK_MSG(sr_validate(g, v, tmp, 2, 7, &p, &s, &err) == 0, "%s", err.msg);
    CHECK_NEAR(p, want_psnr, 0.01);
    CHECK_NEAR(s, want_ssim, 2e-4);
    char sample[4200];
    struct stat st;
    snprintf(sample, sizeof sample, "%s/img1_iter7.png", tmp);
    CHECK(stat(sample, &st) == 0);
    snprintf(sample, sizeof sample, "%s/img2_iter7.png", tmp);
    CHECK(stat(sample, &st) != 0); /* only 2 samples asked for */
    sr_valset_free(v);
    sr_generator_free(g);
}

int main(void)
{
    read_json();
    RUN(test_metrics_of_committed_sr);
    RUN(test_validate_end_to_end);
    return testlib_summary();
}
