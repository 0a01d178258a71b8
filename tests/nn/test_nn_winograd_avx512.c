/* test_nn_winograd_avx512.c: the AVX-512 Winograd transforms (16 tiles per
 * vector, used for inference bands with ncx >= 16) give the same bits as
 * the AVX2 ones, called directly on the same bands:
 *  - the input transform V = B^T d B (sr_wino_input_band_avx512 against
 *    sr_wino_input_band_avx2) on random images with symmetric signs, every
 *    grid phase, widths giving bands of 16, 24 (16 + an 8-tile chunk) and
 *    32 tiles (and the AVX2-only 8), padding tiles, rows cut by the image's
 *    edges; and, on AVX512-BF16 CPUs, its fused bf16 packing
 *    (sr_wino_input_band_bf16_avx512) against sr_wino_band_to_bf16 of the
 *    AVX2 V (odd channel counts included);
 *  - the output transform A^T M A + bias and the epilogue
 *    (sr_wino_output_band with and without AVX-512) on random products M,
 *    for every epilogue kind: none, residual, ReLU, LReLU, PReLU (per
 *    channel and shared), residual + activation, residual == y (y += conv),
 *    and the training gates (ReLU, LReLU); residuals and gates with zeros,
 *    -0 and NaN.
 * Skipped (77) on CPUs without AVX-512F. Internal API (conv2d_internal.h). */
#include "nn_testutil.h"

#include "../../src/nn/conv2d_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct geom_case {
    int cin, cout, h, w;
} geom_case;

/* widths: txn 16 (ncx 16), 18 (24), 23-24 (24), 33 (32 + 8), 50 (32 + 24),
 * 9-10 (16), 64 (32 + 32), the image's right edge inside a band's last
 * 16-tile chunk (122-127, 187-190); heights cut tile rows */
static const geom_case CASES[] = {
    {1, 1, 5, 61},   {3, 7, 9, 70},   {64, 30, 6, 93},  {5, 24, 13, 131},
    {2, 50, 3, 200}, {7, 6, 17, 35},  {16, 24, 4, 256}, {64, 64, 8, 128},
    {3, 3, 2, 8},    {1, 13, 1, 3},   {2, 9, 7, 122},   {3, 5, 5, 125},
    {2, 6, 6, 189},  {1, 4, 9, 190},
};

/* random with symmetric signs, some exact zeros, -0 and (when nan) NaN */
static void fill_special(rng *r, float *p, size_t n, int nan)
{
    for (size_t i = 0; i < n; i++) {
        const uint32_t k = rng_u32(r) % 64;
        p[i] = k == 0 ? 0.0f : k == 1 ? -0.0f : (k == 2 && nan) ? NAN : rng_f(r);
    }
}

