/* train.c: the training loop for phases psnr and gan.
 *
 * One iteration, with the batch split over worker threads (each with its own
 * arenas and gradient buffers; gradients summed in a fixed order, so a run
 * is deterministic for a given thread count):
 *   A (parallel)  G forward; pixel loss; [gan: VGG perceptual loss per item;
 *                 D forward on SR and HR, keeping activations]
 *   (main)        [gan: GAN losses need batch-wide means of the logits]
 *   B (parallel)  [gan: D backward of G's loss to SR; D backward of D's loss
 *                 to D's weights (the same forward serves both, since D is
 *                 updated only after G)]; G backward
 *   (main)        sum gradients, clip, Adam for G (and D), EMA.
 * The data loader thread prepares the next batches meanwhile.
 *
 * Data-parallel over MPI ranks (dist.c): --batch stays the whole batch, rank
 * r works on items [r B/N, (r+1) B/N) with its own loader and workers, the
 * discriminator's logits are gathered so every rank computes the batch-wide
 * GAN losses, and the gradients are summed over ranks in rank order before
 * the (identical) optimiser steps. Rank 0 alone writes files and output. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cblas.h>
#include "srgan/degrade.h"
#include "srgan/weights.h"
#include "dist.h"
#include "srgan_config.h"
#include "train_internal.h"

#define MAX_THREADS 16

void sr_train_config_defaults(sr_train_config *c, sr_phase phase)
{
    memset(c, 0, sizeof *c);
    c->phase = phase;
    c->gen = (sr_generator_config){.arch = SR_ARCH_MSRRESNET, .scale = 4, .blocks = 16, .channels = 64, .in_channels = 3, .out_channels = 3};
    c->iters = phase == SR_PHASE_GAN ? 100000 : 200000;
    c->batch = 16;
    c->patch = 128;
    c->augment = 1;
    c->seed = 1;
    c->threads = 2;
    c->lr_g = phase == SR_PHASE_GAN ? 1e-4 : 2e-4;
    c->lr_d = 1e-4;
    c->beta1 = 0.9;
    c->beta2 = 0.99;
    c->eps = 1e-8;
    c->schedule = phase == SR_PHASE_GAN ? "constant" : "cosine";
    c->ema_decay = 0.999;
    c->w_pixel = phase == SR_PHASE_GAN ? 1e-2 : 1.0;
    c->w_percep = 1.0;
    c->w_gan = 5e-3;
    c->gan_type = SR_GAN_RAGAN;
    c->vgg_layers = "conv5_4";
    c->vgg_force = -1;
    c->d_nf = 64;
    c->d_spectral = 1;
    c->ckpt_every = 1000;
    c->val_every = 1000;
    c->log_every = 10;
    c->val_samples = 3;
    c->cache_bytes = (size_t)1 << 30;
    c->queue = 4;
}

/* ---- helpers ------------------------------------------------------------ */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int mkdirs(const char *path, sr_error *err)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1;; p++) {
        char c = *p;
        if (c == '/' || c == 0) {
            *p = 0;
            if (mkdir(buf, 0777) && errno != EEXIST) {
                sr_error_set(err, SR_ERR_IO, "%s: cannot create directory: %s", buf,
                             strerror(errno));
                return -1;
            }
            *p = c;
        }
        if (!c) break;
    }
    return 0;
}

static int is_checkpoint(const char *path, sr_generator_config *gc, sr_error *err)
{
    sr_safetensors *st = sr_safetensors_open(path, err);
    if (!st) return -1;
    const char *fmt = sr_safetensors_meta(st, "format");
    int yes = fmt && !strcmp(fmt, "srgan-train-checkpoint");
    if (yes) {
        const char *arch = sr_safetensors_meta(st, "arch");
        const char *k[] = {"scale", "blocks", "channels", "in_channels", "out_channels"};
        int *v[] = {&gc->scale, &gc->blocks, &gc->channels, &gc->in_channels, &gc->out_channels};
        gc->arch = SR_ARCH_MSRRESNET;
        if (arch && sr_arch_parse(arch, &gc->arch)) {
            sr_error_set(err, SR_ERR_UNSUPPORTED, "%s: architecture '%.40s' not supported (%s)", path,
                         arch, sr_arch_list());
            sr_safetensors_close(st);
            return -1;
        }
        for (int i = 0; i < 5; i++) {
            const char *s = sr_safetensors_meta(st, k[i]);
            *v[i] = s ? atoi(s) : 0;
        }
        /* the architecture's extras (absent in older checkpoints: defaults) */
        const char *x;
        if ((x = sr_safetensors_meta(st, "gen.num_grow_ch")))
            gc->grow = atoi(x);
        if ((x = sr_safetensors_meta(st, "gen.act_type")))
            gc->act = (sr_act_type)atoi(x);
        if ((x = sr_safetensors_meta(st, "gen.res_scale")))
            gc->res_scale = strtof(x, NULL);
        if ((x = sr_safetensors_meta(st, "gen.img_range")))
            gc->img_range = strtof(x, NULL);
        if ((x = sr_safetensors_meta(st, "gen.rgb_mean")))
            sscanf(x, "%f,%f,%f", &gc->rgb_mean[0], &gc->rgb_mean[1], &gc->rgb_mean[2]);
    }
    sr_safetensors_close(st);
    return yes;
}

sr_generator *sr_train_load_generator(const char *path, int ema, sr_error *err)
{
    sr_generator_config gc;
    memset(&gc, 0, sizeof gc);
    int ck = is_checkpoint(path, &gc, err);
    if (ck < 0) return NULL;
    if (!ck) return sr_generator_load(path, err);
    sr_generator *g = sr_generator_new(&gc, 1, err);
    if (g && ckpt_load_generator_into(g, path, ema, err)) {
        sr_generator_free(g);
        return NULL;
    }
    return g;
}

static sr_generator *clone_generator(sr_generator *g, sr_error *err)
{
    sr_generator *e = sr_generator_new(sr_generator_get_config(g), 1, err);
    if (!e) return NULL;
    for (int i = 0; i < sr_generator_param_count(g); i++)
        memcpy(sr_generator_param(e, i)->data, sr_generator_param(g, i)->data,
               sr_generator_param(g, i)->numel * sizeof(float));
    return e;
}

/* ---- the loop's state ------------------------------------------------------ */

