/* test_nn_conv_rows.c: sr_conv2d_forward_rows, the row range the
 * generator's rolling tail computes a layer by (gen_forward.c).
 *  - for every kernel a user or a test can select (AUTO on fp32-prepared,
 *    bf16-prepared and unprepared convs, gemm, direct, direct-avx2,
 *    winograd, winograd-ref, ref), 3x3, 1x1, 5x5 and 9x9 convs, odd sizes
 *    and every tile-grid phase of the image origin: computing the output
 *    in chunks of rows gives the whole call's bits (gemm: within fp32
 *    rounding, see same()), both with chunk edges
 *    on Winograd's tile grid (the kernels' own row ranges) and off it
 *    (the copy);
 *  - with an epilogue (LReLU and a residual) as well;
 *  - a call writes its rows and no other (the rest keep a sentinel), and
 *    reads no input row beyond pad of them (those rows hold NaN);
 *  - the scratch of sr_conv2d_rows_scratch_floats suffices (malloc'd to
 *    the size: ASan sees an overrun).
 * The meson test runs it again with SRGAN_ROWS_COPY=1 (every range by the
 * copy) and with SRGAN_WINO_AVX2=1 (the AVX2 transforms). */
#include "nn_testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct rshape {
    int cin, h, w, cout, k;
} rshape;

static const rshape shapes[] = {
    {16, 23, 19, 12, 3}, /* Winograd where prepared */
    {8, 17, 40, 64, 3},  /* wide output, Winograd */
    {64, 13, 21, 3, 3},  /* conv_last: the direct kernel */
    {6, 15, 9, 5, 1},    /* pointwise: one sgemm over the rows */
    {5, 14, 11, 7, 5},
    {3, 20, 17, 8, 9},   /* SRResNet's 9x9 */
};

static const sr_conv_impl impls[] = {SR_CONV_AUTO,      SR_CONV_GEMM,     SR_CONV_DIRECT,
                                     SR_CONV_DIRECT_AVX2, SR_CONV_WINOGRAD, SR_CONV_WINOGRAD_REF,
                                     SR_CONV_REF};

enum { PREP_NONE, PREP_FP32, PREP_BF16 };

/* The same bits; for gemm (OpenBLAS's sgemm rounds differently for
 * matrices of other widths, so a range's block of rows is not the whole
 * call's) within fp32 rounding. */
static int same(const float *a, const float *b, size_t n, sr_conv_impl impl)
{
    if (impl != SR_CONV_GEMM)
        return !memcmp(a, b, n * sizeof(float));
    for (size_t i = 0; i < n; i++)
        if (!(fabsf(a[i] - b[i]) <= 1e-5f * (1.0f + fabsf(b[i]))))
            return 0;
    return 1;
}

/* Output rows in chunks [e[i], e[i + 1]) (e[0] = 0, e[n] = h) against the
 * whole call; the second chunk alone first, to check what it writes and
 * reads. */
