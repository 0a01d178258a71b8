/* degrade.c: the degradation pipelines of srgan-train --degrade.
 *
 * "real" follows Real-ESRGAN (realesrgan_model.py feed_data,
 * realesrgan_dataset.py, BasicSR degradations.py) with the defaults of
 * options/train_realesrgan_x4plus.yml, per sample instead of per batch
 * (Real-ESRGAN needs its 180-pair queue only because a GPU batch shares one
 * resize; here every sample draws its own). Two deliberate differences:
 * the HR is not USM-sharpened before the blur (the trainer has no USM
 * target), and the JPEG is libjpeg's (as OpenCV's imencode) rather than
 * the DiffJPEG approximation.
 *
 * "microscopy" models a camera behind a microscope: optical blur (Gaussian
 * PSF), integration over the camera pixel (area downscale), then the noise
 * of that pixel: Poisson shot noise at a random photon level, Gaussian read
 * noise on a camera offset (so it is not clipped at zero), quantisation to
 * the source's bit depth, offset removed again (srgan-up's percentile
 * normalisation removes it at inference). The noise comes after the
 * downscale because the camera records the LR pixel: noise added at HR and
 * averaged down would be 2-4x weaker than what the model will meet. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "srgan/degrade.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

#define MAX_KERNEL 41

static double uni(sr_rng *r, const double *range)
{
    return range[0] + (range[1] - range[0]) * sr_rng_uniform(r);
}

/* ---- presets -------------------------------------------------------------- */

void sr_degrade_preset(sr_degrade_kind kind, sr_degrade_params *p)
{
    static const double kprob[6] = {0.45, 0.25, 0.12, 0.03, 0.12, 0.03};
    memset(p, 0, sizeof *p);
    p->kind = kind;
    /* Real-ESRGAN x4plus: realesrgan_dataset.py and the yml */
    memcpy(p->kernel_prob, kprob, sizeof kprob);
    memcpy(p->kernel_prob2, kprob, sizeof kprob);
    p->blur_sigma[0] = 0.2, p->blur_sigma[1] = 3;
    p->blur_sigma2[0] = 0.2, p->blur_sigma2[1] = 1.5;
    p->betag[0] = p->betag2[0] = 0.5, p->betag[1] = p->betag2[1] = 4;
    p->betap[0] = p->betap2[0] = 1, p->betap[1] = p->betap2[1] = 2;
    p->sinc_prob = p->sinc_prob2 = 0.1;
    p->kernel_size[0] = 7, p->kernel_size[1] = 21;
    p->resize_prob[0] = 0.2, p->resize_prob[1] = 0.7, p->resize_prob[2] = 0.1;
    p->resize_range[0] = 0.15, p->resize_range[1] = 1.5;
    p->gaussian_noise_prob = 0.5;
    p->noise_range[0] = 1, p->noise_range[1] = 30;
    p->poisson_scale_range[0] = 0.05, p->poisson_scale_range[1] = 3;
    p->gray_noise_prob = 0.4;
    p->jpeg_range[0] = 30, p->jpeg_range[1] = 95;
    p->second_blur_prob = 0.8;
    p->resize_prob2[0] = 0.3, p->resize_prob2[1] = 0.4, p->resize_prob2[2] = 0.3;
    p->resize_range2[0] = 0.3, p->resize_range2[1] = 1.2;
    p->gaussian_noise_prob2 = 0.5;
    p->noise_range2[0] = 1, p->noise_range2[1] = 25;
    p->poisson_scale_range2[0] = 0.05, p->poisson_scale_range2[1] = 2.5;
    p->gray_noise_prob2 = 0.4;
    p->jpeg_range2[0] = 30, p->jpeg_range2[1] = 95;
    p->final_sinc_prob = 0.8;
    /* microscopy: widefield/confocal-like blur of 0.5-2 HR px, from ten
     * to a thousand photons at the 99.8th percentile, read noise up to 2%
     * of that level, offset up to 5% */
    p->psf_sigma[0] = 0.5, p->psf_sigma[1] = 2.0;
    p->photons[0] = 10, p->photons[1] = 1000;
    p->read_noise[0] = 0.0, p->read_noise[1] = 0.02;
    p->offset[0] = 0.0, p->offset[1] = 0.05;
}

/* ---- parameter files ------------------------------------------------------ */

enum { CHECK_PROB = 1, CHECK_POS = 2, CHECK_ODD = 4, CHECK_JPEG = 8, CHECK_WEIGHTS = 16,
       CHECK_NONNEG = 32 };

