/* models.h: finding and choosing generator weights for srgan-up.
 *
 * Search order (first found wins for a given name): $SRGAN_UP_WEIGHTS (a
 * directory or one file), the source tree's weights/ (when run from a build
 * directory), the installed data directory. A model's name is its file name
 * without ".safetensors"; its kind ("psnr", "gan", ...) and scale come from
 * the file's metadata. */
#ifndef SRGAN_CLI_MODELS_H
#define SRGAN_CLI_MODELS_H

#include <limits.h>
#include "srgan/error.h"

typedef struct cli_model {
    char path[PATH_MAX];
    char name[128];
    char kind[32];     /* metadata "kind", or guessed from the name */
    char arch[32];
    int scale, blocks, channels, in_channels;
    size_t params;     /* parameters as the network runs (0: unknown) */
    char val_psnr[64]; /* "31.2 dB Set5" from the metadata, or "" */
    char partner[128]; /* metadata "denoise_partner": the noise-free model --denoise blends with */
    double denoise_default; /* metadata "denoise_default": the strength without --denoise, or -1 */
} cli_model;

typedef struct cli_models {
    cli_model *v;
    int n;
} cli_models;

/* Scan the search path. Files that are not valid weights are skipped
 * (reported when verbose). */
void models_scan(cli_models *m, int verbose);
void models_free(cli_models *m);
void models_print(const cli_models *m, FILE *f);

/* Choose a model for `scale`: want = NULL (the default: kind "psnr" if any),
 * a name or kind from the list, or a path to a .safetensors file. Fills
 * *out. Returns 0, or -1 with err set when want names nothing found;
 * returns 1 when want is NULL and no model exists (caller falls back). */
int models_pick(const cli_models *m, const char *want, double scale, cli_model *out, sr_error *err);

#endif
