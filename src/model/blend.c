/* blend.c: network interpolation of two generators (ESRGAN section 3.4;
 * Real-ESRGAN's denoise strength for realesr-general-x4v3).
 *
 * Every parameter becomes s * g + (1 - s) * other. Both must have the same
 * architecture and tensor shapes; in practice `other` is the model `g` was
 * fine-tuned from, so the two sit in one basin of the loss and the blend is a
 * model in its own right (blending unrelated models gives noise). s = 1
 * leaves g bit for bit unchanged and s = 0 copies other exactly: the two end
 * points are the two models, which the tests rely on.
 *
 * Winograd: convs of g that were prepared (sr_generator_prepare) before the
 * blend hold transforms of the old weights; they are transformed again from
 * the blended weights, so the blend may come before or after preparing (the
 * CLI blends first, then prepares once). */
#include "gen_internal.h"

#include <string.h>

int sr_generator_blend(sr_generator *g, const sr_generator *other, float s, sr_error *err)
{
    if (!(s >= 0.0f && s <= 1.0f)) {
        sr_error_set(err, SR_ERR_ARG, "blend weight %g is not in 0..1", (double)s);
        return -1;
    }
    const sr_generator_config *a = sr_generator_get_config(g), *b = sr_generator_get_config(other);
    if (a->arch != b->arch || a->scale != b->scale || a->blocks != b->blocks ||
        a->channels != b->channels || a->in_channels != b->in_channels ||
        a->out_channels != b->out_channels || a->grow != b->grow || a->act != b->act ||
        a->res_scale != b->res_scale || a->img_range != b->img_range ||
        memcmp(a->rgb_mean, b->rgb_mean, sizeof a->rgb_mean)) {
        sr_error_set(err, SR_ERR_ARG, "models differ in architecture (%s x%d %dx%d against %s x%d %dx%d)",
                     sr_arch_name(a->arch), a->scale, a->blocks, a->channels, sr_arch_name(b->arch),
                     b->scale, b->blocks, b->channels);
        return -1;
    }
    sr_generator *o = (sr_generator *)other; /* read only: the accessor is not const */
    int n = sr_generator_param_count(g);
    if (n != sr_generator_param_count(o)) {
        sr_error_set(err, SR_ERR_ARG, "models have %d and %d tensors", n, sr_generator_param_count(o));
        return -1;
    }
    for (int i = 0; i < n; i++) {
        const sr_param *p = sr_generator_param(g, i), *q = sr_generator_param(o, i);
        if (strcmp(p->name, q->name) || p->numel != q->numel) {
            sr_error_set(err, SR_ERR_ARG, "tensor %s does not match %s", p->name, q->name);
            return -1;
        }
    }
    if (s == 1.0f)
        return 0;
    for (int i = 0; i < n; i++) {
        sr_param *p = sr_generator_param(g, i);
        const float *q = sr_generator_param(o, i)->data;
        for (size_t k = 0; k < p->numel; k++)
            p->data[k] = s == 0.0f ? q[k] : s * p->data[k] + (1.0f - s) * q[k];
    }
    for (int i = 0; i < g->nconv; i++)
        if (g->convs[i].c.wino && (g->convs[i].c.wino_bf16 || g->convs[i].c.amx ? sr_conv2d_prepare_bf16(&g->convs[i].c)
                                                          : sr_conv2d_prepare(&g->convs[i].c))) {
            sr_error_set(err, SR_ERR_NOMEM, "blend: out of memory preparing the convs");
            return -1;
        }
    return 0;
}