typedef struct param_key {
    const char *name;
    size_t off;
    int n;       /* numbers on the line (a range: 2, a single value may be given) */
    int kinds;   /* pipelines it belongs to (1 << kind) */
    int check;
} param_key;

#define R (1 << SR_DEGRADE_REAL)
#define M (1 << SR_DEGRADE_MICROSCOPY)
#define K(name, n, kinds, check) {#name, offsetof(sr_degrade_params, name), n, kinds, check}
static const param_key keys[] = {
    K(kernel_prob, 6, R, CHECK_WEIGHTS), K(blur_sigma, 2, R, CHECK_POS),
    K(betag, 2, R, CHECK_POS), K(betap, 2, R, CHECK_POS), K(sinc_prob, 1, R, CHECK_PROB),
    K(kernel_size, 2, R, CHECK_ODD), K(resize_prob, 3, R, CHECK_WEIGHTS),
    K(resize_range, 2, R, CHECK_POS), K(gaussian_noise_prob, 1, R, CHECK_PROB),
    K(noise_range, 2, R, CHECK_NONNEG), K(poisson_scale_range, 2, R, CHECK_NONNEG),
    K(gray_noise_prob, 1, R, CHECK_PROB), K(jpeg_range, 2, R, CHECK_JPEG),
    K(second_blur_prob, 1, R, CHECK_PROB), K(kernel_prob2, 6, R, CHECK_WEIGHTS),
    K(blur_sigma2, 2, R, CHECK_POS), K(betag2, 2, R, CHECK_POS), K(betap2, 2, R, CHECK_POS),
    K(sinc_prob2, 1, R, CHECK_PROB), K(resize_prob2, 3, R, CHECK_WEIGHTS),
    K(resize_range2, 2, R, CHECK_POS), K(gaussian_noise_prob2, 1, R, CHECK_PROB),
    K(noise_range2, 2, R, CHECK_NONNEG), K(poisson_scale_range2, 2, R, CHECK_NONNEG),
    K(gray_noise_prob2, 1, R, CHECK_PROB), K(jpeg_range2, 2, R, CHECK_JPEG),
    K(final_sinc_prob, 1, R, CHECK_PROB),
    K(psf_sigma, 2, M, CHECK_POS), K(photons, 2, M, CHECK_POS),
    K(read_noise, 2, M, CHECK_NONNEG), K(offset, 2, M, CHECK_NONNEG),
};
#undef K
#undef R
#undef M

static const char *const kind_names[] = {"bicubic", "real", "microscopy"};

static char *trim(char *s)
{
    while (isspace((unsigned char)*s)) s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1])) *--e = 0;
    return s;
}

/* Check one key's numbers; a message (without location) or NULL. */
static const char *check_values(const param_key *k, const double *v, char *buf, size_t len)
{
    for (int i = 0; i < k->n; i++) {
        if (!isfinite(v[i])) return "values must be finite";
        if ((k->check & CHECK_PROB) && (v[i] < 0 || v[i] > 1))
            return "a probability must be within 0..1";
        if ((k->check & (CHECK_POS | CHECK_ODD)) && !(v[i] > 0)) return "values must be > 0";
        if ((k->check & (CHECK_NONNEG | CHECK_WEIGHTS)) && v[i] < 0)
            return "values must be >= 0";
        if ((k->check & CHECK_JPEG) && (v[i] < 1 || v[i] > 100))
            return "JPEG quality must be within 1..100";
        if ((k->check & CHECK_ODD) &&
            (v[i] != floor(v[i]) || (long)v[i] % 2 == 0 || v[i] < 3 || v[i] > MAX_KERNEL)) {
            snprintf(buf, len, "kernel sizes must be odd integers within 3..%d", MAX_KERNEL);
            return buf;
        }
    }
    if (k->n == 2 && v[0] > v[1]) return "a range must be 'lo, hi' with lo <= hi";
    if (k->check & CHECK_WEIGHTS) {
        double s = 0;
        for (int i = 0; i < k->n; i++) s += v[i];
        if (!(s > 0)) return "the weights must not all be 0";
    }
    return NULL;
}

