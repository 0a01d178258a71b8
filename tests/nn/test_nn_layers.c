/* test_nn_layers.c: arena and tensors; pixel shuffle against its index
 * formula and PyTorch; upsampling against PyTorch values
 * (tests/fixtures/nn/upsample_torch.txt, made by tools/make_nn_fixtures.py);
 * sr_upsample_region tiles against the whole image; max pool and the
 * activations against explicit expectations. */
#include "nn_testutil.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void test_arena(void)
{
    sr_arena *a = sr_arena_new(1000);
    CHECK(a != NULL);
    float *p = sr_arena_alloc(a, 10);
    float *q = sr_arena_alloc(a, 3);
    CHECK(p && q && ((uintptr_t)p % 64) == 0 && ((uintptr_t)q % 64) == 0);
    CHECK(q >= p + 10);
    CHECK(sr_arena_used(a) == 128);
    CHECK(sr_arena_alloc(a, 1000) == NULL); /* full: NULL, not a crash */
    CHECK(sr_arena_alloc(a, SIZE_MAX / 2) == NULL);
    sr_arena_reset(a);
    CHECK(sr_arena_used(a) == 0 && sr_arena_peak(a) == 128);
    sr_tensor t = sr_tensor_arena(a, 1, 2, 3, 4);
    CHECK(t.data == p && sr_tensor_numel(&t) == 24);
    sr_arena_free(a);
    float *z = sr_alloc_floats(100);
    CHECK(z && ((uintptr_t)z % 64) == 0);
    int zero = 1;
    for (int i = 0; i < 100; i++)
        zero &= z[i] == 0.0f;
    CHECK(zero);
    sr_free_floats(z);
    /* both ways a long-lived buffer is made (heap below 256 KiB, a populated
     * mapping above): zeroed, aligned, writable to the end, freed (ASan and
     * munmap of a wrong size would fail here); many of them, as a model's
     * layers are */
    const size_t sizes[] = {1, 16, 65535, 65536, 147456, 1 << 20, (1 << 20) + 3,
                            (3 << 20) + 5 /* 12 MB: 2 MiB-aligned, huge pages */};
    for (int rep = 0; rep < 3; rep++) {
        float *b[sizeof sizes / sizeof *sizes];
        for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
            b[k] = sr_alloc_floats(sizes[k]);
            CHECK(b[k] && ((uintptr_t)b[k] % 64) == 0);
            if (!b[k])
                continue;
            int zeroed = 1;
            for (size_t i = 0; i < sizes[k]; i++)
                zeroed &= b[k][i] == 0.0f;
            CHECK(zeroed);
            for (size_t i = 0; i < sizes[k]; i++)
                b[k][i] = (float)i;
            CHECK(b[k][sizes[k] - 1] == (float)(sizes[k] - 1));
        }
        for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++)
            sr_free_floats(b[k]);
    }
    sr_free_floats(NULL);
    CHECK(sr_alloc_floats(SIZE_MAX / 2) == NULL);
    /* the pool: take_fit never hands out an arena over its limit, and a
     * plain take still finds the large one afterwards */
    sr_arena_pool_clear();
    sr_arena *big = sr_arena_pool_take((size_t)4 << 20);
    sr_arena_pool_give(big);
    const size_t made = sr_arena_pool_created();
    sr_arena *f = sr_arena_pool_take_fit((size_t)1 << 20, (size_t)2 << 20);
    CHECK(f && f != big && sr_arena_pool_created() == made + 1);
    CHECK(sr_arena_cap(f) >= ((size_t)1 << 20) && sr_arena_cap(f) <= ((size_t)2 << 20));
    sr_arena_pool_give(f);
    CHECK(sr_arena_pool_take_fit((size_t)1 << 20, (size_t)2 << 20) == f);
    CHECK(sr_arena_pool_take((size_t)2 << 20) == big);
    sr_arena_pool_give(f);
    sr_arena_pool_give(big);
    sr_arena_pool_clear();
    CHECK(sr_arena_pool_bytes() == 0);
    sr_tensor h = sr_tensor_alloc(2, 3, 4, 5);
    CHECK(h.data && h.data[119] == 0.0f);
    sr_tensor_free(&h);
    CHECK(h.data == NULL);
}