typedef struct loop loop;

typedef struct worker {
    loop *L;
    int id, b0, nb;
    sr_arena *ga, *va, *da;
    float **ggrad;      /* per generator param                           */
    float *dgw;         /* discriminator effective-weight gradients       */
    float *tmp;         /* one item's perceptual gradient [C,P,P]         */
    sr_gen_acts *acts;
    sr_disc_acts dfake, dreal;
    double l_pix, l_percep;
    int rc;
    sr_error err;
} worker;

struct loop {
    const sr_train_config *c;
    sr_train_config cfg; /* sr_trainer: its own copy */
    train_state s;
    sr_dataset *ds;
    sr_loader *loader;
    sr_valset *val;
    sr_vgg *vgg;
    sr_percep percep;
    sr_lr_schedule sched_g, sched_d;
    int B, C, P, p, scale, oh, ow;
    int Bl, rb0;        /* this rank's items: [rb0, rb0 + Bl) of the batch */
    int ranks;          /* 0 (sr_trainer): one process, no MPI */
    float *hr, *lr, *sr, *dsr; /* this rank's items */
    float *lf, *lr_logit, *dlf_g, *dlf_d, *dlr_d; /* [B*oh*ow], the whole batch */
    float *gw_sum;
    worker w[MAX_THREADS];
    int nw;
    /* losses of the current iteration */
    double l_pix, l_percep, l_g, l_d, d_real, d_fake;
};

static size_t chw(const loop *L) { return (size_t)L->C * L->P * L->P; }

static size_t disc_arena_bytes(const sr_disc *d, int n, int h, int w)
{
    /* forward keeps pre-activations and post-activations of 2 inputs; each of
     * 3 backward passes allocates recomputed inputs, dx and scratch */
    size_t fwd = 0, bwd = 0;
    int c = sr_disc_get_config(d)->in_channels, nf = sr_disc_get_config(d)->nf;
    int couts[SR_DISC_LAYERS] = {nf, 2 * nf, 4 * nf, 8 * nf, 1};
    for (int i = 0; i < SR_DISC_LAYERS; i++) {
        int st = i < 3 ? 2 : 1;
        sr_conv2d cv = {c,    couts[i], 4,    4,    st,   1,    NULL, NULL,
                        NULL, NULL,     NULL, NULL, NULL, NULL, sr_disc_get_config(d)->bf16 != 0, NULL};
        sr_tensor x = {n, c, h, w, NULL};
        size_t scratch = sr_conv2d_scratch_floats(&cv, &x) + 32;
        h = sr_conv_out_size(h, 4, st, 1), w = sr_conv_out_size(w, 4, st, 1);
        size_t out = (size_t)n * couts[i] * h * w + 32, in = (size_t)n * c * (h * st + 4) * (w * st + 4) + 32;
        fwd += 2 * out + scratch;
        bwd += 2 * in + scratch;
        c = couts[i];
    }
    return (2 * fwd + 3 * bwd) * sizeof(float) + (4 << 20);
}

static void run_parallel(loop *L, void *(*fn)(void *))
{
    pthread_t th[MAX_THREADS];
    int started[MAX_THREADS] = {0};
    for (int i = 1; i < L->nw; i++) started[i] = !pthread_create(&th[i], NULL, fn, &L->w[i]);
    for (int i = 1; i < L->nw; i++)
        if (!started[i]) fn(&L->w[i]); /* no thread: run it here */
    fn(&L->w[0]);
    for (int i = 1; i < L->nw; i++)
        if (started[i]) pthread_join(th[i], NULL);
}

static sr_tensor view(float *base, int n, int c, int h, int w)
{
    return (sr_tensor){n, c, h, w, base};
}

static void *part_a(void *arg)
{
    worker *w = arg;
    loop *L = w->L;
    const sr_train_config *c = L->c;
    sr_arena_reset(w->ga);
    if (w->da) sr_arena_reset(w->da);
    w->l_pix = w->l_percep = 0;
    size_t n = chw(L), lp = (size_t)L->C * L->p * L->p;
    sr_tensor x = view(L->lr + w->b0 * lp, w->nb, L->C, L->p, L->p);
    sr_tensor y = view(L->sr + w->b0 * n, w->nb, L->C, L->P, L->P);
    float *hr = L->hr + w->b0 * n, *dy = L->dsr + w->b0 * n;
    w->acts = sr_generator_train_forward(L->s.g, &x, &y,
                                         w->ga, &w->err);
    if (!w->acts) goto fail;
    size_t nl = (size_t)w->nb * n, nt = (size_t)L->B * n;
    double share = (double)nl / (double)nt;
    w->l_pix = share * (c->pixel_mse ? sr_loss_mse(y.data, hr, nl, dy, c->w_pixel * share)
                                     : sr_loss_l1(y.data, hr, nl, dy, c->w_pixel * share));
    if (c->phase != SR_PHASE_GAN) return NULL;
    for (int b = 0; b < w->nb; b++) {
        sr_tensor sb = view(y.data + b * n, 1, L->C, L->P, L->P);
        sr_tensor hb = view(hr + b * n, 1, L->C, L->P, L->P);
        sr_tensor gb = view(w->tmp, 1, L->C, L->P, L->P);
        double l;
        sr_arena_reset(w->va);
        if (c->w_percep > 0) {
            if (sr_percep_loss(L->vgg, &L->percep, w->va, &sb, &hb, &l, &gb, c->w_percep / L->B,
                               &w->err))
                goto fail;
            w->l_percep += l / L->B;
            sr_axpy(1.0f, w->tmp, dy + b * n, n);
        }
    }
    sr_tensor logits;
    size_t no = (size_t)L->oh * L->ow;
    sr_tensor h = view(hr, w->nb, L->C, L->P, L->P);
    if (sr_disc_forward(L->s.d, w->da, &y, &w->dfake, &logits, &w->err)) goto fail;
    memcpy(L->lf + (L->rb0 + w->b0) * no, logits.data, w->nb * no * sizeof(float));
    if (sr_disc_forward(L->s.d, w->da, &h, &w->dreal, &logits, &w->err)) goto fail;
    memcpy(L->lr_logit + (L->rb0 + w->b0) * no, logits.data, w->nb * no * sizeof(float));
    return NULL;
fail:
    w->rc = -1;
    return NULL;
}

