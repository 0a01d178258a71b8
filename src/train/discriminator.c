/* discriminator.c: the 70x70 PatchGAN with optional spectral norm.
 *
 * Why spectral norm: it needs no batch statistics, so splitting a batch over
 * threads, or running D on real and fake halves separately, gives the same
 * result as one big batch; the network is the same at training and
 * evaluation time and accepts any crop size; and it bounds D's Lipschitz
 * constant, which keeps the relativistic GAN stable without tuning (SNGAN,
 * Real-ESRGAN). Batch norm would couple the items of a batch across
 * threads; instance norm would erase the contrast statistics the
 * discriminator needs on small 4x4 patch maps.
 *
 * Spectral norm follows torch.nn.utils.spectral_norm (dim 0, eps 1e-12):
 * W is seen as a [cout, cin*k*k] matrix, one power iteration
 * v = normalize(W^T u), u = normalize(W v) per training step, sigma = u.W v,
 * and the forward uses W / sigma with u, v treated as constants in the
 * gradient: dL/dW = G / sigma - (sum G*W) / sigma^2 * u v^T. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "srgan/train.h"

#define K 4

struct sr_disc {
    sr_disc_config cfg;
    sr_param params[2 * SR_DISC_LAYERS];
    sr_conv2d conv[SR_DISC_LAYERS];
    float *data, *grad;                 /* all params, all grads           */
    float *eff[SR_DISC_LAYERS];         /* W / sigma (spectral)            */
    float *u[SR_DISC_LAYERS], *v[SR_DISC_LAYERS];
    float sigma[SR_DISC_LAYERS];
    size_t goff[SR_DISC_LAYERS];        /* weight offset in a flat gw      */
    size_t gtotal;
};

static void layer_dims(const sr_disc_config *c, int i, int *cin, int *cout, int *stride)
{
    static const int mult[SR_DISC_LAYERS + 1] = {0, 1, 2, 4, 8, 0};
    *cin = i == 0 ? c->in_channels : c->nf * mult[i];
    *cout = i == SR_DISC_LAYERS - 1 ? 1 : c->nf * mult[i + 1];
    *stride = i < 3 ? 2 : 1;
}

static void normalize(float *x, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++) s += (double)x[i] * x[i];
    double nrm = sqrt(s);
    if (nrm < 1e-12) nrm = 1e-12;
    for (int i = 0; i < n; i++) x[i] = (float)(x[i] / nrm);
}

sr_disc *sr_disc_new(const sr_disc_config *cfg, uint64_t seed, sr_error *err)
{
    if (!cfg || (cfg->in_channels != 1 && cfg->in_channels != 3) || cfg->nf < 1 ||
        cfg->nf > 1024) {
        sr_error_set(err, SR_ERR_ARG, "discriminator: invalid configuration");
        return NULL;
    }
    sr_disc *d = calloc(1, sizeof *d);
    if (!d) goto nomem;
    d->cfg = *cfg;
    size_t total = 0;
    for (int i = 0; i < SR_DISC_LAYERS; i++) {
        int cin, cout, s;
        layer_dims(cfg, i, &cin, &cout, &s);
        d->goff[i] = total;
        total += (size_t)cout * cin * K * K + (size_t)cout;
    }
    d->gtotal = total;
    d->data = sr_alloc_floats(total);
    d->grad = sr_alloc_floats(total);
    if (!d->data || !d->grad) goto nomem;
    sr_rng rng;
    for (int i = 0; i < SR_DISC_LAYERS; i++) {
        int cin, cout, s;
        layer_dims(cfg, i, &cin, &cout, &s);
        size_t nw = (size_t)cout * cin * K * K;
        sr_param *pw = &d->params[2 * i], *pb = &d->params[2 * i + 1];
        snprintf(pw->name, sizeof pw->name, "conv%d.weight", i);
        snprintf(pb->name, sizeof pb->name, "conv%d.bias", i);
        pw->ndim = 4;
        pw->shape[0] = cout, pw->shape[1] = cin, pw->shape[2] = K, pw->shape[3] = K;
        pw->numel = nw;
        pw->data = d->data + d->goff[i];
        pw->grad = d->grad + d->goff[i];
        pb->ndim = 1;
        pb->shape[0] = cout;
        pb->numel = (size_t)cout;
        pb->data = pw->data + nw;
        pb->grad = pw->grad + nw;
        /* PyTorch's default conv init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) */
        sr_rng_seed(&rng, seed, 1000 + (uint64_t)i);
        double bound = 1.0 / sqrt((double)cin * K * K);
        for (size_t k = 0; k < nw; k++) pw->data[k] = (float)((2 * sr_rng_uniform(&rng) - 1) * bound);
        for (int k = 0; k < cout; k++) pb->data[k] = (float)((2 * sr_rng_uniform(&rng) - 1) * bound);
        d->conv[i] = (sr_conv2d){.cin = cin, .cout = cout, .kh = K, .kw = K, .stride = s,
                                 .pad = 1, .weight = pw->data, .bias = pb->data,
                                 .bf16_gemm = cfg->bf16 != 0};
        if (cfg->spectral) {
            d->eff[i] = sr_alloc_floats(nw);
            d->u[i] = sr_alloc_floats((size_t)cout);
            d->v[i] = sr_alloc_floats((size_t)cin * K * K);
            if (!d->eff[i] || !d->u[i] || !d->v[i]) goto nomem;
            for (int k = 0; k < cout; k++) d->u[i][k] = (float)sr_rng_normal(&rng);
            for (int k = 0; k < cin * K * K; k++) d->v[i][k] = (float)sr_rng_normal(&rng);
            normalize(d->u[i], cout);
            normalize(d->v[i], cin * K * K);
            d->conv[i].weight = d->eff[i];
        }
    }
    sr_disc_prepare(d, 0);
    return d;
nomem:
    sr_disc_free(d);
    sr_error_set(err, SR_ERR_NOMEM, "discriminator: out of memory");
    return NULL;
}

