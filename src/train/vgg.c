/* vgg.c: VGG19 convolutions as a fixed feature extractor for the perceptual
 * loss: forward on SR and HR, backward to the SR input only (no weight
 * gradients: VGG is frozen), which is half the work of a full backward.
 *
 * Activations: ReLU runs in place (its backward needs only the sign of the
 * output), so one tensor per layer is kept; a selected pre-activation
 * feature is copied out before the ReLU. Layers deeper than the deepest
 * selected feature are never run. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "srgan/train.h"
#include "srgan/weights.h"

#define VGG_MAX 24

static const char *const VGG19_CFG = "64,64,M,128,128,M,256,256,256,256,M,512,512,512,512,M,"
                                     "512,512,512,512";

struct sr_vgg {
    int nlayers;              /* convs and pools, in order                */
    int conv_of[VGG_MAX];     /* conv index, or -1 for a pool              */
    int nconv;
    sr_conv2d conv[VGG_MAX];
    char name[VGG_MAX][32];   /* "conv1_1" per conv                        */
    int layer_of_conv[VGG_MAX];
    sr_vgg_input input;
    int bf16; /* forward and dx of the prepared convs in bf16 (AMX or vdpbf16ps) */
};

/* Parse a cfg; fill layers and names; widths into conv[].cin/cout. */
static int parse_cfg(sr_vgg *v, const char *cfg, int max_convs)
{
    int block = 1, inblock = 0, cin = 3;
    const char *p = cfg;
    while (*p && v->nconv < max_convs) {
        if (v->nlayers >= VGG_MAX) return -1;
        if (*p == 'M') {
            v->conv_of[v->nlayers++] = -1;
            block++;
            inblock = 0;
            p++;
        } else {
            char *e;
            long w = strtol(p, &e, 10);
            if (e == p || w <= 0 || w > 4096) return -1;
            p = e;
            int i = v->nconv++;
            v->conv[i] = (sr_conv2d){.cin = cin, .cout = (int)w, .kh = 3, .kw = 3,
                                     .stride = 1, .pad = 1};
            snprintf(v->name[i], sizeof v->name[i], "conv%d_%d", block, ++inblock);
            v->layer_of_conv[i] = v->nlayers;
            v->conv_of[v->nlayers++] = i;
            cin = (int)w;
        }
        if (*p == ',') p++;
        else if (*p) return -1;
    }
    return v->nconv > 0 ? 0 : -1;
}

static int alloc_weights(sr_vgg *v)
{
    for (int i = 0; i < v->nconv; i++) {
        sr_conv2d *c = &v->conv[i];
        c->weight = sr_alloc_floats((size_t)c->cout * c->cin * 9);
        c->bias = sr_alloc_floats((size_t)c->cout);
        if (!c->weight || !c->bias) return -1;
    }
    return 0;
}

void sr_vgg_free(sr_vgg *v)
{
    if (!v) return;
    for (int i = 0; i < v->nconv; i++) {
        sr_conv2d_release(&v->conv[i]);
        sr_free_floats(v->conv[i].weight);
        sr_free_floats(v->conv[i].bias);
    }
    free(v);
}

sr_vgg *sr_vgg_new_random(const char *cfg, sr_vgg_input conv, uint64_t seed, sr_error *err)
{
    sr_vgg *v = calloc(1, sizeof *v);
    if (!v || parse_cfg(v, cfg, VGG_MAX) || alloc_weights(v)) {
        sr_vgg_free(v);
        sr_error_set(err, SR_ERR_ARG, "vgg: bad layer list '%s'", cfg);
        return NULL;
    }
    v->input = conv;
    sr_rng r;
    for (int i = 0; i < v->nconv; i++) {
        sr_conv2d *c = &v->conv[i];
        sr_rng_seed(&r, seed, 2000 + (uint64_t)i);
        double sd = sqrt(2.0 / (c->cin * 9.0));
        for (size_t k = 0; k < (size_t)c->cout * c->cin * 9; k++)
            c->weight[k] = (float)(sd * sr_rng_normal(&r));
        for (int k = 0; k < c->cout; k++) c->bias[k] = (float)(0.1 * sr_rng_normal(&r));
    }
    return v;
}

/* torchvision features.K index of conv i for the VGG19 cfg */
static int torchvision_index(const sr_vgg *v, int ci)
{
    int k = 0;
    for (int l = 0; l < v->nlayers; l++) {
        if (v->conv_of[l] == ci) return k;
        k += v->conv_of[l] < 0 ? 1 : 2;
    }
    return -1;
}