static int parse_file(const char *path, sr_degrade_params *p, sr_error *err)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        sr_error_set(err, SR_ERR_IO, "%s: cannot open (%s); --degrade takes bicubic, real, "
                     "microscopy or a parameter file", path, strerror(errno));
        return -1;
    }
    char line[1024], msg[160];
    int lineno = 0, have_kind = 0, rc = -1;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        if (!strchr(line, '\n') && !feof(f)) {
            sr_error_set(err, SR_ERR_ARG, "%s:%d: line too long", path, lineno);
            goto done;
        }
        char *hash = strchr(line, '#');
        if (hash) *hash = 0;
        char *s = trim(line);
        if (!*s || *s == '[') continue; /* blank, comment or [section] header */
        char *eq = strchr(s, '=');
        if (!eq) {
            sr_error_set(err, SR_ERR_ARG, "%s:%d: expected 'key = value', got '%s'", path,
                         lineno, s);
            goto done;
        }
        *eq = 0;
        char *key = trim(s), *val = trim(eq + 1);
        if (!strcmp(key, "pipeline")) {
            int kind = -1;
            for (int i = 0; i < 3; i++)
                if (!strcmp(val, kind_names[i])) kind = i;
            if (kind < 0) {
                sr_error_set(err, SR_ERR_ARG,
                             "%s:%d: pipeline must be bicubic, real or microscopy, got '%s'",
                             path, lineno, val);
                goto done;
            }
            if (have_kind) {
                sr_error_set(err, SR_ERR_ARG, "%s:%d: pipeline given twice", path, lineno);
                goto done;
            }
            sr_degrade_preset((sr_degrade_kind)kind, p);
            have_kind = 1;
            continue;
        }
        const param_key *k = NULL;
        for (size_t i = 0; i < sizeof keys / sizeof *keys && !k; i++)
            if (!strcmp(keys[i].name, key)) k = &keys[i];
        if (!k) {
            sr_error_set(err, SR_ERR_ARG, "%s:%d: unknown key '%s'", path, lineno, key);
            goto done;
        }
        if (!have_kind) {
            sr_error_set(err, SR_ERR_ARG, "%s:%d: the first setting must be 'pipeline = real' "
                         "or 'pipeline = microscopy'", path, lineno);
            goto done;
        }
        if (!(k->kinds & (1 << p->kind))) {
            sr_error_set(err, SR_ERR_ARG, "%s:%d: '%s' is not a setting of pipeline %s", path,
                         lineno, key, kind_names[p->kind]);
            goto done;
        }
        double v[6];
        int n = 0;
        char *q = val;
        for (;;) {
            char *e;
            errno = 0;
            double x = strtod(q, &e);
            if (e == q || errno || n == 6) {
                n = -1;
                break;
            }
            v[n++] = x;
            q = e;
            while (isspace((unsigned char)*q)) q++;
            if (!*q) break;
            if (*q != ',') {
                n = -1;
                break;
            }
            q++;
        }
        if (n == 1 && k->n == 2) v[1] = v[0], n = 2; /* a fixed value */
        if (n != k->n) {
            sr_error_set(err, SR_ERR_ARG, "%s:%d: '%s' takes %d comma-separated number%s, got "
                         "'%s'", path, lineno, key, k->n, k->n > 1 ? "s" : "", val);
            goto done;
        }
        const char *bad = check_values(k, v, msg, sizeof msg);
        if (bad) {
            sr_error_set(err, SR_ERR_ARG, "%s:%d: %s: %s", path, lineno, key, bad);
            goto done;
        }
        memcpy((char *)p + k->off, v, (size_t)n * sizeof *v);
    }
    if (ferror(f)) {
        sr_error_set(err, SR_ERR_IO, "%s: read error", path);
        goto done;
    }
    if (!have_kind) {
        sr_error_set(err, SR_ERR_ARG, "%s: no 'pipeline = real|microscopy' line", path);
        goto done;
    }
    rc = 0;
done:
    fclose(f);
    return rc;
}

int sr_degrade_parse(const char *spec, sr_degrade_params *p, sr_error *err)
{
    for (int i = 0; i < 3; i++)
        if (!strcmp(spec, kind_names[i])) {
            sr_degrade_preset((sr_degrade_kind)i, p);
            return 0;
        }
    return parse_file(spec, p, err);
}

/* ---- kernels ---------------------------------------------------------------- */

