/* cli_args.h: srgan-up's options, parsed once, read-only afterwards. */
#ifndef SRGAN_CLI_ARGS_H
#define SRGAN_CLI_ARGS_H

#include <stddef.h>
#include <stdint.h>
#include "srgan/image.h"

typedef enum cli_method {
    METHOD_AUTO = 0, /* srgan when a model for the scale is found, else bicubic */
    METHOD_SRGAN,
    METHOD_BICUBIC,
    METHOD_LANCZOS,
    METHOD_NEAREST,
    METHOD_BILINEAR
} cli_method;

enum { NORM_AUTO = 0, NORM_NONE, NORM_RANGE, NORM_PERCENTILE };

typedef struct cli_args {
    double scale;          /* -x */
    cli_method method;
    const char *model;     /* -m: file or name */
    int list_models;
    const char *out_dir;   /* -o */
    const char *in_dir;    /* -i */
    int recursive;         /* -r */
    const char *suffix;
    sr_format format;      /* --format, SR_FMT_AUTO = from name / input */
    int quality;
    int lossless;  /* WebP */
    sr_tiff_compression compression;
    int overwrite, skip_existing;
    int jobs, threads;
    int tile;
    int ensemble;          /* --ensemble: x8 self-ensemble */
    double denoise;        /* --denoise S in 0..1; -1 = not given */
    int precision;         /* --precision: sr_precision (default SR_PRECISION_AUTO) */
    size_t max_memory;
    uint64_t max_pixels;
    int no_autorotate;
    int quiet, verbose;
    const char *report;    /* --report FILE.csv */
    const char *shard;     /* --shard K/N | slurm (parsed: shard_k of shard_n) */
    int shard_k, shard_n;
    int merge_reports;     /* --merge-reports OUT.csv IN.csv...: inputs[0] is OUT */
    int normalize;         /* NORM_AUTO, NORM_NONE, NORM_RANGE, NORM_PERCENTILE */
    double norm_low, norm_high;
    int norm_per_page;     /* --normalize-scope image */
    int out_dtype;         /* -1 = as input, else sr_dtype */
    int labels;            /* --labels: nearest neighbour, type kept, no network */
    char **inputs;         /* positional inputs (not owned) */
    int ninputs;
    const char *single_out; /* IN OUT form: the output path */
    char *in_file[1];       /* -i FILE: inputs points here */
} cli_args;

/* Parse argv. Returns 0 to go on, 1 when done (--help/--version printed),
 * 2 on a usage error (message printed). */
int cli_parse(int argc, char **argv, cli_args *a);
void cli_usage(FILE *f);

#endif
