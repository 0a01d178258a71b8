/* tiler.c: the generator as a pipeline stage, tile by tile.
 *
 * Output is made in bands: one band is the output of tile_h input rows.
 * Two ways to use the threads. An image of few tiles (fewer than
 * TEAM_TILES per thread) runs its tiles one after the other, each on all
 * threads at once, its layers split by rows (gen_region_forward with a
 * team): a tile per thread would make every thread compute its tile's
 * halo too (two 128-column tiles of a 256 image: +57 % trunk work with
 * Winograd's 73-pixel halo). Larger images run whole tiles in parallel
 * within a band, each on its own thread with its own arena: no barrier per
 * layer, and the halo is small against big tiles. Either way GEMM is
 * single-threaded (two independent sgemm calls beat OpenBLAS's own 2
 * threads on this class of machine), and the output is the same bits. Each
 * tile reads its input window (tile + halo, clipped to the image) from a row
 * cache over the source, so memory depends on tile size and image width,
 * never on the height. gen_region_forward makes a tile's output identical
 * to whole-image inference. The self-ensemble runs each tile's window in
 * eight flipped/rotated views and averages the outputs turned back. */
#include "gen_internal.h"

#include <cblas.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct tiler {
    sr_stage base;
    sr_stage *src;
    const sr_generator *g;
    sr_rowcache *cache;
    int halo, s, inc, outc, in_w, in_h;
    int tile_h, tile_w; /* input pixels */
    int threads;
    gen_team *team; /* non-NULL: tiles one at a time, on all threads */
    int views; /* 1, or 8 for the self-ensemble */
    int fp32;  /* sr_tile_opts.fp32 */
    void (*on_tile)(void *user, long done, long total);
    void *on_tile_user;
    long tiles_done, tiles_total;
    sr_arena **arenas;  /* one per thread, grown on demand, from the pool */
    sr_arena *band_arena; /* from the pool, like the tile arenas: a batch's
                           * next file reuses it instead of faulting in a new
                           * band (12 MB for 1024 output columns, 6.5 % of a
                           * bf16 256^2 upscale in clear_page on the Zen 4 VM) */
    float *band;        /* output rows of the current band, HWC, in band_arena */
    int band_y0, band_rows; /* output rows held (band_rows 0: none) */
} tiler;

/* Work shared by the threads of one band. */
typedef struct band_job {
    tiler *t;
    const float *rows; /* input rows [wy0, wy1), HWC */
    int wy0, wy1, by0, by1;
    int ntiles;
    int next;  /* next tile to take (under lock) */
    int failed;
    pthread_mutex_t lock;
    sr_error *errs; /* one per thread */
} band_job;

typedef struct worker_arg {
    band_job *job;
    int id;
} worker_arg;

/* Below this many tiles per thread, tiles run one at a time on a team. */
#define TEAM_TILES 4

/* Floats of each arena for region r with n members (x and y included). */
static size_t tile_floats(const sr_generator *g, const gen_region *r, int inc, int outc, int n)
{
    const int s = g->cfg.scale;
    return gen_region_floats(g, r, n) + (size_t)inc * r->wh * r->ww +
           (size_t)outc * s * s * (r->ry1 - r->ry0) * (r->rx1 - r->rx0) + 64;
}

/* ---- self-ensemble views ------------------------------------------------
 * View k of an h x w image flips it horizontally when k & 1, vertically when
 * k & 2, then transposes it when k & 4; the eight views are the symmetries of
 * the square (EDSR+/RCAN+). view_map takes pixel (y, x) to its place (u, v)
 * in the view. The network's output for a view, of size s*h x s*w before the
 * transpose, is that view of the output, so the same map at output size tells
 * where each output pixel of the image was computed: one map serves the input
 * (scatter into the view) and the output (gather back). */
static void view_map(int k, int h, int w, int y, int x, int *u, int *v)
{
    if (k & 1)
        x = w - 1 - x;
    if (k & 2)
        y = h - 1 - y;
    *u = k & 4 ? x : y;
    *v = k & 4 ? y : x;
}

/* Rows [*y0, *y1) x columns [*x0, *x1) of an h x w image, replaced by the
 * rectangle they occupy in view k. */
static void view_rect(int k, int h, int w, int *y0, int *y1, int *x0, int *x1)
{
    int ua, va, ub, vb;
    view_map(k, h, w, *y0, *x0, &ua, &va);
    view_map(k, h, w, *y1 - 1, *x1 - 1, &ub, &vb);
    *y0 = ua < ub ? ua : ub;
    *y1 = (ua > ub ? ua : ub) + 1;
    *x0 = va < vb ? va : vb;
    *x1 = (va > vb ? va : vb) + 1;
}

