/* test_nn_winograd_bf16.c: bf16 Winograd F(4x4, 3x3) inference
 * (sr_conv2d_prepare_bf16, conv2d_winograd_bf16.c).
 *  - the AVX512-BF16 kernel (vdpbf16ps) gives the same bits as the plain-C
 *    reference (SRGAN_CONV=winograd-ref's path), which rounds the same
 *    values to bf16 and sums them in the instruction's order (odd channel
 *    of a pair, then even, each one rounding), on shapes with odd channel
 *    counts, sizes that are not multiples of 4 or of the blocks, every grid
 *    phase and the fused epilogues;
 *  - both agree with the fp32 six-loop (double) reference within
 *    BF16_REL_BOUND (and differ from the fp32 Winograd: bf16 really ran);
 *  - a crop run with its origin gives the whole image's bits where the tile
 *    inputs agree (tiled == whole image with bf16);
 *  - only convs with >= SR_BF16_MIN_CHANNELS input and output channels get
 *    bf16 weights; AUTO runs them in bf16; gemm/ref force fp32; release and
 *    a plain prepare drop them; sr_conv2d_reach counts them as Winograd;
 *  - bf16 training without AMX (sr_conv2d_train_prepare_bf16,
 *    sr_conv2d_backward_begin_bf16): the forward gives bf16 inference's
 *    bits; dx, plain, gated by ReLU or LReLU, or added to dx, gives the bits
 *    of the reference run on the flipped, transposed kernel, then the gate;
 *    dweight and dbias stay fp32's bits; dx is within BF16_REL_BOUND of
 *    fp32's and differs from it;
 *  - sr_conv2d_release_fp32 drops only a bf16 conv's fp32 weights, bits kept;
 *  - sr_precision_parse / _resolve / _name.
 * Exit 77 (skip) after the reference parts when the CPU lacks AVX512-BF16
 * (or SRGAN_NO_BF16 is set): the kernel is then untested. */
