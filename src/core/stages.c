/* stages.c: the source stage (file rows to float) and the small per-row
 * channel stages (select, gray<->RGB, merge). */
#include "srgan/pipeline.h"

#include <stdlib.h>
#include <string.h>

void sr_stage_free(sr_stage *s)
{
    if (s)
        s->destroy(s);
}

static sr_stage *alloc_stage(size_t size, sr_error *err)
{
    sr_stage *s = calloc(1, size);
    if (!s)
        sr_error_set(err, SR_ERR_NOMEM, "out of memory");
    return s;
}

/* ---- source ------------------------------------------------------------ */

typedef struct source_stage {
    sr_stage base;
    sr_reader *reader;
    sr_dtype dtype;
    int next_row;
    void *raw; /* one band of native rows */
    int raw_rows;
} source_stage;

enum { SOURCE_BAND = 16 };

static int source_pull(sr_stage *self, int y0, int n, float *out, sr_error *err)
{
    source_stage *s = (source_stage *)self;
    if (y0 != s->next_row) {
        sr_error_set(err, SR_ERR_ARG, "internal: source rows requested out of order (%d, expected %d)",
                     y0, s->next_row);
        return -1;
    }
    const sr_image_info *info = sr_reader_info(s->reader);
    size_t row_samples = (size_t)self->width * self->channels;
    while (n > 0) {
        int k = n < s->raw_rows ? n : s->raw_rows;
        if (sr_reader_read_rows(s->reader, s->raw, k, err))
            return -1;
        sr_samples_to_float(s->raw, info->dtype, row_samples * k, out);
        out += row_samples * k;
        n -= k;
        s->next_row += k;
    }
    return 0;
}

static void source_destroy(sr_stage *self)
{
    source_stage *s = (source_stage *)self;
    free(s->raw);
    free(s);
}

sr_stage *sr_source_stage_new(sr_reader *r, sr_error *err)
{
    const sr_image_info *info = sr_reader_info(r);
    source_stage *s = (source_stage *)alloc_stage(sizeof *s, err);
    if (!s)
        return NULL;
    s->raw_rows = SOURCE_BAND;
    s->raw = malloc(sr_row_bytes(info) * s->raw_rows + 1);
    if (!s->raw) {
        free(s);
        sr_error_set(err, SR_ERR_NOMEM, "out of memory");
        return NULL;
    }
    s->base.width = info->width;
    s->base.height = info->height;
    s->base.channels = info->channels;
    s->base.pull = source_pull;
    s->base.destroy = source_destroy;
    s->reader = r;
    s->dtype = info->dtype;
    return &s->base;
}

/* ---- channel mapping: one input row becomes one output row ------------- */

typedef void (*row_map_fn)(const float *in, int width, int cin, float *out, int cout, int arg);

typedef struct map_stage {
    sr_stage base;
    sr_stage *src;
    row_map_fn fn;
    int arg;
    float *tmp; /* input rows for one pull */
    int tmp_rows;
} map_stage;

static int map_pull(sr_stage *self, int y0, int n, float *out, sr_error *err)
{
    map_stage *m = (map_stage *)self;
    size_t in_row = (size_t)m->src->width * m->src->channels;
    size_t out_row = (size_t)self->width * self->channels;
    while (n > 0) {
        int k = n < m->tmp_rows ? n : m->tmp_rows;
        if (sr_stage_pull(m->src, y0, k, m->tmp, err))
            return -1;
        for (int i = 0; i < k; i++)
            m->fn(m->tmp + in_row * i, self->width, m->src->channels, out + out_row * i,
                  self->channels, m->arg);
        out += out_row * k;
        y0 += k;
        n -= k;
    }
    return 0;
}

static void map_destroy(sr_stage *self)
{
    map_stage *m = (map_stage *)self;
    sr_stage_free(m->src);
    free(m->tmp);
    free(m);
}

static sr_stage *map_stage_new(sr_stage *src, int cout, row_map_fn fn, int arg, sr_error *err)
{
    if (!src)
        return NULL;
    map_stage *m = (map_stage *)alloc_stage(sizeof *m, err);
    if (m) {
        m->tmp_rows = 16;
        m->tmp = malloc((size_t)src->width * src->channels * m->tmp_rows * sizeof(float) + 1);
    }
    if (!m || !m->tmp) {
        if (m)
            free(m);
        sr_error_set(err, SR_ERR_NOMEM, "out of memory");
        sr_stage_free(src);
        return NULL;
    }
    m->base.width = src->width;
    m->base.height = src->height;
    m->base.channels = cout;
    m->base.pull = map_pull;
    m->base.destroy = map_destroy;
    m->src = src;
    m->fn = fn;
    m->arg = arg;
    return &m->base;
}

