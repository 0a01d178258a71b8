/* conv2d_winograd_avx2.c: Winograd F(4x4, 3x3) with AVX2 + FMA.
 *
 * The image's 4x4 output tiles (grid anchored to image coordinates, see
 * conv2d_internal.h) are processed in bands of at most NT_MAX tiles (whole
 * tile rows when the image is narrow, else chunks of a tile row), so that a
 * band's transformed input V[36][cin][tiles] (~300 KB for 64 channels) and
 * a block of products M[36][KB][tiles] stay in L2:
 *  1. input transform: 8 tiles per vector. Each of the 6 input rows of a
 *     tile row is copied into a zero-padded line and de-interleaved by
 *     column mod 4, so the columns 4j .. 4j+5 of tiles j .. j+7 are six
 *     contiguous (shifted) loads; B^T is applied down the columns, then
 *     across;
 *  2. 36 GEMMs M[p] = U[p] x V[p] per block of KB output channels, by a
 *     6-channel x 16-tile micro-kernel (12 accumulators; each channel's
 *     sum runs in channel order from zero, whatever the band, so a tile's
 *     bits do not depend on which band it falls in);
 *  3. output transform (A^T down, then across, 8 tiles per vector), + bias,
 *     re-interleaved into rows, the epilogue (residual add, activation)
 *     applied in registers, stored (the partial chunks at the image edges
 *     through small buffers, the same operations). The residual of each
 *     pixel is read just before the pixel is stored, so it may be y itself.
 * The arithmetic is the reference's (conv2d_winograd.h macros), so both
 * give the same bits.
 *
 * On AVX-512 CPUs (sr_wino_avx512()) the forward runs the transforms of
 * bands with at least 16 tile columns (inference images; training's 32x32
 * ones have 8) 16 tiles per vector (sr_wino_input_band_avx512,
 * output_band512; a last chunk of 8 tiles with the AVX2 code): the same
 * operations per lane, so the same bits (tests/nn/test_nn_winograd_avx512.c
 * compares them with the AVX2 ones). */
#include "conv2d_internal.h"
#include "conv2d_winograd.h"

#include <string.h>

#define NCX_MAX 32 /* tile columns per band (multiple of 8) */
#define NT_MAX SR_WINO_NT_MAX /* tiles per band, at most (multiple of NR) */
#define KB SR_WINO_KB /* output channels per GEMM block (multiple of WINO_MR) */
#define NR 16      /* tiles per micro-kernel call */
#define IN_PREFETCH 2 /* channels ahead whose input rows are prefetched (AVX-512 transform) */

/* zeros: rows outside the image, and what an absent residual or gate reads */
static const float zline[4 * (NCX_MAX + 8)];

static int round_up(int v, int a)
{
    return (v + a - 1) / a * a;
}

/* V, M, and the bf16 kernel's Vb (one word per channel pair) */
size_t sr_wino_scratch(const sr_wino_geom *g)
{
    return (size_t)WINO_P * NT_MAX * ((size_t)g->cin + KB + ((size_t)g->cin + 1) / 2) + 16;
}

int sr_wino_next_band(const sr_wino_geom *g, int n, sr_wino_band *b)
{
    const int tyn = (g->h + g->py + 3) / 4, txn = (g->w + g->px + 3) / 4;
    const int step = round_up(txn, 8) < NCX_MAX ? round_up(txn, 8) : NCX_MAX;
    const int nr_max = NT_MAX / step > 1 ? NT_MAX / step : 1;
    const int ncol = (txn + step - 1) / step, nrow = (tyn + nr_max - 1) / nr_max;
    if (n < 0 || n >= ncol * nrow)
        return 0;
    b->ty0 = n / ncol * nr_max;
    b->nr = tyn - b->ty0 < nr_max ? tyn - b->ty0 : nr_max;
    b->cx0 = n % ncol * step;
    b->ncx = round_up(txn - b->cx0, 8) < step ? round_up(txn - b->cx0, 8) : step;
    b->nt = b->nr * b->ncx;
    b->ntp = round_up(b->nt, NR);
    return 1;
}

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#include "conv2d_winograd_avx2.h"

/* scalar lanes: one rounding per FMA, as the vector instruction */
#define SC_ADD(a, b) ((a) + (b))
#define SC_SUB(a, b) ((a) - (b))
#define SC_FMA(a, b, c) __builtin_fmaf((a), (b), (c))
#define SC_C(x) (x)

/* The inverse: r[v][i] = out[8v + i] with out[4j + q] = y_q[j]. */
INL void interleave(__m256 y0, __m256 y1, __m256 y2, __m256 y3, __m256 *r)
{
    __m256 t0 = _mm256_unpacklo_ps(y0, y1), t1 = _mm256_unpackhi_ps(y0, y1);
    __m256 t2 = _mm256_unpacklo_ps(y2, y3), t3 = _mm256_unpackhi_ps(y2, y3);
    __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    r[0] = _mm256_permute2f128_ps(s0, s1, 0x20);
    r[1] = _mm256_permute2f128_ps(s2, s3, 0x20);
    r[2] = _mm256_permute2f128_ps(s0, s1, 0x31);
    r[3] = _mm256_permute2f128_ps(s2, s3, 0x31);
}

/* The epilogue of one output channel, in registers: the operations of
 * sr_conv_epilogue_rows (y + residual, then d > 0 ? d : 0 or d * a), so the
 * same bits (max(d, +0) is +0 for -0 and NaN, like the comparison). */
typedef struct chan_ep {
    const float *res;  /* residual plane of this channel, or NULL */
    int act;           /* SR_ACT_* */
    __m256 a;          /* LReLU slope or this channel's PReLU alpha */
    const float *gate; /* sr_wino_gate: this channel's plane, or NULL */
    int gact;          /* its SR_ACT_RELU or SR_ACT_LRELU */
    __m256 gs;         /* its slope */
    float as, gss;     /* a and gs as scalars (for the AVX-512 epilogue) */
} chan_ep;

INL void channel_epilogue(const sr_conv_epilogue *ep, const sr_wino_gate *gt, int k,
                          size_t plane, chan_ep *c)
{
    c->res = NULL;
    c->act = SR_ACT_NONE;
    c->a = _mm256_setzero_ps();
    c->gate = gt ? gt->x + (size_t)k * plane : NULL;
    c->gact = gt ? (int)gt->act : SR_ACT_NONE;
    c->gss = gt && gt->act == SR_ACT_LRELU ? gt->slope : 0.0f;
    c->gs = _mm256_set1_ps(c->gss);
    c->as = 0.0f;
    if (!ep)
        return;
    c->res = ep->residual ? ep->residual + (size_t)k * plane : NULL;
    c->act = (int)ep->act;
    if (ep->act == SR_ACT_LRELU)
        c->as = ep->slope;
    else if (ep->act == SR_ACT_PRELU)
        c->as = ep->alpha[ep->nalpha == 1 ? 0 : k / (ep->group > 0 ? ep->group : 1)];
    c->a = _mm256_set1_ps(c->as);
}

