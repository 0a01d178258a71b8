/* test_nn_conv.c: conv2d fast paths (im2col + sgemm, AVX-512 direct) against
 * the plain six-loop reference, over many shapes; batch-norm folding against
 * conv followed by an explicit batch norm. */
#include "nn_testutil.h"

#include <stdlib.h>
#include <string.h>

typedef struct shape {
    int n, cin, h, w, cout, k, s, pad, bias;
} shape;

static const shape SHAPES[] = {
    { 1, 3, 8, 8, 16, 3, 1, 1, 1 },     /* 3x3 same */
    { 2, 5, 7, 9, 7, 3, 1, 1, 1 },      /* batch 2, odd sizes and channels */
    { 1, 64, 12, 40, 64, 3, 1, 1, 1 },  /* the generator's body conv */
    { 1, 64, 5, 33, 70, 3, 1, 1, 0 },   /* cout not a multiple of 8, no bias */
    { 1, 1, 9, 50, 1, 3, 1, 1, 1 },     /* 1 -> 1, one vector tail of 2 */
    { 1, 16, 6, 6, 32, 1, 1, 0, 1 },    /* 1x1 */
    { 2, 7, 10, 11, 5, 4, 2, 1, 1 },    /* 4x4 stride 2 (discriminator) */
    { 1, 6, 9, 9, 3, 4, 1, 1, 1 },      /* 4x4 stride 1, asymmetric output */
    { 1, 3, 20, 17, 8, 9, 1, 4, 1 },    /* 9x9 (SRResNet first conv) */
    { 1, 2, 3, 3, 4, 5, 1, 2, 1 },      /* kernel larger than the image */
    { 1, 4, 13, 1, 3, 3, 1, 1, 1 },     /* one pixel wide */
    { 1, 3, 11, 13, 6, 3, 2, 0, 1 },    /* stride 2, no padding */
    { 1, 3, 6, 7, 4, 3, 1, 0, 1 },      /* valid conv (no padding) */
    { 1, 70, 4, 100, 9, 3, 1, 1, 1 },   /* cin 70 */
    { 1, 64, 3, 130, 256, 3, 1, 1, 1 }, /* 64 -> 256 (upconv), width > 128 */
    { 1, 2, 5, 5, 3, 1, 1, 1, 1 },      /* 1x1 with padding */
    { 1, 64, 3, 200, 3, 3, 1, 1, 1 },   /* 64 -> 3 (conv_last): the 4 x 96-pixel kernel */
    { 1, 9, 4, 97, 4, 3, 1, 1, 0 },     /* 4 outputs, 96 pixels and one more */
};

static void check_shape(const shape *sh, sr_conv_impl impl)
{
    rng r = { 42 + (uint64_t)sh->cin * 131 + sh->k };
    sr_conv2d c = { sh->cin, sh->cout, sh->k, sh->k, sh->s, sh->pad, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL};
    size_t nw = (size_t)sh->cout * sh->cin * sh->k * sh->k;
    c.weight = sr_alloc_floats(nw);
    fill_rand(&r, c.weight, nw, 0.5f);
    if (sh->bias) {
        c.bias = sr_alloc_floats((size_t)sh->cout);
        fill_rand(&r, c.bias, (size_t)sh->cout, 1.0f);
    }
    sr_tensor x = sr_tensor_alloc(sh->n, sh->cin, sh->h, sh->w);
    fill_rand(&r, x.data, sr_tensor_numel(&x), 1.0f);
    int oh = sr_conv_out_size(sh->h, sh->k, sh->s, sh->pad);
    int ow = sr_conv_out_size(sh->w, sh->k, sh->s, sh->pad);
    sr_tensor y = sr_tensor_alloc(sh->n, sh->cout, oh, ow);
    sr_tensor yr = sr_tensor_alloc(sh->n, sh->cout, oh, ow);
    /* the exact scratch size, from an arena so ASan sees overruns */
    size_t ns = sr_conv2d_scratch_floats(&c, &x);
    float *scratch = malloc(ns * sizeof(float));
    for (size_t i = 0; i < sr_tensor_numel(&y); i++)
        y.data[i] = 1e30f; /* every output must be written */
    sr_conv2d_forward_impl(&c, &x, &y, scratch, impl);
    sr_conv2d_forward_ref(&c, &x, &yr);
    double e = max_rel_err(y.data, yr.data, sr_tensor_numel(&y), 1e-3);
    CHECK_MSG(e < 1e-5, "impl %d shape n%d cin%d %dx%d cout%d k%d s%d p%d: rel err %g", (int)impl,
              sh->n, sh->cin, sh->h, sh->w, sh->cout, sh->k, sh->s, sh->pad, e);
    free(scratch);
    sr_tensor_free(&x);
    sr_tensor_free(&y);
    sr_tensor_free(&yr);
    sr_free_floats(c.weight);
    sr_free_floats(c.bias);
}

