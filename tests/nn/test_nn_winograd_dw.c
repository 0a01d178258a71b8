/* test_nn_winograd_dw.c: the weight gradient of 3x3 stride-1 pad-1 convs
 * by Winograd F(4x4, 3x3) (training).
 *  - the AVX2 kernel and the plain-C Winograd reference both agree with the
 *    six-loop double-precision correlation within WINO_DW_REL_BOUND, on a
 *    batch of 2, shapes with partial tiles and channel counts that are not
 *    multiples of the kernel's blocks (6 input x 16 output channels), 1x1
 *    images, weights accumulated onto existing values;
 *  - begin / add image by image / end gives the bits of one call on the
 *    batch (the sums run in the same order);
 *  - dx and dbias are unchanged by the dweight kernel: the same bits as the
 *    Winograd dx of SRGAN_CONV=winograd without dweight;
 *  - _acc (dx +=) gives the bits of _add into a buffer plus sr_add, and
 *    _gated those of _add then the ReLU / LReLU backward;
 *  - AUTO's choice: Winograd dweight where both channel counts reach
 *    SR_WINOGRAD_MIN_CHANNELS, the direct/im2col kernels elsewhere (their
 *    error is far below the bound). */
#include "nn_testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Max |dw - ref| / max |ref| against the double six-loop, inputs and output
 * gradients uniform in [-1, 1], a batch of 2: measured up to 5.1e-7 for the
 * AVX2 kernel and 1.0e-6 for the plain-C one (whose dU sums run tile by
 * tile over the whole batch, longer chains than the kernel's per-band
 * partial sums), and 5.4e-7 for im2col + sgemm: the fp32 sums over
 * thousands of pixels dominate, not the transforms (which multiply by up to
 * 8). 1e-5 leaves a margin of 10 over the worst. */
#define WINO_DW_REL_BOUND 1e-5

typedef struct shape {
    int cin, cout, h, w;
} shape;

static const shape SHAPES[] = {
    {64, 64, 32, 32}, {8, 8, 13, 11}, {70, 24, 17, 5}, {16, 40, 130, 6},
    {64, 256, 9, 70}, {8, 8, 1, 1},   {64, 64, 2, 1},  {13, 17, 40, 40},
};

typedef struct prob {
    sr_conv2d c;
    sr_tensor x, dy;
    size_t nw;
} prob;

static prob make(const shape *s, int n, uint64_t seed)
{
    rng r = {seed};
    prob P;
    P.c = (sr_conv2d){.cin = s->cin, .cout = s->cout, .kh = 3, .kw = 3, .stride = 1, .pad = 1};
    P.nw = (size_t)s->cout * s->cin * 9;
    P.c.weight = sr_alloc_floats(P.nw);
    fill_rand(&r, P.c.weight, P.nw, (float)sqrt(6.0 / (9.0 * s->cin)));
    P.x = sr_tensor_alloc(n, s->cin, s->h, s->w);
    P.dy = sr_tensor_alloc(n, s->cout, s->h, s->w);
    fill_rand(&r, P.x.data, sr_tensor_numel(&P.x), 1.0f);
    fill_rand(&r, P.dy.data, sr_tensor_numel(&P.dy), 1.0f);
    return P;
}

static void unmake(prob *P)
{
    sr_free_floats(P->c.weight);
    sr_tensor_free(&P->x);
    sr_tensor_free(&P->dy);
}

/* The six loops, in double: dw[co][ci][ky][kx] = sum dy * x shifted. */
static void dw_six_loop(const prob *P, double *dw)
{
    const int n = P->x.n, C = P->c.cin, K = P->c.cout, h = P->x.h, w = P->x.w;
    memset(dw, 0, P->nw * sizeof(double));
    for (int b = 0; b < n; b++)
        for (int co = 0; co < K; co++)
            for (int ci = 0; ci < C; ci++)
                for (int ky = 0; ky < 3; ky++)
                    for (int kx = 0; kx < 3; kx++) {
                        double s = 0.0;
                        for (int oy = 0; oy < h; oy++) {
                            const int iy = oy - 1 + ky;
                            if (iy < 0 || iy >= h)
                                continue;
                            for (int ox = 0; ox < w; ox++) {
                                const int ix = ox - 1 + kx;
                                if (ix < 0 || ix >= w)
                                    continue;
                                s += (double)P->dy.data[(((size_t)b * K + co) * h + oy) * w + ox] *
                                     P->x.data[(((size_t)b * C + ci) * h + iy) * w + ix];
                            }
                        }
                        dw[(((size_t)co * C + ci) * 3 + ky) * 3 + kx] += s;
                    }
}

