/* gen_tail.c: the generator's tail (the layers from the trunk's output to
 * the image: upsampling convs, shuffles, the full-resolution convs) on a
 * band of a region's rows, a few rows of each layer at a time.
 *
 * Each value of the tail keeps a window of rows. Rows of the trunk's output
 * are fed in FEED at a time; then every op computes the rows its input now
 * allows (sr_conv2d_forward_rows for convs: a conv's next rows need pad rows
 * of input below them, and Winograd whole tile rows, so a conv's rows end
 * on the image's tile grid or at the image's end); rows nobody reads any
 * more are dropped when a window needs room (the kept ones move to its
 * front). Values at one resolution share the placement of their windows, so
 * that a conv's input and output rows line up, as in a tensor. Every row is
 * computed once, from the same inputs as in the whole image, so the output
 * has the whole image's bits; the full-resolution layers never hold more
 * than a window of rows (28 rows for MSRResNet x4). This replaced strips of
 * 32 input rows, each computed with its margin rows above and below (8 % to
 * 14 % more work at one thread, measured with bench_infer), whose buffers
 * held 4x the rows, and which two threads split with ghost rows and a
 * barrier per layer; each member now runs its own band of the region's
 * rows.
 *
 * The tail must be a chain (each op reads the previous op's output, no
 * residual adds) of stride-1 "same" convs, pixel shuffles and nearest
 * upsampling: every architecture's is (gen_tail_check, at build). */
#include "gen_internal.h"

#include <string.h>

/* Rows of the trunk's output fed per round: a 64x64 conv on 4 rows of a
 * 1024-pixel-wide layer is 256 Winograd tiles per call, enough for the
 * kernels' bands; more rows only make the windows larger. */
#define FEED 4
#define MAX_CHAIN 32

static int floor4(int v)
{
    return v >= 0 ? v / 4 * 4 : -((-v + 3) / 4 * 4);
}

static int ceil4(int v)
{
    return -floor4(-v);
}

int gen_tail_check(const sr_generator *g)
{
    int v = g->trunk_out;
    if (g->nop - g->split + 1 > MAX_CHAIN)
        return -1;
    for (int i = g->split; i < g->nop; i++) {
        const gen_op *o = &g->ops[i];
        if (o->in != v || o->add >= 0 || g->vals[o->out].root != o->out)
            return -1;
        if (o->kind == OP_CONV) {
            const sr_conv2d *c = &g->convs[o->conv].c;
            if (c->stride != 1 || c->kh != c->kw || c->kh != 2 * c->pad + 1)
                return -1;
        } else if (o->kind != OP_SHUFFLE && o->kind != OP_UPNEAREST) {
            return -1;
        }
        v = o->out;
    }
    return v == g->output ? 0 : -1;
}

/* The chain's values: v[0] the trunk output, v[k + 1] op split + k's;
 * group[k]: values at one resolution share a window placement, cap[q]
 * rows. Rows and columns of a value are the input's times its resolution
 * (gen_val_dim). */
typedef struct chain {
    int n, ng;
    int v[MAX_CHAIN], group[MAX_CHAIN];
    int cap[MAX_CHAIN]; /* per group */
} chain;

static int same_res(const gen_val *a, const gen_val *b)
{
    return (long)a->num * b->den == (long)b->num * a->den;
}

static void make_chain(const sr_generator *g, chain *ch)
{
    const gen_val *t = &g->vals[g->trunk_out];
    ch->n = g->nop - g->split + 1;
    ch->ng = 0;
    for (int k = 0; k < ch->n; k++) {
        ch->v[k] = k ? g->ops[g->split + k - 1].out : g->trunk_out;
        const gen_val *a = &g->vals[ch->v[k]];
        int q = 0;
        while (q < k && !same_res(&g->vals[ch->v[q]], a))
            q++;
        if (q == k) { /* a new group: the rows fed per round at its resolution, a
                       * tile row, and for each conv reading it (below) the rows it
                       * keeps behind and loses to the grid; smaller windows stall
                       * the rounds, larger ones only cost memory (MSRResNet x4, 2
                       * threads: 2x these windows, 24 MB more, ran no faster) */
            q = ch->ng++;
            ch->cap[q] = (int)(((long)FEED * a->num * t->den + (long)a->den * t->num - 1) /
                               ((long)a->den * t->num)) + 4;
        } else {
            q = ch->group[q];
        }
        ch->group[k] = q;
    }
    for (int k = 0; k + 1 < ch->n; k++) {
        const gen_op *o = &g->ops[g->split + k];
        if (o->kind == OP_CONV)
            ch->cap[ch->group[k]] += g->convs[o->conv].c.pad + 3;
    }
}

