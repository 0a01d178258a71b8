/* nn_testutil.h: helpers shared by the nn tests: a deterministic RNG,
 * tensor filling, error norms and the finite-difference gradient check. */
#ifndef SRGAN_NN_TESTUTIL_H
#define SRGAN_NN_TESTUTIL_H

#include "srgan/nn.h"
#include "testlib.h"

#include <stdint.h>

typedef struct rng { uint64_t s; } rng;

static inline uint32_t rng_u32(rng *r)
{
    r->s = r->s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(r->s >> 33);
}
/* uniform in [-1, 1) */
static inline float rng_f(rng *r)
{
    return (float)((double)rng_u32(r) / 1073741824.0 - 1.0); /* rng_u32 has 31 bits */
}
static inline void fill_rand(rng *r, float *p, size_t n, float scale)
{
    for (size_t i = 0; i < n; i++)
        p[i] = scale * rng_f(r);
}
/* values with |v| in [0.2, 1]: safely away from the ReLU kink for eps 1e-2 */
static inline void fill_away_from_zero(rng *r, float *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float v = 0.2f + 0.8f * (0.5f * rng_f(r) + 0.5f);
        p[i] = (rng_u32(r) & 1) ? v : -v;
    }
}

/* max |a - b| / max(max |b|, floor) */
static inline double max_rel_err(const float *a, const float *b, size_t n, double floor)
{
    double m = floor, e = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        if (d > e)
            e = d;
        if (fabs((double)b[i]) > m)
            m = fabs((double)b[i]);
    }
    return e / m;
}

static inline double dot_d(const float *a, const float *b, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += (double)a[i] * b[i];
    return s;
}

/* Central differences of f(ctx) with respect to every p[i], compared with
 * `analytic`; returns max |analytic - numeric| / max |numeric|. */
typedef double (*loss_fn)(void *ctx);
static inline double gradcheck(float *p, size_t n, const float *analytic, loss_fn f, void *ctx,
                               float eps)
{
    double err = 0.0, scale = 1e-6;
    for (size_t i = 0; i < n; i++) {
        float keep = p[i];
        p[i] = keep + eps;
        double lp = f(ctx);
        p[i] = keep - eps;
        double lm = f(ctx);
        p[i] = keep;
        /* the step actually taken in float */
        double num = (lp - lm) / ((double)(keep + eps) - (double)(keep - eps));
        double d = fabs(num - analytic[i]);
        if (d > err)
            err = d;
        if (fabs(num) > scale)
            scale = fabs(num);
    }
    return err / scale;
}

#endif
