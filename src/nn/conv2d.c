/* conv2d.c: 2-D convolution, forward and backward.
 *
 * Two forward paths, picked per call (AUTO on AVX2-only CPUs: direct only
 * for layers with few output channels, see AVX2_AUTO_MAX_COUT):
 *  - direct: an AVX-512 kernel for stride 1 (any kernel size and padding),
 *    no im2col copy at all (conv2d_direct.c); used when the CPU has AVX-512F,
 *    else its AVX2 + FMA copy (conv2d_direct_avx2.c) when the CPU has those;
 *  - im2col + sgemm: the column matrix is built for a block of output rows at
 *    a time (about GEMM_COLS output pixels) so scratch stays small whatever
 *    the image size; 1x1 stride-1 convs skip im2col entirely.
 * Backward (sr_conv2d_backward_begin / _add / _end): dweight by the direct
 * correlation kernels (stride 1, few output channels) or by im2col + sgemm
 * (dY * col^T), dbias by sums, dx either by the direct kernel run on dY
 * with the flipped, transposed weights (stride 1, square kernels) or by
 * sgemm (W^T * dY) + col2im.
 * Forward of 3x3 stride-1 convs with enough channels, once prepared: Winograd
 * F(4x4, 3x3) (conv2d_winograd*.c), see WINO_AUTO_MIN_CH. Training (see
 * train_wino_kind): the forward with weights transformed once per step, dx
 * (a 3x3 conv of dy with the flipped, transposed kernel, see wino_dx) and
 * dweight (dU summed over the batch in the transformed domain,
 * conv2d_winograd_dw_avx2.c, see wino_dw) by Winograd too.
 * The plain six-loop sr_conv2d_forward_ref is what tests compare against. */
#include "srgan/nn.h"
#include "conv2d_internal.h"

#include <cblas.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Output pixels per im2col block: large enough for sgemm to run at full
 * speed, small enough that the column matrix stays in L2 for 64 channels. */
#define GEMM_COLS 1024

typedef struct geom {
    int n, cin, h, w, cout, kh, kw, s, pad, oh, ow;
    size_t K;   /* cin * kh * kw */
    int y0, y1; /* the forward's output rows (sr_conv2d_forward_rows): all by default */
} geom;

static geom make_geom(const sr_conv2d *l, const sr_tensor *x)
{
    geom g;
    g.n = x->n;
    g.cin = l->cin;
    g.h = x->h;
    g.w = x->w;
    g.cout = l->cout;
    g.kh = l->kh;
    g.kw = l->kw;
    g.s = l->stride > 0 ? l->stride : 1;
    g.pad = l->pad;
    g.oh = sr_conv_out_size(g.h, g.kh, g.s, g.pad);
    g.ow = sr_conv_out_size(g.w, g.kw, g.s, g.pad);
    g.K = (size_t)g.cin * g.kh * g.kw;
    g.y0 = 0;
    g.y1 = g.oh;
    return g;
}

static int is_pointwise(const geom *g)
{
    return g->kh == 1 && g->kw == 1 && g->s == 1 && g->pad == 0;
}

static int gemm_rows(const geom *g)
{
    int rb = (GEMM_COLS + g->ow - 1) / (g->ow > 0 ? g->ow : 1);
    if (rb > g->oh)
        rb = g->oh;
    return rb < 1 ? 1 : rb;
}

static sr_direct_geom direct_fwd_geom(const geom *g)
{
    sr_direct_geom d = { g->cin, g->cout, g->kh, g->kw, g->pad, g->h, g->w, g->oh, g->ow,
                         g->y0, g->y1 };
    return d;
}

/* Which direct kernel a call runs: none (im2col + sgemm), AVX2 + FMA or
 * AVX-512, from the CPU (runtime dispatch) and the impl asked for. */
enum { ISA_NONE = 0, ISA_AVX2, ISA_AVX512 };

/* AUTO on a CPU without AVX-512 runs the AVX2 direct kernel only for convs
 * with fewer output channels than this. Measured with bench_conv on the
 * 2-core AMD EPYC (Zen 3) VM, one thread, GFLOP/s direct-avx2 vs im2col +
 * OpenBLAS sgemm: 64->3 at 128x128 forward 38-45 vs 9, backward 26 vs 7
 * (a 3-row GEMM, or a GEMM with an inner dimension of 3, runs far below
 * peak); but 64->64 and 64->256 forward 53-68 vs 59-73 and backward 33-43
 * vs 59-64, where OpenBLAS's Zen kernel wins. See bench/README.md. */
#define AVX2_AUTO_MAX_COUT 16

static int cpu_isa(sr_conv_impl impl)
{
    if (impl == SR_CONV_GEMM)
        return ISA_NONE;
    if (impl == SR_CONV_DIRECT_AVX2)
        return sr_conv_avx2_cpu_ok() ? ISA_AVX2 : ISA_NONE;
    if (sr_conv_direct_cpu_ok())
        return ISA_AVX512;
    return sr_conv_avx2_cpu_ok() ? ISA_AVX2 : ISA_NONE;
}

/* cpu_isa, with AUTO's choice for this layer on AVX2-only CPUs. */
static int layer_isa(const geom *g, sr_conv_impl impl)
{
    int isa = cpu_isa(impl);
    if (isa == ISA_AVX2 && impl == SR_CONV_AUTO && g->cout >= AVX2_AUTO_MAX_COUT)
        return ISA_NONE;
    return isa;
}

/* ---- Winograd dispatch --------------------------------------------------- */

/* AUTO runs Winograd for prepared 3x3 convs with at least this many output
 * channels (AVX2-only CPUs), whatever the input channels. Measured with
 * bench_conv on the 2-core Zen 3 VM, one thread, GFLOP/s Winograd vs the
 * best other path: 64->64 150-170 vs 56-65, 8->8 69 vs 61, 3->64 38 vs 35
 * (and the im2col head conv rounds differently in tiles, Winograd does
 * not), but 64->3 28 vs 31 for the direct kernel (bench/README.md). */
#define WINO_AUTO_MIN_CH SR_WINOGRAD_MIN_CHANNELS

static sr_conv_impl env_impl_value = SR_CONV_AUTO;
static pthread_once_t env_once = PTHREAD_ONCE_INIT;

static void read_env(void)
{
    static const struct { const char *name; sr_conv_impl impl; } names[] = {
        {"auto", SR_CONV_AUTO}, {"gemm", SR_CONV_GEMM}, {"im2col", SR_CONV_GEMM},
        {"direct", SR_CONV_DIRECT}, {"avx2", SR_CONV_DIRECT_AVX2},
        {"winograd", SR_CONV_WINOGRAD}, {"winograd-ref", SR_CONV_WINOGRAD_REF},
        {"ref", SR_CONV_REF},
    };
    const char *v = getenv("SRGAN_CONV");
    if (!v || !*v)
        return;
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (!strcmp(v, names[i].name)) {
            env_impl_value = names[i].impl;
            return;
        }
    fprintf(stderr, "srgan: SRGAN_CONV=%s is not one of auto, gemm, im2col, direct, avx2, "
                    "winograd, winograd-ref, ref; using auto\n", v);
}

/* What AUTO means in this process (SRGAN_CONV, read once). */
static sr_conv_impl auto_impl(void)
{
    pthread_once(&env_once, read_env);
    return env_impl_value;
}

/* Which Winograd kernel a forward call with impl runs for l: 0 none, 1 the
 * AVX2 kernel, 2 the plain-C one. Depends on the layer and the CPU only,
 * never on the image size, so a tile and the whole image agree.
 * wino_kind_forced: what the CPU, the layer and a forced impl decide
 * (0, 1, 2), or -1 where AUTO leaves the choice to the caller's rule. */
static int wino_kind_forced(const sr_conv2d *l, sr_conv_impl impl)
{
    if (impl == SR_CONV_AUTO)
        impl = auto_impl();
    if (!sr_wino_layer_ok(l))
        return 0;
    if (impl == SR_CONV_WINOGRAD_REF)
        return 2;
    if (!sr_conv_avx2_cpu_ok())
        return 0;
    if (impl == SR_CONV_WINOGRAD)
        return 1;
    return impl == SR_CONV_AUTO ? -1 : 0;
}

/* Which bf16 kernel a forward call with impl runs for a layer that has its
 * bf16 weights (prepared) and that kernel can take (ok): 0 none (fp32),
 * 1 the kernel (where cpu_ok), 2 its plain-C reference. bf16 runs for AUTO
 * and the Winograd impls (winograd-ref: the reference); the others (gemm,
 * direct, ref) force their fp32 kernel. */
static int bf16_pick(int prepared, int ok, int cpu_ok, sr_conv_impl impl)
{
    if (impl == SR_CONV_AUTO)
        impl = auto_impl();
    if (!prepared || !ok)
        return 0;
    if (impl == SR_CONV_WINOGRAD_REF)
        return 2;
    if (impl != SR_CONV_AUTO && impl != SR_CONV_WINOGRAD)
        return 0;
    return cpu_ok ? 1 : 2;
}

