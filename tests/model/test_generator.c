/* test_generator.c: generator construction, initialisation, save/load,
 * strict loading errors, halo values, and the training forward/backward
 * checked by finite differences on the whole network. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "srgan/model.h"
#include "srgan/weights.h"
#include "testlib.h"

static char g_dir[1024];

static const char *tmp_path(const char *name)
{
    static char buf[4][1200];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", g_dir, name);
    return buf[k];
}

static uint32_t rng = 99;
static float frand(void)
{
    rng = rng * 1664525u + 1013904223u;
    return (float)(rng >> 8) / 16777216.0f;
}

/* srvgg's activation for gen() */
static sr_act_type g_act = SR_ACT_TYPE_PRELU;

static sr_generator *gen(sr_arch arch, int scale, int blocks, int feat, int ch, uint64_t seed)
{
    sr_generator_config c = {.arch = arch, .scale = scale, .blocks = blocks, .channels = feat,
                             .in_channels = ch, .out_channels = ch};
    c.grow = 4;         /* rrdbnet: small dense blocks */
    c.res_scale = 0.5f; /* edsr: the scaled residual op */
    c.act = g_act;
    sr_error err = {0};
    sr_generator *g = sr_generator_new(&c, seed, &err);
    if (!g)
        fprintf(stderr, "%s\n", err.msg);
    return g;
}

static void test_config_and_names(void)
{
    sr_generator *g = gen(SR_ARCH_MSRRESNET, 4, 16, 64, 3, 1);
    CHECK(g != NULL);
    if (!g)
        return;
    CHECK(sr_generator_param_count(g) == 2 + 16 * 4 + 2 * 2 + 2 + 2);
    CHECK(sr_generator_param_by_name(g, "body.15.conv2.bias") != NULL);
    CHECK(sr_generator_param_by_name(g, "upconv2.weight")->shape[0] == 256);
    CHECK(sr_generator_param_by_name(g, "upconv3.weight") == NULL);
    CHECK(sr_generator_halo(g) == 35); /* 1 + 2*16 trunk + 2 tail, LR pixels */
    size_t n = 0;
    for (int i = 0; i < sr_generator_param_count(g); i++)
        n += sr_generator_param(g, i)->numel;
    CHECK(n == 1517571); /* BasicSR MSRResNet x4 16x64: 1.518 M parameters */
    sr_generator_free(g);

    g = gen(SR_ARCH_SRRESNET, 4, 16, 64, 3, 1);
    CHECK(g && sr_generator_halo(g) == 4 + 32 + 1 + 3); /* tail: 9x9 at HR = 1 LR, + 2 */
    CHECK(g && sr_generator_param_by_name(g, "act_up2.weight") != NULL);
    sr_generator_free(g);
    g = gen(SR_ARCH_MSRRESNET, 8, 1, 8, 1, 1);
    CHECK(g && sr_generator_param_by_name(g, "upconv3.weight") != NULL);
    sr_generator_free(g);
    g = gen(SR_ARCH_MSRRESNET, 3, 1, 8, 1, 1);
    CHECK(g && sr_generator_param_by_name(g, "upconv1.weight")->shape[0] == 72);
    sr_generator_free(g);

    sr_error err = {0};
    sr_generator_config bad = {.arch = SR_ARCH_MSRRESNET, .scale = 5, .blocks = 1, .channels = 8, .in_channels = 3, .out_channels = 3};
    CHECK(sr_generator_new(&bad, 1, &err) == NULL && strstr(err.msg, "scale"));
    sr_generator_config bad2 = {.arch = SR_ARCH_MSRRESNET, .scale = 4, .blocks = 1, .channels = 8, .in_channels = 1, .out_channels = 3};
    sr_error e2 = {0};
    CHECK(sr_generator_new(&bad2, 1, &e2) == NULL && e2.code == SR_ERR_ARG);
}