static void *part_b(void *arg)
{
    worker *w = arg;
    loop *L = w->L;
    size_t n = chw(L), no = (size_t)L->oh * L->ow;
    float *dy = L->dsr + w->b0 * n;
    if (L->c->phase == SR_PHASE_GAN) {
        size_t at = (size_t)(L->rb0 + w->b0) * no; /* logits: the whole batch */
        sr_tensor dl = view(L->dlf_g + at, w->nb, 1, L->oh, L->ow);
        sr_tensor dx = sr_tensor_arena(w->da, w->nb, L->C, L->P, L->P);
        if (!dx.data) {
            sr_error_set(&w->err, SR_ERR_NOMEM, "training: discriminator arena full");
            goto fail;
        }
        if (L->c->w_gan > 0) {
            if (sr_disc_backward(L->s.d, w->da, &w->dfake, &dl, &dx, NULL, &w->err)) goto fail;
            sr_axpy(1.0f, dx.data, dy, w->nb * n);
        }
        memset(w->dgw, 0, sr_disc_grad_floats(L->s.d) * sizeof(float));
        sr_tensor dfd = view(L->dlf_d + at, w->nb, 1, L->oh, L->ow);
        sr_tensor drd = view(L->dlr_d + at, w->nb, 1, L->oh, L->ow);
        if (sr_disc_backward(L->s.d, w->da, &w->dfake, &dfd, NULL, w->dgw, &w->err) ||
            sr_disc_backward(L->s.d, w->da, &w->dreal, &drd, NULL, w->dgw, &w->err))
            goto fail;
    }
    for (int i = 0; i < L->s.ngp; i++) memset(w->ggrad[i], 0, L->s.gp[i]->numel * sizeof(float));
    sr_tensor dyt = view(dy, w->nb, L->C, L->P, L->P);
    if (sr_generator_backward(L->s.g, w->acts, &dyt, NULL, w->ggrad, w->ga, &w->err)) goto fail;
    return NULL;
fail:
    w->rc = -1;
    return NULL;
}

static int check_workers(loop *L, sr_error *err)
{
    for (int i = 0; i < L->nw; i++)
        if (L->w[i].rc) {
            sr_error_set(err, L->w[i].err.code ? L->w[i].err.code : SR_ERR_NOMEM, "%s",
                         L->w[i].err.msg[0] ? L->w[i].err.msg : "training: worker failed");
            return -1;
        }
    return 0;
}

/* One training iteration on the batch in L->hr / L->lr. */
static int step(loop *L, sr_error *err)
{
    const sr_train_config *c = L->c;
    train_state *s = &L->s;
    if (s->d) sr_disc_prepare(s->d, 1);
    run_parallel(L, part_a);
    if (check_workers(L, err)) return -1;
    L->l_pix = L->l_percep = 0;
    for (int i = 0; i < L->nw; i++) L->l_pix += L->w[i].l_pix, L->l_percep += L->w[i].l_percep;
    double lsum[2] = {L->l_pix, L->l_percep};
    if (L->ranks > 1 && sr_dist_sum_d(lsum, 2, err)) return -1;
    L->l_pix = lsum[0], L->l_percep = lsum[1];
    if (s->d) {
        size_t nl = (size_t)L->B * L->oh * L->ow;
        /* the relativistic losses compare each logit with the batch's mean:
         * every rank needs every rank's logits */
        if (L->ranks > 1 && (sr_dist_allgather(L->lf, (size_t)L->Bl * L->oh * L->ow, err) ||
                             sr_dist_allgather(L->lr_logit, (size_t)L->Bl * L->oh * L->ow, err)))
            return -1;
        L->l_g = sr_gan_loss_g(c->gan_type, L->lr_logit, nl, L->lf, nl, NULL, L->dlf_g, c->w_gan);
        L->l_d = sr_gan_loss_d(c->gan_type, L->lr_logit, nl, L->lf, nl, L->dlr_d, L->dlf_d, 1.0);
        double mr = 0, mf = 0;
        for (size_t i = 0; i < nl; i++) mr += L->lr_logit[i], mf += L->lf[i];
        L->d_real = mr / nl, L->d_fake = mf / nl;
    }
    run_parallel(L, part_b);
    if (check_workers(L, err)) return -1;
    /* sum gradients in worker order, then over ranks in rank order */
    for (int i = 0; i < s->ngp; i++) {
        float *g = s->gp[i]->grad;
        memcpy(g, L->w[0].ggrad[i], s->gp[i]->numel * sizeof(float));
        for (int k = 1; k < L->nw; k++) sr_axpy(1.0f, L->w[k].ggrad[i], g, s->gp[i]->numel);
    }
    size_t ng = s->d ? sr_disc_grad_floats(s->d) : 0;
    if (s->d) {
        memcpy(L->gw_sum, L->w[0].dgw, ng * sizeof(float));
        for (int k = 1; k < L->nw; k++) sr_axpy(1.0f, L->w[k].dgw, L->gw_sum, ng);
    }
    if (L->ranks > 1 && sr_dist_sum_grads(s->gp, s->ngp, s->d ? L->gw_sum : NULL, ng, err))
        return -1;
    if (c->clip > 0) sr_clip_grad_norm(s->gp, s->ngp, c->clip);
    sr_adam_step(s->opt_g, s->gp, sr_lr_at(&L->sched_g, s->iter));
    if (s->ema)
        for (int i = 0; i < s->ngp; i++)
            sr_ema_update(s->ep[i]->data, s->gp[i]->data, s->gp[i]->numel,
                          sr_ema_decay_at(c->ema_decay, s->iter));
    if (s->d) {
        sr_disc_zero_grad(s->d);
        sr_disc_finish_grad(s->d, L->gw_sum);
        if (c->clip > 0) sr_clip_grad_norm(s->dp, s->ndp, c->clip);
        sr_adam_step(s->opt_d, s->dp, sr_lr_at(&L->sched_d, s->iter));
    }
    s->iter++;
    return 0;
}

/* ---- setup and teardown ----------------------------------------------------- */

