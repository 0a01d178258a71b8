/* conv2d_winograd.h: the Winograd F(4x4, 3x3) transforms, written once as
 * macros over the arithmetic so that the plain-C reference
 * (conv2d_winograd.c, scalars and fmaf) and the AVX2 kernel
 * (conv2d_winograd_avx2.c, 8 tiles per vector) perform the same operations
 * in the same order and give the same bits; tests check they do.
 *
 * Y = A^T [ (G g G^T) . (B^T d B) ] A with the interpolation points
 * 0, +-1, +-2 and infinity (Lavin & Gray 2015). A 6x6 input tile d gives a
 * 4x4 output tile. Internal to src/nn. */
#ifndef SRGAN_NN_CONV2D_WINOGRAD_H
#define SRGAN_NN_CONV2D_WINOGRAD_H

#define WINO_P 36 /* points of the 6x6 transformed tile */
#define WINO_MR 6 /* output channels per micro-kernel call (U is packed by 6) */

/* FMA(a, b, c) = a * b + c, rounded once; C(x) makes a constant. */

/* v = B^T d for one column (or row) of 6 values. */
#define WINO_BT(ADD, SUB, FMA, C, d0, d1, d2, d3, d4, d5, v0, v1, v2, v3, v4, v5) \
    do {                                                                      \
        v0 = FMA(C(4.0f), d0, FMA(C(-5.0f), d2, d4));                         \
        v1 = FMA(C(-4.0f), ADD(d1, d2), ADD(d3, d4));                         \
        v2 = FMA(C(4.0f), SUB(d1, d2), SUB(d4, d3));                          \
        v3 = FMA(C(2.0f), SUB(d3, d1), SUB(d4, d2));                          \
        v4 = FMA(C(-2.0f), SUB(d3, d1), SUB(d4, d2));                         \
        v5 = FMA(C(4.0f), d1, FMA(C(-5.0f), d3, d5));                         \
    } while (0)

/* o = A^T m for one column (or row) of 6 values. */
#define WINO_AT(ADD, SUB, FMA, C, m0, m1, m2, m3, m4, m5, o0, o1, o2, o3)    \
    do {                                                                      \
        o0 = ADD(ADD(m0, ADD(m1, m2)), ADD(m3, m4));                          \
        o1 = FMA(C(2.0f), SUB(m3, m4), SUB(m1, m2));                          \
        o2 = FMA(C(4.0f), ADD(m3, m4), ADD(m1, m2));                          \
        o3 = ADD(FMA(C(8.0f), SUB(m3, m4), SUB(m1, m2)), m5);                 \
    } while (0)

/* The adjoint of WINO_AT, for the weight gradient: m = A o for one column
 * (or row) of 4 output gradients (A^T's rows 1 1 1 1 1 0 | 0 1 -1 2 -2 0 |
 * 0 1 1 4 4 0 | 0 1 -1 8 -8 1, transposed). */
#define WINO_A(ADD, SUB, FMA, C, o0, o1, o2, o3, m0, m1, m2, m3, m4, m5)      \
    do {                                                                      \
        m0 = o0;                                                              \
        m1 = ADD(ADD(o0, o2), ADD(o1, o3));                                   \
        m2 = SUB(ADD(o0, o2), ADD(o1, o3));                                   \
        m3 = ADD(FMA(C(4.0f), o2, o0), FMA(C(8.0f), o3, ADD(o1, o1)));     \
        m4 = SUB(FMA(C(4.0f), o2, o0), FMA(C(8.0f), o3, ADD(o1, o1)));     \
        m5 = o3;                                                              \
    } while (0)

#endif