void sr_disc_free(sr_disc *d)
{
    if (!d) return;
    for (int i = 0; i < SR_DISC_LAYERS; i++) {
        sr_conv2d_release(&d->conv[i]);
        sr_free_floats(d->eff[i]);
        sr_free_floats(d->u[i]);
        sr_free_floats(d->v[i]);
    }
    sr_free_floats(d->data);
    sr_free_floats(d->grad);
    free(d);
}

const sr_disc_config *sr_disc_get_config(const sr_disc *d) { return &d->cfg; }
int sr_disc_param_count(const sr_disc *d) { (void)d; return 2 * SR_DISC_LAYERS; }
sr_param *sr_disc_param(sr_disc *d, int i)
{
    return i >= 0 && i < 2 * SR_DISC_LAYERS ? &d->params[i] : NULL;
}

float *sr_disc_sn_vec(sr_disc *d, int layer, int which, int *len)
{
    if (!d->cfg.spectral || layer < 0 || layer >= SR_DISC_LAYERS) return NULL;
    if (len) *len = which ? d->conv[layer].cin * K * K : d->conv[layer].cout;
    return which ? d->v[layer] : d->u[layer];
}

/* The bf16 GEMMs' packed weights (cfg.bf16), made again from the weights
 * the forward uses; on failure the convs pack per call. */
static void pack_bf16(sr_disc *d)
{
    if (d->cfg.bf16)
        for (int i = 0; i < SR_DISC_LAYERS; i++)
            (void)sr_conv2d_prepare_gemm_bf16(&d->conv[i]);
}

void sr_disc_prepare(sr_disc *d, int power_iters)
{
    if (!d->cfg.spectral) {
        pack_bf16(d);
        return;
    }
    for (int i = 0; i < SR_DISC_LAYERS; i++) {
        const float *w = d->params[2 * i].data;
        int rows = d->conv[i].cout, cols = d->conv[i].cin * K * K;
        float *u = d->u[i], *v = d->v[i];
        for (int it = 0; it < power_iters; it++) {
            for (int c = 0; c < cols; c++) v[c] = 0;
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < cols; c++) v[c] += w[(size_t)r * cols + c] * u[r];
            normalize(v, cols);
            for (int r = 0; r < rows; r++) {
                double s = 0;
                for (int c = 0; c < cols; c++) s += (double)w[(size_t)r * cols + c] * v[c];
                u[r] = (float)s;
            }
            normalize(u, rows);
        }
        double sigma = 0;
        for (int r = 0; r < rows; r++) {
            double s = 0;
            for (int c = 0; c < cols; c++) s += (double)w[(size_t)r * cols + c] * v[c];
            sigma += u[r] * s;
        }
        d->sigma[i] = (float)sigma;
        float inv = (float)(1.0 / sigma);
        for (size_t k = 0; k < (size_t)rows * cols; k++) d->eff[i][k] = w[k] * inv;
    }
    pack_bf16(d);
}

void sr_disc_out_size(const sr_disc *d, int h, int w, int *oh, int *ow)
{
    for (int i = 0; i < SR_DISC_LAYERS; i++) {
        h = sr_conv_out_size(h, K, d->conv[i].stride, 1);
        w = sr_conv_out_size(w, K, d->conv[i].stride, 1);
    }
    *oh = h, *ow = w;
}

size_t sr_disc_grad_floats(const sr_disc *d) { return d->gtotal; }

