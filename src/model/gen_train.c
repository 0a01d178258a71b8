/* gen_train.c: the training forward (keeping every value of the layer list)
 * and backward (accumulating parameter gradients) for a batch.
 *
 * Ops run image by image: a dense block's values are channel slices of one
 * root, contiguous within an image but not across a batch. ReLU and LReLU
 * backward use the stored OUTPUT instead of the input: with a positive
 * slope, output > 0 exactly when input > 0, so the activation stays a conv
 * epilogue and one tensor is kept. PReLU needs its input for the alpha
 * gradient, so a conv with PReLU also keeps its pre-activation.
 *
 * Gradients of values live only between the last op that reads a value and
 * the op that writes it; they share buffers planned like inference's. */
#include "gen_internal.h"

#include <stdlib.h>
#include <string.h>

struct sr_gen_acts {
    int n, h, w;
    sr_tensor x;   /* the input as given */
    float *xs;     /* mean-shifted input (EDSR), or NULL */
    float **base;  /* per root: [n, root channels, vh, vw] */
    float **pre;   /* per op: a PReLU conv's pre-activation, or NULL */
    float *scratch, *tmp;
    float *u; /* one conv's Winograd weights, transformed once per op and step */
};

/* Floats and allocations the forward needs besides the value storage. */
typedef struct train_sizes {
    size_t values, pre, scratch, tmp, xs, grads, u;
    int allocs;
} train_sizes;

static size_t floats_of(size_t bytes)
{
    return (bytes + sizeof(float) - 1) / sizeof(float);
}

/* The backward's gradient lifetimes, in reverse steps t = nop - 1 - op. */
static int grad_plan(const sr_generator *g, int n, int h, int w, int want_dx, size_t *off,
                     size_t *total)
{
    const int nv = g->nval, no = g->nop;
    int *first = malloc(2 * (size_t)nv * sizeof *first), *last = first ? first + nv : NULL;
    size_t *size = malloc((size_t)nv * sizeof *size);
    if (!first || !size) {
        free(first);
        free(size);
        return -1;
    }
    for (int v = 0; v < nv; v++) {
        first[v] = -1;
        last[v] = -1;
        size[v] = (size_t)n * gen_val_floats(g, v, h, w);
    }
    for (int i = no - 1; i >= 0; i--) {
        const gen_op *o = &g->ops[i];
        const int t = no - 1 - i;
        const int ins[2] = {o->in, o->add};
        for (int k = 0; k < 2; k++) {
            if (ins[k] < 0)
                continue;
            const int r = g->vals[ins[k]].root;
            if (first[r] < 0)
                first[r] = t;
        }
        const int r = g->vals[o->out].root;
        if (first[r] < 0 || first[r] > t)
            first[r] = t;
        last[r] = t; /* ops in reverse: the earliest writer comes last */
    }
    const int ro = g->vals[g->output].root;
    first[ro] = 0;
    if (want_dx)
        last[0] = no;
    else
        first[0] = last[0] = -1;
    int rc = gen_assign(nv, no, first, last, size, off, total);
    free(first);
    free(size);
    return rc;
}

static void sizes(const sr_generator *g, int n, int h, int w, train_sizes *z)
{
    memset(z, 0, sizeof *z);
    size_t onemax = 0;
    for (int v = 0; v < g->nval; v++) {
        const size_t f = gen_val_floats(g, v, h, w);
        if (g->vals[v].root == v && v) {
            z->values += (size_t)n * f;
            z->allocs++;
        }
        if (f > onemax)
            onemax = f;
    }
    for (int i = 0; i < g->nop; i++) {
        if (g->ops[i].kind == OP_CONV && g->ops[i].act.kind == ACT_PRELU) {
            z->pre += (size_t)n * gen_val_floats(g, g->ops[i].out, h, w);
            z->allocs++;
        }
    }
    z->scratch = gen_plan_scratch(g, 0, g->nop, 1, h, w);
    for (int i = 0; i < g->nconv; i++) {
        const size_t u = sr_conv2d_train_u_floats(&g->convs[i].c);
        if (u > z->u)
            z->u = u;
    }
    z->allocs++;
    const size_t skip = (size_t)n * g->cfg.in_channels * h * w * g->cfg.scale * g->cfg.scale;
    z->tmp = onemax > skip ? onemax : skip;
    z->xs = g->mean_shift ? (size_t)n * g->cfg.in_channels * h * w : 0;
    z->allocs += 12;
    size_t *off = malloc((size_t)g->nval * sizeof *off);
    z->grads = (size_t)-1 / 8;
    if (off && !grad_plan(g, n, h, w, 1, off, &z->grads))
        z->allocs++;
    free(off);
}

