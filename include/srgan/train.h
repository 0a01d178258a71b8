/* srgan/train.h: training the generator (srgan-train).
 *
 * Pieces, each usable and tested on its own:
 *  - Adam with PyTorch's update rule, learning-rate schedules, gradient
 *    clipping by global norm, EMA of weights;
 *  - losses with their gradients: L1, MSE, relativistic-average and vanilla
 *    GAN losses (generator and discriminator side), VGG perceptual loss;
 *  - a PatchGAN discriminator (70x70 receptive field, spectral norm) and a
 *    VGG19 feature extractor, both with forward and backward passes;
 *  - a data pipeline (paired or HR-only, random crops and flips, a loader
 *    thread, an LRU-bounded image cache);
 *  - checkpoints (one safetensors file with all state) and exact resume;
 *  - the training loop for phases "psnr" and "gan" (sr_train_run).
 *
 *     sr_train_config c;
 *     sr_train_config_defaults(&c, SR_PHASE_PSNR);
 *     c.hr_dir = "data/train"; c.out_dir = "run1"; c.iters = 100000;
 *     sr_error err = {0};
 *     if (sr_train_run(&c, NULL, &err)) fprintf(stderr, "%s\n", err.msg);
 *
 * Gradient buffers follow nn.h: backward functions ACCUMULATE parameter
 * gradients and overwrite input gradients.
 */
#ifndef SRGAN_TRAIN_H
#define SRGAN_TRAIN_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include "srgan/error.h"
#include "srgan/model.h"
#include "srgan/nn.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- random numbers (counter based, so resume is exact) ----------------- */

typedef struct sr_rng {
    uint64_t s[4]; /* xoshiro256** state */
} sr_rng;

/* State from (seed, stream): any two streams are independent. */
void sr_rng_seed(sr_rng *r, uint64_t seed, uint64_t stream);
uint64_t sr_rng_next(sr_rng *r);
double sr_rng_uniform(sr_rng *r);        /* [0, 1) */
uint32_t sr_rng_below(sr_rng *r, uint32_t n); /* [0, n) */
double sr_rng_normal(sr_rng *r);         /* N(0, 1) */

/* ---- optimiser ---------------------------------------------------------- */

typedef struct sr_adam {
    int nparams;
    size_t *numel;
    float **m, **v;   /* first and second moments, one buffer per param */
    double beta1, beta2, eps, weight_decay;
    int64_t step;     /* updates done */
} sr_adam;

/* Moments for params[0..n) (zeroed). */
sr_adam *sr_adam_new(sr_param *const *params, int n, double beta1, double beta2, double eps,
                     sr_error *err);
void sr_adam_free(sr_adam *a);
/* One update with learning rate lr, exactly torch.optim.Adam (no amsgrad,
 * L2 weight decay added to the gradient):
 *   m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
 *   p -= lr / (1-b1^t) * m / (sqrt(v) / sqrt(1-b2^t) + eps)                */
void sr_adam_step(sr_adam *a, sr_param *const *params, double lr);

typedef enum sr_lr_kind {
    SR_LR_CONSTANT = 0,
    SR_LR_MULTISTEP, /* base * gamma^(milestones passed)                   */
    SR_LR_COSINE     /* cosine annealing with restarts (BasicSR)           */
} sr_lr_kind;

#define SR_LR_MAX_STEPS 16
typedef struct sr_lr_schedule {
    sr_lr_kind kind;
    double base;
    int nmilestones;
    long milestones[SR_LR_MAX_STEPS]; /* multistep: iterations             */
    double gamma;                     /* multistep factor (0.5)            */
    int nperiods;
    long periods[SR_LR_MAX_STEPS];    /* cosine: period lengths; the last
                                         one repeats                       */
    double eta_min;                   /* cosine floor                      */
} sr_lr_schedule;

/* Learning rate used for the update that makes iteration `iter` (0-based). */
double sr_lr_at(const sr_lr_schedule *s, long iter);
/* "constant", "multistep:M1,M2,...[@gamma]", "cosine:P1[,P2...][@eta_min]". */
int sr_lr_parse(const char *spec, double base, sr_lr_schedule *s, sr_error *err);

/* Scale gradients so their global L2 norm is at most max_norm (as
 * torch.nn.utils.clip_grad_norm_); returns the norm before clipping. */
