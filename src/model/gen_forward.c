/* gen_forward.c: inference of the generator on one region of an image, and
 * on whole images.
 *
 * A region is computed from an input window that covers it plus the halo
 * (clipped to the image). The LR trunk runs on the whole window; its output
 * is then cropped to the region plus the small margin the upsampling tail
 * needs, so the expensive HR-resolution layers never see the wide halo.
 * Values near a window edge that is not an image edge are wrong (the convs
 * zero-pad there) but that error moves inward one conv radius per layer and
 * the halo is wide enough that it never reaches the region, so a region's
 * output equals the whole-image output. Bit for bit also with Winograd
 * convs, whose 4x4 tile grid is anchored to image coordinates: every conv
 * gets the image position of its input's pixel (0, 0) (sr_conv2d_forward_at)
 * and the halo counts Winograd's wider reach (sr_conv2d_reach). */
#include "gen_internal.h"

#include <string.h>

void gen_act_forward(const gen_act *a, sr_tensor *t)
{
    switch (a->kind) {
    case ACT_RELU: sr_relu_forward(t->data, t->data, sr_tensor_numel(t)); break;
    case ACT_LRELU: sr_lrelu_forward(t->data, t->data, sr_tensor_numel(t), GEN_LRELU_SLOPE); break;
    case ACT_PRELU: sr_prelu_forward(t, a->alpha, a->nalpha, t); break;
    case ACT_NONE: break;
    }
}

/* The activation as a conv epilogue (applied while the conv's output is in
 * cache, same values as gen_act_forward). group: output channels per PReLU
 * alpha channel (r*r for a conv whose output a pixel shuffle rearranges:
 * the shuffle maps conv channel co to co / (r*r), and a pointwise
 * activation commutes with the shuffle). */
sr_conv_epilogue gen_act_epilogue(const gen_act *a, int group)
{
    sr_conv_epilogue e = {0};
    switch (a->kind) {
    case ACT_RELU: e.act = SR_ACT_RELU; break;
    case ACT_LRELU: e.act = SR_ACT_LRELU; e.slope = GEN_LRELU_SLOPE; break;
    case ACT_PRELU:
        e.act = SR_ACT_PRELU;
        e.alpha = a->alpha;
        e.nalpha = a->nalpha;
        e.group = group;
        break;
    case ACT_NONE: break;
    }
    return e;
}

static sr_tensor view(float *p, int c, int h, int w)
{
    return (sr_tensor){.n = 1, .c = c, .h = h, .w = w, .data = p};
}

static size_t conv_scratch(const gen_conv *cv, int c, int h, int w)
{
    sr_tensor t = view(NULL, c, h, w);
    return sr_conv2d_scratch_floats(&cv->c, &t);
}

/* The upsampling tail runs on strips of at most TAIL_STRIP LR rows of the
 * region (each with the tail's margin of rows above and below, recomputed),
 * so its full-resolution buffers hold a strip, not the whole region: for a
 * 256x256 x4 tile they were two 268 MB feature maps, and first touching that
 * memory cost 1.5-2 s of system time per file on a VM (bench/README.md).
 * The recomputed margin rows cost 2 * margin / TAIL_STRIP of the tail's work
 * (6 % for MSRResNet x4). The rows of a strip are exact for the same reason
 * the rows of a tile are: the margin covers the tail's reach. */
#define TAIL_STRIP 64

/* Sizes (floats) of every buffer a region needs. */
typedef struct region_plan {
    int cy0, cy1, cx0, cx1; /* crop of the trunk output, image coordinates */
    int strip_rows;         /* LR rows of a tail strip, margins included (at most) */
    size_t trunk, skipfeat, big, crop, strip, out, scratch;
} region_plan;

