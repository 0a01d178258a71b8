/* arch_edsr.c: BasicSR's EDSR (Lim et al. 2017).
 *
 *   x' = (x - rgb_mean) * img_range
 *   conv_first 3x3
 *   num_block x [body.N.conv1 - ReLU - body.N.conv2, * res_scale, + identity]
 *   conv_after_body + long skip from conv_first
 *   -- tail --
 *   upsample: per x2 stage upsample.(2k) conv to 4 * feat + shuffle by 2
 *     (x3: upsample.0 to 9 * feat + shuffle by 3)
 *   conv_last; y = y' / img_range + rgb_mean
 */
#include "gen_internal.h"

#include <stdio.h>
#include <stdlib.h>

static int detect(const sr_safetensors *st)
{
    return sr_safetensors_has(st, "conv_after_body.weight");
}

static int infer(const sr_safetensors *st, sr_generator_config *c, sr_error *err)
{
    int64_t s[8];
    if (gen_required_conv(st, "conv_first.weight", s, err))
        return -1;
    c->channels = (int)s[0];
    c->in_channels = (int)s[1];
    c->blocks = gen_count(st, "body.%d.conv1.weight", 1024);
    c->out_channels = sr_safetensors_shape(st, "conv_last.weight", s) == 4 ? (int)s[0] : 0;
    int nup = 0;
    while (nup < 4) {
        char nm[32];
        snprintf(nm, sizeof nm, "upsample.%d.weight", 2 * nup);
        if (!sr_safetensors_has(st, nm))
            break;
        nup++;
    }
    c->scale = nup == 1 && sr_safetensors_shape(st, "upsample.0.weight", s) == 4 &&
                       s[0] == 9 * (int64_t)c->channels
                   ? 3
                   : 1 << nup;
    return 0;
}

/* rgb_mean as BasicSR writes it: "[0.4488, 0.4371, 0.4040]" or "0.4488,0.4371,0.4040". */
static int read_meta(const sr_safetensors *st, sr_generator_config *c, sr_error *err)
{
    if (gen_meta_float(st, "res_scale", 0, 100, &c->res_scale, err) < 0 ||
        gen_meta_float(st, "img_range", 1e-6, 1e6, &c->img_range, err) < 0)
        return -1;
    const char *m = sr_safetensors_meta(st, "rgb_mean");
    if (m) {
        const char *p = m;
        for (int k = 0; k < 3; k++) {
            while (*p == '[' || *p == '(' || *p == ',' || *p == ' ')
                p++;
            char *end;
            double v = strtod(p, &end);
            if (end == p || !(v >= -1e6 && v <= 1e6)) {
                sr_error_set(err, SR_ERR_WEIGHTS, "%s: metadata rgb_mean = '%.40s' is not three numbers",
                             sr_safetensors_path(st), m);
                return -1;
            }
            c->rgb_mean[k] = (float)v;
            p = end;
        }
    }
    if (!c->img_range) /* BasicSR's default range, with the mean given or DIV2K's */
        c->img_range = 255;
    if (!m) {
        c->rgb_mean[0] = 0.4488f;
        c->rgb_mean[1] = 0.4371f;
        c->rgb_mean[2] = 0.4040f;
    }
    return 0;
}

static int build(sr_generator *g)
{
    const int C = g->cfg.channels;
    char nm[64];
    const int head = gb_conv(g, "conv_first", 0, -1, C, 3, GB_NONE, -1);
    int f = head;
    for (int i = 0; i < g->cfg.blocks; i++) {
        snprintf(nm, sizeof nm, "body.%d.conv1", i);
        int m = gb_conv(g, nm, f, -1, C, 3, GB_RELU, -1);
        snprintf(nm, sizeof nm, "body.%d.conv2", i);
        if (g->cfg.res_scale == 1) /* x * 1 is exact: the residual in the conv's store */
            f = gb_conv(g, nm, m, -1, C, 3, GB_NONE, f);
        else
            f = gb_scale_add(g, gb_conv(g, nm, m, -1, C, 3, GB_NONE, -1), g->cfg.res_scale, f, -1);
    }
    f = gb_conv(g, "conv_after_body", f, -1, C, 3, GB_NONE, head);
    gb_split(g, f);
    int r, nup = gen_up_stages(g->cfg.scale, &r);
    for (int k = 0; k < nup; k++) {
        snprintf(nm, sizeof nm, "upsample.%d", 2 * k);
        f = gb_shuffle(g, gb_conv(g, nm, f, -1, C * r * r, 3, GB_NONE, -1), r);
    }
    gb_conv(g, "conv_last", f, -1, g->cfg.out_channels, 3, GB_NONE, -1);
    g->mean_shift = 1;
    g->range = g->cfg.img_range;
    for (int c = 0; c < 4; c++)
        g->mean[c] = g->cfg.rgb_mean[c < 3 ? c : 0];
    if (g->cfg.in_channels == 1) /* one channel: the luma-like first mean */
        g->mean[0] = g->cfg.rgb_mean[0];
    return g->oom ? -1 : 0;
}

static int save_meta(const sr_generator *g, const char *kv[16], char buf[8][64])
{
    snprintf(buf[0], 64, "%d", g->cfg.scale);
    snprintf(buf[1], 64, "%.9g", g->cfg.res_scale);
    snprintf(buf[2], 64, "%.9g", g->cfg.img_range);
    snprintf(buf[3], 64, "%.9g,%.9g,%.9g", g->cfg.rgb_mean[0], g->cfg.rgb_mean[1],
             g->cfg.rgb_mean[2]);
    kv[0] = "upscale";
    kv[1] = buf[0];
    kv[2] = "res_scale";
    kv[3] = buf[1];
    kv[4] = "img_range";
    kv[5] = buf[2];
    kv[6] = "rgb_mean";
    kv[7] = buf[3];
    return 4;
}

const gen_arch gen_arch_edsr = {
    .arch = SR_ARCH_EDSR,
    .name = "edsr",
    .detect = detect,
    .infer = infer,
    .read_meta = read_meta,
    .build = build,
    .save_meta = save_meta,
};
