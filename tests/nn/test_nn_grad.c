/* test_nn_grad.c: finite-difference gradient checks of every backward pass.
 * Loss L = sum(r * y) with a fixed random r, so dL/dy = r. Analytic
 * gradients come from the backward functions; numeric ones from central
 * differences of the forward pass (conv: of the double-accumulating reference
 * forward). Linear layers use a large step (exact for them); piecewise-linear
 * ones keep inputs at least 0.2 away from the kinks and step 1e-2. */
#include "nn_testutil.h"

#include <stdlib.h>

#define TOL 1e-3

/* ---- conv2d --------------------------------------------------------- */

typedef struct conv_ctx {
    sr_conv2d c;
    sr_tensor x, y;
    float *r;
} conv_ctx;

static double conv_loss(void *p)
{
    conv_ctx *k = p;
    sr_conv2d_forward_ref(&k->c, &k->x, &k->y);
    return dot_d(k->r, k->y.data, sr_tensor_numel(&k->y));
}

static void check_conv_grad(int n, int cin, int h, int w, int cout, int ks, int s, int pad,
                            sr_conv_impl impl)
{
    rng r = { 99 + (uint64_t)ks * 7 + s };
    conv_ctx k;
    k.c = (sr_conv2d){ cin, cout, ks, ks, s, pad, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL};
    size_t nw = (size_t)cout * cin * ks * ks;
    k.c.weight = sr_alloc_floats(nw);
    k.c.bias = sr_alloc_floats((size_t)cout);
    fill_rand(&r, k.c.weight, nw, 0.5f);
    fill_rand(&r, k.c.bias, (size_t)cout, 0.5f);
    k.x = sr_tensor_alloc(n, cin, h, w);
    fill_rand(&r, k.x.data, sr_tensor_numel(&k.x), 1.0f);
    int oh = sr_conv_out_size(h, ks, s, pad), ow = sr_conv_out_size(w, ks, s, pad);
    k.y = sr_tensor_alloc(n, cout, oh, ow);
    sr_tensor dy = sr_tensor_alloc(n, cout, oh, ow);
    k.r = dy.data;
    fill_rand(&r, dy.data, sr_tensor_numel(&dy), 1.0f);
    sr_tensor dx = sr_tensor_alloc(n, cin, h, w);
    float *dw = sr_alloc_floats(nw), *db = sr_alloc_floats((size_t)cout);
    /* start the parameter gradients non-zero: backward must accumulate */
    for (size_t i = 0; i < nw; i++)
        dw[i] = 0.25f;
    for (int i = 0; i < cout; i++)
        db[i] = -0.5f;
    float *scratch = malloc(sr_conv2d_scratch_floats(&k.c, &k.x) * sizeof(float));
    for (size_t i = 0; i < sr_tensor_numel(&dx); i++)
        dx.data[i] = 1e30f; /* dx is overwritten */
    sr_conv2d_backward_impl(&k.c, &k.x, &dy, &dx, dw, db, scratch, impl);
    for (size_t i = 0; i < nw; i++)
        dw[i] -= 0.25f;
    for (int i = 0; i < cout; i++)
        db[i] += 0.5f;
    double ex = gradcheck(k.x.data, sr_tensor_numel(&k.x), dx.data, conv_loss, &k, 0.25f);
    double ew = gradcheck(k.c.weight, nw, dw, conv_loss, &k, 0.25f);
    double eb = gradcheck(k.c.bias, (size_t)cout, db, conv_loss, &k, 0.25f);
    CHECK_MSG(ex < TOL && ew < TOL && eb < TOL,
              "impl %d n%d cin%d %dx%d cout%d k%d s%d p%d: dx %g dw %g db %g", (int)impl, n, cin,
              h, w, cout, ks, s, pad, ex, ew, eb);
    /* NULL outputs skip work and must not crash */
    sr_conv2d_backward_impl(&k.c, &k.x, &dy, NULL, NULL, NULL, scratch, impl);
    free(scratch);
    sr_free_floats(dw);
    sr_free_floats(db);
    sr_tensor_free(&dx);
    sr_tensor_free(&dy);
    sr_tensor_free(&k.x);
    sr_tensor_free(&k.y);
    sr_free_floats(k.c.weight);
    sr_free_floats(k.c.bias);
}