/* ... then the gate: sr_relu_backward's gate > 0 ? d : 0, or
 * sr_lrelu_backward's gate > 0 ? d : d * slope (NaN gates fail the
 * comparison there and here). */
INL __m256 apply_ep(const chan_ep *e, __m256 d, const float *res, const float *gate)
{
    if (e->res)
        d = _mm256_add_ps(d, _mm256_loadu_ps(res));
    if (e->act == SR_ACT_RELU)
        d = _mm256_max_ps(d, _mm256_setzero_ps());
    else if (e->act == SR_ACT_LRELU || e->act == SR_ACT_PRELU)
        d = _mm256_blendv_ps(_mm256_mul_ps(d, e->a), d,
                             _mm256_cmp_ps(d, _mm256_setzero_ps(), _CMP_GT_OQ));
    if (e->gate) {
        const __m256 pos = _mm256_cmp_ps(_mm256_loadu_ps(gate), _mm256_setzero_ps(), _CMP_GT_OQ);
        d = _mm256_blendv_ps(e->gact == SR_ACT_RELU ? _mm256_setzero_ps() : _mm256_mul_ps(d, e->gs),
                             d, pos);
    }
    return d;
}

/* A band (sr_wino_band): tile rows [ty0, ty0 + nr) x tile columns [cx0,
 * cx0 + ncx); tile (r, j) is column r * ncx + j of V and M, whose rows are
 * ntp apart. The weight gradient (conv2d_winograd_dw_avx2.c) uses the same
 * input transform. */
typedef sr_wino_band band;

/* The band's transformed input V[36][cin][ntp]. Per channel and tile row:
 * the 6 input rows are copied into zero-padded lines and de-interleaved
 * into D (rows 4 and 5 of a tile row are rows 0 and 1 of the next: kept
 * by renaming the rows, not copied and de-interleaved again), B^T goes
 * down the columns (T), then across. The row transform of tiles j .. j+7 reads columns 0 and 1
 * of tile j+8 too; for the last chunk those two values are all that is
 * needed, so they are computed with scalar FMAs (the same operations as a
 * vector lane, so the same bits) instead of a whole 8-tile chunk, which
 * doubled the work on 32-pixel-wide training images (8 tiles). */
AVX2 void sr_wino_input_band_avx2(const sr_wino_geom *g, const float *x, const band *b, float *V)
{
    const int h = g->h, w = g->w, C = g->cin, ncx = b->ncx, L = 4 * ncx + 2;
    const size_t ntp = (size_t)b->ntp;
    float Dbuf[6][4][NCX_MAX + 8], T[6][4][NCX_MAX + 8];
    float (*D[6])[NCX_MAX + 8]; /* the 6 rows in Dbuf, renamed rather than copied */
    for (int i = 0; i < 6; i++)
        D[i] = Dbuf[i];
    const int xs = 4 * b->cx0 - g->px - 1; /* input column of a row's element 0 */
    const int lo = xs < 0 ? -xs : 0, hi = w - xs < L ? w - xs : L; /* in the image */
    for (int c = 0; c < C; c++) {
        for (int r = 0; r < b->nr; r++) {
            const int oyl = 4 * (b->ty0 + r) - g->py;
            int i0 = 0;
            if (r > 0) { /* this tile row's input rows 0 and 1 were the last one's 4 and 5 */
                float(*const d0)[NCX_MAX + 8] = D[0], (*const d1)[NCX_MAX + 8] = D[1];
                D[0] = D[4];
                D[1] = D[5];
                D[4] = d0; /* rewritten below, like D[2] and D[3] */
                D[5] = d1;
                i0 = 2;
            }
            for (int i = i0; i < 6; i++) {
                const int iy = oyl - 1 + i;
                in_row rw = {zline, 0, L}; /* rows outside the image: zeros */
                if (iy >= 0 && iy < h && hi > lo)
                    rw = (in_row){x + ((size_t)c * h + iy) * w + xs, lo, hi};
                for (int j = 0; j < ncx; j += 8) {
                    __m256 q[4];
                    row_deinterleave(&rw, 4 * j, q);
                    for (int m = 0; m < 4; m++)
                        _mm256_storeu_ps(&D[i][m][j], q[m]);
                }
                D[i][0][ncx] = row_at(&rw, 4 * ncx); /* tile ncx's columns 0 and 1 */
                D[i][1][ncx] = row_at(&rw, 4 * ncx + 1);
            }
            for (int m = 0; m < 4; m++) /* down the columns */
                for (int j = 0; j < ncx; j += 8) {
                    __m256 v0, v1, v2, v3, v4, v5;
                    WINO_BT(V_ADD, V_SUB, V_FMA, V_C, _mm256_loadu_ps(&D[0][m][j]),
                            _mm256_loadu_ps(&D[1][m][j]), _mm256_loadu_ps(&D[2][m][j]),
                            _mm256_loadu_ps(&D[3][m][j]), _mm256_loadu_ps(&D[4][m][j]),
                            _mm256_loadu_ps(&D[5][m][j]), v0, v1, v2, v3, v4, v5);
                    _mm256_storeu_ps(&T[0][m][j], v0);
                    _mm256_storeu_ps(&T[1][m][j], v1);
                    _mm256_storeu_ps(&T[2][m][j], v2);
                    _mm256_storeu_ps(&T[3][m][j], v3);
                    _mm256_storeu_ps(&T[4][m][j], v4);
                    _mm256_storeu_ps(&T[5][m][j], v5);
                }
            for (int m = 0; m < 2; m++) /* the same for the two values of tile ncx */
                WINO_BT(SC_ADD, SC_SUB, SC_FMA, SC_C, D[0][m][ncx], D[1][m][ncx], D[2][m][ncx],
                        D[3][m][ncx], D[4][m][ncx], D[5][m][ncx], T[0][m][ncx], T[1][m][ncx],
                        T[2][m][ncx], T[3][m][ncx], T[4][m][ncx], T[5][m][ncx]);
            for (int i = 0; i < 6; i++) /* across: tile j's columns 4 and 5 are tile j+1's 0 and 1 */
                for (int j = 0; j < ncx; j += 8) {
                    __m256 v[6];
                    WINO_BT(V_ADD, V_SUB, V_FMA, V_C, _mm256_loadu_ps(&T[i][0][j]),
                            _mm256_loadu_ps(&T[i][1][j]), _mm256_loadu_ps(&T[i][2][j]),
                            _mm256_loadu_ps(&T[i][3][j]), _mm256_loadu_ps(&T[i][0][j + 1]),
                            _mm256_loadu_ps(&T[i][1][j + 1]), v[0], v[1], v[2], v[3], v[4],
                            v[5]);
                    float *dst = V + ((size_t)(i * 6) * C + c) * ntp + (size_t)r * ncx + j;
                    for (int q = 0; q < 6; q++)
                        _mm256_storeu_ps(dst + (size_t)q * C * ntp, v[q]);
                }
        }
        if (b->ntp > b->nt) /* padding tiles: zeros, computed and dropped */
            for (int p = 0; p < WINO_P; p++)
                memset(V + ((size_t)p * C + c) * ntp + b->nt, 0,
                       (size_t)(b->ntp - b->nt) * sizeof(float));
    }
}