static void test_pixel_shuffle_formula(void)
{
    const int r = 3, n = 2, c = 2, h = 2, w = 3;
    sr_tensor x = sr_tensor_alloc(n, c * r * r, h, w), y = sr_tensor_alloc(n, c, h * r, w * r);
    for (size_t i = 0; i < sr_tensor_numel(&x); i++)
        x.data[i] = (float)i;
    sr_pixel_shuffle_forward(&x, r, &y);
    int ok = 1;
    for (int b = 0; b < n; b++)
        for (int ch = 0; ch < c; ch++)
            for (int hh = 0; hh < h; hh++)
                for (int i = 0; i < r; i++)
                    for (int ww = 0; ww < w; ww++)
                        for (int j = 0; j < r; j++) {
                            float out = y.data[((b * c + ch) * h * r + hh * r + i) * w * r + ww * r + j];
                            float in = x.data[((b * c * r * r + ch * r * r + i * r + j) * h + hh) * w + ww];
                            ok &= out == in;
                        }
    CHECK(ok);
    /* backward is the exact inverse */
    sr_tensor back = sr_tensor_alloc(n, c * r * r, h, w);
    sr_pixel_shuffle_backward(&y, r, &back);
    CHECK(memcmp(back.data, x.data, sr_tensor_numel(&x) * sizeof(float)) == 0);
    sr_tensor_free(&x);
    sr_tensor_free(&y);
    sr_tensor_free(&back);
}

/* The row-gather forward equals the index-formula reference for every r,
 * including the special-cased r = 2. */
static void test_pixel_shuffle_fast_vs_ref(void)
{
    for (int r = 2; r <= 4; r++) {
        const int n = 2, c = 3, h = 5, w = 7;
        sr_tensor x = sr_tensor_alloc(n, c * r * r, h, w);
        sr_tensor y = sr_tensor_alloc(n, c, h * r, w * r), yr = sr_tensor_alloc(n, c, h * r, w * r);
        for (size_t i = 0; i < sr_tensor_numel(&x); i++)
            x.data[i] = (float)(i * 7 % 101) - 50.0f;
        sr_pixel_shuffle_forward(&x, r, &y);
        sr_pixel_shuffle_forward_ref(&x, r, &yr);
        CHECK_MSG(memcmp(y.data, yr.data, sr_tensor_numel(&y) * sizeof(float)) == 0, "r = %d", r);
        sr_tensor_free(&x);
        sr_tensor_free(&y);
        sr_tensor_free(&yr);
    }
}

/* ---- PyTorch fixture -------------------------------------------------- */

typedef struct fixture {
    char *text;
    char *pos;
} fixture;

static int fixture_open(fixture *f)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/fixtures/nn/upsample_torch.txt", TEST_SRCDIR());
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return 0;
    fseek(fp, 0, SEEK_END);
    long len = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    f->text = malloc((size_t)len + 1);
    size_t got = fread(f->text, 1, (size_t)len, fp);
    f->text[got] = 0;
    fclose(fp);
    f->pos = f->text;
    return 1;
}

/* Next line starting with `tag`: returns a pointer after the tag or NULL. */
static char *fixture_line(fixture *f, const char *tag)
{
    char *p = strstr(f->pos, tag);
    if (!p)
        return NULL;
    char *end = strchr(p, '\n');
    f->pos = end ? end + 1 : p + strlen(p);
    return p + strlen(tag);
}

static void read_floats(const char *s, float *v, size_t n)
{
    char *end;
    for (size_t i = 0; i < n; i++) {
        v[i] = strtof(s, &end);
        s = end;
    }
}

static void test_upsample_vs_torch(void)
{
    fixture f;
    CHECK(fixture_open(&f));
    if (!f.text)
        return;
    int cases = 0;
    char *hdr;
    while ((hdr = fixture_line(&f, "case ")) != NULL) {
        char mode_s[32];
        int s, n, c, h, w;
        CHECK(sscanf(hdr, "%31s %d %d %d %d %d", mode_s, &s, &n, &c, &h, &w) == 6);
        sr_interp mode = !strcmp(mode_s, "nearest") ? SR_INTERP_NEAREST
                       : !strcmp(mode_s, "bilinear") ? SR_INTERP_BILINEAR : SR_INTERP_BICUBIC;
        sr_tensor x = sr_tensor_alloc(n, c, h, w), want = sr_tensor_alloc(n, c, h * s, w * s);
        sr_tensor y = sr_tensor_alloc(n, c, h * s, w * s), r = sr_tensor_alloc(n, c, h * s, w * s);
        sr_tensor gwant = sr_tensor_alloc(n, c, h, w), g = sr_tensor_alloc(n, c, h, w);
        read_floats(fixture_line(&f, "in "), x.data, sr_tensor_numel(&x));
        read_floats(fixture_line(&f, "out "), want.data, sr_tensor_numel(&want));
        read_floats(fixture_line(&f, "r "), r.data, sr_tensor_numel(&r));
        read_floats(fixture_line(&f, "grad "), gwant.data, sr_tensor_numel(&gwant));
        sr_upsample_forward(&x, s, mode, &y);
        double e = max_rel_err(y.data, want.data, sr_tensor_numel(&y), 1.0);
        CHECK_MSG(e < 1e-6, "%s x%d forward: max err %g", mode_s, s, e);
        sr_upsample_backward(&r, s, mode, &g);
        e = max_rel_err(g.data, gwant.data, sr_tensor_numel(&g), 1.0);
        CHECK_MSG(e < 1e-5, "%s x%d backward: max err %g", mode_s, s, e);
        cases++;
        sr_tensor_free(&x);
        sr_tensor_free(&want);
        sr_tensor_free(&y);
        sr_tensor_free(&r);
        sr_tensor_free(&gwant);
        sr_tensor_free(&g);
    }
    CHECK(cases == 9);
    /* pixel shuffle against PyTorch too */
    int r, n, c, h, w;
    char *sh = fixture_line(&f, "shuffle ");
    CHECK(sh && sscanf(sh, "%d %d %d %d %d", &r, &n, &c, &h, &w) == 5);
    if (sh) {
        sr_tensor x = sr_tensor_alloc(n, c, h, w), want = sr_tensor_alloc(n, c / (r * r), h * r, w * r);
        sr_tensor y = sr_tensor_alloc(n, c / (r * r), h * r, w * r);
        read_floats(fixture_line(&f, "in "), x.data, sr_tensor_numel(&x));
        read_floats(fixture_line(&f, "out "), want.data, sr_tensor_numel(&want));
        sr_pixel_shuffle_forward(&x, r, &y);
        CHECK(memcmp(y.data, want.data, sr_tensor_numel(&y) * sizeof(float)) == 0);
        sr_tensor_free(&x);
        sr_tensor_free(&want);
        sr_tensor_free(&y);
    }
    free(f.text);
}