static int clampi(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static region_plan plan(const sr_generator *g, const gen_region *r)
{
    region_plan p;
    const int M = gen_tail_margin(g), s = g->cfg.scale, C = g->cfg.channels;
    p.cy0 = clampi(r->ry0 - M, r->wy0, r->wy0 + r->wh);
    p.cy1 = clampi(r->ry1 + M, r->wy0, r->wy0 + r->wh);
    p.cx0 = clampi(r->rx0 - M, r->wx0, r->wx0 + r->ww);
    p.cx1 = clampi(r->rx1 + M, r->wx0, r->wx0 + r->ww);
    const size_t cw = (size_t)(p.cx1 - p.cx0);
    const size_t win = (size_t)r->wh * r->ww;
    p.strip_rows = p.cy1 - p.cy0 < TAIL_STRIP + 2 * M ? p.cy1 - p.cy0 : TAIL_STRIP + 2 * M;
    const size_t ch = (size_t)p.strip_rows; /* what the tail sees */
    p.trunk = (size_t)C * win;
    p.skipfeat = g->cfg.arch == SR_ARCH_SRRESNET ? (size_t)C * win : 0;
    const size_t hr = (size_t)C * s * s * ch * cw;
    p.big = hr > p.trunk ? hr : p.trunk;
    p.crop = (size_t)C * (size_t)(p.cy1 - p.cy0) * cw;
    p.strip = (size_t)C * ch * cw;
    p.out = (size_t)g->cfg.out_channels * s * s * ch * cw;
    size_t sc = conv_scratch(&g->first, g->cfg.in_channels, r->wh, r->ww);
    size_t t = g->cfg.blocks ? conv_scratch(&g->conv1[0], C, r->wh, r->ww) : 0;
    sc = t > sc ? t : sc;
    if (g->cfg.arch == SR_ARCH_SRRESNET) {
        t = conv_scratch(&g->body, C, r->wh, r->ww);
        sc = t > sc ? t : sc;
    }
    int f = 1;
    for (int k = 0; k < g->nup; k++) {
        t = conv_scratch(&g->up[k], C, (int)ch * f, (int)cw * f);
        sc = t > sc ? t : sc;
        f *= g->up_r;
    }
    if (g->cfg.arch == SR_ARCH_MSRRESNET) {
        t = conv_scratch(&g->hr, C, (int)ch * s, (int)cw * s);
        sc = t > sc ? t : sc;
    }
    t = conv_scratch(&g->last, C, (int)ch * s, (int)cw * s);
    p.scratch = t > sc ? t : sc;
    return p;
}

size_t gen_region_floats(const sr_generator *g, const gen_region *r)
{
    region_plan p = plan(g, r);
    /* 8 allocations, each rounded up to 64 bytes by the arena */
    return p.trunk + p.skipfeat + 2 * p.big + p.crop + p.strip + p.out + p.scratch + 8 * 16;
}

int gen_region_forward(const sr_generator *g, const gen_region *r, const sr_tensor *x,
                       sr_tensor *y, sr_arena *a, sr_error *err)
{
    const region_plan p = plan(g, r);
    const int C = g->cfg.channels, s = g->cfg.scale, B = g->cfg.blocks;
    const int srr = g->cfg.arch == SR_ARCH_SRRESNET;
    float *R = sr_arena_alloc(a, p.trunk), *S = sr_arena_alloc(a, p.skipfeat);
    float *P = sr_arena_alloc(a, p.big), *Q = sr_arena_alloc(a, p.big);
    float *T = sr_arena_alloc(a, p.crop), *O = sr_arena_alloc(a, p.out);
    float *scr = sr_arena_alloc(a, p.scratch), *U = sr_arena_alloc(a, p.strip);
    if (!R || !S || !P || !Q || !T || !O || !scr || !U) {
        sr_error_set(err, SR_ERR_NOMEM, "generator: tile arena too small");
        return -1;
    }
    const int wh = r->wh, ww = r->ww;

    /* ---- LR trunk on the window ----
     * Activations and residual adds are conv epilogues (no separate passes).
     * A residual must not share memory with the conv's output, so block
     * outputs alternate between R and Q (P holds the block's middle). */
    sr_tensor feat0 = view(srr ? S : R, C, wh, ww);
    sr_conv_epilogue e = gen_act_epilogue(&g->first_act, 1);
    const int gy = r->wy0, gx = r->wx0; /* image coordinates of the window (Winograd grid) */
    sr_conv2d_forward_at(&g->first.c, x, &feat0, scr, SR_CONV_AUTO, &e, gy, gx);
    sr_tensor tp = view(P, C, wh, ww);
    sr_tensor trunk = feat0;
    for (int i = 0; i < B; i++) {
        sr_tensor out = view(trunk.data == R ? Q : R, C, wh, ww);
        e = gen_act_epilogue(&g->block_act[i], 1);
        sr_conv2d_forward_at(&g->conv1[i].c, &trunk, &tp, scr, SR_CONV_AUTO, &e, gy, gx);
        sr_conv_epilogue res = {.residual = trunk.data};
        sr_conv2d_forward_at(&g->conv2[i].c, &tp, &out, scr, SR_CONV_AUTO, &res, gy, gx);
        trunk = out;
    }
    if (srr) { /* conv_body (BN folded) + long skip from the head */
        sr_conv_epilogue res = {.residual = feat0.data};
        sr_conv2d_forward_at(&g->body.c, &trunk, &tp, scr, SR_CONV_AUTO, &res, gy, gx);
        trunk = tp;
    }

    /* ---- crop to the region plus the tail's margin ---- */
    const int ch = p.cy1 - p.cy0, cw = p.cx1 - p.cx0;
    for (int c = 0; c < C; c++)
        for (int yy = 0; yy < ch; yy++)
            memcpy(T + ((size_t)c * ch + yy) * cw,
                   trunk.data + ((size_t)c * wh + (p.cy0 - r->wy0 + yy)) * ww +
                       (p.cx0 - r->wx0),
                   (size_t)cw * sizeof(float));

    /* ---- the region's output: bilinear global skip (MSRResNet) ---- */
    const int oc = g->cfg.out_channels, M = gen_tail_margin(g);
    const int oh = s * (r->ry1 - r->ry0), ow = s * (r->rx1 - r->rx0);
    const int ox = s * (r->rx0 - p.cx0);
    if (y->n != 1 || y->c != oc || y->h != oh || y->w != ow) {
        sr_error_set(err, SR_ERR_ARG, "generator: output tensor has the wrong shape");
        return -1;
    }
    if (!srr)
        sr_upsample_region(x, r->wy0, r->wx0, r->full_h, r->full_w, s, SR_INTERP_BILINEAR,
                           s * r->ry0, s * r->rx0, y);

    /* ---- upsampling tail, strip by strip of LR rows [a, b) ---- */
    for (int a = r->ry0; a < r->ry1; a += TAIL_STRIP) {
        const int b = a + TAIL_STRIP < r->ry1 ? a + TAIL_STRIP : r->ry1;
        const int s0 = clampi(a - M, p.cy0, p.cy1), s1 = clampi(b + M, p.cy0, p.cy1);
        int h = s1 - s0, w = cw;
        sr_tensor in = view(U, C, h, w);
        int f = 1; /* the strip's origin in image coordinates is (f * s0, f * cx0) */
        for (int c = 0; c < C; c++)
            memcpy(U + (size_t)c * h * w, T + ((size_t)c * ch + (s0 - p.cy0)) * cw,
                   (size_t)h * w * sizeof(float));
        for (int k = 0; k < g->nup; k++) {
            const int rr = g->up_r;
            sr_tensor u = view(P, C * rr * rr, h, w);
            e = gen_act_epilogue(&g->up_act[k], rr * rr);
            sr_conv2d_forward_at(&g->up[k].c, &in, &u, scr, SR_CONV_AUTO, &e, f * s0,
                                 f * p.cx0);
            h *= rr;
            w *= rr;
            f *= rr;
            sr_tensor sh = view(Q, C, h, w);
            sr_pixel_shuffle_forward(&u, rr, &sh);
            in = sh;
        }
        if (!srr) {
            sr_tensor t = view(P, C, h, w);
            e = gen_act_epilogue(&g->hr_act, 1);
            sr_conv2d_forward_at(&g->hr.c, &in, &t, scr, SR_CONV_AUTO, &e, f * s0, f * p.cx0);
            in = t;
        }
        sr_tensor out = view(O, oc, h, w);
        sr_conv2d_forward_at(&g->last.c, &in, &out, scr, SR_CONV_AUTO, NULL, f * s0, f * p.cx0);

        /* the strip's rows of the region, plus the skip already in y */
        const int rows = s * (b - a), oy = s * (a - s0), y0 = s * (a - r->ry0);
        for (int c = 0; c < oc; c++) {
            for (int yy = 0; yy < rows; yy++) {
                const float *src = O + ((size_t)c * h + oy + yy) * w + ox;
                float *dst = y->data + ((size_t)c * oh + y0 + yy) * ow;
                if (srr)
                    memcpy(dst, src, (size_t)ow * sizeof(float));
                else
                    sr_add(dst, src, dst, (size_t)ow);
            }
        }
    }
    return 0;
}

int sr_generator_forward(const sr_generator *g, const sr_tensor *x, sr_tensor *y, sr_error *err)
{
    const sr_generator_config *c = &g->cfg;
    if (x->c != c->in_channels || y->n != x->n || y->c != c->out_channels ||
        y->h != x->h * c->scale || y->w != x->w * c->scale || x->h < 1 || x->w < 1) {
        sr_error_set(err, SR_ERR_ARG,
                     "generator: forward expects [N, %d, H, W] -> [N, %d, %dH, %dW]",
                     c->in_channels, c->out_channels, c->scale, c->scale);
        return -1;
    }
    gen_region r = {.full_h = x->h, .full_w = x->w, .wy0 = 0, .wx0 = 0, .wh = x->h,
                    .ww = x->w, .ry0 = 0, .ry1 = x->h, .rx0 = 0, .rx1 = x->w};
    /* pooled: validation calls this for every image, every time */
    sr_arena *a = sr_arena_pool_take(gen_region_floats(g, &r) * sizeof(float));
    if (!a) {
        sr_error_set(err, SR_ERR_NOMEM, "generator: out of memory for a %dx%d image", x->w,
                     x->h);
        return -1;
    }
    int rc = 0;
    const size_t xin = (size_t)x->c * x->h * x->w, yout = (size_t)y->c * y->h * y->w;
    for (int n = 0; n < x->n && !rc; n++) {
        sr_tensor xi = {1, x->c, x->h, x->w, x->data + n * xin};
        sr_tensor yi = {1, y->c, y->h, y->w, y->data + n * yout};
        sr_arena_reset(a);
        rc = gen_region_forward(g, &r, &xi, &yi, a, err);
    }
    sr_arena_pool_give(a);
    return rc;
}
