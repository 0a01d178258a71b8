/* gen_internal.h: the generator as a list of layers, shared by the
 * architecture files (arch_*.c, which build the list and name the tensors),
 * gen_build.c (the list's builder, receptive field and buffer planning),
 * generator.c (parameters, loading, saving, initialisation), gen_forward.c
 * (inference on regions of an image) and gen_train.c (training forward and
 * backward). Not installed.
 *
 * The list is a program over VALUES (feature maps). Value 0 is the network's
 * input (after the mean shift, when there is one). Every op writes one new
 * value from values written before it. A value is either a root (its own
 * storage) or a channel slice of a root: a dense block's convs write their
 * outputs into slices of one root, so that "concatenate x, x1, x2" is just
 * the root's first channels and costs nothing. A value's resolution is
 * num/den of the input's (pixel unshuffle halves it, pixel shuffle and
 * nearest upsampling multiply it). The ops [0, split) are the TRUNK, run on a
 * whole input window; the ops [split, nop) are the TAIL, run a few rows at a
 * time on the crop of the trunk's output (value trunk_out, the only value
 * the tail reads from the trunk) to the region and its margin, so that
 * layers at output resolution never see the wide halo (gen_tail.c). */
#ifndef SRGAN_GEN_INTERNAL_H
#define SRGAN_GEN_INTERNAL_H

#include "srgan/model.h"
#include "srgan/weights.h"
#include "team.h"

/* An activation, applied by the conv that produces it (epilogue). PReLU has
 * nalpha alphas; with fewer alphas than conv outputs, each alpha covers
 * cout / nalpha consecutive channels -- exactly a per-channel PReLU after
 * the pixel shuffle that follows (SRResNet's upsampling). */
typedef enum { ACT_NONE = 0, ACT_RELU, ACT_LRELU, ACT_PRELU } gen_act_kind;
typedef struct gen_act {
    gen_act_kind kind;
    float slope;  /* ACT_LRELU */
    float *alpha; /* ACT_PRELU: nalpha values (a parameter) */
    int nalpha;
    int param;    /* ACT_PRELU: index of the alpha parameter */
} gen_act;

/* A conv with the indices of its weight and bias parameters (bias = weight + 1). */
typedef struct gen_conv {
    sr_conv2d c;
    int param;
    int icnr;          /* initialisation: ICNR for a following shuffle by this factor */
    int bias_optional; /* loading: the file may omit the bias (conv before batch norm) */
} gen_conv;

typedef enum {
    OP_CONV,      /* out = act(conv(in) + add)        (add: value or -1) */
    OP_SHUFFLE,   /* out = pixel_shuffle(in, r)                          */
    OP_UNSHUFFLE, /* out = pixel_unshuffle(in, r)                        */
    OP_UPNEAREST, /* out = nearest upsampling of in by r                 */
    OP_SCALE_ADD  /* out = in * scale + add  (residual scaling)          */
} gen_op_kind;

typedef struct gen_op {
    gen_op_kind kind;
    int in, out, add; /* values */
    int conv;         /* OP_CONV: index into convs */
    gen_act act;      /* OP_CONV */
    int r;            /* shuffles, upsampling */
    float scale;      /* OP_SCALE_ADD */
} gen_op;

typedef struct gen_val {
    int root;   /* the value whose storage this is (itself for a root) */
    int c0, c;  /* channels [c0, c0 + c) of the root */
    int num, den; /* resolution relative to the input */
} gen_val;

struct sr_generator {
    sr_generator_config cfg;

    gen_conv *convs;
    int nconv, capconv;
    gen_op *ops;
    int nop, capop;
    gen_val *vals;
    int nval, capval;
    int split;     /* first tail op */
    int trunk_out; /* the value the tail starts from */
    int output;    /* the network's output value (resolution = scale) */
    int skip;      /* global skip: y += upsample(input) by skip_mode */
    sr_interp skip_mode;
    int mean_shift; /* EDSR: x' = (x - mean) * range; y = y' / range + mean */
    float mean[4], range;
    int align;     /* input windows must start at multiples of this (unshuffle) */
    int train_bf16; /* training convs on AMX in bf16 (sr_generator_set_train_precision) */

    int nparams, capparams;
    sr_param *params;
    float *param_block; /* every param's data, one allocation (gen_alloc_params) */
    int count_only; /* build the layout without allocating (size checks) */
    const sr_safetensors *st; /* while loading: the file (PReLU sizes) */
    int oom;

    int nmeta;
    char **meta_keys, **meta_vals;
};

/* ---- architectures (arch_*.c) ------------------------------------------- */

