/* normalize.c: percentiles by streaming histogram, and the affine stage. */
#include "srgan/normalize.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { FLOAT_BINS = 65536 };

typedef struct hist {
    uint64_t *bins;
    int nbins;
    double lo, width; /* bin i covers [lo + i*width, lo + (i+1)*width) */
    uint64_t total;
    double min, max;
} hist;

/* Visit every colour sample of the chosen page(s) in normalised units.
 * visit(h, value) for each; used twice for float data. */
typedef void (*visit_fn)(hist *h, float v);

static void visit_minmax(hist *h, float v)
{
    if (v < h->min)
        h->min = v;
    if (v > h->max)
        h->max = v;
}

static void visit_bin(hist *h, float v)
{
    long i = (long)((v - h->lo) / h->width);
    if (i < 0)
        i = 0;
    if (i >= h->nbins)
        i = h->nbins - 1;
    h->bins[i]++;
    h->total++;
}

/* Channels [first, first + count) are visited; count 0 = every channel but
 * alpha. */
static int scan(const char *path, const sr_read_opts *opts, int page, int first, int count,
                hist *h, visit_fn visit, sr_error *err)
{
    sr_reader *r = sr_reader_open(path, opts, err);
    if (!r)
        return -1;
    int rc = 0;
    void *raw = NULL;
    float *f = NULL;
    const sr_dtype dtype0 = sr_reader_info(r)->dtype;
    for (int p = 0;; p++) {
        const sr_image_info *info = sr_reader_info(r);
        if (page < 0 || p == page) {
            /* one histogram needs one unit: a uint16 page and a float page
             * cannot share percentiles */
            if (page < 0 && info->dtype != dtype0) {
                sr_error_set(err, SR_ERR_UNSUPPORTED,
                             "%s: page %d is %s but page 1 is %s: percentiles need one sample "
                             "type (use --normalize-scope image)",
                             path, p + 1, sr_dtype_name(info->dtype), sr_dtype_name(dtype0));
                rc = -1;
                break;
            }
            int nc = info->channels, alpha = sr_info_color_channels(info);
            int c0 = count > 0 ? first : 0, c1 = count > 0 ? first + count : nc;
            if (c1 > nc) {
                sr_error_set(err, SR_ERR_ARG, "%s: page %d has no channel %d", path, p + 1, c1);
                rc = -1;
                break;
            }
            if (!sr_info_has_alpha(info))
                alpha = -1;
            size_t n = (size_t)info->width * info->channels;
            void *nraw = realloc(raw, sr_row_bytes(info));
            float *nf = realloc(f, n * sizeof *f);
            if (!nraw || !nf) {
                free(nraw ? nraw : raw);
                free(nf ? nf : f);
                raw = NULL, f = NULL;
                sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", path);
                rc = -1;
                break;
            }
            raw = nraw, f = nf;
            for (int y = 0; y < info->height && rc == 0; y++) {
                if (sr_reader_read_rows(r, raw, 1, err)) {
                    rc = -1;
                    break;
                }
                sr_samples_to_float(raw, info->dtype, n, f);
                for (int x = 0; x < info->width; x++)
                    for (int c = c0; c < c1; c++) {
                        if (c == alpha && count == 0)
                            continue;
                        float v = f[(size_t)x * info->channels + c];
                        if (isfinite(v))
                            visit(h, v);
                    }
            }
            if (rc || page >= 0)
                break;
        }
        int moved = sr_reader_next_page(r, err);
        if (moved < 0) {
            rc = -1;
            break;
        }
        if (moved == 0) {
            if (page > p) {
                sr_error_set(err, SR_ERR_ARG, "%s: has no page %d", path, page + 1);
                rc = -1;
            }
            break;
        }
    }
    free(raw);
    free(f);
    sr_reader_close(r);
    return rc;
}

static double percentile_of(const hist *h, double p)
{
    if (h->total == 0)
        return 0;
    /* The smallest level whose cumulative count reaches p percent. */
    double target = p / 100.0 * (double)(h->total - 1);
    uint64_t cum = 0;
    for (int i = 0; i < h->nbins; i++) {
        cum += h->bins[i];
        if ((double)cum > target)
            return h->lo + i * h->width;
    }
    return h->lo + (h->nbins - 1) * h->width;
}

int sr_norm_percentiles(const char *path, const sr_read_opts *opts, int page, double plo, double phi,
                        sr_norm_range *out, sr_error *err)
{
    return sr_norm_percentiles_ch(path, opts, page, 0, 0, plo, phi, out, err);
}

