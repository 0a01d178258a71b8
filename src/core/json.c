/* json.c: the one JSON parser of the library (see json.h). */
#include "core/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct json_parser {
    const char *p, *end, *text;
    int max_depth;
    char msg[160];
} json_parser;

void jv_free(json_val *v)
{
    if (!v)
        return;
    free(v->str);
    if (v->type == JV_ARR || v->type == JV_OBJ) {
        for (size_t i = 0; i < v->len; i++) {
            jv_free(&v->items[i]);
            if (v->keys)
                free(v->keys[i]);
        }
    }
    free(v->items);
    free(v->keys);
    memset(v, 0, sizeof *v);
}

static int jp_fail(json_parser *jp, const char *what, const char *start)
{
    if (!jp->msg[0])
        snprintf(jp->msg, sizeof jp->msg, "%s", what);
    (void)start;
    return -1;
}

static void jp_ws(json_parser *jp)
{
    while (jp->p < jp->end &&
           (*jp->p == ' ' || *jp->p == '\t' || *jp->p == '\n' || *jp->p == '\r'))
        jp->p++;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int jp_hex4(json_parser *jp, unsigned *out)
{
    if (jp->end - jp->p < 4)
        return jp_fail(jp, "truncated \\u escape", jp->p);
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(jp->p[i]);
        if (h < 0)
            return jp_fail(jp, "bad \\u escape", jp->p);
        v = v * 16 + (unsigned)h;
    }
    jp->p += 4;
    *out = v;
    return 0;
}

