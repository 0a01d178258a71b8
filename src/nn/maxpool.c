/* maxpool.c: 2x2 stride-2 max pooling (VGG). Odd trailing rows/columns are
 * dropped, as PyTorch's floor mode. The gradient goes to the first maximum
 * in row-major window order; NaN counts as the maximum, as PyTorch. */
#include "srgan/nn.h"

#include <string.h>

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

void sr_maxpool2_forward(const sr_tensor *x, sr_tensor *y)
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

void sr_maxpool2_backward(const sr_tensor *x, const sr_tensor *dy, sr_tensor *dx)
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
