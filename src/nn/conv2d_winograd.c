/* conv2d_winograd.c: Winograd F(4x4, 3x3) for 3x3 stride-1 convs: the
 * weight transform (done once per layer by sr_conv2d_prepare, conv2d.c) and
 * the plain-C reference forward that the AVX2 kernel is tested against.
 *
 * F(4x4, 3x3) needs 36 multiplications per 4x4 outputs and input channel
 * where the direct conv needs 144 (2.25x fewer); the price is accuracy (the
 * transforms multiply by up to 8 and add up to 25 terms) and a dependence of
 * an output's rounding on the whole 6x6 input tile, which is why the tile
 * grid is anchored to image coordinates (see conv2d_internal.h). */
#include "conv2d_internal.h"
#include "conv2d_winograd.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static int use_avx512;
static pthread_once_t avx512_once = PTHREAD_ONCE_INIT;

static void read_avx512(void)
{
    const char *v = getenv("SRGAN_WINO_AVX2");
    use_avx512 = sr_conv_direct_cpu_ok() && !(v && *v && strcmp(v, "0"));
}

int sr_wino_avx512(void)
{
    pthread_once(&avx512_once, read_avx512);
    return use_avx512;
}

int sr_wino_layer_ok(const sr_conv2d *l)
{
    return l->kh == 3 && l->kw == 3 && l->stride <= 1 && l->pad == 1 && l->cin > 0 &&
           l->cout > 0;
}

static int round6(int k)
{
    return (k + WINO_MR - 1) / WINO_MR * WINO_MR;
}

size_t sr_wino_u_floats(int cin, int cout)
{
    return (size_t)WINO_P * round6(cout) * cin;
}

/* U for one (co, ci): G g G^T, G the 6x3 matrix of the points 0, +-1, +-2, inf. */
static void transform_one(const float *g, double *u)
{
    static const double G[6][3] = {
        {1.0 / 4, 0, 0},
        {-1.0 / 6, -1.0 / 6, -1.0 / 6},
        {-1.0 / 6, 1.0 / 6, -1.0 / 6},
        {1.0 / 24, 1.0 / 12, 1.0 / 6},
        {1.0 / 24, -1.0 / 12, 1.0 / 6},
        {0, 0, 1},
    };
    double t[6][3];
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 3; j++)
            t[i][j] = G[i][0] * g[0 * 3 + j] + G[i][1] * g[1 * 3 + j] + G[i][2] * g[2 * 3 + j];
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 6; j++)
            u[i * 6 + j] = t[i][0] * G[j][0] + t[i][1] * G[j][1] + t[i][2] * G[j][2];
}

void sr_wino_transform_weights(const float *w, int cin, int cout, float *u)
{
    const int k6 = round6(cout);
    memset(u, 0, sr_wino_u_floats(cin, cout) * sizeof(float));
    for (int co = 0; co < cout; co++)
        for (int ci = 0; ci < cin; ci++) {
            double t[WINO_P];
            transform_one(w + ((size_t)co * cin + ci) * 9, t);
            for (int p = 0; p < WINO_P; p++)
                u[(((size_t)p * (k6 / WINO_MR) + co / WINO_MR) * cin + ci) * WINO_MR +
                  co % WINO_MR] = (float)t[p];
        }
}

/* ---- reference ---------------------------------------------------------- */

#define S_ADD(a, b) ((a) + (b))
#define S_SUB(a, b) ((a) - (b))
#define S_FMA(a, b, c) fmaf((a), (b), (c))
#define S_C(x) (x)

/* V = B^T d B for the 6x6 input patch of channel c whose first output is
 * (oy, ox), zero outside the image: the plain-C input transform both
 * references (forward and weight gradient) share. */
