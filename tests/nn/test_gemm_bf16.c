/* test_gemm_bf16.c: the bf16 GEMM of the im2col convs in bf16 training
 * (gemm_bf16.c; sr_conv2d.bf16_gemm).
 *  - the vdpbf16ps kernel gives the reference's bits (operands rounded to
 *    bf16, each sum over the pairs of k in order, odd k then even, one
 *    rounding per product), for both layouts of A (a weight matrix and its
 *    transpose), odd K, M not a multiple of 6 or 12, N not a multiple of 16
 *    or 32 and N under 16;
 *  - the reference is within bf16's error of a double GEMM of the fp32
 *    operands;
 *  - a conv flagged bf16_gemm (the discriminator's 4x4 convs, stride 2 and
 *    1) gives, forward and dx, the same bits with weights packed per call
 *    and prepared (sr_conv2d_prepare_gemm_bf16), within BF16_REL of fp32's
 *    and not fp32's bits (bf16 really ran); dweight and dbias keep fp32's
 *    bits; release frees the packing.
 * Exit 77 after the reference parts on CPUs where bf16 training does not run
 * vdpbf16ps (no AVX512-BF16, or AMX; the meson test sets SRGAN_NO_AMX). */
#include "nn_testutil.h"
#include "../../src/nn/conv2d_internal.h" /* the GEMM and its reference */

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Relative L2 distance bound of a conv's bf16 result from fp32's, for
 * uniform [-1, 1] inputs and weights: each product carries two roundings
 * of up to 2^-9 relative, and random-sign sums keep that relative size
 * (measured 2.0e-3 to 2.1e-3 over these shapes); 1e-2 leaves margin 3. */
#define BF16_REL 1e-2

static int kernel_runs(void)
{
    return sr_bf16_supported() && !sr_amx_supported();
}

static double rel_l2(const float *a, const float *b, size_t n)
{
    double d = 0, r = 0;
    for (size_t i = 0; i < n; i++) {
        d += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        r += (double)b[i] * b[i];
    }
    return sqrt(d / (r > 0 ? r : 1));
}

typedef struct gshape {
    int M, N, K, trans; /* trans: A given as its transpose (K x M, row-major) */
} gshape;

static const gshape shapes[] = {
    {12, 32, 64, 0}, {13, 17, 33, 0}, {5, 7, 3, 1}, {24, 100, 48, 1},
    {64, 225, 129, 0}, {7, 16, 1, 0}, {30, 48, 200, 1}, {1, 9, 2, 0},
};

/* A (M x K in the given layout), B (K x N), and the packed A */
typedef struct gcase {
    float *a, *b;
    size_t sm, sk;
    uint32_t *ap;
} gcase;

static void make_case(const gshape *s, rng *r, gcase *c)
{
    c->a = malloc((size_t)s->M * s->K * sizeof(float));
    c->b = malloc((size_t)s->K * s->N * sizeof(float));
    c->ap = malloc(sr_gemm_bf16_a_words(s->M, s->K) * sizeof(uint32_t));
    fill_rand(r, c->a, (size_t)s->M * s->K, 1.0f);
    fill_rand(r, c->b, (size_t)s->K * s->N, 1.0f);
    c->sm = s->trans ? 1 : (size_t)s->K;
    c->sk = s->trans ? (size_t)s->M : 1;
    sr_gemm_bf16_pack_a(s->M, s->K, c->a, c->sm, c->sk, c->ap);
}

static void free_case(gcase *c)
{
    free(c->a);
    free(c->b);
    free(c->ap);
}

static void test_reference_near_double(void)
{
    rng r = {11};
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        const gshape *s = &shapes[i];
        gcase c;
        make_case(s, &r, &c);
        float *y = malloc((size_t)s->M * s->N * sizeof(float));
        float *d = malloc((size_t)s->M * s->N * sizeof(float));
        sr_gemm_bf16_ref(s->M, s->N, s->K, c.a, c.sm, c.sk, c.b, (size_t)s->N, y, (size_t)s->N);
        for (int m = 0; m < s->M; m++)
            for (int n = 0; n < s->N; n++) {
                double acc = 0;
                for (int k = 0; k < s->K; k++)
                    acc += (double)c.a[m * c.sm + k * c.sk] * c.b[(size_t)k * s->N + n];
                d[(size_t)m * s->N + n] = (float)acc;
            }
        const double e = rel_l2(y, d, (size_t)s->M * s->N);
        CHECK_MSG(e < BF16_REL, "shape %zu: reference %.3g from double", i, e);
        CHECK_MSG(e > 0 || s->K == 1, "shape %zu: no bf16 rounding seen", i);
        free(y);
        free(d);
        free_case(&c);
    }
}

static void test_kernel_same_bits_as_reference(void)
{
    if (!kernel_runs())
        return;
    rng r = {12};
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        const gshape *s = &shapes[i];
        gcase c;
        make_case(s, &r, &c);
        const size_t ldc = (size_t)s->N + 3; /* a C wider than N: only N columns written */
        float *y = malloc((size_t)s->M * ldc * sizeof(float));
        float *ref = malloc((size_t)s->M * ldc * sizeof(float));
        float *scr = sr_alloc_floats(sr_gemm_bf16_scratch(s->M, s->N, s->K));
        for (size_t k = 0; k < (size_t)s->M * ldc; k++)
            y[k] = ref[k] = 7.0f;
        sr_gemm_bf16(c.ap, s->M, s->N, s->K, c.b, (size_t)s->N, y, ldc, scr);
        sr_gemm_bf16_ref(s->M, s->N, s->K, c.a, c.sm, c.sk, c.b, (size_t)s->N, ref, ldc);
        CHECK_MSG(!memcmp(y, ref, (size_t)s->M * ldc * sizeof(float)),
                  "shape %zu (%dx%dx%d%s): kernel bits differ from the reference", i, s->M, s->N,
                  s->K, s->trans ? ", A transposed" : "");
        free(y);
        free(ref);
        sr_free_floats(scr);
        free_case(&c);
    }
}