static int conv_fwd(const sr_conv2d *c, sr_arena *a, const sr_tensor *x, sr_tensor *y,
                    sr_error *err)
{
    *y = sr_tensor_arena(a, x->n, c->cout, sr_conv_out_size(x->h, c->kh, c->stride, c->pad),
                         sr_conv_out_size(x->w, c->kw, c->stride, c->pad));
    float *scratch = sr_arena_alloc(a, sr_conv2d_scratch_floats(c, x) + 1);
    if (!y->data || !scratch) {
        sr_error_set(err, SR_ERR_NOMEM, "discriminator: arena full");
        return -1;
    }
    sr_conv2d_forward(c, x, y, scratch);
    return 0;
}

int sr_disc_forward(const sr_disc *d, sr_arena *a, const sr_tensor *x, sr_disc_acts *acts,
                    sr_tensor *logits, sr_error *err)
{
    if (x->c != d->cfg.in_channels || x->h < 32 || x->w < 32) {
        sr_error_set(err, SR_ERR_ARG,
                     "discriminator: input must have %d channels and be at least 32x32 "
                     "(got %dx%dx%d)", d->cfg.in_channels, x->c, x->w, x->h);
        return -1;
    }
    acts->in = *x;
    sr_tensor cur = *x;
    for (int i = 0; i < SR_DISC_LAYERS; i++) {
        if (conv_fwd(&d->conv[i], a, &cur, &acts->pre[i], err)) return -1;
        if (i == SR_DISC_LAYERS - 1) break;
        sr_tensor post = sr_tensor_arena(a, x->n, acts->pre[i].c, acts->pre[i].h, acts->pre[i].w);
        if (!post.data) {
            sr_error_set(err, SR_ERR_NOMEM, "discriminator: arena full");
            return -1;
        }
        sr_lrelu_forward(acts->pre[i].data, post.data, sr_tensor_numel(&post), 0.2f);
        cur = post;
    }
    *logits = acts->pre[SR_DISC_LAYERS - 1];
    return 0;
}

int sr_disc_backward(const sr_disc *d, sr_arena *a, const sr_disc_acts *acts,
                     const sr_tensor *dlogits, sr_tensor *dx, float *gw, sr_error *err)
{
    sr_tensor dy = *dlogits;
    for (int i = SR_DISC_LAYERS - 1; i >= 0; i--) {
        const sr_conv2d *c = &d->conv[i];
        sr_tensor xin = acts->in;
        if (i > 0) {
            const sr_tensor *p = &acts->pre[i - 1];
            xin = sr_tensor_arena(a, p->n, p->c, p->h, p->w);
            if (!xin.data) goto full;
            sr_lrelu_forward(p->data, xin.data, sr_tensor_numel(p), 0.2f);
        }
        sr_tensor dxi = {0}, *dxp = NULL;
        if (i > 0) {
            dxi = sr_tensor_arena(a, xin.n, xin.c, xin.h, xin.w);
            if (!dxi.data) goto full;
            dxp = &dxi;
        } else if (dx) {
            dxp = dx;
        }
        float *scratch = sr_arena_alloc(a, sr_conv2d_scratch_floats(c, &xin) + 1);
        if (!scratch) goto full;
        float *dw = gw ? gw + d->goff[i] : NULL;
        float *db = gw ? dw + (size_t)c->cout * c->cin * K * K : NULL;
        if (!dxp && !dw) break;
        sr_conv2d_backward(c, &xin, &dy, dxp, dw, db, scratch);
        if (i > 0) {
            sr_lrelu_backward(acts->pre[i - 1].data, dxi.data, dxi.data, sr_tensor_numel(&dxi),
                              0.2f);
            dy = dxi;
        }
    }
    return 0;
full:
    sr_error_set(err, SR_ERR_NOMEM, "discriminator: arena full");
    return -1;
}

void sr_disc_finish_grad(sr_disc *d, const float *gw)
{
    for (int i = 0; i < SR_DISC_LAYERS; i++) {
        sr_param *pw = &d->params[2 * i], *pb = &d->params[2 * i + 1];
        const float *g = gw + d->goff[i], *gb = g + pw->numel;
        for (size_t k = 0; k < pb->numel; k++) pb->grad[k] += gb[k];
        if (!d->cfg.spectral) {
            for (size_t k = 0; k < pw->numel; k++) pw->grad[k] += g[k];
            continue;
        }
        int rows = d->conv[i].cout, cols = d->conv[i].cin * K * K;
        double s = 0;
        for (size_t k = 0; k < pw->numel; k++) s += (double)g[k] * pw->data[k];
        double sig = d->sigma[i];
        float a = (float)(1.0 / sig), b = (float)(s / (sig * sig));
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) {
                size_t k = (size_t)r * cols + c;
                pw->grad[k] += a * g[k] - b * d->u[i][r] * d->v[i][c];
            }
    }
}

void sr_disc_zero_grad(sr_disc *d) { memset(d->grad, 0, d->gtotal * sizeof(float)); }
