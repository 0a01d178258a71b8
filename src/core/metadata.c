/* metadata.c: sizes and calibration recorded in descriptions (OME-XML,
 * ImageJ, tifffile JSON) kept true after a resize. */
#include "core/json.h"
#include "srgan/metadata.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The next start tag whose local name is `name`, with or without a
 * namespace prefix ("<Pixels ", "<ome:Pixels>"), from p; NULL if none.
 * *end receives the tag's closing '>', found with quotes respected. */
static const char *find_start_tag(const char *p, const char *name, const char **end)
{
    size_t n = strlen(name);
    for (const char *lt = strchr(p, '<'); lt; lt = strchr(lt + 1, '<')) {
        const char *q = lt + 1, *local = q;
        while (*q && *q != ' ' && *q != '\t' && *q != '\n' && *q != '\r' && *q != '>' && *q != '/') {
            if (*q == ':')
                local = q + 1;
            q++;
        }
        if ((size_t)(q - local) != n || memcmp(local, name, n) != 0)
            continue;
        if (end) {
            char quote = 0;
            const char *e = q;
            for (; *e && (quote || *e != '>'); e++)
                if (*e == '"' || *e == '\'')
                    quote = quote == *e ? 0 : quote ? quote : *e;
            if (!*e)
                return NULL;
            *end = e;
        }
        return lt;
    }
    return NULL;
}

int sr_description_kind(const char *desc)
{
    if (!desc)
        return 0;
    if (!strncmp(desc, "ImageJ=", 7))
        return 2;
    if (find_start_tag(desc, "OME", NULL) && find_start_tag(desc, "Pixels", NULL))
        return 1;
    desc += strspn(desc, " \t\r\n");
    return *desc == '{' ? 3 : 0;
}

/* A growable string. */
typedef struct sbuf {
    char *s;
    size_t len, cap;
    int failed;
} sbuf;