/* The same transform with AVX-512, 16 tiles per vector (a last chunk of 8
 * tiles with the AVX2 operations), for bands with ncx >= 16: the same
 * operations per lane, so the same bits. With Vb (the bf16 forward), each
 * channel's V goes to a small buffer instead, and each channel pair is
 * rounded and packed into Vb as sr_wino_band_to_bf16 does (V itself is not
 * written: a write and a read of ~300 KB less per band). */
static AVX512T void input_band512(const sr_wino_geom *g, const float *x, const band *b, float *V,
                                  uint32_t *Vb)
{
    const int h = g->h, w = g->w, C = g->cin, ncx = b->ncx, L = 4 * ncx + 2;
    const int n16 = ncx / 16 * 16; /* tiles [n16, ncx): one 8-tile chunk or none */
    const size_t ntp = (size_t)b->ntp;
    float Vs[2][WINO_P * NT_MAX]; /* Vb: V of a channel pair, [36][ntp] each */
    /* channel c's row of V[p] lies p * cs floats after its row of V[0]
     * (V + c * ntp, or Vs[c & 1] with Vb) */
    const size_t cs = Vb ? ntp : (size_t)C * ntp;
    float Dbuf[6][4][NCX_MAX + 8], T[6][4][NCX_MAX + 8];
    float (*D[6])[NCX_MAX + 8];
    for (int i = 0; i < 6; i++)
        D[i] = Dbuf[i];
    const int xs = 4 * b->cx0 - g->px - 1; /* input column of a row's element 0 */
    const int lo = xs < 0 ? -xs : 0, hi = w - xs < L ? w - xs : L;
    const int iy0 = 4 * b->ty0 - g->py - 1 > 0 ? 4 * b->ty0 - g->py - 1 : 0;
    const int iy1 = 4 * (b->ty0 + b->nr) - g->py + 1 < h ? 4 * (b->ty0 + b->nr) - g->py + 1 : h;
    for (int c = 0; c < C; c++) {
        /* the rows of channel c + IN_PREFETCH, into the cache: a band's rows
         * of one channel (6 x 130 floats for 32 tiles) are too short a
         * stream for the hardware prefetcher, and without this the reads
         * waited for memory (measured: reading rows in place without it
         * was 3 % slower than copying them, with it as fast) */
        if (c + IN_PREFETCH < C && hi > lo)
            for (int iy = iy0; iy < iy1; iy++) {
                const float *src = x + ((size_t)(c + IN_PREFETCH) * h + iy) * w + xs;
                for (int k = lo; k < hi; k += 16)
                    __builtin_prefetch(src + k, 0, 3);
                __builtin_prefetch(src + hi - 1, 0, 3);
            }
        for (int r = 0; r < b->nr; r++) {
            const int oyl = 4 * (b->ty0 + r) - g->py;
            int i0 = 0;
            if (r > 0) {
                float(*const d0)[NCX_MAX + 8] = D[0], (*const d1)[NCX_MAX + 8] = D[1];
                D[0] = D[4];
                D[1] = D[5];
                D[4] = d0;
                D[5] = d1;
                i0 = 2;
            }
            for (int i = i0; i < 6; i++) {
                const int iy = oyl - 1 + i;
                in_row rw = {zline, 0, L}; /* rows outside the image: zeros */
                if (iy >= 0 && iy < h && hi > lo)
                    rw = (in_row){x + ((size_t)c * h + iy) * w + xs, lo, hi};
                int j = 0;
                for (; j < n16; j += 16) {
                    __m512 q[4];
                    row_deinterleave16(&rw, 4 * j, q);
                    for (int m = 0; m < 4; m++)
                        _mm512_storeu_ps(&D[i][m][j], q[m]);
                }
                if (j < ncx) {
                    __m256 q[4];
                    row_deinterleave(&rw, 4 * j, q);
                    for (int m = 0; m < 4; m++)
                        _mm256_storeu_ps(&D[i][m][j], q[m]);
                }
                D[i][0][ncx] = row_at(&rw, 4 * ncx); /* tile ncx's columns 0 and 1 */
                D[i][1][ncx] = row_at(&rw, 4 * ncx + 1);
            }
            for (int m = 0; m < 4; m++) { /* down the columns */
                int j = 0;
                for (; j < n16; j += 16) {
                    __m512 v0, v1, v2, v3, v4, v5;
                    WINO_BT(W_ADD, W_SUB, W_FMA, W_C, _mm512_loadu_ps(&D[0][m][j]),
                            _mm512_loadu_ps(&D[1][m][j]), _mm512_loadu_ps(&D[2][m][j]),
                            _mm512_loadu_ps(&D[3][m][j]), _mm512_loadu_ps(&D[4][m][j]),
                            _mm512_loadu_ps(&D[5][m][j]), v0, v1, v2, v3, v4, v5);
                    _mm512_storeu_ps(&T[0][m][j], v0);
                    _mm512_storeu_ps(&T[1][m][j], v1);
                    _mm512_storeu_ps(&T[2][m][j], v2);
                    _mm512_storeu_ps(&T[3][m][j], v3);
                    _mm512_storeu_ps(&T[4][m][j], v4);
                    _mm512_storeu_ps(&T[5][m][j], v5);
                }
                if (j < ncx) {
                    __m256 v0, v1, v2, v3, v4, v5;
                    WINO_BT(V_ADD, V_SUB, V_FMA, V_C, _mm256_loadu_ps(&D[0][m][j]),
                            _mm256_loadu_ps(&D[1][m][j]), _mm256_loadu_ps(&D[2][m][j]),
                            _mm256_loadu_ps(&D[3][m][j]), _mm256_loadu_ps(&D[4][m][j]),
                            _mm256_loadu_ps(&D[5][m][j]), v0, v1, v2, v3, v4, v5);
                    _mm256_storeu_ps(&T[0][m][j], v0);
                    _mm256_storeu_ps(&T[1][m][j], v1);
                    _mm256_storeu_ps(&T[2][m][j], v2);
                    _mm256_storeu_ps(&T[3][m][j], v3);
                    _mm256_storeu_ps(&T[4][m][j], v4);
                    _mm256_storeu_ps(&T[5][m][j], v5);
                }
            }
            for (int m = 0; m < 2; m++)
                WINO_BT(SC_ADD, SC_SUB, SC_FMA, SC_C, D[0][m][ncx], D[1][m][ncx], D[2][m][ncx],
                        D[3][m][ncx], D[4][m][ncx], D[5][m][ncx], T[0][m][ncx], T[1][m][ncx],
                        T[2][m][ncx], T[3][m][ncx], T[4][m][ncx], T[5][m][ncx]);
            for (int i = 0; i < 6; i++) { /* across */
                float *dst = (Vb ? Vs[c & 1] : V + (size_t)c * ntp) + (size_t)(i * 6) * cs +
                             (size_t)r * ncx;
                int j = 0;
                for (; j < n16; j += 16) {
                    __m512 v[6];
                    WINO_BT(W_ADD, W_SUB, W_FMA, W_C, _mm512_loadu_ps(&T[i][0][j]),
                            _mm512_loadu_ps(&T[i][1][j]), _mm512_loadu_ps(&T[i][2][j]),
                            _mm512_loadu_ps(&T[i][3][j]), _mm512_loadu_ps(&T[i][0][j + 1]),
                            _mm512_loadu_ps(&T[i][1][j + 1]), v[0], v[1], v[2], v[3], v[4],
                            v[5]);
                    for (int q = 0; q < 6; q++)
                        _mm512_storeu_ps(dst + (size_t)q * cs + j, v[q]);
                }
                if (j < ncx) {
                    __m256 v[6];
                    WINO_BT(V_ADD, V_SUB, V_FMA, V_C, _mm256_loadu_ps(&T[i][0][j]),
                            _mm256_loadu_ps(&T[i][1][j]), _mm256_loadu_ps(&T[i][2][j]),
                            _mm256_loadu_ps(&T[i][3][j]), _mm256_loadu_ps(&T[i][0][j + 1]),
                            _mm256_loadu_ps(&T[i][1][j + 1]), v[0], v[1], v[2], v[3], v[4],
                            v[5]);
                    for (int q = 0; q < 6; q++)
                        _mm256_storeu_ps(dst + (size_t)q * cs + j, v[q]);
                }
            }
        }
        if (b->ntp > b->nt)
            for (int p = 0; p < WINO_P; p++)
                memset((Vb ? Vs[c & 1] : V + (size_t)c * ntp) + p * cs + b->nt, 0,
                       (size_t)(b->ntp - b->nt) * sizeof(float));
        if (Vb && (c & 1 || c == C - 1)) { /* channels c & ~1 and c (or zeros) */
            const int C2 = (C + 1) / 2;
            for (int p = 0; p < WINO_P; p++) {
                const float *e = Vs[0] + (size_t)p * ntp, *o = Vs[1] + (size_t)p * ntp;
                uint32_t *d = Vb + ((size_t)p * C2 + c / 2) * ntp;
                for (size_t t = 0; t < ntp; t += 16) {
                    const __m512i lo = bf16_round16(_mm512_loadu_ps(e + t));
                    const __m512i hi =
                        c & 1 ? _mm512_slli_epi32(bf16_round16(_mm512_loadu_ps(o + t)), 16)
                              : _mm512_setzero_si512();
                    _mm512_storeu_si512(d + t, _mm512_or_si512(lo, hi));
                }
            }
        }
    }
}