/* The bf16 Winograd kernel (sr_conv2d_prepare_bf16 without AMX). */
static int bf16_kind(const sr_conv2d *l, sr_conv_impl impl)
{
    return bf16_pick(l->wino_bf16 != NULL, sr_wino_layer_ok(l),
                     sr_bf16_supported() && sr_conv_avx2_cpu_ok(), impl);
}

/* The AMX kernel (sr_conv2d_prepare_bf16 on an AMX CPU). */
static int amx_kind(const sr_conv2d *l, sr_conv_impl impl)
{
    return bf16_pick(l->amx != NULL, sr_amx_layer_ok(l), sr_amx_supported(), impl);
}

/* AUTO on a prepared layer: Winograd on every AVX2 + FMA CPU. AVX-512 CPUs
 * ran the direct AVX-512 kernel until 2026-12-02, when bench_infer on the
 * AVX-512 EPYC VM (MSRResNet x4, 256^2, one thread) measured 2.54-2.59 s by
 * Winograd (AVX-512 GEMMs) against 5.62-5.67 s direct. */
static int wino_kind(const sr_conv2d *l, sr_conv_impl impl)
{
    int k = wino_kind_forced(l, impl);
    if (k >= 0)
        return k;
    return l->wino && l->cout >= WINO_AUTO_MIN_CH;
}

int sr_conv2d_prepare(sr_conv2d *l)
{
    sr_conv2d_release(l);
    if (!sr_wino_layer_ok(l) || !l->weight)
        return 0;
    l->wino = sr_alloc_floats(sr_wino_u_floats(l->cin, l->cout));
    if (!l->wino)
        return -1;
    sr_wino_transform_weights(l->weight, l->cin, l->cout, l->wino);
    return 0;
}

void sr_conv2d_release(sr_conv2d *l)
{
    sr_free_floats(l->wino);
    sr_free_floats(l->wino_dx);
    sr_free_floats((float *)l->wino_bf16);
    sr_free_floats((float *)l->amx);
    sr_free_floats((float *)l->amx_dx);
    sr_free_floats((float *)l->wino_dx_bf16);
    sr_free_floats((float *)l->gemm_bf16w);
    l->gemm_bf16w = NULL;
    l->wino = NULL;
    l->wino_dx = NULL;
    l->wino_dx_bf16 = NULL;
    l->wino_bf16 = NULL;
    l->amx = NULL;
    l->amx_dx = NULL;
}

void sr_conv2d_release_fp32(sr_conv2d *l)
{
    if (!l->wino_bf16 && !l->amx)
        return;
    sr_free_floats(l->wino);
    l->wino = NULL;
}

static void flip_transpose(const geom *g, const float *w, float *wt);

int sr_conv2d_prepare_amx(sr_conv2d *l, int dx)
{
    sr_free_floats((float *)l->amx);
    sr_free_floats((float *)l->amx_dx);
    l->amx = l->amx_dx = NULL;
    if (!sr_amx_supported() || !sr_amx_layer_ok(l) || !l->weight)
        return 0;
    const size_t n = (sr_amx_weight_halves(l->cin, l->cout) + 1) / 2;
    l->amx = (uint16_t *)sr_alloc_floats(n);
    if (!l->amx)
        return -1;
    sr_amx_pack(l->weight, l->cin, l->cout, l->amx);
    if (dx) {
        float *wt = sr_alloc_floats((size_t)l->cin * l->cout * 9);
        l->amx_dx = (uint16_t *)sr_alloc_floats(n);
        if (!wt || !l->amx_dx) {
            sr_free_floats(wt);
            return -1; /* l->amx_dx, if made, goes with sr_conv2d_release */
        }
        geom g = make_geom(l, &(sr_tensor){1, l->cin, 3, 3, NULL});
        flip_transpose(&g, l->weight, wt);
        sr_amx_pack(wt, l->cout, l->cin, l->amx_dx);
        sr_free_floats(wt);
    }
    return 0;
}

int sr_conv2d_prepare_bf16(sr_conv2d *l)
{
    if (sr_conv2d_prepare(l))
        return -1;
    if (!l->wino || l->cin < SR_BF16_MIN_CHANNELS || l->cout < SR_BF16_MIN_CHANNELS)
        return 0;
    if (sr_amx_supported() && sr_amx_layer_ok(l)) /* AMX runs it direct: no Winograd bf16 */
        return sr_conv2d_prepare_amx(l, 0);
    /* one 32-bit word per channel pair: as many floats */
    l->wino_bf16 = (uint32_t *)sr_alloc_floats(sr_wino_u_bf16_words(l->cin, l->cout));
    if (!l->wino_bf16)
        return -1;
    sr_wino_pack_bf16(l->wino, l->cin, l->cout, l->wino_bf16);
    return 0;
}

int sr_precision_parse(const char *s, sr_precision *p)
{
    static const char *const names[] = {"fp32", "bf16", "auto"};
    for (int i = 0; i < 3; i++)
        if (s && !strcmp(s, names[i])) {
            *p = (sr_precision)i;
            return 0;
        }
    return -1;
}

const char *sr_precision_name(sr_precision p)
{
    return p == SR_PRECISION_BF16 ? "bf16" : p == SR_PRECISION_AUTO ? "auto" : "fp32";
}

sr_precision sr_precision_resolve(sr_precision p)
{
    if (p == SR_PRECISION_AUTO)
        return SR_PRECISION_AUTO_BF16 && sr_bf16_faster() ? SR_PRECISION_BF16
                                                          : SR_PRECISION_FP32;
    return p;
}

int sr_conv2d_tiled(const sr_conv2d *l)
{
    return wino_kind(l, SR_CONV_AUTO) || bf16_kind(l, SR_CONV_AUTO);
}

int sr_conv2d_reach(const sr_conv2d *l, int *run)
{
    if (!wino_kind(l, SR_CONV_AUTO) && !bf16_kind(l, SR_CONV_AUTO)) {
        *run = 0;
        return l->kh / 2 > l->kw / 2 ? l->kh / 2 : l->kw / 2;
    }
    return ++*run % 2 ? 3 : 1; /* the worst phase: 3, then 1 and 3 in turn */
}

/* ---- training: Winograd choices ---------------------------------------- *
 * Training transforms the weights once per step (they change every step),
 * so Winograd's choice there does not depend on a prepare. Measured with
 * bench_conv on the 2-core AMD EPYC with AVX-512 (one thread, GFLOP/s,
 * direct-equivalent): the AVX2 Winograd forward beats even the AVX-512
 * direct kernel, 64->64 at 32^2 210 vs 171, at 128^2 244 vs 168, 64->256
 * 271 vs 164, but not 64->3 (41 vs 58): so AUTO takes it, on every CPU with
 * AVX2 + FMA, for the forward and dx of convs with at least
 * WINO_AUTO_MIN_CH outputs (dx: the conv's inputs), and for dweight when
 * both counts are. Inference (prepared layers, wino_kind) is unchanged. */

/* 0: no Winograd; 1: the AVX2 kernel; 2: the plain-C reference. */
static int train_wino_kind(const sr_conv2d *l, sr_conv_impl impl, int min_in, int min_out)
{
    int k = wino_kind_forced(l, impl);
    if (k >= 0)
        return k;
    return l->cin >= min_in && l->cout >= min_out;
}

/* dx by the Winograd kernel (a 3x3 conv of dy with the flipped, transposed
 * kernel): the reference path keeps the direct/im2col dx. */
/* AUTO transforms a dx kernel per backward call (per batch in training)
 * only up to this many channel pairs: the transform costs about as much
 * per pair as the conv of an 8x8 map, so larger fixed networks (VGG's
 * conv4/conv5) prepare it once (sr_conv2d_prepare_backward) or keep the
 * other kernels. */
#define WINO_DX_PER_CALL_MAX_PAIRS (64 * 256)

static int wino_dx(const sr_conv2d *l, sr_conv_impl impl)
{
    /* the dx conv of a conv with few outputs (64->3: 3->64) runs faster
     * with the AVX-512 direct kernel (bench_conv train: 141 vs 118) */
    const int min_out = sr_conv_direct_cpu_ok() ? WINO_AUTO_MIN_CH : 1;
    if (impl == SR_CONV_AUTO)
        impl = auto_impl();
    if (impl == SR_CONV_AUTO && !l->wino_dx &&
        (size_t)l->cin * l->cout > WINO_DX_PER_CALL_MAX_PAIRS)
        return 0;
    return train_wino_kind(l, impl, WINO_AUTO_MIN_CH, min_out) == 1;
}

/* dweight by Winograd (1 AVX2, 2 plain C) */
static int wino_dw(const sr_conv2d *l, sr_conv_impl impl)
{
    return train_wino_kind(l, impl, WINO_AUTO_MIN_CH, WINO_AUTO_MIN_CH);
}

/* Non-zero where bf16 training runs Winograd with vdpbf16ps GEMMs:
 * AVX512-BF16 and AVX2 + FMA, no AMX (AMX takes bf16 training instead). */
static int wino_bf16_train_cpu(void)
{
    return !sr_amx_supported() && sr_bf16_supported() && sr_conv_avx2_cpu_ok();
}

