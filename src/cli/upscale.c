/* upscale.c: one file through the pipeline, page by page.
 *
 * Stage graph per page:
 *   classic:  source -> resample (alpha premultiplied)
 *             [merged with source' -> data channels -> resample]
 *   network:  source -> [colour channels] -> [gray->RGB] -> generator
 *             -> [RGB->gray] -> [Lanczos to the requested size]
 *             merged with  source' -> [alpha] -> bicubic
 *             and, per data channel k, source'' -> [channel k] -> the same
 *             path as a gray image (with its own intensity window)
 * where source', source'' are further readers on the same file, so every
 * path streams instead of buffering the image.
 *   labels:   native rows -> nearest neighbour -> native rows (no float:
 *             32-bit labels stay bit-exact) */
#include <stdio.h>
#include "upscale.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli_args.h"
#include "srgan/metadata.h"
#include "srgan/normalize.h"
#include "srgan/pipeline.h"

typedef struct page_graph {
    sr_stage *out;
    sr_reader *extra[SR_MAX_CHANNELS]; /* readers of the paths after the first */
    int n_extra;
} page_graph;

/* Open a second reader of `path` positioned at `page`. */
static sr_reader *reader_at_page(const char *path, int page, const sr_read_opts *o, sr_error *err)
{
    sr_reader *r = sr_reader_open(path, o, err);
    for (int p = 0; r && p < page; p++) {
        if (sr_reader_next_page(r, err) != 1) {
            sr_error_set(err, SR_ERR_CORRUPT, "%s: page %d vanished on second reading", path, page + 1);
            sr_reader_close(r);
            return NULL;
        }
    }
    return r;
}

/* The intensity window the network sees: [lo, hi] -> [0, 1], and back. */
typedef struct norm_window {
    int active;
    double lo, hi;
    sr_clip_count clip;
} norm_window;

static sr_stage *network_path(sr_stage *color, const upscale_plan *plan, const sr_tile_opts *tiles,
                              const char *in, int ow, int oh, norm_window *nw, sr_error *err)
{
    const sr_generator_config *cfg = sr_generator_get_config(plan->g);
    int cc = color->channels;
    if (cc == 3 && cfg->in_channels == 1) {
        sr_error_set(err, SR_ERR_ARG, "%s: model '%s' is for 1-channel (gray) images; this one is RGB",
                     in, plan->model_name);
        sr_stage_free(color);
        return NULL;
    }
    sr_stage *s = color;
    double span = nw->hi - nw->lo;
    if (nw->active && span > 0)
        s = sr_affine_stage_new(s, 1.0 / span, -nw->lo / span, NULL, err);
    if (s && cc == 1 && cfg->in_channels == 3)
        s = sr_gray_to_rgb_stage_new(s, err);
    if (s)
        s = sr_generator_stage_new(s, plan->g, tiles, err);
    if (s && cc == 1 && cfg->out_channels == 3)
        s = sr_rgb_to_gray_stage_new(s, err);
    if (s && (s->width != ow || s->height != oh)) {
        if (plan->verbose)
            fprintf(stderr, "srgan-up: %s: model output %dx%d resampled to %dx%d (Lanczos)\n", in,
                    s->width, s->height, ow, oh);
        s = sr_resample_stage_new(s, ow, oh, SR_FILTER_LANCZOS3, 0, err);
    }
    if (s && nw->active && span > 0)
        s = sr_affine_stage_new(s, span, nw->lo, &nw->clip, err);
    return s;
}


/* The factor from input to output float units for --dtype. Between integer
 * types the full ranges correspond (16-bit 65535 -> 8-bit 255, as when a
 * 16-bit image is written as JPEG); to or from float, intensity values are
 * kept (16-bit 300 -> float 300.0, float 300.0 -> 16-bit 300). */
static double dtype_factor(sr_dtype in, sr_dtype out)
{
    if (in != SR_F32 && out != SR_F32)
        return 1.0;
    return sr_dtype_unit(in) / sr_dtype_unit(out);
}

/* One more path through the same page: a fresh reader, channels
 * [first, first + count). */
static sr_stage *extra_source(const char *in, int page, const upscale_plan *plan, int first,
                              int count, page_graph *pg, sr_error *err)
{
    sr_reader *r = reader_at_page(in, page, &plan->ropts, err);
    if (!r)
        return NULL;
    pg->extra[pg->n_extra++] = r;
    sr_stage *s = sr_source_stage_new(r, err);
    return s ? sr_select_stage_new(s, first, count, err) : NULL;
}

