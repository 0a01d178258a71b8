/* generator.c: the generator's parameters: layout for a configuration,
 * initialisation, loading from and saving to safetensors, the receptive
 * field. Inference is in gen_forward.c, training passes in gen_train.c. */
#include "gen_internal.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "srgan/weights.h"

/* ---- seeded RNG (PCG32; state passed explicitly) ------------------------ */

typedef struct pcg32 {
    uint64_t state, inc;
} pcg32;

static uint32_t pcg_next(pcg32 *r)
{
    uint64_t old = r->state;
    r->state = old * 6364136223846793005ULL + r->inc;
    uint32_t xs = (uint32_t)(((old >> 18) ^ old) >> 27);
    uint32_t rot = (uint32_t)(old >> 59);
    return (xs >> rot) | (xs << ((32 - rot) & 31));
}

static pcg32 pcg_seed(uint64_t seed)
{
    pcg32 r = {0, (seed << 1) | 1};
    pcg_next(&r);
    r.state += seed ^ 0x853c49e6748fea9bULL;
    pcg_next(&r);
    return r;
}

/* Standard normal by Box-Muller (one value per call; simplicity over speed). */
static double pcg_normal(pcg32 *r)
{
    double u1 = ((double)pcg_next(r) + 1.0) / 4294967297.0; /* (0, 1) */
    double u2 = (double)pcg_next(r) / 4294967296.0;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* ---- configuration -------------------------------------------------------- */

/* The one table of architecture names: metadata, --arch, messages. */
static const struct {
    sr_arch arch;
    const char *name;
} ARCHS[] = {{SR_ARCH_MSRRESNET, "msrresnet"}, {SR_ARCH_SRRESNET, "srresnet"}};

const char *sr_arch_name(sr_arch arch)
{
    for (size_t i = 0; i < sizeof ARCHS / sizeof *ARCHS; i++)
        if (ARCHS[i].arch == arch)
            return ARCHS[i].name;
    return "unknown";
}

int sr_arch_parse(const char *name, sr_arch *arch)
{
    for (size_t i = 0; name && i < sizeof ARCHS / sizeof *ARCHS; i++)
        if (!strcasecmp(name, ARCHS[i].name)) {
            *arch = ARCHS[i].arch;
            return 0;
        }
    return -1;
}

const char *sr_arch_list(void)
{
    return "msrresnet, srresnet";
}

int sr_generator_config_check(const sr_generator_config *c, sr_error *err)
{
    if (c->arch != SR_ARCH_MSRRESNET && c->arch != SR_ARCH_SRRESNET) {
        sr_error_set(err, SR_ERR_ARG, "generator: unknown architecture %d", (int)c->arch);
        return -1;
    }
    if (c->scale != 2 && c->scale != 3 && c->scale != 4 && c->scale != 8) {
        sr_error_set(err, SR_ERR_ARG, "generator: scale %d not supported (2, 3, 4 or 8)",
                     c->scale);
        return -1;
    }
    if (c->blocks < 0 || c->blocks > 1024 || c->channels < 1 || c->channels > 4096) {
        sr_error_set(err, SR_ERR_ARG, "generator: %d blocks of %d channels is out of range",
                     c->blocks, c->channels);
        return -1;
    }
    if (c->in_channels < 1 || c->in_channels > 4 || c->out_channels < 1 ||
        c->out_channels > 4) {
        sr_error_set(err, SR_ERR_ARG, "generator: %d input / %d output channels not supported",
                     c->in_channels, c->out_channels);
        return -1;
    }
    if (c->arch == SR_ARCH_MSRRESNET && c->in_channels != c->out_channels) {
        sr_error_set(err, SR_ERR_ARG,
                     "generator: msrresnet needs as many output as input channels (global skip)");
        return -1;
    }
    return 0;
}

/* ---- layout: the parameters of a configuration ---------------------------- */

static void free_params(sr_generator *g)
{
    for (int i = 0; i < g->nparams; i++) {
        sr_free_floats(g->params[i].data);
        sr_free_floats(g->params[i].grad);
    }
    free(g->params);
    g->params = NULL;
    g->nparams = g->capparams = 0;
}

#define GEN_MAX_CONVS (4 + 2 * 1024 + GEN_MAX_UP)
static int list_convs(sr_generator *g, gen_conv **all);

void sr_generator_free(sr_generator *g)
{
    if (!g)
        return;
    gen_conv *all[GEN_MAX_CONVS];
    int n = list_convs(g, all);
    for (int i = 0; i < n; i++)
        sr_conv2d_release(&all[i]->c);
    free_params(g);
    free(g->conv1);
    free(g->conv2);
    free(g->block_act);
    for (int i = 0; i < g->nmeta; i++) {
        free(g->meta_keys[i]);
        free(g->meta_vals[i]);
    }
    free(g->meta_keys);
    free(g->meta_vals);
    free(g);
}

/* Add a zeroed parameter; returns its index or -1. */
static int add_param(sr_generator *g, const char *name, int ndim, const int64_t *shape)
{
    if (g->nparams == g->capparams) {
        int nc = g->capparams ? 2 * g->capparams : 64;
        sr_param *p = realloc(g->params, (size_t)nc * sizeof *p);
        if (!p)
            return -1;
        g->params = p;
        g->capparams = nc;
    }
    sr_param *p = &g->params[g->nparams];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    p->ndim = ndim;
    p->numel = 1;
    for (int i = 0; i < ndim; i++) {
        p->shape[i] = shape[i];
        p->numel *= (size_t)shape[i];
    }
    if (g->count_only)
        return g->nparams++;
    p->data = sr_alloc_floats(p->numel);
    if (!p->data)
        return -1;
    return g->nparams++;
}

static int add_conv(sr_generator *g, gen_conv *cv, const char *name, int cin, int cout, int k)
{
    char nm[128];
    int64_t ws[4] = {cout, cin, k, k}, bs[1] = {cout};
    snprintf(nm, sizeof nm, "%s.weight", name);
    int wi = add_param(g, nm, 4, ws);
    snprintf(nm, sizeof nm, "%s.bias", name);
    int bi = wi < 0 ? -1 : add_param(g, nm, 1, bs);
    if (bi < 0)
        return -1;
    cv->param = wi;
    cv->c = (sr_conv2d){.cin = cin, .cout = cout, .kh = k, .kw = k, .stride = 1, .pad = k / 2};
    return 0;
}

static int add_prelu(sr_generator *g, gen_act *a, const char *name, int nalpha)
{
    char nm[128];
    int64_t s[1] = {nalpha};
    snprintf(nm, sizeof nm, "%s.weight", name);
    int i = add_param(g, nm, 1, s);
    if (i < 0)
        return -1;
    a->kind = ACT_PRELU;
    a->nalpha = nalpha;
    a->param = i;
    for (int k = 0; k < nalpha && g->params[i].data; k++)
        g->params[i].data[k] = 0.25f; /* PyTorch's default */
    return 0;
}

/* Every conv of the generator, in forward order; returns the count. */
static int list_convs(sr_generator *g, gen_conv **all)
{
    int n = 0;
    all[n++] = &g->first;
    for (int i = 0; i < g->cfg.blocks && g->conv1 && g->conv2; i++) {
        all[n++] = &g->conv1[i];
        all[n++] = &g->conv2[i];
    }
    if (g->cfg.arch == SR_ARCH_SRRESNET)
        all[n++] = &g->body;
    for (int k = 0; k < g->nup; k++)
        all[n++] = &g->up[k];
    if (g->cfg.arch == SR_ARCH_MSRRESNET)
        all[n++] = &g->hr;
    all[n++] = &g->last;
    return n;
}

/* Winograd weight transforms (sr_conv2d_prepare) for inference. */
int sr_generator_prepare(sr_generator *g, sr_error *err)
{
    gen_conv *all[GEN_MAX_CONVS];
    int n = list_convs(g, all);
    for (int i = 0; i < n; i++)
        if (sr_conv2d_prepare(&all[i]->c)) {
            sr_error_set(err, SR_ERR_NOMEM, "generator: out of memory preparing the convs");
            return -1;
        }
    return 0;
}

/* Point the layers at their parameter storage (after all params exist:
 * the params array may move while it grows). */
static void wire(sr_generator *g)
{
    gen_conv *all[GEN_MAX_CONVS];
    int n = list_convs(g, all);
    for (int i = 0; i < n; i++) {
        all[i]->c.weight = g->params[all[i]->param].data;
        all[i]->c.bias = g->params[all[i]->param + 1].data;
    }
    gen_act *acts[2 + 1024 + GEN_MAX_UP];
    int na = 0;
    acts[na++] = &g->first_act;
    for (int i = 0; i < g->cfg.blocks; i++)
        acts[na++] = &g->block_act[i];
    for (int k = 0; k < g->nup; k++)
        acts[na++] = &g->up_act[k];
    for (int i = 0; i < na; i++)
        if (acts[i]->kind == ACT_PRELU)
            acts[i]->alpha = g->params[acts[i]->param].data;
}

/* nalpha: PReLU alpha count per activation for SRResNet, in the order
 * first, blocks..., ups... (NULL: all shared, 1). */
static sr_generator *build(const sr_generator_config *cfg, const int *nalpha, int count_only,
                           sr_error *err)
{
    if (sr_generator_config_check(cfg, err))
        return NULL;
    sr_generator *g = calloc(1, sizeof *g);
    if (!g)
        goto oom;
    g->cfg = *cfg;
    g->count_only = count_only;
    const int s = cfg->scale, B = cfg->blocks, C = cfg->channels;
    g->nup = s == 3 ? 1 : s == 2 ? 1 : s == 4 ? 2 : 3;
    g->up_r = s == 3 ? 3 : 2;
    g->conv1 = calloc((size_t)B + 1, sizeof *g->conv1);
    g->conv2 = calloc((size_t)B + 1, sizeof *g->conv2);
    g->block_act = calloc((size_t)B + 1, sizeof *g->block_act);
    if (!g->conv1 || !g->conv2 || !g->block_act)
        goto oom;
    const int srr = cfg->arch == SR_ARCH_SRRESNET;
    const int kend = srr ? 9 : 3;
    int ai = 0;
    char nm[64];
    if (add_conv(g, &g->first, "conv_first", cfg->in_channels, C, kend))
        goto oom;
    if (srr) {
        if (add_prelu(g, &g->first_act, "act_first", nalpha ? nalpha[ai] : 1))
            goto oom;
        ai++;
    } else {
        g->first_act.kind = ACT_LRELU;
    }
    for (int i = 0; i < B; i++) {
        snprintf(nm, sizeof nm, "body.%d.conv1", i);
        if (add_conv(g, &g->conv1[i], nm, C, C, 3))
            goto oom;
        if (srr) {
            snprintf(nm, sizeof nm, "body.%d.act", i);
            if (add_prelu(g, &g->block_act[i], nm, nalpha ? nalpha[ai] : 1))
                goto oom;
            ai++;
        } else {
            g->block_act[i].kind = ACT_RELU;
        }
        snprintf(nm, sizeof nm, "body.%d.conv2", i);
        if (add_conv(g, &g->conv2[i], nm, C, C, 3))
            goto oom;
    }
    if (srr && add_conv(g, &g->body, "conv_body", C, C, 3))
        goto oom;
    for (int k = 0; k < g->nup; k++) {
        snprintf(nm, sizeof nm, "upconv%d", k + 1);
        if (add_conv(g, &g->up[k], nm, C, C * g->up_r * g->up_r, 3))
            goto oom;
        if (srr) {
            snprintf(nm, sizeof nm, "act_up%d", k + 1);
            if (add_prelu(g, &g->up_act[k], nm, nalpha ? nalpha[ai] : 1))
                goto oom;
            ai++;
        } else {
            g->up_act[k].kind = ACT_LRELU;
        }
    }
    if (!srr) {
        if (add_conv(g, &g->hr, "conv_hr", C, C, 3))
            goto oom;
        g->hr_act.kind = ACT_LRELU;
    }
    if (add_conv(g, &g->last, "conv_last", C, cfg->out_channels, kend))
        goto oom;
    wire(g);
    return g;
oom:
    sr_error_set(err, SR_ERR_NOMEM, "generator: out of memory");
    sr_generator_free(g);
    return NULL;
}

/* ---- initialisation ------------------------------------------------------- */

static void kaiming(pcg32 *r, float *w, size_t n, int fan_in, double scale)
{
    double std = sqrt(2.0 / fan_in) * scale;
    for (size_t i = 0; i < n; i++)
        w[i] = (float)(pcg_normal(r) * std);
}

/* ICNR (Aitken et al. 2017): every group of r*r output channels that pixel
 * shuffle interleaves into one channel starts with the same kernel, so the
 * initial upsampling is nearest-neighbour-like and free of checkerboards. In
 * PyTorch's order, output channel o lands in channel o / (r*r). */
static void icnr(pcg32 *r, const sr_conv2d *c, int up, double scale)
{
    const int rr = up * up;
    const size_t per = (size_t)c->cin * c->kh * c->kw;
    const int base_out = c->cout / rr;
    for (int o = 0; o < base_out; o++) {
        float *w0 = c->weight + (size_t)o * rr * per;
        kaiming(r, w0, per, (int)per, scale);
        for (int k = 1; k < rr; k++)
            memcpy(w0 + k * per, w0, per * sizeof(float));
    }
}

static void init_conv(pcg32 *r, const gen_conv *cv, double scale)
{
    const sr_conv2d *c = &cv->c;
    kaiming(r, c->weight, (size_t)c->cout * c->cin * c->kh * c->kw, c->cin * c->kh * c->kw,
            scale);
    memset(c->bias, 0, (size_t)c->cout * sizeof(float));
}

sr_generator *sr_generator_new(const sr_generator_config *cfg, uint64_t seed, sr_error *err)
{
    sr_generator *g = build(cfg, NULL, 0, err);
    if (!g)
        return NULL;
    pcg32 r = pcg_seed(seed);
    /* BasicSR scales Kaiming by 0.1 so that the residual blocks start close
     * to the identity; the other convs use the same scale as BasicSR does. */
    const double s = 0.1;
    init_conv(&r, &g->first, s);
    for (int i = 0; i < cfg->blocks; i++) {
        init_conv(&r, &g->conv1[i], s);
        init_conv(&r, &g->conv2[i], s);
    }
    if (cfg->arch == SR_ARCH_SRRESNET)
        init_conv(&r, &g->body, s);
    for (int k = 0; k < g->nup; k++) {
        icnr(&r, &g->up[k].c, g->up_r, s);
        memset(g->up[k].c.bias, 0, (size_t)g->up[k].c.cout * sizeof(float));
    }
    if (cfg->arch == SR_ARCH_MSRRESNET)
        init_conv(&r, &g->hr, s);
    init_conv(&r, &g->last, s);
    return g;
}

/* ---- accessors ------------------------------------------------------------ */

const sr_generator_config *sr_generator_get_config(const sr_generator *g)
{
    return &g->cfg;
}

const char *sr_generator_meta(const sr_generator *g, const char *key)
{
    for (int i = 0; i < g->nmeta; i++)
        if (!strcmp(g->meta_keys[i], key))
            return g->meta_vals[i];
    return NULL;
}

int sr_generator_param_count(const sr_generator *g)
{
    return g->nparams;
}

sr_param *sr_generator_param(sr_generator *g, int i)
{
    return i >= 0 && i < g->nparams ? &g->params[i] : NULL;
}

sr_param *sr_generator_param_by_name(sr_generator *g, const char *name)
{
    for (int i = 0; i < g->nparams; i++)
        if (!strcmp(g->params[i].name, name))
            return &g->params[i];
    return NULL;
}

int sr_generator_enable_grad(sr_generator *g, sr_error *err)
{
    for (int i = 0; i < g->nparams; i++) {
        if (g->params[i].grad)
            continue;
        g->params[i].grad = sr_alloc_floats(g->params[i].numel);
        if (!g->params[i].grad) {
            sr_error_set(err, SR_ERR_NOMEM, "generator: out of memory for gradients");
            return -1;
        }
    }
    return 0;
}

void sr_generator_zero_grad(sr_generator *g)
{
    for (int i = 0; i < g->nparams; i++)
        if (g->params[i].grad)
            memset(g->params[i].grad, 0, g->params[i].numel * sizeof(float));
}

/* ---- receptive field ------------------------------------------------------ */

/* Radii as the convs run (sr_conv2d_reach): kh/2 each for direct and
 * im2col convs, more for runs of Winograd convs, whose outputs' rounding
 * depends on their whole input tile; a halo this wide keeps tiles bit-exact. */
int gen_trunk_radius(const sr_generator *g)
{
    int run = 0, r = sr_conv2d_reach(&g->first.c, &run);
    for (int i = 0; i < g->cfg.blocks; i++) {
        r += sr_conv2d_reach(&g->conv1[i].c, &run);
        r += sr_conv2d_reach(&g->conv2[i].c, &run);
    }
    if (g->cfg.arch == SR_ARCH_SRRESNET)
        r += sr_conv2d_reach(&g->body.c, &run);
    return r;
}

/* Walk back from the output: margins at the current resolution grow by each
 * conv's radius and shrink (rounding up) through each pixel shuffle; tiles
 * are aligned to LR pixels, so ceil is exact. */
int gen_tail_margin(const sr_generator *g)
{
    int run = 0, m = sr_conv2d_reach(&g->last.c, &run);
    if (g->cfg.arch == SR_ARCH_MSRRESNET)
        m += sr_conv2d_reach(&g->hr.c, &run);
    for (int k = g->nup - 1; k >= 0; k--) {
        m = (m + g->up_r - 1) / g->up_r;
        run = 0; /* a new resolution, a new grid */
        m += sr_conv2d_reach(&g->up[k].c, &run);
    }
    return m;
}

int sr_generator_halo(const sr_generator *g)
{
    int h = gen_trunk_radius(g) + gen_tail_margin(g);
    /* the bilinear global skip reads one neighbour; keep a pixel to spare */
    return h < 2 ? 2 : h;
}

/* ---- metadata ------------------------------------------------------------- */

static int set_meta(sr_generator *g, const char *key, const char *val)
{
    for (int i = 0; i < g->nmeta; i++) {
        if (!strcmp(g->meta_keys[i], key)) {
            char *v = strdup(val);
            if (!v)
                return -1;
            free(g->meta_vals[i]);
            g->meta_vals[i] = v;
            return 0;
        }
    }
    char **k = realloc(g->meta_keys, (size_t)(g->nmeta + 1) * sizeof *k);
    if (!k)
        return -1;
    g->meta_keys = k;
    char **v = realloc(g->meta_vals, (size_t)(g->nmeta + 1) * sizeof *v);
    if (!v)
        return -1;
    g->meta_vals = v;
    k[g->nmeta] = strdup(key);
    v[g->nmeta] = strdup(val);
    if (!k[g->nmeta] || !v[g->nmeta]) {
        free(k[g->nmeta]);
        free(v[g->nmeta]);
        return -1;
    }
    g->nmeta++;
    return 0;
}

/* ---- loading -------------------------------------------------------------- */

/* An integer metadata value in lo..hi. A value that is a number but outside
 * the range says so: "out of range" and "not a number" need different fixes
 * in the file. Returns 1 (set), 0 (absent) or -1. */
static int meta_int(const sr_safetensors *st, const char *key, long lo, long hi, int *out,
                    sr_error *err)
{
    const char *v = sr_safetensors_meta(st, key);
    if (!v)
        return 0;
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    while (isspace((unsigned char)*end))
        end++;
    if (end == v || *end) {
        sr_error_set(err, SR_ERR_WEIGHTS, "%s: metadata %s = '%.40s' is not a number",
                     sr_safetensors_path(st), key, v);
        return -1;
    }
    if (errno == ERANGE || x < lo || x > hi) {
        sr_error_set(err, SR_ERR_WEIGHTS, "%s: metadata %s = '%.40s' is out of range (%ld..%ld)",
                     sr_safetensors_path(st), key, v, lo, hi);
        return -1;
    }
    *out = (int)x;
    return 1;
}

/* The configuration: metadata first, tensor shapes for what it lacks. */
static int read_config(const sr_safetensors *st, sr_generator_config *c, sr_error *err)
{
    const char *path = sr_safetensors_path(st);
    int64_t s[8];
    memset(c, 0, sizeof *c);
    const char *arch = sr_safetensors_meta(st, "arch");
    if (arch) {
        if (sr_arch_parse(arch, &c->arch)) {
            sr_error_set(err, SR_ERR_UNSUPPORTED, "%s: architecture '%.40s' not supported (%s)", path,
                         arch, sr_arch_list());
            return -1;
        }
    } else {
        c->arch = sr_safetensors_has(st, "conv_body.weight") ? SR_ARCH_SRRESNET
                                                              : SR_ARCH_MSRRESNET;
    }
    int nd = sr_safetensors_shape(st, "conv_first.weight", s);
    if (nd != 4) {
        sr_error_set(err, SR_ERR_WEIGHTS, "%s: tensor 'conv_first.weight' missing or not 4-D",
                     path);
        return -1;
    }
    c->channels = (int)s[0];
    c->in_channels = (int)s[1];
    c->blocks = 0;
    for (;;) {
        char nm[64];
        snprintf(nm, sizeof nm, "body.%d.conv1.weight", c->blocks);
        if (!sr_safetensors_has(st, nm) || c->blocks > 1024)
            break;
        c->blocks++;
    }
    c->out_channels = sr_safetensors_shape(st, "conv_last.weight", s) == 4 ? (int)s[0] : 0;
    int nup = 0;
    while (nup < GEN_MAX_UP) {
        char nm[64];
        snprintf(nm, sizeof nm, "upconv%d.weight", nup + 1);
        if (!sr_safetensors_has(st, nm))
            break;
        nup++;
    }
    c->scale = 0;
    if (nup == 1 && sr_safetensors_shape(st, "upconv1.weight", s) == 4 && c->channels)
        c->scale = s[0] == 9 * (int64_t)c->channels ? 3 : 2;
    else if (nup >= 2)
        c->scale = 1 << nup;
    int r;
    /* The ranges are sr_generator_config_check's; a scale in range but not
     * supported (5) is left to it, which names the supported ones. */
    if ((r = meta_int(st, "scale", 1, 64, &c->scale, err)) < 0)
        return -1;
    if (!r && meta_int(st, "upscale", 1, 64, &c->scale, err) < 0)
        return -1;
    if (meta_int(st, "num_block", 0, 1024, &c->blocks, err) < 0 ||
        meta_int(st, "num_feat", 1, 4096, &c->channels, err) < 0 ||
        meta_int(st, "num_in_ch", 1, 4, &c->in_channels, err) < 0 ||
        meta_int(st, "num_out_ch", 1, 4, &c->out_channels, err) < 0)
        return -1;
    const char *vr = sr_safetensors_meta(st, "value_range");
    if (vr) {
        char norm[64];
        size_t k = 0;
        for (const char *p = vr; *p && k + 1 < sizeof norm; p++)
            if (!isspace((unsigned char)*p) && *p != '[' && *p != ']' && *p != '(' &&
                *p != ')')
                norm[k++] = *p;
        norm[k] = 0;
        if (strcmp(norm, "0,1") && strcmp(norm, "0-1") && strcmp(norm, "0.0,1.0")) {
            sr_error_set(err, SR_ERR_UNSUPPORTED,
                         "%s: value_range '%.40s' not supported (models work on [0, 1])", path,
                         vr);
            return -1;
        }
    }
    sr_error cerr = {0};
    if (sr_generator_config_check(c, &cerr)) {
        sr_error_set(err, SR_ERR_WEIGHTS, "%s: %s", path, cerr.msg);
        return -1;
    }
    return 0;
}

/* BN of an SRResNet conv: fold when present (all four tensors). */
static int load_bn(const sr_safetensors *st, gen_conv *cv, const char *bn, float eps,
                   sr_error *err, int *used)
{
    char nm[4][96];
    const char *sfx[4] = {"weight", "bias", "running_mean", "running_var"};
    int present = 0;
    for (int i = 0; i < 4; i++) {
        snprintf(nm[i], sizeof nm[i], "%s.%s", bn, sfx[i]);
        present += sr_safetensors_has(st, nm[i]);
    }
    if (!present)
        return 0;
    if (present != 4) {
        sr_error_set(err, SR_ERR_WEIGHTS, "%s: batch norm '%s' incomplete (needs %s, %s, %s, %s)",
                     sr_safetensors_path(st), bn, sfx[0], sfx[1], sfx[2], sfx[3]);
        return -1;
    }
    const int C = cv->c.cout;
    float *buf = malloc(4 * (size_t)C * sizeof(float));
    if (!buf) {
        sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", sr_safetensors_path(st));
        return -1;
    }
    int64_t shp[1] = {C};
    for (int i = 0; i < 4; i++) {
        if (sr_safetensors_read(st, nm[i], 1, shp, buf + (size_t)i * C, err)) {
            free(buf);
            return -1;
        }
        used[i] = 1;
    }
    for (int i = 0; i < C; i++) {
        if (!(buf[3 * C + i] + eps > 0) || !isfinite(buf[3 * C + i])) {
            sr_error_set(err, SR_ERR_WEIGHTS, "%s: tensor '%s': variance not positive",
                         sr_safetensors_path(st), nm[3]);
            free(buf);
            return -1;
        }
    }
    sr_fold_batchnorm(&cv->c, buf, buf + C, buf + 2 * C, buf + 3 * C, eps);
    free(buf);
    return 1;
}

sr_generator *sr_generator_load(const char *path, sr_error *err)
{
    sr_safetensors *st = sr_safetensors_open(path, err);
    if (!st)
        return NULL;
    sr_generator *g = NULL;
    int *used = NULL;
    sr_generator_config cfg;
    if (read_config(st, &cfg, err))
        goto fail;
    /* PReLU alpha counts (SRResNet): from the file, 1 or num_feat each. */
    int nalpha[1 + 1024 + GEN_MAX_UP];
    if (cfg.arch == SR_ARCH_SRRESNET) {
        int na = 0, nup = cfg.scale == 8 ? 3 : cfg.scale == 4 ? 2 : 1;
        char nm[64];
        for (int i = 0; i < 1 + cfg.blocks + nup; i++) {
            if (i == 0)
                snprintf(nm, sizeof nm, "act_first.weight");
            else if (i <= cfg.blocks)
                snprintf(nm, sizeof nm, "body.%d.act.weight", i - 1);
            else
                snprintf(nm, sizeof nm, "act_up%d.weight", i - cfg.blocks);
            int64_t s[8];
            int nd = sr_safetensors_shape(st, nm, s);
            nalpha[na++] = nd == 1 && s[0] == cfg.channels ? cfg.channels : 1;
        }
    }
    /* The metadata decides the layout before any tensor is read: check that
     * the file could plausibly hold it before allocating, so a 1 KB file
     * claiming 1024 blocks x 4096 features is refused instead of allocating
     * a terabyte. Biases absent from files (convs followed by batch norm) are
     * what the slack is for. */
    g = build(&cfg, nalpha, 1, err);
    if (!g)
        goto fail;
    uint64_t need = 0;
    for (int i = 0; i < g->nparams; i++)
        need += g->params[i].numel;
    sr_generator_free(g);
    g = NULL;
    uint64_t have = sr_safetensors_data_bytes(st);
    /* Far more than the file holds (16x its F16 capacity): a lie, refused
     * here. A near miss (one wrong size) is left to the per-tensor shape
     * checks below, whose message names the tensor. */
    if (need > 8 * have + (uint64_t)(cfg.blocks + 8) * 4 * (uint64_t)cfg.channels) {
        sr_error_set(err, SR_ERR_WEIGHTS,
                     "%s: its metadata describes %d blocks x %d features (%llu parameters), more than "
                     "its %llu bytes of tensors hold", path, cfg.blocks, cfg.channels,
                     (unsigned long long)need, (unsigned long long)have);
        goto fail;
    }
    g = build(&cfg, nalpha, 0, err);
    if (!g)
        goto fail;
    const int nt = sr_safetensors_count(st);
    used = calloc((size_t)nt + 1, sizeof *used);
    if (!used) {
        sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    const int srr = cfg.arch == SR_ARCH_SRRESNET;
    for (int i = 0; i < g->nparams; i++) {
        sr_param *p = &g->params[i];
        size_t len = strlen(p->name);
        /* An SRResNet conv followed by BN may come without a bias. */
        int bias_optional = srr && len > 5 && !strcmp(p->name + len - 5, ".bias") &&
                            (strstr(p->name, ".conv1.") || strstr(p->name, ".conv2.") ||
                             !strncmp(p->name, "conv_body.", 10));
        if (bias_optional && !sr_safetensors_has(st, p->name))
            continue; /* stays zero */
        if (sr_safetensors_read(st, p->name, p->ndim, p->shape, p->data, err))
            goto fail;
        for (size_t k = 0; k < p->numel; k++) {
            if (!isfinite(p->data[k])) {
                sr_error_set(err, SR_ERR_WEIGHTS, "%s: tensor '%s' contains NaN or infinity",
                             path, p->name);
                goto fail;
            }
        }
    }
    for (int t = 0; t < nt; t++)
        used[t] = sr_generator_param_by_name(g, sr_safetensors_name(st, t)) != NULL;
    if (srr) {
        float eps = 1e-5f;
        const char *e = sr_safetensors_meta(st, "bn_eps");
        if (e) {
            char *end;
            double v = strtod(e, &end);
            if (end == e || *end || !(v > 0 && v < 1)) {
                sr_error_set(err, SR_ERR_WEIGHTS, "%s: metadata bn_eps '%.40s' is invalid", path,
                             e);
                goto fail;
            }
            eps = (float)v;
        }
        for (int i = 0; i <= 2 * cfg.blocks; i++) {
            char bn[64];
            gen_conv *cv;
            if (i == 2 * cfg.blocks) {
                snprintf(bn, sizeof bn, "bn_body");
                cv = &g->body;
            } else {
                snprintf(bn, sizeof bn, "body.%d.bn%d", i / 2, i % 2 + 1);
                cv = i % 2 ? &g->conv2[i / 2] : &g->conv1[i / 2];
            }
            int u[4] = {0};
            if (load_bn(st, cv, bn, eps, err, u) < 0)
                goto fail;
            if (u[0]) { /* mark the four BN tensors as used */
                for (int t = 0; t < nt; t++) {
                    const char *name = sr_safetensors_name(st, t);
                    size_t bl = strlen(bn);
                    if (!strncmp(name, bn, bl) && name[bl] == '.')
                        used[t] = 1;
                }
            }
        }
    }
    for (int t = 0; t < nt; t++) {
        if (!used[t]) {
            sr_error_set(err, SR_ERR_WEIGHTS,
                         "%s: tensor '%s' is not part of %s x%d with %d blocks of %d channels",
                         path, sr_safetensors_name(st, t), sr_arch_name(cfg.arch), cfg.scale,
                         cfg.blocks, cfg.channels);
            goto fail;
        }
    }
    for (int i = 0; i < sr_safetensors_meta_count(st); i++) {
        const char *k = sr_safetensors_meta_key(st, i);
        if (set_meta(g, k, sr_safetensors_meta(st, k))) {
            sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", path);
            goto fail;
        }
    }
    free(used);
    sr_safetensors_close(st);
    return g;
fail:
    free(used);
    sr_generator_free(g);
    sr_safetensors_close(st);
    return NULL;
}

/* ---- saving --------------------------------------------------------------- */

int sr_generator_save(const sr_generator *g, const char *path, const char *const *meta,
                      sr_error *err)
{
    sr_st_writer *w = sr_st_writer_new();
    if (!w) {
        sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", path);
        return -1;
    }
    /* loaded metadata, then the caller's, then the architecture (which wins) */
    for (int i = 0; i < g->nmeta; i++)
        sr_st_writer_meta(w, g->meta_keys[i], g->meta_vals[i]);
    for (int i = 0; meta && meta[i] && meta[i + 1]; i += 2)
        sr_st_writer_meta(w, meta[i], meta[i + 1]);
    char num[32];
    sr_st_writer_meta(w, "arch", sr_arch_name(g->cfg.arch));
    snprintf(num, sizeof num, "%d", g->cfg.scale);
    sr_st_writer_meta(w, "scale", num);
    snprintf(num, sizeof num, "%d", g->cfg.blocks);
    sr_st_writer_meta(w, "num_block", num);
    snprintf(num, sizeof num, "%d", g->cfg.channels);
    sr_st_writer_meta(w, "num_feat", num);
    snprintf(num, sizeof num, "%d", g->cfg.in_channels);
    sr_st_writer_meta(w, "num_in_ch", num);
    snprintf(num, sizeof num, "%d", g->cfg.out_channels);
    sr_st_writer_meta(w, "num_out_ch", num);
    sr_st_writer_meta(w, "value_range", "0,1");
    sr_st_writer_meta(w, "format", "srgan-up generator");
    for (int i = 0; i < g->nparams; i++)
        sr_st_writer_add(w, g->params[i].name, g->params[i].ndim, g->params[i].shape,
                         g->params[i].data);
    int rc = sr_st_writer_save(w, path, err);
    sr_st_writer_free(w);
    return rc;
}
