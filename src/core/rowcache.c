/* rowcache.c: a sliding window over a stage's rows.
 *
 * Rows live in one contiguous buffer of max_rows rows; when a request runs
 * past its end, the rows still needed are moved to the front. The window only
 * moves down, so each source row is pulled exactly once. */
#include "srgan/nn.h"
#include "srgan/pipeline.h"

#include <stdlib.h>
#include <string.h>

struct sr_rowcache {
    sr_stage *src;
    int max_rows;
    size_t row_floats;
    float *buf;
    int first; /* image row held in buf row 0 */
    int count; /* rows held */
};

sr_rowcache *sr_rowcache_new(sr_stage *src, int max_rows, sr_error *err)
{
    if (max_rows < 1)
        max_rows = 1;
    if (max_rows > src->height)
        max_rows = src->height > 0 ? src->height : 1;
    sr_rowcache *c = calloc(1, sizeof *c);
    if (c) {
        c->row_floats = (size_t)src->width * (size_t)src->channels;
        /* sr_alloc_floats: a window of a few MB is mapped populated in one
         * call rather than faulted in page by page (about 200 of a 256x256
         * inference's page faults) */
        c->buf = sr_alloc_floats((size_t)max_rows * c->row_floats + 1);
    }
    if (!c || !c->buf) {
        free(c);
        sr_error_set(err, SR_ERR_NOMEM, "out of memory for a %d-row window of %d pixels", max_rows,
                     src->width);
        return NULL;
    }
    c->src = src;
    c->max_rows = max_rows;
    return c;
}

const float *sr_rowcache_get(sr_rowcache *c, int y0, int y1, sr_error *err)
{
    if (y0 < 0 || y1 > c->src->height || y0 >= y1 || y1 - y0 > c->max_rows || y0 < c->first) {
        sr_error_set(err, SR_ERR_ARG, "internal: row window [%d,%d) outside [%d,%d) or over %d rows",
                     y0, y1, c->first, c->src->height, c->max_rows);
        return NULL;
    }
    int end = c->first + c->count; /* first row not yet pulled */
    if (y1 > end) {
        if (y0 >= end) {
            /* Nothing reusable; rows between end and y0 are still pulled
             * since a stage must be read in order. */
            while (end < y0) {
                int n = y0 - end < c->max_rows ? y0 - end : c->max_rows;
                if (sr_stage_pull(c->src, end, n, c->buf, err))
                    return NULL;
                end += n;
            }
            c->first = y0;
            c->count = 0;
        } else if (y1 - c->first > c->max_rows) {
            int keep = end - y0;
            memmove(c->buf, c->buf + (size_t)(y0 - c->first) * c->row_floats,
                    (size_t)keep * c->row_floats * sizeof(float));
            c->first = y0;
            c->count = keep;
        }
        int have = c->first + c->count;
        if (sr_stage_pull(c->src, have, y1 - have,
                          c->buf + (size_t)c->count * c->row_floats, err))
            return NULL;
        c->count += y1 - have;
    }
    return c->buf + (size_t)(y0 - c->first) * c->row_floats;
}

void sr_rowcache_free(sr_rowcache *c)
{
    if (c) {
        sr_free_floats(c->buf);
        free(c);
    }
}
