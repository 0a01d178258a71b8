/* cli_args.c: command-line parsing for srgan-up. */
#include <stdio.h>
#include "cli_args.h"
#include "shard.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "srgan_config.h"
#include "srgan/nn.h"

void cli_usage(FILE *f)
{
    fputs(
        "usage: srgan-up [options] IN OUT\n"
        "       srgan-up [options] -i IN -o OUT\n"
        "       srgan-up [options] -o OUTDIR IN...\n"
        "       srgan-up [options] -i INDIR -o OUTDIR [-r]\n"
        "\n"
        "Upscale PNG, JPEG, TIFF and WebP images with a trained super-resolution network\n"
        "(or a classic resampler), tile by tile in bounded memory.\n"
        "\n"
        "  -x, -s, --scale N      scale factor > 0, up to 16, fractional allowed (default 4):\n"
        "                         the network enlarges at its own scale (x2, x4), others are\n"
        "                         reached with Lanczos after it; below 1 is a classic downscale\n"
        "      --method M         srgan, bicubic, lanczos, bilinear or nearest (default: srgan\n"
        "                         when a model for the scale is found, else bicubic)\n"
        "  -m, -n, --model M      model file, or a name from --list-models (psnr, gan, ...)\n"
        "      --list-models      list the models found and exit\n"
        "      --ensemble         self-ensemble: average the network's output over the 8\n"
        "                         flips and rotations of the input (8x the time, +0.04 dB on Set5)\n"
        "      --denoise S        noise and JPEG removal from 0 (keep) to 1 (full) for a model\n"
        "                         with a noise-free partner (real): blends the two networks\n"
        "      --precision P      network arithmetic: fp32, bf16 (CPUs with AVX512-BF16,\n"
        "                         on AMX where there is; Set5 within 0.01 dB of fp32) or\n"
        "                         auto (default: bf16 where it is faster, with AMX or on\n"
        "                         AMD, except for 16-bit and float input)\n"
        "  -o, --output-dir OUT   write outputs into directory OUT; with -i FILE, the\n"
        "                         output file (a directory if it is one or ends in /)\n"
        "  -i, --input-dir IN     upscale every image in directory IN, or the file IN\n"
        "  -r, --recursive        with -i: descend into subdirectories (tree mirrored)\n"
        "      --suffix S         add S to output names before the extension\n"
        "  -f, --format F         output format: png, jpg, tif or webp (default: from OUT, or\n"
        "                         the input's format in batch mode)\n"
        "      --quality N        JPEG and WebP quality 1..100 (default 95)\n"
        "      --lossless         WebP: lossless (default: lossy at --quality)\n"
        "      --compression C    TIFF: none, lzw, deflate (default) or zstd\n"
        "      --overwrite        replace existing outputs (never an input)\n"
        "      --skip-existing    skip inputs whose output exists (resume a batch)\n"
        "  -j, --jobs N           files processed in parallel (default 1)\n"
        "      --threads N        threads per file (default: all cores)\n"
        "  -t, --tile N           tile size in input pixels, 8..16384, or 0 for the default:\n"
        "                         the largest that fits --max-memory\n"
        "      --max-memory SIZE  memory for tiles, e.g. 512M, 2G (default 1G)\n"
        "      --max-pixels N     refuse whole-image decodes above N pixels (default 268435456)\n"
        "      --no-autorotate    do not apply the EXIF orientation\n"
        "      --report FILE.csv  write one line per file: input,output,status,seconds,error\n"
        "      --shard K/N        process the K-th of N parts of the file list (1 <= K <= N),\n"
        "                         balanced by size; 'slurm' takes K/N from a job array;\n"
        "                         %K and %N in --report name each part's report\n"
        "      --merge-reports OUT.csv IN.csv...  join the parts' reports into one\n"
        "      --normalize N      intensities for the network: none, range, or\n"
        "                         percentile[:LOW,HIGH] (default: percentile:1,99.8 for\n"
        "                         16-bit and float, none for 8-bit); mapped back after\n"
        "      --normalize-scope S  percentiles per 'image' (page) or per 'stack' (default)\n"
        "      --dtype T          output samples: uint8, uint16 or float32 (default: as input)\n"
        "      --labels           label images (masks): nearest neighbour, values and type\n"
        "                         kept, never normalised or sent through a network\n"
        "  -q, --quiet            print errors only\n"
        "  -v, --verbose          say what is done and why\n"
        "      --version          print the version and exit\n"
        "  -h, --help             print this help and exit\n"
        "\n"
        "Exit status: 0 all files written (or skipped), 1 some file failed, 2 usage error.\n"
        "Real-ESRGAN's -i -o -s -n -t -f work as there; its -x (TTA) is --ensemble here,\n"
        "-j N is files at a time, and -m takes one model file or name (see the man page).\n",
        f);
}

