/* test_nn_amx.c: bf16 3x3 convs on Intel AMX (conv2d_amx.c), which
 * sr_conv2d_prepare_bf16 sets up on CPUs with AMX-BF16.
 *  - the kernel (AUTO) against its plain-C reference (SRGAN_CONV's
 *    winograd-ref path: the same bf16 operands, sums in double) within the
 *    fp32 summation bound (9 cin + 1) 2^-24 sum |terms| + 2^-24 |y| per
 *    output, sum |terms| taken by the reference on |w|, |x|, |bias|; on
 *    shapes with channel counts that are not multiples of 16 or 32 and
 *    widths that are not multiples of the 16-pixel tiles;
 *  - the fused epilogues (residual, ReLU, LReLU, PReLU by groups) give the
 *    bits of the epilogue applied to the kernel's plain output;
 *  - both agree with the fp32 six-loop conv within AMX_REL_BOUND, and differ
 *    from it (bf16 really ran);
 *  - a crop of the input gives the whole image's bits wherever its 3x3
 *    inputs are the whole image's (tiled == whole image with AMX);
 *  - bf16 training's dx and dweight (sr_conv2d_backward_begin_bf16): dx
 *    plain, gated and accumulated, dweight over a batch, against the fp32
 *    backward; the AMX dweight against its reference (internal API,
 *    conv2d_internal.h) within the fp32 summation bound; prepared once for fixed
 *    weights (sr_conv2d_prepare_amx(l, 1), VGG) the same bits;
 *  - only 3x3 convs with >= SR_BF16_MIN_CHANNELS in and out get AMX weights
 *    (no Winograd bf16 ones then); gemm and ref force fp32; a residual that
 *    is y itself (y += conv) gives the bits of a separate residual.
 * The references are tested against fp32 on every CPU; then exit 77 (skip)
 * when the CPU or the OS gives no AMX (or SRGAN_NO_AMX is set). */
#include "wino_layer.h"
#include "../../src/nn/conv2d_internal.h" /* the kernels and references */

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Max |y - fp32| / max |fp32| for these Kaiming layers on uniform inputs:
 * two roundings to bf16 (2^-9 each) per product, no transform to amplify
 * them; measured up to about 4e-3 (printed), so 1e-2 leaves margin 2. */
#define AMX_REL_BOUND 1e-2

static const wshape SHAPES[] = {
    {8, 8, 5, 7},     {9, 13, 13, 11}, {64, 64, 33, 35}, {64, 256, 9, 70}, {13, 64, 1, 40},
    {64, 64, 2, 1},   {64, 64, 1, 1},  {11, 8, 5, 131},  {64, 24, 130, 6}, {40, 48, 17, 17},
};

static float maxabs(const sr_tensor *t)
{
    float m = 0.0f;
    for (size_t i = 0; i < sr_tensor_numel(t); i++)
        m = fabsf(t->data[i]) > m ? fabsf(t->data[i]) : m;
    return m;
}

/* The same layer on |w|, |bias| and |x|: its reference output is the sum of
 * the absolute terms of each output. */
static layer abs_layer(const layer *L)
{
    layer A = *L;
    const size_t nw = (size_t)L->c.cout * L->c.cin * 9;
    A.c.weight = sr_alloc_floats(nw);
    for (size_t i = 0; i < nw; i++)
        A.c.weight[i] = fabsf(L->c.weight[i]);
    A.c.bias = NULL;
    if (L->c.bias) {
        A.c.bias = sr_alloc_floats((size_t)L->c.cout);
        for (int i = 0; i < L->c.cout; i++)
            A.c.bias[i] = fabsf(L->c.bias[i]);
    }
    A.c.wino = NULL, A.c.wino_dx = NULL, A.c.wino_bf16 = NULL, A.c.amx = NULL, A.c.amx_dx = NULL;
    A.x = sr_tensor_alloc(1, L->x.c, L->x.h, L->x.w);
    for (size_t i = 0; i < sr_tensor_numel(&A.x); i++)
        A.x.data[i] = fabsf(L->x.data[i]);
    return A;
}