/* Bands 8 tiles wide (training's 32-pixel maps, where the transform was a
 * fifth of a psnr step in the AVX2 code above), with AVX-512: two tile rows
 * per 16-lane vector, lanes 0-7 tile row r and 8-15 row r + 1, which are
 * adjacent columns of V since ncx = 8. Each lane runs the AVX2 code's
 * operations (the next tile's two columns for the row transform come from
 * a lane shift within each half, the last lane's from the scalar
 * transform), so the same bits. An odd last tile row runs with a dummy
 * second half, not stored. */
static AVX512T void input_band8x2(const sr_wino_geom *g, const float *x, const band *b, float *V)
{
    const int h = g->h, w = g->w, C = g->cin, L = 4 * 8 + 2;
    const size_t ntp = (size_t)b->ntp;
    const int xs = 4 * b->cx0 - g->px - 1; /* input column of a row's element 0 */
    const int lo = xs < 0 ? -xs : 0, hi = w - xs < L ? w - xs : L;
    /* lane k of a half takes lane k + 1, the half's last lane the second
     * operand's (the scalar transform's values of tile 8) */
    const __m512i shift = _mm512_setr_epi32(1, 2, 3, 4, 5, 6, 7, 23, 9, 10, 11, 12, 13, 14, 15, 31);
    for (int c = 0; c < C; c++) {
        for (int r = 0; r < b->nr; r += 2) {
            const __mmask16 keep = r + 1 < b->nr ? 0xffff : 0x00ff;
            const int oyl = 4 * (b->ty0 + r) - g->py;
            __m512 D[6][4];
            float E[6][2][2]; /* row i, half, column 0 or 1 of tile 8 */
            for (int i = 0; i < 6; i++) {
                __m256 q[2][4];
                for (int half = 0; half < 2; half++) {
                    const int iy = oyl - 1 + i + 4 * half;
                    in_row rw = {zline, 0, L}; /* rows outside the image: zeros */
                    if (iy >= 0 && iy < h && hi > lo)
                        rw = (in_row){x + ((size_t)c * h + iy) * w + xs, lo, hi};
                    row_deinterleave(&rw, 0, q[half]);
                    E[i][half][0] = row_at(&rw, 32);
                    E[i][half][1] = row_at(&rw, 33);
                }
                for (int m = 0; m < 4; m++)
                    D[i][m] = _mm512_castpd_ps(_mm512_insertf64x4(
                        _mm512_castps_pd(_mm512_castps256_ps512(q[0][m])), _mm256_castps_pd(q[1][m]),
                        1));
            }
            __m512 T[6][4];
            for (int m = 0; m < 4; m++) /* down the columns */
                WINO_BT(W_ADD, W_SUB, W_FMA, W_C, D[0][m], D[1][m], D[2][m], D[3][m], D[4][m],
                        D[5][m], T[0][m], T[1][m], T[2][m], T[3][m], T[4][m], T[5][m]);
            float TE[6][2][2];
            for (int half = 0; half < 2; half++)
                for (int m = 0; m < 2; m++)
                    WINO_BT(SC_ADD, SC_SUB, SC_FMA, SC_C, E[0][half][m], E[1][half][m],
                            E[2][half][m], E[3][half][m], E[4][half][m], E[5][half][m],
                            TE[0][half][m], TE[1][half][m], TE[2][half][m], TE[3][half][m],
                            TE[4][half][m], TE[5][half][m]);
            for (int i = 0; i < 6; i++) { /* across */
                const __m512 e0 = _mm512_mask_broadcastss_ps(_mm512_set1_ps(TE[i][0][0]), 0xff00,
                                                             _mm_set_ss(TE[i][1][0]));
                const __m512 e1 = _mm512_mask_broadcastss_ps(_mm512_set1_ps(TE[i][0][1]), 0xff00,
                                                             _mm_set_ss(TE[i][1][1]));
                __m512 v[6];
                WINO_BT(W_ADD, W_SUB, W_FMA, W_C, T[i][0], T[i][1], T[i][2], T[i][3],
                        _mm512_permutex2var_ps(T[i][0], shift, e0),
                        _mm512_permutex2var_ps(T[i][1], shift, e1), v[0], v[1], v[2], v[3],
                        v[4], v[5]);
                float *dst = V + ((size_t)(i * 6) * C + c) * ntp + (size_t)r * 8;
                for (int q = 0; q < 6; q++)
                    _mm512_mask_storeu_ps(dst + (size_t)q * C * ntp, keep, v[q]);
            }
        }
        if (b->ntp > b->nt) /* padding tiles: zeros, computed and dropped */
            for (int p = 0; p < WINO_P; p++)
                memset(V + ((size_t)p * C + c) * ntp + b->nt, 0,
                       (size_t)(b->ntp - b->nt) * sizeof(float));
    }
}