static void test_init(void)
{
    sr_generator *a = gen(SR_ARCH_MSRRESNET, 4, 2, 32, 3, 7), *b = gen(SR_ARCH_MSRRESNET, 4, 2, 32, 3, 7),
                 *c = gen(SR_ARCH_MSRRESNET, 4, 2, 32, 3, 8);
    if (!a || !b || !c)
        return;
    sr_param *pa = sr_generator_param_by_name(a, "body.1.conv1.weight");
    sr_param *pb = sr_generator_param_by_name(b, "body.1.conv1.weight");
    sr_param *pc = sr_generator_param_by_name(c, "body.1.conv1.weight");
    CHECK(!memcmp(pa->data, pb->data, pa->numel * 4));
    CHECK(memcmp(pa->data, pc->data, pa->numel * 4));
    /* Kaiming normal x 0.1: std 0.1 * sqrt(2 / fan_in), mean 0 */
    double s1 = 0, s2 = 0;
    for (size_t i = 0; i < pa->numel; i++) {
        s1 += pa->data[i];
        s2 += (double)pa->data[i] * pa->data[i];
    }
    double mean = s1 / pa->numel, sd = sqrt(s2 / pa->numel - mean * mean);
    double want = 0.1 * sqrt(2.0 / (32 * 9));
    CHECK_NEAR(sd, want, 0.05 * want);
    CHECK(fabs(mean) < 0.1 * want);
    CHECK(sr_generator_param_by_name(a, "body.1.conv1.bias")->data[5] == 0.0f);
    /* ICNR: output channels c*4 .. c*4+3 share one kernel, different c differ */
    sr_param *up = sr_generator_param_by_name(a, "upconv1.weight");
    size_t per = 32 * 9;
    int same = 1;
    for (int o = 0; o < 128; o++)
        same &= !memcmp(up->data + o * per, up->data + (o / 4 * 4) * per, per * 4);
    CHECK(same);
    CHECK(memcmp(up->data, up->data + 4 * per, per * 4));
    /* ICNR makes the first upsampled feature map piecewise constant: each
     * 2x2 block after the shuffle is one value */
    sr_generator_free(a);
    sr_generator_free(b);
    sr_generator_free(c);
    sr_generator *s = gen(SR_ARCH_SRRESNET, 2, 1, 8, 3, 3);
    CHECK(s && sr_generator_param_by_name(s, "body.0.act.weight")->data[0] == 0.25f);
    sr_generator_free(s);
}

static void forward_of(const sr_generator *g, const sr_tensor *x, sr_tensor *y)
{
    sr_error err = {0};
    if (sr_generator_forward(g, x, y, &err))
        fprintf(stderr, "%s\n", err.msg);
}

static void test_save_load(void)
{
    for (int arch = 0; arch < 2; arch++) {
        sr_generator *g = gen((sr_arch)arch, 3, 2, 8, 3, 11);
        if (!g)
            return;
        const char *meta[] = {"training_data", "t91", "date", "2024-01-01", "scale", "7", NULL};
        const char *path = tmp_path(arch ? "srr.safetensors" : "msr.safetensors");
        sr_error err = {0};
        CHECK(sr_generator_save(g, path, meta, &err) == 0);
        sr_generator *h = sr_generator_load(path, &err);
        CHECK_MSG(h != NULL, "%s", err.msg);
        if (!h)
            return;
        CHECK(!memcmp(sr_generator_get_config(g), sr_generator_get_config(h),
                      sizeof(sr_generator_config)));
        CHECK(!strcmp(sr_generator_meta(h, "training_data"), "t91"));
        CHECK(!strcmp(sr_generator_meta(h, "scale"), "3")); /* architecture wins */
        CHECK(!strcmp(sr_generator_meta(h, "arch"), arch ? "srresnet" : "msrresnet"));
        sr_tensor x = sr_tensor_alloc(1, 3, 5, 6), y1 = sr_tensor_alloc(1, 3, 15, 18),
                  y2 = sr_tensor_alloc(1, 3, 15, 18);
        for (size_t i = 0; i < sr_tensor_numel(&x); i++)
            x.data[i] = frand();
        forward_of(g, &x, &y1);
        forward_of(h, &x, &y2);
        CHECK(!memcmp(y1.data, y2.data, sr_tensor_numel(&y1) * 4));
        sr_tensor_free(&x);
        sr_tensor_free(&y1);
        sr_tensor_free(&y2);
        sr_generator_free(h);
        sr_generator_free(g);
    }
}

/* Rewrite a saved model with edits: drop or add a tensor, poison a value,
 * change metadata. */