static void check_chunks(const sr_conv2d *c, const rshape *s, sr_conv_impl impl, int oy, int ox,
                         const sr_conv_epilogue *ep, const int *e, int n, const char *what)
{
    const size_t plane = (size_t)s->h * s->w, nx = (size_t)s->cin * plane,
                 ny = (size_t)s->cout * plane;
    rng r = {7 + (uint64_t)s->cin * 31 + (uint64_t)oy};
    float *x = malloc(nx * sizeof(float)), *xn = malloc(nx * sizeof(float));
    float *yw = malloc(ny * sizeof(float)), *yc = malloc(ny * sizeof(float));
    fill_rand(&r, x, nx, 1.0f);
    sr_tensor X = {1, s->cin, s->h, s->w, x}, Yw = {1, s->cout, s->h, s->w, yw},
              Yc = {1, s->cout, s->h, s->w, yc};
    float *ws = malloc(sr_conv2d_scratch_floats(c, &X) * sizeof(float));
    int maxrows = 0;
    for (int i = 0; i < n; i++)
        maxrows = e[i + 1] - e[i] > maxrows ? e[i + 1] - e[i] : maxrows;
    float *rs = malloc(sr_conv2d_rows_scratch_floats(c, &X, maxrows, 0) * sizeof(float));
    for (size_t i = 0; i < ny; i++)
        yw[i] = 1e30f;
    sr_conv2d_forward_at(c, &X, &Yw, ws, impl, ep, oy, ox);

    /* the first chunk alone: its rows, nothing else; inputs past its reach
     * NaN (pad rows, from the whole tile rows around it: on the grid, the
     * chunk's own) */
    const int m = n > 1; /* the second chunk: one that starts inside the image */
    const int p = c->pad, py = oy % 4;
    const int r0 = (e[m] + py) / 4 * 4 - py, r1 = (e[m + 1] + py + 3) / 4 * 4 - py;
    memcpy(xn, x, nx * sizeof(float));
    for (int ci = 0; ci < s->cin; ci++)
        for (int yy = 0; yy < s->h; yy++)
            if (yy < r0 - p || yy >= r1 + p)
                for (int xx = 0; xx < s->w; xx++)
                    xn[((size_t)ci * s->h + yy) * s->w + xx] = NAN;
    sr_tensor XN = {1, s->cin, s->h, s->w, xn};
    for (size_t i = 0; i < ny; i++)
        yc[i] = 1e30f;
    sr_conv2d_forward_rows(c, &XN, &Yc, rs, impl, ep, oy, ox, e[m], e[m + 1]);
    int outside = 0, inside = 0;
    for (int co = 0; co < s->cout; co++)
        for (int yy = 0; yy < s->h; yy++) {
            const float *a = yc + ((size_t)co * s->h + yy) * s->w;
            const float *b = yw + ((size_t)co * s->h + yy) * s->w;
            for (int xx = 0; xx < s->w; xx++) {
                if (yy < e[m] || yy >= e[m + 1])
                    outside += a[xx] != 1e30f;
                else
                    inside += !same(&a[xx], &b[xx], 1, impl);
            }
        }
    CHECK_MSG(!outside && !inside,
              "%s impl %d cin %d cout %d k %d origin %d: rows [%d, %d) alone: %d written "
              "outside, %d differ",
              what, (int)impl, s->cin, s->cout, s->k, oy, e[m], e[m + 1], outside, inside);

    /* every chunk, in order, into one output */
    for (size_t i = 0; i < ny; i++)
        yc[i] = 1e30f;
    for (int i = 0; i < n; i++)
        sr_conv2d_forward_rows(c, &X, &Yc, rs, impl, ep, oy, ox, e[i], e[i + 1]);
    CHECK_MSG(same(yc, yw, ny, impl), "%s impl %d cin %d cout %d k %d origin %d: chunks differ",
              what, (int)impl, s->cin, s->cout, s->k, oy);
    free(rs);
    free(ws);
    free(x);
    free(xn);
    free(yw);
    free(yc);
}

/* Chunk edges for an image of h rows at origin oy: on the tile grid
 * (image rows 4, 12, 16, ...), or off it (every 3 rows, from row 2). */
static int edges(int h, int oy, int on_grid, int *e)
{
    int n = 0;
    e[n++] = 0;
    if (on_grid) {
        const int steps[] = {4, 8, 4, 12};
        int y = (4 - oy % 4) % 4 + 4, k = 0;
        for (; y < h; y += steps[k++ % 4])
            e[n++] = y;
    } else {
        for (int y = 2; y < h; y += 3)
            e[n++] = y;
    }
    e[n] = h;
    return n;
}

static void check_shape(const rshape *s, int prep)
{
    rng r = {99 + (uint64_t)s->k * 7 + (uint64_t)s->cout};
    sr_conv2d c = {s->cin, s->cout, s->k, s->k, 1, s->k / 2, NULL, NULL, NULL, NULL,
                   NULL, NULL, NULL, NULL, 0, NULL};
    const size_t nw = (size_t)s->cout * s->cin * s->k * s->k;
    c.weight = sr_alloc_floats(nw);
    c.bias = sr_alloc_floats((size_t)s->cout);
    fill_rand(&r, c.weight, nw, 0.3f);
    fill_rand(&r, c.bias, (size_t)s->cout, 0.5f);
    if (prep == PREP_FP32)
        CHECK(sr_conv2d_prepare(&c) == 0);
    else if (prep == PREP_BF16)
        CHECK(sr_conv2d_prepare_bf16(&c) == 0);
    const size_t ny = (size_t)s->cout * s->h * s->w;
    float *res = malloc(ny * sizeof(float));
    fill_rand(&r, res, ny, 1.0f);
    const sr_conv_epilogue lrelu = {.act = SR_ACT_LRELU, .slope = 0.2f, .residual = res};
    int e[64];
    for (size_t i = 0; i < sizeof impls / sizeof *impls; i++)
        for (int oy = 0; oy < 4; oy++)
            for (int grid = 0; grid < 2; grid++) {
                const int n = edges(s->h, oy, grid, e);
                check_chunks(&c, s, impls[i], oy, oy % 3, NULL, e, n,
                             grid ? "on the grid" : "off the grid");
                if (oy == 1)
                    check_chunks(&c, s, impls[i], oy, 2, &lrelu, e, n, "lrelu + residual");
            }
    free(res);
    sr_conv2d_release(&c);
    sr_free_floats(c.weight);
    sr_free_floats(c.bias);
}

static void test_rows(void)
{
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        check_shape(&shapes[i], PREP_NONE);
        check_shape(&shapes[i], PREP_FP32);
        if (sr_bf16_supported())
            check_shape(&shapes[i], PREP_BF16);
    }
}

int main(void)
{
    RUN(test_rows);
    return testlib_summary();
}