void sr_wino_input_band_avx512(const sr_wino_geom *g, const float *x, const band *b, float *V)
{
    if (b->ncx == 8)
        input_band8x2(g, x, b, V);
    else
        input_band512(g, x, b, V, NULL);
}

void sr_wino_input_band_bf16_avx512(const sr_wino_geom *g, const float *x, const band *b,
                                    uint32_t *Vb)
{
    input_band512(g, x, b, NULL, Vb);
}

/* m[j][0..16) = sum over c, in order, of u[c][j] * v[c][0..16). Written
 * out by hand (12 named accumulators): with arrays and loops, -O2 kept the
 * accumulators in memory and ran 3x slower than -O3. */
INL void micro(const float *u, const float *v, size_t ldv, int C, float *m, size_t ldm)
{
    __m256 a00 = _mm256_setzero_ps(), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00;
    __m256 a30 = a00, a31 = a00, a40 = a00, a41 = a00, a50 = a00, a51 = a00;
    for (int c = 0; c < C; c++, u += WINO_MR, v += ldv) {
        const __m256 v0 = _mm256_loadu_ps(v), v1 = _mm256_loadu_ps(v + 8);
        __m256 b;
#define MICRO_ROW(j)                              \
        b = _mm256_broadcast_ss(u + j);           \
        a##j##0 = _mm256_fmadd_ps(b, v0, a##j##0); \
        a##j##1 = _mm256_fmadd_ps(b, v1, a##j##1)
        MICRO_ROW(0);
        MICRO_ROW(1);
        MICRO_ROW(2);
        MICRO_ROW(3);
        MICRO_ROW(4);
        MICRO_ROW(5);
#undef MICRO_ROW
    }
#define MICRO_STORE(j)                                   \
    _mm256_storeu_ps(m + (size_t)j * ldm, a##j##0);     \
    _mm256_storeu_ps(m + (size_t)j * ldm + 8, a##j##1)
    MICRO_STORE(0);
    MICRO_STORE(1);
    MICRO_STORE(2);
    MICRO_STORE(3);
    MICRO_STORE(4);
    MICRO_STORE(5);
#undef MICRO_STORE
}

/* The same sums with AVX-512 on CPUs that have it (the GEMMs are about
 * half of the kernel's time, and a zmm FMA does twice a ymm one's work on
 * cores with 512-bit units): NB (1 or 2) blocks of 6 channels x NV (1 or 2)
 * vectors of 16 tiles, up to 24 accumulators. Every sum is the same chain
 * of FMAs over the channels in order from zero, so the same bits. */
static inline __attribute__((always_inline)) AVX512 void
micro512(const float *u0, const float *u1, const float *v, size_t ldv, int C, float *m,
         size_t ldm, const int NB, const int NV)
{
    __m512 acc[2][WINO_MR][2];
    _Pragma("GCC unroll 2")
    for (int b = 0; b < NB; b++)
        _Pragma("GCC unroll 6")
        for (int j = 0; j < WINO_MR; j++)
            _Pragma("GCC unroll 2")
            for (int q = 0; q < NV; q++)
                acc[b][j][q] = _mm512_setzero_ps();
    for (int c = 0; c < C; c++, u0 += WINO_MR, u1 += WINO_MR, v += ldv) {
        __m512 vv[2];
        _Pragma("GCC unroll 2")
        for (int q = 0; q < NV; q++)
            vv[q] = _mm512_loadu_ps(v + 16 * q);
        _Pragma("GCC unroll 2")
        for (int b = 0; b < NB; b++)
            _Pragma("GCC unroll 6")
            for (int j = 0; j < WINO_MR; j++) {
                const __m512 bj = _mm512_set1_ps((b ? u1 : u0)[j]);
                _Pragma("GCC unroll 2")
                for (int q = 0; q < NV; q++)
                    acc[b][j][q] = _mm512_fmadd_ps(bj, vv[q], acc[b][j][q]);
            }
    }
    _Pragma("GCC unroll 2")
    for (int b = 0; b < NB; b++)
        _Pragma("GCC unroll 6")
        for (int j = 0; j < WINO_MR; j++)
            _Pragma("GCC unroll 2")
            for (int q = 0; q < NV; q++)
                _mm512_storeu_ps(m + (size_t)(b * WINO_MR + j) * ldm + 16 * q, acc[b][j][q]);
}

typedef void (*micro512_fn)(const float *, const float *, const float *, size_t, int, float *,
                            size_t);
#define MICRO512(NB, NV)                                                                   \
    static AVX512 void micro512_##NB##_##NV(const float *u0, const float *u1, const float *v, \
                                            size_t ldv, int C, float *m, size_t ldm)         \
    {                                                                                      \
        micro512(u0, u1, v, ldv, C, m, ldm, NB, NV);                                       \
    }
MICRO512(1, 1)
MICRO512(1, 2)
MICRO512(2, 1)
MICRO512(2, 2)

/* M[p] = U[p] x V[p] for output channels [kb0, kb0 + kbn) of the band. */
static AVX2 void band_gemm(const float *u, const float *V, int C, int K6, int kb0, int kbn,
                           const band *b, float *M, int avx512)
{
    static const micro512_fn fns[2][2] = {{micro512_1_1, micro512_1_2},
                                          {micro512_2_1, micro512_2_2}};
    for (int p = 0; p < WINO_P; p++) {
        const float *up = u + ((size_t)p * (K6 / WINO_MR) + kb0 / WINO_MR) * C * WINO_MR;
        const float *vp = V + (size_t)p * C * b->ntp;
        float *mp = M + (size_t)p * KB * b->ntp;
        if (avx512) {
            for (int t = 0; t < b->ntp; t += 32) {
                const int nv = b->ntp - t >= 32 ? 2 : 1;
                for (int k6 = 0; k6 < kbn; k6 += 2 * WINO_MR) {
                    const int nb = kbn - k6 >= 2 * WINO_MR ? 2 : 1;
                    fns[nb - 1][nv - 1](up + (size_t)k6 * C, up + (size_t)(k6 + WINO_MR) * C,
                                        vp + t, (size_t)b->ntp, C,
                                        mp + (size_t)k6 * b->ntp + t, (size_t)b->ntp);
                }
            }
        } else {
            for (int t = 0; t < b->ntp; t += NR)
                for (int k6 = 0; k6 < kbn; k6 += WINO_MR)
                    micro(up + (size_t)k6 * C, vp + t, (size_t)b->ntp, C,
                          mp + (size_t)k6 * b->ntp + t, (size_t)b->ntp);
        }
    }
}

/* Output tiles j .. j+7 of a tile row (first output row oyl, first column
 * xb) of one channel from M (mp: tile j of the channel's row of M[0]). */
INL void out_chunk8(const chan_ep *ce, int any, const float *mp, size_t pstride, __m256 bk,
                    float *yk, int oyl, int h, int w, int xb)
{
    __m256 t[4][6];
    for (int q = 0; q < 6; q++)
        WINO_AT(V_ADD, V_SUB, V_FMA, V_C, _mm256_loadu_ps(mp + (0 * 6 + q) * pstride),
                _mm256_loadu_ps(mp + (1 * 6 + q) * pstride),
                _mm256_loadu_ps(mp + (2 * 6 + q) * pstride),
                _mm256_loadu_ps(mp + (3 * 6 + q) * pstride),
                _mm256_loadu_ps(mp + (4 * 6 + q) * pstride),
                _mm256_loadu_ps(mp + (5 * 6 + q) * pstride), t[0][q], t[1][q], t[2][q],
                t[3][q]);
    for (int o = 0; o < 4; o++) {
        const int yy = oyl + o;
        if (yy < 0 || yy >= h)
            continue;
        __m256 o0, o1, o2, o3;
        WINO_AT(V_ADD, V_SUB, V_FMA, V_C, t[o][0], t[o][1], t[o][2], t[o][3], t[o][4], t[o][5],
                o0, o1, o2, o3);
        o0 = _mm256_add_ps(o0, bk);
        o1 = _mm256_add_ps(o1, bk);
        o2 = _mm256_add_ps(o2, bk);
        o3 = _mm256_add_ps(o3, bk);
        float *row = yk + (size_t)yy * w;
        __m256 v[4];
        interleave(o0, o1, o2, o3, v);
        /* the residual is read just before its pixels are stored, so it
         * may be y itself (y += conv: training's dx accumulation,
         * sr_wino_forward_acc) */
        if (xb >= 0 && xb + 32 <= w) { /* epilogue in registers */
            const size_t at = (size_t)yy * w + xb;
            const float *res = ce->res ? ce->res + at : zline;
            const float *gp = ce->gate ? ce->gate + at : zline;
            for (int q = 0; q < 4; q++)
                _mm256_storeu_ps(row + xb + 8 * q,
                                 any ? apply_ep(ce, v[q], res + 8 * q, gp + 8 * q) : v[q]);
        } else { /* a chunk cut by the image's edge: the same, via buffers */
            const int a = xb > 0 ? xb : 0, e = xb + 32 < w ? xb + 32 : w;
            if (e <= a)
                continue;
            float tmp[32], rt[32] = {0}, gb[32] = {0};
            if (ce->res)
                memcpy(rt + (a - xb), ce->res + (size_t)yy * w + a, (size_t)(e - a) * sizeof(float));
            if (ce->gate)
                memcpy(gb + (a - xb), ce->gate + (size_t)yy * w + a,
                       (size_t)(e - a) * sizeof(float));
            for (int q = 0; q < 4; q++)
                _mm256_storeu_ps(tmp + 8 * q,
                                 any ? apply_ep(ce, v[q], rt + 8 * q, gb + 8 * q) : v[q]);
            memcpy(row + a, tmp + (a - xb), (size_t)(e - a) * sizeof(float));
        }
    }
}

/* Output channels [k0, k0 + kn) of the band from M (rows k - k0). */
static AVX2 void output_band(const sr_wino_geom *g, const float *M, int k0, int kn,
                             const band *b, const float *bias, float *y,
                             const sr_conv_epilogue *ep, const sr_wino_gate *gt)
{
    const int h = g->h, w = g->w, ncx = b->ncx;
    const size_t ntp = (size_t)b->ntp, pstride = (size_t)KB * ntp, plane = (size_t)h * w;
    const int xb0 = 4 * b->cx0 - g->px; /* output column of the band's first tile */
    for (int kk = 0; kk < kn; kk++) {
        const int k = k0 + kk;
        const __m256 bk = _mm256_set1_ps(bias ? bias[k] : 0.0f);
        chan_ep ce;
        channel_epilogue(ep, gt, k, plane, &ce);
        const int any = ep || gt;
        float *yk = y + (size_t)k * plane;
        for (int r = 0; r < b->nr; r++) {
            const int oyl = 4 * (b->ty0 + r) - g->py;
            for (int j = 0; j < ncx; j += 8)
                out_chunk8(&ce, any, M + (size_t)kk * ntp + (size_t)r * ncx + j, pstride, bk, yk,
                           oyl, h, w, xb0 + 4 * j);
        }
    }
}

/* The inverse of deinterleave16: r[v][i] = out[16v + i] with out[4j + q] =
 * y_q[j], j < 16. */
INL512 void interleave16(__m512 y0, __m512 y1, __m512 y2, __m512 y3, __m512 *r)
{
    const __m512i lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i hi = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    const __m512i q0 = _mm512_setr_epi32(0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23);
    const __m512i q1 = _mm512_setr_epi32(8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31);
    /* pairs (y0, y1) and (y2, y3) of tiles 0..7 and 8..15 */
    const __m512 p01 = _mm512_permutex2var_ps(y0, lo, y1), p01h = _mm512_permutex2var_ps(y0, hi, y1);
    const __m512 p23 = _mm512_permutex2var_ps(y2, lo, y3), p23h = _mm512_permutex2var_ps(y2, hi, y3);
    r[0] = _mm512_permutex2var_ps(p01, q0, p23);
    r[1] = _mm512_permutex2var_ps(p01, q1, p23);
    r[2] = _mm512_permutex2var_ps(p01h, q0, p23h);
    r[3] = _mm512_permutex2var_ps(p01h, q1, p23h);
}

/* apply_ep on 16 lanes: the same operations */
INL512 __m512 apply_ep16(const chan_ep *e, __m512 a, __m512 gs, __m512 d, const float *res,
                         const float *gate)
{
    const __m512 z = _mm512_setzero_ps();
    if (e->res)
        d = _mm512_add_ps(d, _mm512_loadu_ps(res));
    if (e->act == SR_ACT_RELU)
        d = _mm512_max_ps(d, z);
    else if (e->act == SR_ACT_LRELU || e->act == SR_ACT_PRELU)
        d = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(d, z, _CMP_GT_OQ), _mm512_mul_ps(d, a), d);
    if (e->gate) {
        const __mmask16 pos = _mm512_cmp_ps_mask(_mm512_loadu_ps(gate), z, _CMP_GT_OQ);
        d = _mm512_mask_blend_ps(pos, e->gact == SR_ACT_RELU ? z : _mm512_mul_ps(d, gs), d);
    }
    return d;
}