static void conv_cases(sr_conv_impl impl)
{
    check_conv_grad(2, 3, 6, 7, 4, 3, 1, 1, impl);   /* 3x3 same, batch 2 */
    check_conv_grad(1, 3, 9, 8, 5, 4, 2, 1, impl);   /* 4x4 stride 2 */
    check_conv_grad(1, 2, 7, 7, 3, 3, 2, 1, impl);   /* 3x3 stride 2 */
    check_conv_grad(1, 4, 5, 6, 3, 1, 1, 0, impl);   /* 1x1 */
    check_conv_grad(1, 2, 6, 5, 3, 3, 1, 0, impl);   /* valid */
    check_conv_grad(1, 2, 8, 9, 2, 5, 1, 2, impl);   /* 5x5 */
    check_conv_grad(1, 3, 4, 19, 10, 3, 1, 1, impl); /* > 8 out channels, > 16 wide */
    check_conv_grad(1, 2, 5, 5, 2, 4, 1, 2, impl);   /* even kernel, stride 1 */
}

static void test_conv_grad_gemm(void)
{
    conv_cases(SR_CONV_GEMM);
}

static void test_conv_grad_auto(void)
{
    conv_cases(SR_CONV_AUTO);
}

static void test_conv_grad_direct_avx2(void)
{
    conv_cases(SR_CONV_DIRECT_AVX2);
}

/* ---- pointwise -------------------------------------------------------- */

typedef struct pw_ctx {
    int kind; /* 0 relu, 1 lrelu, 2 add (a), 3 axpy (x) */
    float *x, *x2, *y, *r;
    size_t n;
} pw_ctx;

static double pw_loss(void *p)
{
    pw_ctx *k = p;
    if (k->kind == 0)
        sr_relu_forward(k->x, k->y, k->n);
    else if (k->kind == 1)
        sr_lrelu_forward(k->x, k->y, k->n, 0.2f);
    else if (k->kind == 2)
        sr_add(k->x, k->x2, k->y, k->n);
    else {
        for (size_t i = 0; i < k->n; i++)
            k->y[i] = k->x2[i];
        sr_axpy(0.75f, k->x, k->y, k->n);
    }
    return dot_d(k->r, k->y, k->n);
}

static void test_pointwise_grad(void)
{
    enum { N = 200 };
    rng r = { 5 };
    float x[N], x2[N], y[N], rr[N], dx[N];
    fill_away_from_zero(&r, x, N);
    fill_rand(&r, x2, N, 1.0f);
    fill_rand(&r, rr, N, 1.0f);
    pw_ctx k = { 0, x, x2, y, rr, N };
    sr_relu_backward(x, rr, dx, N);
    CHECK(gradcheck(x, N, dx, pw_loss, &k, 1e-2f) < TOL);
    k.kind = 1;
    sr_lrelu_backward(x, rr, dx, N, 0.2f);
    CHECK(gradcheck(x, N, dx, pw_loss, &k, 1e-2f) < TOL);
    /* in place (dx == dy) gives the same */
    float inplace[N];
    memcpy(inplace, rr, sizeof inplace);
    sr_lrelu_backward(x, inplace, inplace, N, 0.2f);
    CHECK(memcmp(inplace, dx, sizeof dx) == 0);
    /* add: the gradient to both inputs is dy itself */
    k.kind = 2;
    CHECK(gradcheck(x, N, rr, pw_loss, &k, 0.25f) < TOL);
    CHECK(gradcheck(x2, N, rr, pw_loss, &k, 0.25f) < TOL);
    k.kind = 3;
    for (int i = 0; i < N; i++)
        dx[i] = 0.75f * rr[i];
    CHECK(gradcheck(x, N, dx, pw_loss, &k, 0.25f) < TOL);
}

typedef struct prelu_ctx {
    sr_tensor x, y;
    float *alpha, *r;
    int nalpha;
} prelu_ctx;

static double prelu_loss(void *p)
{
    prelu_ctx *k = p;
    sr_prelu_forward(&k->x, k->alpha, k->nalpha, &k->y);
    return dot_d(k->r, k->y.data, sr_tensor_numel(&k->y));
}

static void check_prelu(int nalpha)
{
    rng r = { 11 + (uint64_t)nalpha };
    prelu_ctx k;
    k.x = sr_tensor_alloc(2, 3, 4, 5);
    k.y = sr_tensor_alloc(2, 3, 4, 5);
    size_t n = sr_tensor_numel(&k.x);
    fill_away_from_zero(&r, k.x.data, n);
    float alpha[3] = { 0.25f, -0.1f, 0.6f }, dalpha[3] = { 1, 1, 1 };
    k.alpha = alpha;
    k.nalpha = nalpha;
    sr_tensor dy = sr_tensor_alloc(2, 3, 4, 5), dx = sr_tensor_alloc(2, 3, 4, 5);
    fill_rand(&r, dy.data, n, 1.0f);
    k.r = dy.data;
    sr_prelu_backward(&k.x, alpha, nalpha, &dy, &dx, dalpha);
    for (int i = 0; i < nalpha; i++)
        dalpha[i] -= 1.0f; /* accumulated onto 1 */
    CHECK(gradcheck(k.x.data, n, dx.data, prelu_loss, &k, 1e-2f) < TOL);
    CHECK(gradcheck(alpha, (size_t)nalpha, dalpha, prelu_loss, &k, 0.25f) < TOL);
    sr_tensor_free(&k.x);
    sr_tensor_free(&k.y);
    sr_tensor_free(&dy);
    sr_tensor_free(&dx);
}

