/* data.c: the training data pipeline.
 *
 * Images are listed at open (headers only: sizes checked, nothing decoded)
 * and decoded on demand into an LRU cache bounded in bytes, kept in their
 * native 8/16-bit samples (a quarter of float32's memory). With a data set
 * larger than the cache, memory stays at the cache bound and images are
 * decoded again when needed.
 *
 * Batches are a pure function of (seed, batch index): the order is an
 * epoch-wise shuffle, crops and flips come from a generator seeded by the
 * item's global index. So a loader thread may run ahead, and a resumed run
 * sees exactly the batches an uninterrupted run would.
 *
 * HR-only data: LR = MATLAB imresize(modcrop(HR), 1/s), computed on a
 * window around the crop, 4 LR pixels wider on each side (clamped to the
 * image): the bicubic taps reach 2 LR pixels, so the patch equals the crop of
 * a whole-image downscale exactly, at a fraction of the cost.
 *
 * With another degradation (--degrade real|microscopy|FILE) the LR is made by
 * degrade.c from a window around the crop, DEG_MARGIN LR pixels wider on
 * each side plus a random 0..7 on the left and top, so blur borders stay
 * outside the patch and JPEG's 8x8 grid does not sit at a fixed place in
 * it. Its random draws come from a stream of their own per sample, so the
 * crops and flips are those of the bicubic run with the same seed. */
#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "srgan/degrade.h"
#include "srgan/image.h"
#include "srgan/resample.h"
#include "srgan/train.h"
#include "train_internal.h"

#define LR_MARGIN 4
#define DEG_MARGIN 2
#define DEG_STREAM 0xde9a000000000000ULL

typedef struct image_ref {
    char *hr, *lr;      /* paths (lr NULL: made from hr)                */
    int w, h;           /* HR size                                      */
} image_ref;

typedef struct cache_entry {
    int key;            /* 2 * index + is_lr, -1 = free                 */
    void *data;         /* interleaved native samples                   */
    int w, h, c;
    sr_dtype dtype;
    size_t bytes;
    uint64_t used;      /* LRU clock                                    */
    int pins;
    float lo, gain;     /* sample' = (sample - lo) * gain (normalised)  */
} cache_entry;

struct sr_dataset {
    image_ref *img;
    int n;
    int scale, channels;
    pthread_mutex_t mu;
    cache_entry *cache;
    int ncache, capcache;
    size_t cache_bytes, cache_limit;
    uint64_t clock;
    sr_degrade_params deg; /* kind bicubic: synth_lr's exact window path */
};

/* ---- listing ------------------------------------------------------------ */

typedef struct strlist {
    char **v;
    int n, cap;
} strlist;

static int strlist_add(strlist *l, const char *s)
{
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 64;
        char **v = realloc(l->v, (size_t)cap * sizeof *v);
        if (!v) return -1;
        l->v = v, l->cap = cap;
    }
    if (!(l->v[l->n] = strdup(s))) return -1;
    l->n++;
    return 0;
}

