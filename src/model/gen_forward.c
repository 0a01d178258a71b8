/* gen_forward.c: inference of the generator's layer list on one region of
 * an image, and on whole images.
 *
 * A region is computed from an input window that covers it plus the halo
 * (clipped to the image). The trunk runs on the whole window; its output is
 * then cropped to the region plus the small margin the tail needs, so the
 * expensive output-resolution layers never see the wide halo. Values near a
 * window edge that is not an image edge are wrong (the convs zero-pad there)
 * but that error moves inward one conv radius per layer and the halo is
 * wide enough that it never reaches the region, so a region's output equals
 * the whole-image output. Bit for bit also with Winograd convs, whose 4x4
 * tile grid is anchored to image coordinates: every conv gets the image
 * position, at its own resolution, of its input's pixel (0, 0)
 * (sr_conv2d_forward_at), and the halo counts Winograd's wider reach
 * (sr_conv2d_reach, gen_build.c). */
#include "gen_internal.h"

#include <stdlib.h>
#include <string.h>

/* The activation as a conv epilogue (applied while the conv's output is in
 * cache, same values as a separate pass). A PReLU with fewer alphas than
 * outputs gives each alpha cout / nalpha consecutive channels: the shuffle
 * after the conv maps channel co to co / (r*r), and a pointwise activation
 * commutes with it. */
sr_conv_epilogue gen_act_epilogue(const gen_act *a, int cout)
{
    sr_conv_epilogue e = {0};
    switch (a->kind) {
    case ACT_RELU: e.act = SR_ACT_RELU; break;
    case ACT_LRELU: e.act = SR_ACT_LRELU; e.slope = a->slope; break;
    case ACT_PRELU:
        e.act = SR_ACT_PRELU;
        e.alpha = a->alpha;
        e.nalpha = a->nalpha;
        e.group = a->nalpha > 1 ? cout / a->nalpha : 1;
        break;
    case ACT_NONE: break;
    }
    return e;
}

/* The tail runs on strips of at most TAIL_STRIP input rows of the region
 * (each with the tail's margin of rows above and below, recomputed), so its
 * full-resolution buffers hold a strip, not the whole region: for a 256x256
 * x4 tile they were two 268 MB feature maps, and first touching that memory
 * cost 1.5-2 s of system time per file on a VM (bench/README.md). The
 * recomputed margin rows cost 2 * margin / TAIL_STRIP of the tail's work
 * (6 % for MSRResNet x4). The rows of a strip are exact for the same reason
 * the rows of a tile are: the margin covers the tail's reach. A multiple of
 * every alignment (unshuffle factor). */
#define TAIL_STRIP 64