/* A tile's window and region, as seen in view k. The halo is the same on
 * every side, so the view's window covers the view's region as the
 * region forward needs, and its output equals the whole-view run. */
static gen_region view_region(const gen_region *r, int k)
{
    gen_region o = *r;
    int wy1 = r->wy0 + r->wh, wx1 = r->wx0 + r->ww;
    view_rect(k, r->full_h, r->full_w, &o.wy0, &wy1, &o.wx0, &wx1);
    view_rect(k, r->full_h, r->full_w, &o.ry0, &o.ry1, &o.rx0, &o.rx1);
    o.wh = wy1 - o.wy0;
    o.ww = wx1 - o.wx0;
    if (k & 4) {
        o.full_h = r->full_w;
        o.full_w = r->full_h;
    }
    return o;
}

/* Run view k of tile region r (window rows from j->rows) and put its output
 * into the band: stored for k = 0, added for the others in order, and the
 * sum scaled by 1/8 after the last, so a pixel's value is always
 * ((((v0 + v1) + v2) ...) + v7) * 0.125 whatever the tiling or threads. */
static int run_view(tiler *t, const band_job *j, const gen_region *r, int k, sr_arena **as,
                    sr_error *err)
{
    sr_arena *a = as[0];
    const int inc = t->inc, oc = t->outc, s = t->s;
    const gen_region v = view_region(r, k);
    sr_arena_reset(a);
    sr_tensor x = sr_tensor_arena(a, 1, inc, v.wh, v.ww);
    sr_tensor y = sr_tensor_arena(a, 1, oc, s * (v.ry1 - v.ry0), s * (v.rx1 - v.rx0));
    if (!x.data || !y.data) {
        sr_error_set(err, SR_ERR_NOMEM, "generator: tile arena too small");
        return -1;
    }
    /* rows are HWC, the network wants CHW */
    for (int yy = 0; yy < r->wh; yy++) {
        const float *src = j->rows + ((size_t)yy * t->in_w + r->wx0) * inc;
        for (int xx = 0; xx < r->ww; xx++) {
            int u, w;
            view_map(k, t->in_h, t->in_w, r->wy0 + yy, r->wx0 + xx, &u, &w);
            const size_t at = (size_t)(u - v.wy0) * v.ww + (w - v.wx0);
            for (int c = 0; c < inc; c++)
                x.data[(size_t)c * v.wh * v.ww + at] = src[(size_t)xx * inc + c];
        }
    }
    if (gen_region_forward(t->g, &v, &x, &y, as, t->team, err))
        return -1;
    const size_t out_w = (size_t)s * t->in_w;
    const int oh = s * (r->ry1 - r->ry0), ow = s * (r->rx1 - r->rx0);
    const int last = k == t->views - 1 && t->views > 1;
    for (int yy = 0; yy < oh; yy++) {
        float *dst = t->band + ((size_t)yy * out_w + (size_t)s * r->rx0) * oc;
        for (int xx = 0; xx < ow; xx++) {
            int u, w;
            view_map(k, s * t->in_h, s * t->in_w, s * r->ry0 + yy, s * r->rx0 + xx, &u, &w);
            const size_t at = (size_t)(u - s * v.ry0) * y.w + (w - s * v.rx0);
            for (int c = 0; c < oc; c++) {
                const float val = y.data[(size_t)c * y.h * y.w + at];
                float *d = &dst[(size_t)xx * oc + c];
                if (k == 0)
                    *d = val;
                else if (!last)
                    *d += val;
                else
                    *d = (*d + val) * 0.125f;
            }
        }
    }
    return 0;
}