static const char *edited(const char *src, const char *drop, const char *add, int nan,
                          const char *mkey, const char *mval, const char *name)
{
    sr_error err = {0};
    sr_safetensors *st = sr_safetensors_open(src, &err);
    sr_st_writer *w = sr_st_writer_new();
    for (int i = 0; i < sr_safetensors_meta_count(st); i++) {
        const char *k = sr_safetensors_meta_key(st, i);
        if (!mkey || strcmp(k, mkey) || mval)
            sr_st_writer_meta(w, k, mkey && !strcmp(k, mkey) ? mval : sr_safetensors_meta(st, k));
    }
    float *bufs[256];
    int nb = 0;
    for (int i = 0; i < sr_safetensors_count(st); i++) {
        const char *n = sr_safetensors_name(st, i);
        if (drop && !strcmp(n, drop))
            continue;
        int64_t s[8];
        int nd = sr_safetensors_shape(st, n, s);
        size_t numel = 1;
        for (int k = 0; k < nd; k++)
            numel *= (size_t)s[k];
        float *b = malloc(numel * 4 + 4);
        sr_safetensors_read(st, n, nd, s, b, &err);
        if (nan && i == 3)
            b[0] = NAN;
        bufs[nb++] = b;
        sr_st_writer_add(w, n, nd, s, b);
    }
    static float extra[4];
    int64_t es[1] = {4};
    if (add)
        sr_st_writer_add(w, add, 1, es, extra);
    const char *out = tmp_path(name);
    sr_st_writer_save(w, out, &err);
    sr_st_writer_free(w);
    for (int i = 0; i < nb; i++)
        free(bufs[i]);
    sr_safetensors_close(st);
    return out;
}

static int load_fails(const char *path, const char *want1, const char *want2)
{
    sr_error err = {0};
    sr_generator *g = sr_generator_load(path, &err);
    if (g) {
        sr_generator_free(g);
        fprintf(stderr, "  %s loaded unexpectedly\n", path);
        return 0;
    }
    int ok = strstr(err.msg, path) == err.msg && (!want1 || strstr(err.msg, want1)) &&
             (!want2 || strstr(err.msg, want2));
    if (!ok)
        fprintf(stderr, "  message: %s\n", err.msg);
    return ok;
}

/* srvgg, rrdbnet, edsr: saved and loaded back (configuration, metadata and
 * output equal), then without the architecture metadata (detected and
 * inferred from the tensor names and shapes, output still equal). */
static void test_save_load_archs(void)
{
    static const sr_arch archs[] = {SR_ARCH_SRVGG, SR_ARCH_RRDBNET, SR_ARCH_EDSR};
    static const char *const strip[] = {"arch", "scale", "upscale", "num_block", "num_conv",
                                        "num_feat", "num_in_ch", "num_out_ch", "num_grow_ch",
                                        "act_type"};
    const uint32_t keep = rng; /* the gradient checks' draws stay as they were */
    for (int a = 0; a < 3; a++) {
        const int s = archs[a] == SR_ARCH_RRDBNET ? 2 : 4;
        g_act = SR_ACT_TYPE_PRELU;
        sr_generator *g = gen(archs[a], s, 2, 8, 3, 17);
        if (!g)
            return;
        char path[1200];
        snprintf(path, sizeof path, "%s", tmp_path("arch.safetensors"));
        sr_error err = {0};
        CHECK(sr_generator_save(g, path, NULL, &err) == 0);
        sr_tensor x = sr_tensor_alloc(1, 3, 6, 8), y1 = sr_tensor_alloc(1, 3, 6 * s, 8 * s),
                  y2 = sr_tensor_alloc(1, 3, 6 * s, 8 * s);
        for (size_t i = 0; i < sr_tensor_numel(&x); i++)
            x.data[i] = frand();
        forward_of(g, &x, &y1);
        for (int pass = 0; pass < 2; pass++) {
            const char *p = path;
            for (size_t k = 0; pass && k < sizeof strip / sizeof *strip; k++)
                p = edited(p, NULL, NULL, 0, strip[k], NULL, k % 2 ? "bare1.safetensors"
                                                                    : "bare0.safetensors");
            sr_generator *h = sr_generator_load(p, &err);
            CHECK_MSG(h != NULL, "%s: %s", sr_arch_name(archs[a]), err.msg);
            if (!h)
                continue;
            CHECK_MSG(!memcmp(sr_generator_get_config(g), sr_generator_get_config(h),
                              sizeof(sr_generator_config)),
                      "%s pass %d", sr_arch_name(archs[a]), pass);
            CHECK(pass || !strcmp(sr_generator_meta(h, "arch"), sr_arch_name(archs[a])));
            forward_of(h, &x, &y2);
            CHECK(!memcmp(y1.data, y2.data, sr_tensor_numel(&y1) * 4));
            sr_generator_free(h);
        }
        sr_tensor_free(&x);
        sr_tensor_free(&y1);
        sr_tensor_free(&y2);
        sr_generator_free(g);
    }
    rng = keep;
}