/* nw[0] is the colour channels' window, nw[1 + k] data channel k's. */
static int build_page(sr_reader *r, const char *in, int page, const upscale_plan *plan,
                      const sr_tile_opts *tiles, int ow, int oh, norm_window *nw, sr_dtype out_dtype,
                      page_graph *pg, sr_error *err)
{
    memset(pg, 0, sizeof *pg);
    const sr_image_info *info = sr_reader_info(r);
    const int alpha = sr_info_has_alpha(info), data = info->data_channels;
    const int cc = info->channels - alpha - data, first_data = cc + alpha;
    sr_stage *src = sr_source_stage_new(r, err);
    if (!src)
        return -1;
    double to_out = dtype_factor(info->dtype, out_dtype);
    sr_stage *s;
    if (!plan->g) {
        /* data channels are not premultiplied by alpha */
        s = data ? sr_select_stage_new(src, 0, first_data, err) : src;
        s = sr_resample_stage_new(s, ow, oh, plan->filter, 1, err);
        if (s && data) {
            sr_stage *d = extra_source(in, page, plan, first_data, data, pg, err);
            d = sr_resample_stage_new(d, ow, oh, plan->filter, 0, err);
            s = sr_merge_stage_new(s, d, err);
        }
    } else {
        sr_stage *color = cc < info->channels ? sr_select_stage_new(src, 0, cc, err) : src;
        s = color ? network_path(color, plan, tiles, in, ow, oh, &nw[0], err) : NULL;
        if (s && alpha) {
            sr_stage *a = extra_source(in, page, plan, cc, 1, pg, err);
            a = sr_resample_stage_new(a, ow, oh, SR_FILTER_BICUBIC, 0, err);
            s = sr_merge_stage_new(s, a, err);
        }
        /* each data channel on its own, as a gray image */
        for (int k = 0; s && k < data; k++) {
            sr_stage *d = extra_source(in, page, plan, first_data + k, 1, pg, err);
            d = d ? network_path(d, plan, tiles, in, ow, oh, &nw[1 + k], err) : NULL;
            s = sr_merge_stage_new(s, d, err);
        }
    }
    if (s && to_out != 1.0)
        s = sr_affine_stage_new(s, to_out, 0, NULL, err);
    pg->out = s;
    return s ? 0 : -1;
}

static void free_page(page_graph *pg)
{
    sr_stage_free(pg->out);
    for (int i = 0; i < pg->n_extra; i++)
        sr_reader_close(pg->extra[i]);
    memset(pg, 0, sizeof *pg);
}

/* Nearest neighbour on native samples, for label images: every output
 * pixel is a copy of one input pixel (the one whose area holds the output
 * pixel's centre, as the nearest resampler picks for enlargements), so no
 * value is invented and 32-bit labels stay exact. Streams: input rows are
 * read once, in order. */
static int nearest_page(sr_reader *r, sr_writer *w, int ow, int oh, const sr_progress *p,
                        sr_error *err)
{
    const sr_image_info *info = sr_reader_info(r);
    const size_t px = (size_t)info->channels * sr_dtype_size(info->dtype);
    uint8_t *in = malloc(sr_row_bytes(info)), *out = malloc(px * (size_t)ow);
    size_t *xs = malloc(sizeof *xs * (size_t)ow);
    int rc = -1;
    if (!in || !out || !xs) {
        sr_error_set(err, SR_ERR_NOMEM, "out of memory for a row of %d pixels", ow);
        goto done;
    }
    for (int x = 0; x < ow; x++)
        xs[x] = (size_t)(((2 * (int64_t)x + 1) * info->width) / (2 * (int64_t)ow)) * px;
    int have = -1; /* input row in `in` */
    for (int y = 0; y < oh; y++) {
        int sy = (int)(((2 * (int64_t)y + 1) * info->height) / (2 * (int64_t)oh));
        while (have < sy) {
            if (sr_reader_read_rows(r, in, 1, err))
                goto done;
            have++;
        }
        for (int x = 0; x < ow; x++)
            memcpy(out + (size_t)x * px, in + xs[x], px);
        if (sr_writer_write_rows(w, out, 1, err))
            goto done;
        if (p && p->cb && ((y + 1) % 16 == 0 || y + 1 == oh) && p->cb(p->user, y + 1, oh)) {
            sr_error_set(err, SR_ERR_INTERRUPTED, "interrupted");
            goto done;
        }
    }
    rc = 0;
done:
    free(in);
    free(out);
    free(xs);
    return rc;
}