typedef struct gen_arch {
    sr_arch arch;
    const char *name;
    /* Whether a file without "arch" metadata has this architecture's tensors. */
    int (*detect)(const sr_safetensors *st);
    /* The architecture's part of the configuration from the tensor shapes
     * (the metadata is read afterwards and overrides). 0 or -1 with err. */
    int (*infer)(const sr_safetensors *st, sr_generator_config *c, sr_error *err);
    /* Reads the architecture's own metadata keys (besides the common ones). */
    int (*read_meta)(const sr_safetensors *st, sr_generator_config *c, sr_error *err);
    /* Checks what config_check's common part does not; 0 or -1. */
    int (*check)(const sr_generator_config *c, sr_error *err);
    /* Builds the layer list (gb_* calls); 0 or -1 (out of memory). */
    int (*build)(sr_generator *g);
    /* After the parameters are read: anything more the file holds (batch
     * norm to fold); marks the tensors it used. May be NULL. */
    int (*post_load)(sr_generator *g, const sr_safetensors *st, int *used, sr_error *err);
    /* The architecture's metadata for saving (key, value pairs into kv,
     * at most 8 pairs, values written to buf). Returns the pair count. */
    int (*save_meta)(const sr_generator *g, const char *kv[16], char buf[8][64]);
} gen_arch;

extern const gen_arch gen_arch_msrresnet, gen_arch_srresnet, gen_arch_srvgg, gen_arch_rrdbnet,
    gen_arch_edsr;
const gen_arch *gen_arch_get(sr_arch arch);

/* ---- the builder (gen_build.c) -------------------------------------------
 * Each returns the new value's index (or the op's output), or -1 after an
 * allocation failure (g->oom is then set; builders may just check at the
 * end). out = -1 makes a new root value; otherwise the op writes into out
 * (a slice made with gb_slice). */
typedef struct gb_act {
    gen_act_kind kind;
    float slope;        /* LReLU */
    const char *prelu;  /* PReLU: parameter name (without .weight) */
    int nalpha;         /* PReLU: alphas (per channel) */
    int may_share;      /* PReLU: one shared alpha unless a file being loaded has nalpha */
} gb_act;
#define GB_NONE ((gb_act){ACT_NONE, 0, NULL, 0, 0})
#define GB_RELU ((gb_act){ACT_RELU, 0, NULL, 0, 0})
#define GB_LRELU(s) ((gb_act){ACT_LRELU, (s), NULL, 0, 0})

int gb_input(sr_generator *g, int channels);
int gb_root(sr_generator *g, int c, int num, int den);
int gb_slice(sr_generator *g, int root, int c0, int c);
int gb_conv(sr_generator *g, const char *name, int in, int out, int cout, int k, gb_act act,
            int add);
int gb_shuffle(sr_generator *g, int in, int r);
int gb_unshuffle(sr_generator *g, int in, int r);
int gb_upnearest(sr_generator *g, int in, int r);
int gb_scale_add(sr_generator *g, int in, float scale, int add, int out);
/* Marks the end of the trunk: the tail starts from value v. */
void gb_split(sr_generator *g, int v);
/* The conv named name (its weight is name.weight), or NULL. */
gen_conv *gen_conv_by_name(sr_generator *g, const char *name);

/* Metadata numbers in lo..hi: 1 (set), 0 (absent) or -1 with err. */
int gen_meta_int(const sr_safetensors *st, const char *key, long lo, long hi, int *out,
                 sr_error *err);
int gen_meta_float(const sr_safetensors *st, const char *key, double lo, double hi, float *out,
                   sr_error *err);
/* The shape of a conv weight the architecture cannot do without (its first
 * conv, from which channels are read): 0, or -1 with "missing or not 4-D". */
int gen_required_conv(const sr_safetensors *st, const char *name, int64_t shape[8], sr_error *err);
/* Counts name_fmt % 0, 1, 2... while the tensor exists (at most max). */
int gen_count(const sr_safetensors *st, const char *name_fmt, int max);

/* MSRResNet's and SRResNet's shapes: conv_first, body.N.conv1, upconvK,
 * conv_last (arch_msrresnet.c). */
int gen_infer_resnet(const sr_safetensors *st, sr_generator_config *c, sr_error *err);

/* A parameter (zeroed); returns its index or -1. */
int gen_add_param(sr_generator *g, const char *name, int ndim, const int64_t *shape);

/* Shared by architectures: pixel-shuffle stages of a scale (x2, x3: one of
 * 2 or 3; x4: two of 2; x8: three of 2). */
int gen_up_stages(int scale, int *r);

/* ---- receptive field and planning (gen_build.c) ------------------------ */