static void select_row(const float *in, int width, int cin, float *out, int cout, int first)
{
    for (int x = 0; x < width; x++)
        for (int c = 0; c < cout; c++)
            out[x * cout + c] = in[x * cin + first + c];
}

sr_stage *sr_select_stage_new(sr_stage *src, int first, int count, sr_error *err)
{
    if (src && (first < 0 || count < 1 || first + count > src->channels)) {
        sr_error_set(err, SR_ERR_ARG, "internal: channels [%d,%d) of %d", first, first + count,
                     src->channels);
        sr_stage_free(src);
        return NULL;
    }
    return map_stage_new(src, count, select_row, first, err);
}

static void gray_to_rgb_row(const float *in, int width, int cin, float *out, int cout, int arg)
{
    (void)cin, (void)cout, (void)arg;
    for (int x = 0; x < width; x++)
        out[3 * x] = out[3 * x + 1] = out[3 * x + 2] = in[x];
}

sr_stage *sr_gray_to_rgb_stage_new(sr_stage *src, sr_error *err)
{
    if (src && src->channels != 1) {
        sr_error_set(err, SR_ERR_ARG, "internal: gray_to_rgb needs 1 channel, got %d", src->channels);
        sr_stage_free(src);
        return NULL;
    }
    return map_stage_new(src, 3, gray_to_rgb_row, 0, err);
}

static void rgb_to_gray_row(const float *in, int width, int cin, float *out, int cout, int arg)
{
    (void)cin, (void)cout, (void)arg;
    for (int x = 0; x < width; x++)
        out[x] = (in[3 * x] + in[3 * x + 1] + in[3 * x + 2]) * (1.0f / 3.0f);
}

sr_stage *sr_rgb_to_gray_stage_new(sr_stage *src, sr_error *err)
{
    if (src && src->channels != 3) {
        sr_error_set(err, SR_ERR_ARG, "internal: rgb_to_gray needs 3 channels, got %d", src->channels);
        sr_stage_free(src);
        return NULL;
    }
    return map_stage_new(src, 1, rgb_to_gray_row, 0, err);
}

/* ---- merge: interleave the channels of two stages ---------------------- */

typedef struct merge_stage {
    sr_stage base;
    sr_stage *a, *b;
    float *ta, *tb;
    int tmp_rows;
} merge_stage;

static int merge_pull(sr_stage *self, int y0, int n, float *out, sr_error *err)
{
    merge_stage *m = (merge_stage *)self;
    int ca = m->a->channels, cb = m->b->channels, c = self->channels;
    while (n > 0) {
        int k = n < m->tmp_rows ? n : m->tmp_rows;
        if (sr_stage_pull(m->a, y0, k, m->ta, err) || sr_stage_pull(m->b, y0, k, m->tb, err))
            return -1;
        size_t px = (size_t)self->width * k;
        for (size_t i = 0; i < px; i++) {
            for (int j = 0; j < ca; j++)
                out[i * c + j] = m->ta[i * ca + j];
            for (int j = 0; j < cb; j++)
                out[i * c + ca + j] = m->tb[i * cb + j];
        }
        out += px * c;
        y0 += k;
        n -= k;
    }
    return 0;
}

static void merge_destroy(sr_stage *self)
{
    merge_stage *m = (merge_stage *)self;
    sr_stage_free(m->a);
    sr_stage_free(m->b);
    free(m->ta);
    free(m->tb);
    free(m);
}

sr_stage *sr_merge_stage_new(sr_stage *a, sr_stage *b, sr_error *err)
{
    if (!a || !b || a->width != b->width || a->height != b->height) {
        if (a && b)
            sr_error_set(err, SR_ERR_ARG, "internal: merging %dx%d with %dx%d", a->width, a->height,
                         b->width, b->height);
        sr_stage_free(a);
        sr_stage_free(b);
        return NULL;
    }
    merge_stage *m = (merge_stage *)alloc_stage(sizeof *m, err);
    if (m) {
        m->tmp_rows = 16;
        m->ta = malloc((size_t)a->width * a->channels * m->tmp_rows * sizeof(float) + 1);
        m->tb = malloc((size_t)b->width * b->channels * m->tmp_rows * sizeof(float) + 1);
    }
    if (!m || !m->ta || !m->tb) {
        if (m) {
            free(m->ta);
            free(m->tb);
            free(m);
        }
        sr_error_set(err, SR_ERR_NOMEM, "out of memory");
        sr_stage_free(a);
        sr_stage_free(b);
        return NULL;
    }
    m->base.width = a->width;
    m->base.height = a->height;
    m->base.channels = a->channels + b->channels;
    m->base.pull = merge_pull;
    m->base.destroy = merge_destroy;
    m->a = a;
    m->b = b;
    return &m->base;
}