/* The im2col GEMMs of a conv flagged bf16_gemm (forward and dx) take bf16
 * operands (gemm_bf16.c) on the CPUs where bf16 training runs vdpbf16ps;
 * 1x1 convs stay fp32 sgemm. */
static int gemm_bf16_on(const sr_conv2d *l, const geom *g)
{
    return l->bf16_gemm && !is_pointwise(g) && wino_bf16_train_cpu();
}

/* Floats of the packed weights a bf16 GEMM keeps for a batch: the
 * forward's (cout x K) or the dx's (K x cout), whichever is larger. */
static size_t gemm_bf16_a_floats(const geom *g)
{
    const size_t f = sr_gemm_bf16_a_words(g->cout, (int)g->K),
                 b = sr_gemm_bf16_a_words((int)g->K, g->cout);
    return (f > b ? f : b) + 16;
}

int sr_conv2d_prepare_gemm_bf16(sr_conv2d *l)
{
    if (!l->weight || l->cin <= 0 || l->cout <= 0)
        return 0;
    const geom g = make_geom(l, &(sr_tensor){1, l->cin, l->kh, l->kw, NULL});
    if (!gemm_bf16_on(l, &g))
        return 0;
    const size_t fw = sr_gemm_bf16_a_words(g.cout, (int)g.K);
    if (!l->gemm_bf16w) /* the same size for the same conv: kept */
        l->gemm_bf16w = (uint32_t *)sr_alloc_floats(fw + sr_gemm_bf16_a_words((int)g.K, g.cout));
    if (!l->gemm_bf16w)
        return -1;
    sr_gemm_bf16_pack_a(g.cout, (int)g.K, l->weight, g.K, 1, l->gemm_bf16w);
    sr_gemm_bf16_pack_a((int)g.K, g.cout, l->weight, 1, g.K, l->gemm_bf16w + fw);
    return 0;
}

/* Floats (words) of the bf16 Winograd weights of a cin -> cout conv, where
 * bf16 training may run them (an fp32 run there pays the space, about half
 * its fp32 U), else 0. */
static size_t wino_bf16_floats(int cin, int cout)
{
    return wino_bf16_train_cpu() ? sr_wino_u_bf16_words(cin, cout) + 16 : 0;
}

/* Floats of a conv's AMX weights (as its dx conv's, transposed: the same
 * count), or 0 where AMX does not take it. */
static size_t amx_floats(const sr_conv2d *l)
{
    return sr_amx_layer_ok(l) ? (sr_amx_weight_halves(l->cin, l->cout) + 1) / 2 + 16 : 0;
}

/* The backward's slot for the dx kernel: Winograd's transformed one or
 * AMX's packed one, whichever is larger. */
static size_t u_slot(const sr_conv2d *l)
{
    const size_t w = sr_wino_u_floats(l->cout, l->cin) + wino_bf16_floats(l->cout, l->cin);
    return amx_floats(l) > w ? amx_floats(l) : w;
}

/* The backward's slot for the batch's weight-gradient sums: Winograd's dU
 * or AMX's accumulator, whichever is larger. */
static size_t du_slot(const sr_conv2d *l)
{
    const size_t w = sr_wino_du_floats(l->cin, l->cout);
    const size_t a = sr_amx_layer_ok(l) ? sr_amx_dw_acc_floats(l->cin, l->cout) : 0;
    return a > w ? a : w;
}

size_t sr_conv2d_train_u_floats(const sr_conv2d *l)
{
    const size_t w = sr_wino_layer_ok(l)
                         ? sr_wino_u_floats(l->cin, l->cout) + wino_bf16_floats(l->cin, l->cout)
                         : 0;
    return amx_floats(l) > w ? amx_floats(l) : w;
}

int sr_bf16_train_supported(void)
{
    return sr_amx_supported() || wino_bf16_train_cpu();
}

/* bf16 training without AMX takes a conv of cin -> cout (Winograd with
 * vdpbf16ps GEMMs): the CPU has it, the conv is one bf16 takes, and no
 * SRGAN_CONV override asks for another kernel. */
static int wino_bf16_train_ok(int cin, int cout)
{
    return wino_bf16_train_cpu() && cin >= SR_BF16_MIN_CHANNELS && cout >= SR_BF16_MIN_CHANNELS &&
           auto_impl() == SR_CONV_AUTO;
}

sr_conv_impl sr_conv2d_train_prepare_bf16(const sr_conv2d *l, sr_conv2d *lw, float *u)
{
    if (u && sr_wino_layer_ok(l) && wino_bf16_train_ok(l->cin, l->cout) &&
        train_wino_kind(l, SR_CONV_AUTO, 1, WINO_AUTO_MIN_CH) == 1) {
        /* the fp32 U, then its bf16 rounding after it: the forward's
         * bf16_kind takes wino_bf16 */
        sr_wino_transform_weights(l->weight, l->cin, l->cout, u);
        *lw = *l;
        lw->amx = NULL;
        lw->wino = u;
        lw->wino_bf16 = (uint32_t *)(void *)(u + sr_wino_u_floats(l->cin, l->cout));
        sr_wino_pack_bf16(u, l->cin, l->cout, lw->wino_bf16);
        return SR_CONV_AUTO;
    }
    if (!u || !sr_amx_supported() || !sr_amx_layer_ok(l) || auto_impl() != SR_CONV_AUTO)
        return sr_conv2d_train_prepare(l, lw, u);
    *lw = *l;
    lw->wino = NULL;
    lw->wino_bf16 = NULL;
    lw->amx = (uint16_t *)(void *)u;
    sr_amx_pack(l->weight, l->cin, l->cout, lw->amx);
    return SR_CONV_AUTO;
}

sr_conv_impl sr_conv2d_train_impl(const sr_conv2d *l)
{
    const int k = l->wino ? train_wino_kind(l, SR_CONV_AUTO, 1, WINO_AUTO_MIN_CH) : 0;
    return k == 2 ? SR_CONV_WINOGRAD_REF : k ? SR_CONV_WINOGRAD : SR_CONV_AUTO;
}

int sr_conv2d_prepare_backward(sr_conv2d *l)
{
    sr_free_floats(l->wino_dx);
    sr_free_floats((float *)l->wino_dx_bf16); /* made from the old wino_dx */
    l->wino_dx = NULL;
    l->wino_dx_bf16 = NULL;
    if (!sr_wino_layer_ok(l) || !l->weight)
        return 0;
    const size_t nu = sr_wino_u_floats(l->cout, l->cin);
    float *wt = sr_alloc_floats((size_t)l->cin * l->cout * 9);
    l->wino_dx = sr_alloc_floats(nu);
    if (!wt || !l->wino_dx) {
        sr_free_floats(wt);
        sr_free_floats(l->wino_dx);
        l->wino_dx = NULL;
        return -1;
    }
    geom g = make_geom(l, &(sr_tensor){1, l->cin, 3, 3, NULL});
    flip_transpose(&g, l->weight, wt);
    sr_wino_transform_weights(wt, l->cout, l->cin, l->wino_dx);
    sr_free_floats(wt);
    return 0;
}

int sr_conv2d_prepare_backward_bf16(sr_conv2d *l)
{
    if (!l->wino || !l->wino_dx || !wino_bf16_train_ok(l->cin, l->cout))
        return 0;
    sr_free_floats((float *)l->wino_bf16);
    sr_free_floats((float *)l->wino_dx_bf16);
    l->wino_bf16 = (uint32_t *)sr_alloc_floats(sr_wino_u_bf16_words(l->cin, l->cout));
    l->wino_dx_bf16 = (uint32_t *)sr_alloc_floats(sr_wino_u_bf16_words(l->cout, l->cin));
    if (!l->wino_bf16 || !l->wino_dx_bf16)
        return -1; /* what was made goes with sr_conv2d_release */
    sr_wino_pack_bf16(l->wino, l->cin, l->cout, l->wino_bf16);
    sr_wino_pack_bf16(l->wino_dx, l->cout, l->cin, l->wino_dx_bf16);
    return 0;
}

sr_conv_impl sr_conv2d_train_prepare(const sr_conv2d *l, sr_conv2d *lw, float *u)
{
    *lw = *l;
    lw->wino_bf16 = NULL; /* fp32 (bf16: sr_conv2d_train_prepare_bf16) */
    lw->amx = NULL;
    const int k = train_wino_kind(l, SR_CONV_AUTO, 1, WINO_AUTO_MIN_CH);
    if (!k || !u)
        return SR_CONV_AUTO;
    sr_wino_transform_weights(l->weight, l->cin, l->cout, u);
    lw->wino = u;
    return k == 2 ? SR_CONV_WINOGRAD_REF : SR_CONV_WINOGRAD;
}

static size_t wino_scratch(const sr_conv2d *l, const geom *g)
{
    sr_wino_geom w = sr_wino_geom_of(g->cin, g->cout, g->h, g->w, 0, 0);
    return (l->wino ? 0 : sr_wino_u_floats(g->cin, g->cout)) + sr_wino_scratch(&w);
}

