/* srgan/degrade.h: degradation models that make the LR side of a training
 * pair from its HR crop (srgan-train --degrade).
 *
 *  - "bicubic": MATLAB imresize 1/s (the default; the dataset keeps its own
 *    exact window path for it, so nothing changes for existing runs);
 *  - "real": Real-ESRGAN's second-order model with the default ranges of
 *    options/train_realesrgan_x4plus.yml: blur (iso/aniso Gaussian,
 *    generalized Gaussian, plateau, 2-D sinc), random resize (area,
 *    bilinear, bicubic; up, down or keep), Gaussian (colour or gray) or
 *    Poisson noise, JPEG at a random quality, a second round of the same,
 *    then the final sinc filter and the resize to the LR size, in either
 *    order with JPEG;
 *  - "microscopy": Gaussian PSF, pixel integration (the downscale), Poisson
 *    shot noise at a random photon level, Gaussian read noise on a camera
 *    offset, quantisation to the input's bit depth;
 *  - a parameter file (INI style, see man srgan-train) naming one of these
 *    pipelines and overriding any of its ranges.
 *
 * Every random draw comes from the sr_rng the caller passes, so a sample's
 * degradation depends only on that generator's seed and stream. Images are
 * interleaved float [h][w][c] with c = 1 or 3, nominally in [0,1]. */
#ifndef SRGAN_DEGRADE_H
#define SRGAN_DEGRADE_H

#include <stdint.h>
#include "srgan/error.h"
#include "srgan/resample.h"
#include "srgan/train.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sr_degrade_kind {
    SR_DEGRADE_BICUBIC = 0,
    SR_DEGRADE_REAL,
    SR_DEGRADE_MICROSCOPY
} sr_degrade_kind;

/* Blur kernel families (Real-ESRGAN's kernel_list order, then sinc). */
typedef enum sr_kernel_type {
    SR_KERNEL_ISO = 0,
    SR_KERNEL_ANISO,
    SR_KERNEL_GENERALIZED_ISO,
    SR_KERNEL_GENERALIZED_ANISO,
    SR_KERNEL_PLATEAU_ISO,
    SR_KERNEL_PLATEAU_ANISO,
    SR_KERNEL_SINC
} sr_kernel_type;

/* All ranges; a pair is [lo, hi], drawn uniformly unless said otherwise. */
typedef struct sr_degrade_params {
    sr_degrade_kind kind;
    /* real: first round */
    double kernel_prob[6], blur_sigma[2], betag[2], betap[2], sinc_prob, kernel_size[2];
    double resize_prob[3], resize_range[2];          /* up, down, keep     */
    double gaussian_noise_prob, noise_range[2], poisson_scale_range[2], gray_noise_prob;
    double jpeg_range[2];
    /* real: second round */
    double second_blur_prob;
    double kernel_prob2[6], blur_sigma2[2], betag2[2], betap2[2], sinc_prob2;
    double resize_prob2[3], resize_range2[2];
    double gaussian_noise_prob2, noise_range2[2], poisson_scale_range2[2], gray_noise_prob2;
    double jpeg_range2[2];
    double final_sinc_prob;
    /* microscopy */
    double psf_sigma[2];   /* HR pixels                                    */
    double photons[2];     /* photons at intensity 1 (log-uniform)         */
    double read_noise[2];  /* std of read noise, intensity units           */
    double offset[2];      /* camera offset, intensity units               */
} sr_degrade_params;

/* Presets "bicubic", "real", "microscopy", or else a parameter file.
 * Errors name the file and line. */
int sr_degrade_parse(const char *spec, sr_degrade_params *p, sr_error *err);
void sr_degrade_preset(sr_degrade_kind kind, sr_degrade_params *p);

/* LR (ow x oh) from HR (w x h), both interleaved [h][w][c]. quant_step:
 * one level of the source's bit depth in the image's units (1/255 for
 * 8-bit data, 0 for float: no quantisation); used by microscopy. */
int sr_degrade_apply(const sr_degrade_params *p, sr_rng *r, const float *hr, int w, int h,
                     int c, float *lr, int ow, int oh, double quant_step, sr_error *err);

/* LR of HR-only data by p instead of MATLAB bicubic (paired data keeps its
 * LR files). The default, bicubic, keeps the dataset's exact path. */
void sr_dataset_set_degrade(sr_dataset *ds, const sr_degrade_params *p);

/* sr_load_image_planar, and one level of the file's samples in the
 * returned (normalised) units in *quant (0 for float files). */
float *sr_load_image_planar_q(const char *path, int channels, int *w, int *h, double *quant,
                              sr_error *err);

/* Validation set: HR images of dir (modcropped) with their LR taken from
 * lr_dir (same name stem, exactly 1/scale the modcropped size) when lr_dir
 * is set, else made from HR by deg (NULL: MATLAB bicubic) once, with a fixed
 * seed (stream = image index), so every run and every validation sees the
 * same inputs. */
sr_valset *sr_valset_open_ex(const char *dir, const char *lr_dir, const sr_degrade_params *deg,
                             int scale, int channels, sr_error *err);

/* ---- the operations, exposed for tests --------------------------------- */

/* Real-ESRGAN kernels (BasicSR degradations.py): size k (odd), normalised
 * to sum 1, centred. For sinc, sig_x is the cutoff omega_c (radians). */
void sr_kernel_make(sr_kernel_type t, int k, double sig_x, double sig_y, double theta,
                    double beta, double *out);
/* 2-D convolution (correlation, as filter2D) of an interleaved image with a
 * k x k kernel, reflect padding (BasicSR's filter2D). */
int sr_degrade_filter(const float *in, int w, int h, int c, const double *kern, int k, float *out,
                      sr_error *err);
/* Gaussian noise of std sigma (same units as the image); gray: one draw per
 * pixel shared by the channels. No clipping. */
void sr_degrade_gaussian_noise(float *img, size_t npix, int c, double sigma, int gray,
                               sr_rng *r);
/* Real-ESRGAN's Poisson noise (generate_poisson_noise_pt): values rounded
 * to 8 bits, vals = 2^ceil(log2(number of distinct values)), noise =
 * Poisson(v * vals) / vals - v, times scale; gray: made on the luma and
 * shared by the channels. No clipping. */
void sr_degrade_poisson_noise(float *img, size_t npix, int c, double scale, int gray, sr_rng *r);
/* A Poisson variate of mean lambda (Knuth below 10, PTRS above). */
long sr_rng_poisson(sr_rng *r, double lambda);
/* JPEG round trip through libjpeg-turbo in memory at quality q (1..100):
 * 8-bit gray (c = 1) or RGB (c = 3), interleaved, in place. */
int sr_jpeg_roundtrip(uint8_t *img, int w, int h, int c, int quality, sr_error *err);

#ifdef __cplusplus
}
#endif
#endif