static void test_conv_gemm_vs_ref(void)
{
    for (size_t i = 0; i < sizeof SHAPES / sizeof SHAPES[0]; i++)
        check_shape(&SHAPES[i], SR_CONV_GEMM);
}

static void test_conv_direct_vs_ref(void)
{
    sr_conv2d probe = { 1, 1, 3, 3, 1, 1, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL};
    if (!sr_conv2d_direct_supported(&probe))
        fprintf(stderr, "  (no AVX-512F: DIRECT falls back to GEMM)\n");
    for (size_t i = 0; i < sizeof SHAPES / sizeof SHAPES[0]; i++)
        check_shape(&SHAPES[i], SR_CONV_DIRECT);
}

static void test_conv_auto_vs_ref(void)
{
    for (size_t i = 0; i < sizeof SHAPES / sizeof SHAPES[0]; i++)
        check_shape(&SHAPES[i], SR_CONV_AUTO);
}

static void test_conv_direct_avx2_vs_ref(void)
{
    sr_conv2d probe = { 1, 1, 3, 3, 1, 1, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL};
    if (!sr_conv2d_impl_supported(&probe, SR_CONV_DIRECT_AVX2))
        fprintf(stderr, "  (no AVX2 + FMA: DIRECT_AVX2 falls back to GEMM)\n");
    for (size_t i = 0; i < sizeof SHAPES / sizeof SHAPES[0]; i++)
        check_shape(&SHAPES[i], SR_CONV_DIRECT_AVX2);
}

/* Backward of impl against im2col + sgemm (itself checked against finite
 * differences in test_nn_grad): dx, dweight and dbias within 1e-5 relative
 * to the largest value, dweight and dbias accumulated onto non-zero values. */
