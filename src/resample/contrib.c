/* contrib.c: resampling kernels and per-output-pixel contributions.
 *
 * The geometry follows MATLAB imresize: output pixel i (0-based) sits at
 * input coordinate u = (i + 0.5) / scale - 0.5 (pixel centres aligned), and
 * when shrinking the kernel is stretched by 1/scale so that it low-pass
 * filters (antialiasing). The raw form keeps MATLAB's tap layout bit for bit
 * (imresize.c needs it for exact parity); the contiguous form is what the
 * streaming stage's inner loops want. */
#include "contrib.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

static double cubic(double x)
{
    double ax = fabs(x), ax2 = ax * ax, ax3 = ax2 * ax;
    if (ax <= 1.0)
        return 1.5 * ax3 - 2.5 * ax2 + 1.0;
    if (ax <= 2.0)
        return -0.5 * ax3 + 2.5 * ax2 - 4.0 * ax + 2.0;
    return 0.0;
}

static double lanczos3(double x)
{
    if (!(fabs(x) < 3.0))
        return 0.0;
    /* MATLAB adds eps to numerator and denominator to get 1 at x = 0. */
    return (sin(M_PI * x) * sin(M_PI * x / 3.0) + DBL_EPSILON) /
           (M_PI * M_PI * x * x / 3.0 + DBL_EPSILON);
}

double sr_kernel_eval(sr_filter f, double x)
{
    switch (f) {
    case SR_FILTER_NEAREST:
        return (-0.5 <= x && x < 0.5) ? 1.0 : 0.0;
    case SR_FILTER_BILINEAR:
        if (-1.0 <= x && x < 0.0)
            return x + 1.0;
        if (0.0 <= x && x <= 1.0)
            return 1.0 - x;
        return 0.0;
    case SR_FILTER_BICUBIC:
        return cubic(x);
    case SR_FILTER_LANCZOS3:
        return lanczos3(x);
    }
    return 0.0;
}

double sr_kernel_width(sr_filter f)
{
    switch (f) {
    case SR_FILTER_NEAREST:
        return 1.0;
    case SR_FILTER_BILINEAR:
        return 2.0;
    case SR_FILTER_BICUBIC:
        return 4.0;
    case SR_FILTER_LANCZOS3:
        return 6.0;
    }
    return 4.0;
}

int sr_filter_from_name(const char *name)
{
    if (!name)
        return -1;
    if (!strcmp(name, "nearest") || !strcmp(name, "box"))
        return SR_FILTER_NEAREST;
    if (!strcmp(name, "bilinear") || !strcmp(name, "linear") || !strcmp(name, "triangle"))
        return SR_FILTER_BILINEAR;
    if (!strcmp(name, "bicubic") || !strcmp(name, "cubic") || !strcmp(name, "catrom"))
        return SR_FILTER_BICUBIC;
    if (!strcmp(name, "lanczos") || !strcmp(name, "lanczos3"))
        return SR_FILTER_LANCZOS3;
    return -1;
}

const char *sr_filter_name(sr_filter f)
{
    switch (f) {
    case SR_FILTER_NEAREST:
        return "nearest";
    case SR_FILTER_BILINEAR:
        return "bilinear";
    case SR_FILTER_BICUBIC:
        return "bicubic";
    case SR_FILTER_LANCZOS3:
        return "lanczos";
    }
    return "unknown";
}

long sr_index_symmetric(long i, long n)
{
    long period = 2 * n;
    long m = i % period;
    if (m < 0)
        m += period;
    return m < n ? m : period - 1 - m;
}

long sr_index_clamp(long i, long n)
{
    return i < 0 ? 0 : (i >= n ? n - 1 : i);
}

static int valid_filter(sr_filter f)
{
    return f == SR_FILTER_NEAREST || f == SR_FILTER_BILINEAR || f == SR_FILTER_BICUBIC ||
           f == SR_FILTER_LANCZOS3;
}