static void forward_wino(const sr_conv2d *l, const geom *g, int kind, const float *x, float *y,
                         float *scratch, const sr_conv_epilogue *ep, int oy, int ox)
{
    const float *u = l->wino;
    if (!u) { /* not prepared (tests, SRGAN_CONV): transform into scratch */
        sr_wino_transform_weights(l->weight, g->cin, g->cout, scratch);
        u = scratch;
        scratch += sr_wino_u_floats(g->cin, g->cout);
    }
    sr_wino_geom w = sr_wino_geom_of(g->cin, g->cout, g->h, g->w, ((oy % 4) + 4) % 4,
                                     ((ox % 4) + 4) % 4);
    w.y0 = g->y0;
    w.y1 = g->y1;
    if (kind == 1)
        sr_wino_forward_avx2(&w, x, u, l->bias, y, scratch, ep);
    else
        sr_wino_forward_ref(&w, x, u, l->bias, y, ep);
}

/* Any direct kernel may run (scratch must cover it). */
static int any_direct(void)
{
    return sr_conv_direct_cpu_ok() || sr_conv_avx2_cpu_ok();
}

static void run_direct(int isa, const sr_direct_geom *d, const float *x, const float *w,
                       const float *b, float *y, float *scratch, const sr_conv_epilogue *ep)
{
    if (isa == ISA_AVX512)
        sr_conv_direct(d, x, w, b, y, scratch, ep);
    else
        sr_conv_direct_avx2(d, x, w, b, y, scratch, ep);
}

/* dx of a stride-1 conv is a stride-1 conv of dy with the kernel flipped and
 * in/out channels swapped, padded by k-1-pad; square kernels only, so one
 * padding fits both axes. Returns the kernel to use, or ISA_NONE. */
static int direct_bwd_isa(const geom *g, sr_conv_impl impl)
{
    if (g->s != 1 || g->kh != g->kw || g->pad > g->kh - 1)
        return ISA_NONE;
    return layer_isa(g, impl);
}

static sr_direct_geom direct_bwd_geom(const geom *g)
{
    sr_direct_geom d = { g->cout, g->cin, g->kh, g->kw, g->kh - 1 - g->pad,
                         g->oh, g->ow, g->h, g->w, 0, g->h };
    return d;
}

/* The kernel for the forward pass and dweight, or ISA_NONE. */
static int use_direct(const geom *g, sr_conv_impl impl)
{
    if (g->s != 1)
        return ISA_NONE;
    int isa = layer_isa(g, impl);
    if (impl == SR_CONV_AUTO && is_pointwise(g))
        return ISA_NONE; /* 1x1 convs are plain GEMMs already; sgemm handles them well */
    return isa;
}

int sr_conv2d_impl_supported(const sr_conv2d *l, sr_conv_impl impl)
{
    if (impl == SR_CONV_GEMM || impl == SR_CONV_AUTO || impl == SR_CONV_REF)
        return 1;
    if (impl == SR_CONV_WINOGRAD || impl == SR_CONV_WINOGRAD_REF)
        return wino_kind(l, impl) != 0;
    return l->stride <= 1 && cpu_isa(impl) != ISA_NONE;
}

int sr_conv2d_direct_supported(const sr_conv2d *l)
{
    return sr_conv2d_impl_supported(l, SR_CONV_DIRECT);
}

size_t sr_conv2d_scratch_floats(const sr_conv2d *l, const sr_tensor *x)
{
    geom g = make_geom(l, x);
    if (g.oh <= 0 || g.ow <= 0)
        return 1;
    size_t need = is_pointwise(&g) ? 1 : g.K * (size_t)gemm_rows(&g) * g.ow;
    if (g.s == 1 && any_direct()) {
        sr_direct_geom d = direct_fwd_geom(&g);
        size_t f = sr_conv_direct_scratch(&d);
        if (f > need)
            need = f;
    }
    if (g.s == 1 && any_direct()) {
        sr_direct_geom d = direct_fwd_geom(&g);
        size_t b = sr_conv_direct_dw_scratch(&d);
        if (b > need)
            need = b;
    }
    if (g.s == 1 && g.kh == g.kw && g.pad <= g.kh - 1 && any_direct()) {
        /* the direct dx's region, then the dweight kernels' (backward_run) */
        sr_direct_geom d = direct_bwd_geom(&g);
        size_t b = g.K * g.cout + sr_conv_direct_scratch(&d) + need;
        if (b > need)
            need = b;
    }
    if (l->bf16_gemm && !is_pointwise(&g)) {
        /* the packed weights, then an image's im2col block and bf16 GEMM
         * buffers (forward or dx), or whatever else the image needs */
        const size_t ncols = (size_t)gemm_rows(&g) * g.ow;
        const size_t f = sr_gemm_bf16_scratch(g.cout, (int)ncols, (int)g.K),
                     b = sr_gemm_bf16_scratch((int)g.K, (int)ncols, g.cout);
        size_t img = g.K * ncols + (f > b ? f : b);
        if (need > img)
            img = need;
        if (gemm_bf16_a_floats(&g) + img > need)
            need = gemm_bf16_a_floats(&g) + img;
    }
    if (sr_amx_layer_ok(l) && sr_amx_scratch(g.cin, g.cout, g.h, g.w) > need)
        need = sr_amx_scratch(g.cin, g.cout, g.h, g.w);
    if (sr_wino_layer_ok(l)) {
        size_t f = wino_scratch(l, &g);
        if (f > need)
            need = f;
        /* backward: U of the dx conv and the dweight accumulator dU (kept
         * from sr_conv2d_backward_begin to _end), then one image's needs */
        sr_wino_geom b = sr_wino_geom_of(g.cout, g.cin, g.oh, g.ow, 0, 0),
                     fw = sr_wino_geom_of(g.cin, g.cout, g.h, g.w, 0, 0);
        size_t rest = sr_wino_scratch(&b);
        if (g.K * g.cout > rest)
            rest = g.K * g.cout;
        if (sr_wino_dweight_scratch(&fw) > rest)
            rest = sr_wino_dweight_scratch(&fw);
        if (sr_amx_layer_ok(l) && sr_amx_scratch(g.cout, g.cin, g.oh, g.ow) > rest)
            rest = sr_amx_scratch(g.cout, g.cin, g.oh, g.ow); /* bf16 training's dx */
        if (sr_amx_layer_ok(l) && sr_amx_dw_scratch(g.cin, g.cout, g.w) > rest)
            rest = sr_amx_dw_scratch(g.cin, g.cout, g.w); /* and dweight */
        if (need > rest)
            rest = need;
        need = u_slot(l) + du_slot(l) + rest;
    }
    return need;
}

/* col[(ci*kh + ky)*kw + kx][r*ow + ox] = x[ci][(oy0+r)*s - pad + ky][ox*s - pad + kx] */
static void im2col_rows(const geom *g, const float *x, int oy0, int rows, float *col)
{
    const size_t ncols = (size_t)rows * g->ow;
    for (int ci = 0; ci < g->cin; ci++) {
        const float *xc = x + (size_t)ci * g->h * g->w;
        for (int ky = 0; ky < g->kh; ky++) {
            for (int kx = 0; kx < g->kw; kx++) {
                float *dst = col + (((size_t)ci * g->kh + ky) * g->kw + kx) * ncols;
                /* output columns whose source column lies inside the image */
                int lo = 0, hi = g->ow;
                while (lo < hi && lo * g->s - g->pad + kx < 0)
                    lo++;
                while (hi > lo && (hi - 1) * g->s - g->pad + kx >= g->w)
                    hi--;
                for (int r = 0; r < rows; r++) {
                    float *d = dst + (size_t)r * g->ow;
                    int iy = (oy0 + r) * g->s - g->pad + ky;
                    if (iy < 0 || iy >= g->h) {
                        memset(d, 0, (size_t)g->ow * sizeof(float));
                        continue;
                    }
                    /* source of output column ox: row iy, column ox*s - pad + kx */
                    const float *src = xc + (size_t)iy * g->w;
                    const int off = kx - g->pad;
                    memset(d, 0, (size_t)lo * sizeof(float));
                    if (g->s == 1)
                        memcpy(d + lo, src + lo + off, (size_t)(hi - lo) * sizeof(float));
                    else
                        for (int ox = lo; ox < hi; ox++)
                            d[ox] = src[ox * g->s + off];
                    memset(d + hi, 0, (size_t)(g->ow - hi) * sizeof(float));
                }
            }
        }
    }
}

/* The pointwise loops below get an AVX2 copy picked at load time (ifunc):
 * the build targets plain x86-64, whose 4-wide SSE halves their speed. They
 * only add, compare and multiply without contraction, so both copies give
 * the same bits. */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
#define POINTWISE_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define POINTWISE_CLONES
#endif

/* d[i] += s[i]: the same additions in the same order as the strided loop,
 * so the result is bit for bit the same, but the compiler may vectorise it. */
static void add_row(float *restrict d, const float *restrict s, int n)
{
    for (int i = 0; i < n; i++)
        d[i] += s[i];
}