static void check_backward(const shape *sh, sr_conv_impl impl)
{
    rng r = { 4242 + (uint64_t)sh->cout * 17 + sh->k };
    sr_conv2d c = { sh->cin, sh->cout, sh->k, sh->k, sh->s, sh->pad, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL};
    size_t nw = (size_t)sh->cout * sh->cin * sh->k * sh->k;
    c.weight = sr_alloc_floats(nw);
    fill_rand(&r, c.weight, nw, 0.5f);
    sr_tensor x = sr_tensor_alloc(sh->n, sh->cin, sh->h, sh->w);
    fill_rand(&r, x.data, sr_tensor_numel(&x), 1.0f);
    int oh = sr_conv_out_size(sh->h, sh->k, sh->s, sh->pad);
    int ow = sr_conv_out_size(sh->w, sh->k, sh->s, sh->pad);
    sr_tensor dy = sr_tensor_alloc(sh->n, sh->cout, oh, ow);
    fill_rand(&r, dy.data, sr_tensor_numel(&dy), 1.0f);
    sr_tensor dx[2] = { sr_tensor_alloc(sh->n, sh->cin, sh->h, sh->w),
                        sr_tensor_alloc(sh->n, sh->cin, sh->h, sh->w) };
    float *dw[2], *db[2];
    float *scratch = malloc(sr_conv2d_scratch_floats(&c, &x) * sizeof(float));
    for (int k = 0; k < 2; k++) {
        dw[k] = sr_alloc_floats(nw);
        db[k] = sr_alloc_floats((size_t)sh->cout);
        for (size_t i = 0; i < nw; i++)
            dw[k][i] = 0.5f;
        for (int i = 0; i < sh->cout; i++)
            db[k][i] = 0.5f;
        for (size_t i = 0; i < sr_tensor_numel(&dx[k]); i++)
            dx[k].data[i] = 1e30f;
        sr_conv2d_backward_impl(&c, &x, &dy, &dx[k], dw[k], db[k], scratch,
                                k ? impl : SR_CONV_GEMM);
    }
    double ex = max_rel_err(dx[1].data, dx[0].data, sr_tensor_numel(&dx[0]), 1e-3);
    double ew = max_rel_err(dw[1], dw[0], nw, 1e-3);
    double eb = max_rel_err(db[1], db[0], (size_t)sh->cout, 1e-3);
    CHECK_MSG(ex < 1e-5 && ew < 1e-5 && eb < 1e-5,
              "backward impl %d n%d cin%d %dx%d cout%d k%d s%d p%d: dx %g dw %g db %g",
              (int)impl, sh->n, sh->cin, sh->h, sh->w, sh->cout, sh->k, sh->s, sh->pad, ex, ew,
              eb);
    free(scratch);
    for (int k = 0; k < 2; k++) {
        sr_tensor_free(&dx[k]);
        sr_free_floats(dw[k]);
        sr_free_floats(db[k]);
    }
    sr_tensor_free(&x);
    sr_tensor_free(&dy);
    sr_free_floats(c.weight);
}

static void test_backward_direct_vs_gemm(void)
{
    for (size_t i = 0; i < sizeof SHAPES / sizeof SHAPES[0]; i++) {
        check_backward(&SHAPES[i], SR_CONV_DIRECT);
        check_backward(&SHAPES[i], SR_CONV_DIRECT_AVX2);
    }
}

/* The fused epilogue gives the same bits as the conv followed by sr_add and
 * the separate activation pass, for every kernel path and activation kind,
 * with and without a residual, a batch of 2, odd widths (vector tails) and
 * several channel groups and row blocks. */
