/* train_internal.h: state shared by the loop (train.c) and checkpoints
 * (checkpoint.c); not part of the public interface. */
#ifndef SRGAN_TRAIN_INTERNAL_H
#define SRGAN_TRAIN_INTERNAL_H

#include "srgan/train.h"

typedef struct train_state {
    sr_generator *g, *ema;   /* ema may be NULL (decay 0)              */
    sr_disc *d;              /* NULL in phase psnr                      */
    sr_adam *opt_g, *opt_d;
    sr_param **gp, **ep, **dp;
    int ngp, ndp;
    long iter;               /* iterations done                          */
    double val_psnr, val_ssim; /* last validation (NaN: none)            */
    double seconds;          /* training wall time so far                */
    int ranks;               /* data-parallel ranks (MPI; 1 without), kept in
                                checkpoints: a resume needs the same count */
    long ckpt_iters;         /* --iters of the resumed checkpoint's run (0:
                                none, or not recorded)                    */
    int ckpt_bf16;           /* the resumed checkpoint was trained in bf16 */
} train_state;

/* One safetensors file with weights, EMA, discriminator (+ spectral-norm
 * vectors), Adam moments and steps, iteration and config (metadata). */
int ckpt_save(const train_state *s, const sr_train_config *c, const char *path, sr_error *err);
/* Load into an already built state of the same configuration; refuses a
 * file of another format, phase or architecture with a clear error. */
int ckpt_load(train_state *s, const sr_train_config *c, const char *path, sr_error *err);
/* Copy generator weights from a checkpoint (prefix "ema." or "g.") or an
 * exported model into g. */
int ckpt_load_generator_into(sr_generator *g, const char *path, int prefer_ema, sr_error *err);

/* A loader making only items [j0, j0 + nj) of each batch of `batch` (the
 * items of those global indices: a data-parallel rank's share). */
sr_loader *sr_loader_new_slice(sr_dataset *ds, uint64_t seed, int64_t first, int batch, int j0,
                               int nj, int patch, int augment, int depth, sr_error *err);

#endif