double sr_clip_grad_norm(sr_param *const *params, int n, double max_norm);

/* ema = decay * ema + (1 - decay) * w */
void sr_ema_update(float *ema, const float *w, size_t n, double decay);
/* The decay for update number `step` (0-based): min(decay, (1 + step) /
 * (10 + step)), the warm-up of TensorFlow's ExponentialMovingAverage. A
 * plain 0.999 average still holds 0.999^N of the initial weights after N
 * steps (37% after 1000, measured 3 dB below the raw weights on Set5); the
 * warm-up forgets the start within a few hundred steps and reaches the full
 * decay after about 9000. */
double sr_ema_decay_at(double decay, long step);

/* ---- losses: value (unweighted) and gradient scale * d(loss)/d(pred) ---- */

/* mean |p - t| ; grad = sign(p - t) / n * scale (scale = loss weight) */
double sr_loss_l1(const float *p, const float *t, size_t n, float *grad, double scale);
/* mean (p - t)^2 */
double sr_loss_mse(const float *p, const float *t, size_t n, float *grad, double scale);
/* mean BCE-with-logits(x, target) */
double sr_loss_bce_logits(const float *x, size_t n, int target, float *grad, double scale);

typedef enum sr_gan_type { SR_GAN_RAGAN = 0, SR_GAN_VANILLA } sr_gan_type;

/* GAN losses (returned unweighted; gradients times scale) on discriminator
 * logit maps of real (HR) and fake (SR) batches, nr and nf logits (all items, all positions). Means run over everything,
 * as ESRGAN/BasicSR:
 *   RaGAN  G: (BCE(r - mean f, 0) + BCE(f - mean r, 1)) / 2
 *          D: (BCE(r - mean f, 1) + BCE(f - mean r, 0)) / 2
 *   vanilla G: BCE(f, 1);  D: BCE(r, 1) + BCE(f, 0)
 * Gradients go to dreal / dfake (either may be NULL), times scale. */
double sr_gan_loss_g(sr_gan_type t, const float *real, size_t nr, const float *fake, size_t nf,
                     float *dreal, float *dfake, double scale);
double sr_gan_loss_d(sr_gan_type t, const float *real, size_t nr, const float *fake, size_t nf,
                     float *dreal, float *dfake, double scale);

/* ---- PatchGAN discriminator --------------------------------------------- */

/* conv4x4 s2 nf -> 2nf -> 4nf -> conv4x4 s1 8nf -> conv4x4 s1 1, padding 1,
 * LeakyReLU 0.2 between; 70x70 receptive field; any crop of at least 32 px
 * side gives a map of logits. Normalisation: spectral norm on every conv
 * (one power iteration per training step, u kept as state) or none. */
#define SR_DISC_LAYERS 5
typedef struct sr_disc_config {
    int in_channels; /* 3 or 1 */
    int nf;          /* 64 */
    int spectral;    /* 1: spectral norm (default); 0: none */
    int bf16;        /* nonzero: the convs' forward and input gradient in
                      * bf16 where the CPU runs bf16 training by vdpbf16ps
                      * (sr_conv2d.bf16_gemm); weight gradients stay fp32 */
} sr_disc_config;

typedef struct sr_disc sr_disc;

sr_disc *sr_disc_new(const sr_disc_config *cfg, uint64_t seed, sr_error *err);
void sr_disc_free(sr_disc *d);
const sr_disc_config *sr_disc_get_config(const sr_disc *d);
int sr_disc_param_count(const sr_disc *d);       /* weights and biases (10) */
sr_param *sr_disc_param(sr_disc *d, int i);      /* grad buffers allocated  */
/* Spectral-norm power-iteration vectors of layer i: which 0 = u (length
 * cout), 1 = v (length cin*16), as torch.nn.utils.spectral_norm keeps them.
 * NULL without spectral norm. */
float *sr_disc_sn_vec(sr_disc *d, int layer, int which, int *len);
/* Compute the weights the forward uses: W / sigma(W) with sigma from the
 * stored u after `power_iters` power iterations (which update u; 0 keeps
 * u). Call once per step before any forward. No-op without spectral norm. */
void sr_disc_prepare(sr_disc *d, int power_iters);
/* Output map size for an input of h x w. */
void sr_disc_out_size(const sr_disc *d, int h, int w, int *oh, int *ow);