static int parse_int(const char *s, const char *opt, int lo, int hi, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < lo || v > hi) {
        fprintf(stderr, "srgan-up: %s: '%s' is not a whole number in %d..%d\n", opt, s, lo, hi);
        return -1;
    }
    *out = (int)v;
    return 0;
}

/* "512M", "2G", "1048576" -> bytes. */
static int parse_size(const char *s, const char *opt, uint64_t *out)
{
    char *end;
    double v = strtod(s, &end);
    double mult = 1;
    if (*end == 'k' || *end == 'K')
        mult = 1024.0, end++;
    else if (*end == 'm' || *end == 'M')
        mult = 1024.0 * 1024, end++;
    else if (*end == 'g' || *end == 'G')
        mult = 1024.0 * 1024 * 1024, end++;
    if (*end == 'B' || *end == 'b')
        end++;
    if (end == s || *end != '\0' || !(v > 0) || v * mult > 1e18) {
        fprintf(stderr, "srgan-up: %s: '%s' is not a size (e.g. 512M, 2G)\n", opt, s);
        return -1;
    }
    *out = (uint64_t)(v * mult);
    if (*out == 0) {
        fprintf(stderr, "srgan-up: %s: '%s' is less than one\n", opt, s);
        return -1;
    }
    return 0;
}

static int parse_method(const char *s, cli_method *m)
{
    static const struct { const char *name; cli_method m; } names[] = {
        {"srgan", METHOD_SRGAN},     {"bicubic", METHOD_BICUBIC}, {"lanczos", METHOD_LANCZOS},
        {"nearest", METHOD_NEAREST}, {"bilinear", METHOD_BILINEAR},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcasecmp(s, names[i].name)) {
            *m = names[i].m;
            return 0;
        }
    fprintf(stderr, "srgan-up: --method: '%s' is not one of srgan, bicubic, lanczos, bilinear, nearest\n", s);
    return -1;
}

/* "none", "range", "percentile", "percentile:LOW,HIGH". */
static int parse_normalize(const char *s, cli_args *a)
{
    if (!strcmp(s, "none")) {
        a->normalize = NORM_NONE;
        return 0;
    }
    if (!strcmp(s, "range")) {
        a->normalize = NORM_RANGE;
        return 0;
    }
    if (!strncmp(s, "percentile", 10) && (s[10] == '\0' || s[10] == ':')) {
        a->normalize = NORM_PERCENTILE;
        if (s[10] == ':') {
            char *end;
            double lo = strtod(s + 11, &end), hi = -1;
            if (*end == ',')
                hi = strtod(end + 1, &end);
            if (*end != '\0' || !(lo >= 0 && hi <= 100 && lo < hi)) {
                fprintf(stderr, "srgan-up: --normalize: '%s': want percentile:LOW,HIGH with 0 <= LOW < HIGH <= 100\n", s);
                return -1;
            }
            a->norm_low = lo;
            a->norm_high = hi;
        }
        return 0;
    }
    fprintf(stderr, "srgan-up: --normalize: '%s' is not none, range or percentile[:LOW,HIGH]\n", s);
    return -1;
}

#define TTA_HINT " (-x is the scale; Real-ESRGAN's -x, TTA, is --ensemble)"

enum {
    OPT_METHOD = 256, OPT_LOSSLESS, OPT_SHARD, OPT_MERGE_REPORTS, OPT_LIST_MODELS, OPT_SUFFIX, OPT_FORMAT, OPT_QUALITY, OPT_COMPRESSION,
    OPT_OVERWRITE, OPT_SKIP_EXISTING, OPT_THREADS, OPT_TILE, OPT_MAX_MEMORY, OPT_MAX_PIXELS,
    OPT_NO_AUTOROTATE, OPT_REPORT, OPT_VERSION, OPT_NORMALIZE, OPT_NORM_SCOPE, OPT_DTYPE,
    OPT_ENSEMBLE, OPT_LABELS, OPT_DENOISE, OPT_PRECISION
};

