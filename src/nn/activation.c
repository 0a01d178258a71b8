/* activation.c: pointwise layers (ReLU, LeakyReLU, PReLU) and the residual
 * add / axpy helpers. Every loop is elementwise, so in-place use is safe.
 * The derivative at exactly 0 is taken from the negative side, as PyTorch. */
#include "srgan/nn.h"

void sr_relu_forward(const float *x, float *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void sr_relu_backward(const float *x, const float *dy, float *dx, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dx[i] = x[i] > 0.0f ? dy[i] : 0.0f;
}

void sr_lrelu_forward(const float *x, float *y, size_t n, float slope)
{
    for (size_t i = 0; i < n; i++)
        y[i] = x[i] > 0.0f ? x[i] : x[i] * slope;
}

void sr_lrelu_backward(const float *x, const float *dy, float *dx, size_t n, float slope)
{
    for (size_t i = 0; i < n; i++)
        dx[i] = x[i] > 0.0f ? dy[i] : dy[i] * slope;
}

void sr_prelu_forward(const sr_tensor *x, const float *alpha, int nalpha, sr_tensor *y)
{
    size_t plane = (size_t)x->h * x->w;
    for (int n = 0; n < x->n; n++) {
        for (int c = 0; c < x->c; c++) {
            float a = alpha[nalpha == 1 ? 0 : c];
            size_t off = ((size_t)n * x->c + c) * plane;
            const float *xs = x->data + off;
            float *ys = y->data + off;
            for (size_t i = 0; i < plane; i++)
                ys[i] = xs[i] > 0.0f ? xs[i] : xs[i] * a;
        }
    }
}

void sr_prelu_backward(const sr_tensor *x, const float *alpha, int nalpha,
                       const sr_tensor *dy, sr_tensor *dx, float *dalpha)
{
    size_t plane = (size_t)x->h * x->w;
    for (int n = 0; n < x->n; n++) {
        for (int c = 0; c < x->c; c++) {
            int ai = nalpha == 1 ? 0 : c;
            float a = alpha[ai];
            size_t off = ((size_t)n * x->c + c) * plane;
            const float *xs = x->data + off;
            const float *dys = dy->data + off;
            if (dalpha) {
                /* read before dx is written: dx may alias dy */
                double s = 0.0;
                for (size_t i = 0; i < plane; i++)
                    if (!(xs[i] > 0.0f))
                        s += (double)dys[i] * xs[i];
                dalpha[ai] += (float)s;
            }
            if (dx) {
                float *dxs = dx->data + off;
                for (size_t i = 0; i < plane; i++)
                    dxs[i] = xs[i] > 0.0f ? dys[i] : dys[i] * a;
            }
        }
    }
}

void sr_add(const float *a, const float *b, float *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = a[i] + b[i];
}

void sr_axpy(float s, const float *x, float *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] += s * x[i];
}
