/* resample.c: the streaming separable resampler stage.
 *
 * Each input row is resampled horizontally once, into a ring of
 * out_w-wide rows; each output row is then a weighted sum of a few ring rows
 * (the vertical pass). Input rows come through an sr_rowcache that never
 * holds more than the vertical window, so memory is window x width whatever
 * the image height. Tap positions and weights are precomputed per output
 * column and per output row (contrib.c). */
#include "contrib.h"

#include <stdlib.h>
#include <string.h>

typedef struct resample_stage {
    sr_stage base;
    sr_stage *src;
    sr_rowcache *cache;
    sr_contrib cx, cy;
    int premul;       /* premultiply colour by alpha (last channel)          */
    int *win_lo;      /* per output row: lowest input row still needed       */
    int *win_hi;      /* per output row: highest input row needed so far     */
    int ring_rows;    /* capacity of the ring of horizontally resampled rows */
    float *ring;      /* ring_rows x (out_w * channels)                      */
    float *premul_row;/* one input row, premultiplied                        */
    int done_hi;      /* highest input row resampled into the ring (-1)      */
    int next_y;       /* next output row expected                            */
} resample_stage;

/* Horizontal pass of one row. C is a compile-time constant at each call
 * site below, so the channel loop unrolls. */
static inline void hpass_c(const float *in, float *out, const sr_contrib *cx, int C)
{
    const int stride = cx->stride;
    for (int x = 0; x < cx->out_len; x++) {
        const float *w = cx->w + (size_t)x * stride;
        const float *p = in + (size_t)cx->first[x] * C;
        const int n = cx->count[x];
        float acc[4] = {0.f, 0.f, 0.f, 0.f};
        for (int k = 0; k < n; k++)
            for (int c = 0; c < C; c++)
                acc[c] += w[k] * p[k * C + c];
        for (int c = 0; c < C; c++)
            out[(size_t)x * C + c] = acc[c];
    }
}

static void hpass_generic(const float *in, float *out, const sr_contrib *cx, int C)
{
    const int stride = cx->stride;
    for (int x = 0; x < cx->out_len; x++) {
        const float *w = cx->w + (size_t)x * stride;
        const float *p = in + (size_t)cx->first[x] * C;
        float *o = out + (size_t)x * C;
        for (int c = 0; c < C; c++)
            o[c] = 0.f;
        for (int k = 0; k < cx->count[x]; k++)
            for (int c = 0; c < C; c++)
                o[c] += w[k] * p[(size_t)k * C + c];
    }
}

static void hpass(const float *in, float *out, const sr_contrib *cx, int C)
{
    switch (C) {
    case 1: hpass_c(in, out, cx, 1); break;
    case 2: hpass_c(in, out, cx, 2); break;
    case 3: hpass_c(in, out, cx, 3); break;
    case 4: hpass_c(in, out, cx, 4); break;
    default: hpass_generic(in, out, cx, C); break;
    }
}

static void premultiply(const float *in, float *out, int w, int C)
{
    for (int x = 0; x < w; x++) {
        const float *p = in + (size_t)x * C;
        float *o = out + (size_t)x * C;
        float a = p[C - 1];
        for (int c = 0; c < C - 1; c++)
            o[c] = p[c] * a;
        o[C - 1] = a;
    }
}

static void unpremultiply(float *row, int w, int C)
{
    for (int x = 0; x < w; x++) {
        float *o = row + (size_t)x * C;
        float a = o[C - 1];
        float inv = a > 0.f ? 1.f / a : 0.f;
        for (int c = 0; c < C - 1; c++)
            o[c] *= inv;
    }
}

static float *ring_row(resample_stage *s, int y)
{
    size_t rowf = (size_t)s->base.width * s->base.channels;
    return s->ring + (size_t)(y % s->ring_rows) * rowf;
}

/* Resample input rows up to `hi` horizontally into the ring, skipping rows
 * below `lo` that no output row needs (large downscales). */
static int fill_ring(resample_stage *s, int lo, int hi, sr_error *err)
{
    int start = s->done_hi + 1 > lo ? s->done_hi + 1 : lo;
    if (start > hi)
        return 0;
    const float *rows = sr_rowcache_get(s->cache, start, hi + 1, err);
    if (!rows)
        return -1;
    int C = s->src->channels;
    size_t in_rowf = (size_t)s->src->width * C;
    for (int r = start; r <= hi; r++) {
        const float *in = rows + (size_t)(r - start) * in_rowf;
        if (s->premul) {
            premultiply(in, s->premul_row, s->src->width, C);
            in = s->premul_row;
        }
        hpass(in, ring_row(s, r), &s->cx, C);
    }
    s->done_hi = hi;
    return 0;
}