/* out_chunk8 for tiles j .. j+15 with AVX-512 */
INL512 void out_chunk16(const chan_ep *ce, int any, __m512 a, __m512 gs, const float *mp,
                        size_t pstride, __m512 bk, float *yk, int oyl, int h, int w, int xb)
{
    __m512 t[4][6];
    for (int q = 0; q < 6; q++)
        WINO_AT(W_ADD, W_SUB, W_FMA, W_C, _mm512_loadu_ps(mp + (0 * 6 + q) * pstride),
                _mm512_loadu_ps(mp + (1 * 6 + q) * pstride),
                _mm512_loadu_ps(mp + (2 * 6 + q) * pstride),
                _mm512_loadu_ps(mp + (3 * 6 + q) * pstride),
                _mm512_loadu_ps(mp + (4 * 6 + q) * pstride),
                _mm512_loadu_ps(mp + (5 * 6 + q) * pstride), t[0][q], t[1][q], t[2][q],
                t[3][q]);
    for (int o = 0; o < 4; o++) {
        const int yy = oyl + o;
        if (yy < 0 || yy >= h)
            continue;
        __m512 o0, o1, o2, o3;
        WINO_AT(W_ADD, W_SUB, W_FMA, W_C, t[o][0], t[o][1], t[o][2], t[o][3], t[o][4], t[o][5],
                o0, o1, o2, o3);
        o0 = _mm512_add_ps(o0, bk);
        o1 = _mm512_add_ps(o1, bk);
        o2 = _mm512_add_ps(o2, bk);
        o3 = _mm512_add_ps(o3, bk);
        float *row = yk + (size_t)yy * w;
        __m512 v[4];
        interleave16(o0, o1, o2, o3, v);
        if (xb >= 0 && xb + 64 <= w) {
            const size_t at = (size_t)yy * w + xb;
            const float *res = ce->res ? ce->res + at : zline;
            const float *gp = ce->gate ? ce->gate + at : zline;
            for (int q = 0; q < 4; q++)
                _mm512_storeu_ps(row + xb + 16 * q,
                                 any ? apply_ep16(ce, a, gs, v[q], res + 16 * q, gp + 16 * q)
                                     : v[q]);
        } else {
            const int a0 = xb > 0 ? xb : 0, e = xb + 64 < w ? xb + 64 : w;
            if (e <= a0)
                continue;
            float tmp[64], rt[64] = {0}, gb[64] = {0};
            if (ce->res)
                memcpy(rt + (a0 - xb), ce->res + (size_t)yy * w + a0,
                       (size_t)(e - a0) * sizeof(float));
            if (ce->gate)
                memcpy(gb + (a0 - xb), ce->gate + (size_t)yy * w + a0,
                       (size_t)(e - a0) * sizeof(float));
            for (int q = 0; q < 4; q++)
                _mm512_storeu_ps(tmp + 16 * q,
                                 any ? apply_ep16(ce, a, gs, v[q], rt + 16 * q, gb + 16 * q)
                                     : v[q]);
            memcpy(row + a0, tmp + (a0 - xb), (size_t)(e - a0) * sizeof(float));
        }
    }
}

