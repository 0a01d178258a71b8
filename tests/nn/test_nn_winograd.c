/* test_nn_winograd.c: Winograd F(4x4, 3x3) convolution.
 *  - the AVX2 kernel gives the same bits as the plain-C Winograd reference
 *    (same operations in the same order) on shapes with channels, heights
 *    and widths that are not multiples of 4 (or of the kernel's blocks),
 *    1x1 images, every grid phase, bias or not, and fused epilogues;
 *  - both agree with the six-loop (double) reference and with the im2col
 *    path within WINO_REL_BOUND (the error F(4x4, 3x3) adds in fp32);
 *  - the grid is anchored to image coordinates: a crop run with its origin
 *    gives the whole image's bits wherever the tile inputs agree (what the
 *    tiler's bit-exact tiles rest on), and a wrong origin does not;
 *  - prepared and per-call weight transforms agree; AUTO picks Winograd
 *    exactly for prepared layers with enough output channels (AVX2-only
 *    CPUs);
 *  - sr_conv2d_reach counts the Winograd dependence cone;
 *  - backward: dx by Winograd agrees with im2col within the bound. */
#include "wino_layer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Max |y - ref| / max |ref| against the double-precision six-loop, for
 * realistic layers (Kaiming weights, activations in [-1, 1] or ReLU'd):
 * measured up to about 2e-6 for 64 channels (about 8x the im2col path's
 * error; see bench/README.md), so 2e-5 leaves margin 10. */
#define WINO_REL_BOUND 2e-5

static const wshape SHAPES[] = {
    {1, 1, 1, 1},    {3, 5, 7, 9},     {16, 16, 13, 11}, {64, 64, 33, 35}, {64, 256, 9, 70},
    {70, 3, 17, 5},  {5, 64, 1, 40},   {64, 64, 2, 1},   {7, 13, 4, 4},    {64, 64, 1, 1},
    {2, 7, 5, 131},  {64, 24, 130, 6},
};

static int have_avx2(void)
{
    sr_conv2d probe = {.cin = 1, .cout = 1, .kh = 3, .kw = 3, .stride = 1, .pad = 1};
    return sr_conv2d_impl_supported(&probe, SR_CONV_WINOGRAD);
}

static void test_avx2_same_bits_as_reference(void)
{
    if (!have_avx2()) {
        fprintf(stderr, "  no AVX2 + FMA: AVX2 kernel not tested\n");
        return;
    }
    static const int phases[][2] = {{0, 0}, {1, 3}, {2, 1}, {3, 2}, {5, 10}};
    int runs = 0;
    for (size_t i = 0; i < sizeof SHAPES / sizeof *SHAPES; i++) {
        layer L = make_layer(&SHAPES[i], 100 + i, (int)(i % 2), 0);
        sr_tensor res = sr_tensor_alloc(1, L.c.cout, L.x.h, L.x.w);
        rng r = {9 + i};
        fill_rand(&r, res.data, sr_tensor_numel(&res), 1.0f);
        float alpha[2] = {0.25f, -0.5f};
        sr_conv_epilogue eps[] = {
            {0},
            {.residual = res.data, .act = SR_ACT_RELU},
            {.act = SR_ACT_LRELU, .slope = 0.1f},
            {.act = SR_ACT_PRELU, .alpha = alpha, .nalpha = 2,
             .group = (L.c.cout + 1) / 2},
        };
        for (size_t ph = 0; ph < sizeof phases / sizeof *phases; ph++)
            for (size_t e = 0; e < sizeof eps / sizeof *eps; e++) {
                const sr_conv_epilogue *ep = e ? &eps[e] : NULL;
                sr_tensor a = run(&L, SR_CONV_WINOGRAD, ep, phases[ph][0], phases[ph][1]);
                sr_tensor b = run(&L, SR_CONV_WINOGRAD_REF, ep, phases[ph][0], phases[ph][1]);
                CHECK_MSG(same_bits(&a, &b), "cin %d cout %d %dx%d phase %d,%d ep %d",
                          L.c.cin, L.c.cout, L.x.h, L.x.w, phases[ph][0], phases[ph][1], (int)e);
                runs++;
                sr_tensor_free(&a);
                sr_tensor_free(&b);
            }
        /* prepared weights: the same bits as the per-call transform */
        sr_tensor a = run(&L, SR_CONV_WINOGRAD, NULL, 1, 2);
        CHECK(sr_conv2d_prepare(&L.c) == 0);
        CHECK(L.c.wino != NULL);
        sr_tensor b = run(&L, SR_CONV_WINOGRAD, NULL, 1, 2);
        CHECK(same_bits(&a, &b));
        sr_tensor_free(&a);
        sr_tensor_free(&b);
        sr_tensor_free(&res);
        free_layer(&L);
    }
    fprintf(stderr, "  %d runs bit-identical\n", runs);
}

/* Winograd (both kernels), im2col, and the bound against the six-loop. */
static void test_error_bound(void)
{
    double worst_w = 0, worst_g = 0;
    for (size_t i = 0; i < sizeof SHAPES / sizeof *SHAPES; i++)
        for (int relu = 0; relu < 2; relu++) {
            layer L = make_layer(&SHAPES[i], 300 + i + 50 * relu, 1, relu);
            sr_tensor ref = sr_tensor_alloc(1, L.c.cout, L.x.h, L.x.w);
            sr_conv2d_forward_ref(&L.c, &L.x, &ref);
            const size_t n = sr_tensor_numel(&ref);
            sr_tensor g = run(&L, SR_CONV_GEMM, NULL, 0, 0);
            double eg = max_rel_err(g.data, ref.data, n, 1e-3);
            worst_g = fmax(worst_g, eg);
            for (int k = 0; k < 2; k++) {
                if (k == 0 && !have_avx2())
                    continue;
                sr_tensor w = run(&L, k ? SR_CONV_WINOGRAD_REF : SR_CONV_WINOGRAD, NULL, 2, 3);
                double ew = max_rel_err(w.data, ref.data, n, 1e-3);
                double ewg = max_rel_err(w.data, g.data, n, 1e-3);
                worst_w = fmax(worst_w, ew);
                CHECK_MSG(ew <= WINO_REL_BOUND && ewg <= WINO_REL_BOUND,
                          "cin %d cout %d %dx%d: rel err %g vs ref, %g vs im2col", L.c.cin,
                          L.c.cout, L.x.h, L.x.w, ew, ewg);
                sr_tensor_free(&w);
            }
            sr_tensor_free(&g);
            sr_tensor_free(&ref);
            free_layer(&L);
        }
    fprintf(stderr, "  worst rel err vs six-loop: winograd %.3g, im2col %.3g (bound %g)\n",
            worst_w, worst_g, WINO_REL_BOUND);
    CHECK(worst_w > 0); /* it is a different computation */
}

/* Outputs of rows [a, b) whose 4x4 tile (anchored at multiples of 4) reads
 * only rows inside the crop [c0, c1) or outside the image [0, n). */
static int tile_inside(int v, int c0, int c1, int n)
{
    int t = v / 4 * 4, lo = t - 1 < 0 ? 0 : t - 1, hi = t + 5 > n ? n : t + 5;
    return lo >= c0 && hi <= c1;
}

static void test_crop_with_origin_is_exact(void)
{
    const wshape s = {24, 20, 37, 45};
    static const int crops[][4] = {{5, 30, 3, 41}, {0, 37, 6, 45}, {13, 22, 2, 27}, {1, 9, 0, 9}};
    for (int k = 0; k < 2; k++) {
        if (k == 0 && !have_avx2())
            continue;
        const sr_conv_impl impl = k ? SR_CONV_WINOGRAD_REF : SR_CONV_WINOGRAD;
        layer L = make_layer(&s, 77, 1, 0);
        sr_tensor whole = run(&L, impl, NULL, 0, 0);
        int wrong_origin_differs = 0;
        for (size_t ci = 0; ci < sizeof crops / sizeof *crops; ci++) {
            const int y0 = crops[ci][0], y1 = crops[ci][1], x0 = crops[ci][2], x1 = crops[ci][3];
            layer C = L;
            C.x = sr_tensor_alloc(1, s.cin, y1 - y0, x1 - x0);
            for (int c = 0; c < s.cin; c++)
                for (int y = y0; y < y1; y++)
                    memcpy(C.x.data + ((size_t)c * C.x.h + (y - y0)) * C.x.w,
                           L.x.data + ((size_t)c * s.h + y) * s.w + x0,
                           (size_t)(x1 - x0) * sizeof(float));
            sr_tensor part = run(&C, impl, NULL, y0, x0);
            sr_tensor off = run(&C, impl, NULL, y0 + 1, x0 + 2);
            int compared = 0, bad = 0;
            for (int c = 0; c < s.cout; c++)
                for (int y = y0; y < y1; y++)
                    for (int x = x0; x < x1; x++) {
                        if (!tile_inside(y, y0, y1, s.h) || !tile_inside(x, x0, x1, s.w))
                            continue;
                        size_t iw = ((size_t)c * s.h + y) * s.w + x;
                        size_t ip = ((size_t)c * part.h + (y - y0)) * part.w + (x - x0);
                        compared++;
                        if (memcmp(&whole.data[iw], &part.data[ip], sizeof(float)))
                            bad++;
                        if (whole.data[iw] != off.data[ip])
                            wrong_origin_differs = 1;
                    }
            CHECK_MSG(bad == 0, "impl %d crop %d: %d of %d interior outputs differ", (int)impl,
                      (int)ci, bad, compared);
            CHECK(compared > 0);
            sr_tensor_free(&part);
            sr_tensor_free(&off);
            sr_tensor_free(&C.x);
        }
        CHECK(wrong_origin_differs); /* the test can see a misplaced grid */
        sr_tensor_free(&whole);
        free_layer(&L);
    }
}

static void test_auto_dispatch_and_reach(void)
{
    const wshape big = {64, 64, 19, 23}, small = {64, 4, 19, 23}; /* below the minimum */
    layer L = make_layer(&big, 5, 1, 0), S = make_layer(&small, 6, 1, 0);
    int run_state = 0;
    /* unprepared: never Winograd */
    CHECK(sr_conv2d_reach(&L.c, &run_state) == 1 && run_state == 0);
    sr_tensor a = run(&L, SR_CONV_AUTO, NULL, 0, 0);
    sr_tensor d = run(&L, SR_CONV_WINOGRAD, NULL, 0, 0);
    if (have_avx2())
        CHECK(!same_bits(&a, &d));
    CHECK(sr_conv2d_prepare(&L.c) == 0 && sr_conv2d_prepare(&S.c) == 0);
    sr_tensor b = run(&L, SR_CONV_AUTO, NULL, 0, 0);
    if (have_avx2() && same_bits(&b, &d)) {
        /* AUTO picked Winograd: reach 3, 1, 3, ... along a run */
        run_state = 0;
        CHECK(sr_conv2d_reach(&L.c, &run_state) == 3);
        CHECK(sr_conv2d_reach(&L.c, &run_state) == 1);
        CHECK(sr_conv2d_reach(&L.c, &run_state) == 3);
        CHECK(sr_conv2d_reach(&S.c, &run_state) == 1 && run_state == 0);
        CHECK(sr_conv2d_reach(&L.c, &run_state) == 3);
        sr_tensor e = run(&S, SR_CONV_AUTO, NULL, 0, 0), f = run(&S, SR_CONV_WINOGRAD, NULL, 0, 0);
        CHECK(!same_bits(&e, &f));
        sr_tensor_free(&e);
        sr_tensor_free(&f);
    } else {
        fprintf(stderr, "  AUTO does not pick Winograd on this CPU\n");
        run_state = 0;
        CHECK(sr_conv2d_reach(&L.c, &run_state) == 1);
    }
    /* released: back to the direct paths */
    sr_conv2d_release(&L.c);
    CHECK(L.c.wino == NULL);
    sr_tensor c = run(&L, SR_CONV_AUTO, NULL, 0, 0);
    CHECK(same_bits(&a, &c));
    sr_tensor_free(&a);
    sr_tensor_free(&b);
    sr_tensor_free(&c);
    sr_tensor_free(&d);
    free_layer(&L);
    free_layer(&S);
}

/* Backward: dx by Winograd (the flipped, transposed kernel) agrees with the
 * im2col path within the bound; dweight and dbias are AUTO's, the same bits. */
static void test_backward_dx(void)
{
    if (!have_avx2())
        return;
    static const wshape sh[] = {{64, 64, 32, 32}, {3, 64, 13, 9}, {64, 3, 7, 30}, {16, 24, 1, 1}};
    for (size_t i = 0; i < sizeof sh / sizeof *sh; i++) {
        layer L = make_layer(&sh[i], 900 + i, 1, 1);
        const int n = 2; /* a batch: the transform is shared */
        sr_tensor x = sr_tensor_alloc(n, sh[i].cin, sh[i].h, sh[i].w);
        sr_tensor dy = sr_tensor_alloc(n, sh[i].cout, sh[i].h, sh[i].w);
        rng r = {31 + i};
        fill_rand(&r, x.data, sr_tensor_numel(&x), 1.0f);
        fill_rand(&r, dy.data, sr_tensor_numel(&dy), 1.0f);
        const size_t nw = (size_t)sh[i].cout * sh[i].cin * 9;
        sr_tensor dx[2];
        float *dw[2], *db[2];
        for (int k = 0; k < 2; k++) {
            dx[k] = sr_tensor_alloc(n, sh[i].cin, sh[i].h, sh[i].w);
            dw[k] = sr_alloc_floats(nw);
            db[k] = sr_alloc_floats((size_t)sh[i].cout);
            float *scratch = malloc(sr_conv2d_scratch_floats(&L.c, &x) * sizeof(float));
            sr_conv2d_backward_impl(&L.c, &x, &dy, &dx[k], dw[k], db[k], scratch,
                                    k ? SR_CONV_WINOGRAD : SR_CONV_GEMM);
            free(scratch);
        }
        double e = max_rel_err(dx[1].data, dx[0].data, sr_tensor_numel(&dx[0]), 1e-3);
        CHECK_MSG(e <= WINO_REL_BOUND && e > 0, "cin %d cout %d %dx%d: dx rel err %g",
                  sh[i].cin, sh[i].cout, sh[i].h, sh[i].w, e);
        CHECK(max_rel_err(dw[1], dw[0], nw, 1e-3) <= 1e-5);
        CHECK(!memcmp(db[0], db[1], (size_t)sh[i].cout * sizeof(float)));
        for (int k = 0; k < 2; k++) {
            sr_tensor_free(&dx[k]);
            sr_free_floats(dw[k]);
            sr_free_floats(db[k]);
        }
        sr_tensor_free(&x);
        sr_tensor_free(&dy);
        free_layer(&L);
    }
}

int main(void)
{
    if (getenv("SRGAN_CONV")) {
        fprintf(stderr, "SRGAN_CONV is set; this test needs the default dispatch\n");
        return 77;
    }
    RUN(test_avx2_same_bits_as_reference);
    RUN(test_error_bound);
    RUN(test_crop_with_origin_is_exact);
    RUN(test_auto_dispatch_and_reach);
    RUN(test_backward_dx);
    return testlib_summary();
}