size_t sr_generator_train_arena_bytes(const sr_generator *g, int n, int h, int w)
{
    train_sizes z;
    sizes(g, n, h, w, &z);
    size_t f = z.values + z.pre + z.scratch + z.tmp + z.xs + z.grads + z.u;
    f += floats_of(sizeof(sr_gen_acts)) + floats_of((size_t)g->nval * sizeof(float *)) +
         floats_of((size_t)g->nop * sizeof(float *)) + 3 * floats_of((size_t)g->nval * sizeof(size_t)) +
         floats_of((size_t)g->nop * sizeof(int));
    return f * sizeof(float) + (size_t)z.allocs * 64 + 5 * 64;
}

/* Value v of image i (n = 1 tensor) from per-root batch storage. */
static sr_tensor img(const sr_generator *g, float *const *base, int v, int i, int h, int w)
{
    const gen_val *x = &g->vals[v];
    const int vh = gen_val_dim(g, v, h), vw = gen_val_dim(g, v, w);
    const size_t plane = (size_t)vh * vw;
    sr_tensor t = {1, x->c, vh, vw, NULL};
    if (base[x->root])
        t.data = base[x->root] + ((size_t)i * g->vals[x->root].c + x->c0) * plane;
    return t;
}

/* A PReLU over a conv output of cout channels with nalpha alphas: the
 * same memory seen as [1, nalpha, cout / nalpha * h, w], so that each alpha
 * covers its group of channels (see gen_act_epilogue). */
static sr_tensor prelu_view(sr_tensor t, int nalpha)
{
    if (nalpha > 1) {
        t.h *= t.c / nalpha;
        t.c = nalpha;
    }
    return t;
}

static void *arena_bytes(sr_arena *a, size_t bytes)
{
    return (void *)sr_arena_alloc(a, floats_of(bytes));
}

