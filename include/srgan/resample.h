/* srgan/resample.h: classic resamplers as streaming stages, the
 * MATLAB-compatible antialiased bicubic downscaler (training data and the
 * standard SR benchmark protocol), and image-quality metrics.
 *
 *     sr_stage *up = sr_resample_stage_new(src, 4 * src->width, 4 * src->height,
 *                                          SR_FILTER_BICUBIC, 1, &err);
 *
 *     // LR = imresize(modcrop(HR, 4), 1/4, 'bicubic') as MATLAB does it
 *     sr_imresize(hr, w, h, c, lr, w / 4, h / 4, SR_FILTER_BICUBIC, &err);
 */
#ifndef SRGAN_RESAMPLE_H
#define SRGAN_RESAMPLE_H

#include <stdint.h>
#include "srgan/error.h"
#include "srgan/pipeline.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sr_filter {
    SR_FILTER_NEAREST = 0,
    SR_FILTER_BILINEAR,
    SR_FILTER_BICUBIC,  /* Keys cubic, a = -0.5 (MATLAB, Catmull-Rom) */
    SR_FILTER_LANCZOS3
} sr_filter;

/* "nearest", "bilinear", "bicubic", "lanczos" -> filter; -1 if unknown. */
int sr_filter_from_name(const char *name);
const char *sr_filter_name(sr_filter f);

/* Streaming resize of src to out_w x out_h (any ratio, up or down;
 * antialiased when shrinking, as MATLAB imresize). Pixel centres are aligned
 * (align_corners = false), edges replicate. With premultiply_alpha and
 * channels 2 or 4, colour is resampled premultiplied by the last channel
 * (alpha) so transparent pixels do not bleed colour. Owns src. */
sr_stage *sr_resample_stage_new(sr_stage *src, int out_w, int out_h, sr_filter f,
                                int premultiply_alpha, sr_error *err);

/* Whole-image MATLAB imresize (bicubic antialiased when shrinking; symmetric
 * border handling like MATLAB), interleaved float in and out, values kept in
 * whatever range they had (no rounding). in: w x h x c; out: ow x oh x c. */
int sr_imresize(const float *in, int w, int h, int c, float *out, int ow, int oh, sr_filter f,
                sr_error *err);

/* The same with antialiasing chosen: 0 keeps the kernel's width when
 * shrinking (as PyTorch's F.interpolate, which Real-ESRGAN's degradations
 * use), 1 stretches it as MATLAB does. SR_FILTER_NEAREST antialiased is the
 * box average over each output pixel's footprint (PyTorch's "area" for
 * integer factors). sr_imresize(f) = sr_imresize_aa(f, f != NEAREST). */
int sr_imresize_aa(const float *in, int w, int h, int c, float *out, int ow, int oh, sr_filter f,
                   int antialias, sr_error *err);

/* The same on 8-bit images with MATLAB's uint8 semantics: after EACH of the
 * two 1-D passes values are rounded half away from zero and saturated to
 * 0..255 (MATLAB's intermediate image is uint8 too). Bit-exact with
 * ../shared/peers/make_lr.py. The scale of each dimension is ow/w and oh/h,
 * as MATLAB imresize(A, [oh ow]); for modcropped 1/s and integer s this is
 * the same as imresize(A, scale). */
int sr_imresize_u8(const uint8_t *in, int w, int h, int c, uint8_t *out, int ow, int oh,
                   sr_filter f, sr_error *err);

/* PSNR and SSIM on the Y channel (BT.601 as MATLAB rgb2ycbcr, 16..235),
 * `shave` pixels removed from each border, as ../shared/peers/sr_eval.py.
 * a and b: 8-bit RGB interleaved, w x h (gray: c = 1 is used as Y directly
 * after the same scaling as rgb2ycbcr of R = G = B; with c = 2 or 4 the
 * last channel, alpha, is ignored). NaN when nothing is left after shaving
 * (SSIM: when less than 11 x 11 is left); PSNR is +inf for equal images. */
double sr_psnr_y(const uint8_t *a, const uint8_t *b, int w, int h, int c, int shave);
double sr_ssim_y(const uint8_t *a, const uint8_t *b, int w, int h, int c, int shave);

/* Period-4 fixed-pattern ("mesh") strength of an x4 output, exactly as
 * ../shared/peers/mesh4.py: the standard deviation, in Y levels, of the
 * 16 per-phase means (y mod 4, x mod 4) of Y minus its 4x4 box mean, 8-px
 * border dropped. Natural photos score about 0.1-0.2; a generator that
 * prints a 4-px grid scores far more. Same image layouts as sr_psnr_y; NaN
 * below 20x20 pixels. */
double sr_mesh4(const uint8_t *img, int w, int h, int c);

#ifdef __cplusplus
}
#endif
#endif