static void test_epilogue_bit_exact(void)
{
    const sr_conv_impl impls[] = { SR_CONV_GEMM, SR_CONV_DIRECT, SR_CONV_DIRECT_AVX2,
                                   SR_CONV_AUTO };
    const shape shs[] = { { 2, 5, 7, 29, 12, 3, 1, 1, 1 }, { 1, 8, 40, 37, 70, 3, 1, 1, 1 },
                          { 1, 6, 9, 9, 3, 1, 1, 0, 1 } };
    float alpha[70];
    rng r = { 5 };
    fill_rand(&r, alpha, 70, 0.5f);
    int bad = 0, runs = 0;
    for (size_t si = 0; si < sizeof shs / sizeof *shs; si++) {
        const shape *sh = &shs[si];
        sr_conv2d c = { sh->cin, sh->cout, sh->k, sh->k, sh->s, sh->pad, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL};
        size_t nw = (size_t)sh->cout * sh->cin * sh->k * sh->k;
        c.weight = sr_alloc_floats(nw);
        c.bias = sr_alloc_floats((size_t)sh->cout);
        fill_rand(&r, c.weight, nw, 0.5f);
        fill_rand(&r, c.bias, (size_t)sh->cout, 1.0f);
        sr_tensor x = sr_tensor_alloc(sh->n, sh->cin, sh->h, sh->w);
        fill_rand(&r, x.data, sr_tensor_numel(&x), 1.0f);
        int oh = sr_conv_out_size(sh->h, sh->k, 1, sh->pad);
        int ow = sr_conv_out_size(sh->w, sh->k, 1, sh->pad);
        sr_tensor y0 = sr_tensor_alloc(sh->n, sh->cout, oh, ow);
        sr_tensor y1 = sr_tensor_alloc(sh->n, sh->cout, oh, ow);
        sr_tensor res = sr_tensor_alloc(sh->n, sh->cout, oh, ow);
        fill_rand(&r, res.data, sr_tensor_numel(&res), 2.0f);
        const size_t ny = sr_tensor_numel(&y0);
        float *scratch = malloc(sr_conv2d_scratch_floats(&c, &x) * sizeof(float));
        for (size_t ii = 0; ii < sizeof impls / sizeof *impls; ii++) {
            for (int act = 0; act < 5; act++) {
                for (int withres = 0; withres < 2; withres++) {
                    sr_conv_epilogue e = { withres ? res.data : NULL, (sr_act_kind)(act < 4 ? act : 3),
                                           0.1f, alpha, act == 3 ? 1 : sh->cout / 3, 3 };
                    sr_conv2d_forward_impl(&c, &x, &y0, scratch, impls[ii]);
                    if (withres)
                        sr_add(res.data, y0.data, y0.data, ny);
                    if (act == 1)
                        sr_relu_forward(y0.data, y0.data, ny);
                    else if (act == 2)
                        sr_lrelu_forward(y0.data, y0.data, ny, 0.1f);
                    else if (act >= 3) /* shared alpha; one alpha per 3 channels */
                        for (int b = 0; b < sh->n; b++)
                            for (int co = 0; co < sh->cout; co++) {
                                float a = alpha[act == 3 ? 0 : co / 3];
                                float *d = y0.data + ((size_t)b * sh->cout + co) * oh * ow;
                                for (int i = 0; i < oh * ow; i++)
                                    d[i] = d[i] > 0.0f ? d[i] : d[i] * a;
                            }
                    for (size_t i = 0; i < ny; i++)
                        y1.data[i] = 1e30f;
                    sr_conv2d_forward_ep_impl(&c, &x, &y1, scratch, impls[ii], &e);
                    runs++;
                    if (memcmp(y0.data, y1.data, ny * sizeof(float))) {
                        bad++;
                        fprintf(stderr, "  shape %zu impl %d act %d residual %d: differs\n", si,
                                (int)impls[ii], act, withres);
                    }
                }
            }
        }
        free(scratch);
        sr_tensor_free(&x);
        sr_tensor_free(&y0);
        sr_tensor_free(&y1);
        sr_tensor_free(&res);
        sr_free_floats(c.weight);
        sr_free_floats(c.bias);
    }
    fprintf(stderr, "  %d epilogue runs\n", runs);
    CHECK(bad == 0);
}

/* y = BN(conv(x)) computed explicitly vs the folded conv. */
static void test_fold_batchnorm(void)
{
    rng r = { 7 };
    const int cin = 4, cout = 6, k = 3, h = 7, w = 8;
    sr_conv2d c = { cin, cout, k, k, 1, 1, sr_alloc_floats((size_t)cout * cin * k * k),
                    sr_alloc_floats((size_t)cout), NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL };
    fill_rand(&r, c.weight, (size_t)cout * cin * k * k, 0.5f);
    fill_rand(&r, c.bias, (size_t)cout, 0.5f);
    float gamma[6], beta[6], mean[6], var[6];
    for (int i = 0; i < cout; i++) {
        gamma[i] = 1.0f + 0.5f * rng_f(&r);
        beta[i] = rng_f(&r);
        mean[i] = rng_f(&r);
        var[i] = 0.5f + 0.4f * rng_f(&r);
    }
    const float eps = 1e-5f;
    sr_tensor x = sr_tensor_alloc(1, cin, h, w);
    fill_rand(&r, x.data, sr_tensor_numel(&x), 1.0f);
    sr_tensor y0 = sr_tensor_alloc(1, cout, h, w), y1 = sr_tensor_alloc(1, cout, h, w);
    sr_conv2d_forward_ref(&c, &x, &y0);
    for (int o = 0; o < cout; o++)
        for (int i = 0; i < h * w; i++) {
            float *v = &y0.data[o * h * w + i];
            *v = (float)((*v - mean[o]) / sqrt((double)var[o] + eps) * gamma[o] + beta[o]);
        }
    sr_fold_batchnorm(&c, gamma, beta, mean, var, eps);
    sr_conv2d_forward_ref(&c, &x, &y1);
    CHECK(max_rel_err(y1.data, y0.data, sr_tensor_numel(&y0), 1e-3) < 1e-5);
    sr_tensor_free(&x);
    sr_tensor_free(&y0);
    sr_tensor_free(&y1);
    sr_free_floats(c.weight);
    sr_free_floats(c.bias);
}

