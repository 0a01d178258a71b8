/* arch_msrresnet.c: BasicSR's MSRResNet (the default architecture).
 *
 *   conv_first 3x3 + LReLU(0.1)
 *   num_block x [body.N.conv1 3x3 - ReLU - body.N.conv2 3x3 + identity]
 *   -- tail --
 *   pixel-shuffle stages upconv1[, upconv2[, upconv3]] + LReLU(0.1)
 *   conv_hr 3x3 + LReLU(0.1), conv_last 3x3
 *   + bilinear upsampling of the input (global skip)
 */
#include "gen_internal.h"

#include <stdio.h>

#define SLOPE 0.1f

static int detect(const sr_safetensors *st)
{
    return sr_safetensors_has(st, "conv_first.weight");
}

/* Shapes: conv_first gives features and input channels, conv_last the
 * output channels, the upconvs the scale. */
int gen_infer_resnet(const sr_safetensors *st, sr_generator_config *c, sr_error *err)
{
    int64_t s[8];
    if (gen_required_conv(st, "conv_first.weight", s, err))
        return -1;
    c->channels = (int)s[0];
    c->in_channels = (int)s[1];
    c->blocks = gen_count(st, "body.%d.conv1.weight", 1024);
    c->out_channels = sr_safetensors_shape(st, "conv_last.weight", s) == 4 ? (int)s[0] : 0;
    int nup = 0;
    while (nup < 3) {
        char nm[32];
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
    return 0;
}

static int check(const sr_generator_config *c, sr_error *err)
{
    if (c->in_channels != c->out_channels) {
        sr_error_set(err, SR_ERR_ARG,
                     "generator: msrresnet needs as many output as input channels (global skip)");
        return -1;
    }
    return 0;
}

static int build(sr_generator *g)
{
    const int C = g->cfg.channels;
    char nm[64];
    int f = gb_conv(g, "conv_first", 0, -1, C, 3, GB_LRELU(SLOPE), -1);
    for (int i = 0; i < g->cfg.blocks; i++) {
        snprintf(nm, sizeof nm, "body.%d.conv1", i);
        int m = gb_conv(g, nm, f, -1, C, 3, GB_RELU, -1);
        snprintf(nm, sizeof nm, "body.%d.conv2", i);
        f = gb_conv(g, nm, m, -1, C, 3, GB_NONE, f);
    }
    gb_split(g, f);
    int r, nup = gen_up_stages(g->cfg.scale, &r);
    for (int k = 0; k < nup; k++) {
        snprintf(nm, sizeof nm, "upconv%d", k + 1);
        f = gb_shuffle(g, gb_conv(g, nm, f, -1, C * r * r, 3, GB_LRELU(SLOPE), -1), r);
    }
    f = gb_conv(g, "conv_hr", f, -1, C, 3, GB_LRELU(SLOPE), -1);
    gb_conv(g, "conv_last", f, -1, g->cfg.out_channels, 3, GB_NONE, -1);
    g->skip = 1;
    g->skip_mode = SR_INTERP_BILINEAR;
    return g->oom ? -1 : 0;
}

const gen_arch gen_arch_msrresnet = {
    .arch = SR_ARCH_MSRRESNET,
    .name = "msrresnet",
    .detect = detect,
    .infer = gen_infer_resnet,
    .check = check,
    .build = build,
};