#include "wino_layer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Max |y - ref| / max |ref| against the double six-loop, for Kaiming
 * weights and i.i.d. inputs uniform in [-1, 1] (or ReLU'd): bf16 keeps 8
 * significant bits (a rounding of up to 2^-9 = 2e-3 per operand), and
 * F(4x4, 3x3)'s transforms amplify that as they amplify fp32's (the fp32
 * Winograd error here is about 50x the machine epsilon, relative to the
 * largest output): measured up to 6.9e-2 over these shapes (printed
 * below), so 0.15 leaves margin 2. White noise is the worst case; on
 * natural images the whole network moves Set5 by under 0.01 dB (see
 * bench/README.md). */
#define BF16_REL_BOUND 0.15

static const wshape SHAPES[] = {
    {8, 8, 5, 7},     {9, 13, 13, 11}, {64, 64, 33, 35}, {64, 256, 9, 70}, {13, 64, 1, 40},
    {64, 64, 2, 1},   {64, 64, 1, 1},  {11, 8, 5, 131},  {64, 24, 130, 6}, {32, 48, 17, 17},
    {16, 16, 13, 32}, /* 8 tiles wide, every one inside: training's 32-pixel maps */
};

static void test_kernel_same_bits_as_reference(void)
{
    if (!sr_bf16_supported()) {
        fprintf(stderr, "  no AVX512-BF16: kernel not tested\n");
        return;
    }
    static const int phases[][2] = {{0, 0}, {1, 3}, {2, 1}, {3, 2}, {5, 10}};
    int runs = 0;
    for (size_t i = 0; i < sizeof SHAPES / sizeof *SHAPES; i++) {
        layer L = make_layer(&SHAPES[i], 100 + i, 1, (int)(i % 2));
        CHECK(sr_conv2d_prepare_bf16(&L.c) == 0 && L.c.wino_bf16 != NULL);
        sr_tensor res = sr_tensor_alloc(1, L.c.cout, L.x.h, L.x.w);
        rng r = {9 + i};
        fill_rand(&r, res.data, sr_tensor_numel(&res), 1.0f);
        float alpha[2] = {0.25f, -0.5f};
        sr_conv_epilogue eps[] = {
            {0},
            {.residual = res.data, .act = SR_ACT_RELU},
            {.act = SR_ACT_LRELU, .slope = 0.1f},
            {.act = SR_ACT_PRELU, .alpha = alpha, .nalpha = 2, .group = (L.c.cout + 1) / 2},
        };
        for (size_t ph = 0; ph < sizeof phases / sizeof *phases; ph++)
            for (size_t e = 0; e < sizeof eps / sizeof *eps; e++) {
                const sr_conv_epilogue *ep = e ? &eps[e] : NULL;
                sr_tensor a = run(&L, SR_CONV_AUTO, ep, phases[ph][0], phases[ph][1]);
                sr_tensor b = run(&L, SR_CONV_WINOGRAD_REF, ep, phases[ph][0], phases[ph][1]);
                CHECK_MSG(same_bits(&a, &b), "cin %d cout %d %dx%d phase %d,%d ep %d",
                          L.c.cin, L.c.cout, L.x.h, L.x.w, phases[ph][0], phases[ph][1], (int)e);
                runs++;
                sr_tensor_free(&a);
                sr_tensor_free(&b);
            }
        sr_tensor_free(&res);
        free_layer(&L);
    }
    fprintf(stderr, "  %d kernel runs, bits equal to the reference\n", runs);
}

static void test_error_bound(void)
{
    double worst = 0, worst_fp32 = 0;
    for (size_t i = 0; i < sizeof SHAPES / sizeof *SHAPES; i++)
        for (int relu = 0; relu < 2; relu++) {
            layer L = make_layer(&SHAPES[i], 300 + i + 50 * relu, 1, relu);
            sr_tensor ref = sr_tensor_alloc(1, L.c.cout, L.x.h, L.x.w);
            sr_conv2d_forward_ref(&L.c, &L.x, &ref);
            const size_t n = sr_tensor_numel(&ref);
            sr_tensor f = run(&L, SR_CONV_WINOGRAD_REF, NULL, 2, 3); /* fp32 Winograd */
            worst_fp32 = fmax(worst_fp32, max_rel_err(f.data, ref.data, n, 1e-3));
            CHECK(sr_conv2d_prepare_bf16(&L.c) == 0);
            for (int k = 0; k < 2; k++) {
                if (k == 0 && !sr_bf16_supported())
                    continue;
                sr_tensor w = run(&L, k ? SR_CONV_WINOGRAD_REF : SR_CONV_AUTO, NULL, 2, 3);
                double e = max_rel_err(w.data, ref.data, n, 1e-3);
                worst = fmax(worst, e);
                CHECK_MSG(e <= BF16_REL_BOUND, "cin %d cout %d %dx%d: rel err %g", L.c.cin,
                          L.c.cout, L.x.h, L.x.w, e);
                CHECK(!same_bits(&w, &f)); /* it really ran bf16 */
                sr_tensor_free(&w);
            }
            sr_tensor_free(&f);
            sr_tensor_free(&ref);
            free_layer(&L);
        }
    fprintf(stderr, "  worst rel err vs six-loop: bf16 %.3g, fp32 Winograd %.3g (bound %g)\n",
            worst, worst_fp32, BF16_REL_BOUND);
    CHECK(worst > 0);
}

/* Outputs whose 4x4 tile (anchored at multiples of 4) reads only rows
 * inside the crop [c0, c1) or outside the image [0, n). */
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
        if (k == 0 && !sr_bf16_supported())
            continue;
        const sr_conv_impl impl = k ? SR_CONV_WINOGRAD_REF : SR_CONV_AUTO;
        layer L = make_layer(&s, 77, 1, 0);
        CHECK(sr_conv2d_prepare_bf16(&L.c) == 0);
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
        CHECK(wrong_origin_differs);
        sr_tensor_free(&whole);
        free_layer(&L);
    }
}

