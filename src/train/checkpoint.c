/* checkpoint.c: the complete training state in one safetensors file, written
 * atomically (temporary file + rename, by the safetensors writer), so a
 * crash or a signal during the write leaves the previous checkpoint intact.
 *
 * Tensors: g.NAME, ema.NAME, adam_g.m.NAME, adam_g.v.NAME, and in phase gan
 * d.NAME, d.sn_u.I, d.sn_v.I, adam_d.m.NAME, adam_d.v.NAME. Metadata: format,
 * phase, iteration, Adam steps, MPI ranks, seed (the random stream is a pure function
 * of seed and iteration, so these two are the whole RNG state), the
 * architecture and the run's configuration. Floats are stored as F32 bit
 * for bit, so a resumed run continues exactly. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "srgan/weights.h"
#include "train_internal.h"

#define FORMAT "srgan-train-checkpoint"

typedef struct strpool {
    char (*s)[128];
    int n, cap;
} strpool;

static const char *pool_add(strpool *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
#include <stdarg.h>
static const char *pool_add(strpool *p, const char *fmt, ...)
{
    if (p->n == p->cap) {
        int cap = p->cap ? 2 * p->cap : 256;
        void *t = realloc(p->s, (size_t)cap * sizeof *p->s);
        if (!t) return "";
        p->s = t, p->cap = cap;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->s[p->n], sizeof p->s[p->n], fmt, ap);
    va_end(ap);
    return p->s[p->n++];
}

static void add_params(sr_st_writer *w, strpool *pool, const char *prefix, sr_param *const *ps,
                       int n, float *const *alt)
{
    for (int i = 0; i < n; i++) {
        const char *name = pool_add(pool, "%s%s", prefix, ps[i]->name);
        sr_st_writer_add(w, name, ps[i]->ndim, ps[i]->shape, alt ? alt[i] : ps[i]->data);
    }
}

int ckpt_save(const train_state *s, const sr_train_config *c, const char *path, sr_error *err)
{
    sr_st_writer *w = sr_st_writer_new();
    strpool pool = {0};
    if (!w) {
        sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", path);
        return -1;
    }
    const sr_generator_config *gc = sr_generator_get_config(s->g);
    /* pool entries move when the pool grows: reserve before taking pointers */
    pool.cap = 4096;
    pool.s = malloc((size_t)pool.cap * sizeof *pool.s);
    if (!pool.s) {
        sr_st_writer_free(w);
        sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", path);
        return -1;
    }