static void epilogue_by_hand(const sr_conv_epilogue *ep, const sr_tensor *y0, sr_tensor *out)
{
    const size_t plane = (size_t)y0->h * y0->w;
    for (int c = 0; c < y0->c; c++)
        for (size_t i = 0; i < plane; i++) {
            float v = y0->data[(size_t)c * plane + i];
            if (ep->residual)
                v = v + ep->residual[(size_t)c * plane + i];
            float a = ep->act == SR_ACT_LRELU ? ep->slope
                      : ep->act == SR_ACT_PRELU
                          ? ep->alpha[ep->nalpha == 1 ? 0 : c / ep->group]
                          : 0.0f;
            if (ep->act == SR_ACT_RELU)
                v = v > 0.0f ? v : 0.0f;
            else if (ep->act != SR_ACT_NONE)
                v = v > 0.0f ? v : v * a;
            out->data[(size_t)c * plane + i] = v;
        }
}

static void test_kernel_against_reference(void)
{
    double worst_fp32 = 0.0, worst_sum = 0.0;
    for (size_t i = 0; i < sizeof SHAPES / sizeof *SHAPES; i++) {
        layer L = make_layer(&SHAPES[i], 300 + i, (int)(i % 3 != 2), (int)(i % 2));
        CHECK(sr_conv2d_prepare_bf16(&L.c) == 0 && L.c.amx != NULL && L.c.wino_bf16 == NULL);
        sr_tensor k = run(&L, SR_CONV_AUTO, NULL, 0, 0);
        sr_tensor r = run(&L, SR_CONV_WINOGRAD_REF, NULL, 0, 0);
        sr_tensor f = run(&L, SR_CONV_REF, NULL, 0, 0);
        layer A = abs_layer(&L);
        CHECK(sr_conv2d_prepare_bf16(&A.c) == 0 && A.c.amx != NULL);
        sr_tensor s = run(&A, SR_CONV_WINOGRAD_REF, NULL, 0, 0);
        const double n = 9.0 * L.c.cin + 1.0;
        int bad = 0, differs = 0;
        for (size_t j = 0; j < sr_tensor_numel(&k); j++) {
            const double bound = n * ldexp(s.data[j], -24) + ldexp(fabs(r.data[j]), -24);
            const double d = fabs((double)k.data[j] - r.data[j]);
            bad += !(d <= bound);
            if (s.data[j] > 0)
                worst_sum = d / s.data[j] > worst_sum ? d / s.data[j] : worst_sum;
            differs += k.data[j] != f.data[j];
        }
        if (bad)
            fprintf(stderr, "  shape %zu: %d outputs past the summation bound\n", i, bad);
        CHECK(bad == 0);
        CHECK(differs > 0); /* bf16 ran, not fp32 */
        float dmax = 0.0f;
        for (size_t j = 0; j < sr_tensor_numel(&k); j++)
            dmax = fabsf(k.data[j] - f.data[j]) > dmax ? fabsf(k.data[j] - f.data[j]) : dmax;
        const double rel = dmax / maxabs(&f);
        worst_fp32 = rel > worst_fp32 ? rel : worst_fp32;
        CHECK(rel <= AMX_REL_BOUND);
        sr_tensor_free(&k);
        sr_tensor_free(&r);
        sr_tensor_free(&f);
        sr_tensor_free(&s);
        free_layer(&A);
        free_layer(&L);
    }
    fprintf(stderr, "  AMX vs fp32: worst %.2e of max |y| (bound %.0e); vs reference: worst "
                    "%.2e of sum |terms|\n",
            worst_fp32, AMX_REL_BOUND, worst_sum);
}