static void test_dispatch_and_reach(void)
{
    const wshape big = {64, 64, 19, 23}, head = {3, 64, 19, 23}, tail = {64, 3, 19, 23};
    layer L = make_layer(&big, 5, 1, 0), H = make_layer(&head, 6, 1, 0), T = make_layer(&tail, 7, 1, 0);
    sr_tensor fp = run(&L, SR_CONV_AUTO, NULL, 0, 0); /* unprepared: fp32 */
    CHECK(sr_conv2d_prepare_bf16(&L.c) == 0 && L.c.wino_bf16 && L.c.wino);
    CHECK(sr_conv2d_prepare_bf16(&H.c) == 0 && !H.c.wino_bf16 && H.c.wino);
    CHECK(sr_conv2d_prepare_bf16(&T.c) == 0 && !T.c.wino_bf16 && T.c.wino);
    sr_tensor a = run(&L, SR_CONV_AUTO, NULL, 0, 0);
    sr_tensor r = run(&L, SR_CONV_WINOGRAD_REF, NULL, 0, 0);
    sr_tensor g = run(&L, SR_CONV_GEMM, NULL, 0, 0);
    if (sr_bf16_supported())
        CHECK(same_bits(&a, &r)); /* AUTO: the bf16 kernel */
    CHECK(!same_bits(&g, &r));    /* gemm forces fp32 */
    CHECK(max_rel_err(g.data, fp.data, sr_tensor_numel(&g), 1e-3) < 1e-5);
    int st = 0;
    CHECK(sr_conv2d_reach(&L.c, &st) == 3);
    CHECK(sr_conv2d_reach(&L.c, &st) == 1);
    CHECK(sr_conv2d_reach(&L.c, &st) == 3);
    st = 0;
    /* a plain prepare drops the bf16 weights, so does release */
    CHECK(sr_conv2d_prepare(&L.c) == 0 && !L.c.wino_bf16);
    CHECK(sr_conv2d_prepare_bf16(&L.c) == 0 && L.c.wino_bf16);
    sr_conv2d_release(&L.c);
    CHECK(!L.c.wino_bf16 && !L.c.wino);
    sr_tensor b = run(&L, SR_CONV_AUTO, NULL, 0, 0);
    CHECK(same_bits(&b, &fp));
    /* training never runs bf16 */
    CHECK(sr_conv2d_prepare_bf16(&L.c) == 0);
    sr_conv2d lw;
    float *u = sr_alloc_floats(sr_conv2d_train_u_floats(&L.c));
    sr_conv2d_train_prepare(&L.c, &lw, u);
    CHECK(lw.wino_bf16 == NULL);
    sr_free_floats(u);
    sr_tensor_free(&fp);
    sr_tensor_free(&a);
    sr_tensor_free(&r);
    sr_tensor_free(&g);
    sr_tensor_free(&b);
    free_layer(&L);
    free_layer(&H);
    free_layer(&T);
}

/* The dx conv of L (cout -> cin): the flipped, transposed kernel. */
static layer flipped(const layer *L)
{
    const wshape s = {L->c.cout, L->c.cin, L->x.h, L->x.w};
    layer T = make_layer(&s, 1, 0, 0);
    for (int co = 0; co < L->c.cout; co++)
        for (int ci = 0; ci < L->c.cin; ci++)
            for (int k = 0; k < 9; k++)
                T.c.weight[((size_t)ci * L->c.cout + co) * 9 + k] =
                    L->c.weight[((size_t)co * L->c.cin + ci) * 9 + 8 - k];
    return T;
}

/* mode 0: backward_add, 1: gated by ReLU at gate, 2: by LReLU, 3: acc */
static void backward_bf16(const layer *L, int bf16, int mode, const sr_tensor *dy,
                          const float *gate, sr_tensor *dx, float *dw, float *db)
{
    float *scratch = malloc(sr_conv2d_scratch_floats(&L->c, &L->x) * sizeof(float));
    float *tmp = malloc(sr_tensor_numel(dx) * sizeof(float));
    sr_conv2d_bwd b;
    if (bf16)
        sr_conv2d_backward_begin_bf16(&b, &L->c, dw, db, scratch);
    else
        sr_conv2d_backward_begin(&b, &L->c, dw, db, scratch, SR_CONV_AUTO);
    if (mode == 0)
        sr_conv2d_backward_add(&b, &L->x, dy, dx);
    else if (mode == 3)
        sr_conv2d_backward_acc(&b, &L->x, dy, dx, tmp);
    else
        sr_conv2d_backward_gated(&b, &L->x, dy, dx, mode == 1 ? SR_ACT_RELU : SR_ACT_LRELU, 0.2f,
                                 gate);
    sr_conv2d_backward_end(&b);
    free(tmp);
    free(scratch);
}

