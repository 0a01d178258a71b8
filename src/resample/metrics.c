/* metrics.c: PSNR and SSIM on the BT.601 Y channel, the standard SR
 * evaluation protocol exactly as ../shared/peers/sr_eval.py computes it
 * (same formulas, same order of operations, double precision). */
#include "srgan/resample.h"
#include "contrib.h"

#include <math.h>
#include <stdlib.h>

enum { SSIM_WIN = 11 };

/* Y of the shaved image, MATLAB rgb2ycbcr on [0,1] data times 255, not
 * rounded. Returns NULL when nothing is left (or on allocation failure). */
static double *y_channel(const uint8_t *img, int w, int h, int c, int shave, int *yw, int *yh)
{
    if (!img || w < 1 || h < 1 || c < 1 || shave < 0)
        return NULL;
    int ow = w - 2 * shave, oh = h - 2 * shave;
    if (ow < 1 || oh < 1)
        return NULL;
    double *y = malloc((size_t)ow * oh * sizeof *y);
    if (!y)
        return NULL;
    for (int j = 0; j < oh; j++) {
        const uint8_t *row = img + ((size_t)(j + shave) * w + shave) * c;
        double *o = y + (size_t)j * ow;
        for (int i = 0; i < ow; i++) {
            const uint8_t *p = row + (size_t)i * c;
            double r, g, b;
            if (c >= 3) {
                r = p[0];
                g = p[1];
                b = p[2];
            } else {
                r = g = b = p[0]; /* gray is RGB with R = G = B */
            }
            o[i] = 16.0 + (65.481 * r + 128.553 * g + 24.966 * b) / 255.0;
        }
    }
    *yw = ow;
    *yh = oh;
    return y;
}

double sr_psnr_y(const uint8_t *a, const uint8_t *b, int w, int h, int c, int shave)
{
    int yw = 0, yh = 0;
    double *ya = y_channel(a, w, h, c, shave, &yw, &yh);
    double *yb = y_channel(b, w, h, c, shave, &yw, &yh);
    double result = NAN;
    if (ya && yb) {
        size_t n = (size_t)yw * yh;
        double sum = 0.0;
        for (size_t i = 0; i < n; i++) {
            double d = ya[i] - yb[i];
            sum += d * d;
        }
        double mse = sum / (double)n;
        result = mse == 0.0 ? INFINITY : 10.0 * log10(255.0 * 255.0 / mse);
    }
    free(ya);
    free(yb);
    return result;
}

/* Separable correlation with g (x) g, 'valid' region: first down the
 * columns (w x h -> w x (h-10)), then along the rows (-> (w-10) x (h-10)). */
static void filter_valid(const double *x, int w, int h, const double *g, double *tmp, double *out)
{
    int vh = h - SSIM_WIN + 1, vw = w - SSIM_WIN + 1;
    for (int j = 0; j < vh; j++) {
        double *t = tmp + (size_t)j * w;
        for (int i = 0; i < w; i++)
            t[i] = 0.0;
        for (int k = 0; k < SSIM_WIN; k++) {
            const double *r = x + (size_t)(j + k) * w;
            for (int i = 0; i < w; i++)
                t[i] += r[i] * g[k];
        }
    }
    for (int j = 0; j < vh; j++) {
        const double *t = tmp + (size_t)j * w;
        double *o = out + (size_t)j * vw;
        for (int i = 0; i < vw; i++) {
            double s = 0.0;
            for (int k = 0; k < SSIM_WIN; k++)
                s += t[i + k] * g[k];
            o[i] = s;
        }
    }
}