void sr_kernel_make(sr_kernel_type t, int k, double sx, double sy, double theta, double beta,
                    double *out)
{
    int h = k / 2;
    double sum = 0;
    if (t == SR_KERNEL_SINC) {
        /* circular_lowpass_kernel: cutoff * J1(cutoff r) / (2 pi r) */
        for (int y = 0; y < k; y++)
            for (int x = 0; x < k; x++) {
                double r = hypot(x - h, y - h);
                double v = r == 0 ? sx * sx / (4 * M_PI) : sx * j1(sx * r) / (2 * M_PI * r);
                out[y * k + x] = v;
                sum += v;
            }
    } else {
        int iso = t == SR_KERNEL_ISO || t == SR_KERNEL_GENERALIZED_ISO ||
                  t == SR_KERNEL_PLATEAU_ISO;
        if (iso) sy = sx, theta = 0;
        /* inverse of U diag(sx^2, sy^2) U^T = U diag(1/sx^2, 1/sy^2) U^T */
        double c = cos(theta), s = sin(theta), a = 1 / (sx * sx), b = 1 / (sy * sy);
        double i00 = c * c * a + s * s * b, i11 = s * s * a + c * c * b, i01 = c * s * (a - b);
        for (int y = 0; y < k; y++)
            for (int x = 0; x < k; x++) {
                double dx = x - h, dy = y - h;
                double q = i00 * dx * dx + 2 * i01 * dx * dy + i11 * dy * dy;
                double v;
                if (t == SR_KERNEL_ISO || t == SR_KERNEL_ANISO) v = exp(-0.5 * q);
                else if (t == SR_KERNEL_PLATEAU_ISO || t == SR_KERNEL_PLATEAU_ANISO)
                    v = 1 / (pow(q, beta) + 1);
                else v = exp(-0.5 * pow(q, beta));
                out[y * k + x] = v;
                sum += v;
            }
    }
    for (int i = 0; i < k * k; i++) out[i] /= sum;
}

static int pick(sr_rng *r, const double *w, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++) s += w[i];
    double u = sr_rng_uniform(r) * s;
    for (int i = 0; i < n; i++) {
        if (u < w[i]) return i;
        u -= w[i];
    }
    return n - 1;
}

static int pick_size(sr_rng *r, const double *range)
{
    int lo = (int)range[0], hi = (int)range[1];
    return lo + 2 * (int)sr_rng_below(r, (uint32_t)((hi - lo) / 2 + 1));
}

/* random_mixed_kernels or a sinc (realesrgan_dataset.py); size in *k */
static void random_kernel(sr_rng *r, const double *prob, const double *sigma, const double *betag,
                          const double *betap, double sinc_prob, const double *ksize, int *k,
                          double *out)
{
    *k = pick_size(r, ksize);
    if (sr_rng_uniform(r) < sinc_prob) {
        double lo = *k < 13 ? M_PI / 3 : M_PI / 5;
        sr_kernel_make(SR_KERNEL_SINC, *k, lo + (M_PI - lo) * sr_rng_uniform(r), 0, 0, 0, out);
        return;
    }
    sr_kernel_type t = (sr_kernel_type)pick(r, prob, 6);
    double sx = uni(r, sigma), sy = sx, theta = 0, beta = 1;
    int iso = t == SR_KERNEL_ISO || t == SR_KERNEL_GENERALIZED_ISO || t == SR_KERNEL_PLATEAU_ISO;
    if (!iso) {
        sy = uni(r, sigma);
        theta = -M_PI + 2 * M_PI * sr_rng_uniform(r);
    }
    if (t >= SR_KERNEL_GENERALIZED_ISO) {
        const double *br = t <= SR_KERNEL_GENERALIZED_ANISO ? betag : betap;
        /* BasicSR: half the time below 1, half above */
        double lo[2] = {br[0], 1}, hi[2] = {1, br[1]};
        beta = sr_rng_uniform(r) < 0.5 ? uni(r, lo) : uni(r, hi);
    }
    sr_kernel_make(t, *k, sx, sy, theta, beta, out);
}

/* ---- filtering ----------------------------------------------------------- */

static int reflect(int i, int n)
{
    if (n == 1) return 0;
    while (i < 0 || i >= n) i = i < 0 ? -i : 2 * (n - 1) - i;
    return i;
}

/* Planar and reflect-padded first, so the inner loop is a multiply-add
 * along a contiguous row (vectorised); this is most of the pipeline's
 * time. */