/* dweight (starting from `start`), dbias and dx by impl */
static void backward(const prob *P, sr_conv_impl impl, const float *start, float *dw, float *db,
                     sr_tensor *dx)
{
    memcpy(dw, start, P->nw * sizeof(float));
    memset(db, 0, (size_t)P->c.cout * sizeof(float));
    sr_tensor one = P->x;
    one.n = 1;
    float *scratch = malloc(sr_conv2d_scratch_floats(&P->c, &one) * sizeof(float));
    sr_conv2d_backward_impl(&P->c, &P->x, &P->dy, dx, dw, db, scratch, impl);
    free(scratch);
}

static double rel_to_ref(const float *got, const float *start, const double *ref, size_t n)
{
    double e = 0.0, m = 1e-30;
    for (size_t i = 0; i < n; i++) {
        const double want = (double)start[i] + ref[i];
        if (fabs(ref[i]) > m)
            m = fabs(ref[i]);
        if (fabs(got[i] - want) > e)
            e = fabs(got[i] - want);
    }
    return e / m;
}

static int have_avx2(void)
{
    sr_conv2d probe = {.cin = 1, .cout = 1, .kh = 3, .kw = 3, .stride = 1, .pad = 1};
    return sr_conv2d_impl_supported(&probe, SR_CONV_WINOGRAD);
}

static void test_error_bound(void)
{
    const int avx2 = have_avx2();
    double worst[3] = {0, 0, 0};
    for (size_t i = 0; i < sizeof SHAPES / sizeof *SHAPES; i++) {
        const shape *s = &SHAPES[i];
        prob P = make(s, 2, 100 + i);
        double *ref = malloc(P.nw * sizeof(double));
        float *start = sr_alloc_floats(P.nw), *dw = sr_alloc_floats(P.nw);
        float *db = sr_alloc_floats((size_t)s->cout);
        rng r = {7 + i};
        fill_rand(&r, start, P.nw, 0.01f); /* dweight accumulates */
        dw_six_loop(&P, ref);
        static const sr_conv_impl impls[3] = {SR_CONV_WINOGRAD, SR_CONV_WINOGRAD_REF,
                                              SR_CONV_GEMM};
        for (int k = 0; k < 3; k++) {
            if (k == 0 && !avx2)
                continue;
            backward(&P, impls[k], start, dw, db, NULL);
            const double e = rel_to_ref(dw, start, ref, P.nw);
            if (e > worst[k])
                worst[k] = e;
            CHECK_MSG(e <= WINO_DW_REL_BOUND, "impl %d cin %d cout %d %dx%d: dw rel err %g",
                      (int)impls[k], s->cin, s->cout, s->h, s->w, e);
        }
        free(ref);
        sr_free_floats(start);
        sr_free_floats(dw);
        sr_free_floats(db);
        unmake(&P);
    }
    fprintf(stderr, "  worst dw rel err: winograd %.3g, winograd-ref %.3g, im2col %.3g\n",
            worst[0], worst[1], worst[2]);
}

/* begin / add per image / end == one call on the batch, bit for bit; and
 * dx, dbias are those of the Winograd dx without dweight */