/* Metadata rewritten for the output, alive until the writer is done. */
typedef struct owned_meta {
    char *desc;          /* description with the new size */
    uint8_t *ij;         /* ImageJ metadata without ROIs and overlays */
    uint32_t *ij_counts;
    int rois_dropped;    /* entries left out of ij, for -v */
} owned_meta;

static void owned_meta_free(owned_meta *own)
{
    free(own->desc);
    free(own->ij);
    free(own->ij_counts);
    memset(own, 0, sizeof *own);
}

/* The output's layout and metadata: the input's, scaled. Pixel density grows
 * with the scale, so the physical size of the image stays the same. */
static sr_image_info output_info(const sr_image_info *in, int ow, int oh, double sx, double sy,
                                 owned_meta *own)
{
    sr_image_info o = *in;
    owned_meta_free(own);
    /* OME-XML, ImageJ and tifffile descriptions record sizes: keep them true. */
    own->desc = sr_description_rescale(in->meta.description, in->width, in->height, ow, oh,
                                       sx, sy);
    if (own->desc)
        o.meta.description = own->desc;
    /* ImageJ ROIs are in the old pixel grid: left out rather than misplaced
     * (when memory is short they go too, with the rest of ImageJ's tags). */
    const sr_meta *m = &in->meta;
    if (m->ij_meta && (ow != in->width || oh != in->height)) {
        own->ij = malloc(m->ij_meta_len);
        own->ij_counts = malloc(m->ij_counts_n * sizeof *own->ij_counts);
        size_t len = 0, n = 0;
        int dropped = own->ij && own->ij_counts
                          ? sr_ijmeta_drop_rois(m->ij_meta, m->ij_meta_len, m->ij_counts,
                                                m->ij_counts_n, own->ij, &len, own->ij_counts, &n)
                          : -1;
        if (dropped) {
            own->rois_dropped = dropped;
            o.meta.ij_meta = dropped > 0 && n > 1 ? own->ij : NULL;
            o.meta.ij_counts = dropped > 0 && n > 1 ? own->ij_counts : NULL;
            o.meta.ij_meta_len = len;
            o.meta.ij_counts_n = n;
        }
    }
    o.width = ow;
    o.height = oh;
    /* Whatever the unit: Fiji writes ResolutionUnit none with the real unit
     * in its description (unit=micron), and an aspect ratio scales too. */
    if (o.meta.res_unit != SR_RES_NONE) {
        o.meta.xres *= sx;
        o.meta.yres *= sy;
    }
    return o;
}

typedef struct progress_bridge {
    const upscale_hooks *hooks;
    int page, pages, width;
} progress_bridge;

static int bridge_cb(void *user, int done, int total)
{
    progress_bridge *b = user;
    return b->hooks && b->hooks->on_rows ? b->hooks->on_rows(b->hooks->user, done, total, b->width, b->page, b->pages)
                                         : 0;
}

/* Tiles done, reported as the share of the page's output rows, so the
 * progress line moves while the network works on a band. */
typedef struct tile_bridge {
    progress_bridge *rows;
    int out_rows;
} tile_bridge;

static void tile_cb(void *user, long done, long total)
{
    tile_bridge *t = user;
    if (total > 0)
        bridge_cb(t->rows, (int)((double)done / total * t->out_rows), t->out_rows);
}

static int out_size(int n, double scale)
{
    long v = lround(n * scale);
    return v < 1 ? 1 : v > 1000000000L ? 1000000000 : (int)v;
}

/* Decide the intensity windows for the network: page = -1 for the whole
 * stack. nw[0] is for the colour channels, nw[1 + k] for data channel k:
 * independent channels (two fluorophores) get independent windows. */
static int norm_setup(const char *in, const upscale_plan *plan, const sr_image_info *info, int page,
                      norm_window *nw, sr_error *err)
{
    int mode = plan->normalize;
    if (mode == NORM_AUTO)
        mode = info->dtype == SR_U8 ? NORM_NONE : NORM_PERCENTILE;
    const int active = plan->g && mode != NORM_NONE;
    const int alpha = sr_info_has_alpha(info), data = info->data_channels;
    const int cc = info->channels - alpha - data;
    double plo = mode == NORM_RANGE ? 0 : plan->norm_low, phi = mode == NORM_RANGE ? 100 : plan->norm_high;
    for (int g = 0; g <= data; g++) {
        nw[g].active = active;
        if (!active)
            continue;
        int first = g == 0 ? 0 : cc + alpha + g - 1, count = g == 0 ? cc : 1;
        sr_norm_range r;
        if (sr_norm_percentiles_ch(in, &plan->ropts, page, first, count, plo, phi, &r, err))
            return -1;
        nw[g].lo = r.lo;
        nw[g].hi = r.hi;
        if (!(r.hi > r.lo))
            nw[g].active = 0; /* a flat image: nothing to stretch */
        if (plan->verbose) {
            double u = sr_dtype_unit(info->dtype);
            char ch[32] = "";
            if (data)
                snprintf(ch, sizeof ch, " channel %d", g == 0 ? 1 : first + 1);
            fprintf(stderr, "srgan-up: %s: %s%s: percentiles %g..%g%% = %g..%g (data %g..%g)%s\n",
                    in, page < 0 ? "stack" : "page", ch, plo, phi, r.lo * u, r.hi * u, r.min * u,
                    r.max * u, nw[g].active ? "" : "; flat, not normalised");
        }
    }
    return 0;
}