/* The adjoint of im2col_rows: dx[...] += col[...] */
POINTWISE_CLONES
static void col2im_rows(const geom *g, const float *col, int oy0, int rows, float *dx)
{
    const size_t ncols = (size_t)rows * g->ow;
    for (int ci = 0; ci < g->cin; ci++) {
        float *xc = dx + (size_t)ci * g->h * g->w;
        for (int ky = 0; ky < g->kh; ky++) {
            for (int kx = 0; kx < g->kw; kx++) {
                const float *srcc = col + (((size_t)ci * g->kh + ky) * g->kw + kx) * ncols;
                int lo = 0, hi = g->ow;
                while (lo < hi && lo * g->s - g->pad + kx < 0)
                    lo++;
                while (hi > lo && (hi - 1) * g->s - g->pad + kx >= g->w)
                    hi--;
                for (int r = 0; r < rows; r++) {
                    int iy = (oy0 + r) * g->s - g->pad + ky;
                    if (iy < 0 || iy >= g->h)
                        continue;
                    const float *s = srcc + (size_t)r * g->ow;
                    float *d = xc + (size_t)iy * g->w;
                    const int off = kx - g->pad;
                    if (g->s == 1) /* contiguous: vectorised (was 12% of a training step) */
                        add_row(d + lo + off, s + lo, hi - lo);
                    else
                        for (int ox = lo; ox < hi; ox++)
                            d[ox * g->s + off] += s[ox];
                }
            }
        }
    }
}

static void fill_bias(const geom *g, const float *bias, float *y, int oy0, int rows)
{
    const size_t plane = (size_t)g->oh * g->ow, len = (size_t)rows * g->ow;
    for (int co = 0; co < g->cout; co++) {
        float *d = y + co * plane + (size_t)oy0 * g->ow;
        float b = bias ? bias[co] : 0.0f;
        for (size_t i = 0; i < len; i++)
            d[i] = b;
    }
}

/* d > 0 ? d : d * a (activation.c's expression, same values), with the
 * product taken for every element and selected by bit masks: written as
 * that expression, GCC sinks the multiply into a branch it may not
 * speculate (-ftrapping-math) and ran this scalar with a branch on each
 * sign, a third of an AMX inference. The masked form vectorises. */
static inline float leaky(float v, float a)
{
    uint32_t uv, ut;
    const float t = v * a;
    memcpy(&uv, &v, sizeof uv);
    memcpy(&ut, &t, sizeof ut);
    const uint32_t m = -(uint32_t)(v > 0.0f), r = (uv & m) | (ut & ~m);
    float f;
    memcpy(&f, &r, sizeof f);
    return f;
}

POINTWISE_CLONES
void sr_conv_epilogue_rows(const sr_conv_epilogue *ep, float *y, size_t plane, int co0, int co1,
                           size_t p0, size_t len)
{
    for (int co = co0; co < co1; co++) {
        float *restrict d = y + (size_t)co * plane + p0;
        if (ep->residual) /* conv + residual: the sum sr_add makes, same bits */
            add_row(d, ep->residual + (size_t)co * plane + p0, (int)len);
        switch (ep->act) {
        case SR_ACT_RELU: /* the expressions of activation.c, so the same values */
            for (size_t i = 0; i < len; i++)
                d[i] = d[i] > 0.0f ? d[i] : 0.0f;
            break;
        case SR_ACT_LRELU:
        case SR_ACT_PRELU: {
            const float a = ep->act == SR_ACT_LRELU
                                ? ep->slope
                                : ep->alpha[ep->nalpha == 1 ? 0 : co / (ep->group > 0 ? ep->group : 1)];
            for (size_t i = 0; i < len; i++)
                d[i] = leaky(d[i], a);
            break;
        }
        case SR_ACT_NONE:
            break;
        }
    }
}

static void forward_gemm(const sr_conv2d *l, const geom *g, const float *x, float *y,
                         float *scratch, const sr_conv_epilogue *ep, const uint32_t *ap)
{
    const int plane = g->oh * g->ow;
    if (ap) { /* bf16 operands (gemm_bf16_on), the weights packed in ap */
        const int rb = gemm_rows(g);
        float *gs = scratch + g->K * (size_t)rb * g->ow;
        for (int oy0 = g->y0; oy0 < g->y1; oy0 += rb) {
            const int rows = g->y1 - oy0 < rb ? g->y1 - oy0 : rb, ncols = rows * g->ow;
            im2col_rows(g, x, oy0, rows, scratch);
            float *yb = y + (size_t)oy0 * g->ow;
            sr_gemm_bf16(ap, g->cout, ncols, (int)g->K, scratch, (size_t)ncols, yb,
                         (size_t)plane, gs);
            if (l->bias)
                for (int co = 0; co < g->cout; co++) {
                    float *d = yb + (size_t)co * plane;
                    for (int i = 0; i < ncols; i++)
                        d[i] += l->bias[co];
                }
            if (ep)
                sr_conv_epilogue_rows(ep, y, (size_t)plane, 0, g->cout, (size_t)oy0 * g->ow,
                                      (size_t)ncols);
        }
        return;
    }
    if (is_pointwise(g)) { /* the rows [y0, y1) of every plane, as one matrix */
        const size_t p0 = (size_t)g->y0 * g->ow;
        const int n = (g->y1 - g->y0) * g->ow;
        fill_bias(g, l->bias, y, g->y0, g->y1 - g->y0);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, g->cout, n, g->cin, 1.0f,
                    l->weight, g->cin, x + p0, plane, 1.0f, y + p0, plane);
        if (ep)
            sr_conv_epilogue_rows(ep, y, (size_t)plane, 0, g->cout, p0, (size_t)n);
        return;
    }
    const int rb = gemm_rows(g);
    for (int oy0 = g->y0; oy0 < g->y1; oy0 += rb) {
        int rows = g->y1 - oy0 < rb ? g->y1 - oy0 : rb;
        int ncols = rows * g->ow;
        im2col_rows(g, x, oy0, rows, scratch);
        fill_bias(g, l->bias, y, oy0, rows);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, g->cout, ncols, (int)g->K, 1.0f,
                    l->weight, (int)g->K, scratch, ncols, 1.0f, y + (size_t)oy0 * g->ow, plane);
        if (ep) /* this block of rows (about GEMM_COLS pixels) is still in L2 */
            sr_conv_epilogue_rows(ep, y, (size_t)plane, 0, g->cout, (size_t)oy0 * g->ow,
                                  (size_t)ncols);
    }
}

/* Output rows [g->y0, g->y1) of the six-loop reference. */
static void forward_ref_rows(const sr_conv2d *l, const geom *gp, const sr_tensor *x, sr_tensor *y)
{
    const geom g = *gp;
    for (int b = 0; b < g.n; b++)
        for (int co = 0; co < g.cout; co++)
            for (int oy = g.y0; oy < g.y1; oy++)
                for (int ox = 0; ox < g.ow; ox++) {
                    double acc = l->bias ? l->bias[co] : 0.0;
                    for (int ci = 0; ci < g.cin; ci++)
                        for (int ky = 0; ky < g.kh; ky++) {
                            int iy = oy * g.s - g.pad + ky;
                            if (iy < 0 || iy >= g.h)
                                continue;
                            for (int kx = 0; kx < g.kw; kx++) {
                                int ix = ox * g.s - g.pad + kx;
                                if (ix < 0 || ix >= g.w)
                                    continue;
                                acc += (double)l->weight[(((size_t)co * g.cin + ci) * g.kh + ky) * g.kw + kx] *
                                       x->data[(((size_t)b * g.cin + ci) * g.h + iy) * g.w + ix];
                            }
                        }
                    y->data[(((size_t)b * g.cout + co) * g.oh + oy) * g.ow + ox] = (float)acc;
                }
}

void sr_conv2d_forward_ref(const sr_conv2d *l, const sr_tensor *x, sr_tensor *y)
{
    const geom g = make_geom(l, x);
    forward_ref_rows(l, &g, x, y);
}

/* The six-loop reference, then the epilogue (SR_CONV_REF). */
static void forward_ref_ep(const sr_conv2d *l, const geom *g, const sr_tensor *x, sr_tensor *y,
                           const sr_conv_epilogue *ep)
{
    forward_ref_rows(l, g, x, y);
    if (!ep)
        return;
    const size_t plane = (size_t)y->h * y->w, ys = (size_t)y->c * plane;
    for (int b = 0; b < y->n; b++) {
        sr_conv_epilogue e = *ep;
        if (e.residual)
            e.residual += b * ys;
        sr_conv_epilogue_rows(&e, y->data + b * ys, plane, 0, y->c, (size_t)g->y0 * y->w,
                              (size_t)(g->y1 - g->y0) * y->w);
    }
}

static void forward_ep(const sr_conv2d *l, const sr_tensor *x, sr_tensor *y, float *scratch,
                       sr_conv_impl impl, const sr_conv_epilogue *ep, int oy, int ox, int r0,
                       int r1);