/* Tiles with a 2-pixel input halo reproduce the whole-image upsampling. */
static void test_upsample_region_tiles(void)
{
    rng g = { 3 };
    const int H = 13, W = 11, C = 3;
    sr_tensor x = sr_tensor_alloc(1, C, H, W);
    fill_rand(&g, x.data, sr_tensor_numel(&x), 1.0f);
    for (int mode = 0; mode < 3; mode++) {
        for (int s = 2; s <= 4; s++) {
            sr_tensor full = sr_tensor_alloc(1, C, H * s, W * s);
            sr_upsample_forward(&x, s, (sr_interp)mode, &full);
            const int tiles[] = { 1, 2, 3, 5, 13 };
            for (size_t ti = 0; ti < sizeof tiles / sizeof tiles[0]; ti++) {
                int T = tiles[ti], bad = 0;
                for (int ty = 0; ty < H; ty += T)
                    for (int tx = 0; tx < W; tx += T) {
                        int th = H - ty < T ? H - ty : T, tw = W - tx < T ? W - tx : T;
                        /* input window: tile plus a 2-pixel halo, cut at the image */
                        int iy0 = ty - 2 < 0 ? 0 : ty - 2, ix0 = tx - 2 < 0 ? 0 : tx - 2;
                        int iy1 = ty + th + 2 > H ? H : ty + th + 2;
                        int ix1 = tx + tw + 2 > W ? W : tx + tw + 2;
                        sr_tensor win = sr_tensor_alloc(1, C, iy1 - iy0, ix1 - ix0);
                        for (int ch = 0; ch < C; ch++)
                            for (int yy = iy0; yy < iy1; yy++)
                                for (int xx = ix0; xx < ix1; xx++)
                                    win.data[(ch * win.h + yy - iy0) * win.w + xx - ix0] =
                                        x.data[(ch * H + yy) * W + xx];
                        sr_tensor out = sr_tensor_alloc(1, C, th * s, tw * s);
                        sr_upsample_region(&win, iy0, ix0, H, W, s, (sr_interp)mode, ty * s,
                                           tx * s, &out);
                        for (int ch = 0; ch < C; ch++)
                            for (int yy = 0; yy < out.h; yy++)
                                for (int xx = 0; xx < out.w; xx++)
                                    bad += out.data[(ch * out.h + yy) * out.w + xx] !=
                                           full.data[(ch * H * s + ty * s + yy) * W * s + tx * s + xx];
                        sr_tensor_free(&win);
                        sr_tensor_free(&out);
                    }
                CHECK_MSG(bad == 0, "mode %d x%d tile %d: %d pixels differ", mode, s, T, bad);
            }
            sr_tensor_free(&full);
        }
    }
    sr_tensor_free(&x);
}

static void test_maxpool_forward(void)
{
    float xv[2 * 5] = { 1, 5, 2, 2, 9,
                        3, 4, 8, 0, 9 };
    sr_tensor x = { 1, 1, 2, 5, xv };
    float yv[2];
    sr_tensor y = { 1, 1, 1, 2, yv };
    sr_maxpool2_forward(&x, &y);
    CHECK(yv[0] == 5 && yv[1] == 8);
    /* ties: the gradient goes to the first maximum only */
    float tv[4] = { 7, 7, 7, 7 }, dyv[1] = { 2 }, dxv[4];
    sr_tensor t = { 1, 1, 2, 2, tv }, dy = { 1, 1, 1, 1, dyv }, dx = { 1, 1, 2, 2, dxv };
    sr_maxpool2_backward(&t, &dy, &dx);
    CHECK(dxv[0] == 2 && dxv[1] == 0 && dxv[2] == 0 && dxv[3] == 0);
}

