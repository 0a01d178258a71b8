/* test_metrics: sr_psnr_y / sr_ssim_y against the numbers sr_eval.py's own
 * functions give on the same synthetic pairs (tests/fixtures/resample,
 * made by tools/make_resample_fixtures.py), plus analytic cases. */
#include <math.h>
#include <stdint.h>

#include "srgan/resample.h"
#include "fixture_io.h"
#include "testlib.h"

static void test_against_sr_eval(void)
{
    FILE *f = fixture_open_text("metrics.txt");
    CHECK(f != NULL);
    if (!f)
        return;
    char name[64];
    int w, h, c, shave, n = 0;
    double psnr, ssim;
    while (fscanf(f, "%63s %d %d %d %d %lf %lf", name, &w, &h, &c, &shave, &psnr, &ssim) == 7) {
        char fa[128], fb[128];
        snprintf(fa, sizeof fa, "metrics_%s_a.u8", name);
        snprintf(fb, sizeof fb, "metrics_%s_b.u8", name);
        size_t size = (size_t)w * h * c;
        uint8_t *a = fixture_read(fa, size), *b = fixture_read(fb, size);
        CHECK(a && b);
        if (a && b) {
            double p = sr_psnr_y(a, b, w, h, c, shave), s = sr_ssim_y(a, b, w, h, c, shave);
            printf("%-12s psnr %.10f (sr_eval %.10f)  ssim %.10f (sr_eval %.10f)\n", name, p,
                   psnr, s, ssim);
            CHECK_NEAR(p, psnr, 1e-9);
            CHECK_NEAR(s, ssim, 1e-9);
            /* symmetric in its arguments */
            CHECK_NEAR(sr_psnr_y(b, a, w, h, c, shave), p, 1e-12);
            CHECK_NEAR(sr_ssim_y(b, a, w, h, c, shave), s, 1e-12);
        }
        free(a);
        free(b);
        n++;
    }
    fclose(f);
    CHECK(n == 4);
}

static void test_analytic(void)
{
    enum { W = 20, H = 16 };
    uint8_t a[W * H * 3], b[W * H * 3];
    for (int i = 0; i < W * H * 3; i++)
        a[i] = (uint8_t)(i * 7 % 251);
    memcpy(b, a, sizeof a);
    CHECK(isinf(sr_psnr_y(a, b, W, H, 3, 2)) && sr_psnr_y(a, b, W, H, 3, 2) > 0);
    CHECK_NEAR(sr_ssim_y(a, b, W, H, 3, 2), 1.0, 1e-12);
    /* Gray +10 everywhere: Y differs by 219 * 10 / 255. */
    uint8_t g1[W * H], g2[W * H];
    for (int i = 0; i < W * H; i++) {
        g1[i] = (uint8_t)(50 + i % 100);
        g2[i] = (uint8_t)(g1[i] + 10);
    }
    double dy = 219.0 * 10.0 / 255.0;
    CHECK_NEAR(sr_psnr_y(g1, g2, W, H, 1, 0), 10.0 * log10(255.0 * 255.0 / (dy * dy)), 1e-9);
    /* gray + alpha: alpha is ignored */
    uint8_t ga1[W * H * 2], ga2[W * H * 2];
    for (int i = 0; i < W * H; i++) {
        ga1[2 * i] = g1[i];
        ga2[2 * i] = g2[i];
        ga1[2 * i + 1] = 255;
        ga2[2 * i + 1] = (uint8_t)i;
    }
    CHECK_NEAR(sr_psnr_y(ga1, ga2, W, H, 2, 0), sr_psnr_y(g1, g2, W, H, 1, 0), 1e-12);
    CHECK_NEAR(sr_ssim_y(ga1, ga2, W, H, 2, 0), sr_ssim_y(g1, g2, W, H, 1, 0), 1e-12);
    /* Too small after shaving: NaN, not a crash. */
    CHECK(isnan(sr_psnr_y(a, b, W, H, 3, 10)));
    CHECK(isnan(sr_ssim_y(a, b, W, H, 3, 3))); /* 10 rows left < 11 */
    CHECK(isnan(sr_psnr_y(NULL, b, W, H, 3, 0)));
}

int main(void)
{
    RUN(test_against_sr_eval);
    RUN(test_analytic);
    return testlib_summary();
}