void sr_wino_ref_input_tile(const float *x, int c, int h, int w, int oy, int ox, float *v)
{
    float d[6][6], t[6][6];
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 6; j++) {
            int iy = oy - 1 + i, ix = ox - 1 + j;
            d[i][j] = iy >= 0 && iy < h && ix >= 0 && ix < w ? x[((size_t)c * h + iy) * w + ix]
                                                                : 0.0f;
        }
    for (int j = 0; j < 6; j++) /* columns first, as the kernel does */
        WINO_BT(S_ADD, S_SUB, S_FMA, S_C, d[0][j], d[1][j], d[2][j], d[3][j], d[4][j], d[5][j],
                t[0][j], t[1][j], t[2][j], t[3][j], t[4][j], t[5][j]);
    for (int i = 0; i < 6; i++)
        WINO_BT(S_ADD, S_SUB, S_FMA, S_C, t[i][0], t[i][1], t[i][2], t[i][3], t[i][4], t[i][5],
                v[i * 6 + 0], v[i * 6 + 1], v[i * 6 + 2], v[i * 6 + 3], v[i * 6 + 4],
                v[i * 6 + 5]);
}

/* A^T m A + b for one tile and output channel, stored into the plane yk
 * where inside the image (both references' output transform). */
void sr_wino_ref_output_tile(const float *m, float b, float *yk, int h, int w, int oy, int ox)
{
    float t[4][6], o[4][4];
    for (int j = 0; j < 6; j++)
        WINO_AT(S_ADD, S_SUB, S_FMA, S_C, m[0 * 6 + j], m[1 * 6 + j], m[2 * 6 + j], m[3 * 6 + j],
                m[4 * 6 + j], m[5 * 6 + j], t[0][j], t[1][j], t[2][j], t[3][j]);
    for (int i = 0; i < 4; i++)
        WINO_AT(S_ADD, S_SUB, S_FMA, S_C, t[i][0], t[i][1], t[i][2], t[i][3], t[i][4], t[i][5],
                o[i][0], o[i][1], o[i][2], o[i][3]);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) {
            int yy = oy + i, xx = ox + j;
            if (yy >= 0 && yy < h && xx >= 0 && xx < w)
                yk[(size_t)yy * w + xx] = o[i][j] + b;
        }
}

void sr_wino_forward_ref(const sr_wino_geom *g, const float *x, const float *u,
                         const float *bias, float *y, const sr_conv_epilogue *ep)
{
    const int C = g->cin, K = g->cout, h = g->h, w = g->w, kb = round6(K) / WINO_MR;
    const int txn = (w + g->px + 3) / 4;
    int ty0, tyn;
    sr_wino_tile_rows(g, &ty0, &tyn);
    float *V = malloc((size_t)C * WINO_P * sizeof(float));
    if (!V)
        abort(); /* tests only */
    for (int ty = ty0; ty < tyn; ty++)
        for (int tx = 0; tx < txn; tx++) {
            const int oy = 4 * ty - g->py, ox = 4 * tx - g->px; /* tile's first output */
            for (int c = 0; c < C; c++)
                sr_wino_ref_input_tile(x, c, h, w, oy, ox, V + (size_t)c * WINO_P);
            for (int k = 0; k < K; k++) {
                float m[WINO_P];
                for (int p = 0; p < WINO_P; p++) {
                    const float *up = u + ((size_t)p * kb + k / WINO_MR) * C * WINO_MR + k % WINO_MR;
                    float acc = 0.0f; /* channels in order, one FMA each */
                    for (int c = 0; c < C; c++)
                        acc = fmaf(up[(size_t)c * WINO_MR], V[(size_t)c * WINO_P + p], acc);
                    m[p] = acc;
                }
                sr_wino_ref_output_tile(m, bias ? bias[k] : 0.0f, y + (size_t)k * h * w, h, w,
                                        oy, ox);
            }
        }
    free(V);
    if (ep)
        sr_conv_epilogue_rows(ep, y, (size_t)h * w, 0, K, (size_t)g->y0 * w,
                              (size_t)(g->y1 - g->y0) * w);
}

/* ---- weight gradient ------------------------------------------------------ */

int sr_wino_du_pitch(int cout)
{
    return (cout + 15) / 16 * 16;
}

size_t sr_wino_du_floats(int cin, int cout)
{
    return (size_t)WINO_P * cin * sr_wino_du_pitch(cout);
}

/* Reference: one tile at a time, V and M' by the transform macros in plain
 * C, dU summed tile by tile with one fmaf each. */