static int run_tile(band_job *j, int id, int ti)
{
    tiler *t = j->t;
    sr_error *err = &j->errs[id];
    const int H = t->halo;
    const int tx0 = ti * t->tile_w, tx1 = tx0 + t->tile_w < t->in_w ? tx0 + t->tile_w : t->in_w;
    const int wx0 = tx0 - H > 0 ? tx0 - H : 0, wx1 = tx1 + H < t->in_w ? tx1 + H : t->in_w;
    gen_region r = {.full_h = t->in_h, .full_w = t->in_w, .wy0 = j->wy0, .wx0 = wx0,
                    .wh = j->wy1 - j->wy0, .ww = wx1 - wx0, .ry0 = j->by0, .ry1 = j->by1,
                    .rx0 = tx0, .rx1 = tx1, .fp32 = t->fp32};
    const int n = gen_team_size(t->team);
    size_t need = tile_floats(t->g, &r, t->inc, t->outc, n);
    if (t->views > 1) { /* transposed views run on the transposed region */
        gen_region rt = view_region(&r, 4);
        size_t nt = tile_floats(t->g, &rt, t->inc, t->outc, n);
        need = nt > need ? nt : need;
    }
    /* a team's members use arenas 0 .. n-1, a lone worker its own */
    sr_arena **as = t->team ? t->arenas : &t->arenas[id];
    for (int k = 0; k < (t->team ? n : 1); k++) {
        if (!as[k] || need * sizeof(float) > sr_arena_cap(as[k])) {
            /* from the process-wide pool: memory earlier tiles and files have
             * already faulted in (see arena.c) */
            sr_arena_pool_give(as[k]);
            as[k] = sr_arena_pool_take(need * sizeof(float));
            if (!as[k]) {
                sr_error_set(err, SR_ERR_NOMEM, "generator: out of memory for a %dx%d tile",
                             r.ww, r.wh);
                return -1;
            }
        }
    }
    for (int k = 0; k < t->views; k++)
        if (run_view(t, j, &r, k, as, err))
            return -1;
    return 0;
}

static void *worker(void *arg)
{
    worker_arg *wa = arg;
    band_job *j = wa->job;
    for (;;) {
        pthread_mutex_lock(&j->lock);
        int ti = j->failed ? j->ntiles : j->next++;
        pthread_mutex_unlock(&j->lock);
        if (ti >= j->ntiles)
            break;
        if (run_tile(j, wa->id, ti)) {
            pthread_mutex_lock(&j->lock);
            j->failed = 1;
            pthread_mutex_unlock(&j->lock);
            break;
        }
        tiler *t = j->t;
        if (t->on_tile) {
            pthread_mutex_lock(&j->lock);
            long done = ++t->tiles_done;
            pthread_mutex_unlock(&j->lock);
            t->on_tile(t->on_tile_user, done, t->tiles_total);
        }
    }
    return NULL;
}

/* Compute the band of input rows [by0, by0 + tile_h). */
static int make_band(tiler *t, int by0, sr_error *err)
{
    const int H = t->halo;
    band_job j = {.t = t, .by0 = by0};
    j.by1 = by0 + t->tile_h < t->in_h ? by0 + t->tile_h : t->in_h;
    j.wy0 = by0 - H > 0 ? by0 - H : 0;
    j.wy1 = j.by1 + H < t->in_h ? j.by1 + H : t->in_h;
    j.rows = sr_rowcache_get(t->cache, j.wy0, j.wy1, err);
    if (!j.rows)
        return -1;
    j.ntiles = (t->in_w + t->tile_w - 1) / t->tile_w;
    /* with a team, the calling thread takes the tiles in turn */
    int nthr = t->team ? 1 : t->threads < j.ntiles ? t->threads : j.ntiles;
    sr_error errs[64];
    memset(errs, 0, sizeof errs);
    j.errs = errs;
    pthread_mutex_init(&j.lock, NULL);
    pthread_t th[64];
    worker_arg wa[64];
    int started = 0;
    for (int i = 1; i < nthr; i++) {
        wa[i] = (worker_arg){&j, i};
        if (pthread_create(&th[i], NULL, worker, &wa[i]))
            break; /* fewer threads: the others take the tiles */
        started = i;
    }
    wa[0] = (worker_arg){&j, 0};
    worker(&wa[0]);
    for (int i = 1; i <= started; i++)
        pthread_join(th[i], NULL);
    pthread_mutex_destroy(&j.lock);
    if (j.failed) {
        for (int i = 0; i < nthr; i++) {
            if (errs[i].code != SR_OK) {
                sr_error_set(err, errs[i].code, "%s", errs[i].msg);
                break;
            }
        }
        return -1;
    }
    t->band_y0 = t->s * by0;
    t->band_rows = t->s * (j.by1 - by0);
    return 0;
}