static void test_prelu_grad(void)
{
    check_prelu(1);
    check_prelu(3);
}

/* ---- pixel shuffle, upsample, maxpool ---------------------------------- */

typedef struct map_ctx {
    int kind; /* 0 shuffle, 1 upsample, 2 maxpool */
    int r;
    sr_interp mode;
    sr_tensor x, y;
    float *rr;
} map_ctx;

static double map_loss(void *p)
{
    map_ctx *k = p;
    if (k->kind == 0)
        sr_pixel_shuffle_forward(&k->x, k->r, &k->y);
    else if (k->kind == 1)
        sr_upsample_forward(&k->x, k->r, k->mode, &k->y);
    else
        sr_maxpool2_forward(&k->x, &k->y);
    return dot_d(k->rr, k->y.data, sr_tensor_numel(&k->y));
}

static void check_map(int kind, int r, sr_interp mode, int n, int c, int h, int w)
{
    rng g = { 17 + (uint64_t)kind * 5 + (uint64_t)r * 3 + mode };
    map_ctx k = { kind, r, mode, sr_tensor_alloc(n, c, h, w), { 0, 0, 0, 0, NULL }, NULL };
    if (kind == 0)
        k.y = sr_tensor_alloc(n, c / (r * r), h * r, w * r);
    else if (kind == 1)
        k.y = sr_tensor_alloc(n, c, h * r, w * r);
    else
        k.y = sr_tensor_alloc(n, c, h / 2, w / 2);
    size_t nx = sr_tensor_numel(&k.x), ny = sr_tensor_numel(&k.y);
    float eps = 0.25f;
    if (kind == 2) {
        /* distinct values at least 0.05 apart: a 1e-2 step never flips the max */
        for (size_t i = 0; i < nx; i++)
            k.x.data[i] = 0.05f * (float)((i * 37) % nx) - 1.0f;
        eps = 1e-2f;
    } else {
        fill_rand(&g, k.x.data, nx, 1.0f);
    }
    sr_tensor dy = k.y, dx = k.x;
    dy.data = sr_alloc_floats(ny);
    dx.data = sr_alloc_floats(nx);
    fill_rand(&g, dy.data, ny, 1.0f);
    k.rr = dy.data;
    if (kind == 0)
        sr_pixel_shuffle_backward(&dy, r, &dx);
    else if (kind == 1)
        sr_upsample_backward(&dy, r, mode, &dx);
    else
        sr_maxpool2_backward(&k.x, &dy, &dx);
    double e = gradcheck(k.x.data, nx, dx.data, map_loss, &k, eps);
    CHECK_MSG(e < TOL, "kind %d r %d mode %d: rel err %g", kind, r, (int)mode, e);
    sr_tensor_free(&k.x);
    sr_tensor_free(&k.y);
    sr_tensor_free(&dy);
    sr_tensor_free(&dx);
}

static void test_pixel_shuffle_grad(void)
{
    check_map(0, 2, 0, 2, 8, 3, 4);
    check_map(0, 3, 0, 1, 18, 2, 3);
}

static void test_upsample_grad(void)
{
    for (int mode = 0; mode < 3; mode++)
        for (int s = 2; s <= 4; s++)
            check_map(1, s, (sr_interp)mode, 2, 2, 5, 4);
    check_map(1, 4, SR_INTERP_BICUBIC, 1, 1, 1, 3); /* one row: all taps clamp */
}

static void test_maxpool_grad(void)
{
    check_map(2, 0, 0, 2, 3, 6, 8);
    check_map(2, 0, 0, 1, 2, 5, 7); /* odd: last row/column dropped */
}

int main(void)
{
    RUN(test_conv_grad_gemm);
    RUN(test_conv_grad_auto);
    RUN(test_conv_grad_direct_avx2);
    RUN(test_pointwise_grad);
    RUN(test_prelu_grad);
    RUN(test_pixel_shuffle_grad);
    RUN(test_upsample_grad);
    RUN(test_maxpool_grad);
    return testlib_summary();
}