int sr_degrade_filter(const float *in, int w, int h, int c, const double *kern, int k, float *out,
                      sr_error *err)
{
    if (k < 1 || k > MAX_KERNEL || k % 2 == 0 || c < 1 || c > 4) {
        sr_error_set(err, SR_ERR_ARG, "degrade: invalid %dx%d kernel or %d channels", k, k, c);
        return -1;
    }
    int hk = k / 2, pw = w + 2 * hk, ph = h + 2 * hk;
    float kf[MAX_KERNEL * MAX_KERNEL];
    for (int i = 0; i < k * k; i++) kf[i] = (float)kern[i];
    /* A kernel of rank one (isotropic Gaussians: 45% of Real-ESRGAN's, and
     * every PSF) is u v^T: two 1-D passes, 2k taps instead of k^2. */
    float ku1[MAX_KERNEL], kv1[MAX_KERNEL];
    double cc = kern[hk * k + hk], kmax = 0, dev = 0;
    for (int i = 0; i < k * k; i++) kmax = fabs(kern[i]) > kmax ? fabs(kern[i]) : kmax;
    int sep = cc > 0;
    for (int i = 0; sep && i < k; i++)
        for (int j = 0; j < k; j++) {
            double d = fabs(kern[i * k + j] - kern[i * k + hk] * kern[hk * k + j] / cc);
            dev = d > dev ? d : dev;
        }
    sep = sep && dev <= 1e-12 * kmax;
    for (int i = 0; sep && i < k; i++) {
        ku1[i] = (float)kern[i * k + hk];
        kv1[i] = (float)(kern[hk * k + i] / cc);
    }
    float *pad = malloc((size_t)pw * ph * sizeof *pad), *row = malloc((size_t)w * sizeof *row);
    float *tmp = sep ? malloc((size_t)w * ph * sizeof *tmp) : NULL;
    int *xi = malloc((size_t)pw * sizeof *xi);
    if (!pad || !row || !xi || (sep && !tmp)) {
        free(tmp);
        free(pad);
        free(row);
        free(xi);
        sr_error_set(err, SR_ERR_NOMEM, "degrade: out of memory");
        return -1;
    }
    for (int x = 0; x < pw; x++) xi[x] = reflect(x - hk, w);
    for (int ch = 0; ch < c; ch++) {
        for (int y = 0; y < ph; y++) {
            const float *src = in + (size_t)reflect(y - hk, h) * w * c + ch;
            float *d = pad + (size_t)y * pw;
            for (int x = 0; x < pw; x++) d[x] = src[(size_t)xi[x] * c];
        }
        if (sep) {
            /* rows through v into tmp (ph x w), then columns through u */
            for (int y = 0; y < ph; y++) {
                float *t = tmp + (size_t)y * w;
                const float *prow = pad + (size_t)y * pw;
                for (int x = 0; x < w; x++) t[x] = 0;
                for (int kx = 0; kx < k; kx++)
                    for (int x = 0; x < w; x++) t[x] += kv1[kx] * prow[x + kx];
            }
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) row[x] = 0;
                for (int ky = 0; ky < k; ky++) {
                    const float *t = tmp + (size_t)(y + ky) * w;
                    for (int x = 0; x < w; x++) row[x] += ku1[ky] * t[x];
                }
                float *o = out + (size_t)y * w * c + ch;
                for (int x = 0; x < w; x++) o[(size_t)x * c] = row[x];
            }
            continue;
        }
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) row[x] = 0;
            for (int ky = 0; ky < k; ky++) {
                const float *prow = pad + (size_t)(y + ky) * pw;
                const float *kr = kf + ky * k;
                /* three taps per pass over the row: a third of the row's
                 * loads and stores of one tap at a time */
                int kx = 0;
                for (; kx + 3 <= k; kx += 3) {
                    const float k0 = kr[kx], k1 = kr[kx + 1], k2 = kr[kx + 2];
                    const float *s = prow + kx;
                    for (int x = 0; x < w; x++) row[x] += k0 * s[x] + k1 * s[x + 1] + k2 * s[x + 2];
                }
                for (; kx < k; kx++) {
                    const float kv = kr[kx];
                    const float *s = prow + kx;
                    for (int x = 0; x < w; x++) row[x] += kv * s[x];
                }
            }
            float *o = out + (size_t)y * w * c + ch;
            for (int x = 0; x < w; x++) o[(size_t)x * c] = row[x];
        }
    }
    free(tmp);
    free(pad);
    free(row);
    free(xi);
    return 0;
}

/* ---- noise ------------------------------------------------------------------ */

/* Box-Muller keeping both variates (sr_rng_normal returns one of the two;
 * noise for a whole image is a third of this module's time otherwise). */
typedef struct normals {
    sr_rng *r;
    double spare;
    int have;
} normals;