sr_vgg *sr_vgg_load(const char *path, const char *last, int force, sr_error *err)
{
    sr_vgg *full = calloc(1, sizeof *full);
    if (!full) {
        sr_error_set(err, SR_ERR_NOMEM, "vgg: out of memory");
        return NULL;
    }
    parse_cfg(full, VGG19_CFG, VGG_MAX);
    int nconv = -1;
    for (int i = 0; i < full->nconv; i++)
        if (!strcmp(full->name[i], last)) nconv = i + 1;
    free(full);
    if (nconv < 0) {
        sr_error_set(err, SR_ERR_ARG, "vgg: no layer '%s' in VGG19 (conv1_1 .. conv5_4)", last);
        return NULL;
    }
    sr_safetensors *st = sr_safetensors_open(path, err);
    if (!st) return NULL;
    sr_vgg *v = calloc(1, sizeof *v);
    if (!v || parse_cfg(v, VGG19_CFG, nconv) || alloc_weights(v)) {
        sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    const char *conv = sr_safetensors_meta(st, "input");
    if (!conv) conv = sr_safetensors_meta(st, "convention");
    if (force >= 0) {
        v->input = (sr_vgg_input)force;
    } else if (!conv) {
        sr_error_set(err, SR_ERR_WEIGHTS,
                     "%s: no 'input' metadata saying caffe (BGR) or torchvision (RGB); "
                     "choose with --vgg-input", path);
        goto fail;
    } else if (!strncmp(conv, "BGR", 3) || strstr(conv, "caffe") || strstr(conv, "Caffe")) {
        v->input = SR_VGG_CAFFE;
    } else if (!strncmp(conv, "RGB", 3) || strstr(conv, "torchvision")) {
        v->input = SR_VGG_TORCHVISION;
    } else {
        sr_error_set(err, SR_ERR_WEIGHTS, "%s: unknown input convention '%s'", path, conv);
        goto fail;
    }
    for (int i = 0; i < v->nconv; i++) {
        sr_conv2d *c = &v->conv[i];
        char wn[64], bn[64];
        snprintf(wn, sizeof wn, "%s.weight", v->name[i]);
        snprintf(bn, sizeof bn, "%s.bias", v->name[i]);
        if (!sr_safetensors_has(st, wn)) {
            int k = torchvision_index(v, i);
            snprintf(wn, sizeof wn, "features.%d.weight", k);
            snprintf(bn, sizeof bn, "features.%d.bias", k);
        }
        int64_t ws[4] = {c->cout, c->cin, 3, 3}, bs[1] = {c->cout};
        if (sr_safetensors_read(st, wn, 4, ws, c->weight, err) ||
            sr_safetensors_read(st, bn, 1, bs, c->bias, err))
            goto fail;
    }
    sr_safetensors_close(st);
    return v;
fail:
    sr_safetensors_close(st);
    sr_vgg_free(v);
    return NULL;
}

sr_vgg_input sr_vgg_convention(const sr_vgg *v) { return v->input; }
int sr_vgg_conv_count(const sr_vgg *v) { return v->nconv; }
/* VGG's weights never change in training: its Winograd weights, for the
 * forward and for the backward's dx, are made once here instead of per
 * call, for the convs whose maps (for h x w inputs) are at least
 * VGG_WINO_MIN_MAP on each side. bench_conv train, one thread, GFLOP/s
 * (direct-equivalent): 512->512 at 16^2 Winograd 267 vs the AVX-512 direct
 * kernel 126, 256->256 at 32^2 361 vs 137; but at 8^2 (2 x 2 tiles, padded
 * to 16) 88, no better than im2col + sgemm (87), for 4x the weights' memory
 * (2 x 38 MB per 512 x 512 layer). */
#define VGG_WINO_MIN_MAP 16
int sr_vgg_prepare(sr_vgg *v, int h, int w)
{
    return sr_vgg_prepare_precision(v, h, w, 0);
}

int sr_vgg_prepare_precision(sr_vgg *v, int h, int w, int bf16)
{
    v->bf16 = bf16 && sr_bf16_train_supported();
    for (int l = 0; l < v->nlayers; l++) {
        const int ci = v->conv_of[l];
        if (ci < 0) {
            h /= 2, w /= 2;
            continue;
        }
        sr_conv2d *c = &v->conv[ci];
        sr_conv2d_release(c);
        /* the small maps' im2col GEMMs (vgg_impl) in bf16 too: in fp32 they
         * were 27 % of VGG's time in a bf16 GAN step on the Zen 5 VM */
        c->bf16_gemm = v->bf16 && (h < VGG_WINO_MIN_MAP || w < VGG_WINO_MIN_MAP);
        if (h < VGG_WINO_MIN_MAP || w < VGG_WINO_MIN_MAP) {
            if (sr_conv2d_prepare_gemm_bf16(c)) /* fixed weights: packed once */
                return -1;
            continue;
        }
        if (sr_conv2d_prepare(c) || sr_conv2d_prepare_backward(c) ||
            (v->bf16 && sr_conv2d_prepare_amx(c, 1)) ||
            (v->bf16 && sr_conv2d_prepare_backward_bf16(c))) /* no AMX: vdpbf16ps */
            return -1;
    }
    return 0;
}

/* The kernels of one VGG conv on an h x w map: prepared convs run
 * Winograd; maps of at most 8x8 (conv5 for 128 px patches) im2col +
 * sgemm, which beats the direct kernel there (16-wide vectors half empty
 * at width 8): 512->512 at 8^2, forward 87 vs 58 GFLOP/s, dx 93 vs 46;
 * the rest AUTO. */
static sr_conv_impl vgg_impl(const sr_conv2d *c, int h, int w)
{
    if (c->wino)
        return sr_conv2d_train_impl(c);
    return h * w <= 64 ? SR_CONV_GEMM : SR_CONV_AUTO;
}

sr_conv2d *sr_vgg_conv(sr_vgg *v, int i) { return i >= 0 && i < v->nconv ? &v->conv[i] : NULL; }

/* feature index = 2 * conv + (1 if after ReLU) */
int sr_vgg_feature_index(const sr_vgg *v, const char *name)
{
    int relu = !strncmp(name, "relu", 4);
    if (!relu && strncmp(name, "conv", 4)) return -1;
    for (int i = 0; i < v->nconv; i++)
        if (!strcmp(v->name[i] + 4, name + 4)) return 2 * i + relu;
    return -1;
}

int sr_percep_parse(const sr_vgg *v, const char *spec, sr_percep *p, sr_error *err)
{
    memset(p, 0, sizeof *p);
    const char *s = spec;
    while (*s) {
        char name[32];
        size_t n = strcspn(s, ":,");
        if (n == 0 || n >= sizeof name || p->n >= SR_VGG_MAX_FEATS) goto bad;
        memcpy(name, s, n);
        name[n] = 0;
        s += n;
        double w = 1.0;
        if (*s == ':') {
            char *e;
            w = strtod(s + 1, &e);
            if (e == s + 1) goto bad;
            s = e;
        }
        int f = sr_vgg_feature_index(v, name);
        if (f < 0) {
            sr_error_set(err, SR_ERR_ARG, "vgg layers: '%s' is not a loaded VGG layer "
                         "(convB_I or reluB_I up to %s)", name, v->name[v->nconv - 1]);
            return -1;
        }
        p->feat[p->n] = f;
        p->weight[p->n++] = w;
        if (*s == ',') s++;
        else if (*s) goto bad;
    }
    if (p->n == 0) goto bad;
    return 0;
bad:
    sr_error_set(err, SR_ERR_ARG, "vgg layers: cannot parse '%s' (e.g. conv5_4 or "
                 "conv3_4:0.5,conv5_4:1)", spec);
    return -1;
}

static const float CAFFE_MEAN_BGR[3] = {103.939f, 116.779f, 123.68f};
static const float TV_MEAN[3] = {0.485f, 0.456f, 0.406f};
static const float TV_STD[3] = {0.229f, 0.224f, 0.225f};

/* RGB [0,1] (or gray, replicated) -> network input [n, 3, h, w] */
static void preprocess(const sr_vgg *v, const sr_tensor *x, sr_tensor *y)
{
    size_t hw = (size_t)x->h * x->w;
    for (int b = 0; b < x->n; b++)
        for (int c = 0; c < 3; c++) {
            int src = x->c == 1 ? 0 : (v->input == SR_VGG_CAFFE ? 2 - c : c);
            const float *in = x->data + ((size_t)b * x->c + src) * hw;
            float *out = y->data + ((size_t)b * 3 + c) * hw;
            if (v->input == SR_VGG_CAFFE)
                for (size_t i = 0; i < hw; i++) out[i] = in[i] * 255.0f - CAFFE_MEAN_BGR[c];
            else
                for (size_t i = 0; i < hw; i++) out[i] = (in[i] - TV_MEAN[c]) / TV_STD[c];
        }
}

static void preprocess_backward(const sr_vgg *v, const sr_tensor *dy, sr_tensor *dx,
                                double scale)
{
    size_t hw = (size_t)dy->h * dy->w;
    memset(dx->data, 0, sr_tensor_numel(dx) * sizeof(float));
    for (int b = 0; b < dy->n; b++)
        for (int c = 0; c < 3; c++) {
            int dst = dx->c == 1 ? 0 : (v->input == SR_VGG_CAFFE ? 2 - c : c);
            float f = (float)(scale * (v->input == SR_VGG_CAFFE ? 255.0 : 1.0 / TV_STD[c]));
            const float *in = dy->data + ((size_t)b * 3 + c) * hw;
            float *out = dx->data + ((size_t)b * dx->c + dst) * hw;
            for (size_t i = 0; i < hw; i++) out[i] += f * in[i];
        }
}

typedef struct run {
    sr_tensor out[VGG_MAX];       /* layer outputs (post ReLU for convs)    */
    sr_tensor in0;                /* preprocessed input                     */
    sr_tensor feat[SR_VGG_MAX_FEATS];
    int nlayers;                  /* layers run                             */
} run;

static int deepest_layer(const sr_vgg *v, const sr_percep *p)
{
    int last = 0;
    for (int i = 0; i < p->n; i++) {
        int l = v->layer_of_conv[p->feat[i] / 2];
        if (l > last) last = l;
    }
    return last;
}

/* Does layer l need its ReLU (some selected feature lies after it)? */
static int needs_relu(const sr_vgg *v, const sr_percep *p, int l, int last)
{
    if (l < last) return 1;
    int ci = v->conv_of[l];
    for (int i = 0; i < p->n; i++)
        if (p->feat[i] == 2 * ci + 1) return 1;
    return 0;
}

static int forward(const sr_vgg *v, const sr_percep *p, sr_arena *a, const sr_tensor *x, run *r)
{
    int last = deepest_layer(v, p);
    r->in0 = sr_tensor_arena(a, x->n, 3, x->h, x->w);
    if (!r->in0.data) return -1;
    preprocess(v, x, &r->in0);
    const sr_tensor *cur = &r->in0;
    for (int l = 0; l <= last; l++) {
        int ci = v->conv_of[l];
        sr_tensor *y = &r->out[l];
        if (ci < 0) {
            *y = sr_tensor_arena(a, cur->n, cur->c, cur->h / 2, cur->w / 2);
            if (!y->data) return -1;
            sr_maxpool2_forward(cur, y);
        } else {
            const sr_conv2d *c = &v->conv[ci];
            *y = sr_tensor_arena(a, cur->n, c->cout, cur->h, cur->w);
            float *scratch = sr_arena_alloc(a, sr_conv2d_scratch_floats(c, cur) + 1);
            if (!y->data || !scratch) return -1;
            sr_conv2d_forward_impl(c, cur, y, scratch, vgg_impl(c, cur->h, cur->w));
            for (int i = 0; i < p->n; i++)
                if (p->feat[i] == 2 * ci) {
                    r->feat[i] = sr_tensor_arena(a, y->n, y->c, y->h, y->w);
                    if (!r->feat[i].data) return -1;
                    memcpy(r->feat[i].data, y->data, sr_tensor_numel(y) * sizeof(float));
                }
            if (needs_relu(v, p, l, last)) sr_relu_forward(y->data, y->data, sr_tensor_numel(y));
            for (int i = 0; i < p->n; i++)
                if (p->feat[i] == 2 * ci + 1) r->feat[i] = *y;
        }
        cur = y;
    }
    r->nlayers = last + 1;
    return 0;
}

int sr_percep_loss(const sr_vgg *v, const sr_percep *p, sr_arena *a, const sr_tensor *sr,
                   const sr_tensor *hr, double *loss, sr_tensor *dsr, double scale,
                   sr_error *err)
{
    run rs, rh;
    memset(&rs, 0, sizeof rs);
    memset(&rh, 0, sizeof rh);
    if (sr->c != hr->c || sr->h != hr->h || sr->w != hr->w || sr->n != hr->n ||
        (sr->c != 3 && sr->c != 1)) {
        sr_error_set(err, SR_ERR_ARG, "perceptual loss: SR and HR shapes differ or not RGB/gray");
        return -1;
    }
    if (forward(v, p, a, hr, &rh) || forward(v, p, a, sr, &rs)) goto full;
    /* loss and gradients at the selected features */
    sr_tensor dfeat[SR_VGG_MAX_FEATS];
    double total = 0;
    for (int i = 0; i < p->n; i++) {
        size_t n = sr_tensor_numel(&rs.feat[i]);
        dfeat[i] = rs.feat[i];
        dfeat[i].data = dsr ? sr_arena_alloc(a, n) : NULL;
        if (dsr && !dfeat[i].data) goto full;
        double w = p->weight[i];
        total += w * (p->l2 ? sr_loss_mse(rs.feat[i].data, rh.feat[i].data, n, dfeat[i].data, w)
                            : sr_loss_l1(rs.feat[i].data, rh.feat[i].data, n, dfeat[i].data, w));
    }
    *loss = total;
    if (!dsr) return 0;
    /* backward: g is the gradient w.r.t. the current layer's output */
    sr_tensor g = {0};
    for (int l = rs.nlayers - 1; l >= 0; l--) {
        int ci = v->conv_of[l];
        const sr_tensor *in = l ? &rs.out[l - 1] : &rs.in0;
        sr_tensor *y = &rs.out[l];
        if (ci >= 0) {
            for (int i = 0; i < p->n; i++)
                if (p->feat[i] == 2 * ci + 1) {
                    if (!g.data) {
                        g = dfeat[i];
                    } else {
                        sr_axpy(1.0f, dfeat[i].data, g.data, sr_tensor_numel(&g));
                    }
                }
            if (g.data && needs_relu(v, p, l, rs.nlayers - 1))
                sr_relu_backward(y->data, g.data, g.data, sr_tensor_numel(&g));
            for (int i = 0; i < p->n; i++)
                if (p->feat[i] == 2 * ci) {
                    if (!g.data) g = dfeat[i];
                    else sr_axpy(1.0f, dfeat[i].data, g.data, sr_tensor_numel(&g));
                }
            if (!g.data) continue;
            const sr_conv2d *c = &v->conv[ci];
            sr_tensor dx = sr_tensor_arena(a, in->n, in->c, in->h, in->w);
            float *scratch = sr_arena_alloc(a, sr_conv2d_scratch_floats(c, in) + 1);
            if (!dx.data || !scratch) goto full;
            if (c->amx || c->wino_dx_bf16) { /* bf16: dx on AMX, or by vdpbf16ps */
                sr_conv2d_bwd b;
                sr_conv2d_backward_begin_bf16(&b, c, NULL, NULL, scratch);
                sr_conv2d_backward_add(&b, in, &g, &dx);
                sr_conv2d_backward_end(&b);
            } else {
                sr_conv2d_backward_impl(c, in, &g, &dx, NULL, NULL, scratch,
                                        vgg_impl(c, in->h, in->w));
            }
            g = dx;
        } else if (g.data) {
            sr_tensor dx = sr_tensor_arena(a, in->n, in->c, in->h, in->w);
            if (!dx.data) goto full;
            sr_maxpool2_backward(in, &g, &dx);
            g = dx;
        }
    }
    preprocess_backward(v, &g, dsr, scale);
    return 0;
full:
    sr_error_set(err, SR_ERR_NOMEM, "perceptual loss: arena too small");
    return -1;
}

static size_t fl(size_t n) { return (n + 16) & ~(size_t)15; }

size_t sr_percep_arena_bytes(const sr_vgg *v, const sr_percep *p, int n, int h, int w)
{
    size_t total = 0;
    int last = deepest_layer(v, p);
    /* per pass: input, all outputs, feature copies, scratch; backward
     * allocates at most one dx per layer plus scratch. */
    for (int pass = 0; pass < 2; pass++) {
        int c = 3, hh = h, ww = w;
        total += fl((size_t)n * 3 * h * w);
        for (int l = 0; l <= last; l++) {
            int ci = v->conv_of[l];
            sr_tensor in = {n, c, hh, ww, NULL};
            if (ci < 0) {
                hh /= 2, ww /= 2;
            } else {
                total += fl(sr_conv2d_scratch_floats(&v->conv[ci], &in) + 1);
                c = v->conv[ci].cout;
                total += pass ? 2 * fl(sr_conv2d_scratch_floats(&v->conv[ci], &in) + 1) : 0;
            }
            size_t out = fl((size_t)n * c * hh * ww);
            total += out * (pass ? 3 : 2); /* output, dx, feature copies */
        }
    }
    return total * sizeof(float) + (1 << 20);
}