static void test_training_without_amx(void)
{
    if (!sr_bf16_supported() || sr_amx_supported()) {
        fprintf(stderr, "  %s: bf16 training's Winograd path not tested\n",
                sr_amx_supported() ? "AMX takes bf16 training (SRGAN_NO_AMX=1 tests it)"
                                   : "no AVX512-BF16");
        return;
    }
    static const wshape shapes[] = {{64, 64, 33, 35}, {8, 24, 13, 70}, {32, 9, 17, 17}};
    int runs = 0;
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        layer L = make_layer(&shapes[i], 300 + i, 1, 1);
        /* forward: bf16 inference's bits */
        sr_conv2d lw;
        float *u = sr_alloc_floats(sr_conv2d_train_u_floats(&L.c));
        const sr_conv_impl im = sr_conv2d_train_prepare_bf16(&L.c, &lw, u);
        CHECK(lw.wino_bf16 != NULL);
        layer W = L;
        W.c = lw;
        sr_tensor yt = run(&W, im, NULL, 0, 0);
        CHECK(sr_conv2d_prepare_bf16(&L.c) == 0);
        sr_tensor yi = run(&L, SR_CONV_AUTO, NULL, 0, 0);
        CHECK_MSG(same_bits(&yt, &yi), "cin %d cout %d: training forward", L.c.cin, L.c.cout);
        sr_conv2d_release(&L.c);
        sr_free_floats(u);
        /* backward */
        layer T = flipped(&L);
        CHECK(sr_conv2d_prepare_bf16(&T.c) == 0 && T.c.wino_bf16 != NULL);
        sr_tensor dy = sr_tensor_alloc(1, L.c.cout, L.x.h, L.x.w), gate = sr_tensor_alloc(1, L.c.cin, L.x.h, L.x.w);
        rng r = {77 + i};
        fill_rand(&r, dy.data, sr_tensor_numel(&dy), 1.0f);
        fill_rand(&r, gate.data, sr_tensor_numel(&gate), 1.0f);
        const size_t nw = (size_t)L.c.cout * L.c.cin * 9, nx = sr_tensor_numel(&L.x);
        for (int mode = 0; mode < 4; mode++) {
            sr_tensor dx = sr_tensor_alloc(1, L.c.cin, L.x.h, L.x.w);
            sr_tensor dxf = sr_tensor_alloc(1, L.c.cin, L.x.h, L.x.w);
            sr_tensor d0 = sr_tensor_alloc(1, L.c.cin, L.x.h, L.x.w);
            fill_rand(&r, d0.data, nx, 1.0f); /* what acc adds to */
            memcpy(dx.data, d0.data, nx * sizeof(float));
            memcpy(dxf.data, d0.data, nx * sizeof(float));
            float *dw = calloc(nw, sizeof(float)), *dwf = calloc(nw, sizeof(float));
            float *db = calloc((size_t)L.c.cout, sizeof(float)), *dbf = calloc((size_t)L.c.cout, sizeof(float));
            backward_bf16(&L, 1, mode, &dy, gate.data, &dx, dw, db);
            backward_bf16(&L, 0, mode, &dy, gate.data, &dxf, dwf, dbf);
            /* the reference: the dx conv in bf16 (plain C), + d0, then the gate */
            const sr_conv_epilogue acc = {.residual = d0.data};
            layer TD = T;
            TD.x = dy;
            sr_tensor ref = run(&TD, SR_CONV_WINOGRAD_REF, mode == 3 ? &acc : NULL, 0, 0);
            if (mode == 1)
                sr_relu_backward(gate.data, ref.data, ref.data, nx);
            else if (mode == 2)
                sr_lrelu_backward(gate.data, ref.data, ref.data, nx, 0.2f);
            CHECK_MSG(same_bits(&dx, &ref), "cin %d cout %d mode %d: dx", L.c.cin, L.c.cout, mode);
            CHECK(!same_bits(&dx, &dxf)); /* bf16 really ran */
            CHECK_MSG(max_rel_err(dx.data, dxf.data, nx, 0) <= BF16_REL_BOUND, "mode %d", mode);
            CHECK(!memcmp(dw, dwf, nw * sizeof(float)));
            CHECK(!memcmp(db, dbf, (size_t)L.c.cout * sizeof(float)));
            runs++;
            free(dw), free(dwf), free(db), free(dbf);
            sr_tensor_free(&ref);
            sr_tensor_free(&d0);
            sr_tensor_free(&dxf);
            sr_tensor_free(&dx);
        }
        /* a fixed network's prepared dx weights give the same bits */
        CHECK(sr_conv2d_prepare(&L.c) == 0 && sr_conv2d_prepare_backward(&L.c) == 0);
        CHECK(sr_conv2d_prepare_backward_bf16(&L.c) == 0 && L.c.wino_dx_bf16 && L.c.wino_bf16);
        sr_tensor dxp = sr_tensor_alloc(1, L.c.cin, L.x.h, L.x.w), dxq = sr_tensor_alloc(1, L.c.cin, L.x.h, L.x.w);
        backward_bf16(&L, 1, 0, &dy, NULL, &dxp, NULL, NULL);
        uint32_t *keep = L.c.wino_dx_bf16;
        L.c.wino_dx_bf16 = NULL; /* rounded per call instead */
        backward_bf16(&L, 1, 0, &dy, NULL, &dxq, NULL, NULL);
        L.c.wino_dx_bf16 = keep;
        CHECK(same_bits(&dxp, &dxq));
        sr_tensor_free(&dxp);
        sr_tensor_free(&dxq);
        sr_tensor_free(&dy);
        sr_tensor_free(&gate);
        sr_tensor_free(&yt);
        sr_tensor_free(&yi);
        free_layer(&T);
        free_layer(&L);
    }
    fprintf(stderr, "  %d bf16 training backward runs, bits equal to the reference\n", runs);
}

