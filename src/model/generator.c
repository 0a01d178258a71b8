/* generator.c: what every architecture shares: the table of architectures,
 * building a generator's layer list (the architecture's build function in
 * arch_*.c makes it), initialisation, loading from and saving to
 * safetensors. The receptive field and buffer plans are in gen_build.c,
 * inference in gen_forward.c, training passes in gen_train.c. */
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

/* The one table of architectures: metadata, --arch, messages, detection
 * (tried in this order on files without "arch" metadata). */
static const gen_arch *const ARCHS[] = {&gen_arch_msrresnet, &gen_arch_srresnet,
                                        &gen_arch_srvgg, &gen_arch_rrdbnet, &gen_arch_edsr};
#define NARCH ((int)(sizeof ARCHS / sizeof *ARCHS))
static const gen_arch *const DETECT_ORDER[] = {&gen_arch_rrdbnet, &gen_arch_edsr,
                                               &gen_arch_srvgg, &gen_arch_srresnet,
                                               &gen_arch_msrresnet};

const gen_arch *gen_arch_get(sr_arch arch)
{
    for (int i = 0; i < NARCH; i++)
        if (ARCHS[i]->arch == arch)
            return ARCHS[i];
    return NULL;
}

const char *sr_arch_name(sr_arch arch)
{
    const gen_arch *a = gen_arch_get(arch);
    return a ? a->name : "unknown";
}

int sr_arch_parse(const char *name, sr_arch *arch)
{
    for (int i = 0; name && i < NARCH; i++)
        if (!strcasecmp(name, ARCHS[i]->name)) {
            *arch = ARCHS[i]->arch;
            return 0;
        }
    return -1;
}

const char *sr_arch_list(void)
{
    return "msrresnet, srresnet, srvgg, rrdbnet, edsr";
}

/* The architecture extras' defaults (BasicSR's / Real-ESRGAN's); the
 * extras an architecture does not have are zero, so that equal networks
 * have equal configurations. */
static void fill_defaults(sr_generator_config *c)
{
    if (c->arch != SR_ARCH_RRDBNET)
        c->grow = 0;
    else if (!c->grow)
        c->grow = 32;
    if (c->arch != SR_ARCH_SRVGG)
        c->act = SR_ACT_TYPE_PRELU;
    if (c->arch != SR_ARCH_EDSR) {
        c->res_scale = c->img_range = 0;
        memset(c->rgb_mean, 0, sizeof c->rgb_mean);
        return;
    }
    if (c->res_scale == 0)
        c->res_scale = 1;
    if (c->img_range == 0) {
        c->img_range = 255;
        if (!c->rgb_mean[0] && !c->rgb_mean[1] && !c->rgb_mean[2]) {
            c->rgb_mean[0] = 0.4488f;
            c->rgb_mean[1] = 0.4371f;
            c->rgb_mean[2] = 0.4040f;
        }
    }
}