static int clampi(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static int round_up(int v, int a)
{
    return (v + a - 1) / a * a;
}

/* Sizes (floats) of every buffer a region needs, and where they go. */
typedef struct region_plan {
    int wh, ww;             /* window, padded to the alignment at image edges */
    int ry1, rx1;           /* region ends, padded likewise */
    int cy0, cy1, cx0, cx1; /* crop of the trunk output, input pixels */
    int strip_rows;         /* input rows of a tail strip, margins included (at most) */
    int M;                  /* the tail's margin in input pixels */
    int prep;               /* the input is copied (mean shift, padding) */
    size_t xin, crop, strip, scratch, trunk, tail, area;
} region_plan;

static int plan(const sr_generator *g, const gen_region *r, region_plan *p, size_t *toff,
                size_t *soff)
{
    const int A = g->align;
    const gen_val *t = &g->vals[g->trunk_out];
    const int fh = round_up(r->full_h, A), fw = round_up(r->full_w, A);
    p->wh = r->wy0 + r->wh == r->full_h ? fh - r->wy0 : r->wh;
    p->ww = r->wx0 + r->ww == r->full_w ? fw - r->wx0 : r->ww;
    p->ry1 = r->ry1 == r->full_h ? fh : r->ry1;
    p->rx1 = r->rx1 == r->full_w ? fw : r->rx1;
    if (r->wy0 % A || r->wx0 % A || p->wh % A || p->ww % A || r->ry0 % A || r->rx0 % A ||
        p->ry1 % A || p->rx1 % A)
        return -1;
    p->M = gen_tail_margin(g) * t->den / t->num;
    p->cy0 = clampi(r->ry0 - p->M, r->wy0, r->wy0 + p->wh);
    p->cy1 = clampi(p->ry1 + p->M, r->wy0, r->wy0 + p->wh);
    p->cx0 = clampi(r->rx0 - p->M, r->wx0, r->wx0 + p->ww);
    p->cx1 = clampi(p->rx1 + p->M, r->wx0, r->wx0 + p->ww);
    const int cw = p->cx1 - p->cx0;
    p->strip_rows = p->cy1 - p->cy0 < TAIL_STRIP + 2 * p->M ? p->cy1 - p->cy0
                                                             : TAIL_STRIP + 2 * p->M;
    p->prep = g->mean_shift || p->wh != r->wh || p->ww != r->ww;
    p->xin = p->prep ? (size_t)g->cfg.in_channels * p->wh * p->ww : 0;
    p->crop = gen_val_floats(g, g->trunk_out, p->cy1 - p->cy0, cw);
    p->strip = gen_val_floats(g, g->trunk_out, p->strip_rows, cw);
    size_t s1 = gen_plan_scratch(g, 0, g->split, 1, p->wh, p->ww);
    size_t s2 = gen_plan_scratch(g, g->split, g->nop, 1, p->strip_rows, cw);
    p->scratch = s1 > s2 ? s1 : s2;
    gen_plan(g, 0, g->split, p->wh, p->ww, g->trunk_out, toff, &p->trunk);
    gen_plan(g, g->split, g->nop, p->strip_rows, cw, g->output, soff, &p->tail);
    /* the trunk's buffers are dead once its output is cropped: the tail
     * reuses their memory */
    const size_t tail = p->tail + (p->strip + 15) / 16 * 16;
    p->area = p->trunk > tail ? p->trunk : tail;
    return 0;
}

static size_t r16(size_t n)
{
    return (n + 15) / 16 * 16;
}

size_t gen_region_floats(const sr_generator *g, const gen_region *r)
{
    size_t *off = malloc(2 * (size_t)g->nval * sizeof *off);
    if (!off)
        return (size_t)-1 / 8;
    region_plan p;
    size_t n = (size_t)-1 / 8;
    if (!plan(g, r, &p, off, off + g->nval))
        n = r16(p.xin) + r16(p.crop) + r16(p.scratch) + p.area + 16;
    free(off);
    return n;
}

static sr_tensor view(float *p, int c, int h, int w)
{
    return (sr_tensor){.n = 1, .c = c, .h = h, .w = w, .data = p};
}

/* Value v of a phase whose input is h x w, from the roots' storage. */
static sr_tensor val(const sr_generator *g, float *const *base, int v, int h, int w)
{
    const gen_val *x = &g->vals[v];
    const int vh = gen_val_dim(g, v, h), vw = gen_val_dim(g, v, w);
    return view(base[x->root] + (size_t)x->c0 * vh * vw, x->c, vh, vw);
}

/* Runs ops [o0, o1) on a single image (n = 1) whose input (h x w) starts
 * at image coordinates (oy, ox), in input pixels: at a value's resolution
 * num/den that is (oy * num / den, ox * num / den), exact because windows and
 * strips are aligned to den (the unshuffle factor). */
static void run_ops(const sr_generator *g, int o0, int o1, float *const *base, int h, int w,
                    int oy, int ox, float *scr)
{
    for (int i = o0; i < o1; i++) {
        const gen_op *o = &g->ops[i];
        sr_tensor in = val(g, base, o->in, h, w), out = val(g, base, o->out, h, w);
        switch (o->kind) {
        case OP_CONV: {
            sr_conv_epilogue e = gen_act_epilogue(&o->act, out.c);
            if (o->add >= 0)
                e.residual = val(g, base, o->add, h, w).data;
            const gen_val *v = &g->vals[o->in];
            sr_conv2d_forward_at(&g->convs[o->conv].c, &in, &out, scr, SR_CONV_AUTO, &e,
                                 (int)((long)oy * v->num / v->den),
                                 (int)((long)ox * v->num / v->den));
            break;
        }
        case OP_SHUFFLE: sr_pixel_shuffle_forward(&in, o->r, &out); break;
        case OP_UNSHUFFLE: sr_pixel_shuffle_backward(&in, o->r, &out); break;
        case OP_UPNEAREST: sr_upsample_forward(&in, o->r, SR_INTERP_NEAREST, &out); break;
        case OP_SCALE_ADD: {
            const float *b = val(g, base, o->add, h, w).data;
            const size_t n = sr_tensor_numel(&out);
            const float s = o->scale;
            for (size_t k = 0; k < n; k++) {
                const float t = in.data[k] * s; /* rounded, as PyTorch's x * s + y */
                out.data[k] = t + b[k];
            }
            break;
        }
        }
    }
}

/* The window as the network sees it: mean shifted, and padded at the
 * image's bottom and right edges to the alignment by reflection (what
 * Real-ESRGAN's inference does before a pixel unshuffle). */
static void prep_input(const sr_generator *g, const gen_region *r, const region_plan *p,
                       const sr_tensor *x, float *xp)
{
    for (int c = 0; c < x->c; c++) {
        const float m = g->mean_shift ? g->mean[c] : 0.0f;
        for (int yy = 0; yy < p->wh; yy++) {
            int sy = r->wy0 + yy;
            if (sy >= r->full_h)
                sy = sy - 2 * (sy - r->full_h + 1) >= 0 ? sy - 2 * (sy - r->full_h + 1) : 0;
            const float *src = x->data + ((size_t)c * x->h + (sy - r->wy0)) * x->w;
            float *dst = xp + ((size_t)c * p->wh + yy) * p->ww;
            for (int xx = 0; xx < p->ww; xx++) {
                int sx = r->wx0 + xx;
                if (sx >= r->full_w)
                    sx = sx - 2 * (sx - r->full_w + 1) >= 0 ? sx - 2 * (sx - r->full_w + 1) : 0;
                const float v = src[sx - r->wx0];
                dst[xx] = g->mean_shift ? (v - m) * g->range : v;
            }
        }
    }
}

int gen_region_forward(const sr_generator *g, const gen_region *r, const sr_tensor *x,
                       sr_tensor *y, sr_arena *a, sr_error *err)
{
    const int nv = g->nval;
    size_t *toff = malloc(2 * (size_t)nv * sizeof *toff);
    float **base = malloc((size_t)nv * sizeof *base);
    if (!toff || !base) {
        free(toff);
        free(base);
        sr_error_set(err, SR_ERR_NOMEM, "generator: out of memory");
        return -1;
    }
    size_t *soff = toff + nv;
    region_plan p;
    int rc = -1;
    if (plan(g, r, &p, toff, soff)) {
        sr_error_set(err, SR_ERR_ARG, "generator: region not aligned to %d pixels", g->align);
        goto done;
    }
    float *X = sr_arena_alloc(a, p.xin), *T = sr_arena_alloc(a, p.crop);
    float *scr = sr_arena_alloc(a, p.scratch), *area = sr_arena_alloc(a, p.area);
    if ((p.xin && !X) || !T || !scr || !area) {
        sr_error_set(err, SR_ERR_NOMEM, "generator: tile arena too small");
        goto done;
    }
    const int s = g->cfg.scale, oc = g->cfg.out_channels;
    const int oh = s * (r->ry1 - r->ry0), ow = s * (r->rx1 - r->rx0);
    if (y->n != 1 || y->c != oc || y->h != oh || y->w != ow) {
        sr_error_set(err, SR_ERR_ARG, "generator: output tensor has the wrong shape");
        goto done;
    }
    if (p.prep)
        prep_input(g, r, &p, x, X);

    /* ---- trunk on the window ---- */
    for (int v = 0; v < nv; v++)
        base[v] = toff[v] == (size_t)-1 ? NULL : area + toff[v];
    base[0] = p.prep ? X : x->data;
    run_ops(g, 0, g->split, base, p.wh, p.ww, r->wy0, r->wx0, scr);

    /* ---- crop to the region plus the tail's margin ---- */
    const int tr = g->vals[g->trunk_out].root;
    {
        sr_tensor t = val(g, base, g->trunk_out, p.wh, p.ww);
        const int d = g->vals[g->trunk_out].den;
        const int ch = (p.cy1 - p.cy0) / d, cw = (p.cx1 - p.cx0) / d;
        for (int c = 0; c < t.c; c++)
            for (int yy = 0; yy < ch; yy++)
                memcpy(T + ((size_t)c * ch + yy) * cw,
                       t.data + ((size_t)c * t.h + (p.cy0 - r->wy0) / d + yy) * t.w +
                           (p.cx0 - r->wx0) / d,
                       (size_t)cw * sizeof(float));
    }

    /* ---- the region's output: global skip ---- */
    if (g->skip)
        sr_upsample_region(x, r->wy0, r->wx0, r->full_h, r->full_w, s, g->skip_mode,
                           s * r->ry0, s * r->rx0, y);

    /* ---- tail, strip by strip of input rows [a, b) ---- */
    const int cw = p.cx1 - p.cx0, ox = s * (r->rx0 - p.cx0);
    float *U = area + p.tail;
    for (int a0 = r->ry0; a0 < p.ry1; a0 += TAIL_STRIP) {
        const int b = a0 + TAIL_STRIP < p.ry1 ? a0 + TAIL_STRIP : p.ry1;
        const int s0 = clampi(a0 - p.M, p.cy0, p.cy1), s1 = clampi(b + p.M, p.cy0, p.cy1);
        const int h = s1 - s0;
        {
            const int d = g->vals[g->trunk_out].den, C = g->vals[g->trunk_out].c;
            const size_t plane = (size_t)(h / d) * (cw / d);
            const size_t tplane = (size_t)((p.cy1 - p.cy0) / d) * (cw / d);
            for (int c = 0; c < C; c++)
                memcpy(U + (size_t)c * plane,
                       T + (size_t)c * tplane + (size_t)((s0 - p.cy0) / d) * (cw / d),
                       plane * sizeof(float));
        }
        for (int v = 0; v < nv; v++)
            base[v] = soff[v] == (size_t)-1 ? NULL : area + soff[v];
        base[tr] = U;
        run_ops(g, g->split, g->nop, base, h, cw, s0, p.cx0, scr);
        sr_tensor O = val(g, base, g->output, h, cw);

        /* the strip's rows of the region, plus the skip already in y */
        const int bb = b < r->ry1 ? b : r->ry1;
        const int rows = s * (bb - a0), oy = s * (a0 - s0), y0 = s * (a0 - r->ry0);
        for (int c = 0; c < oc; c++) {
            for (int yy = 0; yy < rows; yy++) {
                const float *src = O.data + ((size_t)c * O.h + oy + yy) * O.w + ox;
                float *dst = y->data + ((size_t)c * oh + y0 + yy) * ow;
                if (g->skip) {
                    sr_add(dst, src, dst, (size_t)ow);
                } else if (g->mean_shift) {
                    const float m = g->mean[c], rg = g->range;
                    for (int k = 0; k < ow; k++)
                        dst[k] = src[k] / rg + m;
                } else {
                    memcpy(dst, src, (size_t)ow * sizeof(float));
                }
            }
        }
    }
    rc = 0;
done:
    free(toff);
    free(base);
    return rc;
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
