/* contrib.h (internal): 1-D resampling kernels and per-output-pixel
 * contributions (which input pixels, with which weights), shared by the
 * streaming stage (resample.c) and the whole-image MATLAB imresize
 * (imresize.c). */
#ifndef SRGAN_RESAMPLE_CONTRIB_H
#define SRGAN_RESAMPLE_CONTRIB_H

#include "srgan/resample.h"

/* MATLAB's kernels: box (nearest), triangle, Keys cubic a = -0.5, lanczos3. */
double sr_kernel_eval(sr_filter f, double x);
/* Support width of the kernel at scale 1 (1, 2, 4, 6). */
double sr_kernel_width(sr_filter f);

/* Raw contributions exactly as MATLAB's contributions(): for output pixel i,
 * taps k = 0..taps-1 read input pixel idx[i*taps+k] (0-based, NOT yet mapped
 * into [0, in_len): may be negative or >= in_len) with weight
 * w[i*taps+k]; weights of each output pixel sum to 1. Antialiased (kernel
 * stretched by 1/scale) when scale < 1 and antialias is set. */
typedef struct sr_contrib_raw {
    int out_len, taps;
    long *idx;
    double *w;
} sr_contrib_raw;

int sr_contrib_raw_make(sr_contrib_raw *c, int in_len, int out_len, double scale, sr_filter f,
                        int antialias, sr_error *err);
void sr_contrib_raw_free(sr_contrib_raw *c);

/* Index maps for out-of-range taps. */
long sr_index_symmetric(long i, long n); /* ... 1 0 | 0 1 .. n-1 | n-1 n-2 ... */
long sr_index_clamp(long i, long n);     /* ... 0 0 | 0 1 .. n-1 | n-1 n-1 ... */

/* Contiguous contributions for the streaming stage: edges clamped, taps that
 * hit the same input pixel merged, zero-weight taps trimmed at both ends.
 * Output pixel i reads inputs first[i] .. first[i]+count[i]-1 with weights
 * w[i*stride .. i*stride+count[i]-1] (float, zero-padded up to stride). */
typedef struct sr_contrib {
    int out_len, stride;
    int *first, *count;
    float *w;
} sr_contrib;

int sr_contrib_make(sr_contrib *c, int in_len, int out_len, sr_filter f, sr_error *err);
void sr_contrib_free(sr_contrib *c);

#endif
