/* optim.c: Adam (PyTorch's rule), learning-rate schedules, gradient
 * clipping and the EMA of weights. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "srgan/train.h"

sr_adam *sr_adam_new(sr_param *const *params, int n, double beta1, double beta2, double eps,
                     sr_error *err)
{
    sr_adam *a = calloc(1, sizeof *a);
    if (!a) goto nomem;
    a->nparams = n;
    a->beta1 = beta1;
    a->beta2 = beta2;
    a->eps = eps;
    a->numel = calloc((size_t)n + 1, sizeof *a->numel);
    a->m = calloc((size_t)n + 1, sizeof *a->m);
    a->v = calloc((size_t)n + 1, sizeof *a->v);
    if (!a->numel || !a->m || !a->v) goto nomem;
    for (int i = 0; i < n; i++) {
        a->numel[i] = params[i]->numel;
        a->m[i] = sr_alloc_floats(a->numel[i] ? a->numel[i] : 1);
        a->v[i] = sr_alloc_floats(a->numel[i] ? a->numel[i] : 1);
        if (!a->m[i] || !a->v[i]) goto nomem;
    }
    return a;
nomem:
    sr_adam_free(a);
    sr_error_set(err, SR_ERR_NOMEM, "adam: out of memory");
    return NULL;
}

void sr_adam_free(sr_adam *a)
{
    if (!a) return;
    for (int i = 0; i < a->nparams; i++) {
        if (a->m) sr_free_floats(a->m[i]);
        if (a->v) sr_free_floats(a->v[i]);
    }
    free(a->m);
    free(a->v);
    free(a->numel);
    free(a);
}

void sr_adam_step(sr_adam *a, sr_param *const *params, double lr)
{
    a->step++;
    double bc1 = 1.0 - pow(a->beta1, (double)a->step);
    double bc2 = 1.0 - pow(a->beta2, (double)a->step);
    float step_size = (float)(lr / bc1);
    float bc2_sqrt = (float)sqrt(bc2);
    float b1 = (float)a->beta1, b2 = (float)a->beta2, eps = (float)a->eps;
    float wd = (float)a->weight_decay;
    for (int i = 0; i < a->nparams; i++) {
        float *p = params[i]->data, *g = params[i]->grad, *m = a->m[i], *v = a->v[i];
        if (!g) continue;
        for (size_t k = 0; k < a->numel[i]; k++) {
            float gk = g[k] + wd * p[k];
            m[k] = b1 * m[k] + (1.0f - b1) * gk;
            v[k] = b2 * v[k] + (1.0f - b2) * gk * gk;
            float denom = sqrtf(v[k]) / bc2_sqrt + eps;
            p[k] -= step_size * (m[k] / denom);
        }
    }
}

double sr_lr_at(const sr_lr_schedule *s, long iter)
{
    switch (s->kind) {
    case SR_LR_MULTISTEP: {
        double lr = s->base;
        for (int i = 0; i < s->nmilestones; i++)
            if (iter >= s->milestones[i]) lr *= s->gamma;
        return lr;
    }
    case SR_LR_COSINE: {
        if (s->nperiods <= 0) return s->base;
        long start = 0, period = s->periods[0];
        int i = 0;
        for (;;) {
            period = s->periods[i < s->nperiods ? i : s->nperiods - 1];
            if (period <= 0) return s->base;
            if (iter < start + period) break;
            start += period;
            i++;
        }
        double t = (double)(iter - start) / (double)period;
        return s->eta_min + 0.5 * (s->base - s->eta_min) * (1.0 + cos(3.141592653589793 * t));
    }
    case SR_LR_CONSTANT:
    default:
        return s->base;
    }
}

static int parse_list(const char *p, long *out, int max, const char **end)
{
    int n = 0;
    while (*p && *p != '@') {
        char *e;
        long v = strtol(p, &e, 10);
        if (e == p || v <= 0 || n >= max) return -1;
        out[n++] = v;
        p = e;
        if (*p == ',') p++;
        else if (*p && *p != '@') return -1;
    }
    *end = p;
    return n;
}

int sr_lr_parse(const char *spec, double base, sr_lr_schedule *s, sr_error *err)
{
    memset(s, 0, sizeof *s);
    s->base = base;
    s->gamma = 0.5;
    if (!spec || !strcmp(spec, "constant")) {
        s->kind = SR_LR_CONSTANT;
        return 0;
    }
    const char *end = NULL;
    char *e;
    if (!strncmp(spec, "multistep:", 10)) {
        s->kind = SR_LR_MULTISTEP;
        s->nmilestones = parse_list(spec + 10, s->milestones, SR_LR_MAX_STEPS, &end);
        if (s->nmilestones <= 0) goto bad;
        for (int i = 1; i < s->nmilestones; i++)
            if (s->milestones[i] <= s->milestones[i - 1]) goto bad;
        if (*end == '@') {
            s->gamma = strtod(end + 1, &e);
            if (e == end + 1 || *e || !(s->gamma > 0)) goto bad;
        }
        return 0;
    }
    if (!strncmp(spec, "cosine:", 7)) {
        s->kind = SR_LR_COSINE;
        s->nperiods = parse_list(spec + 7, s->periods, SR_LR_MAX_STEPS, &end);
        if (s->nperiods <= 0) goto bad;
        if (*end == '@') {
            s->eta_min = strtod(end + 1, &e);
            if (e == end + 1 || *e || s->eta_min < 0) goto bad;
        }
        return 0;
    }
bad:
    sr_error_set(err, SR_ERR_ARG,
                 "schedule: '%s' is not constant, multistep:M1,M2[@gamma] or "
                 "cosine:P1[,P2][@eta_min]", spec);
    return -1;
}

double sr_clip_grad_norm(sr_param *const *params, int n, double max_norm)
{
    double ss = 0;
    for (int i = 0; i < n; i++) {
        const float *g = params[i]->grad;
        if (!g) continue;
        for (size_t k = 0; k < params[i]->numel; k++) ss += (double)g[k] * g[k];
    }
    double norm = sqrt(ss);
    if (max_norm > 0) {
        double coef = max_norm / (norm + 1e-6);
        if (coef < 1.0) {
            float c = (float)coef;
            for (int i = 0; i < n; i++) {
                float *g = params[i]->grad;
                if (!g) continue;
                for (size_t k = 0; k < params[i]->numel; k++) g[k] *= c;
            }
        }
    }
    return norm;
}

double sr_ema_decay_at(double decay, long step)
{
    double warm = (1.0 + (double)step) / (10.0 + (double)step);
    return warm < decay ? warm : decay;
}

void sr_ema_update(float *ema, const float *w, size_t n, double decay)
{
    float d = (float)decay, od = (float)(1.0 - decay);
    for (size_t i = 0; i < n; i++) ema[i] = ema[i] * d + w[i] * od;
}
