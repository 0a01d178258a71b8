/* json.h: the one JSON parser (safetensors headers, tifffile descriptions).
 * Private to the library (src/).
 *
 * A strict RFC 8259 parser into a tree: strings decoded to UTF-8 (\u escapes,
 * surrogate pairs), numbers kept as double and, when they are plain
 * non-negative integers, exactly as u64; nesting capped by the caller so a
 * hostile document cannot exhaust the stack. Every value records its byte
 * span in the source, so a caller can rewrite one value in place (tifffile's
 * "shape") and keep the rest byte for byte.
 *
 *     json_val root;
 *     char msg[200];
 *     if (json_parse(text, len, 16, &root, msg, sizeof msg)) { puts(msg); ... }
 *     const json_val *shape = jv_get(&root, "shape");   // root must be JV_OBJ
 *     jv_free(&root);
 */
#ifndef SRGAN_CORE_JSON_H
#define SRGAN_CORE_JSON_H

#include <stddef.h>
#include <stdint.h>

typedef enum { JV_NULL, JV_BOOL, JV_NUM, JV_STR, JV_ARR, JV_OBJ } jv_type;

typedef struct json_val {
    jv_type type;
    char *str;       /* JV_STR: NUL-terminated UTF-8 (may not contain NUL; checked) */
    size_t len;      /* JV_STR: bytes; JV_ARR/JV_OBJ: number of items */
    int has_nul;     /* JV_STR contained \u0000 */
    int is_uint;     /* JV_NUM: a plain non-negative integer that fits in u64 */
    uint64_t u;
    double num;
    char **keys;     /* JV_OBJ: key of each item */
    struct json_val *items;
    size_t start, end; /* the value's bytes in the source: [start, end) */
} json_val;

/* Parse a complete document of n bytes (trailing whitespace allowed),
 * nesting at most max_depth. 0, or -1 with "what (at byte N)" in msg. */
int json_parse(const char *text, size_t n, int max_depth, json_val *out, char *msg, size_t msgsz);
void jv_free(json_val *v);
/* The item of an object under key, or NULL (the first if it repeats). */
const json_val *jv_get(const json_val *obj, const char *key);
/* The first key that appears twice in obj, or NULL (*oom set on failure). */
const char *jv_dup_key(const json_val *obj, int *oom);

#endif
