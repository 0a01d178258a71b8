/* gen_build.c: building a generator's layer list, and what is derived from
 * the list alone: the receptive field (tile halo) and the buffer plan (which
 * feature maps share memory, hence the arena sizes). */
#include "gen_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- growing arrays ---------------------------------------------------- */

static void *grow(void *p, int *cap, int need, size_t elem, int *oom)
{
    if (need <= *cap)
        return p;
    int nc = *cap ? 2 * *cap : 64;
    while (nc < need)
        nc *= 2;
    void *q = realloc(p, (size_t)nc * elem);
    if (!q) {
        *oom = 1;
        return NULL;
    }
    *cap = nc;
    return q;
}

#define GROW(g, arr, n, cap)                                                                  \
    do {                                                                                      \
        void *q_ = grow((g)->arr, &(g)->cap, (g)->n + 1, sizeof *(g)->arr, &(g)->oom);        \
        if (!q_)                                                                              \
            return -1;                                                                        \
        (g)->arr = q_;                                                                        \
    } while (0)

int gen_add_param(sr_generator *g, const char *name, int ndim, const int64_t *shape)
{
    GROW(g, params, nparams, capparams);
    sr_param *p = &g->params[g->nparams];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    p->ndim = ndim;
    p->numel = 1;
    for (int i = 0; i < ndim; i++) {
        p->shape[i] = shape[i];
        p->numel *= (size_t)shape[i];
    }
    return g->nparams++; /* storage: gen_alloc_params, once the list is complete */
}

static int add_val(sr_generator *g, gen_val v)
{
    GROW(g, vals, nval, capval);
    g->vals[g->nval] = v;
    return g->nval++;
}

static int add_op(sr_generator *g, gen_op op)
{
    GROW(g, ops, nop, capop);
    g->ops[g->nop] = op;
    return g->nop++;
}

int gb_input(sr_generator *g, int channels)
{
    return gb_root(g, channels, 1, 1);
}

int gb_root(sr_generator *g, int c, int num, int den)
{
    return add_val(g, (gen_val){.root = g->nval, .c0 = 0, .c = c, .num = num, .den = den});
}

int gb_slice(sr_generator *g, int root, int c0, int c)
{
    if (root < 0)
        return -1;
    gen_val v = g->vals[root];
    return add_val(g, (gen_val){.root = v.root, .c0 = v.c0 + c0, .c = c, .num = v.num,
                                .den = v.den});
}

/* A new root value like v but with c channels and resolution scaled by
 * mul/div, or out when given (checked against that). */
static int out_val(sr_generator *g, int in, int out, int c, int mul, int div)
{
    if (in < 0)
        return -1;
    int num = g->vals[in].num * mul, den = g->vals[in].den * div;
    if (num % den == 0) {
        num /= den;
        den = 1;
    } else if (den % num == 0) {
        den /= num;
        num = 1;
    }
    if (out >= 0) {
        if (g->vals[out].c != c || g->vals[out].num != num || g->vals[out].den != den) {
            g->oom = 1; /* a builder bug: reported like a failure */
            return -1;
        }
        return out;
    }
    return gb_root(g, c, num, den);
}

int gb_conv(sr_generator *g, const char *name, int in, int out, int cout, int k, gb_act act,
            int add)
{
    if (in < 0 || (out < 0 && out != -1))
        return -1;
    const int cin = g->vals[in].c;
    char nm[128];
    int64_t ws[4] = {cout, cin, k, k}, bs[1] = {cout};
    snprintf(nm, sizeof nm, "%s.weight", name);
    int wi = gen_add_param(g, nm, 4, ws);
    snprintf(nm, sizeof nm, "%s.bias", name);
    if (wi < 0 || gen_add_param(g, nm, 1, bs) < 0)
        return -1;
    gen_op op = {.kind = OP_CONV, .in = in, .add = add, .act.kind = act.kind,
                 .act.slope = act.slope};
    if (act.kind == ACT_PRELU) {
        int n = act.nalpha;
        int64_t s[8];
        snprintf(nm, sizeof nm, "%s.weight", act.prelu);
        /* may_share: one alpha unless the file holds one per channel */
        if (act.may_share && !(g->st && sr_safetensors_shape(g->st, nm, s) == 1 && s[0] == n))
            n = 1;
        int64_t as[1] = {n};
        int ai = gen_add_param(g, nm, 1, as);
        if (ai < 0)
            return -1;
        op.act.nalpha = n;
        op.act.param = ai;
    }
    GROW(g, convs, nconv, capconv);
    g->convs[g->nconv] = (gen_conv){
        .c = {.cin = cin, .cout = cout, .kh = k, .kw = k, .stride = 1, .pad = k / 2},
        .param = wi};
    op.conv = g->nconv++;
    op.out = out_val(g, in, out, cout, 1, 1);
    if (op.out < 0)
        return -1;
    add_op(g, op);
    return op.out;
}