#define META(k, ...) sr_st_writer_meta(w, k, pool_add(&pool, __VA_ARGS__))
    META("format", "%s", FORMAT);
    META("version", "1");
    META("phase", "%s", c->phase == SR_PHASE_GAN ? "gan" : "psnr");
    META("iteration", "%ld", s->iter);
    META("cfg.iters", "%ld", c->iters); /* a resume with other --iters says what changes */
    META("seed", "%" PRIu64, c->seed);
    META("precision", "%s", c->bf16 ? "bf16" : "fp32"); /* a resume in another one says so */
    META("rng", "counter-based: batch k uses streams of (seed, k); state = seed + iteration");
    META("adam_g_step", "%" PRId64, s->opt_g->step);
    META("adam_d_step", "%" PRId64, s->opt_d ? s->opt_d->step : (int64_t)0);
    META("arch", "%s", sr_arch_name(gc->arch));
    META("scale", "%d", gc->scale);
    META("blocks", "%d", gc->blocks);
    META("channels", "%d", gc->channels);
    META("in_channels", "%d", gc->in_channels);
    META("out_channels", "%d", gc->out_channels);
    /* the architecture's extras (sr_generator_config), so that a resumed run
     * rebuilds the same network */
    META("gen.num_grow_ch", "%d", gc->grow);
    META("gen.act_type", "%d", (int)gc->act);
    META("gen.res_scale", "%.9g", gc->res_scale);
    META("gen.img_range", "%.9g", gc->img_range);
    META("gen.rgb_mean", "%.9g,%.9g,%.9g", gc->rgb_mean[0], gc->rgb_mean[1], gc->rgb_mean[2]);
    META("has_ema", "%d", s->ema != NULL);
    META("seconds", "%.3f", s->seconds);
    META("val_psnr", "%.4f", s->val_psnr);
    META("val_ssim", "%.5f", s->val_ssim);
    META("cfg.batch", "%d", c->batch);
    META("ranks", "%d", s->ranks > 1 ? s->ranks : 1); /* MPI ranks the batch was split over */
    META("cfg.patch", "%d", c->patch);
    META("cfg.lr_g", "%.17g", c->lr_g);
    META("cfg.lr_d", "%.17g", c->lr_d);
    META("cfg.beta1", "%.17g", c->beta1);
    META("cfg.beta2", "%.17g", c->beta2);
    META("cfg.schedule", "%s", c->schedule ? c->schedule : "constant");
    META("cfg.ema_decay", "%.17g", c->ema_decay);
    META("cfg.pixel_loss", "%s", c->pixel_mse ? "mse" : "l1");
    META("cfg.w_pixel", "%.17g", c->w_pixel);
    META("cfg.hr", "%s", c->hr_dir ? c->hr_dir : "");
    META("cfg.lr", "%s", c->lr_dir ? c->lr_dir : "");
    META("cfg.degrade", "%s", c->degrade ? c->degrade : "bicubic"); /* for the exported model's record */
    if (s->d) {
        const sr_disc_config *dc = sr_disc_get_config(s->d);
        META("d_nf", "%d", dc->nf);
        META("d_spectral", "%d", dc->spectral);
        META("d_in_channels", "%d", dc->in_channels);
        META("cfg.w_percep", "%.17g", c->w_percep);
        META("cfg.w_gan", "%.17g", c->w_gan);
        META("cfg.gan_type", "%s", c->gan_type == SR_GAN_RAGAN ? "ragan" : "vanilla");
        META("cfg.vgg_layers", "%s", c->vgg_layers ? c->vgg_layers : "");
    }
    add_params(w, &pool, "g.", s->gp, s->ngp, NULL);
    if (s->ema) add_params(w, &pool, "ema.", s->ep, s->ngp, NULL);
    add_params(w, &pool, "adam_g.m.", s->gp, s->ngp, s->opt_g->m);
    add_params(w, &pool, "adam_g.v.", s->gp, s->ngp, s->opt_g->v);
    if (s->d) {
        add_params(w, &pool, "d.", s->dp, s->ndp, NULL);
        add_params(w, &pool, "adam_d.m.", s->dp, s->ndp, s->opt_d->m);
        add_params(w, &pool, "adam_d.v.", s->dp, s->ndp, s->opt_d->v);
        for (int i = 0; i < SR_DISC_LAYERS; i++)
            for (int which = 0; which < 2; which++) {
                int len;
                float *vec = sr_disc_sn_vec(s->d, i, which, &len);
                if (!vec) continue;
                int64_t shape[1] = {len};
                sr_st_writer_add(w, pool_add(&pool, "d.sn_%c.%d", which ? 'v' : 'u', i), 1,
                                 shape, vec);
            }
    }
#undef META
    int rc = sr_st_writer_save(w, path, err);
    sr_st_writer_free(w);
    free(pool.s);
    return rc;
}

static int read_params(sr_safetensors *st, const char *prefix, sr_param *const *ps, int n,
                       float *const *alt, sr_error *err)
{
    for (int i = 0; i < n; i++) {
        char name[160];
        snprintf(name, sizeof name, "%s%s", prefix, ps[i]->name);
        if (sr_safetensors_read(st, name, ps[i]->ndim, ps[i]->shape, alt ? alt[i] : ps[i]->data,
                                err))
            return -1;
    }
    return 0;
}