int sr_norm_percentiles_ch(const char *path, const sr_read_opts *opts, int page, int first,
                           int count, double plo, double phi, sr_norm_range *out, sr_error *err)
{
    if (!(plo >= 0 && phi <= 100 && plo < phi)) {
        sr_error_set(err, SR_ERR_ARG, "percentiles %g,%g: need 0 <= LOW < HIGH <= 100", plo, phi);
        return -1;
    }
    /* the histogram's unit is the type of the page scanned (page 1 for a
     * stack, whose pages scan() requires to share it) */
    sr_reader *r = sr_reader_open(path, opts, err);
    for (int p = 0; r && p < page; p++)
        if (sr_reader_next_page(r, err) != 1) {
            if (err && !err->code)
                sr_error_set(err, SR_ERR_ARG, "%s: has no page %d", path, page + 1);
            sr_reader_close(r);
            return -1;
        }
    if (!r)
        return -1;
    sr_dtype dtype = sr_reader_info(r)->dtype;
    sr_reader_close(r);
    hist h = {0};
    h.min = DBL_MAX;
    h.max = -DBL_MAX;
    /* 8 and 16-bit integers: one bin per level; wider types: binned range */
    const int exact = dtype == SR_U8 || dtype == SR_U16 || dtype == SR_I8 || dtype == SR_I16;
    if (!exact) {
        if (scan(path, opts, page, first, count, &h, visit_minmax, err))
            return -1;
        if (h.min > h.max)
            h.min = h.max = 0; /* no finite value at all */
        h.nbins = FLOAT_BINS;
        h.lo = h.min;
        h.width = h.max > h.min ? (h.max - h.min) / (FLOAT_BINS - 1) : 1.0;
    } else {
        /* normalised units: v / max (samples.c), signed types start at min */
        double max = sr_dtype_unit(dtype);
        h.nbins = dtype == SR_U8 || dtype == SR_I8 ? 256 : 65536;
        h.lo = dtype == SR_I8 ? -128 / max : dtype == SR_I16 ? -32768 / max : 0;
        h.width = 1.0 / max;
    }
    h.bins = calloc((size_t)h.nbins, sizeof *h.bins);
    if (!h.bins) {
        sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", path);
        return -1;
    }
    /* For integer data, values are exact multiples of the bin width; nudge
     * by half a bin so rounding never drops a level into its neighbour. */
    if (exact)
        h.lo -= h.width / 2;
    int rc = scan(path, opts, page, first, count, &h, visit_bin, err);
    if (rc == 0) {
        double shift = exact ? h.width / 2 : 0;
        out->lo = percentile_of(&h, plo) + shift;
        out->hi = percentile_of(&h, phi) + shift;
        int first = -1, last = -1;
        for (int i = 0; i < h.nbins; i++)
            if (h.bins[i]) {
                if (first < 0)
                    first = i;
                last = i;
            }
        out->min = first < 0 ? 0 : h.lo + first * h.width + shift;
        out->max = last < 0 ? 0 : h.lo + last * h.width + shift;
        if (!exact) {
            out->min = h.min;
            out->max = h.max;
        }
    }
    free(h.bins);
    return rc;
}

/* ---- affine stage ------------------------------------------------------ */

typedef struct affine_stage {
    sr_stage base;
    sr_stage *src;
    float scale, offset;
    sr_clip_count *clip;
} affine_stage;

static int affine_pull(sr_stage *self, int y0, int n, float *out, sr_error *err)
{
    affine_stage *a = (affine_stage *)self;
    if (sr_stage_pull(a->src, y0, n, out, err))
        return -1;
    size_t total = (size_t)n * self->width * self->channels;
    uint64_t low = 0, high = 0;
    for (size_t i = 0; i < total; i++) {
        float v = out[i] * a->scale + a->offset;
        low += v < 0.0f;
        high += v > 1.0f;
        out[i] = v;
    }
    if (a->clip) {
        a->clip->low += low;
        a->clip->high += high;
    }
    return 0;
}

static void affine_destroy(sr_stage *self)
{
    affine_stage *a = (affine_stage *)self;
    sr_stage_free(a->src);
    free(a);
}

sr_stage *sr_affine_stage_new(sr_stage *src, double scale, double offset, sr_clip_count *clip,
                              sr_error *err)
{
    if (!src)
        return NULL;
    affine_stage *a = calloc(1, sizeof *a);
    if (!a) {
        sr_error_set(err, SR_ERR_NOMEM, "out of memory");
        sr_stage_free(src);
        return NULL;
    }
    a->base.width = src->width;
    a->base.height = src->height;
    a->base.channels = src->channels;
    a->base.pull = affine_pull;
    a->base.destroy = affine_destroy;
    a->src = src;
    a->scale = (float)scale;
    a->offset = (float)offset;
    a->clip = clip;
    return &a->base;
}
