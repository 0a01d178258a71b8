/* test_train_grad.c: finite-difference checks (central differences) of every
 * training loss and of the discriminator and VGG backward passes. The
 * criterion is the norm-wise relative error ||fd - analytic|| / ||analytic||
 * over the checked entries, < 1e-3 (float networks, kept small and well
 * conditioned: a handful of channels, smooth random inputs). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "srgan/train.h"
#include "testlib.h"

typedef double (*loss_fn)(void *ctx);

/* Check analytic gradient g of f w.r.t. x[0..n) on up to `samples` entries. */
static double fd_error(loss_fn f, void *ctx, float *x, const float *g, size_t n, int samples,
                       double eps)
{
    double num = 0, den = 0;
    size_t stride = n > (size_t)samples ? n / samples : 1;
    for (size_t i = 0; i < n; i += stride) {
        float keep = x[i];
        x[i] = (float)(keep + eps);
        double up = f(ctx);
        x[i] = (float)(keep - eps);
        double dn = f(ctx);
        x[i] = keep;
        double h = (double)(float)(keep + eps) - (double)(float)(keep - eps);
        double fd = (up - dn) / h;
        num += (fd - g[i]) * (fd - g[i]);
        den += (double)g[i] * g[i];
    }
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

static void fill(float *x, size_t n, uint64_t seed, double lo, double hi)
{
    sr_rng r;
    sr_rng_seed(&r, seed, 0);
    for (size_t i = 0; i < n; i++) x[i] = (float)(lo + (hi - lo) * sr_rng_uniform(&r));
}

/* ---- double-precision reference forwards (plain loops) -----------------
 * A float network's output moves by about its rounding noise when one
 * entry moves by a small eps, and a large eps crosses LeakyReLU/ReLU kinks;
 * so the numeric gradients of the networks come from these double
 * references (eps 1e-6) and are compared with the float backward passes. */

static void conv_d(const double *x, int n, int ci, int h, int w, const double *W, const double *b,
                   int co, int k, int st, int pad, double *y, int oh, int ow)
{
    for (int b0 = 0; b0 < n; b0++)
        for (int o = 0; o < co; o++)
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++) {
                    double s = b ? b[o] : 0;
                    for (int c = 0; c < ci; c++)
                        for (int ky = 0; ky < k; ky++)
                            for (int kx = 0; kx < k; kx++) {
                                int iy = oy * st - pad + ky, ix = ox * st - pad + kx;
                                if (iy < 0 || ix < 0 || iy >= h || ix >= w) continue;
                                s += W[((size_t)(o * ci + c) * k + ky) * k + kx] *
                                     x[((size_t)(b0 * ci + c) * h + iy) * w + ix];
                            }
                    y[((size_t)(b0 * co + o) * oh + oy) * ow + ox] = s;
                }
}

static double *to_d(const float *x, size_t n)
{
    double *d = malloc(n * sizeof(double));
    for (size_t i = 0; i < n; i++) d[i] = x[i];
    return d;
}

