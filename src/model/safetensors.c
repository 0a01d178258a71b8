/* safetensors.c: reading and writing safetensors files.
 *
 * The header is parsed by a small JSON parser into a tree (json_val), then
 * checked against the format's rules; only after every check passes is the
 * file considered open. Tensor data is read lazily, one tensor at a time, so
 * opening a big file costs only its header.
 *
 * Layout: u64 LE header length N | N bytes JSON | data area. Every tensor's
 * data_offsets are relative to the data area; together they must tile it
 * exactly (contiguous, non-overlapping, no gap, nothing left over).
 */
#include "core/json.h"
#include "srgan/atomic.h"
#include "srgan/weights.h"

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* 16 MB: a real model's header is a few KB (a 1000-tensor model under
 * 100 KB); the parsed tree costs several times the header in memory. */
#define ST_MAX_HEADER ((uint64_t)16 * 1000 * 1000)
#define JSON_MAX_DEPTH 16 /* a safetensors header nests 3 deep */
#define ST_MAX_NDIM 8

/* ---- half-precision conversion ------------------------------------------ */

static float f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1F, man = h & 0x3FF, bits;
    if (exp == 0) {
        if (man == 0) {
            bits = sign;
        } else { /* subnormal: normalise */
            int e = -1;
            do {
                e++;
                man <<= 1;
            } while (!(man & 0x400));
            bits = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3FF) << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7F800000u | (man << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static float bf16_to_f32(uint16_t h)
{
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static int host_is_le(void)
{
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

/* ---- reader ------------------------------------------------------------- */

typedef enum { DT_F32 = 0, DT_F16, DT_BF16 } st_dtype;
static const int dtype_size[] = {4, 2, 2};

typedef struct st_tensor {
    char *name;
    st_dtype dtype;
    int ndim;
    int64_t shape[ST_MAX_NDIM];
    uint64_t begin, end; /* within the data area */
} st_tensor;

struct sr_safetensors {
    char *path;
    FILE *f;
    uint64_t data_start, data_size;
    int ntensors;
    st_tensor *tensors;
    int nmeta;
    char **meta_keys, **meta_vals;
};

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

void sr_safetensors_close(sr_safetensors *st)
{
    if (!st)
        return;
    if (st->f)
        fclose(st->f);
    for (int i = 0; i < st->ntensors; i++)
        free(st->tensors[i].name);
    free(st->tensors);
    for (int i = 0; i < st->nmeta; i++) {
        free(st->meta_keys[i]);
        free(st->meta_vals[i]);
    }
    free(st->meta_keys);
    free(st->meta_vals);
    free(st->path);
    free(st);
}

static int load_metadata(sr_safetensors *st, const json_val *m, sr_error *err)
{
    if (m->type != JV_OBJ) {
        sr_error_set(err, SR_ERR_WEIGHTS, "%s: __metadata__ is not an object", st->path);
        return -1;
    }
    int oom;
    const char *dup = jv_dup_key(m, &oom);
    if (dup) {
        sr_error_set(err, SR_ERR_WEIGHTS, "%s: __metadata__ key '%.200s' appears twice", st->path,
                     dup);
        return -1;
    }
    st->meta_keys = calloc(m->len + 1, sizeof(char *));
    st->meta_vals = calloc(m->len + 1, sizeof(char *));
    if (!st->meta_keys || !st->meta_vals) {
        sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", st->path);
        return -1;
    }
    for (size_t i = 0; i < m->len; i++) {
        if (m->items[i].type != JV_STR || m->items[i].has_nul) {
            sr_error_set(err, SR_ERR_WEIGHTS, "%s: __metadata__ value of '%s' is not a string",
                         st->path, m->keys[i]);
            return -1;
        }
        st->meta_keys[i] = xstrdup(m->keys[i]);
        st->meta_vals[i] = xstrdup(m->items[i].str);
        st->nmeta = (int)i + 1;
        if (!st->meta_keys[i] || !st->meta_vals[i]) {
            sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", st->path);
            return -1;
        }
    }
    return 0;
}

static int parse_tensor(sr_safetensors *st, const char *name, const json_val *v, st_tensor *t,
                        sr_error *err)
{
    const char *p = st->path;
    if (!name[0]) {
        sr_error_set(err, SR_ERR_WEIGHTS, "%s: tensor with an empty name", p);
        return -1;
    }
    if (v->type != JV_OBJ) {
        sr_error_set(err, SR_ERR_WEIGHTS, "%s: tensor '%s': entry is not an object", p, name);
        return -1;
    }
    const json_val *dt = jv_get(v, "dtype"), *sh = jv_get(v, "shape"),
                   *off = jv_get(v, "data_offsets");
    if (!dt || !sh || !off || v->len != 3) {
        sr_error_set(err, SR_ERR_WEIGHTS,
                     "%s: tensor '%s': needs exactly dtype, shape and data_offsets", p, name);
        return -1;
    }
    if (dt->type != JV_STR) {
        sr_error_set(err, SR_ERR_WEIGHTS, "%s: tensor '%s': dtype is not a string", p, name);
        return -1;
    }
    if (!strcmp(dt->str, "F32"))
        t->dtype = DT_F32;
    else if (!strcmp(dt->str, "F16"))
        t->dtype = DT_F16;
    else if (!strcmp(dt->str, "BF16"))
        t->dtype = DT_BF16;
    else {
        sr_error_set(err, SR_ERR_UNSUPPORTED,
                     "%s: tensor '%s': dtype %.16s not supported (F32, F16, BF16)", p, name,
                     dt->str);
        return -1;
    }
    if (sh->type != JV_ARR || sh->len > ST_MAX_NDIM) {
        sr_error_set(err, SR_ERR_WEIGHTS,
                     "%s: tensor '%s': shape is not an array of at most %d sizes", p, name,
                     ST_MAX_NDIM);
        return -1;
    }
    uint64_t numel = 1;
    t->ndim = (int)sh->len;
    for (size_t i = 0; i < sh->len; i++) {
        const json_val *d = &sh->items[i];
        if (d->type != JV_NUM || !d->is_uint || d->u > (uint64_t)INT64_MAX) {
            sr_error_set(err, SR_ERR_WEIGHTS,
                         "%s: tensor '%s': shape entry %zu is not a non-negative integer", p,
                         name, i);
            return -1;
        }
        t->shape[i] = (int64_t)d->u;
        if (d->u && numel > UINT64_MAX / 4 / d->u) {
            sr_error_set(err, SR_ERR_WEIGHTS, "%s: tensor '%s': shape too large", p, name);
            return -1;
        }
        numel *= d->u;
    }
    if (off->type != JV_ARR || off->len != 2 || off->items[0].type != JV_NUM ||
        off->items[1].type != JV_NUM || !off->items[0].is_uint || !off->items[1].is_uint) {
        sr_error_set(err, SR_ERR_WEIGHTS,
                     "%s: tensor '%s': data_offsets is not [begin, end] (non-negative integers)",
                     p, name);
        return -1;
    }
    t->begin = off->items[0].u;
    t->end = off->items[1].u;
    if (t->end < t->begin || t->end > st->data_size) {
        sr_error_set(err, SR_ERR_CORRUPT,
                     "%s: tensor '%s': data_offsets [%llu, %llu] outside the data area "
                     "(%llu bytes)",
                     p, name, (unsigned long long)t->begin, (unsigned long long)t->end,
                     (unsigned long long)st->data_size);
        return -1;
    }
    if (t->end - t->begin != numel * (uint64_t)dtype_size[t->dtype]) {
        sr_error_set(err, SR_ERR_WEIGHTS,
                     "%s: tensor '%s': %llu bytes of data for %llu elements of %s", p, name,
                     (unsigned long long)(t->end - t->begin), (unsigned long long)numel,
                     dt->str);
        return -1;
    }
    t->name = xstrdup(name);
    if (!t->name) {
        sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", p);
        return -1;
    }
    return 0;
}

static int cmp_begin(const void *a, const void *b)
{
    const st_tensor *x = *(st_tensor *const *)a, *y = *(st_tensor *const *)b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    /* empty tensors first at equal begin, so that a non-empty one ends the run */
    return (x->end > y->end) - (x->end < y->end);
}

/* Offsets must tile [0, data_size) exactly. */
static int check_layout(sr_safetensors *st, sr_error *err)
{
    if (!st->ntensors) {
        if (st->data_size) {
            sr_error_set(err, SR_ERR_CORRUPT, "%s: %llu bytes of data but no tensors", st->path,
                         (unsigned long long)st->data_size);
            return -1;
        }
        return 0;
    }
    st_tensor **order = malloc((size_t)st->ntensors * sizeof *order);
    if (!order) {
        sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", st->path);
        return -1;
    }
    for (int i = 0; i < st->ntensors; i++)
        order[i] = &st->tensors[i];
    qsort(order, (size_t)st->ntensors, sizeof *order, cmp_begin);
    uint64_t pos = 0;
    int rc = 0;
    for (int i = 0; i < st->ntensors && !rc; i++) {
        if (order[i]->begin != pos) {
            sr_error_set(err, SR_ERR_CORRUPT,
                         "%s: tensor '%s': data begins at %llu, expected %llu (tensors must be "
                         "contiguous and not overlap)",
                         st->path, order[i]->name, (unsigned long long)order[i]->begin,
                         (unsigned long long)pos);
            rc = -1;
        }
        pos = order[i]->end;
    }
    if (!rc && pos != st->data_size) {
        sr_error_set(err, SR_ERR_CORRUPT,
                     "%s: tensors cover %llu bytes of a %llu-byte data area", st->path,
                     (unsigned long long)pos, (unsigned long long)st->data_size);
        rc = -1;
    }
    free(order);
    return rc;
}

static int parse_header(sr_safetensors *st, const char *text, size_t n, sr_error *err)
{
    json_val root;
    char msg[256];
    if (json_parse(text, n, JSON_MAX_DEPTH, &root, msg, sizeof msg)) {
        sr_error_set(err, SR_ERR_WEIGHTS, "%s: invalid JSON header: %s", st->path, msg);
        return -1;
    }
    int rc = 0;
    if (root.type != JV_OBJ) {
        sr_error_set(err, SR_ERR_WEIGHTS, "%s: header is not a JSON object", st->path);
        rc = -1;
    }
    if (!rc) {
        int oom;
        const char *dup = jv_dup_key(&root, &oom);
        if (dup || oom) {
            sr_error_set(err, oom ? SR_ERR_NOMEM : SR_ERR_WEIGHTS, "%s: %s%.200s%s", st->path,
                         oom ? "out of memory" : "tensor '", oom ? "" : dup,
                         oom ? "" : "' appears twice in the header");
            rc = -1;
        }
    }
    if (!rc) {
        st->tensors = calloc(root.len + 1, sizeof *st->tensors);
        if (!st->tensors) {
            sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", st->path);
            rc = -1;
        }
    }
    for (size_t i = 0; !rc && i < root.len; i++) {
        if (!strcmp(root.keys[i], "__metadata__")) {
            rc = load_metadata(st, &root.items[i], err);
            continue;
        }
        rc = parse_tensor(st, root.keys[i], &root.items[i], &st->tensors[st->ntensors], err);
        if (!rc)
            st->ntensors++;
    }
    jv_free(&root);
    if (!rc)
        rc = check_layout(st, err);
    return rc;
}

sr_safetensors *sr_safetensors_open(const char *path, sr_error *err)
{
    sr_safetensors *st = calloc(1, sizeof *st);
    char *header = NULL;
    if (!st || !(st->path = xstrdup(path))) {
        sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    st->f = fopen(path, "rb");
    if (!st->f) {
        sr_error_set(err, SR_ERR_IO, "%s: %s", path, strerror(errno));
        goto fail;
    }
    struct stat sb;
    if (fstat(fileno(st->f), &sb) || !S_ISREG(sb.st_mode)) {
        sr_error_set(err, SR_ERR_IO, "%s: not a regular file", path);
        goto fail;
    }
    uint64_t fsize = (uint64_t)sb.st_size;
    unsigned char lenb[8];
    if (fsize < 8 || fread(lenb, 1, 8, st->f) != 8) {
        sr_error_set(err, SR_ERR_FORMAT, "%s: too short for a safetensors file (%llu bytes)",
                     path, (unsigned long long)fsize);
        goto fail;
    }
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = hlen << 8 | lenb[i];
    if (hlen < 2 || hlen > ST_MAX_HEADER) {
        sr_error_set(err, SR_ERR_FORMAT,
                     "%s: not a safetensors file (header length %llu is not sane)", path,
                     (unsigned long long)hlen);
        goto fail;
    }
    if (hlen > fsize - 8) {
        sr_error_set(err, SR_ERR_CORRUPT,
                     "%s: header length %llu exceeds the file (%llu bytes): truncated?", path,
                     (unsigned long long)hlen, (unsigned long long)fsize);
        goto fail;
    }
    header = malloc((size_t)hlen);
    if (!header) {
        sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory for the header", path);
        goto fail;
    }
    if (fread(header, 1, (size_t)hlen, st->f) != hlen) {
        sr_error_set(err, SR_ERR_IO, "%s: cannot read the header", path);
        goto fail;
    }
    if (header[0] != '{') {
        sr_error_set(err, SR_ERR_FORMAT, "%s: not a safetensors file (header is not JSON)", path);
        goto fail;
    }
    st->data_start = 8 + hlen;
    st->data_size = fsize - st->data_start;
    if (parse_header(st, header, (size_t)hlen, err))
        goto fail;
    free(header);
    return st;
fail:
    free(header);
    sr_safetensors_close(st);
    return NULL;
}

const char *sr_safetensors_path(const sr_safetensors *st)
{
    return st->path;
}

const char *sr_safetensors_meta(const sr_safetensors *st, const char *key)
{
    for (int i = 0; i < st->nmeta; i++)
        if (!strcmp(st->meta_keys[i], key))
            return st->meta_vals[i];
    return NULL;
}

int sr_safetensors_meta_count(const sr_safetensors *st)
{
    return st->nmeta;
}

const char *sr_safetensors_meta_key(const sr_safetensors *st, int i)
{
    return i >= 0 && i < st->nmeta ? st->meta_keys[i] : NULL;
}

uint64_t sr_safetensors_data_bytes(const sr_safetensors *st)
{
    return st ? st->data_size : 0;
}

int sr_safetensors_count(const sr_safetensors *st)
{
    return st->ntensors;
}

const char *sr_safetensors_name(const sr_safetensors *st, int i)
{
    return i >= 0 && i < st->ntensors ? st->tensors[i].name : NULL;
}

static const st_tensor *find(const sr_safetensors *st, const char *name)
{
    for (int i = 0; i < st->ntensors; i++)
        if (!strcmp(st->tensors[i].name, name))
            return &st->tensors[i];
    return NULL;
}

int sr_safetensors_has(const sr_safetensors *st, const char *name)
{
    return find(st, name) != NULL;
}

int sr_safetensors_shape(const sr_safetensors *st, const char *name, int64_t shape[8])
{
    const st_tensor *t = find(st, name);
    if (!t)
        return -1;
    for (int i = 0; i < t->ndim; i++)
        shape[i] = t->shape[i];
    return t->ndim;
}

static void shape_str(char *buf, size_t n, int ndim, const int64_t *shape)
{
    size_t k = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < ndim && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (k < n)
        snprintf(buf + k, n - k, "]");
}

int sr_safetensors_read(const sr_safetensors *st, const char *name, int ndim,
                        const int64_t *shape, float *out, sr_error *err)
{
    const st_tensor *t = find(st, name);
    if (!t) {
        sr_error_set(err, SR_ERR_WEIGHTS, "%s: tensor '%s' missing", st->path, name);
        return -1;
    }
    int same = t->ndim == ndim;
    for (int i = 0; same && i < ndim; i++)
        same = t->shape[i] == shape[i];
    if (!same) {
        char a[128], b[128];
        shape_str(a, sizeof a, t->ndim, t->shape);
        shape_str(b, sizeof b, ndim, shape);
        sr_error_set(err, SR_ERR_WEIGHTS, "%s: tensor '%s' has shape %s, expected %s",
                     st->path, name, a, b);
        return -1;
    }
    uint64_t bytes = t->end - t->begin;
    size_t numel = (size_t)(bytes / (uint64_t)dtype_size[t->dtype]);
    if (fseeko(st->f, (off_t)(st->data_start + t->begin), SEEK_SET)) {
        sr_error_set(err, SR_ERR_IO, "%s: tensor '%s': seek failed", st->path, name);
        return -1;
    }
    const int le = host_is_le();
    if (t->dtype == DT_F32) {
        if (fread(out, 4, numel, st->f) != numel) {
            sr_error_set(err, SR_ERR_CORRUPT, "%s: tensor '%s': data truncated", st->path, name);
            return -1;
        }
        if (!le) {
            for (size_t i = 0; i < numel; i++) {
                uint32_t v;
                memcpy(&v, &out[i], 4);
                v = (v >> 24) | ((v >> 8) & 0xFF00) | ((v << 8) & 0xFF0000) | (v << 24);
                memcpy(&out[i], &v, 4);
            }
        }
        return 0;
    }
    /* 16-bit types: convert through a small buffer. */
    enum { CHUNK = 4096 };
    unsigned char buf[CHUNK * 2];
    for (size_t i = 0; i < numel; i += CHUNK) {
        size_t n = numel - i < CHUNK ? numel - i : CHUNK;
        if (fread(buf, 2, n, st->f) != n) {
            sr_error_set(err, SR_ERR_CORRUPT, "%s: tensor '%s': data truncated", st->path, name);
            return -1;
        }
        for (size_t j = 0; j < n; j++) {
            uint16_t h = (uint16_t)(buf[2 * j] | buf[2 * j + 1] << 8);
            out[i + j] = t->dtype == DT_F16 ? f16_to_f32(h) : bf16_to_f32(h);
        }
    }
    return 0;
}

/* ---- writer ------------------------------------------------------------- */

typedef struct wr_tensor {
    char *name;
    int ndim;
    int64_t shape[ST_MAX_NDIM];
    const float *data;
    uint64_t numel;
} wr_tensor;

struct sr_st_writer {
    int n, cap;
    wr_tensor *t;
    int nmeta, capmeta;
    char **mk, **mv;
    int failed; /* an allocation or argument failed in add/meta: save refuses */
    char why[128];
};

sr_st_writer *sr_st_writer_new(void)
{
    return calloc(1, sizeof(sr_st_writer));
}

void sr_st_writer_free(sr_st_writer *w)
{
    if (!w)
        return;
    for (int i = 0; i < w->n; i++)
        free(w->t[i].name);
    free(w->t);
    for (int i = 0; i < w->nmeta; i++) {
        free(w->mk[i]);
        free(w->mv[i]);
    }
    free(w->mk);
    free(w->mv);
    free(w);
}

static void wr_fail(sr_st_writer *w, const char *why)
{
    if (!w->failed)
        snprintf(w->why, sizeof w->why, "%s", why);
    w->failed = 1;
}

void sr_st_writer_meta(sr_st_writer *w, const char *key, const char *value)
{
    for (int i = 0; i < w->nmeta; i++) {
        if (!strcmp(w->mk[i], key)) { /* a later value replaces an earlier one */
            char *v = xstrdup(value);
            if (!v)
                return wr_fail(w, "out of memory");
            free(w->mv[i]);
            w->mv[i] = v;
            return;
        }
    }
    if (w->nmeta == w->capmeta) {
        int nc = w->capmeta ? 2 * w->capmeta : 16;
        char **a = realloc(w->mk, (size_t)nc * sizeof *a);
        if (!a)
            return wr_fail(w, "out of memory");
        w->mk = a;
        char **b = realloc(w->mv, (size_t)nc * sizeof *b);
        if (!b)
            return wr_fail(w, "out of memory");
        w->mv = b;
        w->capmeta = nc;
    }
    char *k = xstrdup(key), *v = xstrdup(value);
    if (!k || !v) {
        free(k);
        free(v);
        return wr_fail(w, "out of memory");
    }
    w->mk[w->nmeta] = k;
    w->mv[w->nmeta] = v;
    w->nmeta++;
}

void sr_st_writer_add(sr_st_writer *w, const char *name, int ndim, const int64_t *shape,
                      const float *data)
{
    if (ndim < 0 || ndim > ST_MAX_NDIM || !name[0] || !strcmp(name, "__metadata__"))
        return wr_fail(w, "invalid tensor name or rank");
    for (int i = 0; i < w->n; i++)
        if (!strcmp(w->t[i].name, name))
            return wr_fail(w, "duplicate tensor name");
    if (w->n == w->cap) {
        int nc = w->cap ? 2 * w->cap : 32;
        wr_tensor *t = realloc(w->t, (size_t)nc * sizeof *t);
        if (!t)
            return wr_fail(w, "out of memory");
        w->t = t;
        w->cap = nc;
    }
    wr_tensor *t = &w->t[w->n];
    memset(t, 0, sizeof *t);
    t->name = xstrdup(name);
    if (!t->name)
        return wr_fail(w, "out of memory");
    t->ndim = ndim;
    t->numel = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0)
            return wr_fail(w, "negative size in shape");
        t->shape[i] = shape[i];
        t->numel *= (uint64_t)shape[i];
    }
    t->data = data;
    w->n++;
}

/* A growable text buffer for the header. */
typedef struct sbuf {
    char *s;
    size_t n, cap;
    int oom;
} sbuf;

static void sb_putn(sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap : 1024;
        while (nc < b->n + n + 1)
            nc *= 2;
        char *p = realloc(b->s, nc);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->s = p;
        b->cap = nc;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = 0;
}

static void sb_puts(sbuf *b, const char *s)
{
    sb_putn(b, s, strlen(s));
}

static void sb_json_string(sbuf *b, const char *s)
{
    sb_puts(b, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            sb_putn(b, esc, 2);
        } else if (c < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            sb_puts(b, esc);
        } else {
            sb_putn(b, (const char *)&c, 1);
        }
    }
    sb_puts(b, "\"");
}

static int build_header(const sr_st_writer *w, sbuf *b)
{
    char num[64];
    uint64_t off = 0;
    sb_puts(b, "{");
    if (w->nmeta) {
        sb_puts(b, "\"__metadata__\":{");
        for (int i = 0; i < w->nmeta; i++) {
            if (i)
                sb_puts(b, ",");
            sb_json_string(b, w->mk[i]);
            sb_puts(b, ":");
            sb_json_string(b, w->mv[i]);
        }
        sb_puts(b, "}");
    }
    for (int i = 0; i < w->n; i++) {
        const wr_tensor *t = &w->t[i];
        if (i || w->nmeta)
            sb_puts(b, ",");
        sb_json_string(b, t->name);
        sb_puts(b, ":{\"dtype\":\"F32\",\"shape\":[");
        for (int d = 0; d < t->ndim; d++) {
            snprintf(num, sizeof num, "%s%lld", d ? "," : "", (long long)t->shape[d]);
            sb_puts(b, num);
        }
        snprintf(num, sizeof num, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off,
                 (unsigned long long)(off + 4 * t->numel));
        sb_puts(b, num);
        off += 4 * t->numel;
    }
    sb_puts(b, "}");
    while (b->n % 8) /* align the data area to 8 bytes, as the reference writer does */
        sb_puts(b, " ");
    return b->oom ? -1 : 0;
}

static int write_floats(FILE *f, const float *p, uint64_t n)
{
    if (host_is_le())
        return fwrite(p, 4, (size_t)n, f) == n ? 0 : -1;
    for (uint64_t i = 0; i < n; i++) {
        uint32_t v;
        unsigned char b[4];
        memcpy(&v, &p[i], 4);
        for (int k = 0; k < 4; k++)
            b[k] = (unsigned char)(v >> (8 * k));
        if (fwrite(b, 1, 4, f) != 4)
            return -1;
    }
    return 0;
}

int sr_st_writer_save(sr_st_writer *w, const char *path, sr_error *err)
{
    if (w->failed) {
        sr_error_set(err, SR_ERR_ARG, "%s: cannot write: %s", path, w->why);
        return -1;
    }
    sbuf b = {0};
    if (build_header(w, &b)) {
        free(b.s);
        sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", path);
        return -1;
    }
    /* Weights and checkpoints replace the previous file of a run (overwrite). */
    sr_atomic_file *af = sr_atomic_open(path, SR_ATOMIC_OVERWRITE, err);
    FILE *f = af ? sr_atomic_stream(af) : NULL;
    if (!f) {
        if (af) {
            sr_error_set(err, SR_ERR_IO, "%s: cannot create a temporary file: %s", path, strerror(errno));
            sr_atomic_abort(af);
        }
        free(b.s);
        return -1;
    }
    unsigned char lenb[8];
    for (int i = 0; i < 8; i++)
        lenb[i] = (unsigned char)((uint64_t)b.n >> (8 * i));
    int bad = fwrite(lenb, 1, 8, f) != 8 || fwrite(b.s, 1, b.n, f) != b.n;
    for (int i = 0; !bad && i < w->n; i++)
        bad = write_floats(f, w->t[i].data, w->t[i].numel) != 0;
    if (bad) {
        sr_error_set(err, SR_ERR_IO, "%s: write failed: %s", path, strerror(errno));
        sr_atomic_abort(af);
    } else {
        bad = sr_atomic_commit(af, err) != 0;
    }
    free(b.s);
    return bad ? -1 : 0;
}
