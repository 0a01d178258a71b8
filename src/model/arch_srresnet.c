/* arch_srresnet.c: the original SRGAN generator (Ledig et al. 2017).
 *
 *   conv_first 9x9 + PReLU (act_first)
 *   num_block x [body.N.conv1 - bn1 - PReLU (body.N.act) - conv2 - bn2 + identity]
 *   conv_body - bn_body + long skip from the head
 *   -- tail --
 *   pixel-shuffle stages upconvK with PReLU (act_upK) after the shuffle
 *   conv_last 9x9
 *
 * Batch norm is folded into the convs at load (post_load), so the network
 * that runs and trains is the folded one; a conv followed by BN may come
 * without a bias. PReLUs hold one shared alpha or one per channel, as the
 * file has them.
 */
#include "gen_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int detect(const sr_safetensors *st)
{
    return sr_safetensors_has(st, "conv_first.weight") &&
           sr_safetensors_has(st, "conv_body.weight");
}

static gb_act prelu(const char *name, int n)
{
    return (gb_act){ACT_PRELU, 0, name, n, 1};
}

static int build(sr_generator *g)
{
    const int C = g->cfg.channels;
    char nm[64], an[64];
    const int head = gb_conv(g, "conv_first", 0, -1, C, 9, prelu("act_first", C), -1);
    int f = head;
    for (int i = 0; i < g->cfg.blocks; i++) {
        snprintf(nm, sizeof nm, "body.%d.conv1", i);
        snprintf(an, sizeof an, "body.%d.act", i);
        int m = gb_conv(g, nm, f, -1, C, 3, prelu(an, C), -1);
        if (m >= 0)
            g->convs[g->nconv - 1].bias_optional = 1;
        snprintf(nm, sizeof nm, "body.%d.conv2", i);
        f = gb_conv(g, nm, m, -1, C, 3, GB_NONE, f);
        if (f >= 0)
            g->convs[g->nconv - 1].bias_optional = 1;
    }
    f = gb_conv(g, "conv_body", f, -1, C, 3, GB_NONE, head);
    if (f >= 0)
        g->convs[g->nconv - 1].bias_optional = 1;
    gb_split(g, f);
    int r, nup = gen_up_stages(g->cfg.scale, &r);
    for (int k = 0; k < nup; k++) {
        snprintf(nm, sizeof nm, "upconv%d", k + 1);
        snprintf(an, sizeof an, "act_up%d", k + 1);
        /* C alphas over C*r*r conv outputs: the PReLU after the shuffle */
        f = gb_shuffle(g, gb_conv(g, nm, f, -1, C * r * r, 3, prelu(an, C), -1), r);
    }
    gb_conv(g, "conv_last", f, -1, g->cfg.out_channels, 9, GB_NONE, -1);
    return g->oom ? -1 : 0;
}

/* BN of a conv: fold when present (all four tensors). */
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

static int post_load(sr_generator *g, const sr_safetensors *st, int *used, sr_error *err)
{
    const char *path = sr_safetensors_path(st);
    const int nt = sr_safetensors_count(st);
    float eps = 1e-5f;
    const char *e = sr_safetensors_meta(st, "bn_eps");
    if (e) {
        char *end;
        double v = strtod(e, &end);
        if (end == e || *end || !(v > 0 && v < 1)) {
            sr_error_set(err, SR_ERR_WEIGHTS, "%s: metadata bn_eps '%.40s' is invalid", path, e);
            return -1;
        }
        eps = (float)v;
    }
    for (int i = 0; i <= 2 * g->cfg.blocks; i++) {
        char bn[64], cn[64];
        if (i == 2 * g->cfg.blocks) {
            snprintf(bn, sizeof bn, "bn_body");
            snprintf(cn, sizeof cn, "conv_body");
        } else {
            snprintf(bn, sizeof bn, "body.%d.bn%d", i / 2, i % 2 + 1);
            snprintf(cn, sizeof cn, "body.%d.conv%d", i / 2, i % 2 + 1);
        }
        gen_conv *cv = gen_conv_by_name(g, cn);
        int u[4] = {0};
        if (!cv || load_bn(st, cv, bn, eps, err, u) < 0)
            return -1;
        if (u[0]) { /* mark the four BN tensors as used */
            for (int t = 0; t < nt; t++) {
                const char *name = sr_safetensors_name(st, t);
                size_t bl = strlen(bn);
                if (!strncmp(name, bn, bl) && name[bl] == '.')
                    used[t] = 1;
            }
        }
    }
    return 0;
}

const gen_arch gen_arch_srresnet = {
    .arch = SR_ARCH_SRRESNET,
    .name = "srresnet",
    .detect = detect,
    .infer = gen_infer_resnet,
    .build = build,
    .post_load = post_load,
};
