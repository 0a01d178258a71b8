/* gen_train.c: the generator's training forward (keeping activations) and
 * backward (accumulating parameter gradients) for a batch.
 *
 * ReLU and LReLU backward use the stored OUTPUT instead of the input: with a
 * positive slope, output > 0 exactly when input > 0, so the activations can
 * be applied in place and only one tensor kept. PReLU needs its input for
 * the alpha gradient, so SRResNet keeps both sides. */
#include "gen_internal.h"

#include <string.h>

struct sr_gen_acts {
    int n, h, w;
    sr_tensor x;
    sr_tensor c0, a0;                 /* head: pre-activation (SRResNet) and output */
    sr_tensor *pre, *mid, *out;       /* blocks: pre-act (SRResNet), act output, block output */
    sr_tensor body;                   /* SRResNet: conv_body + long skip */
    sr_tensor up_pre[GEN_MAX_UP];     /* SRResNet: shuffled, before PReLU */
    sr_tensor up[GEN_MAX_UP];         /* after the activation */
    sr_tensor hr;                     /* MSRResNet: LReLU(conv_hr) */
    float *scratch;
    size_t big; /* floats of the largest activation (n*C*sH*sW) */
};

static sr_tensor tens(sr_arena *a, int n, int c, int h, int w, int *fail)
{
    sr_tensor t = sr_tensor_arena(a, n, c, h, w);
    if (!t.data)
        *fail = 1;
    return t;
}

/* Floats of the largest activation or gradient: n x max(C, in, out) x sH x sW. */
static size_t big_floats(const sr_generator *g, int n, int h, int w)
{
    int c = g->cfg.channels;
    if (g->cfg.in_channels > c)
        c = g->cfg.in_channels;
    if (g->cfg.out_channels > c)
        c = g->cfg.out_channels;
    return (size_t)n * c * h * w * g->cfg.scale * g->cfg.scale;
}

static size_t max_scratch(const sr_generator *g, int n, int h, int w)
{
    const int C = g->cfg.channels, s = g->cfg.scale;
    sr_tensor t = {n, g->cfg.in_channels, h, w, NULL};
    size_t m = sr_conv2d_scratch_floats(&g->first.c, &t), v;
    t.c = C;
    if (g->cfg.blocks && (v = sr_conv2d_scratch_floats(&g->conv1[0].c, &t)) > m)
        m = v;
    if (g->cfg.arch == SR_ARCH_SRRESNET && (v = sr_conv2d_scratch_floats(&g->body.c, &t)) > m)
        m = v;
    for (int k = 0; k < g->nup; k++) {
        if ((v = sr_conv2d_scratch_floats(&g->up[k].c, &t)) > m)
            m = v;
        t.h *= g->up_r;
        t.w *= g->up_r;
    }
    t.h = h * s;
    t.w = w * s;
    if (g->cfg.arch == SR_ARCH_MSRRESNET && (v = sr_conv2d_scratch_floats(&g->hr.c, &t)) > m)
        m = v;
    if ((v = sr_conv2d_scratch_floats(&g->last.c, &t)) > m)
        m = v;
    return m;
}

size_t sr_generator_train_arena_bytes(const sr_generator *g, int n, int h, int w)
{
    const size_t C = (size_t)g->cfg.channels, s = (size_t)g->cfg.scale, B = (size_t)g->cfg.blocks;
    const int srr = g->cfg.arch == SR_ARCH_SRRESNET;
    const size_t lr = (size_t)n * C * h * w, big = big_floats(g, n, h, w);
    size_t f = 0, allocs = 0;
    /* forward activations */
    f += lr * (srr ? 2 : 1) + lr * B * (srr ? 3 : 2) + (srr ? lr : 0);
    allocs += 2 + 3 * B + 1;
    size_t res = lr;
    for (int k = 0; k < g->nup; k++) {
        res *= (size_t)g->up_r * g->up_r;
        f += res * (srr ? 2 : 1);
        allocs += 2;
    }
    if (!srr)
        f += lr * s * s;
    f += big; /* upconv output before the shuffle */
    f += max_scratch(g, n, h, w);
    allocs += 6;
    /* backward: 4 gradient buffers and the skip's input gradient */
    f += 4 * big + (size_t)n * g->cfg.in_channels * h * w;
    allocs += 5;
    size_t bytes = f * sizeof(float) + allocs * 64;
    bytes += 4 * sizeof(sr_gen_acts) + 3 * (B + 1) * sizeof(sr_tensor) + 4 * 64;
    return bytes;
}