/* Whether every page has the layout and sample type of the first, so that
 * one set of percentiles can serve the whole stack. */
static int stack_uniform(const char *in, const sr_read_opts *o, int *uniform, sr_error *err)
{
    sr_reader *r = sr_reader_open(in, o, err);
    if (!r)
        return -1;
    sr_image_info first = *sr_reader_info(r);
    int moved;
    *uniform = 1;
    while ((moved = sr_reader_next_page(r, err)) == 1) {
        const sr_image_info *i = sr_reader_info(r);
        if (i->dtype != first.dtype || i->channels != first.channels ||
            i->data_channels != first.data_channels)
            *uniform = 0;
    }
    sr_reader_close(r);
    return moved < 0 ? -1 : 0;
}

/* 32-bit integers are label images (masks): interpolating them invents
 * labels that exist nowhere, so only nearest neighbour is allowed. Returns
 * 1 for the native nearest path, 0 for the float pipeline, -1 refused. */
static int page_mode(const char *in, int page, const upscale_plan *plan, const sr_image_info *info,
                     sr_error *err)
{
    int label = sr_dtype_is_label(info->dtype);
    if (plan->labels || (label && !plan->g && plan->filter == SR_FILTER_NEAREST)) {
        if (plan->out_dtype >= 0 && plan->out_dtype != (int)info->dtype) {
            sr_error_set(err, SR_ERR_ARG, "%s: page %d: nearest neighbour on %s samples keeps "
                         "them; --dtype cannot convert", in, page + 1, sr_dtype_name(info->dtype));
            return -1;
        }
        return 1;
    }
    if (label) {
        sr_error_set(err, SR_ERR_UNSUPPORTED,
                     "%s: page %d has %s samples, almost always a label image: use --labels "
                     "(nearest neighbour, values kept) or --method nearest",
                     in, page + 1, sr_dtype_name(info->dtype));
        return -1;
    }
    return 0;
}