/* output_band with AVX-512, 16 tiles per vector (a last chunk of 8 tiles
 * by out_chunk8), for bands with ncx >= 16: the same bits. */
static AVX512T void output_band512(const sr_wino_geom *g, const float *M, int k0, int kn,
                                   const band *b, const float *bias, float *y,
                                   const sr_conv_epilogue *ep, const sr_wino_gate *gt)
{
    const int h = g->h, w = g->w, ncx = b->ncx, n16 = ncx / 16 * 16;
    const size_t ntp = (size_t)b->ntp, pstride = (size_t)KB * ntp, plane = (size_t)h * w;
    const int xb0 = 4 * b->cx0 - g->px;
    for (int kk = 0; kk < kn; kk++) {
        const int k = k0 + kk;
        const float bs = bias ? bias[k] : 0.0f;
        const __m256 bk = _mm256_set1_ps(bs);
        const __m512 bk16 = _mm512_set1_ps(bs);
        chan_ep ce;
        channel_epilogue(ep, gt, k, plane, &ce);
        const __m512 a16 = _mm512_set1_ps(ce.as), gs16 = _mm512_set1_ps(ce.gss);
        const int any = ep || gt;
        float *yk = y + (size_t)k * plane;
        for (int r = 0; r < b->nr; r++) {
            const int oyl = 4 * (b->ty0 + r) - g->py;
            const float *mr = M + (size_t)kk * ntp + (size_t)r * ncx;
            int j = 0;
            for (; j < n16; j += 16)
                out_chunk16(&ce, any, a16, gs16, mr + j, pstride, bk16, yk, oyl, h, w,
                            xb0 + 4 * j);
            if (j < ncx)
                out_chunk8(&ce, any, mr + j, pstride, bk, yk, oyl, h, w, xb0 + 4 * j);
        }
    }
}

/* The band's output transform and epilogue (conv2d_internal.h). */
void sr_wino_output_band(const sr_wino_geom *g, const float *M, int k0, int kn,
                         const sr_wino_band *b, const float *bias, float *y,
                         const sr_conv_epilogue *ep, const sr_wino_gate *gt, int avx512)
{
    if (avx512 && b->ncx >= 16)
        output_band512(g, M, k0, kn, b, bias, y, ep, gt);
    else
        output_band(g, M, k0, kn, b, bias, y, ep, gt);
}