/* Activations of one forward (kept for backward; lives in an arena). */
typedef struct sr_disc_acts {
    sr_tensor in;                      /* the input (not copied)        */
    sr_tensor pre[SR_DISC_LAYERS];     /* conv outputs before LReLU     */
} sr_disc_acts;

/* logits = D(x), x [n, c, h, w]. Memory from a. */
int sr_disc_forward(const sr_disc *d, sr_arena *a, const sr_tensor *x, sr_disc_acts *acts,
                    sr_tensor *logits, sr_error *err);
/* Backward from dlogits: dx (may be NULL) and gradients w.r.t. the
 * EFFECTIVE (normalised) weights accumulated into gw (a buffer of
 * sr_disc_grad_floats(d), or NULL to skip). */
size_t sr_disc_grad_floats(const sr_disc *d);
int sr_disc_backward(const sr_disc *d, sr_arena *a, const sr_disc_acts *acts,
                     const sr_tensor *dlogits, sr_tensor *dx, float *gw, sr_error *err);
/* Turn gradients w.r.t. effective weights (gw, summed over threads) into
 * gradients of the parameters (through W / sigma(W)), added to param grads. */
void sr_disc_finish_grad(sr_disc *d, const float *gw);
void sr_disc_zero_grad(sr_disc *d);

/* ---- VGG19 feature extractor -------------------------------------------- */

typedef enum sr_vgg_input {
    SR_VGG_CAFFE = 0,     /* BGR, 0..255, minus mean [103.939 116.779 123.68] */
    SR_VGG_TORCHVISION    /* RGB, (x - [.485 .456 .406]) / [.229 .224 .225]   */
} sr_vgg_input;

typedef struct sr_vgg sr_vgg;

/* Load the convolutions up to (and including) layer `last` ("conv5_4").
 * Names convB_I or torchvision features.K; input convention from the
 * metadata key "input" (or "convention"): "BGR..."/"caffe" -> Caffe,
 * "RGB..."/"torchvision" -> torchvision, unless `force` >= 0 overrides. */
sr_vgg *sr_vgg_load(const char *path, const char *last, int force, sr_error *err);
/* A VGG of custom widths with random weights (tests): cfg like
 * "8,8,M,16,16", names conv1_1, conv1_2, conv2_1, ... as in VGG. */
sr_vgg *sr_vgg_new_random(const char *cfg, sr_vgg_input conv, uint64_t seed, sr_error *err);
void sr_vgg_free(sr_vgg *v);
sr_vgg_input sr_vgg_convention(const sr_vgg *v);
/* Index of a feature by name: "convB_I" (before ReLU) or "reluB_I"; -1. */
int sr_vgg_feature_index(const sr_vgg *v, const char *name);
int sr_vgg_conv_count(const sr_vgg *v);
sr_conv2d *sr_vgg_conv(sr_vgg *v, int i);
/* Winograd weights (forward and dx) for the current weights and inputs of
 * h x w, for the convs whose maps are large enough, kept until sr_vgg_free:
 * call again after changing weights through sr_vgg_conv. The trainer calls
 * it when it takes a VGG. 0, or -1 when out of memory. */
int sr_vgg_prepare(sr_vgg *v, int h, int w);
/* The same; with bf16 on an AMX CPU those convs also get AMX weights, and
 * their forward and input gradient run in bf16 (fp32 sums): bf16 training
 * (sr_train_config.bf16). */
int sr_vgg_prepare_precision(sr_vgg *v, int h, int w, int bf16);

/* Perceptual loss over selected features. */
#define SR_VGG_MAX_FEATS 8
typedef struct sr_percep {
    int n;
    int feat[SR_VGG_MAX_FEATS];     /* sr_vgg_feature_index values */
    double weight[SR_VGG_MAX_FEATS];
    int l2;                         /* 0: L1 criterion (default); 1: MSE */
} sr_percep;
/* "conv5_4" or "conv3_4:0.5,conv5_4:1" (weights default 1). */
int sr_percep_parse(const sr_vgg *v, const char *spec, sr_percep *p, sr_error *err);

/* Loss = sum_l w_l * crit(phi_l(sr), phi_l(hr)) for sr, hr [n, 3, h, w] in
 * RGB [0,1]; dsr (may be NULL) receives d(loss)/d(sr) * scale. Memory from
 * a (reset by the caller afterwards). */