/* Mean of the SSIM map of two Y images of yw x yh (both >= 11). */
static double ssim_mean(const double *ya, const double *yb, int yw, int yh)
{
    /* 1-D factor of fspecial('gaussian', 11, 1.5). */
    double g[SSIM_WIN], gs = 0.0;
    for (int k = 0; k < SSIM_WIN; k++) {
        double r = k - (SSIM_WIN - 1) / 2.0;
        g[k] = exp(-(r * r) / (2.0 * 1.5 * 1.5));
        gs += g[k];
    }
    for (int k = 0; k < SSIM_WIN; k++)
        g[k] /= gs;

    size_t n = (size_t)yw * yh;
    int vw = yw - SSIM_WIN + 1, vh = yh - SSIM_WIN + 1;
    size_t nv = (size_t)vw * vh;
    double *prod = malloc(n * sizeof *prod);
    double *tmp = malloc((size_t)vh * yw * sizeof *tmp);
    double *maps = malloc(5 * nv * sizeof *maps);
    double result = NAN;
    if (prod && tmp && maps) {
        double *mu_a = maps, *mu_b = maps + nv, *e_aa = maps + 2 * nv, *e_bb = maps + 3 * nv,
               *e_ab = maps + 4 * nv;
        filter_valid(ya, yw, yh, g, tmp, mu_a);
        filter_valid(yb, yw, yh, g, tmp, mu_b);
        for (size_t i = 0; i < n; i++)
            prod[i] = ya[i] * ya[i];
        filter_valid(prod, yw, yh, g, tmp, e_aa);
        for (size_t i = 0; i < n; i++)
            prod[i] = yb[i] * yb[i];
        filter_valid(prod, yw, yh, g, tmp, e_bb);
        for (size_t i = 0; i < n; i++)
            prod[i] = ya[i] * yb[i];
        filter_valid(prod, yw, yh, g, tmp, e_ab);
        const double c1 = (0.01 * 255.0) * (0.01 * 255.0), c2 = (0.03 * 255.0) * (0.03 * 255.0);
        double sum = 0.0;
        for (size_t i = 0; i < nv; i++) {
            double ma = mu_a[i], mb = mu_b[i];
            double var_a = e_aa[i] - ma * ma, var_b = e_bb[i] - mb * mb, cov = e_ab[i] - ma * mb;
            double num = (2.0 * ma * mb + c1) * (2.0 * cov + c2);
            double den = (ma * ma + mb * mb + c1) * (var_a + var_b + c2);
            sum += num / den;
        }
        result = sum / (double)nv;
    }
    free(prod);
    free(tmp);
    free(maps);
    return result;
}

double sr_ssim_y(const uint8_t *a, const uint8_t *b, int w, int h, int c, int shave)
{
    int yw = 0, yh = 0;
    double *ya = y_channel(a, w, h, c, shave, &yw, &yh);
    double *yb = y_channel(b, w, h, c, shave, &yw, &yh);
    double result = NAN;
    if (ya && yb && yw >= SSIM_WIN && yh >= SSIM_WIN)
        result = ssim_mean(ya, yb, yw, yh);
    free(ya);
    free(yb);
    return result;
}

/* Period-4 mesh strength, as ../shared/peers/mesh4.py: Y minus its 4x4 box
 * mean (scipy uniform_filter, size 4, 'reflect' = edge-repeating mirror,
 * window i-2..i+1), 8-pixel border dropped, cropped to a multiple of 4, the
 * residual averaged per phase (y mod 4, x mod 4); the population standard
 * deviation of the 16 phase means. A 4-pixel box cancels period-4 content,
 * so a printed x4 grid stays whole in the residual. */
double sr_mesh4(const uint8_t *img, int w, int h, int c)
{
    int yw = 0, yh = 0;
    double *y = y_channel(img, w, h, c, 0, &yw, &yh);
    int cw = (w - 16) - (w - 16) % 4, ch = (h - 16) - (h - 16) % 4;
    double *t = malloc((size_t)w * h * sizeof *t);
    double result = NAN;
    if (y && t && cw >= 4 && ch >= 4) {
        /* along rows (axis 0) first, then columns, as uniform_filter */
        for (int j = 0; j < h; j++)
            for (int i = 0; i < w; i++) {
                double s = 0;
                for (int k = -2; k <= 1; k++)
                    s += y[(size_t)sr_index_symmetric(j + k, h) * w + i];
                t[(size_t)j * w + i] = s / 4;
            }
        double ph[16] = {0};
        for (int j = 8; j < 8 + ch; j++)
            for (int i = 8; i < 8 + cw; i++) {
                double s = 0;
                for (int k = -2; k <= 1; k++)
                    s += t[(size_t)j * w + sr_index_symmetric(i + k, w)];
                ph[((j - 8) % 4) * 4 + (i - 8) % 4] += y[(size_t)j * w + i] - s / 4;
            }
        double n = (double)(cw / 4) * (ch / 4), mean = 0, var = 0;
        for (int k = 0; k < 16; k++) mean += (ph[k] /= n);
        mean /= 16;
        for (int k = 0; k < 16; k++) var += (ph[k] - mean) * (ph[k] - mean);
        result = sqrt(var / 16);
    }
    free(y);
    free(t);
    return result;
}