size_t gen_tail_floats(const sr_generator *g, int cw, size_t *skip_floats)
{
    chain ch;
    make_chain(g, &ch);
    size_t n = 0, scr = 0;
    for (int k = 0; k < ch.n; k++) {
        const size_t rows = (size_t)ch.cap[ch.group[k]];
        const int w = gen_val_dim(g, ch.v[k], cw);
        n += ((size_t)g->vals[ch.v[k]].c * rows * w + 15) / 16 * 16;
        if (k + 1 < ch.n && g->ops[g->split + k].kind == OP_CONV) {
            const sr_conv2d *c = &g->convs[g->ops[g->split + k].conv].c;
            const sr_tensor x = {1, c->cin, (int)rows, w, NULL};
            const size_t s = sr_conv2d_rows_scratch_floats(c, &x, (int)rows, 1);
            scr = s > scr ? s : scr;
        }
    }
    const int last = ch.n - 1;
    *skip_floats = g->skip ? (size_t)g->vals[ch.v[last]].c * ch.cap[ch.group[last]] *
                                 gen_val_dim(g, ch.v[last], cw)
                           : 0;
    return n + scr + 16;
}

/* A value's window: image rows [base, base + cap) of its group at its
 * resolution; valid rows [vs, ve) (vs < 0: none yet). */
typedef struct win {
    float *buf;
    int c, w;
    int vs, ve;
} win;

typedef struct state {
    const sr_generator *g;
    const gen_tail_job *j;
    chain ch;
    win v[MAX_CHAIN];
    int base[MAX_CHAIN]; /* per group */
    int H[MAX_CHAIN];    /* per value: the image's (aligned) rows at its resolution */
    int fin[MAX_CHAIN];  /* per value: no rows will follow the valid ones */
    float *scr;
} state;

static float *row_ptr(const state *s, int k, int c, int y)
{
    const win *v = &s->v[k];
    const int q = s->ch.group[k];
    return v->buf + ((size_t)c * s->ch.cap[q] + (y - s->base[q])) * v->w;
}

/* The first row of value k anyone still reads. */
static int keep_row(const state *s, int k)
{
    const win *v = &s->v[k];
    if (v->vs < 0)
        return 1 << 30;
    if (k + 1 == s->ch.n)
        return v->ve; /* written out as it is made */
    const gen_op *o = &s->g->ops[s->g->split + k];
    const win *u = &s->v[k + 1];
    if (o->kind == OP_CONV) {
        const int p = s->g->convs[o->conv].c.pad;
        return u->vs < 0 ? v->vs : u->ve - p > v->vs ? u->ve - p : v->vs;
    }
    return u->vs < 0 ? v->vs : u->ve / o->r;
}

/* Rows [H, H + 8) of value k read as zeros (the image's padding below its
 * end: a conv's last tile row reads up to 4 rows past it). */
static void zero_end(state *s, int k)
{
    win *v = &s->v[k];
    const int q = s->ch.group[k];
    if (v->ve != s->H[k])
        return;
    const int y1 = s->base[q] + s->ch.cap[q], z1 = v->ve + 8 < y1 ? v->ve + 8 : y1;
    if (z1 > v->ve)
        for (int c = 0; c < v->c; c++)
            memset(row_ptr(s, k, c, v->ve), 0, (size_t)(z1 - v->ve) * v->w * sizeof(float));
}

/* Room in value k's group for rows up to hi (exclusive, image rows at its
 * resolution): drops the rows no value of the group still needs. Returns
 * the end that fits (< hi when the window is too full). */
