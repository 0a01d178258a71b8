/* upscale.h: upscale one file (every page) from a reader to a writer. */
#ifndef SRGAN_CLI_UPSCALE_H
#define SRGAN_CLI_UPSCALE_H

#include "srgan/image.h"
#include "srgan/model.h"
#include "srgan/resample.h"

enum { UPSCALE_ALT_MICRO, UPSCALE_ALT_JPEG, UPSCALE_ALT_N };

typedef struct upscale_plan {
    double scale;
    const sr_generator *g;   /* the network, or NULL for a classic resampler */
    const char *model_name;  /* for messages */
    /* Without --model: the models used instead of g for some inputs, loaded
     * the first time such an input comes (a run over PNG photos never reads
     * nor prepares them): UPSCALE_ALT_MICRO, the microscopy model for
     * 1-channel 16-bit and float input; UPSCALE_ALT_JPEG, the model of kind
     * "real" for JPEG input, where the photo model would sharpen the
     * compression artefacts. alt(alt_user, which, &name) returns the model
     * and its name, or NULL (none, or it failed to load: g is used; -v says
     * why). Thread-safe. alt = NULL: g for every input. */
    const sr_generator *(*alt)(void *alt_user, int which, const char **name);
    void *alt_user;
    sr_filter filter;        /* classic method; also used for the alpha channel */
    sr_tile_opts tile;
    /* --precision auto with bf16 weights prepared: fp32 (tile.fp32) for
     * 16-bit and float pages, whose users care about intensities */
    int deep_fp32;
    sr_read_opts ropts;
    sr_write_opts wopts;
    sr_format out_format;    /* SR_FMT_AUTO: from the output's extension */
    int verbose;
    /* Intensities (network path): NORM_* from cli_args.h; NORM_AUTO =
     * percentile for 16-bit and float input, none for 8-bit. */
    int normalize;
    double norm_low, norm_high;
    int norm_per_page;
    int out_dtype; /* -1 = as input, else sr_dtype */
    int labels;    /* nearest neighbour on the native samples (bit-exact), no
                      network, no normalisation; also used for 32-bit integer
                      images with filter nearest */
} upscale_plan;

typedef struct upscale_hooks {
    /* Progress of the current page (rows of `width` output pixels); non-zero
     * return cancels. May be NULL. */
    int (*on_rows)(void *user, int rows_done, int rows_total, int width, int page, int pages);
    /* A temporary output file appears (active = 1) or is gone (0), so that a
     * signal handler can remove it. May be NULL. */
    void (*on_temp)(void *user, const char *tmp_path, int active);
    void *user;
} upscale_hooks;

/* Upscale `in` into `out`. Returns 0, or -1 with err set; on failure
 * nothing is left at `out` (the temporary file is removed). */
int upscale_file(const char *in, const char *out, const upscale_plan *plan,
                 const upscale_hooks *hooks, sr_error *err);

#endif