/* SRGAN_ROWS_COPY=1 (tests): every row-range call takes the copy below. */
static int rows_copy_forced(void)
{
    static int v = -1;
    if (v < 0) {
        const char *e = getenv("SRGAN_ROWS_COPY");
        v = e && *e && strcmp(e, "0") != 0;
    }
    return v;
}

/* Output rows [g->y0, g->y1) of one image through a whole-tensor call on a
 * copy of the input rows they read, [y0 - pad, y1 + pad) clipped to the
 * image: for kernels without a row range of their own (AMX), and ranges
 * off Winograd's tile grid. Same bits: a stride-1 output reads only those
 * rows, and the copy keeps its image origin (oy + a), so Winograd's tiles
 * stay where they were; for Winograd (tiles set) the rows are those of the
 * whole tile rows around the range, whose every input an output's
 * rounding may depend on. */
static void forward_rows_copy(const sr_conv2d *l, const geom *g, const float *x, float *y,
                              float *scratch, sr_conv_impl impl, const sr_conv_epilogue *ep,
                              int oy, int ox, int tiles)
{
    const int py = ((oy % 4) + 4) % 4;
    const int t0 = tiles ? (g->y0 + py) / 4 * 4 - py : g->y0;
    const int t1 = tiles ? (g->y1 + py + 3) / 4 * 4 - py : g->y1;
    const int a = t0 - g->pad > 0 ? t0 - g->pad : 0;
    const int b = t1 + g->pad < g->h ? t1 + g->pad : g->h, hh = b - a;
    const size_t in = (size_t)hh * g->w, out = (size_t)hh * g->ow;
    float *xc = scratch, *yc = xc + (size_t)g->cin * in, *rc = yc + (size_t)g->cout * out;
    float *rest = rc + (ep && ep->residual ? (size_t)g->cout * out : 0);
    for (int c = 0; c < g->cin; c++)
        memcpy(xc + c * in, x + ((size_t)c * g->h + a) * g->w, in * sizeof(float));
    sr_conv_epilogue e, *ec = NULL;
    if (ep) {
        e = *ep;
        if (ep->residual) {
            for (int c = 0; c < g->cout; c++)
                memcpy(rc + c * out, ep->residual + ((size_t)c * g->oh + a) * g->ow,
                       out * sizeof(float));
            e.residual = rc;
        }
        ec = &e;
    }
    sr_tensor xt = {1, g->cin, hh, g->w, xc}, yt = {1, g->cout, hh, g->ow, yc};
    forward_ep(l, &xt, &yt, rest, impl, ec, oy + a, ox, 0, hh);
    for (int c = 0; c < g->cout; c++)
        memcpy(y + ((size_t)c * g->oh + g->y0) * g->ow, yc + c * out + (size_t)(g->y0 - a) * g->ow,
               (size_t)(g->y1 - g->y0) * g->ow * sizeof(float));
}

static size_t rows_copy_floats(const sr_conv2d *l, const sr_tensor *x, int rows)
{
    const int span = rows + 2 * l->pad + 6; /* + 6: Winograd's whole tile rows */
    const int hh = span < x->h ? span : x->h;
    const sr_tensor t = {1, x->c, hh, x->w, NULL};
    return (size_t)hh * x->w * (l->cin + 2 * (size_t)l->cout) + sr_conv2d_scratch_floats(l, &t);
}

size_t sr_conv2d_rows_scratch_floats(const sr_conv2d *l, const sr_tensor *x, int rows,
                                     int on_grid)
{
    const size_t whole = sr_conv2d_scratch_floats(l, x);
    if (on_grid && !rows_copy_forced() && !(l->amx && sr_amx_supported()))
        return whole;
    const size_t c = rows_copy_floats(l, x, rows);
    return c > whole ? c : whole;
}

static void forward_ep(const sr_conv2d *l, const sr_tensor *x, sr_tensor *y, float *scratch,
                       sr_conv_impl impl, const sr_conv_epilogue *ep, int oy, int ox, int r0,
                       int r1)
{
    geom g = make_geom(l, x);
    if (g.oh <= 0 || g.ow <= 0 || g.n <= 0)
        return;
    g.y0 = r0 > 0 ? r0 : 0;
    g.y1 = r1 < g.oh ? r1 : g.oh;
    if (g.y0 >= g.y1)
        return;
    const int part = g.y0 > 0 || g.y1 < g.oh;
    const size_t xs = (size_t)g.cin * g.h * g.w, ys = (size_t)g.cout * g.oh * g.ow;
    if (impl == SR_CONV_AUTO)
        impl = auto_impl();
    if (impl == SR_CONV_REF) {
        forward_ref_ep(l, &g, x, y, ep);
        return;
    }
    const int ak = amx_kind(l, impl);
    const int bk = ak ? 0 : bf16_kind(l, impl);
    const int wk = ak || bk ? 0 : wino_kind(l, impl);
    /* Winograd computes whole tile rows: a range off its grid takes the copy */
    const int off_grid = (bk || wk) && (((oy + g.y0) % 4 + 4) % 4 != 0 ||
                                        (g.y1 < g.oh && ((oy + g.y1) % 4 + 4) % 4 != 0));
    if (part && (ak || off_grid || rows_copy_forced())) { /* one image: forward_rows */
        forward_rows_copy(l, &g, x->data, y->data, scratch, impl, ep, oy, ox, bk || wk);
        return;
    }
    if (impl == SR_CONV_WINOGRAD || impl == SR_CONV_WINOGRAD_REF)
        impl = SR_CONV_AUTO; /* where Winograd cannot run: AUTO's kernel (not the
                              * env's again), so that e.g. SRResNet's small 9x9
                              * convs keep the direct kernel, exact in tiles */
    int direct = use_direct(&g, impl);
    sr_direct_geom d = direct_fwd_geom(&g);
    /* bf16 GEMM: the weights packed once for the batch at the start of
     * scratch, each image's buffers after them */
    const int gb = !ak && !bk && !wk && (impl == SR_CONV_AUTO || impl == SR_CONV_GEMM) &&
                   gemm_bf16_on(l, &g) && g.oh > 0 && g.ow > 0; /* SRGAN_CONV's kernels stay */
    const uint32_t *ap = NULL;
    float *gscratch = scratch;
    if (gb) {
        direct = ISA_NONE;
        ap = l->gemm_bf16w; /* prepared, or packed here */
        if (!ap) {
            sr_gemm_bf16_pack_a(g.cout, (int)g.K, l->weight, g.K, 1, (uint32_t *)(void *)scratch);
            ap = (const uint32_t *)(void *)scratch;
            gscratch = scratch + gemm_bf16_a_floats(&g);
        }
    }
    for (int b = 0; b < g.n; b++) {
        sr_conv_epilogue e, *eb = NULL;
        if (ep) {
            e = *ep;
            if (e.residual)
                e.residual += b * ys;
            eb = &e;
        }
        if (ak == 1)
            sr_amx_forward(g.cin, g.cout, g.h, g.w, x->data + b * xs, l->amx, l->bias,
                           y->data + b * ys, scratch, eb, NULL);
        else if (ak == 2)
            sr_amx_forward_ref(g.cin, g.cout, g.h, g.w, x->data + b * xs, l->amx, l->bias,
                               y->data + b * ys, eb, NULL);
        else if (bk) {
            sr_wino_geom w = sr_wino_geom_of(g.cin, g.cout, g.h, g.w, ((oy % 4) + 4) % 4,
                                             ((ox % 4) + 4) % 4);
            w.y0 = g.y0;
            w.y1 = g.y1;
            if (bk == 1)
                sr_wino_forward_bf16(&w, x->data + b * xs, l->wino_bf16, l->bias,
                                     y->data + b * ys, scratch, eb);
            else
                sr_wino_forward_bf16_ref(&w, x->data + b * xs, l->wino_bf16, l->bias,
                                         y->data + b * ys, eb);
        } else if (wk)
            forward_wino(l, &g, wk, x->data + b * xs, y->data + b * ys, scratch, eb, oy, ox);
        else if (direct)
            run_direct(direct, &d, x->data + b * xs, b ? NULL : l->weight, l->bias,
                       y->data + b * ys, scratch, eb); /* packed once for the batch */
        else
            forward_gemm(l, &g, x->data + b * xs, y->data + b * ys, gscratch, eb, ap);
    }
}

void sr_conv2d_forward_impl(const sr_conv2d *l, const sr_tensor *x, sr_tensor *y,
                            float *scratch, sr_conv_impl impl)
{
    forward_ep(l, x, y, scratch, impl, NULL, 0, 0, 0, INT_MAX);
}

void sr_conv2d_forward_ep(const sr_conv2d *l, const sr_tensor *x, sr_tensor *y, float *scratch,
                          const sr_conv_epilogue *ep)
{
    forward_ep(l, x, y, scratch, SR_CONV_AUTO, ep, 0, 0, 0, INT_MAX);
}

void sr_conv2d_forward_at(const sr_conv2d *l, const sr_tensor *x, sr_tensor *y, float *scratch,
                          sr_conv_impl impl, const sr_conv_epilogue *ep, int oy, int ox)
{
    forward_ep(l, x, y, scratch, impl, ep, oy, ox, 0, INT_MAX);
}