/* The scratch size must not grow with image height (bounded memory). */
static void test_scratch_bounded(void)
{
    sr_conv2d c = { 64, 64, 3, 3, 1, 1, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL};
    sr_tensor a = { 1, 64, 200, 200, NULL }, b = { 1, 64, 20000, 200, NULL };
    CHECK(sr_conv2d_scratch_floats(&c, &a) == sr_conv2d_scratch_floats(&c, &b));
    CHECK(sr_conv2d_scratch_floats(&c, &a) < (size_t)4 << 20);
}

/* The direct kernel's narrow form (convs with <= 4 outputs, 4 channels x
 * 96 pixels) gives the bits of its 8-channel form: a 64 -> 3 conv equals
 * the first 3 outputs of a 64 -> 8 conv whose other 5 filters are zero. */
static void test_direct_narrow_same_bits(void)
{
    if (!sr_conv2d_direct_supported(&(sr_conv2d){.cin = 64, .cout = 8, .kh = 3, .kw = 3,
                                                  .stride = 1, .pad = 1})) {
        fprintf(stderr, "  no AVX-512 direct kernel: not tested\n");
        return;
    }
    rng r = {77};
    const int cin = 64, h = 5, w = 230;
    sr_conv2d n3 = {.cin = cin, .cout = 3, .kh = 3, .kw = 3, .stride = 1, .pad = 1};
    sr_conv2d n8 = n3;
    n8.cout = 8;
    n8.weight = sr_alloc_floats((size_t)8 * cin * 9);
    n8.bias = sr_alloc_floats(8);
    fill_rand(&r, n8.weight, (size_t)3 * cin * 9, 0.5f);
    fill_rand(&r, n8.bias, 3, 1.0f);
    n3.weight = n8.weight; /* the first 3 filters */
    n3.bias = n8.bias;
    sr_tensor x = sr_tensor_alloc(1, cin, h, w);
    fill_rand(&r, x.data, sr_tensor_numel(&x), 1.0f);
    sr_tensor y3 = sr_tensor_alloc(1, 3, h, w), y8 = sr_tensor_alloc(1, 8, h, w);
    float *scratch = malloc(sr_conv2d_scratch_floats(&n8, &x) * sizeof(float));
    sr_conv2d_forward_impl(&n3, &x, &y3, scratch, SR_CONV_DIRECT);
    sr_conv2d_forward_impl(&n8, &x, &y8, scratch, SR_CONV_DIRECT);
    CHECK(!memcmp(y3.data, y8.data, sr_tensor_numel(&y3) * sizeof(float)));
    free(scratch);
    sr_tensor_free(&x);
    sr_tensor_free(&y3);
    sr_tensor_free(&y8);
    sr_free_floats(n8.weight);
    sr_free_floats(n8.bias);
}

int main(void)
{
    RUN(test_direct_narrow_same_bits);
    RUN(test_conv_gemm_vs_ref);
    RUN(test_conv_direct_vs_ref);
    RUN(test_conv_direct_avx2_vs_ref);
    RUN(test_conv_auto_vs_ref);
    RUN(test_backward_direct_vs_gemm);
    RUN(test_epilogue_bit_exact);
    RUN(test_fold_batchnorm);
    RUN(test_scratch_bounded);
    return testlib_summary();
}