void sr_wino_dweight_ref(const sr_wino_geom *g, const float *x, const float *dy, float *du)
{
    const int C = g->cin, K = g->cout, h = g->h, w = g->w, ld = sr_wino_du_pitch(K);
    const int tyn = (h + g->py + 3) / 4, txn = (w + g->px + 3) / 4;
    float *V = malloc(((size_t)C + K) * WINO_P * sizeof(float));
    if (!V)
        abort(); /* tests only */
    float *Mg = V + (size_t)C * WINO_P;
    for (int ty = 0; ty < tyn; ty++)
        for (int tx = 0; tx < txn; tx++) {
            const int oy = 4 * ty - g->py, ox = 4 * tx - g->px;
            for (int c = 0; c < C; c++)
                sr_wino_ref_input_tile(x, c, h, w, oy, ox, V + (size_t)c * WINO_P);
            for (int k = 0; k < K; k++) {
                float o[4][4], t[6][4];
                for (int i = 0; i < 4; i++) /* outputs past the image: no gradient */
                    for (int j = 0; j < 4; j++) {
                        int yy = oy + i, xx = ox + j;
                        o[i][j] = yy >= 0 && yy < h && xx >= 0 && xx < w
                                      ? dy[((size_t)k * h + yy) * w + xx]
                                      : 0.0f;
                    }
                for (int j = 0; j < 4; j++) /* down the columns, then across */
                    WINO_A(S_ADD, S_SUB, S_FMA, S_C, o[0][j], o[1][j], o[2][j], o[3][j],
                           t[0][j], t[1][j], t[2][j], t[3][j], t[4][j], t[5][j]);
                float *m = Mg + (size_t)k * WINO_P;
                for (int i = 0; i < 6; i++)
                    WINO_A(S_ADD, S_SUB, S_FMA, S_C, t[i][0], t[i][1], t[i][2], t[i][3],
                           m[i * 6 + 0], m[i * 6 + 1], m[i * 6 + 2], m[i * 6 + 3],
                           m[i * 6 + 4], m[i * 6 + 5]);
            }
            for (int p = 0; p < WINO_P; p++)
                for (int c = 0; c < C; c++) {
                    float *d = du + ((size_t)p * C + c) * ld;
                    const float vc = V[(size_t)c * WINO_P + p];
                    for (int k = 0; k < K; k++)
                        d[k] = fmaf(Mg[(size_t)k * WINO_P + p], vc, d[k]);
                }
        }
    free(V);
}

/* dw += G^T du G for every (co, ci), G as in transform_one; in double, 64
 * output channels at a time innermost so the loops vectorise. */
#define FIN_CO 64
void sr_wino_dweight_finish(const float *du, int cin, int cout, float *dw)
{
    static const double G[6][3] = {
        {1.0 / 4, 0, 0},
        {-1.0 / 6, -1.0 / 6, -1.0 / 6},
        {-1.0 / 6, 1.0 / 6, -1.0 / 6},
        {1.0 / 24, 1.0 / 12, 1.0 / 6},
        {1.0 / 24, -1.0 / 12, 1.0 / 6},
        {0, 0, 1},
    };
    const int ld = sr_wino_du_pitch(cout);
    double t[3][6][FIN_CO];
    for (int ci = 0; ci < cin; ci++)
        for (int co0 = 0; co0 < cout; co0 += FIN_CO) {
            const int n = cout - co0 < FIN_CO ? cout - co0 : FIN_CO;
            memset(t, 0, sizeof t);
            for (int i = 0; i < 6; i++)
                for (int j = 0; j < 6; j++) {
                    const float *d = du + ((size_t)(i * 6 + j) * cin + ci) * ld + co0;
                    for (int a = 0; a < 3; a++) {
                        const double ga = G[i][a];
                        if (ga != 0.0)
                            for (int k = 0; k < n; k++)
                                t[a][j][k] += ga * d[k];
                    }
                }
            for (int a = 0; a < 3; a++)
                for (int b = 0; b < 3; b++)
                    for (int k = 0; k < n; k++) {
                        double s = 0.0;
                        for (int j = 0; j < 6; j++)
                            s += t[a][j][k] * G[j][b];
                        dw[((size_t)(co0 + k) * cin + ci) * 9 + a * 3 + b] += (float)s;
                    }
        }
}