static int tiler_pull(sr_stage *self, int y0, int n, float *out, sr_error *err)
{
    tiler *t = (tiler *)self;
    const size_t row = (size_t)self->width * self->channels;
    if (y0 < 0 || n < 0 || y0 + n > self->height) {
        sr_error_set(err, SR_ERR_ARG, "generator stage: rows [%d, %d) out of range", y0, y0 + n);
        return -1;
    }
    while (n > 0) {
        if (!t->band_rows || y0 < t->band_y0 || y0 >= t->band_y0 + t->band_rows) {
            int by0 = y0 / t->s / t->tile_h * t->tile_h;
            if (t->band_rows && t->s * by0 < t->band_y0) {
                sr_error_set(err, SR_ERR_ARG, "generator stage: rows requested out of order");
                return -1;
            }
            if (make_band(t, by0, err))
                return -1;
        }
        int k = t->band_y0 + t->band_rows - y0;
        if (k > n)
            k = n;
        memcpy(out, t->band + (size_t)(y0 - t->band_y0) * row, (size_t)k * row * sizeof(float));
        out += (size_t)k * row;
        y0 += k;
        n -= k;
    }
    return 0;
}

static void tiler_destroy(sr_stage *self)
{
    tiler *t = (tiler *)self;
    if (!t)
        return;
    /* back to the pool, for the next file */
    for (int i = 0; t->arenas && i < t->threads; i++)
        sr_arena_pool_give(t->arenas[i]);
    free(t->arenas);
    gen_team_free(t->team);
    sr_arena_pool_give(t->band_arena);
    sr_rowcache_free(t->cache);
    sr_stage_free(t->src);
    free(t);
}

/* Bytes for tiles of th x tw input pixels: the threads' arenas, the output
 * band and the input row window. */
static size_t budget_bytes(const sr_generator *g, int th, int tw, int threads, int in_w,
                           int in_h, int views)
{
    const int H = sr_generator_halo(g), s = g->cfg.scale, A = g->align;
    /* an estimate: sizes rounded up to the alignment (unshuffle) */
    in_h = (in_h + A - 1) / A * A;
    in_w = (in_w + A - 1) / A * A;
    th = (th + A - 1) / A * A;
    tw = (tw + A - 1) / A * A;
    const int wh = th + 2 * H < in_h ? th + 2 * H : in_h;
    const int ww = tw + 2 * H < in_w ? tw + 2 * H : in_w;
    gen_region r = {.full_h = 1 << 30, .full_w = 1 << 30, .wy0 = 0, .wx0 = 0, .wh = wh,
                    .ww = ww, .ry0 = (wh - th) / 2 / A * A, .rx0 = (ww - tw) / 2 / A * A};
    r.ry1 = r.ry0 + (th < wh ? th : wh);
    r.rx1 = r.rx0 + (tw < ww ? tw : ww);
    size_t per = tile_floats(g, &r, g->cfg.in_channels, g->cfg.out_channels, 1) * sizeof(float);
    if (views > 1) {
        gen_region rt = view_region(&r, 4);
        size_t pt = tile_floats(g, &rt, g->cfg.in_channels, g->cfg.out_channels, 1) *
                    sizeof(float);
        per = pt > per ? pt : per;
    }
    size_t band = (size_t)s * th * s * in_w * g->cfg.out_channels * sizeof(float);
    size_t cache = (size_t)wh * in_w * g->cfg.in_channels * sizeof(float);
    return (size_t)threads * per + band + cache;
}