/* A checkpoint of no known architecture: one line naming its first tensor. */
static void test_no_architecture(void)
{
    sr_st_writer *w = sr_st_writer_new();
    static float v[4];
    int64_t sh[1] = {4};
    sr_st_writer_add(w, "encoder.weight", 1, sh, v);
    sr_st_writer_add(w, "decoder.weight", 1, sh, v);
    sr_error err = {0};
    const char *p = tmp_path("alien.safetensors");
    CHECK(sr_st_writer_save(w, p, &err) == 0);
    sr_st_writer_free(w);
    CHECK(load_fails(p, "tensor 'encoder.weight' does not fit any architecture", "rrdbnet"));
    CHECK(sr_generator_load(p, &err) == NULL && !strchr(err.msg, '\n'));
}

static void test_load_errors(void)
{
    sr_generator *g = gen(SR_ARCH_MSRRESNET, 4, 2, 8, 3, 5);
    if (!g)
        return;
    char path[1200];
    snprintf(path, sizeof path, "%s", tmp_path("base.safetensors"));
    sr_error err = {0};
    CHECK(sr_generator_save(g, path, NULL, &err) == 0);
    sr_generator_free(g);
    CHECK(load_fails(edited(path, "body.1.conv2.bias", NULL, 0, NULL, NULL, "e1.safetensors"),
                     "'body.1.conv2.bias'", "missing"));
    CHECK(load_fails(edited(path, NULL, "body.7.conv1.weight", 0, NULL, NULL, "e2.safetensors"),
                     "'body.7.conv1.weight'", "not part"));
    CHECK(load_fails(edited(path, NULL, NULL, 1, NULL, NULL, "e3.safetensors"), "NaN", "'"));
    CHECK(load_fails(edited(path, NULL, NULL, 0, "num_block", "3", "e4.safetensors"),
                     "'body.2.conv1.weight'", NULL));
    CHECK(load_fails(edited(path, NULL, NULL, 0, "num_feat", "16", "e5.safetensors"),
                     "'conv_first.weight'", "shape"));
    CHECK(load_fails(edited(path, NULL, NULL, 0, "arch", "esrgan", "e6.safetensors"),
                     "esrgan", NULL));
    CHECK(load_fails(edited(path, NULL, NULL, 0, "value_range", "0,255", "e7.safetensors"),
                     "value_range", NULL));
    CHECK(load_fails(edited(path, NULL, NULL, 0, "scale", "x4", "e8.safetensors"), "scale", NULL));
    CHECK(load_fails(edited(path, NULL, NULL, 0, "scale", "2", "e9.safetensors"),
                     "'upconv2.weight'", "not part"));
    /* a number outside the range is reported as such, not as "not a number" */
    CHECK(load_fails(edited(path, NULL, NULL, 0, "num_feat", "99999999", "e10.safetensors"),
                     "num_feat", "out of range"));
    CHECK(load_fails(edited(path, NULL, NULL, 0, "num_feat", "99999999999999999999999",
                            "e11.safetensors"),
                     "num_feat", "out of range"));
    CHECK(load_fails(edited(path, NULL, NULL, 0, "num_block", "-1", "e12.safetensors"),
                     "num_block", "out of range"));
    CHECK(load_fails(edited(path, NULL, NULL, 0, "num_feat", "8x", "e13.safetensors"),
                     "num_feat", "not a number"));
    /* no architecture metadata at all: inferred from the tensors */
    char p[1200];
    snprintf(p, sizeof p, "%s", path);
    const char *keys[] = {"arch", "scale", "num_block", "num_feat", "num_in_ch", "num_out_ch"};
    char nm[32];
    for (int i = 0; i < 6; i++) {
        snprintf(nm, sizeof nm, "nm%d.safetensors", i);
        snprintf(p, sizeof p, "%s", edited(p, NULL, NULL, 0, keys[i], NULL, nm));
    }
    sr_generator *h = sr_generator_load(p, &err);
    CHECK_MSG(h != NULL, "%s", err.msg);
    if (h) {
        const sr_generator_config *c = sr_generator_get_config(h);
        CHECK(c->arch == SR_ARCH_MSRRESNET && c->scale == 4 && c->blocks == 2 &&
              c->channels == 8 && c->in_channels == 3 && c->out_channels == 3);
        CHECK(sr_generator_meta(h, "scale") == NULL);
        sr_generator_free(h);
    }
    CHECK(load_fails(tmp_path("absent.safetensors"), NULL, NULL));
}