static size_t utf8_put(char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Parses a string starting at the opening quote. The decoded text is never
 * longer than the source, so one allocation of the source length suffices. */
static int jp_string(json_parser *jp, json_val *v)
{
    const char *s = ++jp->p; /* after the quote */
    const char *q = s;
    while (q < jp->end && *q != '"') {
        if (*q == '\\' && q + 1 < jp->end)
            q++;
        q++;
    }
    if (q >= jp->end)
        return jp_fail(jp, "unterminated string", s);
    char *out = malloc((size_t)(q - s) + 1);
    if (!out)
        return jp_fail(jp, "out of memory", s);
    size_t n = 0;
    int has_nul = 0;
    while (jp->p < q) {
        unsigned char c = (unsigned char)*jp->p++;
        if (c < 0x20) {
            free(out);
            return jp_fail(jp, "control character in string", jp->p);
        }
        if (c != '\\') {
            out[n++] = (char)c;
            continue;
        }
        char e = *jp->p++;
        switch (e) {
        case '"': out[n++] = '"'; break;
        case '\\': out[n++] = '\\'; break;
        case '/': out[n++] = '/'; break;
        case 'b': out[n++] = '\b'; break;
        case 'f': out[n++] = '\f'; break;
        case 'n': out[n++] = '\n'; break;
        case 'r': out[n++] = '\r'; break;
        case 't': out[n++] = '\t'; break;
        case 'u': {
            unsigned cp;
            if (jp_hex4(jp, &cp) || jp->p > q) {
                free(out);
                return jp_fail(jp, "bad \\u escape", jp->p);
            }
            if (cp >= 0xD800 && cp <= 0xDBFF) { /* high surrogate: needs a low one */
                unsigned lo;
                if (q - jp->p < 6 || jp->p[0] != '\\' || jp->p[1] != 'u') {
                    free(out);
                    return jp_fail(jp, "unpaired surrogate", jp->p);
                }
                jp->p += 2;
                if (jp_hex4(jp, &lo) || lo < 0xDC00 || lo > 0xDFFF) {
                    free(out);
                    return jp_fail(jp, "unpaired surrogate", jp->p);
                }
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                free(out);
                return jp_fail(jp, "unpaired surrogate", jp->p);
            }
            if (cp == 0)
                has_nul = 1;
            /* "\uXXXX" is 6 source bytes, at most 4 output bytes; a pair is
             * 12 source bytes for 4 output bytes: stays within the buffer. */
            n += utf8_put(out + n, cp);
            break;
        }
        default:
            free(out);
            return jp_fail(jp, "bad escape in string", jp->p);
        }
    }
    out[n] = 0;
    jp->p = q + 1;
    v->type = JV_STR;
    v->str = out;
    v->len = n;
    v->has_nul = has_nul;
    return 0;
}

static int jp_number(json_parser *jp, json_val *v)
{
    const char *s = jp->p;
    int neg = 0, is_int = 1;
    uint64_t u = 0;
    int overflow = 0;
    if (jp->p < jp->end && *jp->p == '-') {
        neg = 1;
        jp->p++;
    }
    if (jp->p >= jp->end || *jp->p < '0' || *jp->p > '9')
        return jp_fail(jp, "bad number", s);
    if (*jp->p == '0' && jp->p + 1 < jp->end && jp->p[1] >= '0' && jp->p[1] <= '9')
        return jp_fail(jp, "number with leading zero", s);
    while (jp->p < jp->end && *jp->p >= '0' && *jp->p <= '9') {
        unsigned d = (unsigned)(*jp->p - '0');
        if (u > (UINT64_MAX - d) / 10)
            overflow = 1;
        else
            u = u * 10 + d;
        jp->p++;
    }
    if (jp->p < jp->end && *jp->p == '.') {
        is_int = 0;
        jp->p++;
        if (jp->p >= jp->end || *jp->p < '0' || *jp->p > '9')
            return jp_fail(jp, "bad number", s);
        while (jp->p < jp->end && *jp->p >= '0' && *jp->p <= '9')
            jp->p++;
    }
    if (jp->p < jp->end && (*jp->p == 'e' || *jp->p == 'E')) {
        is_int = 0;
        jp->p++;
        if (jp->p < jp->end && (*jp->p == '+' || *jp->p == '-'))
            jp->p++;
        if (jp->p >= jp->end || *jp->p < '0' || *jp->p > '9')
            return jp_fail(jp, "bad number", s);
        while (jp->p < jp->end && *jp->p >= '0' && *jp->p <= '9')
            jp->p++;
    }
    char buf[64];
    size_t len = (size_t)(jp->p - s);
    if (len >= sizeof buf)
        len = sizeof buf - 1; /* precision beyond this does not matter here */
    memcpy(buf, s, len);
    buf[len] = 0;
    v->type = JV_NUM;
    v->num = strtod(buf, NULL);
    v->is_uint = is_int && !neg && !overflow;
    v->u = v->is_uint ? u : 0;
    return 0;
}

static int jp_value(json_parser *jp, json_val *v, int depth);

static int jp_push(json_parser *jp, json_val *v, size_t *cap, int with_keys)
{
    if (v->len < *cap)
        return 0;
    size_t nc = *cap ? *cap * 2 : 8;
    json_val *ni = realloc(v->items, nc * sizeof *ni);
    if (!ni)
        return jp_fail(jp, "out of memory", jp->p);
    v->items = ni;
    if (with_keys) {
        char **nk = realloc(v->keys, nc * sizeof *nk);
        if (!nk)
            return jp_fail(jp, "out of memory", jp->p);
        v->keys = nk;
    }
    *cap = nc;
    return 0;
}

static int jp_container(json_parser *jp, json_val *v, int depth, int is_obj)
{
    size_t cap = 0;
    v->type = is_obj ? JV_OBJ : JV_ARR;
    jp->p++; /* '{' or '[' */
    jp_ws(jp);
    char close = is_obj ? '}' : ']';
    if (jp->p < jp->end && *jp->p == close) {
        jp->p++;
        return 0;
    }
    for (;;) {
        if (jp_push(jp, v, &cap, is_obj))
            return -1;
        json_val *item = &v->items[v->len];
        memset(item, 0, sizeof *item);
        if (is_obj) {
            v->keys[v->len] = NULL;
            jp_ws(jp);
            if (jp->p >= jp->end || *jp->p != '"')
                return jp_fail(jp, "expected a string key", jp->p);
            json_val key = {0};
            if (jp_string(jp, &key))
                return -1;
            v->keys[v->len] = key.str;
            v->len++; /* counted now so that it is freed on error */
            if (key.has_nul)
                return jp_fail(jp, "NUL character in key", jp->p);
            jp_ws(jp);
            if (jp->p >= jp->end || *jp->p != ':')
                return jp_fail(jp, "expected ':'", jp->p);
            jp->p++;
        } else {
            v->len++;
        }
        if (jp_value(jp, item, depth + 1))
            return -1;
        jp_ws(jp);
        if (jp->p >= jp->end)
            return jp_fail(jp, "unterminated object or array", jp->p);
        if (*jp->p == ',') {
            jp->p++;
            continue;
        }
        if (*jp->p == close) {
            jp->p++;
            return 0;
        }
        return jp_fail(jp, "expected ',' or closing bracket", jp->p);
    }
}

static int jp_literal(json_parser *jp, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(jp->end - jp->p) < n || memcmp(jp->p, lit, n))
        return jp_fail(jp, "unexpected character", jp->p);
    jp->p += n;
    return 0;
}

