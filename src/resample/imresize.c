/* imresize.c: whole-image resize exactly as MATLAB's imresize (and
 * ../shared/peers/matlab_imresize.py) does it: MATLAB's contributions
 * (contrib.c), out-of-range taps mirrored ('symmetric'), the two dimensions
 * resized one after the other with the smaller scale first (rows first on a
 * tie), taps summed in order in double. The uint8 variant rounds half away
 * from zero and saturates after each pass, as MATLAB's uint8 path does;
 * that is what makes it bit-exact with make_lr.py. */
#include "contrib.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static double round_u8(double v)
{
    v = floor(v + 0.5);
    return v < 0.0 ? 0.0 : (v > 255.0 ? 255.0 : v);
}

/* Vertical pass: (w x h x c) -> (w x oh x c). */
static void resize_rows(const double *in, int w, int h, int c, const sr_contrib_raw *cr,
                        const long *map, double *out)
{
    size_t rowd = (size_t)w * c;
    for (int i = 0; i < cr->out_len; i++) {
        double *o = out + (size_t)i * rowd;
        const double *wt = cr->w + (size_t)i * cr->taps;
        const long *ix = map + (size_t)i * cr->taps;
        const double *r0 = in + (size_t)ix[0] * rowd;
        for (size_t j = 0; j < rowd; j++)
            o[j] = r0[j] * wt[0];
        for (int k = 1; k < cr->taps; k++) {
            const double *r = in + (size_t)ix[k] * rowd;
            const double wk = wt[k];
            for (size_t j = 0; j < rowd; j++)
                o[j] += r[j] * wk;
        }
    }
    (void)h;
}

/* Horizontal pass: (w x h x c) -> (ow x h x c). */
static void resize_cols(const double *in, int w, int h, int c, const sr_contrib_raw *cr,
                        const long *map, double *out)
{
    int ow = cr->out_len;
    for (int y = 0; y < h; y++) {
        const double *row = in + (size_t)y * w * c;
        double *orow = out + (size_t)y * ow * c;
        for (int j = 0; j < ow; j++) {
            const double *wt = cr->w + (size_t)j * cr->taps;
            const long *ix = map + (size_t)j * cr->taps;
            for (int ch = 0; ch < c; ch++) {
                double acc = row[(size_t)ix[0] * c + ch] * wt[0];
                for (int k = 1; k < cr->taps; k++)
                    acc += row[(size_t)ix[k] * c + ch] * wt[k];
                orow[(size_t)j * c + ch] = acc;
            }
        }
    }
}

/* One 1-D pass along axis (0 = rows, 1 = columns). */
static int resize_axis(const double *in, int w, int h, int c, int axis, int out_len,
                       sr_filter f, int aa, int rnd, double *out, sr_error *err)
{
    int in_len = axis == 0 ? h : w;
    double scale = (double)out_len / (double)in_len;
    sr_contrib_raw cr;
    if (sr_contrib_raw_make(&cr, in_len, out_len, scale, f, aa, err))
        return -1;
    /* Mirror the taps in place ('symmetric' border). */
    size_t nt = (size_t)cr.out_len * cr.taps;
    for (size_t t = 0; t < nt; t++)
        cr.idx[t] = sr_index_symmetric(cr.idx[t], in_len);
    if (axis == 0)
        resize_rows(in, w, h, c, &cr, cr.idx, out);
    else
        resize_cols(in, w, h, c, &cr, cr.idx, out);
    sr_contrib_raw_free(&cr);
    if (rnd) {
        size_t n = (size_t)(axis == 0 ? w : out_len) * (size_t)(axis == 0 ? out_len : h) * c;
        for (size_t i = 0; i < n; i++)
            out[i] = round_u8(out[i]);
    }
    return 0;
}