/* A discriminator-like conv: 4x4, pad 1, stride st */
typedef struct cshape {
    int n, cin, cout, h, w, st;
} cshape;

static void run_conv(sr_conv2d *c, const sr_tensor *x, const sr_tensor *dy, float *y, float *dx,
                     float *dw, float *db)
{
    sr_tensor yt = {x->n, c->cout, dy->h, dy->w, y};
    sr_tensor dxt = {x->n, c->cin, x->h, x->w, dx};
    float *scr = sr_alloc_floats(sr_conv2d_scratch_floats(c, x));
    sr_conv2d_forward(c, x, &yt, scr);
    memset(dw, 0, (size_t)c->cout * c->cin * 16 * sizeof(float));
    memset(db, 0, (size_t)c->cout * sizeof(float));
    sr_conv2d_backward(c, x, dy, &dxt, dw, db, scr);
    sr_free_floats(scr);
}

static void test_conv(void)
{
    static const cshape cs[] = {{3, 8, 16, 20, 22, 2}, {2, 16, 13, 9, 11, 1}, {1, 3, 8, 33, 32, 2}};
    rng r = {13};
    for (size_t i = 0; i < sizeof cs / sizeof *cs; i++) {
        const cshape *s = &cs[i];
        const int oh = sr_conv_out_size(s->h, 4, s->st, 1), ow = sr_conv_out_size(s->w, 4, s->st, 1);
        const size_t nw = (size_t)s->cout * s->cin * 16, nx = (size_t)s->n * s->cin * s->h * s->w,
                     ny = (size_t)s->n * s->cout * oh * ow;
        sr_conv2d c = {.cin = s->cin, .cout = s->cout, .kh = 4, .kw = 4, .stride = s->st, .pad = 1};
        c.weight = sr_alloc_floats(nw);
        c.bias = sr_alloc_floats((size_t)s->cout);
        float *x = sr_alloc_floats(nx), *dyv = sr_alloc_floats(ny);
        fill_rand(&r, c.weight, nw, 1.0f);
        fill_rand(&r, c.bias, (size_t)s->cout, 1.0f);
        fill_rand(&r, x, nx, 1.0f);
        fill_rand(&r, dyv, ny, 1.0f);
        sr_tensor xt = {s->n, s->cin, s->h, s->w, x}, dy = {s->n, s->cout, oh, ow, dyv};
        float *y[3], *dx[3], *dw[3], *db[3];
        for (int v = 0; v < 3; v++) {
            y[v] = sr_alloc_floats(ny);
            dx[v] = sr_alloc_floats(nx);
            dw[v] = sr_alloc_floats(nw);
            db[v] = sr_alloc_floats((size_t)s->cout);
        }
        run_conv(&c, &xt, &dy, y[0], dx[0], dw[0], db[0]); /* fp32 */
        c.bf16_gemm = 1;
        run_conv(&c, &xt, &dy, y[1], dx[1], dw[1], db[1]); /* bf16, packed per call */
        CHECK(sr_conv2d_prepare_gemm_bf16(&c) == 0);
        CHECK((c.gemm_bf16w != NULL) == kernel_runs());
        run_conv(&c, &xt, &dy, y[2], dx[2], dw[2], db[2]); /* bf16, prepared */
        CHECK(!memcmp(y[1], y[2], ny * sizeof(float)));
        CHECK(!memcmp(dx[1], dx[2], nx * sizeof(float)));
        for (int v = 1; v < 3; v++) { /* dweight and dbias stay fp32 */
            CHECK(!memcmp(dw[v], dw[0], nw * sizeof(float)));
            CHECK(!memcmp(db[v], db[0], (size_t)s->cout * sizeof(float)));
        }
        const double ey = rel_l2(y[1], y[0], ny), ex = rel_l2(dx[1], dx[0], nx);
        fprintf(stderr, "  conv %zu: bf16 vs fp32 relative L2: y %.2e, dx %.2e\n", i, ey, ex);
        CHECK(ey < BF16_REL && ex < BF16_REL);
        if (kernel_runs()) /* bf16 really ran */
            CHECK(ey > 0 && ex > 0);
        else /* elsewhere the flag changes nothing */
            CHECK(ey == 0 && ex == 0);
        sr_conv2d_release(&c);
        CHECK(c.gemm_bf16w == NULL);
        for (int v = 0; v < 3; v++) {
            sr_free_floats(y[v]);
            sr_free_floats(dx[v]);
            sr_free_floats(dw[v]);
            sr_free_floats(db[v]);
        }
        sr_free_floats(c.weight);
        sr_free_floats(c.bias);
        sr_free_floats(x);
        sr_free_floats(dyv);
    }
}

int main(void)
{
    if (getenv("SRGAN_CONV")) {
        fprintf(stderr, "SRGAN_CONV is set; this test needs the default dispatch\n");
        return 77;
    }
    RUN(test_reference_near_double);
    RUN(test_kernel_same_bits_as_reference);
    RUN(test_conv);
    int rc = testlib_summary();
    if (rc == 0 && !kernel_runs()) {
        fprintf(stderr, "bf16 training does not run vdpbf16ps on this CPU: only the reference "
                        "and the fp32 fallback were tested\n");
        return 77;
    }
    return rc;
}