int gb_shuffle(sr_generator *g, int in, int r)
{
    if (in < 0)
        return -1;
    /* the conv before a shuffle starts out ICNR (see generator.c) */
    for (int i = g->nop - 1; i >= 0; i--)
        if (g->ops[i].out == in && g->ops[i].kind == OP_CONV)
            g->convs[g->ops[i].conv].icnr = r;
    gen_op op = {.kind = OP_SHUFFLE, .in = in, .add = -1, .r = r};
    op.out = out_val(g, in, -1, g->vals[in].c / (r * r), r, 1);
    return op.out < 0 || add_op(g, op) < 0 ? -1 : op.out;
}

int gb_unshuffle(sr_generator *g, int in, int r)
{
    if (in < 0)
        return -1;
    gen_op op = {.kind = OP_UNSHUFFLE, .in = in, .add = -1, .r = r};
    op.out = out_val(g, in, -1, g->vals[in].c * r * r, 1, r);
    return op.out < 0 || add_op(g, op) < 0 ? -1 : op.out;
}

int gb_upnearest(sr_generator *g, int in, int r)
{
    if (in < 0)
        return -1;
    gen_op op = {.kind = OP_UPNEAREST, .in = in, .add = -1, .r = r};
    op.out = out_val(g, in, -1, g->vals[in].c, r, 1);
    return op.out < 0 || add_op(g, op) < 0 ? -1 : op.out;
}

int gb_scale_add(sr_generator *g, int in, float scale, int add, int out)
{
    if (in < 0 || add < 0)
        return -1;
    gen_op op = {.kind = OP_SCALE_ADD, .in = in, .add = add, .scale = scale};
    op.out = out_val(g, in, out, g->vals[in].c, 1, 1);
    return op.out < 0 || add_op(g, op) < 0 ? -1 : op.out;
}

void gb_split(sr_generator *g, int v)
{
    g->split = g->nop;
    g->trunk_out = v;
}

gen_conv *gen_conv_by_name(sr_generator *g, const char *name)
{
    size_t n = strlen(name);
    for (int i = 0; i < g->nconv; i++) {
        const char *p = g->params[g->convs[i].param].name;
        if (!strncmp(p, name, n) && !strcmp(p + n, ".weight"))
            return &g->convs[i];
    }
    return NULL;
}

int gen_up_stages(int scale, int *r)
{
    *r = scale == 3 ? 3 : 2;
    return scale == 8 ? 3 : scale == 4 ? 2 : 1;
}

/* ---- receptive field ---------------------------------------------------- */

/* Pixels at resolution v of radius m (pixels at that resolution), in input
 * pixels, rounded up. */
static int to_input_px(const gen_val *v, int m)
{
    return (m * v->den + v->num - 1) / v->num;
}

/* How far the error of a window edge (trunk) or of a band's edge (tail)
 * reaches, as a conv chain runs. A direct or im2col conv adds its radius
 * kh/2. Winograd convs add 3, 1, 3, 1, ... along a run of them
 * (sr_conv2d_reach: the grid is fixed to the image, so only the first of two
 * consecutive ones pays for the worst phase). The state of a value is the
 * reach m (input pixels in the trunk, the value's own pixels in the tail)
 * and whether the next Winograd conv adds 1 (odd = 1) rather than 3. */
typedef struct reach_state {
    int m, odd;
} reach_state;

/* The state of several chains meeting (a residual add, a dense block's
 * concatenation): the one that stays the farther whatever comes next, or,
 * when neither does, the larger reach with the next Winograd conv counted
 * as 3 (at most 2 pixels of that resolution too many). two: 2 pixels of the
 * value's resolution, in the units of m. */
static reach_state reach_merge(reach_state a, reach_state b, int two)
{
    if (a.odd && !b.odd && a.m >= b.m + two)
        return a;
    if (b.odd && !a.odd && b.m >= a.m + two)
        return b;
    if (a.odd == b.odd)
        return a.m >= b.m ? a : b;
    return (reach_state){a.m > b.m ? a.m : b.m, 0};
}

/* A conv's reach from state *st (updated); the radius in the conv's pixels. */
static int conv_reach(const sr_conv2d *c, reach_state *st)
{
    int run = st->odd;
    const int r = sr_conv2d_reach(c, &run);
    st->odd = run % 2;
    return r;
}

/* What a value reads: itself, and for a slice what any op wrote into its
 * root so far (for a dense block's growing prefix exactly the deepest
 * write). */
