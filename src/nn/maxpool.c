/* maxpool.c: 2x2 stride-2 max pooling (VGG). Odd trailing rows/columns are
 * dropped, as PyTorch's floor mode. The gradient goes to the first maximum
 * in row-major window order; NaN counts as the maximum, as PyTorch.
 *
 * Two versions: the reference (sr_maxpool2_*_ref), window by window with
 * an argmax, and the one VGG runs, row by row with the same comparisons
 * made as bit masks, so that GCC vectorises it (the reference's branches
 * kept it scalar: 4 % of a gan training step in perf on the Zen 4 VM).
 * Both give the same bits (tests/nn/test_nn_layers.c). */
#include "srgan/nn.h"

#include <stdint.h>
#include <string.h>

/* ---- reference ---------------------------------------------------------- */

/* Index (0..3) of the first maximum of the window at (2*oy, 2*ox). */
static int argmax2x2(const float *p, int w)
{
    float v[4] = { p[0], p[1], p[w], p[w + 1] };
    int best = 0;
    for (int k = 1; k < 4; k++)
        if (v[k] > v[best] || (v[k] != v[k] && v[best] == v[best]))
            best = k;
    return best;
}

void sr_maxpool2_forward_ref(const sr_tensor *x, sr_tensor *y)
{
    int oh = x->h / 2, ow = x->w / 2;
    for (size_t p = 0; p < (size_t)x->n * x->c; p++) {
        const float *xs = x->data + p * x->h * x->w;
        float *ys = y->data + p * oh * ow;
        for (int oy = 0; oy < oh; oy++) {
            for (int ox = 0; ox < ow; ox++) {
                const float *win = xs + (size_t)2 * oy * x->w + 2 * ox;
                int k = argmax2x2(win, x->w);
                ys[(size_t)oy * ow + ox] = win[(k >> 1) * x->w + (k & 1)];
            }
        }
    }
}

void sr_maxpool2_backward_ref(const sr_tensor *x, const sr_tensor *dy, sr_tensor *dx)
{
    int oh = x->h / 2, ow = x->w / 2;
    memset(dx->data, 0, sr_tensor_numel(dx) * sizeof(float));
    for (size_t p = 0; p < (size_t)x->n * x->c; p++) {
        const float *xs = x->data + p * x->h * x->w;
        const float *dys = dy->data + p * oh * ow;
        float *dxs = dx->data + p * x->h * x->w;
        for (int oy = 0; oy < oh; oy++) {
            for (int ox = 0; ox < ow; ox++) {
                size_t base = (size_t)2 * oy * x->w + 2 * ox;
                int k = argmax2x2(xs + base, x->w);
                dxs[base + (size_t)(k >> 1) * x->w + (k & 1)] += dys[(size_t)oy * ow + ox];
            }
        }
    }
}

/* ---- row by row, branch-free --------------------------------------------- */

#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
#define POOL_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define POOL_CLONES
#endif

static inline uint32_t fbits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static inline float bitsf(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* argmax2x2's step: all ones where v takes over from m (v > m, or v is NaN
 * and m is not) */
static inline uint32_t takes(float m, float v)
{
    return -(uint32_t)((v > m) | ((v != v) & (m == m)));
}

static inline float pick(uint32_t t, float v, float m)
{
    return bitsf((fbits(v) & t) | (fbits(m) & ~t));
}

POOL_CLONES
static void pool_row(const float *restrict r0, const float *restrict r1, float *restrict y, int ow)
{
    for (int ox = 0; ox < ow; ox++) {
        float m = r0[2 * ox];
        m = pick(takes(m, r0[2 * ox + 1]), r0[2 * ox + 1], m);
        m = pick(takes(m, r1[2 * ox]), r1[2 * ox], m);
        m = pick(takes(m, r1[2 * ox + 1]), r1[2 * ox + 1], m);
        y[ox] = m;
    }
}

/* The two dx rows of one row of windows, 2 * ow columns: 0 + dy at the
 * window's first maximum (the reference adds dy to a zeroed dx), +0 at the
 * other three. */
POOL_CLONES
static void unpool_row(const float *restrict r0, const float *restrict r1, const float *restrict dy,
                       float *restrict d0, float *restrict d1, int ow)
{
    for (int ox = 0; ox < ow; ox++) {
        const float a = r0[2 * ox], b = r0[2 * ox + 1], c = r1[2 * ox], d = r1[2 * ox + 1];
        const uint32_t t1 = takes(a, b);
        const float m1 = pick(t1, b, a);
        const uint32_t t2 = takes(m1, c);
        const float m2 = pick(t2, c, m1);
        const uint32_t t3 = takes(m2, d);
        const uint32_t g = fbits(0.0f + dy[ox]);
        d1[2 * ox + 1] = bitsf(g & t3);
        d1[2 * ox] = bitsf(g & t2 & ~t3);
        d0[2 * ox + 1] = bitsf(g & t1 & ~t2 & ~t3);
        d0[2 * ox] = bitsf(g & ~(t1 | t2 | t3));
    }
}

void sr_maxpool2_forward(const sr_tensor *x, sr_tensor *y)
{
    const int oh = x->h / 2, ow = x->w / 2;
    for (size_t p = 0; p < (size_t)x->n * x->c; p++) {
        const float *xs = x->data + p * x->h * x->w;
        float *ys = y->data + p * oh * ow;
        for (int oy = 0; oy < oh; oy++)
            pool_row(xs + (size_t)2 * oy * x->w, xs + (size_t)(2 * oy + 1) * x->w,
                     ys + (size_t)oy * ow, ow);
    }
}

void sr_maxpool2_backward(const sr_tensor *x, const sr_tensor *dy, sr_tensor *dx)
{
    const int oh = x->h / 2, ow = x->w / 2;
    for (size_t p = 0; p < (size_t)x->n * x->c; p++) {
        const float *xs = x->data + p * x->h * x->w;
        const float *dys = dy->data + p * oh * ow;
        float *dxs = dx->data + p * x->h * x->w;
        for (int oy = 0; oy < oh; oy++) {
            float *d0 = dxs + (size_t)2 * oy * x->w, *d1 = d0 + x->w;
            unpool_row(xs + (size_t)2 * oy * x->w, xs + (size_t)(2 * oy + 1) * x->w,
                       dys + (size_t)oy * ow, d0, d1, ow);
            if (x->w & 1) /* the dropped column */
                d0[x->w - 1] = d1[x->w - 1] = 0.0f;
        }
        if (x->h & 1) /* the dropped row */
            memset(dxs + (size_t)(x->h - 1) * x->w, 0, (size_t)x->w * sizeof(float));
    }
}
