/* test_plot.c: the training-curve plot (curves.png) reads correctly:
 * - y ticks sit on round values inside the range and their labels all differ
 *   (the old plot printed "0.019" twice on a narrow log axis);
 * - x ticks are round iteration counts written as integers ("1000", not
 *   "1e+03");
 * - the legend sits in its own column right of the plot area, so it never
 *   covers a curve: a series that fills the whole panel is drawn up to the
 *   right edge of the plot area and its legend is beyond it.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "srgan/image.h"
#include "srgan/train.h"
#include "testlib.h"

static void check_axis(double lo, double hi, int log_scale, int min_ticks)
{
    double t[16];
    char lab[16][16];
    int n = sr_plot_ticks(lo, hi, log_scale, t, 6);
    CHECK_MSG(n >= min_ticks && n <= 6, "[%g, %g] log %d: %d ticks", lo, hi, log_scale, n);
    sr_plot_labels(t, n, lab);
    for (int i = 0; i < n; i++) {
        CHECK_MSG(t[i] >= lo - 1e-12 && t[i] <= hi + 1e-12, "tick %g outside [%g, %g]", t[i], lo, hi);
        if (i)
            CHECK_MSG(strcmp(lab[i], lab[i - 1]) && t[i] > t[i - 1], "[%g, %g]: ticks %s and %s",
                      lo, hi, lab[i - 1], lab[i]);
        /* Round: a label read back is the tick itself. */
        CHECK_MSG(fabs(atof(lab[i]) - t[i]) <= 1e-9 * fabs(t[i]) + 1e-15, "label %s for %.17g", lab[i], t[i]);
    }
}

static void test_ticks(void)
{
    check_axis(0.0185, 0.0195, 1, 3); /* narrow log axis: the "0.019 0.019" case */
    check_axis(0.0185, 0.0195, 0, 3);
    check_axis(0.001, 0.9, 1, 3);     /* several decades */
    check_axis(0.029, 0.041, 1, 2);
    check_axis(27.5, 31.4, 0, 3);
    check_axis(-3, 7, 0, 3);
    check_axis(10, 4000, 0, 3);
    double t[8];
    char lab[8][16];
    int n = sr_plot_ticks(10, 4000, 0, t, 7);
    sr_plot_labels(t, n, lab);
    CHECK(n >= 3 && !strcmp(lab[0], "1000") && !strcmp(lab[n - 1], "4000"));
    CHECK(sr_plot_ticks(5, 5, 0, t, 6) == 0); /* empty range: no ticks, no loop */
}

static void test_legend_beside_plot(void)
{
    enum { N = 200, W = 800, H = 520 };
    double x[N], y[N], v[N];
    for (int i = 0; i < N; i++) {
        x[i] = i * 10;
        y[i] = i % 2 ? 1.0 : 0.001; /* fills the panel top to bottom */
        v[i] = 30 + (i % 7);
    }
    sr_plot_series s[2] = {{"L_PIX", y, 1, 0}, {"VAL_PSNR", v, 0, 1}};
    char path[1024];
    mkdir(TEST_TMPDIR(), 0777);
    snprintf(path, sizeof path, "%s/plot_legend.png", TEST_TMPDIR());
    sr_error err = {0};
    CHECK_MSG(sr_plot_png(path, x, N, s, 2, W, H, &err) == 0, "%s", err.msg);
    sr_reader *r = sr_reader_open(path, NULL, &err);
    CHECK(r != NULL);
    if (!r)
        return;
    uint8_t *px = malloc((size_t)W * H * 3);
    CHECK(sr_reader_read_rows(r, px, H, &err) == 0);
    sr_reader_close(r);
    /* Series 0 colour (first of the palette). */
    int rightmost_curve = -1, legend_px = 0;
    for (int yy = 0; yy < H * 3 / 5; yy++)
        for (int xx = 0; xx < W; xx++) {
            const uint8_t *p = px + ((size_t)yy * W + xx) * 3;
            if (p[0] == 31 && p[1] == 119 && p[2] == 180) {
                if (xx < W - 170)
                    rightmost_curve = xx > rightmost_curve ? xx : rightmost_curve;
                else
                    legend_px++;
            }
        }
    CHECK_MSG(rightmost_curve >= W - 170 - 2, "curve ends at x = %d", rightmost_curve);
    CHECK_MSG(legend_px > 20, "legend pixels beside the plot: %d", legend_px);
    free(px);
}

int main(void)
{
    RUN(test_ticks);
    RUN(test_legend_beside_plot);
    return testlib_summary();
}