static void test_image_by_image(void)
{
    if (!have_avx2())
        return;
    const shape s = {64, 40, 21, 19};
    prob P = make(&s, 3, 555);
    float *zero = sr_alloc_floats(P.nw), *dw0 = sr_alloc_floats(P.nw),
          *dw1 = sr_alloc_floats(P.nw);
    float *db0 = sr_alloc_floats((size_t)s.cout), *db1 = sr_alloc_floats((size_t)s.cout);
    float *db2 = sr_alloc_floats((size_t)s.cout);
    sr_tensor dx0 = sr_tensor_alloc(3, s.cin, s.h, s.w), dx1 = sr_tensor_alloc(3, s.cin, s.h, s.w);
    sr_tensor dx2 = sr_tensor_alloc(3, s.cin, s.h, s.w);
    backward(&P, SR_CONV_WINOGRAD, zero, dw0, db0, &dx0);

    sr_tensor one = P.x;
    one.n = 1;
    float *scratch = malloc(sr_conv2d_scratch_floats(&P.c, &one) * sizeof(float));
    memset(db1, 0, (size_t)s.cout * sizeof(float));
    sr_conv2d_bwd b;
    sr_conv2d_backward_begin(&b, &P.c, dw1, db1, scratch, SR_CONV_WINOGRAD);
    CHECK(b.wdx == 1 && b.wdw == 1);
    for (int i = 0; i < 3; i++) {
        const size_t xs = (size_t)s.cin * s.h * s.w, ys = (size_t)s.cout * s.h * s.w;
        sr_tensor xi = {1, s.cin, s.h, s.w, P.x.data + i * xs};
        sr_tensor dyi = {1, s.cout, s.h, s.w, P.dy.data + i * ys};
        sr_tensor dxi = {1, s.cin, s.h, s.w, dx1.data + i * xs};
        sr_conv2d_backward_add(&b, &xi, &dyi, &dxi);
    }
    sr_conv2d_backward_end(&b);
    CHECK(!memcmp(dw0, dw1, P.nw * sizeof(float)));
    CHECK(!memcmp(db0, db1, (size_t)s.cout * sizeof(float)));
    CHECK(!memcmp(dx0.data, dx1.data, sr_tensor_numel(&dx0) * sizeof(float)));

    memset(db2, 0, (size_t)s.cout * sizeof(float));
    sr_conv2d_backward_impl(&P.c, &P.x, &P.dy, &dx2, NULL, db2, scratch, SR_CONV_WINOGRAD);
    CHECK(!memcmp(db0, db2, (size_t)s.cout * sizeof(float)));
    CHECK(!memcmp(dx0.data, dx2.data, sr_tensor_numel(&dx0) * sizeof(float)));
    free(scratch);
    sr_free_floats(zero);
    sr_free_floats(dw0);
    sr_free_floats(dw1);
    sr_free_floats(db0);
    sr_free_floats(db1);
    sr_free_floats(db2);
    sr_tensor_free(&dx0);
    sr_tensor_free(&dx1);
    sr_tensor_free(&dx2);
    unmake(&P);
}

/* _acc (dx += the input gradient) gives the bits of _add into a buffer
 * followed by sr_add: with Winograd dx (the sum made in the kernel's store,
 * dx its own residual; widths with tile chunks cut by the image edge) and
 * with im2col (the buffer path); dweight and dbias unchanged by it */
static void test_acc(void)
{
    static const shape S[] = {{64, 40, 21, 19}, {16, 24, 12, 37}, {8, 8, 1, 1}};
    static const sr_conv_impl impls[] = {SR_CONV_WINOGRAD, SR_CONV_GEMM};
    for (size_t si = 0; si < sizeof S / sizeof *S; si++)
        for (size_t ki = 0; ki < sizeof impls / sizeof *impls; ki++) {
            const shape s = S[si];
            prob P = make(&s, 2, 900 + si);
            rng r = {77 + si};
            const size_t nx = (size_t)2 * s.cin * s.h * s.w, nb = (size_t)s.cout;
            sr_tensor dxa = sr_tensor_alloc(2, s.cin, s.h, s.w), dxb = sr_tensor_alloc(2, s.cin, s.h, s.w);
            float *t = sr_alloc_floats(nx), *tmp = sr_alloc_floats(nx);
            float *dw[2] = {sr_alloc_floats(P.nw), sr_alloc_floats(P.nw)};
            float *db[2] = {sr_alloc_floats(nb), sr_alloc_floats(nb)};
            fill_rand(&r, dxa.data, nx, 1.0f);
            memcpy(dxb.data, dxa.data, nx * sizeof(float));
            sr_tensor one = P.x;
            one.n = 1;
            float *scratch = malloc(sr_conv2d_scratch_floats(&P.c, &one) * sizeof(float));
            for (int k = 0; k < 2; k++) {
                memset(dw[k], 0, P.nw * sizeof(float));
                memset(db[k], 0, nb * sizeof(float));
                sr_conv2d_bwd b;
                sr_conv2d_backward_begin(&b, &P.c, dw[k], db[k], scratch, impls[ki]);
                CHECK(b.wdx == (have_avx2() && impls[ki] == SR_CONV_WINOGRAD));
                if (k == 0) {
                    sr_conv2d_backward_acc(&b, &P.x, &P.dy, &dxa, tmp);
                } else {
                    sr_tensor tt = dxb;
                    tt.data = t;
                    sr_conv2d_backward_add(&b, &P.x, &P.dy, &tt);
                    sr_add(dxb.data, t, dxb.data, nx);
                }
                sr_conv2d_backward_end(&b);
            }
            CHECK_MSG(!memcmp(dxa.data, dxb.data, nx * sizeof(float)), "shape %zu impl %d", si,
                      (int)impls[ki]);
            CHECK(!memcmp(dw[0], dw[1], P.nw * sizeof(float)));
            CHECK(!memcmp(db[0], db[1], nb * sizeof(float)));
            free(scratch);
            for (int k = 0; k < 2; k++) {
                sr_free_floats(dw[k]);
                sr_free_floats(db[k]);
            }
            sr_free_floats(t);
            sr_free_floats(tmp);
            sr_tensor_free(&dxa);
            sr_tensor_free(&dxb);
            unmake(&P);
        }
}

