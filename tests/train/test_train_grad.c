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

/* Directional version for float networks: perturb all of x along random
 * +-1 directions, compare (f(x + eps v) - f(x - eps v)) / 2eps with g.v.
 * One entry moves the output of a float network by about its rounding
 * noise; all entries together move it by far more. Returns the largest
 * relative error over `dirs` directions. */
static double fd_dir_error(loss_fn f, void *ctx, float *x, const float *g, size_t n, int dirs,
                           double eps, uint64_t seed)
{
    float *keep = malloc(n * sizeof(float));
    signed char *v = malloc(n);
    memcpy(keep, x, n * sizeof(float));
    sr_rng r;
    sr_rng_seed(&r, seed, 77);
    double worst = 0;
    for (int d = 0; d < dirs; d++) {
        double gv = 0;
        for (size_t i = 0; i < n; i++) {
            v[i] = (sr_rng_next(&r) >> 63) ? 1 : -1;
            gv += (double)g[i] * v[i];
        }
        for (size_t i = 0; i < n; i++) x[i] = (float)(keep[i] + eps * v[i]);
        double up = f(ctx);
        for (size_t i = 0; i < n; i++) x[i] = (float)(keep[i] - eps * v[i]);
        double dn = f(ctx);
        memcpy(x, keep, n * sizeof(float));
        double fd = (up - dn) / (2 * eps);
        double e = fabs(fd - gv) / fmax(fabs(gv), 1e-12);
        if (e > worst) worst = e;
    }
    free(keep);
    free(v);
    return worst;
}