int cli_parse(int argc, char **argv, cli_args *a)
{
    static const struct option longopts[] = {
        {"scale", required_argument, NULL, 'x'},
        {"method", required_argument, NULL, OPT_METHOD},
        {"model", required_argument, NULL, 'm'},
        {"list-models", no_argument, NULL, OPT_LIST_MODELS},
        {"ensemble", no_argument, NULL, OPT_ENSEMBLE},
        {"denoise", required_argument, NULL, OPT_DENOISE},
        {"precision", required_argument, NULL, OPT_PRECISION},
        {"output-dir", required_argument, NULL, 'o'},
        {"input-dir", required_argument, NULL, 'i'},
        {"recursive", no_argument, NULL, 'r'},
        {"suffix", required_argument, NULL, OPT_SUFFIX},
        {"format", required_argument, NULL, OPT_FORMAT},
        {"quality", required_argument, NULL, OPT_QUALITY},
        {"lossless", no_argument, NULL, OPT_LOSSLESS},
        {"compression", required_argument, NULL, OPT_COMPRESSION},
        {"overwrite", no_argument, NULL, OPT_OVERWRITE},
        {"skip-existing", no_argument, NULL, OPT_SKIP_EXISTING},
        {"jobs", required_argument, NULL, 'j'},
        {"threads", required_argument, NULL, OPT_THREADS},
        {"tile", required_argument, NULL, OPT_TILE},
        {"max-memory", required_argument, NULL, OPT_MAX_MEMORY},
        {"max-pixels", required_argument, NULL, OPT_MAX_PIXELS},
        {"no-autorotate", no_argument, NULL, OPT_NO_AUTOROTATE},
        {"report", required_argument, NULL, OPT_REPORT},
        {"shard", required_argument, NULL, OPT_SHARD},
        {"merge-reports", no_argument, NULL, OPT_MERGE_REPORTS},
        {"normalize", required_argument, NULL, OPT_NORMALIZE},
        {"normalize-scope", required_argument, NULL, OPT_NORM_SCOPE},
        {"dtype", required_argument, NULL, OPT_DTYPE},
        {"labels", no_argument, NULL, OPT_LABELS},
        {"quiet", no_argument, NULL, 'q'},
        {"verbose", no_argument, NULL, 'v'},
        {"version", no_argument, NULL, OPT_VERSION},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(a, 0, sizeof *a);
    a->scale = 4;
    a->jobs = 1;
    a->suffix = "";
    a->denoise = -1;
    a->precision = SR_PRECISION_AUTO;
    a->out_dtype = -1;
    a->norm_low = 1.0;
    a->norm_high = 99.8;
    int c;
    uint64_t size;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":x:s:m:n:o:i:rj:t:f:qvh", longopts, NULL)) != -1) {
        switch (c) {
        case 'x':
        case 's': { /* -s: Real-ESRGAN's spelling */
            char *end;
            /* "4", "2.5"; "x4" too, as users write scales that way. */
            const char *s = optarg[0] == 'x' ? optarg + 1 : optarg;
            a->scale = strtod(s, &end);
            if (*s == '\0' || *end != '\0' || !(a->scale > 0) || a->scale > 16) {
                /* "-x -i a.png": Real-ESRGAN's -x takes no value (TTA) */
                fprintf(stderr, "srgan-up: --scale: '%s' is not a scale factor (e.g. 4 or 2.5)%s\n",
                        optarg, optarg[0] == '-' ? TTA_HINT : "");
                return 2;
            }
            break;
        }
        case OPT_METHOD:
            if (parse_method(optarg, &a->method))
                return 2;
            break;
        case 'm':
        case 'n': a->model = optarg; break;
        case OPT_LIST_MODELS: a->list_models = 1; break;
        case OPT_ENSEMBLE: a->ensemble = 1; break;
        case OPT_PRECISION: {
            sr_precision p;
            if (sr_precision_parse(optarg, &p)) {
                fprintf(stderr, "srgan-up: --precision: '%s' is not fp32, bf16 or auto\n", optarg);
                return 2;
            }
            a->precision = (int)p;
            break;
        }
        case OPT_DENOISE: {
            char *end;
            a->denoise = strtod(optarg, &end);
            if (*optarg == '\0' || *end != '\0' || !(a->denoise >= 0 && a->denoise <= 1)) {
                fprintf(stderr, "srgan-up: --denoise: '%s' is not a strength from 0 to 1\n", optarg);
                return 2;
            }
            break;
        }
        case 'o': a->out_dir = optarg; break;
        case 'i': a->in_dir = optarg; break;
        case 'r': a->recursive = 1; break;
        case OPT_SUFFIX:
            /* Outputs stay in the output folder: "/x" or "/../../x" in a
             * suffix would put them elsewhere. */
            if (strchr(optarg, '/') || strstr(optarg, "..")) {
                fprintf(stderr, "srgan-up: --suffix: '%s' must not contain '/' or '..' "
                                "(outputs stay in the output folder)\n", optarg);
                return 2;
            }
            a->suffix = optarg;
            break;
        case OPT_FORMAT:
        case 'f':
            a->format = sr_format_from_name(optarg);
            if (a->format == SR_FMT_AUTO) {
                char list[64];
                sr_format_list(list, sizeof list);
                fprintf(stderr, "srgan-up: --format: '%s' is not one of %s\n", optarg, list);
                return 2;
            }
            break;
        case OPT_LOSSLESS: a->lossless = 1; break;
        case OPT_QUALITY:
            if (parse_int(optarg, "--quality", 1, 100, &a->quality))
                return 2;
            break;
        case OPT_COMPRESSION:
            if (!strcasecmp(optarg, "none")) a->compression = SR_TIFF_NONE;
            else if (!strcasecmp(optarg, "lzw")) a->compression = SR_TIFF_LZW;
            else if (!strcasecmp(optarg, "deflate")) a->compression = SR_TIFF_DEFLATE;
            else if (!strcasecmp(optarg, "zstd")) a->compression = SR_TIFF_ZSTD;
            else {
                fprintf(stderr, "srgan-up: --compression: '%s' is not one of none, lzw, deflate, zstd\n", optarg);
                return 2;
            }
            break;
        case OPT_OVERWRITE: a->overwrite = 1; break;
        case OPT_SKIP_EXISTING: a->skip_existing = 1; break;
        case 'j':
            if (strchr(optarg, ':')) { /* Real-ESRGAN's load:proc:save */
                fprintf(stderr, "srgan-up: -j: '%s': -j N is the number of files at a time "
                                "(threads per file: --threads)\n", optarg);
                return 2;
            }
            if (parse_int(optarg, "--jobs", 1, 256, &a->jobs))
                return 2;
            break;
        case OPT_THREADS:
            if (parse_int(optarg, "--threads", 1, 256, &a->threads))
                return 2;
            break;
        case OPT_TILE:
        case 't':
            /* 0 is Real-ESRGAN's "auto"; below 8 the halo would dwarf the tile */
            if (parse_int(optarg, "--tile", 0, 16384, &a->tile))
                return 2;
            if (a->tile > 0 && a->tile < 8) {
                fprintf(stderr, "srgan-up: --tile: '%s' is below 8 (0 = from --max-memory)\n", optarg);
                return 2;
            }
            break;
        case OPT_MAX_MEMORY:
            if (parse_size(optarg, "--max-memory", &size))
                return 2;
            a->max_memory = (size_t)size;
            break;
        case OPT_MAX_PIXELS:
            if (parse_size(optarg, "--max-pixels", &size))
                return 2;
            a->max_pixels = size;
            break;
        case OPT_NO_AUTOROTATE: a->no_autorotate = 1; break;
        case OPT_REPORT: a->report = optarg; break;
        case OPT_SHARD: {
            char why[256];
            if (shard_parse(optarg, &a->shard_k, &a->shard_n, why, sizeof why)) {
                fprintf(stderr, "srgan-up: %s\n", why);
                return 2;
            }
            a->shard = optarg;
            break;
        }
        case OPT_MERGE_REPORTS: a->merge_reports = 1; break;
        case OPT_NORMALIZE:
            if (parse_normalize(optarg, a))
                return 2;
            break;
        case OPT_NORM_SCOPE:
            if (!strcmp(optarg, "image") || !strcmp(optarg, "page"))
                a->norm_per_page = 1;
            else if (!strcmp(optarg, "stack"))
                a->norm_per_page = 0;
            else {
                fprintf(stderr, "srgan-up: --normalize-scope: '%s' is not image or stack\n", optarg);
                return 2;
            }
            break;
        case OPT_DTYPE:
            if (!strcmp(optarg, "uint8") || !strcmp(optarg, "u8"))
                a->out_dtype = SR_U8;
            else if (!strcmp(optarg, "uint16") || !strcmp(optarg, "u16"))
                a->out_dtype = SR_U16;
            else if (!strcmp(optarg, "float32") || !strcmp(optarg, "float") || !strcmp(optarg, "f32"))
                a->out_dtype = SR_F32;
            else {
                fprintf(stderr, "srgan-up: --dtype: '%s' is not uint8, uint16 or float32\n", optarg);
                return 2;
            }
            break;
        case OPT_LABELS: a->labels = 1; break;
        case 'q': a->quiet = 1; break;
        case 'v': a->verbose = 1; break;
        case OPT_VERSION: printf("srgan-up %s\n", SRGAN_VERSION); return 1;
        case 'h': cli_usage(stdout); return 1;
        case ':':
            fprintf(stderr, "srgan-up: option '%s' needs a value%s\n", argv[optind - 1],
                    !strcmp(argv[optind - 1], "-x") ? TTA_HINT : "");
            return 2;
        default:
            fprintf(stderr, "srgan-up: unknown option '%s' (see --help)\n", argv[optind - 1]);
            return 2;
        }
    }
    if (a->labels && (a->model || (a->method != METHOD_AUTO && a->method != METHOD_NEAREST))) {
        fprintf(stderr, "srgan-up: --labels upscales with nearest neighbour only; drop --model "
                        "and --method\n");
        return 2;
    }
    if (a->labels && a->denoise >= 0) {
        fprintf(stderr, "srgan-up: --labels uses no network; drop --denoise\n");
        return 2;
    }
    if (a->labels && (a->ensemble || a->normalize != NORM_AUTO)) {
        fprintf(stderr, "srgan-up: --labels copies values with nearest neighbour; drop %s\n",
                a->ensemble ? "--ensemble" : "--normalize");
        return 2;
    }
    if (a->labels && a->out_dtype >= 0) {
        fprintf(stderr, "srgan-up: --labels keeps the sample type; drop --dtype\n");
        return 2;
    }
    if (a->overwrite && a->skip_existing) {
        fprintf(stderr, "srgan-up: --overwrite and --skip-existing exclude each other\n");
        return 2;
    }
    a->inputs = argv + optind;
    a->ninputs = argc - optind;
    if (a->list_models)
        return 0;
    if (a->merge_reports) {
        if (a->ninputs < 2) {
            fprintf(stderr, "srgan-up: usage: srgan-up --merge-reports OUT.csv IN.csv...\n");
            return 2;
        }
        return 0;
    }
    /* -i FILE (Real-ESRGAN's habit): one file; -o is then the output file,
     * or a directory when it is one or ends in '/'. A missing -i path is
     * left to the directory walk, which reports it. */
    struct stat st;
    if (a->in_dir && a->out_dir && !a->ninputs && stat(a->in_dir, &st) == 0 &&
        !S_ISDIR(st.st_mode)) {
        size_t n = strlen(a->out_dir);
        /* Real-ESRGAN's -o is a folder: a name without any extension is
         * one too (created), so `-i a.png -o results` works */
        const char *base = strrchr(a->out_dir, '/');
        base = base ? base + 1 : a->out_dir;
        int out_is_dir = (stat(a->out_dir, &st) == 0 && S_ISDIR(st.st_mode)) ||
                         (n && a->out_dir[n - 1] == '/') || !strchr(base, '.');
        a->in_file[0] = (char *)a->in_dir;
        a->inputs = a->in_file;
        a->ninputs = 1;
        a->in_dir = NULL;
        if (!out_is_dir) {
            a->single_out = a->out_dir;
            a->out_dir = NULL;
        }
    }
    if (a->in_dir) {
        if (!a->out_dir) {
            fprintf(stderr, "srgan-up: -i needs -o OUT (a file, or a directory)\n");
            return 2;
        }
        if (a->ninputs) {
            fprintf(stderr, "srgan-up: give either -i IN or input files, not both\n");
            return 2;
        }
    } else if (a->out_dir) {
        if (a->ninputs < 1) {
            fprintf(stderr, "srgan-up: no input files (usage: srgan-up -o OUTDIR IN...)\n");
            return 2;
        }
    } else if (!a->single_out) {
        if (a->ninputs != 2) {
            fprintf(stderr, a->ninputs < 2 ? "srgan-up: need an input and an output (see --help)\n"
                                           : "srgan-up: more than two files: use -o OUTDIR for several inputs\n");
            return 2;
        }
        a->single_out = a->inputs[1];
        a->ninputs = 1;
    }
    if (a->recursive && !a->in_dir) {
        fprintf(stderr, "srgan-up: -r works with -i INDIR\n");
        return 2;
    }
    if (a->shard && a->single_out) {
        fprintf(stderr, "srgan-up: --shard splits a batch (-o OUTDIR IN... or -i INDIR -o OUTDIR), "
                        "not one file\n");
        return 2;
    }
    for (int i = 0; i < a->ninputs && !a->single_out; i++)
        if (!strcmp(a->inputs[i], "-")) {
            fprintf(stderr, "srgan-up: '-' (standard input) works in the IN OUT form only\n");
            return 2;
        }
    if (a->in_dir && !strcmp(a->in_dir, "-")) {
        fprintf(stderr, "srgan-up: '-' (standard input) works in the IN OUT form only\n");
        return 2;
    }
    return 0;
}