static int jp_value_at(json_parser *jp, json_val *v, int depth)
{
    switch (*jp->p) {
    case '{': return jp_container(jp, v, depth, 1);
    case '[': return jp_container(jp, v, depth, 0);
    case '"': return jp_string(jp, v);
    case 't': v->type = JV_BOOL; v->u = 1; return jp_literal(jp, "true");
    case 'f': v->type = JV_BOOL; return jp_literal(jp, "false");
    case 'n': v->type = JV_NULL; return jp_literal(jp, "null");
    default: return jp_number(jp, v);
    }
}

static int jp_value(json_parser *jp, json_val *v, int depth)
{
    if (depth > jp->max_depth)
        return jp_fail(jp, "nesting too deep", jp->p);
    jp_ws(jp);
    if (jp->p >= jp->end)
        return jp_fail(jp, "unexpected end", jp->p);
    /* the value's bytes in the source, for callers that edit the text */
    v->start = (size_t)(jp->p - jp->text);
    int rc = jp_value_at(jp, v, depth);
    v->end = (size_t)(jp->p - jp->text);
    return rc;
}

int json_parse(const char *text, size_t n, int max_depth, json_val *out, char *msg, size_t msgsz)
{
    json_parser jp = {.p = text, .end = text + n, .text = text, .max_depth = max_depth};
    memset(out, 0, sizeof *out);
    int rc = jp_value(&jp, out, 0);
    if (!rc) {
        jp_ws(&jp);
        if (jp.p != jp.end)
            rc = jp_fail(&jp, "trailing characters after the value", jp.p);
    }
    if (rc) {
        snprintf(msg, msgsz, "%s (at byte %td)", jp.msg, jp.p - text);
        jv_free(out);
    }
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The first key that appears twice in obj, or NULL (sorting: n log n). */
const char *jv_dup_key(const json_val *obj, int *oom)
{
    *oom = 0;
    if (obj->len < 2)
        return NULL;
    char **k = malloc(obj->len * sizeof *k);
    if (!k) {
        *oom = 1;
        return NULL;
    }
    memcpy(k, obj->keys, obj->len * sizeof *k);
    qsort(k, obj->len, sizeof *k, cmp_str);
    const char *dup = NULL;
    for (size_t i = 1; i < obj->len && !dup; i++)
        if (!strcmp(k[i - 1], k[i]))
            dup = k[i];
    free(k);
    return dup;
}

const json_val *jv_get(const json_val *obj, const char *key)
{
    for (size_t i = 0; i < obj->len; i++)
        if (!strcmp(obj->keys[i], key))
            return &obj->items[i];
    return NULL;
}
