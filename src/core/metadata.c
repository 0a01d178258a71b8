/* metadata.c: OME-XML size and physical pixel size after a resize. */
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
    return 0;
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

char *sr_description_rescale(const char *desc, int new_w, int new_h, double sx, double sy)
{
    if (sr_description_kind(desc) != 1)
        return NULL;
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