static void test_epilogues(void)
{
    for (size_t i = 0; i < sizeof SHAPES / sizeof *SHAPES; i += 3) {
        layer L = make_layer(&SHAPES[i], 400 + i, 1, 0);
        CHECK(sr_conv2d_prepare_bf16(&L.c) == 0 && L.c.amx);
        sr_tensor res = sr_tensor_alloc(1, L.c.cout, L.x.h, L.x.w);
        rng g = {17 + i};
        fill_rand(&g, res.data, sr_tensor_numel(&res), 1.0f);
        float alpha[2] = {0.25f, -0.5f};
        const sr_conv_epilogue eps[] = {
            {.residual = res.data, .act = SR_ACT_RELU},
            {.act = SR_ACT_LRELU, .slope = 0.1f},
            {.residual = res.data, .act = SR_ACT_LRELU, .slope = 0.2f},
            {.act = SR_ACT_PRELU, .alpha = alpha, .nalpha = 2, .group = (L.c.cout + 1) / 2},
            {.residual = res.data},
        };
        sr_tensor y0 = run(&L, SR_CONV_AUTO, NULL, 0, 0);
        sr_tensor want = sr_tensor_alloc(1, L.c.cout, L.x.h, L.x.w);
        for (size_t e = 0; e < sizeof eps / sizeof *eps; e++) {
            sr_tensor y = run(&L, SR_CONV_AUTO, &eps[e], 0, 0);
            epilogue_by_hand(&eps[e], &y0, &want);
            CHECK(same_bits(&y, &want));
            sr_tensor_free(&y);
        }
        /* a residual that is y itself (y += conv), as the Winograd kernels allow */
        sr_tensor y = sr_tensor_alloc(1, L.c.cout, L.x.h, L.x.w);
        memcpy(y.data, res.data, sr_tensor_numel(&y) * sizeof(float));
        const sr_conv_epilogue self = {.residual = y.data};
        float *scratch = malloc(sr_conv2d_scratch_floats(&L.c, &L.x) * sizeof(float));
        sr_conv2d_forward_at(&L.c, &L.x, &y, scratch, SR_CONV_AUTO, &self, 0, 0);
        free(scratch);
        sr_tensor r = run(&L, SR_CONV_AUTO, &eps[4], 0, 0);
        CHECK(same_bits(&y, &r));
        sr_tensor_free(&r);
        sr_tensor_free(&y);
        sr_tensor_free(&want);
        sr_tensor_free(&y0);
        sr_tensor_free(&res);
        free_layer(&L);
    }
}

/* A crop [y0, y0 + h) x [x0, x0 + w) of the input: its outputs one pixel in
 * from each cut edge (where the crop zero-pads and the image does not) are
 * the whole image's, bit for bit. */
static void test_crop_same_bits(void)
{
    const wshape sh = {64, 64, 40, 70};
    layer L = make_layer(&sh, 77, 1, 1);
    CHECK(sr_conv2d_prepare_bf16(&L.c) == 0 && L.c.amx);
    sr_tensor whole = run(&L, SR_CONV_AUTO, NULL, 0, 0);
    static const int crops[][4] = {{5, 7, 25, 38}, {0, 0, 17, 33}, {13, 31, 27, 39}, {1, 3, 3, 16}};
    for (size_t c = 0; c < sizeof crops / sizeof *crops; c++) {
        const int y0 = crops[c][0], x0 = crops[c][1], h = crops[c][2], w = crops[c][3];
        layer C = L;
        C.x = sr_tensor_alloc(1, sh.cin, h, w);
        for (int ch = 0; ch < sh.cin; ch++)
            for (int yy = 0; yy < h; yy++)
                memcpy(C.x.data + ((size_t)ch * h + yy) * w,
                       L.x.data + ((size_t)ch * sh.h + y0 + yy) * sh.w + x0,
                       (size_t)w * sizeof(float));
        sr_tensor part = run(&C, SR_CONV_AUTO, NULL, y0, x0);
        int bad = 0, checked = 0;
        for (int ch = 0; ch < sh.cout; ch++)
            for (int yy = 0; yy < h; yy++)
                for (int xx = 0; xx < w; xx++) {
                    const int iy = y0 + yy, ix = x0 + xx;
                    const int inner = (yy > 0 || iy == 0) && (yy < h - 1 || iy == sh.h - 1) &&
                                      (xx > 0 || ix == 0) && (xx < w - 1 || ix == sh.w - 1);
                    if (!inner)
                        continue;
                    checked++;
                    bad += memcmp(&part.data[((size_t)ch * h + yy) * w + xx],
                                  &whole.data[((size_t)ch * sh.h + iy) * sh.w + ix],
                                  sizeof(float)) != 0;
                }
        CHECK(checked > 0);
        CHECK(bad == 0);
        sr_tensor_free(&part);
        sr_tensor_free(&C.x);
    }
    sr_tensor_free(&whole);
    free_layer(&L);
}