static void loop_free(loop *L)
{
    sr_loader_free(L->loader);
    sr_dataset_free(L->ds);
    sr_valset_free(L->val);
    sr_vgg_free(L->vgg);
    for (int i = 0; i < L->nw; i++) {
        worker *w = &L->w[i];
        if (w->ggrad)
            for (int k = 0; k < L->s.ngp; k++) sr_free_floats(w->ggrad[k]);
        free(w->ggrad);
        sr_free_floats(w->dgw);
        sr_free_floats(w->tmp);
        if (w->ga) sr_arena_free(w->ga);
        if (w->va) sr_arena_free(w->va);
        if (w->da) sr_arena_free(w->da);
    }
    float *bufs[] = {L->hr, L->lr, L->sr, L->dsr, L->lf, L->lr_logit, L->dlf_g, L->dlf_d,
                     L->dlr_d, L->gw_sum};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) sr_free_floats(bufs[i]);
    sr_adam_free(L->s.opt_g);
    sr_adam_free(L->s.opt_d);
    free(L->s.gp);
    free(L->s.ep);
    free(L->s.dp);
    sr_generator_free(L->s.g);
    sr_generator_free(L->s.ema);
    sr_disc_free(L->s.d);
}

/* EMA, parameter lists, optimisers; g (and d, when given) become L's. */
static int init_models(loop *L, sr_generator *g, sr_disc *d, sr_error *err)
{
    const sr_train_config *c = L->c;
    train_state *s = &L->s;
    s->g = g;
    s->d = d;
    if (!s->g || sr_generator_enable_grad(s->g, err)) return -1;
    if (sr_generator_set_train_precision(s->g, c->bf16 ? SR_PRECISION_BF16 : SR_PRECISION_FP32,
                                         err))
        return -1;
    if (c->ema_decay > 0 && !(s->ema = clone_generator(s->g, err))) return -1;
    s->ngp = sr_generator_param_count(s->g);
    s->gp = calloc((size_t)s->ngp, sizeof *s->gp);
    s->ep = calloc((size_t)s->ngp, sizeof *s->ep);
    if (!s->gp || !s->ep) goto nomem;
    for (int i = 0; i < s->ngp; i++) {
        s->gp[i] = sr_generator_param(s->g, i);
        s->ep[i] = s->ema ? sr_generator_param(s->ema, i) : NULL;
    }
    if (!(s->opt_g = sr_adam_new(s->gp, s->ngp, c->beta1, c->beta2, c->eps, err))) return -1;
    const sr_generator_config *gc = sr_generator_get_config(s->g);
    L->scale = gc->scale, L->C = gc->in_channels, L->B = c->batch, L->P = c->patch;
    /* --batch is the whole batch over all ranks (setup checked B % N) */
    L->Bl = L->ranks > 1 ? L->B / L->ranks : L->B;
    L->rb0 = L->ranks > 1 ? sr_dist_rank() * L->Bl : 0;
    if (gc->out_channels != gc->in_channels) {
        sr_error_set(err, SR_ERR_UNSUPPORTED, "training: in and out channels must match");
        return -1;
    }
    if (c->patch % L->scale || c->patch < L->scale) {
        sr_error_set(err, SR_ERR_ARG, "training: --patch %d is not a multiple of the scale %d",
                     c->patch, L->scale);
        return -1;
    }
    L->p = c->patch / L->scale;
    if (gc->arch == SR_ARCH_RRDBNET && gc->scale == 2 && L->p % 2) {
        /* its pixel unshuffle takes the LR patch in 2x2 cells */
        sr_error_set(err, SR_ERR_ARG, "training: rrdbnet x2 needs --patch a multiple of 4 (not %d)",
                     c->patch);
        return -1;
    }
    if (c->phase == SR_PHASE_GAN) {
        if (c->patch < 32) {
            sr_error_set(err, SR_ERR_ARG,
                         "training: phase gan needs --patch >= 32 (discriminator)");
            return -1;
        }
        sr_disc_config dc = {gc->out_channels, c->d_nf, c->d_spectral, c->bf16};
        if (!s->d && !(s->d = sr_disc_new(&dc, c->seed + 7, err))) return -1;
        s->ndp = sr_disc_param_count(s->d);
        if (!(s->dp = calloc((size_t)s->ndp, sizeof *s->dp))) goto nomem;
        for (int i = 0; i < s->ndp; i++) s->dp[i] = sr_disc_param(s->d, i);
        if (!(s->opt_d = sr_adam_new(s->dp, s->ndp, c->beta1, c->beta2, c->eps, err))) return -1;
        sr_disc_out_size(s->d, L->P, L->P, &L->oh, &L->ow);
    } else if (s->d) {
        sr_disc_free(s->d);
        s->d = NULL;
    }
    return 0;
nomem:
    sr_error_set(err, SR_ERR_NOMEM, "training: out of memory");
    return -1;
}

/* The schedule "cosine" (no periods): one period over the whole run. */
static void cosine_spec(long iters, char *buf, size_t n)
{
    snprintf(buf, n, "cosine:%ld@1e-7", iters);
}

static int init_sched(loop *L, sr_error *err)
{
    const sr_train_config *c = L->c;
    const char *sched = c->schedule ? c->schedule : "constant";
    char buf[64];
    if (!strcmp(sched, "cosine")) {
        cosine_spec(c->iters, buf, sizeof buf);
        sched = buf;
    }
    return sr_lr_parse(sched, c->lr_g, &L->sched_g, err) ||
                   sr_lr_parse(sched, c->lr_d, &L->sched_d, err)
               ? -1
               : 0;
}

/* VGG (given, or loaded up to the deepest layer asked for) and the loss. */
static int init_vgg(loop *L, sr_vgg *vgg, sr_error *err)
{
    const sr_train_config *c = L->c;
    if (c->phase != SR_PHASE_GAN) {
        sr_vgg_free(vgg);
        return 0;
    }
    L->vgg = vgg;
    if (!L->vgg) {
        if (!c->vgg_path) {
            sr_error_set(err, SR_ERR_ARG, "training: phase gan needs VGG19 weights (--vgg FILE)");
            return -1;
        }
        const char *order[] = {"5_4", "5_3", "5_2", "5_1", "4_4", "4_3", "4_2", "4_1", "3_4",
                               "3_3", "3_2", "3_1", "2_2", "2_1", "1_2", "1_1"};
        char last[16] = "conv5_4";
        for (size_t i = 0; i < sizeof order / sizeof *order; i++)
            if (strstr(c->vgg_layers, order[i])) {
                snprintf(last, sizeof last, "conv%s", order[i]);
                break;
            }
        if (!(L->vgg = sr_vgg_load(c->vgg_path, last, c->vgg_force, err))) return -1;
    }
    if (sr_vgg_prepare_precision(L->vgg, c->patch, c->patch, c->bf16)) { /* VGG sees HR patches */
        sr_error_set(err, SR_ERR_NOMEM, "training: out of memory preparing VGG");
        return -1;
    }
    return sr_percep_parse(L->vgg, c->vgg_layers, &L->percep, err);
}