static void sb_add(sbuf *b, const char *p, size_t n)
{
    if (b->failed)
        return;
    if (n > ((size_t)-1 >> 2) - b->len) { /* cannot happen for a C string; keeps sizes sane */
        b->failed = 1;
        return;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->cap ? b->cap * 2 : 256) + n;
        char *s = realloc(b->s, cap);
        if (!s) {
            b->failed = 1;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
    memcpy(b->s + b->len, p, n);
    b->len += n;
    b->s[b->len] = '\0';
}

/* In the start tag [tag, end), find attribute `name` (whole name, followed
 * by optional spaces and '='); return the position of its opening quote. */
static const char *find_attr(const char *tag, const char *end, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = tag; p + n < end; p++) {
        if (memcmp(p, name, n) != 0)
            continue;
        char before = p > tag ? p[-1] : ' ';
        if (before != ' ' && before != '\t' && before != '\n' && before != '\r')
            continue;
        const char *q = p + n;
        while (q < end && (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r'))
            q++;
        if (q >= end || *q != '=')
            continue;
        q++;
        while (q < end && (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r'))
            q++;
        if (q < end && (*q == '"' || *q == '\''))
            return q;
    }
    return NULL;
}

typedef struct edit {
    const char *from, *to; /* value span to replace, inside the quotes */
    char value[64];
} edit;

static int value_span(const char *quote, const char *end, edit *e)
{
    const char *close = memchr(quote + 1, *quote, (size_t)(end - quote - 1));
    if (!close)
        return -1;
    e->from = quote + 1;
    e->to = close;
    return 0;
}

static char *ome_rescale(const char *desc, int new_w, int new_h, double sx, double sy)
{
    sbuf b = {0};
    const char *p = desc;
    int changed = 0;
    for (;;) {
        const char *end = NULL;
        const char *tag = find_start_tag(p, "Pixels", &end);
        if (!tag)
            break;
        edit edits[4];
        int ne = 0;
        static const char *const names[4] = {"SizeX", "SizeY", "PhysicalSizeX", "PhysicalSizeY"};
        for (int i = 0; i < 4; i++) {
            const char *q = find_attr(tag, end, names[i]);
            if (!q || value_span(q, end, &edits[ne]))
                continue;
            if (i == 0)
                snprintf(edits[ne].value, sizeof edits[ne].value, "%d", new_w);
            else if (i == 1)
                snprintf(edits[ne].value, sizeof edits[ne].value, "%d", new_h);
            else {
                double v = strtod(edits[ne].from, NULL);
                snprintf(edits[ne].value, sizeof edits[ne].value, "%.10g", v / (i == 2 ? sx : sy));
            }
            ne++;
        }
        /* Apply in document order. */
        for (int i = 0; i < ne; i++)
            for (int j = i + 1; j < ne; j++)
                if (edits[j].from < edits[i].from) {
                    edit t = edits[i];
                    edits[i] = edits[j];
                    edits[j] = t;
                }
        for (int i = 0; i < ne; i++) {
            sb_add(&b, p, (size_t)(edits[i].from - p));
            sb_add(&b, edits[i].value, strlen(edits[i].value));
            p = edits[i].to;
            changed = 1;
        }
        sb_add(&b, p, (size_t)(end - p));
        p = end;
    }
    sb_add(&b, p, strlen(p));
    if (b.failed || !changed) {
        free(b.s);
        return NULL;
    }
    return b.s;
}

/* ---- tifffile JSON: {"shape": [..., H, W(, S)]} --------------------------
 * Parsed by the library's one JSON parser (core/json.h): a description that
 * is not a complete JSON document is left alone; nesting is capped so a
 * hostile description cannot exhaust the stack. Only the two numbers are
 * rewritten, from their byte spans, so the rest stays byte for byte. */

#define JSON_MAX_DEPTH 64

/* Whether dims [i, i+1] of the shape are (h, w). */
static int dims_are(const json_val *shape, int i, int h, int w)
{
    if (i < 0 || (size_t)i + 1 >= shape->len)
        return 0;
    return shape->items[i].u == (uint64_t)h && shape->items[i + 1].u == (uint64_t)w;
}

/* tifffile writes the series shape as [..., H, W] or, for interleaved
 * samples, [..., H, W, S]; planar samples come before H. The trailing pair
 * is tried first; a shape that names neither is left alone. */
static char *json_shape_rescale(const char *desc, int old_w, int old_h, int new_w, int new_h)
{
    json_val root;
    char msg[200];
    if (old_w == new_w && old_h == new_h)
        return NULL;
    if (json_parse(desc, strlen(desc), JSON_MAX_DEPTH, &root, msg, sizeof msg))
        return NULL;
    char *out = NULL;
    const json_val *shape = root.type == JV_OBJ ? jv_get(&root, "shape") : NULL;
    int ok = shape && shape->type == JV_ARR && shape->len >= 2;
    for (size_t i = 0; ok && i < shape->len; i++)
        ok = shape->items[i].type == JV_NUM && shape->items[i].is_uint;
    int n = ok ? (int)shape->len : 0;
    int at = !ok                                ? -1
             : dims_are(shape, n - 2, old_h, old_w) ? n - 2
             : dims_are(shape, n - 3, old_h, old_w) ? n - 3
                                                    : -1;
    if (at >= 0) {
        const json_val *h = &shape->items[at], *w = &shape->items[at + 1];
        char hv[16], wv[16];
        snprintf(hv, sizeof hv, "%d", new_h);
        snprintf(wv, sizeof wv, "%d", new_w);
        sbuf b = {0};
        sb_add(&b, desc, h->start);
        sb_add(&b, hv, strlen(hv));
        sb_add(&b, desc + h->end, w->start - h->end);
        sb_add(&b, wv, strlen(wv));
        sb_add(&b, desc + w->end, strlen(desc + w->end));
        if (b.failed)
            free(b.s);
        else
            out = b.s;
    }
    jv_free(&root);
    return out;
}

/* ---- ImageJ: xorigin/yorigin are in pixels --------------------------------
 * ImageJ maps pixel x to (x - xorigin) * pixelWidth; with pixels sx times
 * smaller, the same physical origin is sx times further in pixels. Every
 * other key (unit, spacing along Z, finterval, ranges) is unaffected by an
 * XY resize. */
static char *imagej_rescale(const char *desc, double sx, double sy)
{
    sbuf b = {0};
    const char *p = desc;
    int changed = 0;
    for (const char *line = desc; *line;) {
        const char *eol = strchr(line, '\n');
        const char *next = eol ? eol + 1 : line + strlen(line);
        int x = !strncmp(line, "xorigin=", 8), y = !strncmp(line, "yorigin=", 8);
        if (x || y) {
            char *end;
            double v = strtod(line + 8, &end);
            if (end > line + 8) {
                char val[64];
                snprintf(val, sizeof val, "%.10g", v * (x ? sx : sy));
                sb_add(&b, p, (size_t)(line + 8 - p));
                sb_add(&b, val, strlen(val));
                p = end;
                changed = 1;
            }
        }
        line = next;
    }
    sb_add(&b, p, strlen(p));
    if (b.failed || !changed) {
        free(b.s);
        return NULL;
    }
    return b.s;
}

char *sr_description_rescale(const char *desc, int old_w, int old_h, int new_w, int new_h,
                             double sx, double sy)
{
    switch (sr_description_kind(desc)) {
    case 1: return ome_rescale(desc, new_w, new_h, sx, sy);
    case 2: return imagej_rescale(desc, sx, sy);
    case 3: return json_shape_rescale(desc, old_w, old_h, new_w, new_h);
    default: return NULL;
    }
}

/* ---- ImageJ metadata tags ---------------------------------------------------
 * IJMetadata starts with a header: "IJIJ" (big-endian) or "JIJI" (little),
 * then (type, count) pairs of 32-bit integers; the entries follow in that
 * order, their byte sizes listed in IJMetadataByteCounts after the header's. */

static uint32_t ij_u32(const uint8_t *p, int big)
{
    return big ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]
               : (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static int ij_is_roi(uint32_t type)
{
    return type == 0x726f6920u /* "roi " */ || type == 0x6f766572u /* "over" */;
}

int sr_ijmeta_drop_rois(const uint8_t *ij, size_t ij_len, const uint32_t *counts, size_t n_counts,
                        uint8_t *out, size_t *out_len, uint32_t *out_counts, size_t *out_n)
{
    if (!ij || ij_len < 4 || !counts || n_counts < 1)
        return 0;
    int big = !memcmp(ij, "IJIJ", 4);
    if (!big && memcmp(ij, "JIJI", 4))
        return 0;
    size_t hdr = counts[0];
    if (hdr < 4 || hdr > ij_len || (hdr - 4) % 8)
        return 0;
    /* the entries listed must be exactly the counts given, and the counts
     * must add up to the data */
    uint64_t entries = 0, total = 0;
    for (size_t t = 4; t < hdr; t += 8)
        entries += ij_u32(ij + t + 4, big);
    for (size_t i = 0; i < n_counts; i++)
        total += counts[i];
    if (entries != n_counts - 1 || total != ij_len)
        return 0;

    /* the kept entries go after the kept (type, count) pairs */
    size_t keep_hdr = 4;
    for (size_t t = 4; t < hdr; t += 8)
        keep_hdr += ij_is_roi(ij_u32(ij + t, big)) ? 0 : 8;
    int dropped = 0;
    size_t oh = 4, oc = 1, src = hdr, dst = keep_hdr, ci = 1;
    for (size_t t = 4; t < hdr; t += 8) {
        uint32_t n = ij_u32(ij + t + 4, big);
        int drop = ij_is_roi(ij_u32(ij + t, big));
        for (uint32_t k = 0; k < n; k++, ci++) {
            if (!drop) {
                memcpy(out + dst, ij + src, counts[ci]);
                dst += counts[ci];
                out_counts[oc++] = counts[ci];
            }
            src += counts[ci];
        }
        if (drop) {
            dropped += (int)n;
        } else {
            memcpy(out + oh, ij + t, 8);
            oh += 8;
        }
    }
    if (!dropped)
        return 0;
    memcpy(out, ij, 4);
    out_counts[0] = (uint32_t)keep_hdr;
    *out_len = dst;
    *out_n = oc;
    return dropped;
}