sr_gen_acts *sr_generator_train_forward(const sr_generator *g, const sr_tensor *x, sr_tensor *y,
                                        sr_arena *a, sr_error *err)
{
    const sr_generator_config *cf = &g->cfg;
    const int n = x->n, h = x->h, w = x->w, s = cf->scale;
    if (x->c != cf->in_channels || y->n != n || y->c != cf->out_channels || y->h != h * s ||
        y->w != w * s || n < 1 || h < 1 || w < 1 || h % g->align || w % g->align) {
        sr_error_set(err, SR_ERR_ARG,
                     "generator: train forward expects [N, %d, H, W] -> [N, %d, %dH, %dW]%s",
                     cf->in_channels, cf->out_channels, s, s,
                     g->align > 1 ? " with H and W even" : "");
        return NULL;
    }
    train_sizes z;
    sizes(g, n, h, w, &z);
    sr_gen_acts *A = arena_bytes(a, sizeof *A);
    float **base = arena_bytes(a, (size_t)g->nval * sizeof *base);
    float **pre = arena_bytes(a, (size_t)g->nop * sizeof *pre);
    if (!A || !base || !pre)
        goto nomem;
    memset(A, 0, sizeof *A);
    memset(base, 0, (size_t)g->nval * sizeof *base);
    memset(pre, 0, (size_t)g->nop * sizeof *pre);
    A->n = n;
    A->h = h;
    A->w = w;
    A->x = *x;
    A->base = base;
    A->pre = pre;
    A->scratch = sr_arena_alloc(a, z.scratch);
    A->tmp = sr_arena_alloc(a, z.tmp);
    A->u = z.u ? sr_arena_alloc(a, z.u) : NULL;
    if (!A->scratch || !A->tmp || (z.u && !A->u))
        goto nomem;
    if (g->mean_shift) {
        A->xs = sr_arena_alloc(a, z.xs);
        if (!A->xs)
            goto nomem;
        const size_t plane = (size_t)h * w;
        for (int i = 0; i < n; i++)
            for (int c = 0; c < x->c; c++) {
                const float *src = x->data + ((size_t)i * x->c + c) * plane;
                float *dst = A->xs + ((size_t)i * x->c + c) * plane;
                for (size_t k = 0; k < plane; k++)
                    dst[k] = (src[k] - g->mean[c]) * g->range;
            }
        base[0] = A->xs;
    } else {
        base[0] = x->data;
    }
    for (int v = 1; v < g->nval; v++)
        if (g->vals[v].root == v && !(base[v] = sr_arena_alloc(a, (size_t)n * gen_val_floats(g, v, h, w))))
            goto nomem;
    for (int i = 0; i < g->nop; i++)
        if (g->ops[i].kind == OP_CONV && g->ops[i].act.kind == ACT_PRELU &&
            !(pre[i] = sr_arena_alloc(a, (size_t)n * gen_val_floats(g, g->ops[i].out, h, w))))
            goto nomem;

    float *scr = A->scratch;
    for (int i = 0; i < g->nop; i++) {
        const gen_op *o = &g->ops[i];
        sr_conv2d cv; /* this step's weights, transformed once for the batch */
        sr_conv_impl im = SR_CONV_AUTO;
        if (o->kind == OP_CONV)
            im = g->train_bf16 ? sr_conv2d_train_prepare_bf16(&g->convs[o->conv].c, &cv, A->u)
                               : sr_conv2d_train_prepare(&g->convs[o->conv].c, &cv, A->u);
        for (int b = 0; b < n; b++) {
            sr_tensor in = img(g, base, o->in, b, h, w), out = img(g, base, o->out, b, h, w);
            switch (o->kind) {
            case OP_CONV: {
                sr_conv_epilogue e = {0};
                if (o->act.kind != ACT_PRELU)
                    e = gen_act_epilogue(&o->act, out.c);
                if (o->add >= 0)
                    e.residual = img(g, base, o->add, b, h, w).data;
                if (o->act.kind == ACT_PRELU) {
                    sr_tensor p = out;
                    p.data = pre[i] + (size_t)b * sr_tensor_numel(&out);
                    sr_conv2d_forward_ep_impl(&cv, &in, &p, scr, im, &e);
                    sr_tensor pv = prelu_view(p, o->act.nalpha), ov = prelu_view(out, o->act.nalpha);
                    sr_prelu_forward(&pv, o->act.alpha, o->act.nalpha, &ov);
                } else {
                    sr_conv2d_forward_ep_impl(&cv, &in, &out, scr, im, &e);
                }
                break;
            }
            case OP_SHUFFLE: sr_pixel_shuffle_forward(&in, o->r, &out); break;
            case OP_UNSHUFFLE: sr_pixel_shuffle_backward(&in, o->r, &out); break;
            case OP_UPNEAREST: sr_upsample_forward(&in, o->r, SR_INTERP_NEAREST, &out); break;
            case OP_SCALE_ADD: {
                const float *ad = img(g, base, o->add, b, h, w).data;
                const size_t k = sr_tensor_numel(&out);
                for (size_t j = 0; j < k; j++) {
                    const float t = in.data[j] * o->scale;
                    out.data[j] = t + ad[j];
                }
                break;
            }
            }
        }
    }
    /* the output: plus the global skip, or the mean added back */
    const float *o = base[g->vals[g->output].root];
    const size_t ny = sr_tensor_numel(y);
    if (g->skip) {
        sr_tensor up = {n, x->c, y->h, y->w, A->tmp};
        sr_upsample_forward(x, s, g->skip_mode, &up);
        sr_add(o, up.data, y->data, ny);
    } else if (g->mean_shift) {
        const size_t plane = (size_t)y->h * y->w;
        for (int b = 0; b < n; b++)
            for (int c = 0; c < y->c; c++) {
                const size_t at = ((size_t)b * y->c + c) * plane;
                for (size_t k = 0; k < plane; k++)
                    y->data[at + k] = o[at + k] / g->range + g->mean[c];
            }
    } else {
        memcpy(y->data, o, ny * sizeof(float));
    }
    return A;
nomem:
    sr_error_set(err, SR_ERR_NOMEM,
                 "generator: training arena too small for a batch of %d x %dx%d", n, w, h);
    return NULL;
}

/* The op whose ReLU / LReLU backward op i's dx can apply in its store
 * (sr_conv2d_backward_gated), or -1: op i is a conv, the only op that reads
 * its input's root, and that input is the whole output of a conv with that
 * activation (so the dx op i stores is that value's whole gradient). */
static int gate_op(const sr_generator *g, int i)
{
    const gen_op *o = &g->ops[i];
    const int r = g->vals[o->in].root;
    if (o->kind != OP_CONV || (o->add >= 0 && g->vals[o->add].root == r))
        return -1;
    int w = -1;
    for (int j = 0; j < g->nop; j++) {
        const gen_op *p = &g->ops[j];
        if (j != i && (g->vals[p->in].root == r || (p->add >= 0 && g->vals[p->add].root == r)))
            return -1;
        if (p->out == o->in) {
            if (w >= 0)
                return -1;
            w = j;
        }
    }
    if (w < 0 || g->ops[w].kind != OP_CONV ||
        (g->ops[w].act.kind != ACT_RELU && g->ops[w].act.kind != ACT_LRELU))
        return -1;
    return w;
}