static int meta_int(sr_safetensors *st, const char *key, long *v)
{
    const char *s = sr_safetensors_meta(st, key);
    if (!s) return -1;
    char *e;
    *v = strtol(s, &e, 10);
    return e == s || *e ? -1 : 0;
}

int ckpt_load(train_state *s, const sr_train_config *c, const char *path, sr_error *err)
{
    sr_safetensors *st = sr_safetensors_open(path, err);
    if (!st) return -1;
    int rc = -1;
    const char *fmt = sr_safetensors_meta(st, "format");
    const char *phase = sr_safetensors_meta(st, "phase");
    const char *want = c->phase == SR_PHASE_GAN ? "gan" : "psnr";
    const sr_generator_config *gc = sr_generator_get_config(s->g);
    long iter, gstep, dstep, v;
    if (!fmt || strcmp(fmt, FORMAT)) {
        sr_error_set(err, SR_ERR_WEIGHTS, "%s: not an srgan-train checkpoint", path);
        goto done;
    }
    if (!phase || strcmp(phase, want)) {
        sr_error_set(err, SR_ERR_WEIGHTS,
                     "%s: checkpoint of phase '%s', cannot resume phase '%s' from it "
                     "(use --init to start phase gan from a psnr checkpoint)",
                     path, phase ? phase : "?", want);
        goto done;
    }
    const char *arch = sr_safetensors_meta(st, "arch");
    static const char *const keys[] = {"scale", "blocks", "channels", "in_channels",
                                       "out_channels"};
    const int vals[] = {gc->scale, gc->blocks, gc->channels, gc->in_channels, gc->out_channels};
    if (!arch || strcmp(arch, sr_arch_name(gc->arch))) {
        sr_error_set(err, SR_ERR_WEIGHTS, "%s: checkpoint is for arch '%s', this run uses '%s'",
                     path, arch ? arch : "?", sr_arch_name(gc->arch));
        goto done;
    }
    for (int i = 0; i < 5; i++)
        if (meta_int(st, keys[i], &v) || v != vals[i]) {
            sr_error_set(err, SR_ERR_WEIGHTS,
                         "%s: checkpoint has %s %s, this run uses %d (mismatched model)", path,
                         keys[i], sr_safetensors_meta(st, keys[i]) ? sr_safetensors_meta(st, keys[i])
                                                                   : "missing",
                         vals[i]);
            goto done;
        }
    if (meta_int(st, "iteration", &iter) || meta_int(st, "adam_g_step", &gstep) ||
        meta_int(st, "adam_d_step", &dstep) || iter < 0 || gstep < 0 || dstep < 0 ||
        gstep > iter || dstep > iter) {
        sr_error_set(err, SR_ERR_CORRUPT, "%s: checkpoint metadata incomplete or inconsistent", path);
        goto done;
    }
    /* Batches are a function of (seed, iteration): another seed would make
     * the resumed run differ from an uninterrupted one. */
    const char *seed = sr_safetensors_meta(st, "seed");
    char want_seed[32];
    snprintf(want_seed, sizeof want_seed, "%" PRIu64, c->seed);
    if (!seed || strcmp(seed, want_seed)) {
        sr_error_set(err, SR_ERR_ARG, "%s: checkpoint was trained with --seed %s; resume with the same seed",
                     path, seed ? seed : "?");
        goto done;
    }
    if (s->d) {
        const sr_disc_config *dc = sr_disc_get_config(s->d);
        long nf, sp;
        if (meta_int(st, "d_nf", &nf) || meta_int(st, "d_spectral", &sp) || nf != dc->nf ||
            sp != dc->spectral) {
            sr_error_set(err, SR_ERR_WEIGHTS,
                         "%s: checkpoint discriminator differs from this run's (channels %d, "
                         "spectral %d)", path, dc->nf, dc->spectral);
            goto done;
        }
    }
    /* Another rank count splits the batch differently, so gradients would
     * be summed in another order: the resumed run would not continue
     * exactly. Checkpoints before MPI training have no key: one rank. */
    long ranks = 1;
    const int ranks_now = s->ranks > 1 ? s->ranks : 1;
    if (sr_safetensors_meta(st, "ranks") && (meta_int(st, "ranks", &ranks) || ranks < 1)) {
        sr_error_set(err, SR_ERR_CORRUPT, "%s: checkpoint metadata 'ranks' is not a count", path);
        goto done;
    }
    if (ranks != ranks_now) {
        sr_error_set(err, SR_ERR_ARG,
                     "%s: checkpoint was trained on %ld MPI rank%s, this run has %d; resume with "
                     "the same count (mpirun -np %ld%s)", path, ranks, ranks == 1 ? "" : "s",
                     ranks_now, ranks, ranks == 1 ? ", or without mpirun" : "");
        goto done;
    }
    long has_ema = 0, cfg_iters;
    meta_int(st, "has_ema", &has_ema);
    s->ckpt_iters = meta_int(st, "cfg.iters", &cfg_iters) ? 0 : cfg_iters;
    const char *prec = sr_safetensors_meta(st, "precision"); /* absent: fp32 */
    s->ckpt_bf16 = prec && !strcmp(prec, "bf16");
    if (read_params(st, "g.", s->gp, s->ngp, NULL, err) ||
        read_params(st, "adam_g.m.", s->gp, s->ngp, s->opt_g->m, err) ||
        read_params(st, "adam_g.v.", s->gp, s->ngp, s->opt_g->v, err))
        goto done;
    if (s->ema && read_params(st, has_ema ? "ema." : "g.", s->ep, s->ngp, NULL, err)) goto done;
    if (s->d) {
        if (read_params(st, "d.", s->dp, s->ndp, NULL, err) ||
            read_params(st, "adam_d.m.", s->dp, s->ndp, s->opt_d->m, err) ||
            read_params(st, "adam_d.v.", s->dp, s->ndp, s->opt_d->v, err))
            goto done;
        for (int i = 0; i < SR_DISC_LAYERS; i++)
            for (int which = 0; which < 2; which++) {
                int len;
                float *vec = sr_disc_sn_vec(s->d, i, which, &len);
                if (!vec) continue;
                char name[32];
                snprintf(name, sizeof name, "d.sn_%c.%d", which ? 'v' : 'u', i);
                int64_t shape[1] = {len};
                if (sr_safetensors_read(st, name, 1, shape, vec, err)) goto done;
            }
        s->opt_d->step = dstep;
    }
    s->opt_g->step = gstep;
    s->iter = iter;
    const char *vp = sr_safetensors_meta(st, "val_psnr");
    const char *vs = sr_safetensors_meta(st, "val_ssim");
    const char *sec = sr_safetensors_meta(st, "seconds");
    s->val_psnr = vp ? strtod(vp, NULL) : NAN;
    s->val_ssim = vs ? strtod(vs, NULL) : NAN;
    s->seconds = sec ? strtod(sec, NULL) : 0;
    rc = 0;
done:
    sr_safetensors_close(st);
    return rc;
}

int ckpt_load_generator_into(sr_generator *g, const char *path, int prefer_ema, sr_error *err)
{
    sr_safetensors *st = sr_safetensors_open(path, err);
    if (!st) return -1;
    const char *fmt = sr_safetensors_meta(st, "format");
    const char *prefix = "";
    if (fmt && !strcmp(fmt, FORMAT)) {
        long has_ema = 0;
        meta_int(st, "has_ema", &has_ema);
        prefix = prefer_ema && has_ema ? "ema." : "g.";
    }
    int rc = 0;
    for (int i = 0; i < sr_generator_param_count(g) && !rc; i++) {
        sr_param *p = sr_generator_param(g, i);
        char name[160];
        snprintf(name, sizeof name, "%s%s", prefix, p->name);
        rc = sr_safetensors_read(st, name, p->ndim, p->shape, p->data, err);
    }
    sr_safetensors_close(st);
    return rc;
}