static double next_normal(normals *n)
{
    if (n->have) {
        n->have = 0;
        return n->spare;
    }
    double u1 = sr_rng_uniform(n->r), u2 = sr_rng_uniform(n->r);
    if (u1 < 1e-300) u1 = 1e-300;
    double rad = sqrt(-2.0 * log(u1)), th = 6.283185307179586 * u2;
    n->spare = rad * sin(th);
    n->have = 1;
    return rad * cos(th);
}

void sr_degrade_gaussian_noise(float *img, size_t npix, int c, double sigma, int gray, sr_rng *r)
{
    normals n = {r, 0, 0};
    for (size_t i = 0; i < npix; i++) {
        double g = gray ? next_normal(&n) : 0;
        for (int ch = 0; ch < c; ch++)
            img[i * c + ch] += (float)(sigma * (gray ? g : next_normal(&n)));
    }
}

long sr_rng_poisson(sr_rng *r, double lam)
{
    if (!(lam > 0)) return 0;
    if (lam < 10) { /* Knuth: multiply uniforms until below e^-lam */
        double l = exp(-lam), p = 1;
        long k = -1;
        do {
            k++;
            p *= sr_rng_uniform(r);
        } while (p > l);
        return k;
    }
    /* PTRS, Hoermann 1993 (as numpy's random_poisson_ptrs) */
    double slam = sqrt(lam), loglam = log(lam);
    double b = 0.931 + 2.53 * slam, a = -0.059 + 0.02483 * b;
    double invalpha = 1.1239 + 1.1328 / (b - 3.4), vr = 0.9277 - 3.6224 / (b - 2);
    for (;;) {
        double u = sr_rng_uniform(r) - 0.5, v = sr_rng_uniform(r);
        double us = 0.5 - fabs(u);
        long k = (long)floor((2 * a / us + b) * u + lam + 0.43);
        if (us >= 0.07 && v <= vr) return k;
        if (k < 0 || (us < 0.013 && v > us)) continue;
        if (log(v) + log(invalpha) - log(a / (us * us) + b) <= -lam + k * loglam - lgamma(k + 1.0))
            return k;
    }
}

static double round8(double v)
{
    v = floor(v * 255 + 0.5);
    return (v < 0 ? 0 : v > 255 ? 255 : v) / 255;
}

/* generate_poisson_noise_pt: values rounded to 8 bits, vals = 2^ceil(log2(
 * distinct values)), noise = Poisson(img * vals) / vals - img, times scale;
 * gray: computed on the luma and shared by the channels. */
void sr_degrade_poisson_noise(float *img, size_t npix, int c, double scale, int gray, sr_rng *r)
{
    int cc = gray && c == 3 ? 1 : c;
    unsigned char seen[256] = {0};
    int distinct = 0;
    for (size_t i = 0; i < npix; i++)
        for (int ch = 0; ch < cc; ch++) {
            const float *p = img + i * c;
            double v = cc == 1 && c == 3 ? 0.2989 * p[0] + 0.587 * p[1] + 0.114 * p[2] : p[ch];
            int q = (int)lrint(round8(v) * 255);
            distinct += !seen[q];
            seen[q] = 1;
        }
    double vals = pow(2, ceil(log2(distinct > 0 ? distinct : 1)));
    for (size_t i = 0; i < npix; i++) {
        float *p = img + i * c;
        if (cc == 1) {
            double v = c == 3 ? round8(0.2989 * p[0] + 0.587 * p[1] + 0.114 * p[2]) : round8(p[0]);
            double n = (double)sr_rng_poisson(r, v * vals) / vals - v;
            for (int ch = 0; ch < c; ch++) p[ch] += (float)(n * scale);
        } else {
            for (int ch = 0; ch < c; ch++) {
                double v = round8(p[ch]);
                p[ch] += (float)(((double)sr_rng_poisson(r, v * vals) / vals - v) * scale);
            }
        }
    }
}

static void clip01(float *img, size_t n)
{
    for (size_t i = 0; i < n; i++) img[i] = img[i] < 0 ? 0 : img[i] > 1 ? 1 : img[i];
}

/* ---- the pipelines ------------------------------------------------------------ */

typedef struct buf {
    float *p;
    int w, h;
} buf;

