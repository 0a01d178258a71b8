/* tensor.c: NCHW float tensors backed by an arena or by the heap. */
#include "srgan/nn.h"

static int dims_ok(int n, int c, int h, int w)
{
    return n >= 0 && c >= 0 && h >= 0 && w >= 0;
}

sr_tensor sr_tensor_arena(sr_arena *a, int n, int c, int h, int w)
{
    sr_tensor t = { n, c, h, w, NULL };
    if (dims_ok(n, c, h, w))
        t.data = sr_arena_alloc(a, sr_tensor_numel(&t));
    return t;
}

sr_tensor sr_tensor_alloc(int n, int c, int h, int w)
{
    sr_tensor t = { n, c, h, w, NULL };
    if (dims_ok(n, c, h, w))
        t.data = sr_alloc_floats(sr_tensor_numel(&t));
    return t;
}

void sr_tensor_free(sr_tensor *t)
{
    if (!t)
        return;
    sr_free_floats(t->data);
    t->data = NULL;
}
