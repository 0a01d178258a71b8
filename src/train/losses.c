/* losses.c: pixel and GAN losses with their gradients. Sums run in double
 * so that a mean over millions of pixels is as good as PyTorch's pairwise
 * float sum. */
#include <math.h>
#include <stdlib.h>
#include "srgan/train.h"

double sr_loss_l1(const float *p, const float *t, size_t n, float *grad, double scale)
{
    double s = 0;
    float gs = (float)(scale / (double)n);
    for (size_t i = 0; i < n; i++) {
        float d = p[i] - t[i];
        s += fabs((double)d);
        if (grad) grad[i] = d > 0 ? gs : (d < 0 ? -gs : 0.0f);
    }
    return n ? s / (double)n : 0;
}

double sr_loss_mse(const float *p, const float *t, size_t n, float *grad, double scale)
{
    double s = 0;
    float gs = (float)(2.0 * scale / (double)n);
    for (size_t i = 0; i < n; i++) {
        float d = p[i] - t[i];
        s += (double)d * d;
        if (grad) grad[i] = gs * d;
    }
    return n ? s / (double)n : 0;
}

/* BCE with logits for one value: max(x,0) - x*y + log(1 + exp(-|x|)). */
static double bce1(double x, int y)
{
    return (x > 0 ? x : 0) - x * y + log1p(exp(-fabs(x)));
}
static double sigmoid(double x)
{
    return x >= 0 ? 1.0 / (1.0 + exp(-x)) : exp(x) / (1.0 + exp(x));
}

double sr_loss_bce_logits(const float *x, size_t n, int target, float *grad, double scale)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        s += bce1(x[i], target);
        if (grad) grad[i] = (float)(scale * (sigmoid(x[i]) - target) / (double)n);
    }
    return n ? s / (double)n : 0;
}

static double mean(const float *x, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += x[i];
    return n ? s / (double)n : 0;
}

/* Relativistic average pair: w * [BCE(r - mean f, tr) + BCE(f - mean r, tf)].
 * d/dr_i of the first term: (sig(r_i - mf) - tr)/nr; through mean r it
 * adds -(1/nr) * sum_j (sig(f_j - mr) - tf)/nf to every r_i (and likewise). */
static double ragan(const float *r, size_t nr, const float *f, size_t nf, int tr, int tf,
                    float *dr, float *df, double w)
/* returns the unweighted pair sum; gradients carry w */
{
    double mr = mean(r, nr), mf = mean(f, nf);
    double lr = 0, lf = 0, sr_ = 0, sf = 0;
    for (size_t i = 0; i < nr; i++) {
        double x = r[i] - mf;
        lr += bce1(x, tr);
        sr_ += sigmoid(x) - tr;
    }
    for (size_t i = 0; i < nf; i++) {
        double x = f[i] - mr;
        lf += bce1(x, tf);
        sf += sigmoid(x) - tf;
    }
    /* sums of per-element gradients of each term, divided by the counts */
    double cr = sr_ / (double)nr, cf = sf / (double)nf;
    if (dr)
        for (size_t i = 0; i < nr; i++)
            dr[i] = (float)(w * ((sigmoid(r[i] - mf) - tr) / (double)nr - cf / (double)nr));
    if (df)
        for (size_t i = 0; i < nf; i++)
            df[i] = (float)(w * ((sigmoid(f[i] - mr) - tf) / (double)nf - cr / (double)nf));
    return lr / (double)nr + lf / (double)nf;
}

double sr_gan_loss_g(sr_gan_type t, const float *real, size_t nr, const float *fake, size_t nf,
                     float *dreal, float *dfake, double scale)
{
    if (t == SR_GAN_RAGAN) return 0.5 * ragan(real, nr, fake, nf, 0, 1, dreal, dfake, 0.5 * scale);
    if (dreal)
        for (size_t i = 0; i < nr; i++) dreal[i] = 0;
    return sr_loss_bce_logits(fake, nf, 1, dfake, scale);
}

double sr_gan_loss_d(sr_gan_type t, const float *real, size_t nr, const float *fake, size_t nf,
                     float *dreal, float *dfake, double scale)
{
    if (t == SR_GAN_RAGAN) return 0.5 * ragan(real, nr, fake, nf, 1, 0, dreal, dfake, 0.5 * scale);
    return sr_loss_bce_logits(real, nr, 1, dreal, scale) +
           sr_loss_bce_logits(fake, nf, 0, dfake, scale);
}