/* _gated (dx stored, then the ReLU / LReLU derivative at a gate) gives the
 * bits of _add then sr_relu_backward / sr_lrelu_backward: Winograd (in the
 * store, edge chunks included) and im2col (the separate pass); gates with
 * zeros, negatives and a NaN */
static void test_gated(void)
{
    static const shape S[] = {{64, 40, 21, 19}, {16, 24, 12, 37}};
    static const sr_conv_impl impls[] = {SR_CONV_WINOGRAD, SR_CONV_GEMM};
    for (size_t si = 0; si < sizeof S / sizeof *S; si++)
        for (size_t ki = 0; ki < sizeof impls / sizeof *impls; ki++)
            for (int act = SR_ACT_RELU; act <= SR_ACT_LRELU; act++) {
                const shape s = S[si];
                prob P = make(&s, 2, 300 + si);
                rng r = {31 + si};
                const size_t nx = (size_t)2 * s.cin * s.h * s.w;
                sr_tensor dxa = sr_tensor_alloc(2, s.cin, s.h, s.w);
                sr_tensor dxb = sr_tensor_alloc(2, s.cin, s.h, s.w);
                float *gate = sr_alloc_floats(nx);
                fill_rand(&r, gate, nx, 1.0f);
                for (size_t i = 0; i < nx; i += 7)
                    gate[i] = 0.0f;
                gate[5] = NAN;
                sr_tensor one = P.x;
                one.n = 1;
                float *scratch = malloc(sr_conv2d_scratch_floats(&P.c, &one) * sizeof(float));
                sr_conv2d_bwd b;
                sr_conv2d_backward_begin(&b, &P.c, NULL, NULL, scratch, impls[ki]);
                sr_conv2d_backward_gated(&b, &P.x, &P.dy, &dxa, (sr_act_kind)act, 0.2f, gate);
                sr_conv2d_backward_add(&b, &P.x, &P.dy, &dxb);
                sr_conv2d_backward_end(&b);
                if (act == SR_ACT_RELU)
                    sr_relu_backward(gate, dxb.data, dxb.data, nx);
                else
                    sr_lrelu_backward(gate, dxb.data, dxb.data, nx, 0.2f);
                CHECK_MSG(!memcmp(dxa.data, dxb.data, nx * sizeof(float)), "shape %zu impl %d act %d",
                          si, (int)impls[ki], act);
                free(scratch);
                sr_free_floats(gate);
                sr_tensor_free(&dxa);
                sr_tensor_free(&dxb);
                unmake(&P);
            }
}

static void test_auto_choice(void)
{
    static const struct { int cin, cout, want; } cases[] = {
        {64, 64, 1}, {8, 8, 1}, {3, 64, 0}, {64, 3, 0}, {64, 256, 1},
    };
    const int avx2 = have_avx2();
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        sr_conv2d c = {.cin = cases[i].cin, .cout = cases[i].cout, .kh = 3, .kw = 3,
                       .stride = 1, .pad = 1};
        c.weight = sr_alloc_floats((size_t)c.cin * c.cout * 9);
        float *dw = sr_alloc_floats((size_t)c.cin * c.cout * 9);
        sr_tensor x = {1, c.cin, 8, 8, NULL};
        float *scratch = malloc(sr_conv2d_scratch_floats(&c, &x) * sizeof(float));
        sr_conv2d_bwd b;
        sr_conv2d_backward_begin(&b, &c, dw, NULL, scratch, SR_CONV_AUTO);
        CHECK_MSG(b.wdw == (avx2 ? cases[i].want : 0), "cin %d cout %d: wdw %d", c.cin, c.cout,
                  b.wdw);
        sr_conv2d_backward_end(&b);
        /* not 3x3 pad 1: never */
        sr_conv2d c5 = c;
        c5.kh = c5.kw = 5;
        c5.pad = 2;
        sr_conv2d_backward_begin(&b, &c5, dw, NULL, scratch, SR_CONV_WINOGRAD);
        CHECK(b.wdw == 0 && b.wdx == 0);
        free(scratch);
        sr_free_floats(c.weight);
        sr_free_floats(dw);
    }
}

int main(void)
{
    if (getenv("SRGAN_CONV")) {
        fprintf(stderr, "SRGAN_CONV is set; this test needs the default dispatch\n");
        return 77;
    }
    RUN(test_error_bound);
    RUN(test_image_by_image);
    RUN(test_acc);
    RUN(test_gated);
    RUN(test_auto_choice);
    return testlib_summary();
}
