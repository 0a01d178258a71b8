/* arch_srvgg.c: Real-ESRGAN's SRVGGNetCompact (realesr-general-x4v3,
 * realesr-animevideov3): a plain VGG-style stack at input resolution.
 *
 *   body.0 conv 3x3 in -> feat, body.1 activation
 *   num_conv x [body.(2+2i) conv 3x3 feat -> feat, body.(3+2i) activation]
 *   -- tail --
 *   body.(2+2*num_conv) conv 3x3 feat -> out * s * s, pixel shuffle by s
 *   + nearest upsampling of the input (global skip)
 *
 * act_type: prelu (per channel, tensor body.N.weight), relu, or leakyrelu
 * (slope 0.1). Convs and activations share the body.N numbering, as in
 * Real-ESRGAN's nn.ModuleList, so its checkpoints load unchanged.
 */
#include "gen_internal.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static int detect(const sr_safetensors *st)
{
    return !sr_safetensors_has(st, "conv_first.weight") &&
           sr_safetensors_shape(st, "body.0.weight", (int64_t[8]){0}) == 4;
}

static int infer(const sr_safetensors *st, sr_generator_config *c, sr_error *err)
{
    int64_t s[8];
    if (gen_required_conv(st, "body.0.weight", s, err))
        return -1;
    c->channels = (int)s[0];
    c->in_channels = (int)s[1];
    /* the last conv is the last even body.N holding a 4-D weight */
    int last = 0;
    for (int n = 2; n < 2 * 1024 + 4; n += 2) {
        char nm[32];
        snprintf(nm, sizeof nm, "body.%d.weight", n);
        if (sr_safetensors_shape(st, nm, s) != 4)
            break;
        last = n;
    }
    c->blocks = last >= 2 ? (last - 2) / 2 : 0;
    c->act = sr_safetensors_has(st, "body.1.weight") ? SR_ACT_TYPE_PRELU : SR_ACT_TYPE_RELU;
    char nm[32];
    snprintf(nm, sizeof nm, "body.%d.weight", last);
    if (last && sr_safetensors_shape(st, nm, s) == 4) {
        /* out * s * s channels: three output channels when that divides */
        static const int sq[] = {4, 9, 16, 64};
        for (int oc = 3; oc >= 1 && !c->scale; oc -= 2)
            for (int k = 0; k < 4; k++)
                if (s[0] == (int64_t)oc * sq[k]) {
                    c->out_channels = oc;
                    c->scale = k == 0 ? 2 : k == 1 ? 3 : k == 2 ? 4 : 8;
                }
    }
    return 0;
}

static int read_meta(const sr_safetensors *st, sr_generator_config *c, sr_error *err)
{
    if (gen_meta_int(st, "num_conv", 0, 1024, &c->blocks, err) < 0)
        return -1;
    const char *a = sr_safetensors_meta(st, "act_type");
    if (a) {
        if (!strcasecmp(a, "prelu"))
            c->act = SR_ACT_TYPE_PRELU;
        else if (!strcasecmp(a, "relu"))
            c->act = SR_ACT_TYPE_RELU;
        else if (!strcasecmp(a, "leakyrelu"))
            c->act = SR_ACT_TYPE_LEAKYRELU;
        else {
            sr_error_set(err, SR_ERR_UNSUPPORTED,
                         "%s: act_type '%.20s' not supported (relu, prelu, leakyrelu)",
                         sr_safetensors_path(st), a);
            return -1;
        }
    }
    return 0;
}

static gb_act act(const sr_generator *g, const char *name)
{
    switch (g->cfg.act) {
    case SR_ACT_TYPE_RELU: return GB_RELU;
    case SR_ACT_TYPE_LEAKYRELU: return GB_LRELU(0.1f);
    default: return (gb_act){ACT_PRELU, 0, name, g->cfg.channels, 0};
    }
}

static int build(sr_generator *g)
{
    const int C = g->cfg.channels, s = g->cfg.scale;
    char nm[32], an[32];
    int f = 0, n = 0;
    for (int i = 0; i <= g->cfg.blocks; i++, n += 2) {
        snprintf(nm, sizeof nm, "body.%d", n);
        snprintf(an, sizeof an, "body.%d", n + 1);
        f = gb_conv(g, nm, f, -1, C, 3, act(g, an), -1);
    }
    gb_split(g, f);
    snprintf(nm, sizeof nm, "body.%d", n);
    gb_shuffle(g, gb_conv(g, nm, f, -1, g->cfg.out_channels * s * s, 3, GB_NONE, -1), s);
    g->skip = 1;
    g->skip_mode = SR_INTERP_NEAREST;
    return g->oom ? -1 : 0;
}

static int check(const sr_generator_config *c, sr_error *err)
{
    if (c->in_channels != c->out_channels) {
        sr_error_set(err, SR_ERR_ARG,
                     "generator: srvgg needs as many output as input channels (global skip)");
        return -1;
    }
    return 0;
}

static int save_meta(const sr_generator *g, const char *kv[16], char buf[8][64])
{
    static const char *const names[] = {"prelu", "relu", "leakyrelu"};
    snprintf(buf[0], 64, "%d", g->cfg.blocks);
    snprintf(buf[1], 64, "%d", g->cfg.scale);
    kv[0] = "num_conv";
    kv[1] = buf[0];
    kv[2] = "upscale";
    kv[3] = buf[1];
    kv[4] = "act_type";
    kv[5] = names[g->cfg.act];
    return 3;
}

const gen_arch gen_arch_srvgg = {
    .arch = SR_ARCH_SRVGG,
    .name = "srvgg",
    .detect = detect,
    .infer = infer,
    .read_meta = read_meta,
    .check = check,
    .build = build,
    .save_meta = save_meta,
};
