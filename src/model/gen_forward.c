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

static int clampi(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static int round_up(int v, int a)
{
    return (v + a - 1) / a * a;
}

/* The trunk of a region runs on all members of a team at once (team.h):
 * the window's rows are cut into one band per member, each band keeps G
 * "ghost" rows past each inner edge (G: the largest conv padding of the
 * trunk), and after every op the members copy their neighbours' edge rows
 * into their ghost rows (a barrier before and after). A band's conv then
 * computes its own rows from exactly the inputs the whole window has, so
 * bands change no bit: convs see their image origin (sr_conv2d_forward_at),
 * and band edges sit on multiples of BAND_ALIGN image rows, where a Winograd
 * tile row starts, so a tile never straddles two bands. Only the G ghost
 * output rows of each inner edge (a tile row with Winograd) are computed
 * twice, against a whole tile's halo for tile-parallel threads (73 pixels
 * with Winograd: +57 % trunk work for two 128-row halves of a 256 image).
 * The tail gives each member its own band of the region's rows (no ghosts:
 * gen_tail.c computes every row once, from the margin rows on). Bands need
 * the trunk at one resolution (no unshuffle: rrdbnet x2 runs its trunk on
 * member 0 alone, the tail still in parallel). */
#define BAND_ALIGN 4
#define BAND_MIN_ROWS 16
#define BANDS_MAX 64

/* Rows [0, rows) of a phase cut into nb bands: band k owns [bnd[k],
 * bnd[k + 1]) and holds G ghost rows past each inner edge (at a value of
 * resolution num, G * num rows). */
typedef struct bands {
    int nb, G;
    int bnd[BANDS_MAX + 1];
} bands;

/* First row (ghosts included) and rows of band k, at the phase's input
 * resolution. */
static int band_y0(const bands *b, int k)
{
    return b->bnd[k] - (k > 0 ? b->G : 0);
}

static int band_h(const bands *b, int k)
{
    return b->bnd[k + 1] + (k < b->nb - 1 ? b->G : 0) - band_y0(b, k);
}

/* The ghost rows ops [o0, o1) need, or -1 when they cannot run in bands:
 * every value at an integer multiple of the input's resolution (no
 * unshuffle), only "same" convs, pointwise ops, shuffles and nearest
 * upsampling (whose band of output rows is the upscaled band). */
static int band_ghosts(const sr_generator *g, int o0, int o1)
{
    int G = 0;
    for (int i = o0; i < o1; i++) {
        const gen_op *o = &g->ops[i];
        const int vs[3] = {o->in, o->out, o->add};
        for (int k = 0; k < 3; k++)
            if (vs[k] >= 0 && g->vals[vs[k]].den != 1)
                return -1;
        if (o->kind == OP_CONV) {
            const sr_conv2d *c = &g->convs[o->conv].c;
            const int num = g->vals[o->in].num;
            if (c->stride != 1 || c->kh != 2 * c->pad + 1)
                return -1;
            G = (c->pad + num - 1) / num > G ? (c->pad + num - 1) / num : G;
        } else if (o->kind == OP_UNSHUFFLE) {
            return -1;
        }
    }
    return G;
}

/* Cuts rows [0, rows), whose row 0 is image row y0, into at most n bands
 * at image rows on the BAND_ALIGN grid (where Winograd tile rows start, at
 * every resolution), each at least BAND_MIN_ROWS and 2G tall; one band
 * when G < 0 or the rows are too few. */
static void cut_bands(bands *b, int rows, int y0, int n, int G, int align)
{
    const int step = BAND_ALIGN % align ? BAND_ALIGN * align : BAND_ALIGN;
    const int minrows = BAND_MIN_ROWS > 2 * G ? BAND_MIN_ROWS : 2 * G;
    int nb = G < 0 ? 1 : n < BANDS_MAX ? n : BANDS_MAX;
    for (; nb > 1; nb--) {
        int ok = 1;
        b->bnd[0] = 0;
        for (int k = 1; k < nb; k++) { /* image row on the grid nearest to k/nb */
            const long want = y0 + (long)rows * k / nb;
            b->bnd[k] = (int)((want + step / 2) / step * step) - y0;
        }
        b->bnd[nb] = rows;
        for (int k = 0; k < nb; k++)
            ok &= b->bnd[k + 1] - b->bnd[k] >= minrows;
        if (ok)
            break;
    }
    b->nb = nb;
    b->G = nb > 1 ? G : 0;
    if (nb == 1) {
        b->bnd[0] = 0;
        b->bnd[1] = rows;
    }
}

/* Sizes (floats) of every buffer a region needs, and where they go. */
typedef struct region_plan {
    int wh, ww;             /* window, padded to the alignment at image edges */
    int ry1, rx1;           /* region ends, padded likewise */
    int cy0, cy1, cx0, cx1; /* crop of the trunk output, input pixels */
    int prep;               /* the input is copied (mean shift, padding) */
    int n;                  /* members */
    bands tb;               /* the trunk's bands of the window */
    int tail_step;          /* tail bands start on multiples of this (input rows) */
    size_t crop, skip, scratch, tail;
    size_t xin[BANDS_MAX], trunk[BANDS_MAX]; /* per trunk band */
} region_plan;

static size_t r16(size_t n)
{
    return (n + 15) / 16 * 16;
}

/* toff: p->tb.nb * nval trunk offsets (band k's at k * nval). */
static int plan(const sr_generator *g, const gen_region *r, int n, region_plan *p, size_t *toff)
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
    p->n = n < 1 ? 1 : n;
    const int M = gen_tail_margin(g) * t->den / t->num; /* the tail's reach, input pixels */
    p->cy0 = clampi(r->ry0 - M, r->wy0, r->wy0 + p->wh);
    p->cy1 = clampi(p->ry1 + M, r->wy0, r->wy0 + p->wh);
    p->cx0 = clampi(r->rx0 - M, r->wx0, r->wx0 + p->ww);
    p->cx1 = clampi(p->rx1 + M, r->wx0, r->wx0 + p->ww);
    const int cw = p->cx1 - p->cx0;
    p->prep = g->mean_shift || p->wh != r->wh || p->ww != r->ww;
    cut_bands(&p->tb, p->wh, r->wy0, p->n, band_ghosts(g, 0, g->split), A);
    /* tail bands on the tile grid of every resolution (a multiple of 4 at
     * the trunk output's) */
    p->tail_step = 4 * A;
    p->crop = gen_val_floats(g, g->trunk_out, p->cy1 - p->cy0, cw);
    p->tail = gen_tail_floats(g, cw, &p->skip);
    p->scratch = 0;
    for (int k = 0; k < p->tb.nb; k++) {
        const int bh = band_h(&p->tb, k);
        size_t s1 = gen_plan_scratch(g, 0, g->split, 1, bh, p->ww);
        p->scratch = s1 > p->scratch ? s1 : p->scratch;
        /* a band's own copy of its input rows (the whole window's copy
         * when the input needs one anyway) */
        p->xin[k] = p->prep || p->tb.nb > 1 ? (size_t)g->cfg.in_channels * bh * p->ww : 0;
        gen_plan(g, 0, g->split, bh, p->ww, g->trunk_out, toff + (size_t)k * g->nval,
                 &p->trunk[k]);
    }
    return 0;
}