int upscale_file(const char *in, const char *out, const upscale_plan *plan, const upscale_hooks *hooks,
                 sr_error *err)
{
    sr_reader *r = sr_reader_open(in, &plan->ropts, err);
    if (!r)
        return -1;
    sr_writer *w = NULL;
    int rc = -1;
    page_graph pg = {0};
    norm_window nw[1 + SR_MAX_CHANNELS] = {{0}};
    owned_meta own = {0};
    const sr_image_info *info = sr_reader_info(r);
    int pages = info->pages;
    /* 1-channel 16-bit or float is a microscope's: its model, when the user
     * did not name one (a photo model draws texture into camera noise) */
    upscale_plan micro;
    int which = !plan->g || !plan->alt ? -1
                : info->channels == 1 && info->data_channels == 0 &&
                        (info->dtype == SR_U16 || info->dtype == SR_F32)
                    ? UPSCALE_ALT_MICRO
                : info->format == SR_FMT_JPEG ? UPSCALE_ALT_JPEG
                                              : -1;
    const char *alt_name = NULL;
    const sr_generator *alt = which >= 0 ? plan->alt(plan->alt_user, which, &alt_name) : NULL;
    if (alt) {
        micro = *plan;
        micro.g = alt;
        micro.model_name = alt_name;
        plan = &micro;
    }
    int per_page = plan->norm_per_page || plan->labels;
    int int_out = 0; /* some page is written as integers: out-of-range values clip */
    if (page_mode(in, 0, plan, info, err) < 0)
        goto done;
    if (!per_page && plan->g && pages > 1) {
        /* pages of other types or channels need their own windows */
        int uniform;
        if (stack_uniform(in, &plan->ropts, &uniform, err))
            goto done;
        per_page = !uniform;
        if (!uniform && plan->verbose)
            fprintf(stderr, "srgan-up: %s: pages differ in type or channels: percentiles per page\n",
                    in);
    }
    if (!per_page && norm_setup(in, plan, info, -1, nw, err))
        goto done;
    if (plan->verbose)
        fprintf(stderr, "srgan-up: %s: %dx%d, %d channel(s), %s, %d page(s); %s x%g\n", in,
                info->width, info->height, info->channels, sr_dtype_name(info->dtype), pages,
                plan->g ? plan->model_name : sr_filter_name(plan->filter), plan->scale);
    for (int page = 0; page < pages; page++) {
        if (page > 0) {
            int moved = sr_reader_next_page(r, err);
            if (moved != 1) {
                if (moved == 0)
                    sr_error_set(err, SR_ERR_CORRUPT, "%s: page %d is missing", in, page + 1);
                goto done;
            }
        }
        info = sr_reader_info(r);
        int native = page_mode(in, page, plan, info, err);
        if (native < 0)
            goto done;
        if (native) {
            /* nearest neighbour keeps every value: a lossy or 8-bit-only
             * format would change them after all */
            sr_format f = plan->out_format ? plan->out_format : sr_format_from_ext(out);
            if (f == SR_FMT_JPEG || f == SR_FMT_WEBP) {
                sr_error_set(err, SR_ERR_ARG, "%s: label images need a format that keeps their "
                             "values: write .tif (or .png for 8/16-bit)", out);
                goto done;
            }
        }
        /* every page keeps its own type unless --dtype says otherwise */
        sr_dtype out_dtype = plan->out_dtype >= 0 && !native ? (sr_dtype)plan->out_dtype : info->dtype;
        int ow = out_size(info->width, plan->scale), oh = out_size(info->height, plan->scale);
        sr_image_info oinfo =
            output_info(info, ow, oh, (double)ow / info->width, (double)oh / info->height, &own);
        if (plan->verbose && own.rois_dropped > 0)
            fprintf(stderr, "srgan-up: %s: page %d: %d ImageJ ROI/overlay entr%s left out (in the "
                    "old pixel grid)\n", in, page + 1, own.rois_dropped,
                    own.rois_dropped == 1 ? "y" : "ies");
        oinfo.pages = pages;
        oinfo.page = page;
        oinfo.dtype = out_dtype;
        int_out |= out_dtype != SR_F32;
        if (per_page && !native && norm_setup(in, plan, info, page, nw, err))
            goto done;
        progress_bridge b = {hooks, page, pages, ow};
        tile_bridge tb = {&b, oh};
        sr_tile_opts tiles = plan->tile;
        if (plan->deep_fp32 && info->dtype != SR_U8)
            tiles.fp32 = 1;
        tiles.on_tile = tile_cb;
        tiles.on_tile_user = &tb;
        if (!native && build_page(r, in, page, plan, &tiles, ow, oh, nw, out_dtype, &pg, err))
            goto done;
        if (page == 0) {
            /* the library tells the signal handler the temporary's name
             * before creating it, and again when it is gone */
            sr_write_opts wo = plan->wopts;
            if (hooks) {
                wo.on_temp = hooks->on_temp;
                wo.on_temp_user = hooks->user;
            }
            w = sr_writer_open(out, plan->out_format, &oinfo, &wo, err);
            if (!w)
                goto done;
        } else if (sr_writer_next_page(w, &oinfo, err)) {
            goto done;
        }
        sr_progress p = {bridge_cb, &b};
        if (native ? nearest_page(r, w, ow, oh, &p, err) : sr_pipeline_run(pg.out, w, 0, &p, err))
            goto done;
        free_page(&pg);
    }
    rc = sr_writer_finish(w, err);
    w = NULL;
    if (rc == 0 && plan->verbose) {
        sr_clip_count c = {0, 0};
        int any = 0;
        for (int g = 0; g <= SR_MAX_CHANNELS; g++) {
            any |= nw[g].active;
            c.low += nw[g].clip.low;
            c.high += nw[g].clip.high;
        }
        if (any && int_out)
            fprintf(stderr,
                    "srgan-up: %s: %llu value(s) clipped to the output range (%llu low, %llu high)\n",
                    in, (unsigned long long)(c.low + c.high), (unsigned long long)c.low,
                    (unsigned long long)c.high);
    }
done:
    free_page(&pg);
    if (w)
        sr_writer_abort(w);
    owned_meta_free(&own);
    sr_reader_close(r);
    return rc;
}