static int make_room(state *s, int k, int lo, int hi)
{
    const int q = s->ch.group[k], cap = s->ch.cap[q];
    int keep = lo;
    int any = 0;
    for (int i = 0; i < s->ch.n; i++)
        if (s->ch.group[i] == q && s->v[i].vs >= 0) {
            const int r = keep_row(s, i);
            keep = r < keep ? r : keep;
            any = 1;
        }
    if (!any) {
        s->base[q] = lo;
    } else if (hi > s->base[q] + cap && keep > s->base[q]) {
        for (int i = 0; i < s->ch.n; i++) {
            win *v = &s->v[i];
            if (s->ch.group[i] != q || v->vs < 0)
                continue;
            if (v->vs < keep) /* rows before keep: read by nobody, dropped */
                v->vs = keep < v->ve ? keep : v->ve;
            for (int c = 0; c < v->c && v->ve > v->vs; c++) /* the valid rows left */
                memmove(v->buf + ((size_t)c * cap + (v->vs - keep)) * v->w,
                        v->buf + ((size_t)c * cap + (v->vs - s->base[q])) * v->w,
                        (size_t)(v->ve - v->vs) * v->w * sizeof(float));
        }
        s->base[q] = keep;
        for (int i = 0; i < s->ch.n; i++)
            if (s->ch.group[i] == q && s->v[i].vs >= 0)
                zero_end(s, i);
    }
    return hi < s->base[q] + cap ? hi : s->base[q] + cap;
}

/* Op split + k: value k -> k + 1, as many new rows as value k allows.
 * Returns whether it made any. */
static int step(state *s, int k)
{
    const sr_generator *g = s->g;
    const gen_op *o = &g->ops[g->split + k];
    win *in = &s->v[k], *out = &s->v[k + 1];
    if (in->vs < 0)
        return 0;
    const int q = s->ch.group[k];
    if (o->kind == OP_CONV) {
        sr_conv2d cv = g->convs[o->conv].c;
        if (s->j->fp32)
            cv.wino_bf16 = NULL, cv.amx = NULL;
        const int p = cv.pad, H = s->H[k + 1], tiled = sr_conv2d_tiled(&cv);
        /* the first output row whose inputs are all there (nn.h,
         * sr_conv2d_tiled: a tile row's first output reads the row above
         * the tile, the others do not), then from where the last call ended */
        int lo = out->ve;
        if (out->vs < 0)
            lo = in->vs == 0 ? 0 : !tiled ? in->vs + p : in->vs % 4 ? ceil4(in->vs) : in->vs + 1;
        /* the last: whole tile rows while more input comes, else every
         * output whose inputs are there (a tile row's last output reads the
         * row below the tile) */
        int hi;
        if (in->ve == s->H[k])
            hi = H;
        else if (!tiled)
            hi = in->ve - p;
        else if (!s->fin[k])
            hi = floor4(in->ve - 1);
        else
            hi = in->ve % 4 <= 1 ? in->ve - 1 : floor4(in->ve);
        if (hi <= lo) {
            s->fin[k + 1] = s->fin[k];
            return 0;
        }
        /* what the kernel computes: whole tile rows (past the image's end, its
         * rows come from the zeros there and are dropped) */
        const int c0 = tiled ? floor4(lo) : lo;
        int c1 = tiled ? ceil4(hi) : hi;
        const int fit = make_room(s, k + 1, c0, c1);
        if (fit < c1) { /* the window is full: what fits, in whole tile rows */
            c1 = tiled ? floor4(fit) : fit;
            hi = c1;
            if (hi <= lo)
                return 0;
        } else {
            s->fin[k + 1] = s->fin[k];
        }
        const int cap = s->ch.cap[q]; /* input and output: one group, one placement */
        sr_tensor x = {1, in->c, cap, in->w, in->buf}, y = {1, out->c, cap, out->w, out->buf};
        sr_conv_epilogue e = gen_act_epilogue(&o->act, out->c);
        sr_conv2d_forward_rows(&cv, &x, &y, s->scr, SR_CONV_AUTO, &e, s->base[q],
                               gen_val_dim(g, s->ch.v[k], s->j->ox), c0 - s->base[q],
                               c1 - s->base[q]);
        if (out->vs < 0)
            out->vs = lo;
        out->ve = hi;
        zero_end(s, k + 1);
        return 1;
    }
    /* shuffle or nearest upsampling by r: input rows [a, b) -> r times them */
    const int r = o->r;
    const int a = out->vs < 0 ? in->vs : out->ve / r;
    int b = in->ve;
    if (b <= a) {
        s->fin[k + 1] = s->fin[k];
        return 0;
    }
    const int fit = make_room(s, k + 1, a * r, b * r);
    if (fit / r < b)
        b = fit / r;
    else
        s->fin[k + 1] = s->fin[k];
    if (b <= a)
        return 0;
    const int C = out->c, iw = in->w;
    const size_t xp = (size_t)s->ch.cap[q] * iw, yp = (size_t)s->ch.cap[s->ch.group[k + 1]] * out->w;
    if (o->kind == OP_SHUFFLE)
        sr_pixel_shuffle_rows(row_ptr(s, k, 0, a), xp, row_ptr(s, k + 1, 0, a * r), yp, C, b - a,
                              iw, r);
    else /* a channel's rows are contiguous in its window: upsample them as a plane */
        for (int c = 0; c < C; c++) {
            const sr_tensor xv = {1, 1, b - a, iw, row_ptr(s, k, c, a)};
            sr_tensor yv = {1, 1, (b - a) * r, out->w, row_ptr(s, k + 1, c, a * r)};
            sr_upsample_forward(&xv, r, SR_INTERP_NEAREST, &yv);
        }
    if (out->vs < 0)
        out->vs = a * r;
    out->ve = b * r;
    zero_end(s, k + 1);
    return 1;
}