/* Member k's floats: its band's input copy, the crop (member 0), scratch,
 * and one area that holds its band's trunk buffers, then (the trunk's
 * buffers being dead once cropped) its tail's windows and a block of
 * output rows' skip. */
static size_t member_area(const region_plan *p, int k)
{
    const size_t tail = r16(p->tail) + r16(p->skip);
    return k < p->tb.nb && p->trunk[k] > tail ? p->trunk[k] : tail;
}

static size_t member_floats(const region_plan *p, int k)
{
    return (k < p->tb.nb ? r16(p->xin[k]) : 0) + (k == 0 ? r16(p->crop) : 0) + r16(p->scratch) +
           member_area(p, k) + 64; /* 64: the arena's alignment slack */
}

size_t gen_region_floats(const sr_generator *g, const gen_region *r, int n)
{
    region_plan *p = malloc(sizeof *p);
    size_t *off = malloc((size_t)(n < 1 ? 1 : n) * g->nval * sizeof *off);
    size_t need = (size_t)-1 / 8;
    if (p && off && !plan(g, r, n, p, off)) {
        need = 0;
        for (int k = 0; k < p->n; k++) {
            const size_t f = member_floats(p, k);
            need = f > need ? f : need;
        }
    }
    free(off);
    free(p);
    return need;
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
 * num/den that is (oy * num / den, ox * num / den), exact because windows
 * and bands are aligned to den (the unshuffle factor). */
static void run_ops(const sr_generator *g, int o0, int o1, float *const *base, int h, int w,
                    int oy, int ox, float *scr, int fp32)
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
            sr_conv2d c = g->convs[o->conv].c;
            if (fp32) /* gen_region.fp32: the fp32 kernels (weights prepared too) */
                c.wino_bf16 = NULL, c.amx = NULL;
            sr_conv2d_forward_at(&c, &in, &out, scr, SR_CONV_AUTO, &e,
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

/* Window rows [y0, y1) as the network sees them: mean shifted, and padded
 * at the image's bottom and right edges to the alignment by reflection
 * (what Real-ESRGAN's inference does before a pixel unshuffle). */
static void prep_rows(const sr_generator *g, const gen_region *r, const region_plan *p,
                      const sr_tensor *x, int y0, int y1, float *xp)
{
    for (int c = 0; c < x->c; c++) {
        const float m = g->mean_shift ? g->mean[c] : 0.0f;
        for (int yy = y0; yy < y1; yy++) {
            int sy = r->wy0 + yy;
            if (sy >= r->full_h)
                sy = sy - 2 * (sy - r->full_h + 1) >= 0 ? sy - 2 * (sy - r->full_h + 1) : 0;
            const float *src = x->data + ((size_t)c * x->h + (sy - r->wy0)) * x->w;
            float *dst = xp + ((size_t)c * (y1 - y0) + (yy - y0)) * p->ww;
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

/* One member's buffers. */
typedef struct member {
    float *xin, *scr, *area;
    float **base; /* nval pointers */
    int failed;   /* its tail could not finish */
} member;

typedef struct region_job {
    const sr_generator *g;
    const gen_region *r;
    const sr_tensor *x;
    sr_tensor *y;
    const region_plan *p;
    gen_team *team;
    const size_t *toff;
    member *m;
    float *T; /* the crop, shared */
} region_job;

/* After an op in bands: member k's ghost rows of value v (resolution num,
 * so G * num rows) from its neighbours' own rows; w: the phase's width. */
static void exchange(const sr_generator *g, const bands *b, const member *m, int k, int v, int w)
{
    const int num = g->vals[v].num, G = b->G * num;
    sr_tensor me = val(g, m[k].base, v, band_h(b, k), w);
    for (int side = 0; side < 2; side++) {
        const int nk = side ? k + 1 : k - 1;
        if (nk < 0 || nk >= b->nb)
            continue;
        sr_tensor nb = val(g, m[nk].base, v, band_h(b, nk), w);
        const int row = side ? b->bnd[k + 1] : b->bnd[k] - b->G; /* first ghost row */
        const int dst = (row - band_y0(b, k)) * num, src = (row - band_y0(b, nk)) * num;
        for (int c = 0; c < me.c; c++)
            memcpy(me.data + ((size_t)c * me.h + dst) * me.w,
                   nb.data + ((size_t)c * nb.h + src) * nb.w, (size_t)G * me.w * sizeof(float));
    }
}

/* Ops [o0, o1) on band k of b, whose rows start at image row oy (input
 * resolution) and column ox, w wide. Every member calls it (the barriers),
 * those without a band only wait. */
static void run_banded(region_job *j, const bands *b, int k, int o0, int o1, int w, int oy,
                       int ox)
{
    const sr_generator *g = j->g;
    member *m = &j->m[k];
    for (int i = o0; i < o1; i++) {
        if (k < b->nb)
            run_ops(g, i, i + 1, m->base, band_h(b, k), w, oy + band_y0(b, k), ox, m->scr,
                    j->r->fp32);
        if (b->nb > 1) {
            gen_team_barrier(j->team);
            if (k < b->nb)
                exchange(g, b, j->m, k, g->ops[i].out, w);
            gen_team_barrier(j->team);
        }
    }
}

/* gen_tail_job.write's context: the job and the member writing. */
typedef struct tail_ctx {
    const region_job *j;
    const member *m;
} tail_ctx;

/* Rows [lo, hi) (output image rows) of the tail's output O ([oc][cap][w],
 * row 0 at image row base, column 0 at the crop's) into y, with the global
 * skip (computed for those rows into the member's buffer) or the mean. */
static void write_rows(void *ctx, const float *O, int cap, int base, int lo, int hi)
{
    const tail_ctx *t = ctx;
    const region_job *j = t->j;
    const sr_generator *g = j->g;
    const gen_region *r = j->r;
    const region_plan *p = j->p;
    const int s = g->cfg.scale, oc = g->cfg.out_channels;
    const int oh = s * (r->ry1 - r->ry0), ow = s * (r->rx1 - r->rx0);
    const int ox = s * (r->rx0 - p->cx0), Ow = s * (p->cx1 - p->cx0);
    if (hi > s * r->ry1) /* the rows padding the image to the alignment */
        hi = s * r->ry1;
    const int rows = hi - lo;
    if (rows <= 0)
        return;
    sr_tensor sk = view(t->m->area + r16(p->tail), oc, rows, ow);
    if (g->skip)
        sr_upsample_region(j->x, r->wy0, r->wx0, r->full_h, r->full_w, s, g->skip_mode, lo,
                           s * r->rx0, &sk);
    for (int c = 0; c < oc; c++) {
        for (int yy = 0; yy < rows; yy++) {
            const float *src = O + ((size_t)c * cap + (lo - base) + yy) * Ow + ox;
            float *dst = j->y->data + ((size_t)c * oh + (lo - s * r->ry0) + yy) * ow;
            if (g->skip) {
                sr_add(sk.data + ((size_t)c * rows + yy) * ow, src, dst, (size_t)ow);
            } else if (g->mean_shift) {
                const float mm = g->mean[c], rg = g->range;
                for (int k = 0; k < ow; k++)
                    dst[k] = src[k] / rg + mm;
            } else {
                memcpy(dst, src, (size_t)ow * sizeof(float));
            }
        }
    }
}

/* Member k's band of the region's rows for the tail: the rows cut into n
 * nearly equal bands on multiples of tail_step (empty for the members
 * past the rows' count). */
static void tail_band(const region_plan *p, const gen_region *r, int k, int *y0, int *y1)
{
    const int steps = (p->ry1 - r->ry0 + p->tail_step - 1) / p->tail_step;
    const int s0 = (int)((long)steps * k / p->n), s1 = (int)((long)steps * (k + 1) / p->n);
    *y0 = r->ry0 + s0 * p->tail_step;
    *y1 = r->ry0 + s1 * p->tail_step < p->ry1 ? r->ry0 + s1 * p->tail_step : p->ry1;
}

static void region_member(void *arg, int k)
{
    region_job *j = arg;
    const sr_generator *g = j->g;
    const gen_region *r = j->r;
    const region_plan *p = j->p;
    const bands *tb = &p->tb;
    member *m = &j->m[k];
    const int nv = g->nval, banded = k < tb->nb;
    const int by0 = band_y0(tb, banded ? k : 0), bh = band_h(tb, banded ? k : 0);

    /* ---- trunk on the band's rows of the window ---- */
    if (banded) {
        const size_t *off = j->toff + (size_t)k * nv;
        for (int v = 0; v < nv; v++)
            m->base[v] = off[v] == (size_t)-1 ? NULL : m->area + off[v];
        if (m->xin)
            prep_rows(g, r, p, j->x, by0, by0 + bh, m->xin);
        m->base[0] = m->xin ? m->xin : j->x->data;
    }
    run_banded(j, tb, k, 0, g->split, p->ww, r->wy0, r->wx0);

    /* ---- crop the band's own rows to the region plus the tail's margin ---- */
    if (banded) {
        sr_tensor t = val(g, m->base, g->trunk_out, bh, p->ww);
        const int d = g->vals[g->trunk_out].den;
        const int ch = (p->cy1 - p->cy0) / d, cw = (p->cx1 - p->cx0) / d;
        const int lo = r->wy0 + tb->bnd[k] > p->cy0 ? r->wy0 + tb->bnd[k] : p->cy0;
        const int hi = r->wy0 + tb->bnd[k + 1] < p->cy1 ? r->wy0 + tb->bnd[k + 1] : p->cy1;
        for (int c = 0; c < t.c; c++)
            for (int yy = lo; yy < hi; yy += d)
                memcpy(j->T + ((size_t)c * ch + (yy - p->cy0) / d) * cw,
                       t.data + ((size_t)c * t.h + (yy - r->wy0 - by0) / d) * t.w +
                           (p->cx0 - r->wx0) / d,
                       (size_t)cw * sizeof(float));
    }
    gen_team_barrier(j->team);

    /* ---- tail: a band of the region's rows per member ---- */
    int y0, y1;
    tail_band(p, r, k, &y0, &y1);
    if (y0 >= y1)
        return;
    const int cw = p->cx1 - p->cx0;
    tail_ctx ctx = {j, m};
    const gen_tail_job tj = {.T = j->T, .T_y0 = p->cy0, .T_h = p->cy1 - p->cy0, .w = cw,
                             .ox = p->cx0, .full_h = round_up(r->full_h, g->align), .y0 = y0,
                             .y1 = y1, .fp32 = r->fp32, .write = write_rows, .ctx = &ctx};
    m->failed = gen_tail_run(g, &tj, m->area) != 0;
}

int gen_region_forward(const sr_generator *g, const gen_region *r, const sr_tensor *x,
                       sr_tensor *y, sr_arena **arenas, gen_team *team, sr_error *err)
{
    const int nv = g->nval, n = gen_team_size(team);
    region_plan *p = malloc(sizeof *p);
    size_t *toff = malloc((size_t)n * nv * sizeof *toff);
    member *m = calloc((size_t)n, sizeof *m);
    float **bases = malloc((size_t)n * nv * sizeof *bases);
    region_job j = {.g = g, .r = r, .x = x, .y = y, .p = p, .team = team, .toff = toff, .m = m};
    int rc = -1;
    if (!p || !toff || !m || !bases) {
        sr_error_set(err, SR_ERR_NOMEM, "generator: out of memory");
        goto done;
    }
    if (plan(g, r, n, p, toff)) {
        sr_error_set(err, SR_ERR_ARG, "generator: region not aligned to %d pixels", g->align);
        goto done;
    }
    const int s = g->cfg.scale, oc = g->cfg.out_channels;
    if (y->n != 1 || y->c != oc || y->h != s * (r->ry1 - r->ry0) ||
        y->w != s * (r->rx1 - r->rx0)) {
        sr_error_set(err, SR_ERR_ARG, "generator: output tensor has the wrong shape");
        goto done;
    }
    /* every buffer before the members start: they cannot fail */
    for (int k = 0; k < n; k++) {
        sr_arena *a = arenas[k];
        if (k > 0)
            sr_arena_reset(a);
        m[k].base = bases + (size_t)k * nv;
        const size_t xin = k < p->tb.nb ? p->xin[k] : 0;
        m[k].xin = xin ? sr_arena_alloc(a, xin) : NULL;
        if (k == 0)
            j.T = sr_arena_alloc(a, p->crop);
        m[k].scr = sr_arena_alloc(a, p->scratch);
        m[k].area = sr_arena_alloc(a, member_area(p, k));
        if ((xin && !m[k].xin) || (k == 0 && !j.T) || !m[k].scr || !m[k].area) {
            sr_error_set(err, SR_ERR_NOMEM, "generator: tile arena too small");
            goto done;
        }
    }
    gen_team_run(team, region_member, &j);
    rc = 0;
    for (int k = 0; k < n && !rc; k++)
        if (m[k].failed) { /* a bug (tests): the margins fed did not suffice */
            sr_error_set(err, SR_ERR_UNSUPPORTED, "generator: the tail's rows fell short");
            rc = -1;
        }
done:
    free(bases);
    free(m);
    free(toff);
    free(p);
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
    sr_arena *a = sr_arena_pool_take(gen_region_floats(g, &r, 1) * sizeof(float));
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
        rc = gen_region_forward(g, &r, &xi, &yi, &a, NULL, err);
    }
    sr_arena_pool_give(a);
    return rc;
}
