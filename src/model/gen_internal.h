/* gen_internal.h: the generator's layers, shared by generator.c (layout,
 * weights, initialisation), gen_forward.c (inference on whole images and
 * tiles) and gen_train.c (training forward and backward). Not installed. */
#ifndef SRGAN_GEN_INTERNAL_H
#define SRGAN_GEN_INTERNAL_H

#include "srgan/model.h"

#define GEN_MAX_UP 3
#define GEN_LRELU_SLOPE 0.1f

/* An activation after a conv: LReLU(0.1) and ReLU (MSRResNet) or PReLU
 * (SRResNet, alpha shared or per channel). */
typedef enum { ACT_NONE = 0, ACT_RELU, ACT_LRELU, ACT_PRELU } gen_act_kind;
typedef struct gen_act {
    gen_act_kind kind;
    float *alpha; /* ACT_PRELU: nalpha values (a parameter) */
    int nalpha;
    int param;    /* ACT_PRELU: index of the alpha parameter */
} gen_act;

/* A conv with the indices of its weight and bias parameters (bias = weight + 1). */
typedef struct gen_conv {
    sr_conv2d c;
    int param;
} gen_conv;

struct sr_generator {
    sr_generator_config cfg;
    int nup, up_r; /* pixel-shuffle stages and the factor of each */

    gen_conv first;
    gen_act first_act;
    gen_conv *conv1, *conv2; /* blocks */
    gen_act *block_act;      /* between conv1 and conv2 */
    gen_conv body;           /* SRResNet: conv (BN folded) before the long skip */
    gen_conv up[GEN_MAX_UP];
    gen_act up_act[GEN_MAX_UP];
    gen_conv hr; /* MSRResNet: conv_hr + LReLU */
    gen_act hr_act;
    gen_conv last;

    int nparams, capparams;
    sr_param *params;
    int count_only; /* build the layout without allocating (size checks) */

    int nmeta;
    char **meta_keys, **meta_vals;
};

/* Activation forward, in place on t. */
void gen_act_forward(const gen_act *a, sr_tensor *t);
/* The same activation as an epilogue of the conv before it (gen_forward.c);
 * group: conv output channels per PReLU alpha (r*r before a pixel shuffle). */
sr_conv_epilogue gen_act_epilogue(const gen_act *a, int group);

/* LR margin the tail (upsampling layers, conv_hr, conv_last) needs around a
 * tile aligned to LR pixels, and the receptive radius of the LR trunk. */
int gen_tail_margin(const sr_generator *g);
int gen_trunk_radius(const sr_generator *g);

/* ---- inference on one region (gen_forward.c) ----------------------------
 * x holds the input window [wy0, wy0 + x->h) x [wx0, wx0 + x->w) of an image
 * of full_h x full_w; the result covers the LR region [ry0, ry1) x [rx0, rx1)
 * (inside the window, at least the halo away from window edges that are not
 * image edges): y is [1, out_ch, s*(ry1-ry0), s*(rx1-rx0)]. */
typedef struct gen_region {
    int full_h, full_w;
    int wy0, wx0, wh, ww; /* input window */
    int ry0, ry1, rx0, rx1; /* LR region whose output is wanted */
} gen_region;

/* Floats of arena gen_region_forward needs (alignment slack included). */
size_t gen_region_floats(const sr_generator *g, const gen_region *r);
int gen_region_forward(const sr_generator *g, const gen_region *r, const sr_tensor *x,
                       sr_tensor *y, sr_arena *a, sr_error *err);

#endif