static int init_workers(loop *L, sr_error *err)
{
    const sr_train_config *c = L->c;
    train_state *s = &L->s;
    size_t n = (size_t)L->Bl * chw(L), no = (size_t)L->B * L->oh * L->ow + 1;
    L->hr = sr_alloc_floats(n);
    L->lr = sr_alloc_floats((size_t)L->Bl * L->C * L->p * L->p);
    L->sr = sr_alloc_floats(n);
    L->dsr = sr_alloc_floats(n);
    L->lf = sr_alloc_floats(no);
    L->lr_logit = sr_alloc_floats(no);
    L->dlf_g = sr_alloc_floats(no);
    L->dlf_d = sr_alloc_floats(no);
    L->dlr_d = sr_alloc_floats(no);
    L->gw_sum = s->d ? sr_alloc_floats(sr_disc_grad_floats(s->d)) : sr_alloc_floats(1);
    if (!L->hr || !L->lr || !L->sr || !L->dsr || !L->lf || !L->lr_logit || !L->dlf_g ||
        !L->dlf_d || !L->dlr_d || !L->gw_sum)
        goto nomem;
    /* Each worker calls sgemm (the discriminator's 4x4 convs, VGG's small
     * maps) on its own items: OpenBLAS's own threads on top of them only
     * contend (measured in a 2-thread gan run: 17 % of the samples in
     * exec_blas_async, sched_yield and the scheduler, 15-26 % system time).
     * Process-wide, as the tiler does for inference; sums are unchanged. */
    openblas_set_num_threads(1);
    /* Workers: at most one per batch item and at most MAX_THREADS (the
     * worker array's size). */
    L->nw = c->threads < L->Bl ? c->threads : L->Bl;
    if (L->nw > MAX_THREADS)
        L->nw = MAX_THREADS;
    for (int i = 0, b0 = 0; i < L->nw; i++) {
        worker *w = &L->w[i];
        w->L = L, w->id = i, w->b0 = b0;
        w->nb = L->Bl / L->nw + (i < L->Bl % L->nw);
        b0 += w->nb;
        w->ga = sr_arena_new(sr_generator_train_arena_bytes(s->g, w->nb, L->p, L->p) + (8 << 20));
        w->ggrad = calloc((size_t)s->ngp, sizeof *w->ggrad);
        if (!w->ga || !w->ggrad) goto nomem;
        for (int k = 0; k < s->ngp; k++)
            if (!(w->ggrad[k] = sr_alloc_floats(s->gp[k]->numel))) goto nomem;
        if (s->d) {
            w->va = sr_arena_new(sr_percep_arena_bytes(L->vgg, &L->percep, 1, L->P, L->P));
            w->da = sr_arena_new(disc_arena_bytes(s->d, w->nb, L->P, L->P));
            w->dgw = sr_alloc_floats(sr_disc_grad_floats(s->d));
            w->tmp = sr_alloc_floats(chw(L));
            if (!w->va || !w->da || !w->dgw || !w->tmp) goto nomem;
        }
    }
    return 0;
nomem:
    sr_error_set(err, SR_ERR_NOMEM, "training: out of memory for buffers");
    return -1;
}

static int setup(loop *L, sr_error *err)
{
    const sr_train_config *c = L->c;
    train_state *s = &L->s;
    s->val_psnr = s->val_ssim = NAN;
    if (!c->hr_dir || !c->out_dir) {
        sr_error_set(err, SR_ERR_ARG, "training: --hr and --out are required");
        return -1;
    }
    if (c->phase == SR_PHASE_GAN && !c->init && !c->resume) {
        sr_error_set(err, SR_ERR_ARG,
                     "training: phase gan starts from a psnr model: give --init FILE");
        return -1;
    }
    if (c->batch < 1 || c->iters < 1 || c->threads < 1) {
        sr_error_set(err, SR_ERR_ARG, "training: batch, iterations and threads must be >= 1");
        return -1;
    }
    s->ranks = L->ranks;
    if (L->ranks > 1 && c->batch % L->ranks) {
        sr_error_set(err, SR_ERR_ARG, "training: --batch %d (the whole batch) is not divisible "
                     "by the %d MPI ranks", c->batch, L->ranks);
        return -1;
    }
    sr_generator *g;
    if (c->init) {
        g = sr_train_load_generator(c->init, 1, err);
    } else {
        if (sr_generator_config_check(&c->gen, err)) return -1;
        g = sr_generator_new(&c->gen, c->seed, err);
    }
    if (init_models(L, g, NULL, err) || init_sched(L, err)) return -1;
    if (c->resume && ckpt_load(s, c, c->resume, err)) return -1;
    if (init_vgg(L, NULL, err)) return -1;
    sr_degrade_params deg, vdeg;
    if (c->degrade && c->lr_dir) {
        sr_error_set(err, SR_ERR_ARG, "--degrade makes LR from HR; it cannot be used with --lr");
        return -1;
    }
    if (c->val_degrade && c->val_lr_dir) {
        sr_error_set(err, SR_ERR_ARG, "--val-degrade and --val-lr exclude each other");
        return -1;
    }
    if ((c->degrade && sr_degrade_parse(c->degrade, &deg, err)) ||
        (c->val_degrade && sr_degrade_parse(c->val_degrade, &vdeg, err)))
        return -1;
    if (!(L->ds = sr_dataset_open(c->hr_dir, c->lr_dir, L->scale, L->C, c->cache_bytes, err)))
        return -1;
    if (c->degrade) sr_dataset_set_degrade(L->ds, &deg);
    char first[512];
    int dropped = sr_dataset_filter(L->ds, c->patch, first, sizeof first);
    if (dropped && !c->quiet && sr_dist_rank() == 0)
        fprintf(stderr, "srgan-train: skipping %d image(s) smaller than the %d px patch, e.g. %s\n",
                dropped, c->patch, first);
    if (sr_dataset_count(L->ds) == 0) {
        sr_error_set(err, SR_ERR_ARG, "%s: no image is at least %d px (the patch size)",
                     c->hr_dir, c->patch);
        return -1;
    }
    if (c->val_dir && sr_dist_rank() == 0 && /* rank 0 validates */
        !(L->val = sr_valset_open_ex(c->val_dir, c->val_lr_dir, c->val_degrade ? &vdeg : NULL,
                                     L->scale, L->C, err)))
        return -1;
    if (init_workers(L, err)) return -1;
    L->loader = sr_loader_new_slice(L->ds, c->seed, s->iter, L->B, L->rb0, L->Bl, L->P,
                                    c->augment, c->queue, err);
    return L->loader ? 0 : -1;
}