static int cpu_ok(void)
{
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2") &&
           __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

static void test_input_transform_same_bits(void)
{
    int bands = 0, wide = 0, bf16 = 0;
    for (size_t i = 0; i < sizeof CASES / sizeof *CASES; i++)
        for (int ph = 0; ph < 16; ph++) {
            const geom_case *k = &CASES[i];
            sr_wino_geom g = {.cin = k->cin, .cout = k->cout, .h = k->h, .w = k->w,
                              .py = ph / 4, .px = ph % 4, .y1 = k->h};
            rng r = {1000 + 16 * i + (size_t)ph};
            const size_t nx = (size_t)k->cin * k->h * k->w;
            float *x = malloc(nx * sizeof(float));
            fill_special(&r, x, nx, 0);
            sr_wino_band b;
            for (int n = 0; sr_wino_next_band(&g, n, &b); n++) {
                const size_t nv = (size_t)36 * k->cin * b.ntp;
                float *va = malloc(nv * sizeof(float)), *vb = malloc(nv * sizeof(float));
                for (size_t t = 0; t < nv; t++)
                    va[t] = vb[t] = NAN; /* every value must be written */
                sr_wino_input_band_avx2(&g, x, &b, va);
                if (b.ncx >= 16) {
                    sr_wino_input_band_avx512(&g, x, &b, vb);
                    wide++;
                } else {
                    sr_wino_input_band_avx2(&g, x, &b, vb);
                }
                CHECK_MSG(!memcmp(va, vb, nv * sizeof(float)),
                          "cin %d %dx%d phase %d,%d band %d (ncx %d nr %d ntp %d)", k->cin, k->h,
                          k->w, g.py, g.px, n, b.ncx, b.nr, b.ntp);
                if (b.ncx >= 16 && sr_bf16_supported()) {
                    /* the fused bf16 packing: sr_wino_band_to_bf16's words */
                    const size_t nb = (size_t)36 * ((k->cin + 1) / 2) * b.ntp;
                    uint32_t *ba = malloc(nb * sizeof(uint32_t)), *bb = malloc(nb * sizeof(uint32_t));
                    memset(ba, 0xA5, nb * sizeof(uint32_t));
                    memset(bb, 0x5A, nb * sizeof(uint32_t));
                    sr_wino_band_to_bf16(va, k->cin, b.ntp, ba);
                    sr_wino_input_band_bf16_avx512(&g, x, &b, bb);
                    CHECK_MSG(!memcmp(ba, bb, nb * sizeof(uint32_t)),
                              "bf16: cin %d %dx%d phase %d,%d band %d (ncx %d)", k->cin, k->h,
                              k->w, g.py, g.px, n, b.ncx);
                    bf16++;
                    free(ba);
                    free(bb);
                }
                bands++;
                free(va);
                free(vb);
            }
            free(x);
        }
    fprintf(stderr, "  input: %d bands bit-identical (%d with ncx >= 16; bf16 packing: %d)\n",
            bands, wide, bf16);
    CHECK(wide > 100);
    CHECK(bf16 == (sr_bf16_supported() ? wide : 0));
}

enum { EP_NONE, EP_RES, EP_RELU, EP_LRELU, EP_PRELU, EP_PRELU1, EP_RES_LRELU, EP_RES_SELF,
       EP_RES_SELF_RELU, EP_GATE_RELU, EP_GATE_LRELU, EP_GATE_RES_PRELU, EP_N };

static void test_output_transform_same_bits(void)
{
    int runs = 0, wide = 0;
    for (size_t i = 0; i < sizeof CASES / sizeof *CASES; i++)
        for (int ph = 0; ph < 16; ph += 3) {
            const geom_case *k = &CASES[i];
            sr_wino_geom g = {.cin = k->cin, .cout = k->cout, .h = k->h, .w = k->w,
                              .py = ph / 4, .px = ph % 4, .y1 = k->h};
            const size_t plane = (size_t)k->h * k->w, ny = (size_t)k->cout * plane;
            rng r = {5000 + 16 * i + (size_t)ph};
            float *bias = malloc((size_t)k->cout * sizeof(float));
            float *res = malloc(ny * sizeof(float)), *gate = malloc(ny * sizeof(float));
            float *y0 = malloc(ny * sizeof(float));
            float *ya = malloc(ny * sizeof(float)), *yb = malloc(ny * sizeof(float));
            fill_rand(&r, bias, (size_t)k->cout, 0.5f);
            fill_special(&r, res, ny, 1);
            fill_special(&r, gate, ny, 1);
            fill_special(&r, y0, ny, 1);
            float alpha[3] = {0.25f, -0.5f, 1.5f};
            sr_wino_band b;
            for (int n = 0; sr_wino_next_band(&g, n, &b); n++) {
                const size_t nm = (size_t)36 * SR_WINO_KB * b.ntp;
                float *M = malloc(nm * sizeof(float));
                fill_special(&r, M, nm, 0);
                /* tiles whose products are all +0 or all -0: outputs of
                 * exactly +-0 (without bias), where the activations' sign
                 * tests matter */
                for (size_t t = 0; t < nm; t++)
                    if (t % b.ntp % 7 == 3 || t % b.ntp % 7 == 5)
                        M[t] = t % b.ntp % 7 == 3 ? 0.0f : -0.0f;
                for (int e = 0; e < EP_N; e++) {
                    sr_conv_epilogue ep = {0};
                    sr_wino_gate gt = {.x = gate, .act = SR_ACT_RELU, .slope = 0.2f};
                    const sr_conv_epilogue *epp = &ep;
                    const sr_wino_gate *gtp = NULL;
                    int self = 0;
                    switch (e) {
                    case EP_NONE: epp = NULL; break;
                    case EP_RES: ep.residual = res; break;
                    case EP_RELU: ep.act = SR_ACT_RELU; break;
                    case EP_LRELU: ep.act = SR_ACT_LRELU; ep.slope = 0.1f; break;
                    case EP_PRELU:
                        ep.act = SR_ACT_PRELU; ep.alpha = alpha; ep.nalpha = 3;
                        ep.group = (k->cout + 2) / 3;
                        break;
                    case EP_PRELU1: ep.act = SR_ACT_PRELU; ep.alpha = alpha + 1; ep.nalpha = 1; break;
                    case EP_RES_LRELU: ep.residual = res; ep.act = SR_ACT_LRELU; ep.slope = 0.2f; break;
                    case EP_RES_SELF: self = 1; break;
                    case EP_RES_SELF_RELU: self = 1; ep.act = SR_ACT_RELU; break;
                    case EP_GATE_RELU: epp = NULL; gtp = &gt; break;
                    case EP_GATE_LRELU: epp = NULL; gt.act = SR_ACT_LRELU; gtp = &gt; break;
                    case EP_GATE_RES_PRELU:
                        ep.residual = res; ep.act = SR_ACT_PRELU; ep.alpha = alpha; ep.nalpha = 3;
                        ep.group = (k->cout + 2) / 3; /* 3 alphas cover every channel */
                        gt.act = SR_ACT_LRELU; gtp = &gt;
                        break;
                    }
                    memcpy(ya, y0, ny * sizeof(float));
                    memcpy(yb, y0, ny * sizeof(float));
                    /* every block of output channels, as the forward does */
                    for (int k0 = 0; k0 < k->cout; k0 += SR_WINO_KB) {
                        const int kn = k->cout - k0 < SR_WINO_KB ? k->cout - k0 : SR_WINO_KB;
                        sr_conv_epilogue epa = ep, epb = ep;
                        if (self) {
                            epa.residual = ya;
                            epb.residual = yb;
                        }
                        sr_wino_output_band(&g, M, k0, kn, &b, e % 2 ? bias : NULL, ya,
                                            epp ? &epa : NULL, gtp, 0);
                        sr_wino_output_band(&g, M, k0, kn, &b, e % 2 ? bias : NULL, yb,
                                            epp ? &epb : NULL, gtp, 1);
                    }
                    CHECK_MSG(!memcmp(ya, yb, ny * sizeof(float)),
                              "cout %d %dx%d phase %d,%d band %d (ncx %d) epilogue %d", k->cout,
                              k->h, k->w, g.py, g.px, n, b.ncx, e);
                    runs++;
                    wide += b.ncx >= 16;
                }
                free(M);
            }
            free(bias);
            free(res);
            free(gate);
            free(y0);
            free(ya);
            free(yb);
        }
    fprintf(stderr, "  output: %d runs bit-identical (%d with ncx >= 16)\n", runs, wide);
    CHECK(wide > 100);
}

int main(void)
{
    if (!cpu_ok()) {
        fprintf(stderr, "no AVX-512F: nothing to compare\n");
        return 77;
    }
    RUN(test_input_transform_same_bits);
    RUN(test_output_transform_same_bits);
    return testlib_summary();
}