/* resize b to (ow, oh) with a random mode: area, bilinear or bicubic */
static int resize_random(buf *b, int c, int ow, int oh, sr_rng *r, float *tmp, sr_error *err)
{
    static const sr_filter mode[3] = {SR_FILTER_NEAREST, SR_FILTER_BILINEAR, SR_FILTER_BICUBIC};
    int m = (int)sr_rng_below(r, 3);
    if (ow < 1) ow = 1;
    if (oh < 1) oh = 1;
    /* area: the box average (antialiased); bilinear/bicubic as F.interpolate */
    if (sr_imresize_aa(b->p, b->w, b->h, c, tmp, ow, oh, mode[m], m == 0, err)) return -1;
    memcpy(b->p, tmp, (size_t)ow * oh * c * sizeof(float));
    b->w = ow, b->h = oh;
    return 0;
}

static int blur(buf *b, int c, const double *kern, int k, float *tmp, sr_error *err)
{
    if (sr_degrade_filter(b->p, b->w, b->h, c, kern, k, tmp, err)) return -1;
    memcpy(b->p, tmp, (size_t)b->w * b->h * c * sizeof(float));
    return 0;
}

static int jpeg(buf *b, int c, const double *range, sr_rng *r, sr_error *err)
{
    size_t n = (size_t)b->w * b->h * c;
    uint8_t *u = malloc(n);
    if (!u) {
        sr_error_set(err, SR_ERR_NOMEM, "degrade: out of memory");
        return -1;
    }
    int q = (int)lrint(uni(r, range));
    for (size_t i = 0; i < n; i++) u[i] = (uint8_t)lrint(round8(b->p[i]) * 255);
    int rc = sr_jpeg_roundtrip(u, b->w, b->h, c, q, err);
    for (size_t i = 0; !rc && i < n; i++) b->p[i] = u[i] / 255.0f;
    free(u);
    return rc;
}

static double random_scale(sr_rng *r, const double *prob, const double *range)
{
    int t = pick(r, prob, 3); /* up, down, keep */
    double up[2] = {1, range[1]}, down[2] = {range[0], 1};
    return t == 0 ? uni(r, up) : t == 1 ? uni(r, down) : 1.0;
}

static void add_noise(buf *b, int c, double gprob, const double *sigma, const double *pscale,
                      double grayprob, sr_rng *r)
{
    size_t np = (size_t)b->w * b->h;
    if (sr_rng_uniform(r) < gprob) {
        double s = uni(r, sigma) / 255;
        int gray = sr_rng_uniform(r) < grayprob;
        sr_degrade_gaussian_noise(b->p, np, c, s, gray, r);
    } else {
        double s = uni(r, pscale);
        int gray = sr_rng_uniform(r) < grayprob;
        sr_degrade_poisson_noise(b->p, np, c, s, gray, r);
    }
    clip01(b->p, np * c);
}

static int real_pipeline(const sr_degrade_params *p, sr_rng *r, buf *b, int c, int ow, int oh,
                         float *tmp, sr_error *err)
{
    double k1[MAX_KERNEL * MAX_KERNEL], k2[MAX_KERNEL * MAX_KERNEL], ks[MAX_KERNEL * MAX_KERNEL];
    int n1, n2, ns = 1;
    /* the three kernels first, as the dataset draws them */
    random_kernel(r, p->kernel_prob, p->blur_sigma, p->betag, p->betap, p->sinc_prob,
                  p->kernel_size, &n1, k1);
    random_kernel(r, p->kernel_prob2, p->blur_sigma2, p->betag2, p->betap2, p->sinc_prob2,
                  p->kernel_size, &n2, k2);
    ks[0] = 1;
    if (sr_rng_uniform(r) < p->final_sinc_prob) {
        ns = pick_size(r, p->kernel_size);
        sr_kernel_make(SR_KERNEL_SINC, ns, M_PI / 3 + (2 * M_PI / 3) * sr_rng_uniform(r), 0, 0,
                       0, ks);
    }
    /* first degradation */
    if (blur(b, c, k1, n1, tmp, err)) return -1;
    double s = random_scale(r, p->resize_prob, p->resize_range);
    if (resize_random(b, c, (int)(b->w * s), (int)(b->h * s), r, tmp, err)) return -1;
    add_noise(b, c, p->gaussian_noise_prob, p->noise_range, p->poisson_scale_range,
              p->gray_noise_prob, r);
    if (jpeg(b, c, p->jpeg_range, r, err)) return -1;
    /* second degradation */
    if (sr_rng_uniform(r) < p->second_blur_prob && blur(b, c, k2, n2, tmp, err)) return -1;
    s = random_scale(r, p->resize_prob2, p->resize_range2);
    if (resize_random(b, c, (int)(ow * s), (int)(oh * s), r, tmp, err)) return -1;
    add_noise(b, c, p->gaussian_noise_prob2, p->noise_range2, p->poisson_scale_range2,
              p->gray_noise_prob2, r);
    /* JPEG and [resize back + sinc], in a random order */
    if (sr_rng_uniform(r) < 0.5) {
        if (resize_random(b, c, ow, oh, r, tmp, err) || blur(b, c, ks, ns, tmp, err)) return -1;
        if (jpeg(b, c, p->jpeg_range2, r, err)) return -1;
    } else {
        if (jpeg(b, c, p->jpeg_range2, r, err)) return -1;
        if (resize_random(b, c, ow, oh, r, tmp, err) || blur(b, c, ks, ns, tmp, err)) return -1;
    }
    for (size_t i = 0; i < (size_t)ow * oh * c; i++) b->p[i] = (float)round8(b->p[i]);
    return 0;
}