/* ---- sr_trainer: the step without data or files --------------------------- */

struct sr_trainer {
    loop L;
};

sr_trainer *sr_trainer_new(const sr_train_config *c, sr_generator *g, sr_disc *d, sr_vgg *vgg,
                           sr_error *err)
{
    sr_trainer *t = calloc(1, sizeof *t);
    if (!t) {
        sr_generator_free(g);
        sr_disc_free(d);
        sr_vgg_free(vgg);
        sr_error_set(err, SR_ERR_NOMEM, "training: out of memory");
        return NULL;
    }
    loop *L = &t->L;
    L->cfg = *c;
    L->c = &L->cfg;
    L->s.val_psnr = L->s.val_ssim = NAN;
    int bad = c->batch < 1 || c->threads < 1;
    if (bad) sr_error_set(err, SR_ERR_ARG, "training: batch and threads must be >= 1");
    if (init_models(L, g, d, err)) {
        bad = 1;
        vgg = vgg ? (sr_vgg_free(vgg), NULL) : NULL;
    }
    /* The trainer owns vgg also when it fails: free it unless init_vgg
     * took it (init_vgg stores it in L->vgg first thing). */
    if (bad || init_sched(L, err)) {
        if (vgg)
            sr_vgg_free(vgg);
        sr_trainer_free(t);
        return NULL;
    }
    if (init_vgg(L, vgg, err) || init_workers(L, err)) {
        sr_trainer_free(t);
        return NULL;
    }
    return t;
}

int sr_trainer_step(sr_trainer *t, const float *hr, const float *lr, sr_step_losses *out,
                    sr_error *err)
{
    loop *L = &t->L;
    memcpy(L->hr, hr, (size_t)L->B * chw(L) * sizeof(float));
    memcpy(L->lr, lr, (size_t)L->B * L->C * L->p * L->p * sizeof(float));
    if (step(L, err)) return -1;
    if (out) *out = (sr_step_losses){L->l_pix, L->l_percep, L->l_g, L->l_d, L->d_real, L->d_fake};
    return 0;
}

sr_generator *sr_trainer_generator(sr_trainer *t) { return t->L.s.g; }
sr_generator *sr_trainer_ema(sr_trainer *t) { return t->L.s.ema; }
sr_disc *sr_trainer_disc(sr_trainer *t) { return t->L.s.d; }

void sr_trainer_free(sr_trainer *t)
{
    if (!t) return;
    loop_free(&t->L);
    free(t);
}

/* ---- output ---------------------------------------------------------------- */

static void iso_date(char *buf, size_t n)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int export_model(loop *L, const char *path, sr_error *err)
{
    const sr_train_config *c = L->c;
    char it[32], psnr[32], ssim[32], date[40], data[1024], secs[32], losses[256], bp[32];
    snprintf(it, sizeof it, "%ld", L->s.iter);
    snprintf(psnr, sizeof psnr, "%.4f", L->s.val_psnr);
    snprintf(ssim, sizeof ssim, "%.5f", L->s.val_ssim);
    snprintf(secs, sizeof secs, "%.0f", L->s.seconds);
    snprintf(bp, sizeof bp, "%dx%d", c->batch, c->patch);
    if (c->degrade && strcmp(c->degrade, "bicubic"))
        snprintf(data, sizeof data, "hr=%s (LR: --degrade %s)", c->hr_dir, c->degrade);
    else
        snprintf(data, sizeof data, "hr=%s%s%s", c->hr_dir,
                 c->lr_dir ? " lr=" : " (LR: MATLAB bicubic)", c->lr_dir ? c->lr_dir : "");
    if (c->phase == SR_PHASE_GAN)
        snprintf(losses, sizeof losses, "%s %g + perceptual(%s) %g + %s %g",
                 c->pixel_mse ? "mse" : "l1", c->w_pixel, c->vgg_layers, c->w_percep,
                 c->gan_type == SR_GAN_RAGAN ? "ragan" : "vanilla", c->w_gan);
    else
        snprintf(losses, sizeof losses, "%s", c->pixel_mse ? "mse" : "l1");
    iso_date(date, sizeof date);
    /* how the validation LR was made (val_set stays the bare directory:
     * srgan-up --list-models shows its last component) */
    char vlr[1024];
    snprintf(vlr, sizeof vlr, "%s%s", c->val_lr_dir ? "" : c->val_degrade ? "--val-degrade " : "",
             c->val_lr_dir ? c->val_lr_dir : c->val_degrade ? c->val_degrade : "bicubic");
    const char *meta[] = {"trainer", "srgan-train " SRGAN_VERSION,
                          "phase", c->phase == SR_PHASE_GAN ? "gan" : "psnr",
                          "training_data", data,
                          "iterations", it,
                          "val_set", c->val_dir ? c->val_dir : "",
                          "val_lr", vlr,
                          "val_psnr_y", psnr,
                          "val_ssim_y", ssim,
                          "date", date,
                          "train_seconds", secs,
                          "losses", losses,
                          "batch_patch", bp,
                          "weights", L->s.ema ? "ema" : "raw",
                          NULL};
    return sr_generator_save(L->s.ema ? L->s.ema : L->s.g, path, meta, err);
}

static int save_all(loop *L, sr_error *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/checkpoint.safetensors", L->c->out_dir);
    if (ckpt_save(&L->s, L->c, path, err)) return -1;
    snprintf(path, sizeof path, "%s/model.safetensors", L->c->out_dir);
    return export_model(L, path, err);
}