static void strlist_free(strlist *l)
{
    for (int i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
}

/* relative paths of images under root/rel, recursively */
static int list_dir(const char *root, const char *rel, strlist *out, int depth, sr_error *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s%s%s", root, *rel ? "/" : "", rel);
    DIR *d = opendir(path);
    if (!d) {
        sr_error_set(err, SR_ERR_IO, "%s: cannot open directory", path);
        return -1;
    }
    struct dirent *e;
    int rc = 0;
    while (!rc && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char sub[4096], full[8192];
        snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", e->d_name);
        snprintf(full, sizeof full, "%s/%s", root, sub);
        struct stat st;
        if (stat(full, &st)) continue;
        if (S_ISDIR(st.st_mode)) {
            if (depth < 8) rc = list_dir(root, sub, out, depth + 1, err);
        } else if (S_ISREG(st.st_mode) && sr_is_image_name(e->d_name)) {
            if (strlist_add(out, sub)) {
                sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", root);
                rc = -1;
            }
        }
    }
    closedir(d);
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static size_t stem_len(const char *rel)
{
    const char *dot = strrchr(rel, '.');
    return dot ? (size_t)(dot - rel) : strlen(rel);
}

static int header_size(const char *path, int *w, int *h, sr_error *err)
{
    sr_reader *r = sr_reader_open(path, NULL, err);
    if (!r) return -1;
    const sr_image_info *in = sr_reader_info(r);
    *w = in->width, *h = in->height;
    sr_reader_close(r);
    return 0;
}

sr_dataset *sr_dataset_open(const char *hr_dir, const char *lr_dir, int scale, int channels,
                            size_t cache_bytes, sr_error *err)
{
    strlist hr = {0}, lr = {0};
    sr_dataset *ds = NULL;
    if (scale < 1 || scale > 8 || (channels != 1 && channels != 3)) {
        sr_error_set(err, SR_ERR_ARG, "data: scale must be 1..8 and channels 1 or 3");
        return NULL;
    }
    if (list_dir(hr_dir, "", &hr, 0, err)) goto fail;
    if (lr_dir && list_dir(lr_dir, "", &lr, 0, err)) goto fail;
    if (hr.n == 0) {
        sr_error_set(err, SR_ERR_ARG, "%s: no images (png, jpg, tif) found", hr_dir);
        goto fail;
    }
    qsort(hr.v, (size_t)hr.n, sizeof *hr.v, cmp_str);
    if (lr.n) /* no --lr: lr.v is NULL, which qsort must not get (UB) */
        qsort(lr.v, (size_t)lr.n, sizeof *lr.v, cmp_str);
    ds = calloc(1, sizeof *ds);
    if (!ds || !(ds->img = calloc((size_t)hr.n, sizeof *ds->img))) {
        sr_error_set(err, SR_ERR_NOMEM, "data: out of memory");
        goto fail;
    }
    pthread_mutex_init(&ds->mu, NULL);
    ds->scale = scale, ds->channels = channels, ds->cache_limit = cache_bytes;
    for (int i = 0; i < hr.n; i++) {
        image_ref *im = &ds->img[ds->n];
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", hr_dir, hr.v[i]);
        im->hr = strdup(path);
        ds->n++;
        if (!im->hr) {
            sr_error_set(err, SR_ERR_NOMEM, "data: out of memory");
            goto fail;
        }
        if (header_size(im->hr, &im->w, &im->h, err)) goto fail;
        if (!lr_dir) continue;
        size_t sl = stem_len(hr.v[i]);
        const char *match = NULL;
        for (int j = 0; j < lr.n && !match; j++)
            if (stem_len(lr.v[j]) == sl && !strncmp(lr.v[j], hr.v[i], sl)) match = lr.v[j];
        if (!match) {
            sr_error_set(err, SR_ERR_ARG, "%s: no LR image with the same name in %s", im->hr,
                         lr_dir);
            goto fail;
        }
        snprintf(path, sizeof path, "%s/%s", lr_dir, match);
        if (!(im->lr = strdup(path))) {
            sr_error_set(err, SR_ERR_NOMEM, "data: out of memory");
            goto fail;
        }
        int lw, lh;
        if (header_size(im->lr, &lw, &lh, err)) goto fail;
        if (lw * scale != im->w || lh * scale != im->h) {
            sr_error_set(err, SR_ERR_ARG,
                         "%s (%dx%d) is not %d x the size of %s (%dx%d)", im->hr, im->w, im->h,
                         scale, im->lr, lw, lh);
            goto fail;
        }
    }
    strlist_free(&hr);
    strlist_free(&lr);
    return ds;
fail:
    strlist_free(&hr);
    strlist_free(&lr);
    sr_dataset_free(ds);
    return NULL;
}

void sr_dataset_free(sr_dataset *ds)
{
    if (!ds) return;
    for (int i = 0; i < ds->n; i++) {
        free(ds->img[i].hr);
        free(ds->img[i].lr);
    }
    for (int i = 0; i < ds->ncache; i++) free(ds->cache[i].data);
    free(ds->cache);
    free(ds->img);
    pthread_mutex_destroy(&ds->mu);
    free(ds);
}

int sr_dataset_count(const sr_dataset *ds) { return ds->n; }
const char *sr_dataset_path(const sr_dataset *ds, int i) { return ds->img[i].hr; }

int sr_dataset_filter(sr_dataset *ds, int patch, char *first, size_t len)
{
    int kept = 0, dropped = 0;
    if (first && len) first[0] = 0;
    for (int i = 0; i < ds->n; i++) {
        image_ref *im = &ds->img[i];
        int mw = im->w / ds->scale, mh = im->h / ds->scale;
        if (mw * ds->scale < patch || mh * ds->scale < patch) {
            if (!dropped++ && first) snprintf(first, len, "%s (%dx%d)", im->hr, im->w, im->h);
            free(im->hr);
            free(im->lr);
            continue;
        }
        ds->img[kept++] = *im;
    }
    ds->n = kept;
    return dropped;
}

/* ---- decoding and the cache --------------------------------------------- */

/* The intensity window of a 16-bit or float image: its 1st..99.8th
 * percentiles map to 0..1, as srgan-up's default --normalize does for such
 * images at inference (CSBDeep-style), so the network trains on what it
 * will see. Fluorescence data often uses a few thousand of 65535 levels and
 * would otherwise train on nearly black patches. 8-bit data is left as is. */
enum { NORM_BINS = 65536 };
#define NORM_LOW 1.0
#define NORM_HIGH 99.8

static float raw_value(const cache_entry *e, size_t i)
{
    return e->dtype == SR_U8    ? ((const uint8_t *)e->data)[i] / 255.0f
           : e->dtype == SR_U16 ? ((const uint16_t *)e->data)[i] / 65535.0f
                                : ((const float *)e->data)[i];
}

static void set_norm_window(cache_entry *e)
{
    e->lo = 0.0f, e->gain = 1.0f;
    if (e->dtype == SR_U8)
        return;
    int cc = e->c >= 3 ? 3 : 1; /* colour channels; alpha excluded */
    size_t px = (size_t)e->w * e->h;
    float mn = INFINITY, mx = -INFINITY;
    for (size_t p = 0; p < px; p++)
        for (int k = 0; k < cc; k++) {
            float v = raw_value(e, p * e->c + k);
            if (isfinite(v)) {
                mn = v < mn ? v : mn;
                mx = v > mx ? v : mx;
            }
        }
    if (!(mx > mn) || !isfinite((double)mx - (double)mn))
        return; /* flat, empty or beyond float range: nothing to stretch */
    uint64_t *hist = calloc(NORM_BINS, sizeof *hist);
    if (!hist)
        return;
    double width = ((double)mx - (double)mn) / (NORM_BINS - 1);
    uint64_t total = 0;
    for (size_t p = 0; p < px; p++)
        for (int k = 0; k < cc; k++) {
            float v = raw_value(e, p * e->c + k);
            if (isfinite(v)) {
                double bin = ((double)v - (double)mn) / width + 0.5;
                hist[bin < 0 ? 0 : bin >= NORM_BINS ? NORM_BINS - 1 : (size_t)bin]++;
                total++;
            }
        }
    double q[2] = {NORM_LOW, NORM_HIGH}, at[2] = {mn, mx};
    for (int j = 0; j < 2; j++) {
        double target = q[j] / 100.0 * (double)(total - 1);
        uint64_t cum = 0;
        for (int b = 0; b < NORM_BINS; b++) {
            cum += hist[b];
            if ((double)cum > target) {
                at[j] = mn + b * width;
                break;
            }
        }
    }
    free(hist);
    if (at[1] > at[0]) {
        e->lo = (float)at[0];
        e->gain = (float)(1.0 / (at[1] - at[0]));
    }
}

static cache_entry *decode(const char *path, sr_error *err)
{
    sr_reader *r = sr_reader_open(path, NULL, err);
    if (!r) return NULL;
    const sr_image_info *in = sr_reader_info(r);
    /* the cache and its windows know unsigned 8/16-bit and float samples of
     * gray/RGB(+alpha) images; other TIFF layouts are refused, not misread */
    if ((in->dtype != SR_U8 && in->dtype != SR_U16 && in->dtype != SR_F32) || in->data_channels) {
        sr_error_set(err, SR_ERR_UNSUPPORTED, "%s: %s for training: only 8/16-bit unsigned or "
                     "float gray/RGB images are", path,
                     in->data_channels ? "data channels are not supported"
                                       : "this sample type is not supported");
        sr_reader_close(r);
        return NULL;
    }
    cache_entry *e = calloc(1, sizeof *e);
    size_t row = sr_row_bytes(in);
    if (e) e->data = malloc(row * (size_t)in->height);
    if (!e || !e->data) {
        if (e) free(e);
        sr_reader_close(r);
        sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory decoding", path);
        return NULL;
    }
    e->w = in->width, e->h = in->height, e->c = in->channels, e->dtype = in->dtype;
    e->bytes = row * (size_t)in->height;
    for (int y = 0; y < in->height; y += 64) {
        int n = in->height - y < 64 ? in->height - y : 64;
        if (sr_reader_read_rows(r, (uint8_t *)e->data + row * (size_t)y, n, err)) {
            sr_reader_close(r);
            free(e->data);
            free(e);
            return NULL;
        }
    }
    sr_reader_close(r);
    set_norm_window(e);
    return e;
}

/* Pinned entry for image i (lr: its LR file); unpin with cache_release. */
static cache_entry *cache_get(sr_dataset *ds, int i, int lr, sr_error *err)
{
    int key = 2 * i + lr;
    pthread_mutex_lock(&ds->mu);
    for (int k = 0; k < ds->ncache; k++)
        if (ds->cache[k].key == key) {
            cache_entry *e = &ds->cache[k];
            e->used = ++ds->clock;
            e->pins++;
            pthread_mutex_unlock(&ds->mu);
            return e;
        }
    pthread_mutex_unlock(&ds->mu);
    cache_entry *ne = decode(lr ? ds->img[i].lr : ds->img[i].hr, err);
    if (!ne) return NULL;
    pthread_mutex_lock(&ds->mu);
    /* evict least recently used unpinned entries until the new one fits */
    while (ds->cache_bytes + ne->bytes > ds->cache_limit) {
        int victim = -1;
        for (int k = 0; k < ds->ncache; k++)
            if (ds->cache[k].key >= 0 && !ds->cache[k].pins &&
                (victim < 0 || ds->cache[k].used < ds->cache[victim].used))
                victim = k;
        if (victim < 0) break;
        ds->cache_bytes -= ds->cache[victim].bytes;
        free(ds->cache[victim].data);
        ds->cache[victim].data = NULL;
        ds->cache[victim].key = -1;
    }
    int slot = -1;
    for (int k = 0; k < ds->ncache && slot < 0; k++)
        if (ds->cache[k].key < 0) slot = k;
    if (slot < 0) {
        if (ds->ncache == ds->capcache) {
            int cap = ds->capcache ? 2 * ds->capcache : 64;
            /* entries are handed out by pointer: grow only when none is pinned */
            int pinned = 0;
            for (int k = 0; k < ds->ncache; k++) pinned |= ds->cache[k].pins;
            cache_entry *nc = pinned ? NULL : realloc(ds->cache, (size_t)cap * sizeof *nc);
            if (!nc) {
                /* cannot keep it: hand out an uncached, owned entry */
                pthread_mutex_unlock(&ds->mu);
                ne->key = -2;
                ne->pins = 1;
                return ne;
            }
            ds->cache = nc, ds->capcache = cap;
        }
        slot = ds->ncache++;
    }
    cache_entry *e = &ds->cache[slot];
    *e = *ne;
    free(ne);
    e->key = key;
    e->used = ++ds->clock;
    e->pins = 1;
    ds->cache_bytes += e->bytes;
    pthread_mutex_unlock(&ds->mu);
    return e;
}

static void cache_release(sr_dataset *ds, cache_entry *e)
{
    if (e->key == -2) {
        free(e->data);
        free(e);
        return;
    }
    pthread_mutex_lock(&ds->mu);
    e->pins--;
    pthread_mutex_unlock(&ds->mu);
}

/* sample (x, y, channel k of the model's channels) in [0,1] */
static float sample_at(const cache_entry *e, int x, int y, int k, int channels)
{
    size_t base = ((size_t)y * e->w + x) * e->c;
    int cc = e->c >= 3 ? 3 : 1; /* colour channels present (alpha dropped) */
    float v[3];
    for (int j = 0; j < cc; j++)
        v[j] = (raw_value(e, base + j) - e->lo) * e->gain;
    if (channels == 3) return cc == 3 ? v[k] : v[0];
    return cc == 3 ? 0.299f * v[0] + 0.587f * v[1] + 0.114f * v[2] : v[0];
}

/* planar [C, ph, pw] crop at (x0, y0) */
static void crop_planar(const cache_entry *e, int x0, int y0, int pw, int ph, int channels,
                        float *out)
{
    for (int k = 0; k < channels; k++)
        for (int y = 0; y < ph; y++)
            for (int x = 0; x < pw; x++)
                out[((size_t)k * ph + y) * pw + x] = sample_at(e, x0 + x, y0 + y, k, channels);
}

/* In-place flips/transpose of a square planar patch. */
static void augment(float *p, int c, int s, int hflip, int vflip, int transpose)
{
    for (int k = 0; k < c; k++) {
        float *q = p + (size_t)k * s * s;
        if (hflip)
            for (int y = 0; y < s; y++)
                for (int x = 0; x < s / 2; x++) {
                    float t = q[y * s + x];
                    q[y * s + x] = q[y * s + s - 1 - x];
                    q[y * s + s - 1 - x] = t;
                }
        if (vflip)
            for (int y = 0; y < s / 2; y++)
                for (int x = 0; x < s; x++) {
                    float t = q[y * s + x];
                    q[y * s + x] = q[(s - 1 - y) * s + x];
                    q[(s - 1 - y) * s + x] = t;
                }
        if (transpose)
            for (int y = 0; y < s; y++)
                for (int x = y + 1; x < s; x++) {
                    float t = q[y * s + x];
                    q[y * s + x] = q[x * s + y];
                    q[x * s + y] = t;
                }
    }
}

/* one level of the file's samples in normalised units (0: float, none) */
static double quant_step(const cache_entry *e)
{
    return e->dtype == SR_U8 ? e->gain / 255.0 : e->dtype == SR_U16 ? e->gain / 65535.0 : 0;
}

/* LR patch of an HR-only image from a window around the crop: bicubic
 * (MATLAB imresize; the window is LR_MARGIN LR pixels wider on each side,
 * enough for the bicubic taps, so the patch equals the crop of a whole-image
 * downscale exactly) or, with r, the dataset's degradation (a DEG_MARGIN
 * margin plus a random 0..7 shift on the left and top, so blur borders stay
 * outside the patch and JPEG's 8x8 grid falls anywhere). */
static int synth_lr(const sr_dataset *ds, const cache_entry *e, int lx, int ly, int lp, sr_rng *r,
                    float *out, sr_error *err)
{
    int s = ds->scale, C = ds->channels;
    int lw = e->w / s, lh = e->h / s; /* modcrop */
    int margin = r ? DEG_MARGIN : LR_MARGIN;
    int jx = r ? (int)sr_rng_below(r, 8) : 0, jy = r ? (int)sr_rng_below(r, 8) : 0;
    int x0 = lx - margin - jx < 0 ? 0 : lx - margin - jx;
    int y0 = ly - margin - jy < 0 ? 0 : ly - margin - jy;
    int x1 = lx + lp + margin > lw ? lw : lx + lp + margin;
    int y1 = ly + lp + margin > lh ? lh : ly + lp + margin;
    int rw = (x1 - x0) * s, rh = (y1 - y0) * s;
    float *in = malloc((size_t)rw * rh * C * sizeof(float));
    float *small = malloc((size_t)(x1 - x0) * (y1 - y0) * C * sizeof(float));
    int rc = -1;
    if (!in || !small) {
        sr_error_set(err, SR_ERR_NOMEM, "data: out of memory");
        goto done;
    }
    for (int y = 0; y < rh; y++)
        for (int x = 0; x < rw; x++)
            for (int k = 0; k < C; k++)
                in[((size_t)y * rw + x) * C + k] = sample_at(e, x0 * s + x, y0 * s + y, k, C);
    if (r ? sr_degrade_apply(&ds->deg, r, in, rw, rh, C, small, x1 - x0, y1 - y0, quant_step(e), err)
          : sr_imresize(in, rw, rh, C, small, x1 - x0, y1 - y0, SR_FILTER_BICUBIC, err))
        goto done;
    for (int k = 0; k < C; k++)
        for (int y = 0; y < lp; y++)
            for (int x = 0; x < lp; x++)
                out[((size_t)k * lp + y) * lp + x] =
                    small[((size_t)(ly - y0 + y) * (x1 - x0) + (lx - x0 + x)) * C + k];
    rc = 0;
done:
    free(in);
    free(small);
    return rc;
}

void sr_dataset_set_degrade(sr_dataset *ds, const sr_degrade_params *p) { ds->deg = *p; }

/* image index of global item g: epoch-wise Fisher-Yates shuffle */
static int item_image(const sr_dataset *ds, uint64_t seed, int64_t g, int *perm)
{
    int64_t epoch = g / ds->n;
    sr_rng r;
    sr_rng_seed(&r, seed, 0x5eed000000000000ULL + (uint64_t)epoch);
    for (int i = 0; i < ds->n; i++) perm[i] = i;
    for (int i = ds->n - 1; i > 0; i--) {
        int j = (int)sr_rng_below(&r, (uint32_t)i + 1);
        int t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    return perm[g % ds->n];
}

/* Items [j0, j1) of batch k into hr/lr (item j0 first). An item depends
 * only on (seed, its global index k * batch + j), so a rank of a
 * data-parallel run making its own slice gets exactly those items of the
 * whole batch. */
static int batch_items(sr_dataset *ds, uint64_t seed, int64_t k, int batch, int j0, int j1,
                       int patch, int aug, float *hr, float *lr, sr_error *err)
{
    int s = ds->scale, C = ds->channels, lp = patch / s;
    if (patch % s || lp < 1) {
        sr_error_set(err, SR_ERR_ARG, "data: patch %d is not a multiple of scale %d", patch, s);
        return -1;
    }
    int *perm = malloc((size_t)ds->n * sizeof *perm);
    if (!perm) {
        sr_error_set(err, SR_ERR_NOMEM, "data: out of memory");
        return -1;
    }
    int rc = 0;
    for (int j = j0; j < j1 && !rc; j++) {
        int64_t g = k * batch + j;
        int idx = item_image(ds, seed, g, perm);
        const image_ref *im = &ds->img[idx];
        sr_rng r;
        sr_rng_seed(&r, seed, (uint64_t)g);
        int lw = im->w / s, lh = im->h / s;
        if (lw < lp || lh < lp) {
            sr_error_set(err, SR_ERR_ARG, "%s: %dx%d is smaller than the %d px patch", im->hr,
                         im->w, im->h, patch);
            rc = -1;
            break;
        }
        int lx = (int)sr_rng_below(&r, (uint32_t)(lw - lp + 1));
        int ly = (int)sr_rng_below(&r, (uint32_t)(lh - lp + 1));
        uint64_t bits = sr_rng_next(&r);
        float *ho = hr + (size_t)(j - j0) * C * patch * patch;
        float *lo = lr + (size_t)(j - j0) * C * lp * lp;
        cache_entry *e = cache_get(ds, idx, 0, err);
        if (!e) {
            rc = -1;
            break;
        }
        if (e->w != im->w || e->h != im->h) {
            sr_error_set(err, SR_ERR_CORRUPT, "%s: size changed since the start", im->hr);
            cache_release(ds, e);
            rc = -1;
            break;
        }
        crop_planar(e, lx * s, ly * s, patch, patch, C, ho);
        if (im->lr) {
            cache_entry *le = cache_get(ds, idx, 1, err);
            if (!le) rc = -1;
            else {
                crop_planar(le, lx, ly, lp, lp, C, lo);
                cache_release(ds, le);
            }
        } else if (ds->deg.kind != SR_DEGRADE_BICUBIC) {
            sr_rng dr;
            sr_rng_seed(&dr, seed, DEG_STREAM + (uint64_t)g);
            rc = synth_lr(ds, e, lx, ly, lp, &dr, lo, err);
        } else {
            rc = synth_lr(ds, e, lx, ly, lp, NULL, lo, err);
        }
        cache_release(ds, e);
        if (!rc && aug) {
            int hf = bits & 1, vf = (bits >> 1) & 1, tr = (bits >> 2) & 1;
            augment(ho, C, patch, hf, vf, tr);
            augment(lo, C, lp, hf, vf, tr);
        }
    }
    free(perm);
    return rc;
}

int sr_dataset_batch(sr_dataset *ds, uint64_t seed, int64_t k, int batch, int patch, int aug,
                     float *hr, float *lr, sr_error *err)
{
    return batch_items(ds, seed, k, batch, 0, batch, patch, aug, hr, lr, err);
}

/* ---- loader thread ------------------------------------------------------ */

struct sr_loader {
    sr_dataset *ds;
    uint64_t seed;
    int64_t next_make, next_take;
    int batch, patch, aug, depth;
    int j0, nj;         /* the slice of each batch made here */
    size_t hr_floats, lr_floats;
    float **hr, **lr;
    pthread_t thread;
    int started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop, failed;
    sr_error err;
};

static void *loader_main(void *arg)
{
    sr_loader *l = arg;
    for (;;) {
        pthread_mutex_lock(&l->mu);
        while (!l->stop && l->next_make - l->next_take >= l->depth)
            pthread_cond_wait(&l->cv, &l->mu);
        if (l->stop) {
            pthread_mutex_unlock(&l->mu);
            return NULL;
        }
        int64_t k = l->next_make;
        int slot = (int)(k % l->depth);
        pthread_mutex_unlock(&l->mu);
        sr_error err = {0};
        int rc = batch_items(l->ds, l->seed, k, l->batch, l->j0, l->j0 + l->nj, l->patch,
                             l->aug, l->hr[slot], l->lr[slot], &err);
        pthread_mutex_lock(&l->mu);
        if (rc) {
            l->failed = 1;
            l->err = err;
        } else {
            l->next_make++;
        }
        pthread_cond_broadcast(&l->cv);
        pthread_mutex_unlock(&l->mu);
        if (rc) return NULL;
    }
}

sr_loader *sr_loader_new(sr_dataset *ds, uint64_t seed, int64_t first, int batch, int patch,
                         int aug, int depth, sr_error *err)
{
    return sr_loader_new_slice(ds, seed, first, batch, 0, batch, patch, aug, depth, err);
}

sr_loader *sr_loader_new_slice(sr_dataset *ds, uint64_t seed, int64_t first, int batch, int j0,
                               int nj, int patch, int aug, int depth, sr_error *err)
{
    sr_loader *l = calloc(1, sizeof *l);
    if (!l) goto nomem;
    if (depth < 1) depth = 1;
    l->ds = ds, l->seed = seed, l->next_make = l->next_take = first;
    l->batch = batch, l->patch = patch, l->aug = aug, l->depth = depth;
    l->j0 = j0, l->nj = nj;
    int lp = patch / ds->scale;
    l->hr_floats = (size_t)nj * ds->channels * patch * patch;
    l->lr_floats = (size_t)nj * ds->channels * lp * lp;
    l->hr = calloc((size_t)depth, sizeof *l->hr);
    l->lr = calloc((size_t)depth, sizeof *l->lr);
    if (!l->hr || !l->lr) goto nomem;
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cv, NULL);
    for (int i = 0; i < depth; i++) {
        l->hr[i] = sr_alloc_floats(l->hr_floats);
        l->lr[i] = sr_alloc_floats(l->lr_floats);
        if (!l->hr[i] || !l->lr[i]) goto nomem2;
    }
    if (pthread_create(&l->thread, NULL, loader_main, l)) {
        sr_error_set(err, SR_ERR_NOMEM, "data: cannot start the loader thread");
        sr_loader_free(l);
        return NULL;
    }
    l->started = 1;
    return l;
nomem2:
    sr_loader_free(l);
    sr_error_set(err, SR_ERR_NOMEM, "data: out of memory");
    return NULL;
nomem:
    if (l) {
        free(l->hr);
        free(l->lr);
        free(l);
    }
    sr_error_set(err, SR_ERR_NOMEM, "data: out of memory");
    return NULL;
}

int sr_loader_next(sr_loader *l, float *hr, float *lr, sr_error *err)
{
    pthread_mutex_lock(&l->mu);
    while (!l->failed && l->next_make == l->next_take) pthread_cond_wait(&l->cv, &l->mu);
    if (l->next_make == l->next_take && l->failed) {
        sr_error_set(err, l->err.code, "%s", l->err.msg);
        pthread_mutex_unlock(&l->mu);
        return -1;
    }
    int slot = (int)(l->next_take % l->depth);
    pthread_mutex_unlock(&l->mu);
    memcpy(hr, l->hr[slot], l->hr_floats * sizeof(float));
    memcpy(lr, l->lr[slot], l->lr_floats * sizeof(float));
    pthread_mutex_lock(&l->mu);
    l->next_take++;
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
    return 0;
}

void sr_loader_free(sr_loader *l)
{
    if (!l) return;
    if (l->started) {
        pthread_mutex_lock(&l->mu);
        l->stop = 1;
        pthread_cond_broadcast(&l->cv);
        pthread_mutex_unlock(&l->mu);
        pthread_join(l->thread, NULL);
    }
    for (int i = 0; i < l->depth; i++) {
        sr_free_floats(l->hr[i]);
        sr_free_floats(l->lr[i]);
    }
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->cv);
    free(l->hr);
    free(l->lr);
    free(l);
}

/* ---- whole images -------------------------------------------------------- */

float *sr_load_image_planar(const char *path, int channels, int *w, int *h, sr_error *err)
{
    return sr_load_image_planar_q(path, channels, w, h, NULL, err);
}

float *sr_load_image_planar_q(const char *path, int channels, int *w, int *h, double *quant,
                              sr_error *err)
{
    cache_entry *e = decode(path, err);
    if (!e) return NULL;
    if (quant) *quant = quant_step(e);
    float *out = malloc((size_t)e->w * e->h * channels * sizeof(float));
    if (!out) {
        sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", path);
    } else {
        crop_planar(e, 0, 0, e->w, e->h, channels, out);
        *w = e->w, *h = e->h;
    }
    free(e->data);
    free(e);
    return out;
}