static int microscopy_pipeline(const sr_degrade_params *p, sr_rng *r, buf *b, int c, int ow,
                               int oh, double quant, float *tmp, sr_error *err)
{
    double kern[MAX_KERNEL * MAX_KERNEL];
    double sigma = uni(r, p->psf_sigma);
    int k = 2 * (int)ceil(3 * sigma) + 1;
    if (k > MAX_KERNEL) k = MAX_KERNEL;
    sr_kernel_make(SR_KERNEL_ISO, k, sigma, sigma, 0, 1, kern);
    if (blur(b, c, kern, k, tmp, err)) return -1;
    /* the camera pixel integrates the light over its area */
    if (sr_imresize_aa(b->p, b->w, b->h, c, tmp, ow, oh, SR_FILTER_NEAREST, 1, err)) return -1;
    memcpy(b->p, tmp, (size_t)ow * oh * c * sizeof(float));
    b->w = ow, b->h = oh;
    /* photon levels span decades: log-uniform */
    double photons = exp(log(p->photons[0]) + (log(p->photons[1]) - log(p->photons[0])) *
                                                  sr_rng_uniform(r));
    double read = uni(r, p->read_noise), off = uni(r, p->offset);
    for (size_t i = 0; i < (size_t)ow * oh * c; i++) {
        double v = b->p[i] > 0 ? b->p[i] : 0;
        v = (double)sr_rng_poisson(r, v * photons) / photons;
        v += off + read * sr_rng_normal(r);
        if (quant > 0) v = floor(v / quant + 0.5) * quant;
        if (v < 0) v = 0; /* the converter's floor */
        b->p[i] = (float)(v - off);
    }
    return 0;
}

int sr_degrade_apply(const sr_degrade_params *p, sr_rng *r, const float *hr, int w, int h, int c,
                     float *lr, int ow, int oh, double quant_step, sr_error *err)
{
    if (w < 1 || h < 1 || ow < 1 || oh < 1 || (c != 1 && c != 3)) {
        sr_error_set(err, SR_ERR_ARG, "degrade: invalid size %dx%dx%d -> %dx%d", w, h, c, ow, oh);
        return -1;
    }
    if (p->kind == SR_DEGRADE_BICUBIC)
        return sr_imresize(hr, w, h, c, lr, ow, oh, SR_FILTER_BICUBIC, err);
    /* the first resize may enlarge by up to resize_range[1] */
    double grow = p->resize_range[1] > 1 ? p->resize_range[1] : 1;
    if (p->resize_range2[1] > grow) grow = p->resize_range2[1]; /* of ow <= w */
    size_t cap = (size_t)(ceil(w * grow) + 1) * (size_t)(ceil(h * grow) + 1) * c;
    buf b = {malloc(cap * sizeof(float)), w, h};
    float *tmp = malloc(cap * sizeof(float));
    int rc = -1;
    if (!b.p || !tmp) {
        sr_error_set(err, SR_ERR_NOMEM, "degrade: out of memory");
    } else {
        memcpy(b.p, hr, (size_t)w * h * c * sizeof(float));
        rc = p->kind == SR_DEGRADE_REAL
                 ? real_pipeline(p, r, &b, c, ow, oh, tmp, err)
                 : microscopy_pipeline(p, r, &b, c, ow, oh, quant_step, tmp, err);
        if (!rc) memcpy(lr, b.p, (size_t)ow * oh * c * sizeof(float));
    }
    free(b.p);
    free(tmp);
    return rc;
}