int sr_generator_config_check(const sr_generator_config *c, sr_error *err)
{
    const gen_arch *a = gen_arch_get(c->arch);
    if (!a) {
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
    return a->check ? a->check(c, err) : 0;
}

/* ---- layout: the layer list of a configuration ---------------------------- */

static void free_params(sr_generator *g)
{
    for (int i = 0; i < g->nparams; i++)
        sr_free_floats(g->params[i].grad);
    sr_free_floats(g->param_block);
    g->param_block = NULL;
    free(g->params);
    g->params = NULL;
    g->nparams = g->capparams = 0;
}


void sr_generator_free(sr_generator *g)
{
    if (!g)
        return;
    for (int i = 0; i < g->nconv && g->convs; i++)
        sr_conv2d_release(&g->convs[i].c);
    free_params(g);
    free(g->convs);
    free(g->ops);
    free(g->vals);
    for (int i = 0; i < g->nmeta; i++) {
        free(g->meta_keys[i]);
        free(g->meta_vals[i]);
    }
    free(g->meta_keys);
    free(g->meta_vals);
    free(g);
}

/* Winograd weight transforms (sr_conv2d_prepare) for inference: every conv
 * of the list (those Winograd cannot run are left alone). Again after the
 * weights change (sr_generator_blend does it for the convs it finds
 * prepared). */
int sr_generator_prepare(sr_generator *g, sr_error *err)
{
    return sr_generator_prepare_precision(g, SR_PRECISION_FP32, err);
}

/* The same, with bf16 weights too (sr_conv2d_prepare_bf16) for the convs
 * bf16 takes when p resolves to BF16. */
int sr_generator_prepare_precision(sr_generator *g, sr_precision p, sr_error *err)
{
    const int bf16 = sr_precision_resolve(p) == SR_PRECISION_BF16;
    for (int i = 0; i < g->nconv; i++)
        if (bf16 ? sr_conv2d_prepare_bf16(&g->convs[i].c) : sr_conv2d_prepare(&g->convs[i].c)) {
            sr_error_set(err, SR_ERR_NOMEM, "generator: out of memory preparing the convs");
            return -1;
        }
    return 0;
}

/* Every param's storage in one zeroed block (each param 16-float aligned),
 * PReLU alphas at PyTorch's default 0.25. One block, not one allocation
 * per param: a 64x64 conv's 147 KB came from malloc and its pages were
 * faulted in one by one (about 1200 of a 256x256 x4 inference's 2200 page
 * faults, each costly on a VM). */
static int alloc_params(sr_generator *g)
{
    size_t total = 0;
    for (int i = 0; i < g->nparams; i++)
        total += (g->params[i].numel + 15) / 16 * 16;
    g->param_block = sr_alloc_floats(total);
    if (!g->param_block)
        return -1;
    float *p = g->param_block;
    for (int i = 0; i < g->nparams; i++) {
        g->params[i].data = p;
        p += (g->params[i].numel + 15) / 16 * 16;
    }
    for (int i = 0; i < g->nop; i++)
        if (g->ops[i].kind == OP_CONV && g->ops[i].act.kind == ACT_PRELU)
            for (int k = 0; k < g->ops[i].act.nalpha; k++)
                g->params[g->ops[i].act.param].data[k] = 0.25f;
    return 0;
}

void sr_generator_drop_fp32(sr_generator *g)
{
    for (int i = 0; i < g->nconv; i++)
        sr_conv2d_release_fp32(&g->convs[i].c);
}

/* Point the layers at their parameter storage (after all params exist:
 * the params array may move while it grows). */
static void wire(sr_generator *g)
{
    for (int i = 0; i < g->nconv; i++) {
        g->convs[i].c.weight = g->params[g->convs[i].param].data;
        g->convs[i].c.bias = g->params[g->convs[i].param + 1].data;
    }
    for (int i = 0; i < g->nop; i++)
        if (g->ops[i].kind == OP_CONV && g->ops[i].act.kind == ACT_PRELU)
            g->ops[i].act.alpha = g->params[g->ops[i].act.param].data;
}

/* st: the file being loaded (PReLU sizes), or NULL. */
static sr_generator *build(const sr_generator_config *cfg, const sr_safetensors *st,
                           int count_only, sr_error *err)
{
    if (sr_generator_config_check(cfg, err))
        return NULL;
    sr_generator *g = calloc(1, sizeof *g);
    if (!g)
        goto oom;
    g->cfg = *cfg;
    fill_defaults(&g->cfg);
    g->count_only = count_only;
    g->st = st;
    g->range = 1;
    g->align = 1;
    if (gb_input(g, cfg->in_channels) != 0 || gen_arch_get(cfg->arch)->build(g) || g->oom ||
        g->nop < 1)
        goto oom;
    g->st = NULL;
    if (!count_only && alloc_params(g))
        goto oom;
    g->output = g->ops[g->nop - 1].out;
    for (int v = 0; v < g->nval; v++)
        if (g->vals[v].den > g->align)
            g->align = g->vals[v].den;
    wire(g);
    if (gen_tail_check(g)) { /* an architecture whose tail gen_tail.c cannot run */
        sr_error_set(err, SR_ERR_UNSUPPORTED, "generator: %s's tail is not a chain of convs and upsamplings",
                     gen_arch_get(cfg->arch)->name);
        sr_generator_free(g);
        return NULL;
    }
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

sr_generator *sr_generator_new(const sr_generator_config *cfg, uint64_t seed, sr_error *err)
{
    sr_generator *g = build(cfg, NULL, 0, err);
    if (!g)
        return NULL;
    pcg32 r = pcg_seed(seed);
    /* BasicSR scales Kaiming by 0.1 so that the residual blocks start close
     * to the identity; the other convs use the same scale as BasicSR does.
     * Convs in the order the architecture made them. */
    const double s = 0.1;
    for (int i = 0; i < g->nconv; i++) {
        const sr_conv2d *c = &g->convs[i].c;
        if (g->convs[i].icnr)
            icnr(&r, c, g->convs[i].icnr, s);
        else
            kaiming(&r, c->weight, (size_t)c->cout * c->cin * c->kh * c->kw,
                    c->cin * c->kh * c->kw, s);
        memset(c->bias, 0, (size_t)c->cout * sizeof(float));
    }
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
int gen_meta_int(const sr_safetensors *st, const char *key, long lo, long hi, int *out,
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

/* A float metadata value in lo..hi; 1 (set), 0 (absent) or -1. */
int gen_meta_float(const sr_safetensors *st, const char *key, double lo, double hi, float *out,
                   sr_error *err)
{
    const char *v = sr_safetensors_meta(st, key);
    if (!v)
        return 0;
    char *end;
    double x = strtod(v, &end);
    while (isspace((unsigned char)*end))
        end++;
    if (end == v || *end || !(x >= lo && x <= hi)) {
        sr_error_set(err, SR_ERR_WEIGHTS, "%s: metadata %s = '%.40s' is not a number in %g..%g",
                     sr_safetensors_path(st), key, v, lo, hi);
        return -1;
    }
    *out = (float)x;
    return 1;
}

/* The architecture of a file without "arch" metadata, from its tensors. */
static const gen_arch *detect(const sr_safetensors *st, sr_error *err)
{
    for (size_t i = 0; i < sizeof DETECT_ORDER / sizeof *DETECT_ORDER; i++)
        if (DETECT_ORDER[i]->detect(st))
            return DETECT_ORDER[i];
    const char *first = sr_safetensors_count(st) ? sr_safetensors_name(st, 0) : "(none)";
    sr_error_set(err, SR_ERR_WEIGHTS, "%s: tensor '%.60s' does not fit any architecture (%s)",
                 sr_safetensors_path(st), first, sr_arch_list());
    return NULL;
}

/* The configuration: tensor shapes first, metadata over them. */
static int read_config(const sr_safetensors *st, sr_generator_config *c, sr_error *err)
{
    const char *path = sr_safetensors_path(st);
    memset(c, 0, sizeof *c);
    const char *arch = sr_safetensors_meta(st, "arch");
    const gen_arch *a;
    if (arch) {
        if (sr_arch_parse(arch, &c->arch)) {
            sr_error_set(err, SR_ERR_UNSUPPORTED, "%s: architecture '%.40s' not supported (%s)", path,
                         arch, sr_arch_list());
            return -1;
        }
        a = gen_arch_get(c->arch);
    } else {
        if (!(a = detect(st, err)))
            return -1;
        c->arch = a->arch;
    }
    if (a->infer(st, c, err))
        return -1;
    int r;
    /* The ranges are sr_generator_config_check's; a scale in range but not
     * supported (5) is left to it, which names the supported ones. */
    if ((r = gen_meta_int(st, "scale", 1, 64, &c->scale, err)) < 0)
        return -1;
    if (!r && gen_meta_int(st, "upscale", 1, 64, &c->scale, err) < 0)
        return -1;
    if (gen_meta_int(st, "num_block", 0, 1024, &c->blocks, err) < 0 ||
        gen_meta_int(st, "num_feat", 1, 4096, &c->channels, err) < 0 ||
        gen_meta_int(st, "num_in_ch", 1, 4, &c->in_channels, err) < 0 ||
        gen_meta_int(st, "num_out_ch", 1, 4, &c->out_channels, err) < 0)
        return -1;
    if (a->read_meta && a->read_meta(st, c, err))
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
    /* The metadata decides the layout before any tensor is read: check that
     * the file could plausibly hold it before allocating, so a 1 KB file
     * claiming 1024 blocks x 4096 features is refused instead of allocating
     * a terabyte. Biases absent from files (convs followed by batch norm) are
     * what the slack is for. */
    g = build(&cfg, st, 1, err);
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
    g = build(&cfg, st, 0, err);
    if (!g)
        goto fail;
    const int nt = sr_safetensors_count(st);
    used = calloc((size_t)nt + 1, sizeof *used);
    if (!used) {
        sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    for (int i = 0; i < g->nparams; i++) {
        sr_param *p = &g->params[i];
        /* a conv followed by batch norm may come without a bias */
        int bias_optional = 0;
        for (int k = 0; k < g->nconv; k++)
            if (g->convs[k].param + 1 == i && g->convs[k].bias_optional)
                bias_optional = 1;
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
    const gen_arch *a = gen_arch_get(cfg.arch);
    if (a->post_load && a->post_load(g, st, used, err))
        goto fail;
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

int sr_generator_describe(const char *path, sr_generator_config *cfg, size_t *params,
                          sr_error *err)
{
    sr_safetensors *st = sr_safetensors_open(path, err);
    if (!st)
        return -1;
    int rc = -1;
    if (!read_config(st, cfg, err)) {
        sr_generator *g = build(cfg, st, 1, err);
        if (g) {
            *params = 0;
            for (int i = 0; i < g->nparams; i++)
                *params += g->params[i].numel;
            *cfg = g->cfg;
            sr_generator_free(g);
            rc = 0;
        }
    }
    sr_safetensors_close(st);
    return rc;
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
    const gen_arch *a = gen_arch_get(g->cfg.arch);
    if (a->save_meta) {
        const char *kv[16];
        char buf[8][64];
        int n = a->save_meta(g, kv, buf);
        for (int i = 0; i < n; i++)
            sr_st_writer_meta(w, kv[2 * i], kv[2 * i + 1]);
    }
    sr_st_writer_meta(w, "value_range", "0,1");
    sr_st_writer_meta(w, "format", "srgan-up generator");
    for (int i = 0; i < g->nparams; i++)
        sr_st_writer_add(w, g->params[i].name, g->params[i].ndim, g->params[i].shape,
                         g->params[i].data);
    int rc = sr_st_writer_save(w, path, err);
    sr_st_writer_free(w);
    return rc;
}