int sr_percep_loss(const sr_vgg *v, const sr_percep *p, sr_arena *a, const sr_tensor *sr,
                   const sr_tensor *hr, double *loss, sr_tensor *dsr, double scale,
                   sr_error *err);
/* Arena bytes sr_percep_loss needs for one [n, 3, h, w] input. */
size_t sr_percep_arena_bytes(const sr_vgg *v, const sr_percep *p, int n, int h, int w);

/* ---- data --------------------------------------------------------------- */

typedef struct sr_dataset sr_dataset;

/* List images (png, jpg, jpeg, tif, tiff; subdirectories too) under
 * hr_dir; lr_dir (or NULL: LR made by MATLAB bicubic) paired by relative
 * path stem. channels: 3 (gray replicated) or 1 (RGB to luma). cache_bytes
 * bounds the decoded-image cache (LRU). */
sr_dataset *sr_dataset_open(const char *hr_dir, const char *lr_dir, int scale, int channels,
                            size_t cache_bytes, sr_error *err);
void sr_dataset_free(sr_dataset *ds);
int sr_dataset_count(const sr_dataset *ds);
/* Drop images whose HR side is below patch (or whose LR is below
 * patch/scale); returns how many were dropped and reports the first. */
int sr_dataset_filter(sr_dataset *ds, int patch, char *first_dropped, size_t len);
const char *sr_dataset_path(const sr_dataset *ds, int i);

/* Batch k (deterministic in seed and k): hr [b, C, patch, patch] and lr
 * [b, C, patch/scale, patch/scale] in [0,1], with random crops and (if
 * augment) flips and 90-degree rotations. Thread safe. */
int sr_dataset_batch(sr_dataset *ds, uint64_t seed, int64_t k, int batch, int patch, int augment,
                     float *hr, float *lr, sr_error *err);

/* A loader thread that makes batches k, k+1, ... ahead (queue of depth). */
typedef struct sr_loader sr_loader;
sr_loader *sr_loader_new(sr_dataset *ds, uint64_t seed, int64_t first, int batch, int patch,
                         int augment, int depth, sr_error *err);
/* Copy out the next batch (in order); -1 with err when loading failed. */
int sr_loader_next(sr_loader *l, float *hr, float *lr, sr_error *err);
void sr_loader_free(sr_loader *l);

/* Load an image as planar float [C, h, w] in [0,1] (C = channels as above);
 * malloc'ed. */
float *sr_load_image_planar(const char *path, int channels, int *w, int *h, sr_error *err);

/* ---- validation --------------------------------------------------------- */

typedef struct sr_valset sr_valset;
/* HR images of dir, modcropped; LR by MATLAB bicubic of the whole image. */
sr_valset *sr_valset_open(const char *dir, int scale, int channels, sr_error *err);
void sr_valset_free(sr_valset *v);
int sr_valset_count(const sr_valset *v);
/* Mean PSNR/SSIM (Y, border = scale) of g over the set; the first
 * `nsamples` outputs are saved as PNG under sample_dir (NULL: none) named
 * NAME_iterITER.png. */
int sr_validate(const sr_generator *g, sr_valset *v, const char *sample_dir, int nsamples,
                long iter, double *psnr, double *ssim, sr_error *err);
/* Metrics of one planar float [C,h,w] SR against HR (both [0,1]), rounded
 * to 8 bits first, as the saved PNG would be. */
void sr_val_metrics(const float *sr, const float *hr, int c, int w, int h, int shave,
                    double *psnr, double *ssim);
/* Write planar float [C,h,w] in [0,1] as an 8-bit PNG. */
int sr_save_png_planar(const char *path, const float *img, int c, int w, int h, sr_error *err);

/* ---- log and plot --------------------------------------------------------- */

/* Render curves as a PNG: one panel per series group (losses on a log
 * scale, PSNR linear). xs shared; NaN values are skipped. */
typedef struct sr_plot_series {
    const char *name;
    const double *y;
    int log_scale;  /* panel with log y axis */
    int panel;      /* 0 or 1 */
} sr_plot_series;
int sr_plot_png(const char *path, const double *x, int n, const sr_plot_series *s, int ns,
                int width, int height, sr_error *err);