static void test_which_layers(void)
{
    const wshape big = {64, 64, 8, 8}, head = {3, 64, 8, 8}, tail = {64, 3, 8, 8};
    layer L = make_layer(&big, 1, 1, 0), H = make_layer(&head, 2, 1, 0),
          T = make_layer(&tail, 3, 1, 0);
    CHECK(sr_conv2d_prepare_bf16(&L.c) == 0 && L.c.amx && L.c.wino && !L.c.wino_bf16);
    CHECK(sr_conv2d_prepare_bf16(&H.c) == 0 && !H.c.amx && !H.c.wino_bf16 && H.c.wino);
    CHECK(sr_conv2d_prepare_bf16(&T.c) == 0 && !T.c.amx && !T.c.wino_bf16 && T.c.wino);
    /* gemm and ref run fp32 on an AMX layer: the same as the layer unprepared */
    sr_tensor g = run(&L, SR_CONV_GEMM, NULL, 0, 0), r = run(&L, SR_CONV_REF, NULL, 0, 0);
    sr_tensor a = run(&L, SR_CONV_AUTO, NULL, 0, 0);
    CHECK(!same_bits(&a, &r));
    float d = 0.0f;
    for (size_t i = 0; i < sr_tensor_numel(&g); i++)
        d = fabsf(g.data[i] - r.data[i]) > d ? fabsf(g.data[i] - r.data[i]) : d;
    CHECK(d <= 1e-4f * maxabs(&r));
    /* a plain prepare and release drop the AMX weights */
    CHECK(sr_conv2d_prepare(&L.c) == 0 && !L.c.amx);
    CHECK(sr_conv2d_prepare_bf16(&L.c) == 0 && L.c.amx);
    sr_conv2d_release(&L.c);
    CHECK(!L.c.amx && !L.c.wino);
    sr_tensor_free(&g);
    sr_tensor_free(&r);
    sr_tensor_free(&a);
    free_layer(&L);
    free_layer(&H);
    free_layer(&T);
}

/* bf16 training's input gradient (sr_conv2d_backward_begin_bf16): plain,
 * gated by an activation and added to dx, each against the fp32 backward
 * within AMX_REL_BOUND; dweight and dbias stay fp32's bits. */
static void test_backward_dx(void)
{
    static const wshape shapes[] = {{64, 64, 20, 37}, {16, 64, 9, 16}, {64, 24, 13, 5}};
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        const wshape *sh = &shapes[i];
        layer L = make_layer(sh, 500 + i, 1, 1);
        sr_tensor dy = sr_tensor_alloc(1, sh->cout, sh->h, sh->w);
        rng g = {31 + i};
        fill_rand(&g, dy.data, sr_tensor_numel(&dy), 1.0f);
        const size_t nw = (size_t)sh->cout * sh->cin * 9, nx = sr_tensor_numel(&L.x);
        float *scratch = malloc(sr_conv2d_scratch_floats(&L.c, &L.x) * sizeof(float));
        float *dw[2], *db[2], *tmp = malloc(nx * sizeof(float));
        sr_tensor dx[2][3];
        for (int b = 0; b < 2; b++) {
            dw[b] = calloc(nw, sizeof(float));
            db[b] = calloc((size_t)sh->cout, sizeof(float));
            for (int v = 0; v < 3; v++) {
                dx[b][v] = sr_tensor_alloc(1, sh->cin, sh->h, sh->w);
                if (v == 2) /* _acc adds to what is there */
                    memcpy(dx[b][v].data, L.x.data, nx * sizeof(float));
            }
            sr_conv2d_bwd cb;
            if (b)
                sr_conv2d_backward_begin_bf16(&cb, &L.c, dw[b], db[b], scratch);
            else
                sr_conv2d_backward_begin(&cb, &L.c, dw[b], db[b], scratch, SR_CONV_AUTO);
            CHECK(b ? cb.amx_dx != NULL : cb.amx_dx == NULL);
            sr_conv2d_backward_add(&cb, &L.x, &dy, &dx[b][0]);
            sr_conv2d_backward_gated(&cb, &L.x, &dy, &dx[b][1], SR_ACT_LRELU, 0.2f, L.x.data);
            sr_conv2d_backward_acc(&cb, &L.x, &dy, &dx[b][2], tmp);
            sr_conv2d_backward_end(&cb);
        }
        for (int v = 0; v < 3; v++) {
            float dmax = 0.0f;
            for (size_t j = 0; j < nx; j++)
                dmax = fmaxf(dmax, fabsf(dx[1][v].data[j] - dx[0][v].data[j]));
            CHECK_MSG(dmax <= AMX_REL_BOUND * maxabs(&dx[0][v]), "shape %zu variant %d: %g of %g",
                      i, v, dmax, maxabs(&dx[0][v]));
            CHECK(!same_bits(&dx[1][v], &dx[0][v]));
        }
        /* fixed weights (a loss network): the dx kernel prepared once gives
         * the bits of the one packed per call */
        {
            sr_conv2d P = L.c;
            P.wino = P.wino_dx = NULL, P.wino_bf16 = NULL, P.amx = P.amx_dx = NULL;
            CHECK(sr_conv2d_prepare(&P) == 0 && sr_conv2d_prepare_backward(&P) == 0);
            CHECK(sr_conv2d_prepare_amx(&P, 1) == 0 && P.amx && P.amx_dx && P.wino_dx);
            sr_tensor d = sr_tensor_alloc(1, sh->cin, sh->h, sh->w);
            sr_conv2d_bwd cb;
            sr_conv2d_backward_begin_bf16(&cb, &P, NULL, NULL, scratch);
            CHECK(cb.amx_dx == P.amx_dx);
            sr_conv2d_backward_add(&cb, &L.x, &dy, &d);
            sr_conv2d_backward_end(&cb);
            CHECK(same_bits(&d, &dx[1][0]));
            sr_tensor_free(&d);
            sr_conv2d_release(&P);
            CHECK(!P.amx && !P.amx_dx);
        }
        /* the weight gradient (three images' worth) in bf16 against fp32,
         * the bias gradient fp32 in both */
        float dm = 0.0f, wm = 0.0f;
        for (size_t j = 0; j < nw; j++) {
            dm = fmaxf(dm, fabsf(dw[1][j] - dw[0][j]));
            wm = fmaxf(wm, fabsf(dw[0][j]));
        }
        CHECK_MSG(dm <= AMX_REL_BOUND * wm, "shape %zu dweight: %g of %g", i, dm, wm);
        CHECK(memcmp(dw[0], dw[1], nw * sizeof(float)) != 0);
        CHECK(!memcmp(db[0], db[1], (size_t)sh->cout * sizeof(float)));
        for (int b = 0; b < 2; b++) {
            free(dw[b]);
            free(db[b]);
            for (int v = 0; v < 3; v++)
                sr_tensor_free(&dx[b][v]);
        }
        free(tmp);
        free(scratch);
        sr_tensor_free(&dy);
        free_layer(&L);
    }
}