/* ---- gradient check ------------------------------------------------------- */

static double loss_of(sr_generator *g, const sr_tensor *x, const float *wts, sr_tensor *y)
{
    sr_error err = {0};
    if (sr_generator_forward(g, x, y, &err))
        return NAN;
    double l = 0;
    for (size_t i = 0; i < sr_tensor_numel(y); i++)
        l += (double)wts[i] * y->data[i];
    return l;
}

static void gradcheck(sr_arch arch, int scale)
{
    const int n = 2, h = 4, w = arch == SR_ARCH_RRDBNET && scale == 2 ? 6 : 5, ch = 3;
    sr_generator *g = gen(arch, scale, 2, 4, ch, 123);
    if (!g)
        return;
    /* Kaiming-scale weights and random biases: every path carries gradient. */
    for (int i = 0; i < sr_generator_param_count(g); i++) {
        sr_param *p = sr_generator_param(g, i);
        for (size_t k = 0; k < p->numel; k++)
            p->data[k] = p->ndim == 4 ? p->data[k] * 3.0f
                         : strstr(p->name, "act") ? 0.1f + 0.3f * frand()
                                                  : 0.2f * (frand() - 0.5f);
    }
    sr_error err = {0};
    CHECK(sr_generator_enable_grad(g, &err) == 0);
    sr_generator_zero_grad(g);
    sr_tensor x = sr_tensor_alloc(n, ch, h, w), dx = sr_tensor_alloc(n, ch, h, w);
    sr_tensor y = sr_tensor_alloc(n, ch, h * scale, w * scale);
    sr_tensor y2 = sr_tensor_alloc(n, ch, h * scale, w * scale);
    sr_tensor dy = sr_tensor_alloc(n, ch, h * scale, w * scale);
    for (size_t i = 0; i < sr_tensor_numel(&x); i++)
        x.data[i] = frand();
    for (size_t i = 0; i < sr_tensor_numel(&dy); i++)
        dy.data[i] = frand() - 0.5f;
    /* room for two backward passes after one forward */
    sr_arena *a = sr_arena_new(2 * sr_generator_train_arena_bytes(g, n, h, w));
    sr_gen_acts *acts = sr_generator_train_forward(g, &x, &y, a, &err);
    CHECK_MSG(acts != NULL, "%s", err.msg);
    if (!acts)
        return;
    /* the training forward equals inference */
    forward_of(g, &x, &y2);
    double fd = 0;
    for (size_t i = 0; i < sr_tensor_numel(&y); i++)
        fd = fmax(fd, fabs(y.data[i] - y2.data[i]));
    CHECK(fd < 1e-5);
    CHECK(sr_generator_backward(g, acts, &dy, &dx, NULL, a, &err) == 0);
    CHECK_MSG(sr_arena_peak(a) <= sr_generator_train_arena_bytes(g, n, h, w), "%zu > %zu",
              sr_arena_peak(a), sr_generator_train_arena_bytes(g, n, h, w));
    /* a second backward accumulates: grads double */
    sr_param *p0 = sr_generator_param(g, 0);
    float g0 = p0->grad[1];
    float **gr = malloc(sizeof(float *) * (size_t)sr_generator_param_count(g));
    for (int i = 0; i < sr_generator_param_count(g); i++)
        gr[i] = calloc(sr_generator_param(g, i)->numel, sizeof(float));
    CHECK(sr_generator_backward(g, acts, &dy, NULL, gr, a, &err) == 0);
    CHECK_NEAR(gr[0][1], g0, 1e-6 * fmax(1, fabs(g0)));

    int checked = 0, bad = 0;
    for (int i = 0; i <= sr_generator_param_count(g); i++) {
        /* i == count: the input gradient dx */
        sr_param *p = i < sr_generator_param_count(g) ? sr_generator_param(g, i) : NULL;
        float *data = p ? p->data : x.data, *grad = p ? p->grad : dx.data;
        size_t numel = p ? p->numel : sr_tensor_numel(&x);
        for (int t = 0; t < (p ? 3 : 8); t++) {
            size_t k = (size_t)(frand() * numel) % numel;
            double ana = grad[k], num = 0;
            int ok = 0;
            /* ReLU kinks bend the central difference at large steps, float
             * rounding at small ones: a correct gradient matches at one of
             * these steps, a wrong one at none. */
            for (float eps = 1e-2f; eps > 1e-4f && !ok; eps /= 4) {
                float keep = data[k];
                data[k] = keep + eps;
                double lp = loss_of(g, &x, dy.data, &y2);
                data[k] = keep - eps;
                double lm = loss_of(g, &x, dy.data, &y2);
                data[k] = keep;
                num = (lp - lm) / (2 * eps);
                ok = fabs(num - ana) <= 1e-2 * fmax(fabs(num), fabs(ana)) + 3e-3;
            }
            checked++;
            if (!ok) {
                bad++;
                fprintf(stderr, "  %s %s[%zu]: numeric %.6g analytic %.6g\n", sr_arch_name(arch),
                        p ? p->name : "dx", k, num, ana);
            }
        }
    }
    fprintf(stderr, "  %s x%d: %d gradients checked, %d off\n", sr_arch_name(arch), scale,
            checked, bad);
    CHECK(bad == 0);
    for (int i = 0; i < sr_generator_param_count(g); i++)
        free(gr[i]);
    free(gr);
    sr_arena_free(a);
    sr_tensor_free(&x);
    sr_tensor_free(&dx);
    sr_tensor_free(&y);
    sr_tensor_free(&y2);
    sr_tensor_free(&dy);
    sr_generator_free(g);
}

