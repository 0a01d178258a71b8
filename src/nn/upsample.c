/* upsample.c: nearest / bilinear / bicubic upsampling by an integer factor
 * with the semantics of PyTorch's F.interpolate(scale_factor=s,
 * align_corners=False):
 *   nearest:  src = floor(dst / s)
 *   bilinear: src = max(0, (dst + 0.5) / s - 0.5), taps floor(src), +1
 *             (the second tap clamped to the last pixel)
 *   bicubic:  src = (dst + 0.5) / s - 0.5, taps floor(src) - 1 .. + 2, each
 *             clamped into the image, cubic convolution with A = -0.75.
 * Both axes are separable; one output pixel is sum_y wy * sum_x wx * in.
 * All index arithmetic is done against the FULL image so that a region
 * (tile) computes exactly the values of the whole-image call. */
#include "srgan/nn.h"

#include <math.h>
#include <string.h>

typedef struct taps {
    int n;       /* 1, 2 or 4 */
    int idx[4];  /* source indices in the full image, already clamped */
    float w[4];
} taps;

static int clampi(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static void cubic_weights(float t, float w[4])
{
    const float A = -0.75f;
    float x1 = t + 1.0f, x2 = 1.0f - t, x3 = 2.0f - t;
    w[0] = ((A * x1 - 5.0f * A) * x1 + 8.0f * A) * x1 - 4.0f * A;
    w[1] = ((A + 2.0f) * t - (A + 3.0f)) * t * t + 1.0f;
    w[2] = ((A + 2.0f) * x2 - (A + 3.0f)) * x2 * x2 + 1.0f;
    w[3] = ((A * x3 - 5.0f * A) * x3 + 8.0f * A) * x3 - 4.0f * A;
}

/* Taps of output coordinate dst along an axis of `in` input pixels. */
static taps axis_taps(sr_interp mode, int s, int dst, int in)
{
    taps t;
    memset(&t, 0, sizeof t);
    /* PyTorch: scale = (float)(1.0 / scale_factor), src = scale*(dst+0.5)-0.5 */
    const float scale = (float)(1.0 / s);
    if (mode == SR_INTERP_NEAREST) {
        t.n = 1;
        t.idx[0] = clampi(dst / s, 0, in - 1);
        t.w[0] = 1.0f;
    } else if (mode == SR_INTERP_BILINEAR) {
        float src = scale * ((float)dst + 0.5f) - 0.5f;
        if (src < 0.0f)
            src = 0.0f;
        int i0 = (int)src;
        if (i0 > in - 1)
            i0 = in - 1;
        float l1 = src - (float)i0;
        t.n = 2;
        t.idx[0] = i0;
        t.idx[1] = i0 < in - 1 ? i0 + 1 : i0;
        t.w[0] = 1.0f - l1;
        t.w[1] = l1;
    } else {
        float src = scale * ((float)dst + 0.5f) - 0.5f;
        float fl = floorf(src);
        int i0 = (int)fl;
        t.n = 4;
        cubic_weights(src - fl, t.w);
        for (int k = 0; k < 4; k++)
            t.idx[k] = clampi(i0 - 1 + k, 0, in - 1);
    }
    return t;
}

void sr_upsample_region(const sr_tensor *x, int iy0, int ix0, int full_h, int full_w,
                        int scale, sr_interp mode, int oy0, int ox0, sr_tensor *y)
{
    if (x->h <= 0 || x->w <= 0 || full_h <= 0 || full_w <= 0 || scale <= 0)
        return;
    const size_t planes = (size_t)y->n * y->c;
    const size_t in_plane = (size_t)x->h * x->w, out_plane = (size_t)y->h * y->w;
    for (int oy = 0; oy < y->h; oy++) {
        taps ty = axis_taps(mode, scale, oy0 + oy, full_h);
        for (int k = 0; k < ty.n; k++) /* into the window; a no-op when it covers the taps */
            ty.idx[k] = clampi(ty.idx[k] - iy0, 0, x->h - 1);
        for (int ox = 0; ox < y->w; ox++) {
            taps tx = axis_taps(mode, scale, ox0 + ox, full_w);
            for (int k = 0; k < tx.n; k++)
                tx.idx[k] = clampi(tx.idx[k] - ix0, 0, x->w - 1);
            for (size_t p = 0; p < planes; p++) {
                const float *xs = x->data + p * in_plane;
                float acc = 0.0f;
                for (int a = 0; a < ty.n; a++) {
                    const float *row = xs + (size_t)ty.idx[a] * x->w;
                    float r = 0.0f;
                    for (int b = 0; b < tx.n; b++)
                        r += tx.w[b] * row[tx.idx[b]];
                    acc += ty.w[a] * r;
                }
                y->data[p * out_plane + (size_t)oy * y->w + ox] = acc;
            }
        }
    }
}

void sr_upsample_forward(const sr_tensor *x, int scale, sr_interp mode, sr_tensor *y)
{
    sr_upsample_region(x, 0, 0, x->h, x->w, scale, mode, 0, 0, y);
}

void sr_upsample_backward(const sr_tensor *dy, int scale, sr_interp mode, sr_tensor *dx)
{
    memset(dx->data, 0, sr_tensor_numel(dx) * sizeof(float));
    if (dx->h <= 0 || dx->w <= 0 || scale <= 0)
        return;
    const size_t planes = (size_t)dy->n * dy->c;
    const size_t in_plane = (size_t)dx->h * dx->w, out_plane = (size_t)dy->h * dy->w;
    for (int oy = 0; oy < dy->h; oy++) {
        taps ty = axis_taps(mode, scale, oy, dx->h);
        for (int ox = 0; ox < dy->w; ox++) {
            taps tx = axis_taps(mode, scale, ox, dx->w);
            for (size_t p = 0; p < planes; p++) {
                float g = dy->data[p * out_plane + (size_t)oy * dy->w + ox];
                float *xs = dx->data + p * in_plane;
                for (int a = 0; a < ty.n; a++) {
                    float *row = xs + (size_t)ty.idx[a] * dx->w;
                    for (int b = 0; b < tx.n; b++)
                        row[tx.idx[b]] += ty.w[a] * tx.w[b] * g;
                }
            }
        }
    }
}