int gen_tail_run(const sr_generator *g, const gen_tail_job *j, float *mem)
{
    state st, *s = &st;
    s->g = g;
    s->j = j;
    make_chain(g, &s->ch);
    const chain *ch = &s->ch;
    const int tv = g->trunk_out, tw = gen_val_dim(g, tv, j->w);
    float *m = mem;
    for (int k = 0; k < ch->n; k++) {
        win *v = &s->v[k];
        v->c = g->vals[ch->v[k]].c;
        v->w = gen_val_dim(g, ch->v[k], j->w);
        v->vs = v->ve = -1;
        s->fin[k] = 0;
        v->buf = m;
        m += ((size_t)v->c * ch->cap[ch->group[k]] * v->w + 15) / 16 * 16;
        s->H[k] = gen_val_dim(g, ch->v[k], j->full_h);
    }
    s->scr = m;
    /* the trunk rows to feed (at its resolution) and the output rows wanted */
    const int last = ch->n - 1;
    const int t0 = gen_val_dim(g, tv, j->T_y0), tn = gen_val_dim(g, tv, j->T_h);
    const int M = gen_tail_margin(g);
    const int a = gen_val_dim(g, tv, j->y0), b = gen_val_dim(g, tv, j->y1);
    const int f0 = a - M > t0 ? a - M : t0, f1 = b + M < t0 + tn ? b + M : t0 + tn;
    const int o0 = gen_val_dim(g, ch->v[last], j->y0), o1 = gen_val_dim(g, ch->v[last], j->y1);
    int fed = f0, rc = 0, first = o1;
    while (s->v[last].ve < o1) {
        int moved = 0;
        if (fed < f1) { /* copy trunk rows [fed, fed + n) from the crop */
            int n = f1 - fed < FEED ? f1 - fed : FEED;
            n = make_room(s, 0, fed, fed + n) - fed;
            if (n > 0) {
                win *v = &s->v[0];
                for (int c = 0; c < v->c; c++)
                    memcpy(row_ptr(s, 0, c, fed),
                           j->T + ((size_t)c * tn + (fed - t0)) * tw,
                           (size_t)n * tw * sizeof(float));
                if (v->vs < 0)
                    v->vs = fed;
                fed += n;
                v->ve = fed;
                s->fin[0] = fed == f1;
                zero_end(s, 0);
                moved = 1;
            }
        }
        for (int k = 0; k < last; k++) {
            const int before = s->v[last].vs < 0 ? -1 : s->v[last].ve;
            moved |= step(s, k);
            if (before < 0 && s->v[last].vs >= 0)
                first = s->v[last].vs;
            if (k + 1 == last && s->v[last].vs >= 0 && s->v[last].ve > before) {
                const int lo = before > o0 ? before : o0;
                const int hi = s->v[last].ve < o1 ? s->v[last].ve : o1;
                if (hi > lo)
                    j->write(j->ctx, s->v[last].buf, ch->cap[ch->group[last]],
                             s->base[ch->group[last]], lo, hi);
            }
        }
        if (!moved) { /* cannot happen with the margins and windows planned */
            rc = -1;
            break;
        }
    }
    if (!rc && first > o0) /* the output began too late */
        rc = -1;
    return rc;
}