static reach_state read_state(const sr_generator *g, const reach_state *st, int v, int two)
{
    return reach_merge(st[v], st[g->vals[v].root], two);
}

static void write_state(const sr_generator *g, reach_state *st, int v, reach_state x, int two)
{
    st[v] = reach_merge(st[v], x, two);
    const int r = g->vals[v].root;
    st[r] = reach_merge(st[r], x, two);
}

/* Forward over the trunk: how far (input pixels) the zero padding at a
 * window edge that is not an image edge reaches into each value. A conv adds
 * its reach (conv_reach); an unshuffle by r on a window aligned to r adds
 * nothing but rounds up to whole unshuffled pixels, and starts a new grid. */
int gen_trunk_radius(const sr_generator *g)
{
    reach_state *st = calloc((size_t)g->nval, sizeof *st);
    if (!st)
        return 1 << 20;
    for (int i = 0; i < g->split; i++) {
        const gen_op *o = &g->ops[i];
        const gen_val *ov = &g->vals[o->out];
        const int two = to_input_px(ov, 2);
        reach_state x = read_state(g, st, o->in, to_input_px(&g->vals[o->in], 2));
        switch (o->kind) {
        case OP_CONV: x.m += to_input_px(ov, conv_reach(&g->convs[o->conv].c, &x)); break;
        case OP_UNSHUFFLE: x = (reach_state){(x.m + o->r - 1) / o->r * o->r, 0}; break;
        case OP_SHUFFLE:
        case OP_UPNEAREST: x.odd = 0; break;
        case OP_SCALE_ADD: break;
        }
        if (o->add >= 0) /* added to the result: its own reach, not the conv's on top */
            x = reach_merge(x, read_state(g, st, o->add, two), two);
        write_state(g, st, o->out, x, two);
    }
    const int r = read_state(g, st, g->trunk_out, to_input_px(&g->vals[g->trunk_out], 2)).m;
    free(st);
    return r;
}

/* Backward over the tail from the output: margins at each value's own
 * resolution grow by each conv's reach and shrink (rounding up) through
 * each upsampling (a new grid). Regions are aligned to the trunk output's
 * pixels, so the rounding is exact. */
int gen_tail_margin(const sr_generator *g)
{
    reach_state *st = calloc((size_t)g->nval, sizeof *st);
    if (!st)
        return 1 << 20;
    for (int i = g->nop - 1; i >= g->split; i--) {
        const gen_op *o = &g->ops[i];
        reach_state x = read_state(g, st, o->out, 2), xa = x;
        switch (o->kind) {
        case OP_CONV: x.m += conv_reach(&g->convs[o->conv].c, &x); break;
        case OP_SHUFFLE:
        case OP_UPNEAREST: x = (reach_state){(x.m + o->r - 1) / o->r, 0}; break;
        case OP_UNSHUFFLE: x = (reach_state){x.m * o->r, 0}; break;
        case OP_SCALE_ADD: break;
        }
        write_state(g, st, o->in, x, 2);
        if (o->add >= 0) /* the added value needs the output's margin only */
            write_state(g, st, o->add, o->kind == OP_CONV ? xa : x, 2);
    }
    const int m = read_state(g, st, g->trunk_out, 2).m;
    free(st);
    return m;
}

int sr_generator_halo(const sr_generator *g)
{
    const gen_val *t = &g->vals[g->trunk_out];
    int h = gen_trunk_radius(g) + to_input_px(t, gen_tail_margin(g));
    /* the bilinear global skip reads one neighbour; keep a pixel to spare */
    if (g->skip && h < 2)
        h = 2;
    return (h + g->align - 1) / g->align * g->align;
}

/* ---- buffer planning ---------------------------------------------------- */

int gen_val_dim(const sr_generator *g, int v, int lr)
{
    return (int)((long)lr * g->vals[v].num / g->vals[v].den);
}

size_t gen_val_floats(const sr_generator *g, int v, int h, int w)
{
    return (size_t)g->vals[v].c * gen_val_dim(g, v, h) * gen_val_dim(g, v, w);
}

/* Linear scan: a root takes the smallest free buffer that holds it, or
 * grows the largest free one, or gets a new one. A buffer is freed only
 * after the last step that uses it, so no op's output shares memory with
 * its inputs (a conv's residual must not overlap its output). */
