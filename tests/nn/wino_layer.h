/* wino_layer.h: a random 3x3 conv layer and its input, and one forward
 * through sr_conv2d_forward_at, shared by the Winograd tests (fp32, bf16). */
#ifndef SRGAN_WINO_LAYER_H
#define SRGAN_WINO_LAYER_H

#include "nn_testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct wshape {
    int cin, cout, h, w;
} wshape;

typedef struct layer {
    sr_conv2d c;
    sr_tensor x;
} layer;

static inline layer make_layer(const wshape *s, uint64_t seed, int bias, int relu_input)
{
    rng r = {seed};
    layer L;
    L.c = (sr_conv2d){.cin = s->cin, .cout = s->cout, .kh = 3, .kw = 3, .stride = 1, .pad = 1};
    size_t nw = (size_t)s->cout * s->cin * 9;
    L.c.weight = sr_alloc_floats(nw);
    /* Kaiming uniform: std sqrt(2 / fan_in) */
    fill_rand(&r, L.c.weight, nw, (float)sqrt(6.0 / (9.0 * s->cin)));
    if (bias) {
        L.c.bias = sr_alloc_floats((size_t)s->cout);
        fill_rand(&r, L.c.bias, (size_t)s->cout, 0.1f);
    }
    L.x = sr_tensor_alloc(1, s->cin, s->h, s->w);
    fill_rand(&r, L.x.data, sr_tensor_numel(&L.x), 1.0f);
    if (relu_input)
        for (size_t i = 0; i < sr_tensor_numel(&L.x); i++)
            L.x.data[i] = L.x.data[i] > 0 ? L.x.data[i] : 0;
    return L;
}

static inline void free_layer(layer *L)
{
    sr_conv2d_release(&L->c);
    sr_free_floats(L->c.weight);
    sr_free_floats(L->c.bias);
    sr_tensor_free(&L->x);
}

/* y = conv(x) by impl at origin (oy, ox), scratch of exactly the size asked */
static inline sr_tensor run(const layer *L, sr_conv_impl impl, const sr_conv_epilogue *ep, int oy, int ox)
{
    sr_tensor y = sr_tensor_alloc(1, L->c.cout, L->x.h, L->x.w);
    for (size_t i = 0; i < sr_tensor_numel(&y); i++)
        y.data[i] = NAN; /* every output must be written */
    float *scratch = malloc(sr_conv2d_scratch_floats(&L->c, &L->x) * sizeof(float));
    sr_conv2d_forward_at(&L->c, &L->x, &y, scratch, impl, ep, oy, ox);
    free(scratch);
    return y;
}

static inline int same_bits(const sr_tensor *a, const sr_tensor *b)
{
    return !memcmp(a->data, b->data, sr_tensor_numel(a) * sizeof(float));
}

#endif