sr_gen_acts *sr_generator_train_forward(const sr_generator *g, const sr_tensor *x, sr_tensor *y,
                                        sr_arena *a, sr_error *err)
{
    const sr_generator_config *cf = &g->cfg;
    const int n = x->n, h = x->h, w = x->w, C = cf->channels, B = cf->blocks, s = cf->scale;
    const int srr = cf->arch == SR_ARCH_SRRESNET;
    if (x->c != cf->in_channels || y->n != n || y->c != cf->out_channels || y->h != h * s ||
        y->w != w * s || n < 1 || h < 1 || w < 1) {
        sr_error_set(err, SR_ERR_ARG,
                     "generator: train forward expects [N, %d, H, W] -> [N, %d, %dH, %dW]",
                     cf->in_channels, cf->out_channels, s, s);
        return NULL;
    }
    int fail = 0;
    size_t ts = (sizeof(sr_gen_acts) + 3) / 4;
    sr_gen_acts *A = (sr_gen_acts *)(void *)sr_arena_alloc(a, ts);
    size_t tb = ((size_t)(B + 1) * sizeof(sr_tensor) + 3) / 4;
    sr_tensor *pre = (sr_tensor *)(void *)sr_arena_alloc(a, tb);
    sr_tensor *mid = (sr_tensor *)(void *)sr_arena_alloc(a, tb);
    sr_tensor *out = (sr_tensor *)(void *)sr_arena_alloc(a, tb);
    if (!A || !pre || !mid || !out)
        goto nomem;
    memset(A, 0, sizeof *A);
    A->n = n;
    A->h = h;
    A->w = w;
    A->x = *x;
    A->pre = pre;
    A->mid = mid;
    A->out = out;
    A->big = big_floats(g, n, h, w);
    A->scratch = sr_arena_alloc(a, max_scratch(g, n, h, w));
    float *U = sr_arena_alloc(a, A->big);
    if (!A->scratch || !U)
        goto nomem;
    float *scr = A->scratch;

    /* head */
    if (srr) {
        A->c0 = tens(a, n, C, h, w, &fail);
        A->a0 = tens(a, n, C, h, w, &fail);
        if (fail)
            goto nomem;
        sr_conv2d_forward(&g->first.c, x, &A->c0, scr);
        sr_prelu_forward(&A->c0, g->first_act.alpha, g->first_act.nalpha, &A->a0);
    } else {
        A->a0 = tens(a, n, C, h, w, &fail);
        if (fail)
            goto nomem;
        /* activations and residual adds as conv epilogues: same values,
         * no separate passes over memory */
        sr_conv_epilogue e = gen_act_epilogue(&g->first_act, 1);
        sr_conv2d_forward_ep(&g->first.c, x, &A->a0, scr, &e);
    }
    /* residual blocks */
    for (int i = 0; i < B; i++) {
        const sr_tensor *in = i ? &out[i - 1] : &A->a0;
        mid[i] = tens(a, n, C, h, w, &fail);
        out[i] = tens(a, n, C, h, w, &fail);
        if (srr)
            pre[i] = tens(a, n, C, h, w, &fail);
        if (fail)
            goto nomem;
        if (srr) {
            sr_conv2d_forward(&g->conv1[i].c, in, &pre[i], scr);
            sr_prelu_forward(&pre[i], g->block_act[i].alpha, g->block_act[i].nalpha, &mid[i]);
        } else {
            sr_conv_epilogue e = gen_act_epilogue(&g->block_act[i], 1);
            sr_conv2d_forward_ep(&g->conv1[i].c, in, &mid[i], scr, &e);
        }
        sr_conv_epilogue res = {.residual = in->data};
        sr_conv2d_forward_ep(&g->conv2[i].c, &mid[i], &out[i], scr, &res);
    }
    const sr_tensor *trunk = B ? &out[B - 1] : &A->a0;
    if (srr) {
        A->body = tens(a, n, C, h, w, &fail);
        if (fail)
            goto nomem;
        sr_conv_epilogue res = {.residual = A->a0.data};
        sr_conv2d_forward_ep(&g->body.c, trunk, &A->body, scr, &res);
        trunk = &A->body;
    }
    /* pixel-shuffle stages */
    const sr_tensor *in = trunk;
    int hh = h, ww = w;
    for (int k = 0; k < g->nup; k++) {
        const int r = g->up_r;
        sr_tensor u = {n, C * r * r, hh, ww, U};
        /* MSRResNet: the activation before the shuffle (it commutes with
         * it); SRResNet keeps the shuffled pre-activation for PReLU's backward */
        sr_conv_epilogue e = gen_act_epilogue(&g->up_act[k], r * r);
        sr_conv2d_forward_ep(&g->up[k].c, in, &u, scr, srr ? NULL : &e);
        hh *= r;
        ww *= r;
        A->up[k] = tens(a, n, C, hh, ww, &fail);
        if (srr)
            A->up_pre[k] = tens(a, n, C, hh, ww, &fail);
        if (fail)
            goto nomem;
        if (srr) {
            sr_pixel_shuffle_forward(&u, r, &A->up_pre[k]);
            sr_prelu_forward(&A->up_pre[k], g->up_act[k].alpha, g->up_act[k].nalpha, &A->up[k]);
        } else {
            sr_pixel_shuffle_forward(&u, r, &A->up[k]);
        }
        in = &A->up[k];
    }
    if (!srr) {
        A->hr = tens(a, n, C, hh, ww, &fail);
        if (fail)
            goto nomem;
        sr_conv_epilogue e = gen_act_epilogue(&g->hr_act, 1);
        sr_conv2d_forward_ep(&g->hr.c, in, &A->hr, scr, &e);
        in = &A->hr;
    }
    sr_conv2d_forward(&g->last.c, in, y, scr);
    if (!srr) { /* global skip: y += bilinear(x) */
        sr_tensor up = {n, x->c, y->h, y->w, U};
        sr_upsample_forward(x, s, SR_INTERP_BILINEAR, &up);
        sr_add(y->data, up.data, y->data, sr_tensor_numel(y));
    }
    return A;
nomem:
    sr_error_set(err, SR_ERR_NOMEM,
                 "generator: training arena too small for a batch of %d x %dx%d", n, w, h);
    return NULL;
}