static void vpass(resample_stage *s, int y, float *out)
{
    size_t rowf = (size_t)s->base.width * s->base.channels;
    const sr_contrib *cy = &s->cy;
    const float *w = cy->w + (size_t)y * cy->stride;
    int first = cy->first[y];
    const float *r0 = ring_row(s, first);
    for (size_t i = 0; i < rowf; i++)
        out[i] = w[0] * r0[i];
    for (int k = 1; k < cy->count[y]; k++) {
        const float *r = ring_row(s, first + k);
        const float wk = w[k];
        for (size_t i = 0; i < rowf; i++)
            out[i] += wk * r[i];
    }
}

static int resample_pull(sr_stage *self, int y0, int n, float *out, sr_error *err)
{
    resample_stage *s = (resample_stage *)self;
    if (y0 < s->next_y || n < 0 || y0 > self->height - n) {
        sr_error_set(err, SR_ERR_ARG, "internal: resample rows [%d,%d) requested out of order",
                     y0, y0 + n);
        return -1;
    }
    size_t rowf = (size_t)self->width * self->channels;
    for (int y = y0; y < y0 + n; y++) {
        if (fill_ring(s, s->win_lo[y], s->win_hi[y], err))
            return -1;
        float *o = out + (size_t)(y - y0) * rowf;
        vpass(s, y, o);
        if (s->premul)
            unpremultiply(o, self->width, self->channels);
    }
    s->next_y = y0 + n;
    return 0;
}

static void resample_destroy(sr_stage *self)
{
    resample_stage *s = (resample_stage *)self;
    sr_rowcache_free(s->cache);
    sr_stage_free(s->src);
    sr_contrib_free(&s->cx);
    sr_contrib_free(&s->cy);
    free(s->win_lo);
    free(s->win_hi);
    free(s->ring);
    free(s->premul_row);
    free(s);
}

/* The window of input rows for output row y: rows from the lowest first
 * tap of any later row (so evicted rows are never needed again) up to the
 * highest last tap so far (so the ring only ever grows downwards). */
static int plan_window(resample_stage *s, sr_error *err)
{
    const sr_contrib *cy = &s->cy;
    int oh = cy->out_len;
    s->win_lo = malloc((size_t)oh * sizeof *s->win_lo);
    s->win_hi = malloc((size_t)oh * sizeof *s->win_hi);
    if (!s->win_lo || !s->win_hi) {
        sr_error_set(err, SR_ERR_NOMEM, "resample: out of memory");
        return -1;
    }
    int lo = cy->first[oh - 1];
    for (int y = oh - 1; y >= 0; y--) {
        if (cy->first[y] < lo)
            lo = cy->first[y];
        s->win_lo[y] = lo;
    }
    int hi = -1, rows = 1;
    for (int y = 0; y < oh; y++) {
        int last = cy->first[y] + cy->count[y] - 1;
        if (last > hi)
            hi = last;
        s->win_hi[y] = hi;
        if (hi - s->win_lo[y] + 1 > rows)
            rows = hi - s->win_lo[y] + 1;
    }
    s->ring_rows = rows;
    return 0;
}

sr_stage *sr_resample_stage_new(sr_stage *src, int out_w, int out_h, sr_filter f,
                                int premultiply_alpha, sr_error *err)
{
    if (!src)
        return NULL;
    if (out_w < 1 || out_h < 1 || src->width < 1 || src->height < 1 || src->channels < 1) {
        sr_error_set(err, SR_ERR_ARG, "resample: cannot resize %dx%d to %dx%d", src->width,
                     src->height, out_w, out_h);
        sr_stage_free(src);
        return NULL;
    }
    resample_stage *s = calloc(1, sizeof *s);
    if (!s) {
        sr_error_set(err, SR_ERR_NOMEM, "resample: out of memory");
        sr_stage_free(src);
        return NULL;
    }
    s->src = src;
    s->base.width = out_w;
    s->base.height = out_h;
    s->base.channels = src->channels;
    s->base.pull = resample_pull;
    s->base.destroy = resample_destroy;
    s->premul = premultiply_alpha && (src->channels == 2 || src->channels == 4);
    s->done_hi = -1;
    if (sr_contrib_make(&s->cx, src->width, out_w, f, err) ||
        sr_contrib_make(&s->cy, src->height, out_h, f, err) || plan_window(s, err))
        goto fail;
    size_t rowf = (size_t)out_w * (size_t)src->channels;
    if (rowf > SIZE_MAX / sizeof(float) / (size_t)s->ring_rows) {
        sr_error_set(err, SR_ERR_TOO_BIG, "resample: output rows of %d pixels are too wide", out_w);
        goto fail;
    }
    s->ring = malloc(rowf * (size_t)s->ring_rows * sizeof(float));
    if (s->premul)
        s->premul_row = malloc((size_t)src->width * src->channels * sizeof(float));
    if (!s->ring || (s->premul && !s->premul_row)) {
        sr_error_set(err, SR_ERR_NOMEM, "resample: out of memory for a %d-row window of %d pixels",
                     s->ring_rows, out_w);
        goto fail;
    }
    s->cache = sr_rowcache_new(src, s->ring_rows, err);
    if (!s->cache)
        goto fail;
    return &s->base;
fail:
    resample_destroy(&s->base);
    return NULL;
}