void sr_conv2d_forward_rows(const sr_conv2d *l, const sr_tensor *x, sr_tensor *y, float *scratch,
                            sr_conv_impl impl, const sr_conv_epilogue *ep, int oy, int ox, int r0,
                            int r1)
{
    forward_ep(l, x, y, scratch, impl, ep, oy, ox, r0, r1);
}

void sr_conv2d_forward_ep_impl(const sr_conv2d *l, const sr_tensor *x, sr_tensor *y,
                               float *scratch, sr_conv_impl impl, const sr_conv_epilogue *ep)
{
    forward_ep(l, x, y, scratch, impl, ep, 0, 0, 0, INT_MAX);
}

void sr_conv2d_forward(const sr_conv2d *l, const sr_tensor *x, sr_tensor *y, float *scratch)
{
    sr_conv2d_forward_impl(l, x, y, scratch, SR_CONV_AUTO);
}


/* dbias += the sum of each dy plane, in double: 8 interleaved partial sums
 * (lane k takes pixels k, k + 8, ...) so the loop vectorises without
 * reassociation (a single chain was 3.8 % of a training step). */
#define BIAS_LANES 8
POINTWISE_CLONES
static void backward_bias(const geom *g, const float *dy, float *dbias)
{
    const size_t plane = (size_t)g->oh * g->ow;
    for (int co = 0; co < g->cout; co++) {
        const float *d = dy + co * plane;
        double s[BIAS_LANES] = {0};
        size_t i = 0;
        for (; i + BIAS_LANES <= plane; i += BIAS_LANES)
            for (int k = 0; k < BIAS_LANES; k++)
                s[k] += d[i + k];
        double t = 0.0;
        for (; i < plane; i++)
            t += d[i];
        for (int k = 0; k < BIAS_LANES; k++)
            t += s[k];
        dbias[co] += (float)t;
    }
}

/* dweight (accumulated) and, unless dx is NULL, dx (accumulated into the
 * zeroed dx) by im2col/col2im and sgemm, for one image. */
static void backward_gemm(const sr_conv2d *l, const geom *g, const float *x, const float *dy,
                          float *dx, float *dweight, float *scratch, const uint32_t *apdx)
{
    const int plane = g->oh * g->ow;
    if (is_pointwise(g)) {
        if (dweight)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, g->cout, g->cin, plane, 1.0f,
                        dy, plane, x, plane, 1.0f, dweight, g->cin);
        if (dx)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, g->cin, plane, g->cout, 1.0f,
                        l->weight, g->cin, dy, plane, 1.0f, dx, plane);
        return;
    }
    const int rb = gemm_rows(g);
    for (int oy0 = 0; oy0 < g->oh; oy0 += rb) {
        int rows = g->oh - oy0 < rb ? g->oh - oy0 : rb;
        int ncols = rows * g->ow;
        const float *dyb = dy + (size_t)oy0 * g->ow;
        if (dweight) {
            im2col_rows(g, x, oy0, rows, scratch);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, g->cout, (int)g->K, ncols, 1.0f,
                        dyb, plane, scratch, ncols, 1.0f, dweight, (int)g->K);
        }
        if (dx && apdx) { /* bf16 operands: W^T packed in apdx (gemm_bf16_on) */
            sr_gemm_bf16(apdx, (int)g->K, ncols, g->cout, dyb, (size_t)plane, scratch,
                         (size_t)ncols, scratch + g->K * (size_t)ncols);
            col2im_rows(g, scratch, oy0, rows, dx);
        } else if (dx) {
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)g->K, ncols, g->cout, 1.0f,
                        l->weight, (int)g->K, dyb, plane, 0.0f, scratch, ncols);
            col2im_rows(g, scratch, oy0, rows, dx);
        }
    }
}

/* w_t[ci][co][ky][kx] = w[co][ci][kh-1-ky][kw-1-kx] */
static void flip_transpose(const geom *g, const float *w, float *wt)
{
    const size_t kk = (size_t)g->kh * g->kw;
    for (int co = 0; co < g->cout; co++)
        for (int ci = 0; ci < g->cin; ci++) {
            const float *src = w + ((size_t)co * g->cin + ci) * kk;
            float *dst = wt + ((size_t)ci * g->cout + co) * kk;
            for (size_t k = 0; k < kk; k++)
                dst[k] = src[kk - 1 - k];
        }
}

/* Kernels of a backward, fixed per layer (never per image size). */
static void backward_begin(sr_conv2d_bwd *b, const sr_conv2d *l, float *dweight, float *dbias,
                           float *scratch, sr_conv_impl impl, int bf16)
{
    memset(b, 0, sizeof *b);
    b->l = l;
    b->dweight = dweight;
    b->dbias = dbias;
    if (impl == SR_CONV_AUTO)
        impl = auto_impl();
    b->wdx = wino_dx(l, impl);
    b->wdw = dweight ? wino_dw(l, impl) : 0;
    /* bf16 training without AMX: the dx conv (cout -> cin) by vdpbf16ps */
    const int wb = bf16 && b->wdx == 1 && wino_bf16_train_ok(l->cout, l->cin);
    if (impl == SR_CONV_WINOGRAD || impl == SR_CONV_WINOGRAD_REF || impl == SR_CONV_REF)
        impl = SR_CONV_AUTO; /* the rest: AUTO's kernels */
    b->impl = impl;
    if (bf16 && b->wdx && sr_amx_supported() && sr_amx_layer_ok(l) && auto_impl() == SR_CONV_AUTO) {
        /* the flipped, transposed kernel packed for AMX (a conv cout -> cin),
         * flipped in the per-image part of scratch first */
        const size_t nu = u_slot(l);
        if (l->amx_dx) { /* prepared (fixed weights) */
            b->amx_dx = l->amx_dx;
        } else {
            float *wt = scratch + nu + du_slot(l);
            geom g = make_geom(l, &(sr_tensor){1, l->cin, 3, 3, NULL});
            flip_transpose(&g, l->weight, wt);
            sr_amx_pack(wt, l->cout, l->cin, (uint16_t *)(void *)scratch);
            b->amx_dx = (const uint16_t *)(void *)scratch;
        }
        b->wdx = 0;
        scratch += nu;
    } else if (b->wdx && l->wino_dx) {
        b->u_dx = l->wino_dx; /* prepared (fixed weights) */
        if (wb) {
            if (l->wino_dx_bf16) {
                b->ub_dx = l->wino_dx_bf16;
            } else { /* rounded here, once for the batch */
                sr_wino_pack_bf16(l->wino_dx, l->cout, l->cin, (uint32_t *)(void *)scratch);
                b->ub_dx = (const uint32_t *)(void *)scratch;
                scratch += u_slot(l);
            }
        }
    } else if (b->wdx) { /* the flipped, transposed kernel, transformed once for the batch */
        geom g = make_geom(l, &(sr_tensor){1, l->cin, 3, 3, NULL});
        const size_t nu = sr_wino_u_floats(l->cout, l->cin);
        flip_transpose(&g, l->weight, scratch + nu);
        sr_wino_transform_weights(scratch + nu, l->cout, l->cin, scratch);
        b->u_dx = scratch;
        if (wb) {
            /* bf16 training without AMX: U rounded to bf16 after it (the
             * flipped kernel there is no longer needed) */
            b->ub_dx = (const uint32_t *)(void *)(scratch + nu);
            sr_wino_pack_bf16(scratch, l->cout, l->cin, (uint32_t *)(void *)(scratch + nu));
        }
        scratch += u_slot(l);
    }
    if (bf16 && dweight && sr_amx_supported() && sr_amx_layer_ok(l) &&
        auto_impl() == SR_CONV_AUTO) { /* bf16 weight gradient on AMX, summed over the batch */
        const size_t na = sr_amx_dw_acc_floats(l->cin, l->cout);
        memset(scratch, 0, na * sizeof(float));
        b->amx_dw = scratch;
        b->wdw = 0;
        scratch += du_slot(l);
    } else if (b->wdw) { /* dU, summed over the batch, brought back once by _end */
        const size_t nd = sr_wino_du_floats(l->cin, l->cout);
        memset(scratch, 0, nd * sizeof(float));
        b->du = scratch;
        scratch += nd;
    }
    b->scratch = scratch;
}

void sr_conv2d_backward_begin(sr_conv2d_bwd *b, const sr_conv2d *l, float *dweight,
                              float *dbias, float *scratch, sr_conv_impl impl)
{
    backward_begin(b, l, dweight, dbias, scratch, impl, 0);
}

void sr_conv2d_backward_begin_bf16(sr_conv2d_bwd *b, const sr_conv2d *l, float *dweight,
                                   float *dbias, float *scratch)
{
    backward_begin(b, l, dweight, dbias, scratch, SR_CONV_AUTO, 1);
}

/* sr_conv2d_backward_add, or with acc set (only with Winograd dx) dx += the
 * input gradient, added in the Winograd kernel's store as a residual that
 * is dx itself (conv2d_winograd_avx2.c reads each residual pixel just
 * before storing it there); gt (only with Winograd dx): the activation
 * derivative applied in that store too. */