/* in: w x h x c doubles; out: ow x oh x c doubles. rnd: uint8 semantics. */
static int imresize_core(const double *in, int w, int h, int c, double *out, int ow, int oh,
                         sr_filter f, int aa, int rnd, sr_error *err)
{
    if (!in || !out || w < 1 || h < 1 || c < 1 || ow < 1 || oh < 1) {
        sr_error_set(err, SR_ERR_ARG, "imresize: invalid size %dx%dx%d -> %dx%d", w, h, c, ow, oh);
        return -1;
    }
    double sy = (double)oh / h, sx = (double)ow / w;
    int first = sx < sy ? 1 : 0; /* smaller scale first, rows on a tie */
    /* Intermediate image after the first pass. */
    int mw = first == 0 ? w : ow, mh = first == 0 ? oh : h;
    size_t mid_n = (size_t)mw * (size_t)mh * (size_t)c;
    double *mid = malloc(mid_n * sizeof *mid);
    if (!mid) {
        sr_error_set(err, SR_ERR_NOMEM, "imresize: out of memory for %dx%d pixels", mw, mh);
        return -1;
    }
    int rc = resize_axis(in, w, h, c, first, first == 0 ? oh : ow, f, aa, rnd, mid, err);
    if (!rc)
        rc = resize_axis(mid, mw, mh, c, 1 - first, first == 0 ? ow : oh, f, aa, rnd, out, err);
    free(mid);
    return rc;
}

static double *alloc_doubles(int w, int h, int c, sr_error *err)
{
    if (w < 1 || h < 1 || c < 1) {
        sr_error_set(err, SR_ERR_ARG, "imresize: invalid size %dx%dx%d", w, h, c);
        return NULL;
    }
    double *p = malloc((size_t)w * (size_t)h * (size_t)c * sizeof *p);
    if (!p)
        sr_error_set(err, SR_ERR_NOMEM, "imresize: out of memory for %dx%d pixels", w, h);
    return p;
}

/* Both entry points: samples in and out as float or uint8 (u8 also rounds
 * and saturates as MATLAB's uint8 path does, inside imresize_core). */
static int imresize_typed(const void *in, void *out, int is_u8, int w, int h, int c, int ow, int oh,
                          sr_filter f, int aa, sr_error *err)
{
    double *din = alloc_doubles(w, h, c, err);
    double *dout = din ? alloc_doubles(ow, oh, c, err) : NULL;
    int rc = -1;
    if (din && dout && in && out) {
        size_t n = (size_t)w * h * c;
        for (size_t i = 0; i < n; i++)
            din[i] = is_u8 ? ((const uint8_t *)in)[i] : ((const float *)in)[i];
        rc = imresize_core(din, w, h, c, dout, ow, oh, f, aa, is_u8, err);
        if (!rc) {
            size_t m = (size_t)ow * oh * c;
            for (size_t i = 0; i < m; i++) {
                if (is_u8)
                    ((uint8_t *)out)[i] = (uint8_t)dout[i];
                else
                    ((float *)out)[i] = (float)dout[i];
            }
        }
    } else if (din && dout) {
        sr_error_set(err, SR_ERR_ARG, "imresize: NULL image");
    }
    free(din);
    free(dout);
    return rc;
}

int sr_imresize(const float *in, int w, int h, int c, float *out, int ow, int oh, sr_filter f,
                sr_error *err)
{
    return imresize_typed(in, out, 0, w, h, c, ow, oh, f, f != SR_FILTER_NEAREST, err);
}

int sr_imresize_aa(const float *in, int w, int h, int c, float *out, int ow, int oh, sr_filter f,
                   int antialias, sr_error *err)
{
    return imresize_typed(in, out, 0, w, h, c, ow, oh, f, antialias != 0, err);
}

int sr_imresize_u8(const uint8_t *in, int w, int h, int c, uint8_t *out, int ow, int oh,
                   sr_filter f, sr_error *err)
{
    return imresize_typed(in, out, 1, w, h, c, ow, oh, f, f != SR_FILTER_NEAREST, err);
}