/* The AMX weight gradient against its plain-C reference (same bf16
 * operands, double sums), over two images summed in the accumulator: within
 * the fp32 summation bound, sum |terms| taken by the reference on |x|, |dy|. */
static void test_dweight_against_reference(void)
{
    static const wshape shapes[] = {{64, 64, 17, 37}, {8, 40, 9, 16}, {40, 16, 20, 5}};
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        const wshape *sh = &shapes[i];
        layer L = make_layer(sh, 600 + i, 0, 0);
        rng g = {41 + i};
        const size_t nx = sr_tensor_numel(&L.x), ny = (size_t)sh->cout * sh->h * sh->w;
        float *dy = malloc(2 * ny * sizeof(float)), *x2 = malloc(2 * nx * sizeof(float));
        fill_rand(&g, dy, 2 * ny, 1.0f);
        memcpy(x2, L.x.data, nx * sizeof(float));
        fill_rand(&g, x2 + nx, nx, 1.0f);
        const size_t na = sr_amx_dw_acc_floats(sh->cin, sh->cout);
        float *acc = calloc(na, sizeof(float)), *ref = calloc(na, sizeof(float));
        float *sum = calloc(na, sizeof(float)), *ax = malloc(2 * nx * sizeof(float));
        float *ady = malloc(2 * ny * sizeof(float));
        for (size_t j = 0; j < 2 * nx; j++)
            ax[j] = fabsf(x2[j]);
        for (size_t j = 0; j < 2 * ny; j++)
            ady[j] = fabsf(dy[j]);
        float *scratch = malloc(sr_amx_dw_scratch(sh->cin, sh->cout, sh->w) * sizeof(float));
        for (int b = 0; b < 2; b++) {
            sr_amx_dweight(sh->cin, sh->cout, sh->h, sh->w, x2 + b * nx, dy + b * ny, acc, scratch);
            sr_amx_dweight_ref(sh->cin, sh->cout, sh->h, sh->w, x2 + b * nx, dy + b * ny, ref);
            sr_amx_dweight_ref(sh->cin, sh->cout, sh->h, sh->w, ax + b * nx, ady + b * ny, sum);
        }
        const double n = 2.0 * sh->h * sh->w + 2.0;
        int bad = 0, nonzero = 0;
        for (size_t j = 0; j < na; j++) {
            bad += !(fabs((double)acc[j] - ref[j]) <= n * ldexp(sum[j], -24) + ldexp(fabs(ref[j]), -22));
            nonzero += ref[j] != 0.0f;
        }
        CHECK_MSG(bad == 0, "shape %zu: %d sums past the bound", i, bad);
        CHECK(nonzero > 0);
        free(scratch);
        free(ady);
        free(ax);
        free(sum);
        free(ref);
        free(acc);
        free(x2);
        free(dy);
        free_layer(&L);
    }
}