static void backward_run(sr_conv2d_bwd *bw, const sr_tensor *x, const sr_tensor *dy,
                         sr_tensor *dx, int acc, const sr_wino_gate *gt)
{
    const sr_conv2d *l = bw->l;
    geom g = make_geom(l, x);
    float *scratch = bw->scratch, *dweight = bw->dweight;
    const sr_conv_impl impl = bw->impl;
    const int wdx = dx && dx->data && (bw->wdx || bw->amx_dx);
    /* bf16 dx (gemm_bf16_on) by im2col, instead of the direct kernel or sgemm */
    const int gemm_bf16_dx = dx && dx->data && !wdx &&
                             (impl == SR_CONV_AUTO || impl == SR_CONV_GEMM) && gemm_bf16_on(l, &g);
    int direct_dx = dx && dx->data && !wdx && !gemm_bf16_dx ? direct_bwd_isa(&g, impl) : ISA_NONE;
    if (dx && dx->data && (!(wdx || direct_dx) || g.oh <= 0 || g.ow <= 0))
        memset(dx->data, 0, sr_tensor_numel(dx) * sizeof(float)); /* col2im adds into
                                  * it; the Winograd and direct kernels store every dx */
    if (g.oh <= 0 || g.ow <= 0 || g.n <= 0)
        return;
    const size_t xs = (size_t)g.cin * g.h * g.w, ys = (size_t)g.cout * g.oh * g.ow;
    if (bw->amx_dw)
        dweight = NULL; /* by AMX below, into its accumulator */
    int direct_dw = dweight && !bw->wdw && use_direct(&g, impl);
    if (impl == SR_CONV_AUTO && g.cout >= AVX2_AUTO_MAX_COUT)
        direct_dw = ISA_NONE; /* im2col + sgemm: faster than the AVX-512 direct
                               * dweight too (bench_conv train, GFLOP/s: 64->64
                               * 32^2 82 vs 65, 128^2 53 vs 32-57), as already
                               * on AVX2 CPUs; few outputs keep the direct one */
    int gemm_dw = dweight && !bw->wdw && !direct_dw;
    sr_direct_geom d = direct_bwd_geom(&g), df = direct_fwd_geom(&g);
    sr_wino_geom wf = sr_wino_geom_of(g.cin, g.cout, g.h, g.w, 0, 0);
    /* the bf16 dx's W^T: prepared, or packed once for the batch at the
     * start of scratch */
    const uint32_t *apdx = NULL;
    const int apdx_in_scratch = gemm_bf16_dx && !l->gemm_bf16w;
    if (apdx_in_scratch)
        sr_gemm_bf16_pack_a((int)g.K, g.cout, l->weight, 1, g.K, (uint32_t *)(void *)scratch);
    if (gemm_bf16_dx)
        apdx = apdx_in_scratch ? (const uint32_t *)(void *)scratch
                               : l->gemm_bf16w + sr_gemm_bf16_a_words(g.cout, (int)g.K);
    /* The direct dx's flipped weights, packed by its first image, stay at
     * the start of its scratch for the others; the dweight kernels then
     * work past its region (sr_conv2d_scratch_floats counts both), as past
     * the bf16 dx's packed weights. */
    float *dw_scratch = direct_dx ? scratch + g.K * g.cout + sr_conv_direct_scratch(&d)
                        : apdx_in_scratch ? scratch + gemm_bf16_a_floats(&g)
                                  : scratch;
    for (int b = 0; b < g.n; b++) {
        const float *xb = x->data + b * xs, *dyb = dy->data + b * ys;
        float *dxb = dx && dx->data && !direct_dx && !wdx ? dx->data + b * xs : NULL;
        if (bw->dbias)
            backward_bias(&g, dyb, bw->dbias);
        if (bw->amx_dw)
            sr_amx_dweight(g.cin, g.cout, g.h, g.w, xb, dyb, bw->amx_dw, scratch);
        if (bw->wdw == 1)
            sr_wino_dweight_avx2(&wf, xb, dyb, bw->du, scratch);
        else if (bw->wdw == 2)
            sr_wino_dweight_ref(&wf, xb, dyb, bw->du);
        else if (direct_dw == ISA_AVX512)
            sr_conv_direct_dweight(&df, xb, dyb, dweight, dw_scratch);
        else if (direct_dw)
            sr_conv_direct_dweight_avx2(&df, xb, dyb, dweight, dw_scratch);
        if (gemm_dw || dxb)
            backward_gemm(l, &g, xb, dyb, dxb, gemm_dw ? dweight : NULL, dw_scratch, apdx);
        if (direct_dx) {
            if (b == 0)
                flip_transpose(&g, l->weight, scratch);
            run_direct(direct_dx, &d, dyb, b ? NULL : scratch, NULL, dx->data + b * xs,
                       scratch + g.K * g.cout, NULL);
        }
        if (wdx) { /* dx = conv(dy, flipped W^T), 3x3 pad 1: a forward, by
                    * Winograd, or on AMX in bf16 training */
            float *dxw = dx->data + b * xs;
            const sr_conv_epilogue e = {.residual = dxw};
            sr_wino_gate gb;
            if (gt) {
                gb = *gt;
                gb.x += b * xs;
            }
            if (bw->amx_dx) {
                sr_amx_forward(g.cout, g.cin, g.oh, g.ow, dyb, bw->amx_dx, NULL, dxw, scratch,
                               acc ? &e : NULL, gt ? &gb : NULL);
            } else if (bw->ub_dx) {
                sr_wino_geom wg = sr_wino_geom_of(g.cout, g.cin, g.oh, g.ow, 0, 0);
                sr_wino_forward_gated_bf16(&wg, dyb, bw->ub_dx, NULL, dxw, scratch,
                                           acc ? &e : NULL, gt ? &gb : NULL);
            } else {
                sr_wino_geom wg = sr_wino_geom_of(g.cout, g.cin, g.oh, g.ow, 0, 0);
                sr_wino_forward_gated_avx2(&wg, dyb, bw->u_dx, NULL, dxw, scratch,
                                           acc ? &e : NULL, gt ? &gb : NULL);
            }
        }
    }
}

void sr_conv2d_backward_add(sr_conv2d_bwd *bw, const sr_tensor *x, const sr_tensor *dy,
                            sr_tensor *dx)
{
    backward_run(bw, x, dy, dx, 0, NULL);
}

void sr_conv2d_backward_gated(sr_conv2d_bwd *bw, const sr_tensor *x, const sr_tensor *dy,
                              sr_tensor *dx, sr_act_kind act, float slope, const float *gate)
{
    if (bw->wdx || bw->amx_dx) { /* in the kernel's store */
        const sr_wino_gate gt = {gate, act, slope};
        backward_run(bw, x, dy, dx, 0, &gt);
        return;
    }
    backward_run(bw, x, dy, dx, 0, NULL);
    if (act == SR_ACT_RELU)
        sr_relu_backward(gate, dx->data, dx->data, sr_tensor_numel(dx));
    else
        sr_lrelu_backward(gate, dx->data, dx->data, sr_tensor_numel(dx), slope);
}

void sr_conv2d_backward_acc(sr_conv2d_bwd *bw, const sr_tensor *x, const sr_tensor *dy,
                            sr_tensor *dx, float *tmp)
{
    if (dx && dx->data && (bw->wdx || bw->amx_dx)) { /* added in the kernel's store */
        backward_run(bw, x, dy, dx, 1, NULL);
        return;
    }
    sr_tensor t = {0};
    if (dx && dx->data) {
        t = *dx;
        t.data = tmp;
    }
    backward_run(bw, x, dy, t.data ? &t : NULL, 0, NULL);
    if (t.data) /* dx + t: the sum the Winograd store makes (t + dx), same bits */
        sr_add(dx->data, tmp, dx->data, sr_tensor_numel(dx));
}

void sr_conv2d_backward_end(sr_conv2d_bwd *b)
{
    if (b->wdw)
        sr_wino_dweight_finish(b->du, b->l->cin, b->l->cout, b->dweight);
    if (b->amx_dw)
        sr_amx_dweight_finish(b->amx_dw, b->l->cin, b->l->cout, b->dweight);
    b->wdw = 0;
    b->amx_dw = NULL;
}

void sr_conv2d_backward_impl(const sr_conv2d *l, const sr_tensor *x, const sr_tensor *dy,
                             sr_tensor *dx, float *dweight, float *dbias, float *scratch,
                             sr_conv_impl impl)
{
    sr_conv2d_bwd b;
    sr_conv2d_backward_begin(&b, l, dweight, dbias, scratch, impl);
    sr_conv2d_backward_add(&b, x, dy, dx);
    sr_conv2d_backward_end(&b);
}

void sr_conv2d_backward(const sr_conv2d *l, const sr_tensor *x, const sr_tensor *dy,
                        sr_tensor *dx, float *dweight, float *dbias, float *scratch)
{
    sr_conv2d_backward_impl(l, x, dy, dx, dweight, dbias, scratch, SR_CONV_AUTO);
}