/* Receptive radius of the trunk in input pixels, and the margin (in pixels
 * at the trunk output's resolution) the tail needs around a band. Both
 * count each conv as it runs (sr_conv2d_reach: wider for Winograd convs,
 * whose rounding depends on their whole 4x4 tile), along the farthest-
 * reaching chain, so they grow once the generator is prepared. */
int gen_trunk_radius(const sr_generator *g);
int gen_tail_margin(const sr_generator *g);
/* Channels x pixels of value v for an input of h x w (at the input's
 * resolution; h, w multiples of den). */
size_t gen_val_floats(const sr_generator *g, int v, int h, int w);
int gen_val_dim(const sr_generator *g, int v, int lr);

/* Buffer plan for running ops [o0, o1) once: every root written there gets
 * a buffer; roots whose lifetimes do not overlap share one. off[root] is
 * the root's offset (floats, 16-aligned) in an area of *total floats, or
 * (size_t)-1 for roots not written in the range. Extra roots live to the
 * end: keep (a value, or -1). */
void gen_plan(const sr_generator *g, int o0, int o1, int h, int w, int keep, size_t *off,
              size_t *total);
/* The linear-scan assignment under gen_plan: nr intervals [first, last]
 * of steps (first -1: none) of size floats each get offsets into an area
 * of *total floats; overlapping intervals never share. 0 or -1 (memory). */
int gen_assign(int nr, int nsteps, const int *first, const int *last, const size_t *size,
               size_t *off, size_t *total);
/* Largest conv scratch over ops [o0, o1) for an input of h x w, batch n. */
size_t gen_plan_scratch(const sr_generator *g, int o0, int o1, int n, int h, int w);

/* ---- inference on one region (gen_forward.c) ----------------------------
 * x holds the input window [wy0, wy0 + x->h) x [wx0, wx0 + x->w) of an image
 * of full_h x full_w; the result covers the LR region [ry0, ry1) x [rx0, rx1)
 * (inside the window, at least the halo away from window edges that are not
 * image edges): y is [1, out_ch, s*(ry1-ry0), s*(rx1-rx0)]. With align > 1,
 * wy0, wx0, ry0, rx0 and the window's and region's ends that are not image
 * edges must be multiples of align. */
typedef struct gen_region {
    int full_h, full_w;
    int wy0, wx0, wh, ww; /* input window */
    int ry0, ry1, rx0, rx1; /* LR region whose output is wanted */
    int fp32;               /* nonzero: convs prepared in bf16 run fp32 */
} gen_region;

/* ---- the tail of a region, a few rows at a time (gen_tail.c) -------------
 * One member's band of output rows: the trunk output's crop T holds input
 * rows [T_y0, T_y0 + T_h) (at the trunk output's resolution, w input pixels
 * wide starting at image column ox); the member makes the output of input
 * rows [y0, y1), handing each new block of output rows to write(ctx, O,
 * cap, base, lo, hi): rows [lo, hi) (image rows at the output's resolution)
 * of O [out_ch][cap][w * scale], whose row 0 is image row base. */
typedef struct gen_tail_job {
    const float *T;
    int T_y0, T_h, w, ox;
    int full_h; /* the image's rows padded to the alignment */
    int y0, y1;
    int fp32;   /* convs prepared in bf16 run fp32 */
    void (*write)(void *ctx, const float *O, int cap, int base, int lo, int hi);
    void *ctx;
} gen_tail_job;
/* 0 when the tail is a chain gen_tail_run can run (every architecture's). */
int gen_tail_check(const sr_generator *g);
/* Floats a member needs for a crop w input pixels wide (its windows and
 * conv scratch), and in *skip_floats the most floats of output rows one
 * write hands over when the generator adds a global skip (else 0). */
size_t gen_tail_floats(const sr_generator *g, int w, size_t *skip_floats);
/* 0, or -1 where the margins fed did not suffice (a bug: tests). */
int gen_tail_run(const sr_generator *g, const gen_tail_job *j, float *mem);

/* The conv epilogue of an activation (gen_forward.c). */
sr_conv_epilogue gen_act_epilogue(const gen_act *a, int cout);
/* Floats of arena each member of a team of n needs for gen_region_forward
 * (alignment slack included; the same for all members). */
size_t gen_region_floats(const sr_generator *g, const gen_region *r, int n);
/* The region's output into y, computed by the members of team (NULL: the
 * calling thread alone), member k with memory from arenas[k]. arenas[0] is
 * used after what it holds (x and y may live there); the others are reset.
 * The output is the same, bit for bit, whatever the team's size. */
int gen_region_forward(const sr_generator *g, const gen_region *r, const sr_tensor *x,
                       sr_tensor *y, sr_arena **arenas, gen_team *team, sr_error *err);

#endif