/* sr_conv2d_release_fp32: a bf16 conv drops its fp32 Winograd weights and
 * keeps its bf16 bits; a conv without bf16 weights keeps them; forcing fp32
 * (gemm) afterwards still gives the fp32 result. */
static void test_release_fp32(void)
{
    const wshape big = {16, 24, 11, 13}, rgb = {16, 3, 11, 13};
    layer L = make_layer(&big, 77, 1, 0), T = make_layer(&rgb, 78, 1, 0);
    CHECK(sr_conv2d_prepare_bf16(&L.c) == 0 && sr_conv2d_prepare_bf16(&T.c) == 0);
    CHECK(L.c.wino != NULL && L.c.wino_bf16 != NULL && T.c.wino != NULL && !T.c.wino_bf16);
    sr_tensor before = run(&L, SR_CONV_AUTO, NULL, 1, 2), fp = run(&L, SR_CONV_GEMM, NULL, 0, 0);
    sr_conv2d_release_fp32(&L.c);
    sr_conv2d_release_fp32(&T.c);
    CHECK(L.c.wino == NULL && L.c.wino_bf16 != NULL && T.c.wino != NULL);
    sr_tensor after = run(&L, SR_CONV_AUTO, NULL, 1, 2), fp2 = run(&L, SR_CONV_GEMM, NULL, 0, 0);
    CHECK(same_bits(&before, &after) && same_bits(&fp, &fp2));
    sr_tensor_free(&before);
    sr_tensor_free(&after);
    sr_tensor_free(&fp);
    sr_tensor_free(&fp2);
    free_layer(&L);
    free_layer(&T);
}

static void test_precision_names(void)
{
    sr_precision p = SR_PRECISION_FP32;
    CHECK(sr_precision_parse("bf16", &p) == 0 && p == SR_PRECISION_BF16);
    CHECK(sr_precision_parse("auto", &p) == 0 && p == SR_PRECISION_AUTO);
    CHECK(sr_precision_parse("fp32", &p) == 0 && p == SR_PRECISION_FP32);
    CHECK(sr_precision_parse("fp16", &p) == -1 && p == SR_PRECISION_FP32);
    CHECK(sr_precision_parse("", &p) == -1 && sr_precision_parse(NULL, &p) == -1);
    CHECK(!strcmp(sr_precision_name(SR_PRECISION_BF16), "bf16"));
    CHECK(sr_precision_resolve(SR_PRECISION_FP32) == SR_PRECISION_FP32);
    CHECK(sr_precision_resolve(SR_PRECISION_BF16) == SR_PRECISION_BF16);
    const sr_precision a = sr_precision_resolve(SR_PRECISION_AUTO);
    CHECK(a == (sr_bf16_faster() && SR_PRECISION_AUTO_BF16 ? SR_PRECISION_BF16 : SR_PRECISION_FP32));
}

int main(void)
{
    if (getenv("SRGAN_CONV")) {
        fprintf(stderr, "SRGAN_CONV is set; this test needs the default dispatch\n");
        return 77;
    }
    RUN(test_kernel_same_bits_as_reference);
    RUN(test_error_bound);
    RUN(test_crop_with_origin_is_exact);
    RUN(test_dispatch_and_reach);
    RUN(test_training_without_amx);
    RUN(test_release_fp32);
    RUN(test_precision_names);
    int rc = testlib_summary();
    if (rc == 0 && !sr_bf16_supported()) {
        fprintf(stderr, "no AVX512-BF16 on this CPU (or SRGAN_NO_BF16): the kernel was not "
                        "tested, only the reference\n");
        return 77;
    }
    return rc;
}