/* The forward: fp32 GEMMs with u, or (ub not NULL) bf16 ones with ub. */
static AVX2 void forward_band_loop(const sr_wino_geom *g, const float *x, const float *u,
                                   const uint32_t *ub, const float *bias, float *y,
                                   float *scratch, const sr_conv_epilogue *ep,
                                   const sr_wino_gate *gt)
{
    const int C = g->cin, K = g->cout, K6 = round_up(K, WINO_MR);
    const int txn = (g->w + g->px + 3) / 4;
    int ty_lo, tyn;
    sr_wino_tile_rows(g, &ty_lo, &tyn);
    const int step = round_up(txn, 8) < NCX_MAX ? round_up(txn, 8) : NCX_MAX;
    const int nr_max = NT_MAX / step > 1 ? NT_MAX / step : 1;
    float *V = scratch, *M = scratch + (size_t)WINO_P * NT_MAX * C;
    uint32_t *Vb = (uint32_t *)(M + (size_t)WINO_P * NT_MAX * KB);
    const int avx512 = sr_wino_avx512();
    for (int ty0 = ty_lo; ty0 < tyn; ty0 += nr_max) {
        for (int cx0 = 0; cx0 < txn; cx0 += step) {
            band b;
            b.ty0 = ty0;
            b.nr = tyn - ty0 < nr_max ? tyn - ty0 : nr_max;
            b.cx0 = cx0;
            b.ncx = round_up(txn - cx0, 8) < step ? round_up(txn - cx0, 8) : step;
            b.nt = b.nr * b.ncx;
            b.ntp = round_up(b.nt, NR);
            const int wide = avx512 && b.ncx >= 16; /* the AVX-512 transforms */
            if (wide && ub) {
                sr_wino_input_band_bf16_avx512(g, x, &b, Vb);
            } else {
                if (avx512 && (wide || b.ncx == 8))
                    sr_wino_input_band_avx512(g, x, &b, V);
                else
                    sr_wino_input_band_avx2(g, x, &b, V);
                if (ub)
                    sr_wino_band_to_bf16(V, C, b.ntp, Vb);
            }
            for (int kb0 = 0; kb0 < K6; kb0 += KB) {
                const int kbn = K6 - kb0 < KB ? K6 - kb0 : KB;
                if (ub)
                    sr_wino_gemm_bf16(ub, Vb, C, K6, kb0, kbn, b.ntp, M, KB);
                else
                    band_gemm(u, V, C, K6, kb0, kbn, &b, M, avx512);
                if (wide)
                    output_band512(g, M, kb0, K - kb0 < kbn ? K - kb0 : kbn, &b, bias, y, ep,
                                   gt);
                else
                    output_band(g, M, kb0, K - kb0 < kbn ? K - kb0 : kbn, &b, bias, y, ep, gt);
            }
        }
    }
}

AVX2 void sr_wino_forward_gated_avx2(const sr_wino_geom *g, const float *x, const float *u,
                                     const float *bias, float *y, float *scratch,
                                     const sr_conv_epilogue *ep, const sr_wino_gate *gt)
{
    forward_band_loop(g, x, u, NULL, bias, y, scratch, ep, gt);
}

void sr_wino_forward_avx2(const sr_wino_geom *g, const float *x, const float *u,
                          const float *bias, float *y, float *scratch, const sr_conv_epilogue *ep)
{
    forward_band_loop(g, x, u, NULL, bias, y, scratch, ep, NULL);
}

void sr_wino_forward_bf16(const sr_wino_geom *g, const float *x, const uint32_t *ub,
                          const float *bias, float *y, float *scratch, const sr_conv_epilogue *ep)
{
    forward_band_loop(g, x, NULL, ub, bias, y, scratch, ep, NULL);
}

void sr_wino_forward_gated_bf16(const sr_wino_geom *g, const float *x, const uint32_t *ub,
                                const float *bias, float *y, float *scratch,
                                const sr_conv_epilogue *ep, const sr_wino_gate *gt)
{
    forward_band_loop(g, x, NULL, ub, bias, y, scratch, ep, gt);
}

#else /* no AVX2 build: never dispatched (sr_conv_avx2_cpu_ok() is 0) */

void sr_wino_forward_bf16(const sr_wino_geom *g, const float *x, const uint32_t *ub,
                          const float *bias, float *y, float *scratch, const sr_conv_epilogue *ep)
{
    (void)scratch;
    sr_wino_forward_bf16_ref(g, x, ub, bias, y, ep);
}

void sr_wino_forward_gated_bf16(const sr_wino_geom *g, const float *x, const uint32_t *ub,
                                const float *bias, float *y, float *scratch,
                                const sr_conv_epilogue *ep, const sr_wino_gate *gt)
{
    (void)scratch;
    sr_wino_forward_bf16_ref(g, x, ub, bias, y, ep);
    if (gt && gt->act == SR_ACT_RELU)
        sr_relu_backward(gt->x, y, y, (size_t)g->cout * g->h * g->w);
    else if (gt)
        sr_lrelu_backward(gt->x, y, y, (size_t)g->cout * g->h * g->w, gt->slope);
}

void sr_wino_input_band_avx2(const sr_wino_geom *g, const float *x, const sr_wino_band *b,
                             float *V)
{
    (void)g; (void)x; (void)b; (void)V;
}

void sr_wino_input_band_avx512(const sr_wino_geom *g, const float *x, const sr_wino_band *b,
                               float *V)
{
    (void)g; (void)x; (void)b; (void)V;
}

void sr_wino_input_band_bf16_avx512(const sr_wino_geom *g, const float *x, const sr_wino_band *b,
                                    uint32_t *Vb)
{
    (void)g; (void)x; (void)b; (void)Vb;
}

void sr_wino_output_band(const sr_wino_geom *g, const float *M, int k0, int kn,
                         const sr_wino_band *b, const float *bias, float *y,
                         const sr_conv_epilogue *ep, const sr_wino_gate *gt, int avx512)
{
    (void)g; (void)M; (void)k0; (void)kn; (void)b; (void)bias; (void)y; (void)ep; (void)gt;
    (void)avx512;
}

void sr_wino_forward_avx2(const sr_wino_geom *g, const float *x, const float *u,
                          const float *bias, float *y, float *scratch,
                          const sr_conv_epilogue *ep)
{
    (void)scratch;
    sr_wino_forward_ref(g, x, u, bias, y, ep);
}

void sr_wino_forward_gated_avx2(const sr_wino_geom *g, const float *x, const float *u,
                                const float *bias, float *y, float *scratch,
                                const sr_conv_epilogue *ep, const sr_wino_gate *gt)
{
    sr_wino_forward_avx2(g, x, u, bias, y, scratch, ep);
    if (gt && gt->act == SR_ACT_RELU)
        sr_relu_backward(gt->x, y, y, (size_t)g->cout * g->h * g->w);
    else if (gt)
        sr_lrelu_backward(gt->x, y, y, (size_t)g->cout * g->h * g->w, gt->slope);
}

#endif