/* On every CPU: the plain-C references against fp32 (the six-loop conv,
 * and the weight gradient summed in double), within the bf16 bound, so that
 * what the AMX kernels are tested against is itself tested. */
static void test_references_against_fp32(void)
{
    static const wshape shapes[] = {{64, 64, 9, 21}, {9, 40, 7, 5}};
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        const wshape *sh = &shapes[i];
        layer L = make_layer(sh, 700 + i, 1, 1);
        uint16_t *wa = malloc(sr_amx_weight_halves(sh->cin, sh->cout) * sizeof *wa);
        sr_amx_pack(L.c.weight, sh->cin, sh->cout, wa);
        sr_tensor y = sr_tensor_alloc(1, sh->cout, sh->h, sh->w);
        sr_amx_forward_ref(sh->cin, sh->cout, sh->h, sh->w, L.x.data, wa, L.c.bias, y.data, NULL,
                           NULL);
        sr_tensor f = run(&L, SR_CONV_REF, NULL, 0, 0);
        float d = 0.0f;
        for (size_t j = 0; j < sr_tensor_numel(&y); j++)
            d = fmaxf(d, fabsf(y.data[j] - f.data[j]));
        CHECK_MSG(d <= AMX_REL_BOUND * maxabs(&f) && d > 0.0f, "shape %zu: %g of %g", i, d,
                  maxabs(&f));
        /* dweight: against the fp32 backward (direct or im2col) */
        const size_t nw = (size_t)sh->cout * sh->cin * 9;
        float *acc = calloc(sr_amx_dw_acc_floats(sh->cin, sh->cout), sizeof(float));
        float *dw = calloc(nw, sizeof(float)), *dw32 = calloc(nw, sizeof(float));
        sr_amx_dweight_ref(sh->cin, sh->cout, sh->h, sh->w, L.x.data, f.data, acc);
        sr_amx_dweight_finish(acc, sh->cin, sh->cout, dw);
        sr_tensor dy = f, dx = sr_tensor_alloc(1, sh->cin, sh->h, sh->w);
        float *scratch = malloc(sr_conv2d_scratch_floats(&L.c, &L.x) * sizeof(float));
        sr_conv2d_backward_impl(&L.c, &L.x, &dy, &dx, dw32, NULL, scratch, SR_CONV_GEMM);
        float e = 0.0f, m = 0.0f;
        for (size_t j = 0; j < nw; j++) {
            e = fmaxf(e, fabsf(dw[j] - dw32[j]));
            m = fmaxf(m, fabsf(dw32[j]));
        }
        CHECK_MSG(e <= AMX_REL_BOUND * m && e > 0.0f, "shape %zu dweight: %g of %g", i, e, m);
        free(scratch);
        sr_tensor_free(&dx);
        free(dw32);
        free(dw);
        free(acc);
        sr_tensor_free(&f);
        sr_tensor_free(&y);
        free(wa);
        free_layer(&L);
    }
}

int main(void)
{
    if (getenv("SRGAN_CONV"))
        testlib_skip("SRGAN_CONV is set; this test needs the default dispatch");
    RUN(test_references_against_fp32);
    if (!sr_amx_supported()) {
        if (testlib_summary())
            return 1;
        testlib_skip("no AMX-BF16 on this CPU (or the OS does not grant it, or SRGAN_NO_AMX): "
                     "only the references were tested");
    }
    RUN(test_kernel_against_reference);
    RUN(test_epilogues);
    RUN(test_crop_same_bits);
    RUN(test_which_layers);
    RUN(test_backward_dx);
    RUN(test_dweight_against_reference);
    return testlib_summary();
}
