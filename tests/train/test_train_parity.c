/* test_train_parity.c: one full phase-gan training step (tiny MSRResNet x2,
 * PatchGAN nf 4 with spectral norm, VGG slice 8,8,M,16,16 with Caffe input)
 * against PyTorch: tests/fixtures/train/parity*.safetensors, made by
 * tools/make_train_fixtures.py. Losses, every gradient of G and D, the
 * weights after Adam, the EMA and the spectral-norm vectors must match to
 * 1e-4 relative (norm-wise per tensor). Runs with 2 threads, so the
 * batch split and gradient sum are covered too. */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "srgan/train.h"
#include "srgan/weights.h"
#include "testlib.h"

static sr_safetensors *st;

static float *read_t(const char *name, size_t *n)
{
    int64_t shape[8];
    int nd = sr_safetensors_shape(st, name, shape);
    if (nd < 0) {
        fprintf(stderr, "fixture lacks %s\n", name);
        return NULL;
    }
    size_t k = 1;
    for (int i = 0; i < nd; i++) k *= (size_t)shape[i];
    float *b = malloc(k * sizeof(float) + 4);
    sr_error err = {0};
    if (sr_safetensors_read(st, name, nd, shape, b, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        free(b);
        return NULL;
    }
    if (n) *n = k;
    return b;
}

/* ||a - b|| / ||b|| */
static double rel(const float *a, const float *b, size_t n)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        num += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        den += (double)b[i] * b[i];
    }
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

static void cmp(const char *what, const char *name, const float *got, size_t n, double tol)
{
    char key[160];
    snprintf(key, sizeof key, "%s%s", what, name);
    size_t m = 0;
    float *want = read_t(key, &m);
    CHECK_MSG(want && m == n, "%s missing or wrong size", key);
    if (!want || m != n) return;
    double e = rel(got, want, n);
    CHECK_MSG(e < tol, "%s: relative error %g", key, e);
    free(want);
}

static double meta_d(const char *k)
{
    const char *v = sr_safetensors_meta(st, k);
    return v ? strtod(v, NULL) : NAN;
}

