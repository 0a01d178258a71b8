/* srgan/pipeline.h: demand-driven streaming of float rows through stages.
 *
 * A stage produces rows of float samples (channels interleaved) on demand,
 * top to bottom. A stage that needs a window of its input's rows (a
 * resampler, the tiled generator) keeps an sr_rowcache on its input; memory
 * is then bounded by window height x width, never by image height.
 *
 * Float rows carry normalised values: u8 and u16 samples are divided by 255
 * and 65535, float samples pass unchanged. sr_pipeline_run() converts back
 * (clamped, rounded to nearest) when writing.
 *
 *     sr_stage *src = sr_source_stage_new(reader, &err);          // file rows
 *     sr_stage *up  = sr_resample_stage_new(src, 4 * w, 4 * h,
 *                                           SR_FILTER_BICUBIC, 1, &err);
 *     sr_pipeline_run(up, writer, NULL, &err);                    // rows out
 *     sr_stage_free(up);                                          // frees src too
 */
#ifndef SRGAN_PIPELINE_H
#define SRGAN_PIPELINE_H

#include "srgan/error.h"
#include "srgan/image.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sr_stage sr_stage;

struct sr_stage {
    int width, height, channels; /* geometry of the rows this stage makes */
    /* Write rows [y0, y0 + n) into out (n * width * channels floats).
     * Callers ask in increasing, non-overlapping order, starting at 0.
     * Returns 0, or -1 with err set. */
    int (*pull)(sr_stage *self, int y0, int n, float *out, sr_error *err);
    /* Free this stage and the input stages it owns. */
    void (*destroy)(sr_stage *self);
};

static inline int sr_stage_pull(sr_stage *s, int y0, int n, float *out, sr_error *err)
{
    return s->pull(s, y0, n, out, err);
}
void sr_stage_free(sr_stage *s); /* NULL-safe */

/* ---- row cache: a sliding window over a stage's rows ------------------ */

typedef struct sr_rowcache sr_rowcache;

/* Holds at most max_rows rows of src (does not own src). */
sr_rowcache *sr_rowcache_new(sr_stage *src, int max_rows, sr_error *err);
/* Rows [y0, y1) of src as one contiguous block (row stride width*channels).
 * Requires 0 <= y0 < y1 <= src->height, y1 - y0 <= max_rows, and y0 never
 * smaller than in an earlier call (the window only slides down). The pointer
 * is valid until the next call. NULL with err set on failure. */
const float *sr_rowcache_get(sr_rowcache *c, int y0, int y1, sr_error *err);
void sr_rowcache_free(sr_rowcache *c);

/* ---- stages ----------------------------------------------------------- */

/* Rows of the reader's current page, normalised to float. Does not own r. */
sr_stage *sr_source_stage_new(sr_reader *r, sr_error *err);

/* Keep channels [first, first + count) of src. Owns src. */
sr_stage *sr_select_stage_new(sr_stage *src, int first, int count, sr_error *err);
/* Gray (1 channel) to RGB (R = G = B). Owns src. */
sr_stage *sr_gray_to_rgb_stage_new(sr_stage *src, sr_error *err);
/* RGB to gray: mean of the three channels (exact inverse of gray_to_rgb on
 * gray content). Owns src. */
sr_stage *sr_rgb_to_gray_stage_new(sr_stage *src, sr_error *err);
/* Interleave the channels of a then b (same width and height). Owns both. */
sr_stage *sr_merge_stage_new(sr_stage *a, sr_stage *b, sr_error *err);

/* ---- running ---------------------------------------------------------- */

typedef struct sr_progress {
    /* Called after each band is written: rows done of total. May be NULL.
     * Returning non-zero cancels the run (SR_ERR_INTERRUPTED). */
    int (*cb)(void *user, int rows_done, int rows_total);
    void *user;
} sr_progress;

/* Pull every row of `s` and write it to w (current page), converting float
 * to the writer's dtype. band_rows = 0 picks a default. */
int sr_pipeline_run(sr_stage *s, sr_writer *w, int band_rows, const sr_progress *p,
                    sr_error *err);

/* Convert n samples between native dtype and normalised float. */
void sr_samples_to_float(const void *in, sr_dtype t, size_t n, float *out);
void sr_samples_from_float(const float *in, sr_dtype t, size_t n, void *out);

#ifdef __cplusplus
}
#endif
#endif
