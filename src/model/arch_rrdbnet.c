/* arch_rrdbnet.c: ESRGAN's / Real-ESRGAN's RRDBNet (RealESRGAN_x4plus,
 * RealESRGAN_x2plus, ESRGAN).
 *
 *   x2: pixel unshuffle by 2 first (num_in_ch * 4 channels into conv_first)
 *   conv_first 3x3
 *   num_block x RRDB: three residual dense blocks body.N.rdbK (K = 1..3),
 *     each conv1..conv5 (3x3, growth num_grow_ch, LReLU(0.2) after 1..4,
 *     every conv reading the block input and all earlier outputs
 *     concatenated), x5 * 0.2 + x; then the RRDB's out * 0.2 + x
 *   conv_body + long skip from conv_first
 *   -- tail --
 *   two x [nearest x2 upsampling, conv_up1 / conv_up2 + LReLU(0.2)]
 *   conv_hr + LReLU(0.2), conv_last
 *
 * A dense block's input and outputs are channel slices of one value, so the
 * concatenations cost nothing; each block's output is written straight into
 * the first channels of the next block's value.
 */
#include "gen_internal.h"

#include <stdio.h>

#define SLOPE 0.2f

static int detect(const sr_safetensors *st)
{
    return sr_safetensors_has(st, "body.0.rdb1.conv1.weight") ||
           (sr_safetensors_has(st, "conv_up1.weight") && sr_safetensors_has(st, "conv_body.weight"));
}

static int infer(const sr_safetensors *st, sr_generator_config *c, sr_error *err)
{
    int64_t s[8];
    if (gen_required_conv(st, "conv_first.weight", s, err))
        return -1;
    c->channels = (int)s[0];
    const int cin = (int)s[1];
    c->blocks = gen_count(st, "body.%d.rdb1.conv1.weight", 1024);
    if (sr_safetensors_shape(st, "body.0.rdb1.conv1.weight", s) == 4)
        c->grow = (int)s[0];
    c->out_channels = sr_safetensors_shape(st, "conv_last.weight", s) == 4 ? (int)s[0] : 0;
    /* x2 unshuffles: four times the output's channels go into conv_first */
    c->scale = c->out_channels && cin == 4 * c->out_channels ? 2 : 4;
    c->in_channels = c->scale == 2 ? cin / 4 : cin;
    return 0;
}

static int read_meta(const sr_safetensors *st, sr_generator_config *c, sr_error *err)
{
    return gen_meta_int(st, "num_grow_ch", 1, 4096, &c->grow, err) < 0 ? -1 : 0;
}

static int check(const sr_generator_config *c, sr_error *err)
{
    if (c->scale != 2 && c->scale != 4) {
        sr_error_set(err, SR_ERR_ARG, "generator: rrdbnet supports x2 and x4, not x%d", c->scale);
        return -1;
    }
    return 0;
}

static int build(sr_generator *g)
{
    const int C = g->cfg.channels, G = g->cfg.grow, D = C + 4 * G;
    char nm[64];
    int x = 0;
    if (g->cfg.scale == 2)
        x = gb_unshuffle(g, x, 2);
    if (x < 0)
        return -1;
    const int num = g->vals[x].num, den = g->vals[x].den;
    /* the dense value of the first block holds conv_first's output */
    int dense = gb_root(g, D, num, den);
    const int feat = gb_conv(g, "conv_first", x, gb_slice(g, dense, 0, C), C, 3, GB_NONE, -1);
    int cur = feat;
    for (int i = 0; i < g->cfg.blocks; i++) {
        const int rrdb_in = cur;
        int o = -1;
        for (int k = 1; k <= 3; k++) {
            const int in = cur;
            for (int j = 1; j <= 4; j++) {
                snprintf(nm, sizeof nm, "body.%d.rdb%d.conv%d", i, k, j);
                gb_conv(g, nm, gb_slice(g, dense, 0, C + (j - 1) * G),
                        gb_slice(g, dense, C + (j - 1) * G, G), G, 3, GB_LRELU(SLOPE), -1);
            }
            snprintf(nm, sizeof nm, "body.%d.rdb%d.conv5", i, k);
            int x5 = gb_conv(g, nm, gb_slice(g, dense, 0, D), -1, C, 3, GB_NONE, -1);
            if (k < 3) { /* into the next dense block's input channels */
                dense = gb_root(g, D, num, den);
                cur = gb_scale_add(g, x5, 0.2f, in, gb_slice(g, dense, 0, C));
            } else {
                o = gb_scale_add(g, x5, 0.2f, in, -1);
            }
        }
        if (i + 1 < g->cfg.blocks) {
            dense = gb_root(g, D, num, den);
            cur = gb_scale_add(g, o, 0.2f, rrdb_in, gb_slice(g, dense, 0, C));
        } else {
            cur = gb_scale_add(g, o, 0.2f, rrdb_in, -1);
        }
    }
    int f = gb_conv(g, "conv_body", cur, -1, C, 3, GB_NONE, feat);
    gb_split(g, f);
    f = gb_conv(g, "conv_up1", gb_upnearest(g, f, 2), -1, C, 3, GB_LRELU(SLOPE), -1);
    f = gb_conv(g, "conv_up2", gb_upnearest(g, f, 2), -1, C, 3, GB_LRELU(SLOPE), -1);
    f = gb_conv(g, "conv_hr", f, -1, C, 3, GB_LRELU(SLOPE), -1);
    gb_conv(g, "conv_last", f, -1, g->cfg.out_channels, 3, GB_NONE, -1);
    return g->oom ? -1 : 0;
}

static int save_meta(const sr_generator *g, const char *kv[16], char buf[8][64])
{
    snprintf(buf[0], 64, "%d", g->cfg.grow);
    kv[0] = "num_grow_ch";
    kv[1] = buf[0];
    return 1;
}

const gen_arch gen_arch_rrdbnet = {
    .arch = SR_ARCH_RRDBNET,
    .name = "rrdbnet",
    .detect = detect,
    .infer = infer,
    .read_meta = read_meta,
    .check = check,
    .build = build,
    .save_meta = save_meta,
};