sr_stage *sr_generator_stage_new(sr_stage *src, const sr_generator *g, const sr_tile_opts *o,
                                 sr_error *err)
{
    const sr_generator_config *cf = &g->cfg;
    if (!src)
        return NULL;
    if (src->channels != cf->in_channels) {
        sr_error_set(err, SR_ERR_ARG, "generator: model takes %d channels, image has %d",
                     cf->in_channels, src->channels);
        sr_stage_free(src);
        return NULL;
    }
    if (src->width < 1 || src->height < 1 ||
        (size_t)src->width * cf->scale > (size_t)1 << 30 ||
        (size_t)src->height * cf->scale > (size_t)1 << 30) {
        sr_error_set(err, SR_ERR_TOO_BIG, "generator: image of %dx%d cannot be upscaled x%d",
                     src->width, src->height, cf->scale);
        sr_stage_free(src);
        return NULL;
    }
    tiler *t = calloc(1, sizeof *t);
    if (!t) {
        sr_error_set(err, SR_ERR_NOMEM, "generator: out of memory");
        sr_stage_free(src);
        return NULL;
    }
    t->src = src;
    t->g = g;
    t->s = cf->scale;
    t->inc = cf->in_channels;
    t->outc = cf->out_channels;
    t->in_w = src->width;
    t->in_h = src->height;
    t->halo = sr_generator_halo(g);
    int threads = o && o->threads > 0 ? o->threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
    t->threads = threads < 1 ? 1 : threads > 64 ? 64 : threads;
    size_t maxmem = o && o->max_memory ? o->max_memory : SR_DEFAULT_MAX_MEMORY;
    const int views = o && o->ensemble ? 8 : 1;
    t->fp32 = o && o->fp32;

    int tile = o && o->tile > 0 ? o->tile : 0;
    if (!tile) { /* the largest square tile (multiple of 8) that fits the budget */
        int longest = t->in_w > t->in_h ? t->in_w : t->in_h;
        tile = longest < 1024 ? longest : 1024;
        while (tile > 8) {
            int th = tile < t->in_h ? tile : t->in_h, tw = tile < t->in_w ? tile : t->in_w;
            if (budget_bytes(g, th, tw, t->threads, t->in_w, t->in_h, views) <= maxmem)
                break;
            tile = tile > 16 ? (tile - 1) / 8 * 8 : 8;
        }
    }
    /* An architecture that unshuffles its input (rrdbnet x2) needs windows
     * and regions starting at multiples of the factor; the halo already is
     * one. */
    const int A = g->align;
    if (views > 1 && A > 1 && (t->in_w % A || t->in_h % A)) {
        sr_error_set(err, SR_ERR_UNSUPPORTED,
                     "generator: the self-ensemble with %s x%d needs image sides that are "
                     "multiples of %d (this one is %dx%d)", sr_arch_name(cf->arch), cf->scale, A,
                     t->in_w, t->in_h);
        tiler_destroy(&t->base);
        return NULL;
    }
    tile = (tile + A - 1) / A * A;
    t->tile_h = tile < t->in_h ? tile : t->in_h;
    /* Few tiles: one at a time, each on every thread (a team). Else columns:
     * enough tiles per band for every thread, in a multiple of the thread
     * count when that keeps tiles from getting narrower than half. */
    int ntx = (t->in_w + tile - 1) / tile;
    const long nty = (t->in_h + t->tile_h - 1) / t->tile_h;
    if (t->threads > 1 && ntx * nty < (long)TEAM_TILES * t->threads) {
        t->team = gen_team_new(t->threads);
        if (!t->team) {
            sr_error_set(err, SR_ERR_NOMEM, "generator: out of memory");
            tiler_destroy(&t->base);
            return NULL;
        }
        t->threads = gen_team_size(t->team);
    } else if (ntx < t->threads)
        ntx = t->threads < t->in_w ? t->threads : t->in_w;
    else if (ntx % t->threads)
        ntx += t->threads - ntx % t->threads;
    t->tile_w = ((t->in_w + ntx - 1) / ntx + A - 1) / A * A;
    if (t->tile_w > t->in_w)
        t->tile_w = t->in_w;
    t->views = views;
    t->on_tile = o ? o->on_tile : NULL;
    t->on_tile_user = o ? o->on_tile_user : NULL;
    t->tiles_total = (long)((t->in_h + t->tile_h - 1) / t->tile_h) * ((t->in_w + t->tile_w - 1) / t->tile_w);

    /* Single-threaded GEMM inside each tile worker (process-wide setting). */
    openblas_set_num_threads(1);

    t->arenas = calloc((size_t)t->threads, sizeof *t->arenas);
    size_t out_w = (size_t)t->s * t->in_w;
    /* at most twice its size: a wider image's band must not take a tile
     * arena (the tiles would then make another) */
    const size_t band_floats = (size_t)t->s * t->tile_h * out_w * t->outc;
    const size_t band_bytes = band_floats * sizeof(float) + 64;
    t->band_arena = sr_arena_pool_take_fit(band_bytes, 2 * band_bytes);
    t->band = t->band_arena ? sr_arena_alloc(t->band_arena, band_floats) : NULL;
    t->cache = sr_rowcache_new(src, t->tile_h + 2 * t->halo, err);
    if (!t->arenas || !t->band || !t->cache) {
        sr_error_set(err, SR_ERR_NOMEM, "generator: out of memory for tiles of %d", tile);
        tiler_destroy(&t->base);
        return NULL;
    }
    t->base.width = (int)out_w;
    t->base.height = t->s * t->in_h;
    t->base.channels = t->outc;
    t->base.pull = tiler_pull;
    t->base.destroy = tiler_destroy;
    return &t->base;
}