/* Plot the columns of a training CSV log (loss columns in panel 0, val_psnr
 * in panel 1). */
int sr_plot_csv(const char *csv_path, const char *png_path, sr_error *err);
/* The axis ticks the plot uses (exposed for tests): round values between lo
 * and hi, at most max; and their labels, each distinct. */
int sr_plot_ticks(double lo, double hi, int log_scale, double *t, int max);
void sr_plot_labels(const double *t, int n, char (*lab)[16]);

/* ---- checkpoints and the loop -------------------------------------------- */

typedef enum sr_phase { SR_PHASE_PSNR = 0, SR_PHASE_GAN } sr_phase;

typedef struct sr_train_config {
    sr_phase phase;
    const char *hr_dir, *lr_dir, *val_dir, *out_dir;
    const char *degrade;     /* LR of HR-only data: bicubic (NULL), real,
                                microscopy or a parameter file (degrade.h) */
    const char *val_lr_dir;  /* paired validation LR (NULL: made from HR)  */
    const char *val_degrade; /* validation LR made once by this pipeline   */
    const char *init;        /* generator (or checkpoint) to start from   */
    const char *resume;      /* checkpoint to resume, NULL: fresh         */
    const char *export_path; /* exported EMA generator at the end          */
    sr_generator_config gen; /* architecture of a fresh generator          */
    long iters;
    int batch, patch, augment;
    uint64_t seed;
    int threads;
    int bf16;                /* 1: mixed precision on AMX (sr_generator_set_train_precision) */
    /* optimisation */
    double lr_g, lr_d, beta1, beta2, eps;
    const char *schedule;    /* see sr_lr_parse                            */
    double clip;             /* 0: off                                     */
    double ema_decay;        /* 0: off                                     */
    /* losses */
    int pixel_mse;           /* 0: L1, 1: MSE                               */
    double w_pixel, w_percep, w_gan;
    sr_gan_type gan_type;
    const char *vgg_path, *vgg_layers;
    int vgg_force;           /* -1 auto, else sr_vgg_input                  */
    int d_nf, d_spectral;
    /* bookkeeping */
    long ckpt_every, val_every, log_every;
    int val_samples;
    size_t cache_bytes;
    int queue;
    int progress;            /* 1: live line on stderr                      */
    /* Plain status lines on stderr for logs (nohup, Slurm, a file): one
     * every status_every iterations and/or status_seconds seconds, and one
     * at each validation; iteration, mean losses since the last line, it/s,
     * ETA and the last validation. 0 and 0: none. */
    long status_every;
    double status_seconds;
    int quiet;
} sr_train_config;

void sr_train_config_defaults(sr_train_config *c, sr_phase phase);

/* Train; stops early (after a checkpoint) when *stop becomes non-zero.
 * Returns 0, 1 when interrupted (checkpoint written), -1 on error. */
int sr_train_run(const sr_train_config *c, volatile sig_atomic_t *stop, sr_error *err);

/* One training step on a given batch, without data pipeline or files
 * (tests, benchmarks). The trainer takes ownership of g, d (may be NULL: a
 * fresh one is made in phase gan) and vgg (NULL: loaded from c->vgg_path in
 * phase gan), also when it fails. */
typedef struct sr_trainer sr_trainer;
typedef struct sr_step_losses {
    double l_pix, l_percep, l_gan_g, l_gan_d, d_real, d_fake;
} sr_step_losses;
sr_trainer *sr_trainer_new(const sr_train_config *c, sr_generator *g, sr_disc *d, sr_vgg *vgg,
                           sr_error *err);
/* hr [batch, C, patch, patch], lr [batch, C, patch/s, patch/s]. Afterwards
 * the params' grad buffers hold this step's summed gradients and the
 * weights are updated (Adam, then EMA). */
int sr_trainer_step(sr_trainer *t, const float *hr, const float *lr, sr_step_losses *out,
                    sr_error *err);
sr_generator *sr_trainer_generator(sr_trainer *t);
sr_generator *sr_trainer_ema(sr_trainer *t);
sr_disc *sr_trainer_disc(sr_trainer *t);
void sr_trainer_free(sr_trainer *t);

/* Load the generator weights of a checkpoint or exported model. */
sr_generator *sr_train_load_generator(const char *path, int ema, sr_error *err);

#ifdef __cplusplus
}
#endif
#endif