int sr_contrib_raw_make(sr_contrib_raw *c, int in_len, int out_len, double scale, sr_filter f,
                        int antialias, sr_error *err)
{
    memset(c, 0, sizeof *c);
    if (in_len < 1 || out_len < 1 || !(scale > 0.0) || !isfinite(scale) || !valid_filter(f)) {
        sr_error_set(err, SR_ERR_ARG, "resample: invalid size %d -> %d or filter %d", in_len,
                     out_len, (int)f);
        return -1;
    }
    double kw = sr_kernel_width(f);
    int stretch = scale < 1.0 && antialias;
    if (stretch)
        kw /= scale;
    double ntaps = ceil(kw) + 2.0;
    if (ntaps > (double)INT32_MAX / 2 ||
        (double)out_len * ntaps > (double)(SIZE_MAX / sizeof(double)) / 2) {
        sr_error_set(err, SR_ERR_TOO_BIG, "resample: %d -> %d needs too many filter taps", in_len,
                     out_len);
        return -1;
    }
    int taps = (int)ntaps;
    size_t n = (size_t)out_len * (size_t)taps;
    c->idx = malloc(n * sizeof *c->idx);
    c->w = malloc(n * sizeof *c->w);
    if (!c->idx || !c->w) {
        sr_contrib_raw_free(c);
        sr_error_set(err, SR_ERR_NOMEM, "resample: out of memory for %d x %d filter taps",
                     out_len, taps);
        return -1;
    }
    c->out_len = out_len;
    c->taps = taps;
    for (int i = 0; i < out_len; i++) {
        /* Written as MATLAB (1-based) so the doubles come out identical. */
        double x = (double)(i + 1);
        double u = x / scale + 0.5 * (1.0 - 1.0 / scale);
        double left = floor(u - kw / 2.0);
        long *ix = c->idx + (size_t)i * taps;
        double *w = c->w + (size_t)i * taps;
        for (int k = 0; k < taps; k++) {
            double pos = left + (double)k; /* 1-based input pixel */
            w[k] = stretch ? scale * sr_kernel_eval(f, scale * (u - pos))
                           : sr_kernel_eval(f, u - pos);
            ix[k] = (long)pos - 1;
        }
        double sum = 0.0;
        for (int k = 0; k < taps; k++)
            sum += w[k];
        for (int k = 0; k < taps; k++)
            w[k] /= sum;
    }
    return 0;
}

void sr_contrib_raw_free(sr_contrib_raw *c)
{
    free(c->idx);
    free(c->w);
    c->idx = NULL;
    c->w = NULL;
}

/* Nearest in exact integer arithmetic: input floor((x + 0.5) * in / out),
 * so exact ties (which MATLAB's half-open box resolves to the right-hand
 * pixel) do not depend on how u rounds in floating point. */
static int contrib_nearest(sr_contrib *c, int in_len, int out_len, sr_error *err)
{
    c->out_len = out_len;
    c->stride = 1;
    c->first = malloc((size_t)out_len * sizeof *c->first);
    c->count = malloc((size_t)out_len * sizeof *c->count);
    c->w = malloc((size_t)out_len * sizeof *c->w);
    if (!c->first || !c->count || !c->w) {
        sr_contrib_free(c);
        sr_error_set(err, SR_ERR_NOMEM, "resample: out of memory for filter taps");
        return -1;
    }
    for (int x = 0; x < out_len; x++) {
        int64_t i = ((2 * (int64_t)x + 1) * in_len) / (2 * (int64_t)out_len);
        c->first[x] = (int)(i < in_len ? i : in_len - 1);
        c->count[x] = 1;
        c->w[x] = 1.0f;
    }
    return 0;
}

int sr_contrib_make(sr_contrib *c, int in_len, int out_len, sr_filter f, sr_error *err)
{
    memset(c, 0, sizeof *c);
    if (f == SR_FILTER_NEAREST && in_len >= 1 && out_len >= 1)
        return contrib_nearest(c, in_len, out_len, err);
    sr_contrib_raw raw;
    double scale = (double)out_len / (double)in_len;
    if (sr_contrib_raw_make(&raw, in_len, out_len, scale, f, 1, err))
        return -1;
    int taps = raw.taps;
    c->out_len = out_len;
    c->stride = taps;
    c->first = malloc((size_t)out_len * sizeof *c->first);
    c->count = malloc((size_t)out_len * sizeof *c->count);
    c->w = calloc((size_t)out_len * (size_t)taps, sizeof *c->w);
    double *acc = malloc((size_t)taps * sizeof *acc);
    if (!c->first || !c->count || !c->w || !acc) {
        free(acc);
        sr_contrib_raw_free(&raw);
        sr_contrib_free(c);
        sr_error_set(err, SR_ERR_NOMEM, "resample: out of memory for filter taps");
        return -1;
    }
    for (int i = 0; i < out_len; i++) {
        const long *ix = raw.idx + (size_t)i * taps;
        const double *w = raw.w + (size_t)i * taps;
        /* Clamped taps form the run lo..hi (at most `taps` long, since the
         * raw taps are consecutive); fold the repeats into it. */
        long lo = sr_index_clamp(ix[0], in_len);
        long hi = sr_index_clamp(ix[taps - 1], in_len);
        int run = (int)(hi - lo + 1);
        for (int k = 0; k < run; k++)
            acc[k] = 0.0;
        for (int k = 0; k < taps; k++)
            acc[sr_index_clamp(ix[k], in_len) - lo] += w[k];
        int a = 0, b = run;
        while (a < b - 1 && acc[a] == 0.0)
            a++;
        while (b - 1 > a && acc[b - 1] == 0.0)
            b--;
        c->first[i] = (int)lo + a;
        c->count[i] = b - a;
        for (int k = a; k < b; k++)
            c->w[(size_t)i * taps + (k - a)] = (float)acc[k];
    }
    free(acc);
    sr_contrib_raw_free(&raw);
    return 0;
}

void sr_contrib_free(sr_contrib *c)
{
    free(c->first);
    free(c->count);
    free(c->w);
    c->first = c->count = NULL;
    c->w = NULL;
}