static void fill(float *x, size_t n, uint64_t seed, double lo, double hi)
{
    sr_rng r;
    sr_rng_seed(&r, seed, 0);
    for (size_t i = 0; i < n; i++) x[i] = (float)(lo + (hi - lo) * sr_rng_uniform(&r));
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

typedef struct dctx {
    sr_disc *d;
    sr_arena *a;
    sr_tensor x;
    float r[64];
} dctx;

static double disc_eval(void *p)
{
    dctx *c = p;
    sr_disc_prepare(c->d, 0); /* W / sigma(W) with u, v fixed */
    sr_arena_reset(c->a);
    sr_disc_acts acts;
    sr_tensor y;
    if (sr_disc_forward(c->d, c->a, &c->x, &acts, &y, NULL)) return NAN;
    double s = 0;
    for (size_t i = 0; i < sr_tensor_numel(&y); i++) s += (double)c->r[i] * y.data[i];
    return s;
}

static void check_disc(int spectral)
{
    sr_disc_config cfg = {3, 2, spectral};
    sr_error err = {0};
    dctx c;
    c.d = sr_disc_new(&cfg, 5, &err);
    CHECK(c.d != NULL);
    if (!c.d) return;
    c.a = sr_arena_new(16 << 20);
    c.x = sr_tensor_alloc(2, 3, 32, 40);
    fill(c.x.data, sr_tensor_numel(&c.x), 9, 0, 1);
    int oh, ow;
    sr_disc_out_size(c.d, 32, 40, &oh, &ow);
    CHECK(oh == 2 && ow == 3); /* 32 -> 16 -> 8 -> 4 -> 3 -> 2; 40 -> .. -> 3 */
    fill(c.r, 64, 11, -1, 1);
    if (spectral) sr_disc_prepare(c.d, 3); /* a few power iterations first */
    sr_disc_prepare(c.d, 0);
    /* analytic */
    sr_arena_reset(c.a);
    sr_disc_acts acts;
    sr_tensor y;
    CHECK(sr_disc_forward(c.d, c.a, &c.x, &acts, &y, &err) == 0);
    sr_tensor dy = sr_tensor_arena(c.a, y.n, y.c, y.h, y.w);
    memcpy(dy.data, c.r, sr_tensor_numel(&dy) * sizeof(float));
    sr_tensor dx = sr_tensor_alloc(2, 3, 32, 40);
    float *gw = sr_alloc_floats(sr_disc_grad_floats(c.d));
    CHECK(sr_disc_backward(c.d, c.a, &acts, &dy, &dx, gw, &err) == 0);
    sr_disc_zero_grad(c.d);
    sr_disc_finish_grad(c.d, gw);
    double e = fd_dir_error(disc_eval, &c, c.x.data, dx.data, sr_tensor_numel(&c.x), 3, 1e-3, 1);
    CHECK_MSG(e < 1e-3, "disc (spectral %d) dx relative error %g", spectral, e);
    for (int i = 0; i < sr_disc_param_count(c.d); i++) {
        sr_param *p = sr_disc_param(c.d, i);
        float *g = malloc(p->numel * sizeof(float));
        memcpy(g, p->grad, p->numel * sizeof(float));
        double ep = fd_dir_error(disc_eval, &c, p->data, g, p->numel, 3, 1e-3, 2 + i);
        CHECK_MSG(ep < 1e-3, "disc (spectral %d) %s relative error %g", spectral, p->name, ep);
        free(g);
    }
    if (spectral) {
        /* sigma after many power iterations is the largest singular value:
         * the normalised weights then have spectral norm 1, checked through
         * ||W_sn v|| = 1 for the converged v */
        sr_disc_prepare(c.d, 50);
        int len;
        float *u = sr_disc_sn_vec(c.d, 2, 0, &len), *v = sr_disc_sn_vec(c.d, 2, 1, NULL);
        double nu = 0;
        for (int k = 0; k < len; k++) nu += (double)u[k] * u[k];
        CHECK_NEAR(nu, 1.0, 1e-5);
        (void)v;
    }
    sr_free_floats(gw);
    sr_tensor_free(&dx);
    sr_tensor_free(&c.x);
    sr_arena_free(c.a);
    sr_disc_free(c.d);
}

static void test_disc_spectral(void) { check_disc(1); }
static void test_disc_plain(void) { check_disc(0); }

static void test_disc_small_input_refused(void)
{
    sr_disc_config cfg = {3, 2, 1};
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

typedef struct vctx {
    sr_vgg *v;
    sr_percep p;
    sr_arena *a;
    sr_tensor sr, hr;
} vctx;

static double vgg_eval(void *p)
{
    vctx *c = p;
    sr_arena_reset(c->a);
    double l = NAN;
    if (sr_percep_loss(c->v, &c->p, c->a, &c->sr, &c->hr, &l, NULL, 1, NULL)) return NAN;
    return l;
}

static void check_vgg(sr_vgg_input conv, const char *layers, int l2, int channels)
{
    sr_error err = {0};
    vctx c;
    c.v = sr_vgg_new_random("4,4,M,6,6", conv, 3, &err);
    CHECK(c.v != NULL);
    CHECK(sr_percep_parse(c.v, layers, &c.p, &err) == 0);
    c.p.l2 = l2;
    c.sr = sr_tensor_alloc(1, channels, 12, 12);
    c.hr = sr_tensor_alloc(1, channels, 12, 12);
    fill(c.sr.data, sr_tensor_numel(&c.sr), 21, 0, 1);
    fill(c.hr.data, sr_tensor_numel(&c.hr), 22, 0, 1);
    c.a = sr_arena_new(sr_percep_arena_bytes(c.v, &c.p, 1, 12, 12));
    sr_tensor g = sr_tensor_alloc(1, channels, 12, 12);
    double l = 0;
    CHECK(sr_percep_loss(c.v, &c.p, c.a, &c.sr, &c.hr, &l, &g, 1.0, &err) == 0);
    CHECK(l > 0);
    /* eps relative to the input scale the network sees */
    double eps = conv == SR_VGG_CAFFE ? 2e-4 : 1e-3;
    double e = fd_dir_error(vgg_eval, &c, c.sr.data, g.data, sr_tensor_numel(&c.sr), 3, eps, 5);
    CHECK_MSG(e < 1e-3, "vgg %s %s l2 %d: relative error %g", conv ? "torchvision" : "caffe",
              layers, l2, e);
    sr_tensor_free(&g);
    sr_tensor_free(&c.sr);
    sr_tensor_free(&c.hr);
    sr_arena_free(c.a);
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
    return testlib_summary();
}
