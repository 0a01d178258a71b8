/* srgan/normalize.h: intensity normalisation for the network, done so that
 * values keep their meaning (microscopy).
 *
 * The network sees [0,1]; a 16-bit fluorescence image that uses 0..4000
 * would look black to it. Percentile normalisation (as CSBDeep) maps the
 * LOW..HIGH percentiles to 0..1 before inference and maps the output back
 * with the inverse, so a 16-bit input gives a 16-bit output on the same
 * intensity scale:
 *
 *     sr_norm_range r;
 *     sr_norm_percentiles("cells.tif", NULL, -1, 1.0, 99.8, &r, &err); // all pages
 *     s = sr_affine_stage_new(src, 1 / (r.hi - r.lo), -r.lo / (r.hi - r.lo), NULL, &err);
 *     s = sr_generator_stage_new(s, g, &tiles, &err);
 *     s = sr_affine_stage_new(s, r.hi - r.lo, r.lo, &clip, &err);   // back, counting clips
 *
 * Values are in the pipeline's normalised float units (u8 / 255, u16 / 65535,
 * float as is). */
#ifndef SRGAN_NORMALIZE_H
#define SRGAN_NORMALIZE_H

#include <stdint.h>
#include "srgan/error.h"
#include "srgan/image.h"
#include "srgan/pipeline.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sr_norm_range {
    double lo, hi;     /* the two percentiles, normalised units */
    double min, max;   /* extremes of the data */
} sr_norm_range;

/* Percentiles plo and phi (0..100) of every sample of `path` (colour
 * channels and data channels; alpha excluded), over one page (page >= 0) or all pages
 * (page = -1), by one streaming pass (two for float data). Integer data is
 * exact (a histogram of every level); float data is exact to 1/65536 of its
 * range. */
int sr_norm_percentiles(const char *path, const sr_read_opts *opts, int page, double plo, double phi,
                        sr_norm_range *out, sr_error *err);
/* The same over channels [first, first + count) only (alpha included if
 * asked for): one window per independent channel. count 0 = as above.
 * Pages of different sample types are refused (SR_ERR_UNSUPPORTED). */
int sr_norm_percentiles_ch(const char *path, const sr_read_opts *opts, int page, int first,
                           int count, double plo, double phi, sr_norm_range *out, sr_error *err);

/* Counter of values that fall outside [0,1] (will be clipped on writing to
 * an integer type). Shared by the caller; updated by the stage. */
typedef struct sr_clip_count {
    uint64_t low, high;
} sr_clip_count;

/* y = x * scale + offset on every channel. If clip is non-NULL, values
 * outside [0,1] after the map are counted (not changed). Owns src. */
sr_stage *sr_affine_stage_new(sr_stage *src, double scale, double offset, sr_clip_count *clip,
                              sr_error *err);

#ifdef __cplusplus
}
#endif
#endif