static float *gptr(const sr_generator *g, float *const *grads, int i)
{
    return grads ? grads[i] : g->params[i].grad;
}

int sr_generator_backward(const sr_generator *g, const sr_gen_acts *A, const sr_tensor *dy,
                          sr_tensor *dx, float *const *grads, sr_arena *a, sr_error *err)
{
    const sr_generator_config *cf = &g->cfg;
    const int n = A->n, h = A->h, w = A->w, s = cf->scale, nv = g->nval, no = g->nop;
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
    size_t total;
    size_t *off = arena_bytes(a, (size_t)nv * sizeof *off);
    float **G = arena_bytes(a, (size_t)nv * sizeof *G);
    if (!off || !G || grad_plan(g, n, h, w, dx != NULL, off, &total)) {
        sr_error_set(err, SR_ERR_NOMEM, "generator: training arena too small for backward");
        return -1;
    }
    float *area = sr_arena_alloc(a, total);
    if (!area && total) {
        sr_error_set(err, SR_ERR_NOMEM, "generator: training arena too small for backward");
        return -1;
    }
    /* a gradient buffer is zeroed when its lifetime starts (it may reuse
     * an earlier one's memory); a root's lifetime starts with the first op,
     * in reverse, that reads any of its slices */
    int *started = (int *)(void *)arena_bytes(a, (size_t)nv * sizeof(int));
    int *gated = (int *)(void *)arena_bytes(a, (size_t)no * sizeof(int)); /* act backward done */
    if (!started || !gated) {
        sr_error_set(err, SR_ERR_NOMEM, "generator: training arena too small for backward");
        return -1;
    }
    for (int v = 0; v < nv; v++) {
        G[v] = off[v] == (size_t)-1 ? NULL : area + off[v];
        started[v] = 0;
    }
    memset(gated, 0, (size_t)no * sizeof(int));
#define START(v)                                                                              \
    do {                                                                                      \
        const int r_ = g->vals[v].root;                                                       \
        if (G[r_] && !started[r_]) {                                                          \
            memset(G[r_], 0, (size_t)n * gen_val_floats(g, r_, h, w) * sizeof(float));        \
            started[r_] = 1;                                                                  \
        }                                                                                     \
    } while (0)
    /* The output gradient is copied over its whole root (no zeroing first)
     * when it is one; likewise an op's input gradient whose root nothing
     * has written yet (fresh) is stored by the op (a conv's dx, a shuffle's
     * or upsampling's backward: all write every element), not zeroed, made
     * in tmp and added. */
#define WHOLE_ROOT(v) (g->vals[v].c0 == 0 && g->vals[v].c == g->vals[g->vals[v].root].c)
    if (WHOLE_ROOT(g->output))
        started[g->vals[g->output].root] = 1;
    START(g->output);
    {
        float *d = img(g, G, g->output, 0, h, w).data;
        const size_t ny = sr_tensor_numel(dy);
        if (g->mean_shift) /* y = out / range + mean */
            for (size_t k = 0; k < ny; k++)
                d[k] = dy->data[k] / g->range;
        else
            memcpy(d, dy->data, ny * sizeof(float));
    }
    float *scr = A->scratch, *tmp = A->tmp;
    for (int i = no - 1; i >= 0; i--) {
        const gen_op *o = &g->ops[i];
        const int rin = g->vals[o->in].root;
        const int fresh = o->kind != OP_SCALE_ADD && G[rin] && !started[rin] &&
                          WHOLE_ROOT(o->in) && (o->add < 0 || g->vals[o->add].root != rin);
        if (fresh)
            started[rin] = 1;
        const int gw = fresh ? gate_op(g, i) : -1;
        if (gw >= 0)
            gated[gw] = 1;
        START(o->in);
        if (o->add >= 0)
            START(o->add);
        sr_conv2d_bwd cb; /* one conv backward over the batch: transforms once */
        if (o->kind == OP_CONV) {
            const gen_conv *cv = &g->convs[o->conv];
            if (g->train_bf16)
                sr_conv2d_backward_begin_bf16(&cb, &cv->c, gptr(g, grads, cv->param),
                                              gptr(g, grads, cv->param + 1), scr);
            else
                sr_conv2d_backward_begin(&cb, &cv->c, gptr(g, grads, cv->param),
                                         gptr(g, grads, cv->param + 1), scr, SR_CONV_AUTO);
        }
        for (int b = 0; b < n; b++) {
            sr_tensor dout = img(g, G, o->out, b, h, w);
            sr_tensor din = img(g, G, o->in, b, h, w);
            sr_tensor t = din; /* where a resampling op's gradient goes */
            if (!fresh)
                t.data = tmp; /* and is added from */
            const size_t nin = sr_tensor_numel(&din), nout = sr_tensor_numel(&dout);
            switch (o->kind) {
            case OP_CONV: {
                const sr_tensor out = img(g, A->base, o->out, b, h, w);
                if (gated[i])
                    ; /* done by the reader's dx store */
                else if (o->act.kind == ACT_RELU)
                    sr_relu_backward(out.data, dout.data, dout.data, nout);
                else if (o->act.kind == ACT_LRELU)
                    sr_lrelu_backward(out.data, dout.data, dout.data, nout, o->act.slope);
                else if (o->act.kind == ACT_PRELU) {
                    sr_tensor p = out;
                    p.data = A->pre[i] + (size_t)b * nout;
                    sr_tensor pv = prelu_view(p, o->act.nalpha), dv = prelu_view(dout, o->act.nalpha);
                    sr_prelu_backward(&pv, o->act.alpha, o->act.nalpha, &dv, &dv,
                                      gptr(g, grads, o->act.param));
                }
                if (o->add >= 0) {
                    float *da = img(g, G, o->add, b, h, w).data;
                    if (da)
                        sr_add(da, dout.data, da, nout);
                }
                const sr_tensor in = img(g, A->base, o->in, b, h, w);
                if (gw >= 0) {
                    const gen_op *wo = &g->ops[gw];
                    sr_conv2d_backward_gated(&cb, &in, &dout, &din,
                                             wo->act.kind == ACT_RELU ? SR_ACT_RELU : SR_ACT_LRELU,
                                             wo->act.slope, in.data);
                } else if (fresh || !din.data)
                    sr_conv2d_backward_add(&cb, &in, &dout, din.data ? &din : NULL);
                else
                    sr_conv2d_backward_acc(&cb, &in, &dout, &din, tmp);
                break;
            }
            case OP_SHUFFLE: sr_pixel_shuffle_backward(&dout, o->r, &t); break;
            case OP_UNSHUFFLE: sr_pixel_shuffle_forward(&dout, o->r, &t); break;
            case OP_UPNEAREST: sr_upsample_backward(&dout, o->r, SR_INTERP_NEAREST, &t); break;
            case OP_SCALE_ADD: {
                float *da = img(g, G, o->add, b, h, w).data;
                if (da)
                    sr_add(da, dout.data, da, nout);
                if (din.data)
                    sr_axpy(o->scale, dout.data, din.data, nin);
                break;
            }
            }
            if (o->kind != OP_SCALE_ADD && o->kind != OP_CONV && din.data && !fresh)
                sr_add(din.data, tmp, din.data, nin);
        }
        if (o->kind == OP_CONV)
            sr_conv2d_backward_end(&cb);
    }
#undef START
#undef WHOLE_ROOT
    if (dx) {
        const size_t nx = sr_tensor_numel(dx);
        if (G[0])
            for (size_t k = 0; k < nx; k++)
                dx->data[k] = g->mean_shift ? G[0][k] * g->range : G[0][k];
        else
            memset(dx->data, 0, nx * sizeof(float));
        if (g->skip) {
            sr_tensor gs = {n, cf->in_channels, h, w, tmp};
            sr_upsample_backward(dy, s, g->skip_mode, &gs);
            sr_add(dx->data, gs.data, dx->data, nx);
        }
    }
    return 0;
}

sr_precision sr_train_precision_resolve(sr_precision p)
{
    if (p != SR_PRECISION_AUTO)
        return p;
    return sr_bf16_faster() && sr_bf16_train_supported() ? SR_PRECISION_BF16 : SR_PRECISION_FP32;
}

int sr_generator_set_train_precision(sr_generator *g, sr_precision p, sr_error *err)
{
    p = sr_train_precision_resolve(p);
    if (p == SR_PRECISION_BF16 && !sr_bf16_train_supported()) {
        sr_error_set(err, SR_ERR_ARG,
                     "bf16 training needs a CPU with AMX-BF16 or AVX512-BF16 (Intel Sapphire "
                     "Rapids, AMD Zen 4 or later)");
        return -1;
    }
    g->train_bf16 = p == SR_PRECISION_BF16;
    return 0;
}