static void test_gradcheck_msrresnet(void)
{
    gradcheck(SR_ARCH_MSRRESNET, 2);
    gradcheck(SR_ARCH_MSRRESNET, 4);
}

static void test_gradcheck_srresnet(void)
{
    gradcheck(SR_ARCH_SRRESNET, 2);
    gradcheck(SR_ARCH_SRRESNET, 3);
}

static void test_gradcheck_srvgg(void)
{
    gradcheck(SR_ARCH_SRVGG, 4); /* per-channel PReLU */
    g_act = SR_ACT_TYPE_LEAKYRELU;
    gradcheck(SR_ARCH_SRVGG, 2);
    g_act = SR_ACT_TYPE_RELU;
    gradcheck(SR_ARCH_SRVGG, 3);
    g_act = SR_ACT_TYPE_PRELU;
}

/* dense blocks (channel slices), nearest upsampling, and at x2 the pixel
 * unshuffle of the input */
static void test_gradcheck_rrdbnet(void)
{
    gradcheck(SR_ARCH_RRDBNET, 2);
    gradcheck(SR_ARCH_RRDBNET, 4);
}

/* mean shift and range, scaled residuals */
static void test_gradcheck_edsr(void)
{
    gradcheck(SR_ARCH_EDSR, 2);
    gradcheck(SR_ARCH_EDSR, 3);
}

/* A tiny file whose metadata claims a gigantic network is refused before
 * anything is allocated, with a message naming the file. */
static void test_metadata_bomb(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/bomb.safetensors", TEST_TMPDIR());
    const char *hdr = "{\"__metadata__\":{\"arch\":\"msrresnet\",\"scale\":\"4\",\"num_block\":\"1024\","
                      "\"num_feat\":\"4096\",\"num_in_ch\":\"3\",\"num_out_ch\":\"3\"},\"conv_first.weight\":{\"dtype\":\"F32\",\"shape\":[4,3,3,3],"
                      "\"data_offsets\":[0,432]}}";
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f)
        return;
    uint64_t n = strlen(hdr);
    uint8_t len[8];
    for (int i = 0; i < 8; i++)
        len[i] = (uint8_t)(n >> (8 * i));
    fwrite(len, 1, 8, f);
    fwrite(hdr, 1, n, f);
    static const uint8_t zeros[432];
    fwrite(zeros, 1, sizeof zeros, f);
    fclose(f);
    sr_error err = {0};
    sr_generator *g = sr_generator_load(path, &err);
    CHECK(g == NULL);
    CHECK(err.code == SR_ERR_WEIGHTS);
    CHECK_MSG(strstr(err.msg, "bomb.safetensors") != NULL && strstr(err.msg, "1024 blocks") != NULL, "%s", err.msg);
    sr_generator_free(g);
}