static FILE *open_log(loop *L, sr_error *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/log.csv", L->c->out_dir);
    int append = L->c->resume && access(path, F_OK) == 0;
    FILE *f = fopen(path, append ? "a" : "w");
    if (!f) {
        sr_error_set(err, SR_ERR_IO, "%s: cannot write log", path);
        return NULL;
    }
    if (!append)
        fprintf(f, "iter,lr,l_pix,l_percep,l_gan_g,l_gan_d,d_real,d_fake,val_psnr,val_ssim,"
                   "it_per_s,seconds\n");
    return f;
}

static void fmt_eta(double s, char *buf, size_t n)
{
    if (!isfinite(s) || s < 0) s = 0;
    long t = (long)s;
    snprintf(buf, n, "%ldh%02ldm%02lds", t / 3600, t / 60 % 60, t % 60);
}

/* On resume: where the run stands against --iters, and what a --iters other
 * than the checkpoint's changes (the default cosine schedule spans
 * --iters, so its rate at this iteration moves). */
static void resume_note(const loop *L)
{
    const sr_train_config *c = L->c;
    const long at = L->s.iter, was = L->s.ckpt_iters;
    if (L->s.ckpt_bf16 != (c->bf16 != 0)) /* allowed: a run may move to a CPU without AMX */
        fprintf(stderr, "srgan-train: the checkpoint was trained with --precision %s, this run "
                        "uses %s: it goes on, but does not repeat an uninterrupted run exactly\n",
                L->s.ckpt_bf16 ? "bf16" : "fp32", c->bf16 ? "bf16" : "fp32");
    fprintf(stderr, "srgan-train: resuming %s at iteration %ld", c->resume, at);
    if (at >= c->iters) {
        fprintf(stderr, "; --iters %ld is already reached: nothing to train, the checkpoint "
                        "and model are written again as they are\n", c->iters);
        return;
    }
    if (was == c->iters) {
        fprintf(stderr, " of %ld\n", c->iters);
        return;
    }
    if (was > 0)
        fprintf(stderr, "; the run was started with --iters %ld, now %ld: training goes on to %ld",
                was, c->iters, c->iters);
    else
        fprintf(stderr, "; training goes on to --iters %ld (the checkpoint does not record the "
                        "--iters it was started with)", c->iters);
    const char *sched = c->schedule ? c->schedule : "constant";
    if (strcmp(sched, "cosine")) {
        fprintf(stderr, "; the learning-rate schedule (%s) does not depend on --iters\n", sched);
        return;
    }
    fprintf(stderr, "; the cosine learning-rate schedule now spans %ld iterations: the next "
                    "update uses rate %.3g", c->iters, sr_lr_at(&L->sched_g, at));
    char spec[64];
    sr_lr_schedule old;
    sr_error e = {0};
    cosine_spec(was, spec, sizeof spec);
    if (was > 0 && at > 0 && !sr_lr_parse(spec, c->lr_g, &old, &e))
        fprintf(stderr, ", the last one used %.3g", sr_lr_at(&old, at - 1));
    fputc('\n', stderr);
}

/* Status lines: what a log needs to follow a run without a terminal. */
typedef struct status {
    double t_wall, seconds; /* at the last line: wall clock, training seconds */
    long iter;              /* iterations done at the last line */
    double acc[4];          /* l_pix, l_percep, l_g, l_d summed since then */
    long n;
    long val_iter;          /* iteration of the last validation, -1: none here */
} status;

static void status_line(const loop *L, status *st, double t, int live_line)
{
    const sr_train_config *c = L->c;
    const long done = L->s.iter - st->iter;
    const double secs = L->s.seconds - st->seconds;
    const double rate = secs > 0 ? done / secs : 0;
    char eta[32];
    fmt_eta(rate > 0 ? (c->iters - L->s.iter) / rate : 0, eta, sizeof eta);
    const double n = st->n > 0 ? (double)st->n : 1;
    if (live_line)
        fputs("\r\033[K", stderr); /* over the live line, which is redrawn next */
    fprintf(stderr, "srgan-train: [%s] it %ld/%ld (%.1f%%)  pix %.4g",
            c->phase == SR_PHASE_GAN ? "gan" : "psnr", L->s.iter, c->iters,
            100.0 * L->s.iter / c->iters, st->acc[0] / n);
    if (c->phase == SR_PHASE_GAN)
        fprintf(stderr, "  percep %.4g  G %.3g  D %.3g", st->acc[1] / n, st->acc[2] / n,
                st->acc[3] / n);
    fprintf(stderr, "  %.2f it/s  ETA %s", rate, rate > 0 ? eta : "?");
    if (isfinite(L->s.val_psnr)) {
        fprintf(stderr, "  val %.2f dB", L->s.val_psnr);
        if (st->val_iter >= 0)
            fprintf(stderr, " (it %ld)", st->val_iter);
    }
    fputc('\n', stderr);
    fflush(stderr);
    *st = (status){.t_wall = t, .seconds = L->s.seconds, .iter = L->s.iter,
                   .val_iter = st->val_iter};
}