/* Numeric gradient check of f over sampled entries of a double array. */
typedef double (*dfn)(void *ctx);
static double fd_error_d(dfn f, void *ctx, double *x, const float *g, size_t n, int samples)
{
    double num = 0, den = 0;
    size_t stride = n > (size_t)samples ? n / samples : 1;
    for (size_t i = 0; i < n; i += stride) {
        double keep = x[i], eps = 1e-6 * fmax(1.0, fabs(keep));
        x[i] = keep + eps;
        double up = f(ctx);
        x[i] = keep - eps;
        double dn = f(ctx);
        x[i] = keep;
        double fd = (up - dn) / (2 * eps);
        num += (fd - g[i]) * (fd - g[i]);
        den += fd * fd;
    }
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

/* ---- pixel and GAN losses ------------------------------------------------ */

enum { N = 64 };
typedef struct lctx {
    float a[N], b[N];
    int kind; /* 0 l1, 1 mse, 2 bce0, 3 bce1, 4.. gan */
    sr_gan_type gt;
} lctx;

static double loss_eval(void *p)
{
    lctx *c = p;
    switch (c->kind) {
    case 0: return 0.7 * sr_loss_l1(c->a, c->b, N, NULL, 1);
    case 1: return 0.7 * sr_loss_mse(c->a, c->b, N, NULL, 1);
    case 2: return 0.7 * sr_loss_bce_logits(c->a, N, 0, NULL, 1);
    case 3: return 0.7 * sr_loss_bce_logits(c->a, N, 1, NULL, 1);
    case 4: return 0.7 * sr_gan_loss_g(c->gt, c->b, N, c->a, N, NULL, NULL, 1);
    default: return 0.7 * sr_gan_loss_d(c->gt, c->b, N, c->a, N, NULL, NULL, 1);
    }
}

static void check_loss(int kind, sr_gan_type gt, const char *what)
{
    lctx c;
    c.kind = kind, c.gt = gt;
    fill(c.a, N, 1 + kind, -2, 2);
    fill(c.b, N, 100 + kind, -2, 2);
    float ga[N], gb[N];
    double v;
    switch (kind) {
    case 0: v = sr_loss_l1(c.a, c.b, N, ga, 0.7); break;
    case 1: v = sr_loss_mse(c.a, c.b, N, ga, 0.7); break;
    case 2: v = sr_loss_bce_logits(c.a, N, 0, ga, 0.7); break;
    case 3: v = sr_loss_bce_logits(c.a, N, 1, ga, 0.7); break;
    case 4: v = sr_gan_loss_g(gt, c.b, N, c.a, N, gb, ga, 0.7); break;
    default: v = sr_gan_loss_d(gt, c.b, N, c.a, N, gb, ga, 0.7); break;
    }
    CHECK_NEAR(0.7 * v, loss_eval(&c), 1e-9);
    double e = fd_error(loss_eval, &c, c.a, ga, N, N, 1e-3);
    CHECK_MSG(e < 1e-3, "%s: d/dfake relative error %g", what, e);
    if (kind >= 4) {
        double e2 = fd_error(loss_eval, &c, c.b, gb, N, N, 1e-3);
        /* vanilla G does not depend on real logits: gradient must be zero */
        if (kind == 4 && gt == SR_GAN_VANILLA) {
            double s = 0;
            for (int i = 0; i < N; i++) s += fabs(gb[i]);
            CHECK(s == 0);
        } else {
            CHECK_MSG(e2 < 1e-3, "%s: d/dreal relative error %g", what, e2);
        }
    }
}

static void test_pixel_losses(void)
{
    check_loss(0, 0, "l1");
    check_loss(1, 0, "mse");
    check_loss(2, 0, "bce target 0");
    check_loss(3, 0, "bce target 1");
}

static void test_gan_losses(void)
{
    check_loss(4, SR_GAN_RAGAN, "ragan G");
    check_loss(5, SR_GAN_RAGAN, "ragan D");
    check_loss(4, SR_GAN_VANILLA, "vanilla G");
    check_loss(5, SR_GAN_VANILLA, "vanilla D");
}

static void test_loss_values(void)
{
    /* analytic values: BCE(0, y) = log 2; RaGAN with all logits equal: log 2 */
    float z[4] = {0, 0, 0, 0}, p[2] = {1, 3}, t[2] = {0, 0};
    CHECK_NEAR(sr_loss_bce_logits(z, 4, 1, NULL, 1), log(2.0), 1e-12);
    CHECK_NEAR(sr_gan_loss_g(SR_GAN_RAGAN, z, 4, z, 4, NULL, NULL, 1), log(2.0), 1e-12);
    CHECK_NEAR(sr_gan_loss_d(SR_GAN_RAGAN, z, 4, z, 4, NULL, NULL, 1), log(2.0), 1e-12);
    CHECK_NEAR(sr_gan_loss_d(SR_GAN_VANILLA, z, 4, z, 4, NULL, NULL, 1), 2 * log(2.0), 1e-12);
    CHECK_NEAR(sr_loss_l1(p, t, 2, NULL, 1), 2.0, 1e-12);
    CHECK_NEAR(sr_loss_mse(p, t, 2, NULL, 1), 5.0, 1e-12);
}

/* ---- discriminator ------------------------------------------------------- */

typedef struct dref {
    int spectral, n, h, w;
    const sr_disc_config *cfg;
    double *x;
    double *W[SR_DISC_LAYERS], *B[SR_DISC_LAYERS];
    const float *u[SR_DISC_LAYERS], *v[SR_DISC_LAYERS];
    float r[64];
} dref;

static double disc_ref(void *p)
{
    dref *c = p;
    int ci = c->cfg->in_channels, h = c->h, w = c->w, nf = c->cfg->nf;
    int couts[SR_DISC_LAYERS] = {nf, 2 * nf, 4 * nf, 8 * nf, 1};
    double *x = c->x, *own = NULL;
    for (int l = 0; l < SR_DISC_LAYERS; l++) {
        int st = l < 3 ? 2 : 1, co = couts[l];
        int oh = (h + 2 - 4) / st + 1, ow = (w + 2 - 4) / st + 1;
        size_t nw = (size_t)co * ci * 16;
        double *Wl = malloc(nw * sizeof(double));
        double sigma = 1;
        if (c->spectral) { /* sigma = u . W v with u, v fixed */
            sigma = 0;
            for (int r = 0; r < co; r++) {
                double t = 0;
                for (int k = 0; k < ci * 16; k++) t += c->W[l][(size_t)r * ci * 16 + k] * c->v[l][k];
                sigma += c->u[l][r] * t;
            }
        }
        for (size_t k = 0; k < nw; k++) Wl[k] = c->W[l][k] / sigma;
        double *y = malloc((size_t)c->n * co * oh * ow * sizeof(double));
        conv_d(x, c->n, ci, h, w, Wl, c->B[l], co, 4, st, 1, y, oh, ow);
        free(Wl);
        if (l < SR_DISC_LAYERS - 1)
            for (size_t k = 0; k < (size_t)c->n * co * oh * ow; k++) y[k] = y[k] > 0 ? y[k] : 0.2 * y[k];
        free(own);
        own = x = y;
        ci = co, h = oh, w = ow;
    }
    double s = 0;
    for (size_t k = 0; k < (size_t)c->n * h * w; k++) s += (double)c->r[k] * x[k];
    free(own);
    return s;
}

static void check_disc(int spectral)
{
    sr_disc_config cfg = {3, 2, spectral, 0};
    sr_error err = {0};
    sr_disc *d = sr_disc_new(&cfg, 5, &err);
    CHECK(d != NULL);
    if (!d) return;
    sr_arena *a = sr_arena_new(16 << 20);
    sr_tensor x = sr_tensor_alloc(2, 3, 32, 40);
    fill(x.data, sr_tensor_numel(&x), 9, 0, 1);
    int oh, ow;
    sr_disc_out_size(d, 32, 40, &oh, &ow);
    CHECK(oh == 2 && ow == 3); /* 32 -> 16 -> 8 -> 4 -> 3 -> 2; 40 -> .. -> 3 */
    dref c;
    memset(&c, 0, sizeof c);
    fill(c.r, 64, 11, -1, 1);
    if (spectral) sr_disc_prepare(d, 3); /* a few power iterations first */
    sr_disc_prepare(d, 0);
    sr_disc_acts acts;
    sr_tensor y;
    CHECK(sr_disc_forward(d, a, &x, &acts, &y, &err) == 0);
    sr_tensor dy = sr_tensor_arena(a, y.n, y.c, y.h, y.w);
    memcpy(dy.data, c.r, sr_tensor_numel(&dy) * sizeof(float));
    sr_tensor dx = sr_tensor_alloc(2, 3, 32, 40);
    float *gw = sr_alloc_floats(sr_disc_grad_floats(d));
    CHECK(sr_disc_backward(d, a, &acts, &dy, &dx, gw, &err) == 0);
    sr_disc_zero_grad(d);
    sr_disc_finish_grad(d, gw);
    c.spectral = spectral, c.n = 2, c.h = 32, c.w = 40, c.cfg = &cfg;
    c.x = to_d(x.data, sr_tensor_numel(&x));
    for (int l = 0; l < SR_DISC_LAYERS; l++) {
        sr_param *pw = sr_disc_param(d, 2 * l), *pb = sr_disc_param(d, 2 * l + 1);
        c.W[l] = to_d(pw->data, pw->numel);
        c.B[l] = to_d(pb->data, pb->numel);
        c.u[l] = sr_disc_sn_vec(d, l, 0, NULL);
        c.v[l] = sr_disc_sn_vec(d, l, 1, NULL);
    }
    double s = 0;
    for (size_t i = 0; i < sr_tensor_numel(&y); i++) s += (double)c.r[i] * y.data[i];
    CHECK_NEAR(s, disc_ref(&c), 1e-4 * fmax(1, fabs(s)));
    double e = fd_error_d(disc_ref, &c, c.x, dx.data, sr_tensor_numel(&x), 60);
    CHECK_MSG(e < 1e-3, "disc (spectral %d) dx relative error %g", spectral, e);
    for (int l = 0; l < SR_DISC_LAYERS; l++) {
        sr_param *pw = sr_disc_param(d, 2 * l), *pb = sr_disc_param(d, 2 * l + 1);
        double ew = fd_error_d(disc_ref, &c, c.W[l], pw->grad, pw->numel, 40);
        double eb = fd_error_d(disc_ref, &c, c.B[l], pb->grad, pb->numel, 40);
        CHECK_MSG(ew < 1e-3, "disc (spectral %d) %s relative error %g", spectral, pw->name, ew);
        CHECK_MSG(eb < 1e-3, "disc (spectral %d) %s relative error %g", spectral, pb->name, eb);
    }
    if (spectral) {
        /* after many power iterations sigma is the largest singular value of
         * the [cout, cin*16] matrix: u is a unit vector and u.W v = ||W v|| */
        sr_disc_prepare(d, 100);
        int len;
        float *u = sr_disc_sn_vec(d, 2, 0, &len);
        double nu = 0;
        for (int k = 0; k < len; k++) nu += (double)u[k] * u[k];
        CHECK_NEAR(nu, 1.0, 1e-5);
    }
    for (int l = 0; l < SR_DISC_LAYERS; l++) free(c.W[l]), free(c.B[l]);
    free(c.x);
    sr_free_floats(gw);
    sr_tensor_free(&dx);
    sr_tensor_free(&x);
    sr_arena_free(a);
    sr_disc_free(d);
}

static void test_disc_spectral(void) { check_disc(1); }
static void test_disc_plain(void) { check_disc(0); }

static void test_disc_small_input_refused(void)
{
    sr_disc_config cfg = {3, 2, 1, 0};
    sr_disc *d = sr_disc_new(&cfg, 1, NULL);
    sr_arena *a = sr_arena_new(1 << 20);
    sr_tensor x = sr_tensor_alloc(1, 3, 16, 16), y;
    sr_disc_acts acts;
    sr_error err = {0};
    CHECK(sr_disc_forward(d, a, &x, &acts, &y, &err) == -1);
    CHECK(strstr(err.msg, "32x32") != NULL);
    sr_tensor_free(&x);
    sr_arena_free(a);
    sr_disc_free(d);
}

/* ---- VGG perceptual loss ----------------------------------------------------- */

/* reference for the cfg "4,4,M,6,6": conv1_1 conv1_2 pool conv2_1 conv2_2 */
typedef struct vref {
    sr_vgg *v;
    sr_percep p;
    int ch, h, w;
    double *sr, *hr;
    double *W[4], *B[4];
} vref;

static int feats_d(const vref *c, const double *img, double *out[SR_VGG_MAX_FEATS], size_t len[SR_VGG_MAX_FEATS])
{
    static const float cm[3] = {103.939f, 116.779f, 123.68f};
    static const float tm[3] = {0.485f, 0.456f, 0.406f}, ts[3] = {0.229f, 0.224f, 0.225f};
    int h = c->h, w = c->w, ci = 3;
    size_t hw = (size_t)h * w;
    double *x = malloc(3 * hw * sizeof(double));
    for (int k = 0; k < 3; k++)
        for (size_t i = 0; i < hw; i++) {
            int caffe = sr_vgg_convention(c->v) == SR_VGG_CAFFE;
            int src = c->ch == 1 ? 0 : caffe ? 2 - k : k;
            double val = img[src * hw + i];
            x[k * hw + i] = caffe ? val * 255.0 - cm[k] : (val - tm[k]) / ts[k];
        }
    int layer_conv[5] = {0, 1, -1, 2, 3};
    for (int l = 0; l < 5; l++) {
        int ci_ = layer_conv[l];
        if (ci_ < 0) {
            double *y = malloc((size_t)ci * (h / 2) * (w / 2) * sizeof(double));
            for (int k = 0; k < ci; k++)
                for (int yy = 0; yy < h / 2; yy++)
                    for (int xx = 0; xx < w / 2; xx++) {
                        const double *q = x + ((size_t)k * h + 2 * yy) * w + 2 * xx;
                        y[((size_t)k * (h / 2) + yy) * (w / 2) + xx] =
                            fmax(fmax(q[0], q[1]), fmax(q[w], q[w + 1]));
                    }
            free(x);
            x = y, h /= 2, w /= 2;
            continue;
        }
        sr_conv2d *cv = sr_vgg_conv(c->v, ci_);
        double *y = malloc((size_t)cv->cout * h * w * sizeof(double));
        conv_d(x, 1, ci, h, w, c->W[ci_], c->B[ci_], cv->cout, 3, 1, 1, y, h, w);
        free(x);
        x = y, ci = cv->cout;
        size_t n = (size_t)ci * h * w;
        for (int f = 0; f < c->p.n; f++)
            if (c->p.feat[f] == 2 * ci_) out[f] = malloc(n * sizeof(double)), memcpy(out[f], x, n * sizeof(double)), len[f] = n;
        for (size_t i = 0; i < n; i++) x[i] = x[i] > 0 ? x[i] : 0;
        for (int f = 0; f < c->p.n; f++)
            if (c->p.feat[f] == 2 * ci_ + 1) out[f] = malloc(n * sizeof(double)), memcpy(out[f], x, n * sizeof(double)), len[f] = n;
    }
    free(x);
    return 0;
}

static double vgg_ref(void *p)
{
    vref *c = p;
    double *fs[SR_VGG_MAX_FEATS], *fh[SR_VGG_MAX_FEATS];
    size_t len[SR_VGG_MAX_FEATS];
    feats_d(c, c->sr, fs, len);
    feats_d(c, c->hr, fh, len);
    double total = 0;
    for (int f = 0; f < c->p.n; f++) {
        double s = 0;
        for (size_t i = 0; i < len[f]; i++) {
            double d = fs[f][i] - fh[f][i];
            s += c->p.l2 ? d * d : fabs(d);
        }
        total += c->p.weight[f] * s / len[f];
        free(fs[f]);
        free(fh[f]);
    }
    return total;
}

static void check_vgg(sr_vgg_input conv, const char *layers, int l2, int channels)
{
    sr_error err = {0};
    vref c;
    memset(&c, 0, sizeof c);
    c.v = sr_vgg_new_random("4,4,M,6,6", conv, 3, &err);
    CHECK(c.v != NULL);
    CHECK(sr_percep_parse(c.v, layers, &c.p, &err) == 0);
    c.p.l2 = l2;
    c.ch = channels, c.h = 12, c.w = 10;
    sr_tensor sr = sr_tensor_alloc(1, channels, 12, 10), hr = sr_tensor_alloc(1, channels, 12, 10);
    fill(sr.data, sr_tensor_numel(&sr), 21, 0, 1);
    fill(hr.data, sr_tensor_numel(&hr), 22, 0, 1);
    sr_arena *a = sr_arena_new(sr_percep_arena_bytes(c.v, &c.p, 1, 12, 10));
    sr_tensor g = sr_tensor_alloc(1, channels, 12, 10);
    double l = 0;
    CHECK(sr_percep_loss(c.v, &c.p, a, &sr, &hr, &l, &g, 1.0, &err) == 0);
    for (int i = 0; i < 4; i++) {
        sr_conv2d *cv = sr_vgg_conv(c.v, i);
        c.W[i] = to_d(cv->weight, (size_t)cv->cout * cv->cin * 9);
        c.B[i] = to_d(cv->bias, (size_t)cv->cout);
    }
    c.sr = to_d(sr.data, sr_tensor_numel(&sr));
    c.hr = to_d(hr.data, sr_tensor_numel(&hr));
    double ref = vgg_ref(&c);
    CHECK_NEAR(l, ref, 1e-4 * fabs(ref));
    double e = fd_error_d(vgg_ref, &c, c.sr, g.data, sr_tensor_numel(&sr), 120);
    CHECK_MSG(e < 1e-3, "vgg %s %s l2 %d: relative error %g", conv ? "torchvision" : "caffe",
              layers, l2, e);
    for (int i = 0; i < 4; i++) free(c.W[i]), free(c.B[i]);
    free(c.sr);
    free(c.hr);
    sr_tensor_free(&g);
    sr_tensor_free(&sr);
    sr_tensor_free(&hr);
    sr_arena_free(a);
    sr_vgg_free(c.v);
}

static void test_vgg_caffe(void) { check_vgg(SR_VGG_CAFFE, "conv2_2", 0, 3); }
static void test_vgg_torchvision_multi(void)
{
    check_vgg(SR_VGG_TORCHVISION, "conv1_2:0.5,relu2_1:1,conv2_2:2", 0, 3);
}
static void test_vgg_mse_gray(void) { check_vgg(SR_VGG_TORCHVISION, "relu2_2", 1, 1); }

static void test_vgg_names(void)
{
    sr_vgg *v = sr_vgg_new_random("4,4,M,6,6", SR_VGG_CAFFE, 1, NULL);
    sr_percep p;
    sr_error err = {0};
    CHECK(sr_vgg_feature_index(v, "conv1_1") == 0);
    CHECK(sr_vgg_feature_index(v, "relu1_1") == 1);
    CHECK(sr_vgg_feature_index(v, "conv2_2") == 6);
    CHECK(sr_vgg_feature_index(v, "conv3_1") == -1);
    CHECK(sr_percep_parse(v, "conv5_4", &p, &err) == -1);
    CHECK(strstr(err.msg, "conv5_4") != NULL);
    sr_vgg_free(v);
}

/* VGG in bf16 training (sr_vgg_prepare_precision with bf16: AMX, or
 * vdpbf16ps Winograd without it): the loss and its gradient stay within
 * bf16's bounds of fp32's, and differ from them (bf16 really ran); on a CPU
 * with neither, the same bits. Measured on the Zen 4 VM (Winograd): loss
 * 8.2e-4 relative, gradient 0.24 relative L2 (random weights and inputs:
 * ReLU masks flip where bf16 moves a value across zero, and F(4x4, 3x3)
 * amplifies bf16's rounding; see test_train_bf16.c); bounds margin 2. Maps of
 * 40 x 36 and 20 x 18 (>= 16: the prepared, Winograd convs), >= 8 channels
 * past conv1_1 (the 3-channel conv stays fp32). */
static void test_vgg_bf16(void)
{
    sr_error err = {0};
    sr_vgg *v = sr_vgg_new_random("16,16,M,32,32", SR_VGG_CAFFE, 5, &err);
    CHECK(v != NULL);
    sr_percep p;
    CHECK(sr_percep_parse(v, "relu2_2", &p, &err) == 0);
    const int h = 40, w = 36;
    sr_tensor sr = sr_tensor_alloc(2, 3, h, w), hr = sr_tensor_alloc(2, 3, h, w);
    fill(sr.data, sr_tensor_numel(&sr), 31, 0, 1);
    fill(hr.data, sr_tensor_numel(&hr), 32, 0, 1);
    sr_tensor g[2] = {sr_tensor_alloc(2, 3, h, w), sr_tensor_alloc(2, 3, h, w)};
    double l[2] = {0, 0};
    for (int bf = 0; bf < 2; bf++) {
        CHECK(sr_vgg_prepare_precision(v, h, w, bf) == 0);
        sr_arena *a = sr_arena_new(sr_percep_arena_bytes(v, &p, 2, h, w));
        CHECK(sr_percep_loss(v, &p, a, &sr, &hr, &l[bf], &g[bf], 1.0, &err) == 0);
        sr_arena_free(a);
    }
    const size_t n = sr_tensor_numel(&sr);
    double d = 0, r = 0;
    for (size_t i = 0; i < n; i++) {
        d += ((double)g[1].data[i] - g[0].data[i]) * ((double)g[1].data[i] - g[0].data[i]);
        r += (double)g[0].data[i] * g[0].data[i];
    }
    const double grel = sqrt(d / r), lrel = fabs(l[1] - l[0]) / fabs(l[0]);
    if (sr_bf16_train_supported()) {
        fprintf(stderr, "  VGG bf16 (%s) vs fp32: loss %.2e, gradient %.2e relative L2\n",
                sr_amx_supported() ? "AMX" : "vdpbf16ps Winograd", lrel, grel);
        CHECK(lrel < 1e-2);
        CHECK(grel < 0.5);
        CHECK(grel > 0); /* bf16 really ran */
    } else {
        CHECK(l[0] == l[1]);
        CHECK(!memcmp(g[0].data, g[1].data, n * sizeof(float)));
    }
    sr_tensor_free(&g[0]);
    sr_tensor_free(&g[1]);
    sr_tensor_free(&sr);
    sr_tensor_free(&hr);
    sr_vgg_free(v);
}

int main(void)
{
    RUN(test_pixel_losses);
    RUN(test_gan_losses);
    RUN(test_loss_values);
    RUN(test_disc_spectral);
    RUN(test_disc_plain);
    RUN(test_disc_small_input_refused);
    RUN(test_vgg_caffe);
    RUN(test_vgg_torchvision_multi);
    RUN(test_vgg_mse_gray);
    RUN(test_vgg_names);
    RUN(test_vgg_bf16);
    return testlib_summary();
}