int gen_assign(int nr, int nsteps, const int *first, const int *last, const size_t *size,
               size_t *off, size_t *total)
{
    size_t *bsize = malloc((size_t)(nr + 1) * sizeof *bsize);
    int *bowner = malloc((size_t)(nr + 1) * sizeof *bowner);
    int *buf = malloc((size_t)(nr + 1) * sizeof *buf);
    if (!bsize || !bowner || !buf) {
        free(bsize);
        free(bowner);
        free(buf);
        return -1;
    }
    int nb = 0;
    for (int r = 0; r < nr; r++) {
        buf[r] = -1;
        off[r] = (size_t)-1;
    }
    for (int i = 0; i < nsteps; i++) {
        for (int r = 0; r < nr; r++)
            if (first[r] >= 0 && last[r] == i - 1 && buf[r] >= 0)
                bowner[buf[r]] = -1;
        for (int r = 0; r < nr; r++) {
            if (first[r] != i)
                continue;
            const size_t need = (size[r] + 15) / 16 * 16; /* 64-byte aligned */
            int best = -1, big = -1;
            for (int b = 0; b < nb; b++) {
                if (bowner[b] >= 0)
                    continue;
                if (bsize[b] >= need && (best < 0 || bsize[b] < bsize[best]))
                    best = b;
                if (big < 0 || bsize[b] > bsize[big])
                    big = b;
            }
            if (best < 0 && big >= 0) {
                best = big;
                bsize[best] = need;
            }
            if (best < 0) {
                best = nb++;
                bsize[best] = need;
            }
            bowner[best] = r;
            buf[r] = best;
        }
    }
    size_t at = 0;
    for (int b = 0; b < nb; b++) {
        size_t s = bsize[b];
        bsize[b] = at;
        at += s;
    }
    for (int r = 0; r < nr; r++)
        if (buf[r] >= 0)
            off[r] = bsize[buf[r]];
    *total = at;
    free(bsize);
    free(bowner);
    free(buf);
    return 0;
}

void gen_plan(const sr_generator *g, int o0, int o1, int h, int w, int keep, size_t *off,
              size_t *total)
{
    const int nv = g->nval;
    int *first = malloc((size_t)nv * 2 * sizeof *first), *last = first ? first + nv : NULL;
    size_t *size = malloc((size_t)nv * sizeof *size);
    if (!first || !size) {
        free(first);
        free(size);
        for (int v = 0; v < nv; v++)
            off[v] = (size_t)-1;
        *total = (size_t)-1 / 8; /* an arena this large fails: out of memory */
        return;
    }
    for (int v = 0; v < nv; v++) {
        first[v] = -1;
        last[v] = -1;
        size[v] = gen_val_floats(g, v, h, w);
    }
    for (int i = o0; i < o1; i++) {
        const gen_op *o = &g->ops[i];
        int r = g->vals[o->out].root;
        if (first[r] < 0)
            first[r] = i - o0;
        if (last[r] < i - o0)
            last[r] = i - o0;
        const int ins[2] = {o->in, o->add};
        for (int k = 0; k < 2; k++)
            if (ins[k] >= 0 && last[g->vals[ins[k]].root] < i - o0)
                last[g->vals[ins[k]].root] = i - o0;
    }
    for (int v = 0; v < nv; v++)
        if (first[v] < 0)
            last[v] = -1;
    if (keep >= 0 && first[g->vals[keep].root] >= 0)
        last[g->vals[keep].root] = o1 - o0;
    if (gen_assign(nv, o1 - o0, first, last, size, off, total)) {
        for (int v = 0; v < nv; v++)
            off[v] = (size_t)-1;
        *total = (size_t)-1 / 8;
    }
    free(first);
    free(size);
}

size_t gen_plan_scratch(const sr_generator *g, int o0, int o1, int n, int h, int w)
{
    size_t m = 0;
    for (int i = o0; i < o1; i++) {
        const gen_op *o = &g->ops[i];
        if (o->kind != OP_CONV)
            continue;
        sr_tensor t = {n, g->vals[o->in].c, gen_val_dim(g, o->in, h), gen_val_dim(g, o->in, w),
                       NULL};
        size_t s = sr_conv2d_scratch_floats(&g->convs[o->conv].c, &t);
        if (s > m)
            m = s;
    }
    return m;
}

int gen_required_conv(const sr_safetensors *st, const char *name, int64_t shape[8], sr_error *err)
{
    if (sr_safetensors_shape(st, name, shape) == 4)
        return 0;
    sr_error_set(err, SR_ERR_WEIGHTS, "%s: tensor '%s' missing or not 4-D", sr_safetensors_path(st),
                 name);
    return -1;
}

int gen_count(const sr_safetensors *st, const char *name_fmt, int max)
{
    int n = 0;
    char nm[128];
    if (!name_fmt) /* never; tells GCC's sanitizer build, which warned of a null format */
        return 0;
    for (;;) {
        snprintf(nm, sizeof nm, name_fmt, n);
        if (n > max || !sr_safetensors_has(st, nm))
            return n;
        n++;
    }
}