int sr_train_run(const sr_train_config *c, volatile sig_atomic_t *stop, sr_error *err)
{
    loop L;
    memset(&L, 0, sizeof L);
    L.c = c;
    L.ranks = sr_dist_size();
    /* rank 0 alone writes files and output; the others only train */
    const int io = sr_dist_rank() == 0;
    int rc = -1;
    FILE *log = NULL;
    char samples[4096];
    snprintf(samples, sizeof samples, "%s/samples", c->out_dir ? c->out_dir : ".");
    int bad = io && c->out_dir && (mkdirs(c->out_dir, err) || mkdirs(samples, err));
    bad = bad || setup(&L, err) || (io && !(log = open_log(&L, err)));
    /* a setup error is usually every rank's: agree, so that one reports it
     * and all end cleanly */
    if (sr_dist_first_failed(bad) >= 0) {
        if (!bad) sr_error_set(err, SR_ERR_ARG, "training: another MPI rank failed to start");
        goto done;
    }
    if (!c->quiet && io)
        fprintf(stderr, "srgan-train: phase %s, %d training images, %s x%d %d blocks %d ch, "
                        "batch %d patch %d, %d threads%s, from iteration %ld\n",
                c->phase == SR_PHASE_GAN ? "gan" : "psnr", sr_dataset_count(L.ds),
                sr_arch_name(sr_generator_get_config(L.s.g)->arch), L.scale,
                sr_generator_get_config(L.s.g)->blocks, sr_generator_get_config(L.s.g)->channels,
                L.B, L.P, L.nw, c->bf16 ? (sr_amx_supported() ? ", bf16 convs on AMX" : ", bf16 convs (AVX512-BF16)") : "", L.s.iter);
    if (c->resume && !c->quiet && io)
        resume_note(&L);
    double t_start = now(), t_last = t_start, rate = 0;
    status st = {.t_wall = t_start, .seconds = L.s.seconds, .iter = L.s.iter, .val_iter = -1};
    const int statuses = io && !c->quiet && (c->status_every > 0 || c->status_seconds > 0);
    const int progress = io && c->progress;
    long it_last = L.s.iter, nacc = 0;
    double acc[6] = {0};
    int interrupted = 0;
    while (L.s.iter < c->iters) {
        /* all ranks stop at the same iteration, whichever got the signal */
        if (sr_dist_any(stop && *stop)) {
            interrupted = 1;
            break;
        }
        if (sr_loader_next(L.loader, L.hr, L.lr, err)) goto done;
        double lr_now = sr_lr_at(&L.sched_g, L.s.iter);
        if (step(&L, err)) goto done;
        double vals[6] = {L.l_pix, L.l_percep, L.l_g, L.l_d, L.d_real, L.d_fake};
        for (int k = 0; k < 6; k++) acc[k] += vals[k];
        nacc++;
        for (int k = 0; k < 4; k++) st.acc[k] += vals[k];
        st.n++;
        double t = now();
        L.s.seconds += t - t_last;
        double dt = t - t_last;
        t_last = t;
        rate = rate > 0 ? 0.9 * rate + 0.1 / dt : 1.0 / dt;
        if (!isfinite(L.l_pix)) { /* the summed loss: every rank stops here */
            sr_dist_failed_together();
            sr_error_set(err, SR_ERR_ARG, "training: loss is not finite at iteration %ld "
                         "(lower the learning rate?)", L.s.iter);
            goto done;
        }
        int do_val = io && L.val && c->val_every > 0 &&
                     (L.s.iter % c->val_every == 0 || L.s.iter == c->iters);
        int do_log = io && c->log_every > 0 && (L.s.iter % c->log_every == 0 || L.s.iter == c->iters);
        if (do_val) {
            const sr_generator *vg = L.s.ema ? L.s.ema : L.s.g;
            int vrc = sr_validate(vg, L.val, samples, c->val_samples, L.s.iter, &L.s.val_psnr,
                                  &L.s.val_ssim, err);
            /* The validation images shared pooled arenas (sr_generator_forward);
             * free them now rather than hold a few hundred MB through the
             * hundreds of steps until the next validation. */
            sr_arena_pool_clear();
            if (vrc)
                goto done;
            t_last = now(); /* validation time is not training time */
            st.val_iter = L.s.iter;
        }
        if (do_log || do_val) {
            int gan = c->phase == SR_PHASE_GAN;
            fprintf(log, "%ld,%.4g,%.6g,", L.s.iter, lr_now, acc[0] / nacc);
            if (gan)
                fprintf(log, "%.6g,%.6g,%.6g,%.5g,%.5g,", acc[1] / nacc, acc[2] / nacc,
                        acc[3] / nacc, acc[4] / nacc, acc[5] / nacc);
            else
                fprintf(log, ",,,,,");
            if (do_val) fprintf(log, "%.4f,%.5f,", L.s.val_psnr, L.s.val_ssim);
            else fprintf(log, ",,");
            fprintf(log, "%.4f,%.1f\n", rate, L.s.seconds);
            fflush(log);
            memset(acc, 0, sizeof acc);
            nacc = 0;
        }
        if (do_val) {
            char csv[4096], png[4096];
            sr_error perr = {0};
            snprintf(csv, sizeof csv, "%s/log.csv", c->out_dir);
            snprintf(png, sizeof png, "%s/curves.png", c->out_dir);
            sr_plot_csv(csv, png, &perr); /* a failed plot does not stop training */
        }
        if (io && c->ckpt_every > 0 && L.s.iter % c->ckpt_every == 0 && L.s.iter < c->iters &&
            save_all(&L, err))
            goto done;
        if (statuses && (do_val || L.s.iter == c->iters ||
                         (c->status_every > 0 && L.s.iter % c->status_every == 0) ||
                         (c->status_seconds > 0 && t_last - st.t_wall >= c->status_seconds)))
            status_line(&L, &st, t_last, progress);
        if (progress) {
            char eta[32];
            fmt_eta((c->iters - L.s.iter) / (rate > 0 ? rate : 1), eta, sizeof eta);
            fprintf(stderr, "\r[%s] it %ld/%ld  %.2f it/s  pix %.4g", c->phase ? "gan" : "psnr",
                    L.s.iter, c->iters, rate, L.l_pix);
            if (c->phase == SR_PHASE_GAN)
                fprintf(stderr, "  percep %.4g  G %.3g  D %.3g", L.l_percep, L.l_g, L.l_d);
            if (isfinite(L.s.val_psnr)) fprintf(stderr, "  val %.2f dB", L.s.val_psnr);
            fprintf(stderr, "  ETA %s   ", eta);
            fflush(stderr);
        }
    }
    if (progress) fputc('\n', stderr);
    (void)it_last;
    (void)t_start;
    if (!io) {
        rc = interrupted ? 1 : 0;
        goto done;
    }
    if (save_all(&L, err)) goto done;
    if (c->export_path && export_model(&L, c->export_path, err)) goto done;
    {
        char csv[4096], png[4096];
        sr_error perr = {0};
        snprintf(csv, sizeof csv, "%s/log.csv", c->out_dir);
        snprintf(png, sizeof png, "%s/curves.png", c->out_dir);
        sr_plot_csv(csv, png, &perr);
    }
    if (!c->quiet)
        fprintf(stderr, "srgan-train: %s at iteration %ld; checkpoint in %s/checkpoint.safetensors\n",
                interrupted ? "interrupted" : "done", L.s.iter, c->out_dir);
    rc = interrupted ? 1 : 0;
done:
    if (log) fclose(log);
    loop_free(&L);
    return rc;
}