static void test_one_gan_step(void)
{
    char path[4096];
    sr_error err = {0};
    snprintf(path, sizeof path, "%s/tests/fixtures/train/parity.safetensors", TEST_SRCDIR());
    st = sr_safetensors_open(path, &err);
    CHECK_MSG(st != NULL, "%s", err.msg);
    if (!st) return;
    snprintf(path, sizeof path, "%s/tests/fixtures/train/parity_gen.safetensors", TEST_SRCDIR());
    sr_generator *g = sr_generator_load(path, &err);
    CHECK_MSG(g != NULL, "%s", err.msg);
    if (!g) return;
    CHECK(sr_generator_get_config(g)->scale == 2 && sr_generator_get_config(g)->blocks == 2);
    /* keep the initial weights: the update is compared, not only the result */
    int ng = sr_generator_param_count(g);
    float **g0 = calloc((size_t)ng, sizeof *g0);
    for (int i = 0; i < ng; i++) {
        sr_param *p = sr_generator_param(g, i);
        g0[i] = malloc(p->numel * sizeof(float));
        memcpy(g0[i], p->data, p->numel * sizeof(float));
    }
    sr_disc_config dc = {3, 4, 1, 0};
    sr_disc *d = sr_disc_new(&dc, 1, &err);
    for (int l = 0; l < SR_DISC_LAYERS; l++) {
        char k[96];
        for (int b = 0; b < 2; b++) {
            sr_param *p = sr_disc_param(d, 2 * l + b);
            snprintf(k, sizeof k, "d.%s", p->name);
            float *t = read_t(k, NULL);
            if (t) memcpy(p->data, t, p->numel * sizeof(float));
            free(t);
        }
        for (int which = 0; which < 2; which++) {
            int len;
            float *vec = sr_disc_sn_vec(d, l, which, &len);
            snprintf(k, sizeof k, "d.sn_%c.%d", which ? 'v' : 'u', l);
            float *t = read_t(k, NULL);
            if (t) memcpy(vec, t, (size_t)len * sizeof(float));
            free(t);
        }
    }
    sr_vgg *vgg = sr_vgg_new_random("8,8,M,16,16", SR_VGG_CAFFE, 1, &err);
    const char *vn[4] = {"conv1_1", "conv1_2", "conv2_1", "conv2_2"};
    for (int i = 0; i < 4; i++) {
        sr_conv2d *c = sr_vgg_conv(vgg, i);
        char k[64];
        snprintf(k, sizeof k, "vgg.%s.weight", vn[i]);
        float *w = read_t(k, NULL);
        snprintf(k, sizeof k, "vgg.%s.bias", vn[i]);
        float *b = read_t(k, NULL);
        if (w) memcpy(c->weight, w, (size_t)c->cout * c->cin * 9 * sizeof(float));
        if (b) memcpy(c->bias, b, (size_t)c->cout * sizeof(float));
        free(w);
        free(b);
    }
    sr_train_config cfg;
    sr_train_config_defaults(&cfg, SR_PHASE_GAN);
    cfg.batch = 4, cfg.patch = 32, cfg.threads = 2, cfg.d_nf = 4;
    cfg.vgg_layers = "conv2_2";
    cfg.schedule = "constant";
    /* the workers' sgemm calls must not start OpenBLAS's own threads on top
     * of them (17 % of a 2-thread gan run lost to contention): the trainer
     * sets OpenBLAS to one thread, whatever the environment said */
    openblas_set_num_threads(2);
    sr_trainer *t = sr_trainer_new(&cfg, g, d, vgg, &err);
    CHECK_MSG(t != NULL, "%s", err.msg);
    if (!t) return;
    CHECK_MSG(openblas_get_num_threads() == 1, "OpenBLAS threads %d under the trainer",
              openblas_get_num_threads());
    float *hr = read_t("hr", NULL), *lr = read_t("lr", NULL);
    sr_step_losses L;
    CHECK_MSG(sr_trainer_step(t, hr, lr, &L, &err) == 0, "%s", err.msg);
    CHECK_NEAR(L.l_pix, meta_d("l_pix"), 1e-4 * meta_d("l_pix"));
    CHECK_NEAR(L.l_percep, meta_d("l_percep"), 1e-4 * meta_d("l_percep"));
    CHECK_NEAR(L.l_gan_g, meta_d("l_gan_g"), 1e-4 * meta_d("l_gan_g"));
    CHECK_NEAR(L.l_gan_d, meta_d("l_gan_d"), 1e-4 * meta_d("l_gan_d"));
    g = sr_trainer_generator(t);
    sr_generator *ema = sr_trainer_ema(t);
    for (int i = 0; i < ng; i++) {
        sr_param *p = sr_generator_param(g, i);
        cmp("g_grad.", p->name, p->grad, p->numel, 1e-4);
        cmp("ema.", p->name, sr_generator_param(ema, i)->data, p->numel, 1e-4);
        /* the Adam update itself (new - old) */
        char k[160];
        snprintf(k, sizeof k, "g_new.%s", p->name);
        float *want = read_t(k, NULL), *du = malloc(p->numel * sizeof(float)),
              *dw = malloc(p->numel * sizeof(float));
        for (size_t j = 0; want && j < p->numel; j++)
            du[j] = p->data[j] - g0[i][j], dw[j] = want[j] - g0[i][j];
        double e = want ? rel(du, dw, p->numel) : 1;
        CHECK_MSG(e < 1e-3, "Adam update of %s: relative error %g", p->name, e);
        free(want);
        free(du);
        free(dw);
        free(g0[i]);
    }
    free(g0);
    d = sr_trainer_disc(t);
    for (int i = 0; i < sr_disc_param_count(d); i++) {
        sr_param *p = sr_disc_param(d, i);
        cmp("d_grad.", p->name, p->grad, p->numel, 1e-4);
        if (!strcmp(p->name, "conv4.bias")) {
            /* RaGAN's D loss sees only differences of logits, so the last
             * bias (a common shift) has zero gradient up to rounding; Adam's
             * first step g / (|g| + eps) then depends on that rounding. */
            CHECK(fabsf(p->grad[0]) < 1e-6f);
            continue;
        }
        cmp("d_new.", p->name, p->data, p->numel, 1e-4);
    }
    for (int l = 0; l < SR_DISC_LAYERS; l++)
        for (int which = 0; which < 2; which++) {
            int len;
            float *vec = sr_disc_sn_vec(d, l, which, &len);
            char k[32];
            snprintf(k, sizeof k, "%c.%d", which ? 'v' : 'u', l);
            cmp("d_new.sn_", k, vec, (size_t)len, 1e-4);
        }
    free(hr);
    free(lr);
    sr_trainer_free(t);
    sr_safetensors_close(st);
}

int main(void)
{
    RUN(test_one_gan_step);
    return testlib_summary();
}