static float *gptr(const sr_generator *g, float *const *grads, int i)
{
    return grads ? grads[i] : g->params[i].grad;
}

/* dx = backward of conv cv for input x and output gradient dy; accumulates
 * the conv's parameter gradients. */
static void conv_bw(const sr_generator *g, const gen_conv *cv, const sr_tensor *x,
                    const sr_tensor *dy, sr_tensor *dx, float *const *grads, float *scr)
{
    sr_conv2d_backward(&cv->c, x, dy, dx, gptr(g, grads, cv->param),
                       gptr(g, grads, cv->param + 1), scr);
}

int sr_generator_backward(const sr_generator *g, const sr_gen_acts *A, const sr_tensor *dy,
                          sr_tensor *dx, float *const *grads, sr_arena *a, sr_error *err)
{
    const sr_generator_config *cf = &g->cfg;
    const int n = A->n, h = A->h, w = A->w, C = cf->channels, B = cf->blocks, s = cf->scale;
    const int srr = cf->arch == SR_ARCH_SRRESNET;
    if (dy->n != n || dy->c != cf->out_channels || dy->h != h * s || dy->w != w * s ||
        (dx && (dx->n != n || dx->c != cf->in_channels || dx->h != h || dx->w != w))) {
        sr_error_set(err, SR_ERR_ARG, "generator: backward given gradients of the wrong shape");
        return -1;
    }
    for (int i = 0; i < g->nparams; i++) {
        if (!gptr(g, grads, i)) {
            sr_error_set(err, SR_ERR_ARG,
                         "generator: no gradient buffer for '%s' (call sr_generator_enable_grad)",
                         g->params[i].name);
            return -1;
        }
    }
    float *buf[4];
    for (int i = 0; i < 4; i++) {
        buf[i] = sr_arena_alloc(a, A->big);
        if (!buf[i]) {
            sr_error_set(err, SR_ERR_NOMEM, "generator: training arena too small for backward");
            return -1;
        }
    }
    float *scr = A->scratch;
    /* d holds the gradient flowing down; t1/t2 are free buffers. */
    float *d = buf[0], *t1 = buf[1], *t2 = buf[2], *keep = buf[3];
    int hh = h * s, ww = w * s;

    /* conv_last (+ conv_hr for MSRResNet) */
    const sr_tensor *lin = srr ? &A->up[g->nup - 1] : &A->hr;
    sr_tensor gd = {n, C, hh, ww, d};
    conv_bw(g, &g->last, lin, dy, &gd, grads, scr);
    if (!srr) {
        sr_lrelu_backward(A->hr.data, d, d, sr_tensor_numel(&gd), GEN_LRELU_SLOPE);
        sr_tensor gt = {n, C, hh, ww, t1};
        conv_bw(g, &g->hr, &A->up[g->nup - 1], &gd, &gt, grads, scr);
        float *tmp = d;
        d = t1;
        t1 = tmp;
    }
    /* pixel-shuffle stages, last to first */
    for (int k = g->nup - 1; k >= 0; k--) {
        const int r = g->up_r;
        sr_tensor ga = {n, C, hh, ww, d};
        if (srr)
            sr_prelu_backward(&A->up_pre[k], g->up_act[k].alpha, g->up_act[k].nalpha, &ga, &ga,
                              gptr(g, grads, g->up_act[k].param));
        else
            sr_lrelu_backward(A->up[k].data, d, d, sr_tensor_numel(&ga), GEN_LRELU_SLOPE);
        hh /= r;
        ww /= r;
        sr_tensor gu = {n, C * r * r, hh, ww, t1};
        sr_pixel_shuffle_backward(&ga, r, &gu);
        const sr_tensor *kin = k ? &A->up[k - 1] : srr ? &A->body : B ? &A->out[B - 1] : &A->a0;
        sr_tensor gi = {n, C, hh, ww, t2};
        conv_bw(g, &g->up[k], kin, &gu, &gi, grads, scr);
        float *tmp = d;
        d = t2;
        t2 = tmp;
    }
    const size_t nlr = (size_t)n * C * h * w;
    sr_tensor gcur = {n, C, h, w, d};
    if (srr) { /* body = conv_body(trunk) + a0: keep the skip's share for the head */
        memcpy(keep, d, nlr * sizeof(float));
        sr_tensor gi = {n, C, h, w, t1};
        conv_bw(g, &g->body, B ? &A->out[B - 1] : &A->a0, &gcur, &gi, grads, scr);
        float *tmp = d;
        d = t1;
        t1 = tmp;
        gcur.data = d;
    }
    for (int i = B - 1; i >= 0; i--) {
        const sr_tensor *in = i ? &A->out[i - 1] : &A->a0;
        sr_tensor gm = {n, C, h, w, t1};
        conv_bw(g, &g->conv2[i], &A->mid[i], &gcur, &gm, grads, scr);
        if (srr)
            sr_prelu_backward(&A->pre[i], g->block_act[i].alpha, g->block_act[i].nalpha, &gm, &gm,
                              gptr(g, grads, g->block_act[i].param));
        else
            sr_relu_backward(A->mid[i].data, t1, t1, nlr);
        sr_tensor gi = {n, C, h, w, t2};
        conv_bw(g, &g->conv1[i], in, &gm, &gi, grads, scr);
        sr_add(d, t2, d, nlr);
    }
    if (srr) {
        sr_add(d, keep, d, nlr);
        sr_prelu_backward(&A->c0, g->first_act.alpha, g->first_act.nalpha, &gcur, &gcur,
                          gptr(g, grads, g->first_act.param));
    } else {
        sr_lrelu_backward(A->a0.data, d, d, nlr, GEN_LRELU_SLOPE);
    }
    conv_bw(g, &g->first, &A->x, &gcur, dx, grads, scr);
    if (dx && !srr) {
        sr_tensor gs = {n, cf->in_channels, h, w, sr_arena_alloc(a, sr_tensor_numel(dx))};
        if (!gs.data) {
            sr_error_set(err, SR_ERR_NOMEM, "generator: training arena too small for backward");
            return -1;
        }
        sr_upsample_backward(dy, s, SR_INTERP_BILINEAR, &gs);
        sr_add(dx->data, gs.data, dx->data, sr_tensor_numel(dx));
    }
    return 0;
}