/* Network interpolation of prepared generators (Winograd transforms made
 * from the old weights): the blend transforms them again, so blending
 * after sr_generator_prepare gives the same bits as blending first and
 * preparing once (what the CLI does), s = 0 gives the prepared partner
 * exactly, and preparing twice changes nothing. Every architecture, with
 * 16 channels (Winograd under AUTO on AVX2 CPUs); prepared in fp32 and in
 * bf16 (the blend keeps the bf16 weights, made again). */
static void test_blend_prepared(void)
{
    sr_error err = {0};
    for (int t = 0; t < 10; t++) {
        const int bf = t / 5, arch = t % 5;
        const sr_precision pr = bf ? SR_PRECISION_BF16 : SR_PRECISION_FP32;
        const float ss[2] = {0.5f, 0.0f};
        for (int k = 0; k < 2; k++) {
            sr_generator *a = gen((sr_arch)arch, 4, 1, 16, 3, 5), *b = gen((sr_arch)arch, 4, 1, 16, 3, 5);
            sr_generator *p = gen((sr_arch)arch, 4, 1, 16, 3, 6);
            CHECK(a && b && p);
            if (!a || !b || !p)
                return;
            CHECK(sr_generator_prepare_precision(a, pr, &err) == 0); /* prepared, then blended */
            CHECK(sr_generator_blend(a, p, ss[k], &err) == 0);
            CHECK(sr_generator_blend(b, p, ss[k], &err) == 0); /* blended, then prepared */
            CHECK(sr_generator_prepare_precision(b, pr, &err) == 0);
            CHECK(sr_generator_prepare_precision(b, pr, &err) == 0); /* again: released, same bits */
            CHECK(sr_generator_prepare_precision(p, pr, &err) == 0);
            sr_tensor x = sr_tensor_alloc(1, 3, 13, 11);
            for (size_t i = 0; i < sr_tensor_numel(&x); i++)
                x.data[i] = frand();
            sr_tensor y[3];
            sr_generator *gs[3] = {a, b, p};
            for (int i = 0; i < 3; i++) {
                y[i] = sr_tensor_alloc(1, 3, 52, 44);
                CHECK(sr_generator_forward(gs[i], &x, &y[i], &err) == 0);
            }
            const size_t n = sr_tensor_numel(&y[0]) * sizeof(float);
            CHECK_MSG(!memcmp(y[0].data, y[1].data, n), "%s s %g bf16 %d: prepare then blend differs",
                      sr_arch_name((sr_arch)arch), (double)ss[k], bf);
            if (ss[k] == 0.0f)
                CHECK_MSG(!memcmp(y[0].data, y[2].data, n), "%s: blend 0 is not the partner",
                          sr_arch_name((sr_arch)arch));
            else
                CHECK(memcmp(y[0].data, y[2].data, n) != 0);
            for (int i = 0; i < 3; i++) {
                sr_tensor_free(&y[i]);
                sr_generator_free(gs[i]);
            }
            sr_tensor_free(&x);
        }
    }
}

int main(void)
{
    snprintf(g_dir, sizeof g_dir, "%s/model_generator", TEST_TMPDIR());
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", g_dir);
    if (system(cmd))
        return 2;
    RUN(test_config_and_names);
    RUN(test_init);
    RUN(test_save_load);
    RUN(test_load_errors);
    RUN(test_gradcheck_msrresnet);
    RUN(test_save_load_archs);
    RUN(test_no_architecture);
    RUN(test_gradcheck_srresnet);
    RUN(test_gradcheck_srvgg);
    RUN(test_gradcheck_rrdbnet);
    RUN(test_gradcheck_edsr);
    RUN(test_metadata_bomb);
    RUN(test_blend_prepared);
    return testlib_summary();
}