/* The row-wise maxpool against the reference: the same bits, forward and
 * backward, on odd and even sizes, with ties, signed zeros, NaNs and
 * infinities among random values. */
static void test_maxpool_fast_vs_ref(void)
{
    static const int sizes[][2] = {{2, 2}, {5, 7}, {8, 33}, {17, 16}, {1, 9}, {64, 64}};
    unsigned s = 7;
    int bad = 0, runs = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        const int h = sizes[i][0], w = sizes[i][1], n = 2, c = 3;
        sr_tensor x = sr_tensor_alloc(n, c, h, w), dy = sr_tensor_alloc(n, c, h / 2, w / 2);
        sr_tensor y = sr_tensor_alloc(n, c, h / 2, w / 2), yr = sr_tensor_alloc(n, c, h / 2, w / 2);
        sr_tensor dx = sr_tensor_alloc(n, c, h, w), dxr = sr_tensor_alloc(n, c, h, w);
        const float special[] = {0.0f, -0.0f, 1.0f, 1.0f, NAN, -NAN, INFINITY, -INFINITY};
        for (size_t k = 0; k < sr_tensor_numel(&x); k++) {
            s = s * 1103515245u + 12345u;
            const unsigned r = (s >> 8) & 0xffff;
            x.data[k] = r % 5 == 0 ? special[(r / 5) % 8] : (float)(r % 7) - 3.0f; /* many ties */
        }
        for (size_t k = 0; k < sr_tensor_numel(&dy); k++) {
            s = s * 1103515245u + 12345u;
            dy.data[k] = (s >> 8) % 3 == 0 ? -0.0f : (float)((s >> 8) & 0xff) / 64.0f - 2.0f;
        }
        for (size_t k = 0; k < sr_tensor_numel(&dx); k++)
            dx.data[k] = dxr.data[k] = 99.0f; /* every element must be written */
        sr_maxpool2_forward(&x, &y);
        sr_maxpool2_forward_ref(&x, &yr);
        sr_maxpool2_backward(&x, &dy, &dx);
        sr_maxpool2_backward_ref(&x, &dy, &dxr);
        bad += memcmp(y.data, yr.data, sr_tensor_numel(&y) * sizeof(float)) != 0;
        bad += memcmp(dx.data, dxr.data, sr_tensor_numel(&dx) * sizeof(float)) != 0;
        runs++;
        sr_tensor_free(&x), sr_tensor_free(&dy), sr_tensor_free(&y), sr_tensor_free(&yr);
        sr_tensor_free(&dx), sr_tensor_free(&dxr);
    }
    CHECK_MSG(bad == 0, "%d of %d maxpool runs differ from the reference", bad, 2 * runs);
}

static void test_activations_forward(void)
{
    float x[4] = { -2, -0.0f, 0.5f, 3 }, y[4];
    sr_relu_forward(x, y, 4);
    CHECK(y[0] == 0 && y[1] == 0 && y[2] == 0.5f && y[3] == 3);
    sr_lrelu_forward(x, y, 4, 0.2f);
    CHECK(y[0] == -0.4f && y[2] == 0.5f && y[3] == 3);
    float xp[2 * 2] = { -1, 2, -3, 4 }, yp[4], alpha[2] = { 0.5f, 0.25f };
    sr_tensor tx = { 1, 2, 1, 2, xp }, ty = { 1, 2, 1, 2, yp };
    sr_prelu_forward(&tx, alpha, 2, &ty);
    CHECK(yp[0] == -0.5f && yp[1] == 2 && yp[2] == -0.75f && yp[3] == 4);
    sr_prelu_forward(&tx, alpha, 1, &ty);
    CHECK(yp[2] == -1.5f);
    float a[3] = { 1, 2, 3 }, b[3] = { 10, 20, 30 };
    sr_add(a, b, b, 3);
    CHECK(b[0] == 11 && b[2] == 33);
    sr_axpy(2.0f, a, b, 3);
    CHECK(b[0] == 13 && b[1] == 26);
}

int main(void)
{
    RUN(test_arena);
    RUN(test_pixel_shuffle_formula);
    RUN(test_pixel_shuffle_fast_vs_ref);
    RUN(test_upsample_vs_torch);
    RUN(test_upsample_region_tiles);
    RUN(test_maxpool_fast_vs_ref);
    RUN(test_maxpool_forward);
    RUN(test_activations_forward);
    return testlib_summary();
}
