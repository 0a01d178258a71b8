/* srgan-up: upscale images with a trained generator or a classic resampler.
 * The work is in libsrgan; this file wires options, models, signals and the
 * batch together. */
#include <stdio.h>

#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batch.h"
#include "pipes.h"
#include "shard.h"
#include "cli_args.h"
#include "models.h"
#include "srgan/model.h"
#include "srgan/resample.h"
#include "srgan_config.h"

/* ---- temporary files removed on SIGINT/SIGTERM ---------------------------
 * The one piece of process-wide state: a signal handler can only reach
 * globals. Slots are claimed under a mutex; the handler only reads them and
 * calls unlink(), which is async-signal-safe. */
enum { TEMP_SLOTS = 512, TEMP_PATH_MAX = 4096 };
static char temp_paths[TEMP_SLOTS][TEMP_PATH_MAX];
static volatile sig_atomic_t temp_used[TEMP_SLOTS];
static pthread_mutex_t temp_lock = PTHREAD_MUTEX_INITIALIZER;

static void on_temp(void *user, const char *path, int active)
{
    (void)user;
    pthread_mutex_lock(&temp_lock);
    for (int i = 0; i < TEMP_SLOTS; i++) {
        if (active && !temp_used[i]) {
            snprintf(temp_paths[i], TEMP_PATH_MAX, "%s", path);
            temp_used[i] = 1;
            break;
        }
        if (!active && temp_used[i] && !strcmp(temp_paths[i], path)) {
            temp_used[i] = 0;
            break;
        }
    }
    pthread_mutex_unlock(&temp_lock);
}

/* --report, for the message: set once before the handler is installed. */
static const char *report_path;

static void say(const char *s)
{
    ssize_t ignored = write(STDERR_FILENO, s, strlen(s));
    (void)ignored;
}

static void on_signal(int sig)
{
    for (int i = 0; i < TEMP_SLOTS; i++)
        if (temp_used[i])
            unlink(temp_paths[i]);
    say("\nsrgan-up: interrupted; partial output removed\n");
    if (report_path) {
        /* its lines are written as files finish: nothing to add here */
        say("srgan-up: ");
        say(report_path);
        say(" lists the files finished before the interruption\n");
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    /* a reader that goes away (`| head`) is a write error with a message
     * and cleanup, not a silent death that leaves temporaries behind */
    signal(SIGPIPE, SIG_IGN);
}

static sr_filter classic_filter(cli_method m)
{
    switch (m) {
    case METHOD_LANCZOS: return SR_FILTER_LANCZOS3;
    case METHOD_NEAREST: return SR_FILTER_NEAREST;
    case METHOD_BILINEAR: return SR_FILTER_BILINEAR;
    default: return SR_FILTER_BICUBIC;
    }
}

/* Load a model ready for inference: blended with its noise-free partner at
 * strength `denoise` (--denoise; -1: the model's own "denoise_default", if
 * it names one, else the model as trained), then prepared (Winograd weight
 * transforms, once, after the weights are final). An explicit --denoise
 * whose partner is missing is an error; a default strength whose partner
 * is missing falls back to the model as trained, with a warning. */
static sr_generator *load_model(const cli_models *models, const cli_model *md, double denoise,
                                sr_precision prec, int verbose, sr_error *err)
{
    double s = denoise >= 0 ? denoise : md->denoise_default;
    sr_generator *g = sr_generator_load(md->path, err);
    if (!g)
        return NULL;
    if (denoise >= 0 || (s >= 0 && s < 1)) { /* explicit: the partner is checked even at 1 */
        cli_model p;
        sr_error perr = {0};
        if (models_pick(models, md->partner, md->scale, &p, &perr) < 0) {
            if (denoise >= 0) {
                sr_error_set(err, SR_ERR_ARG, "--denoise: %s names partner '%s', not found (see "
                             "--list-models)", md->name, md->partner);
                sr_generator_free(g);
                return NULL;
            }
            fprintf(stderr, "srgan-up: warning: %s: its denoise partner '%s' is not found; using it "
                            "as trained (denoise 1)\n", md->name, md->partner);
        } else {
            sr_generator *gp = sr_generator_load(p.path, &perr);
            if (!gp || sr_generator_blend(g, gp, (float)s, &perr)) {
                sr_error_set(err, perr.code, "--denoise: %s and %s: %s", md->path, p.path, perr.msg);
                sr_generator_free(gp);
                sr_generator_free(g);
                return NULL;
            }
            sr_generator_free(gp);
            if (verbose)
                fprintf(stderr, "srgan-up: denoise %g%s: %g x %s + %g x %s\n", s,
                        denoise >= 0 ? "" : " (the model's default)", s, md->name, 1 - s, p.name);
        }
    }
    if (sr_generator_prepare_precision(g, prec, err)) {
        sr_generator_free(g);
        return NULL;
    }
    return g;
}

/* The models used instead of the default for some inputs (microscopy,
 * JPEG): found when the plan is made, loaded the first time an input needs
 * one (upscale_plan.alt). Loading is not fatal: without the model those
 * inputs get the default one, and -v says why. */
static struct alternates {
    pthread_mutex_t mu;
    cli_models models; /* owned: a partner is picked from them at load */
    int verbose;
    struct {
        int found, tried;
        cli_model md;
        double denoise; /* --denoise for it, or -1 */
        sr_precision prec; /* resolved --precision for it */
        const char *inputs;
        sr_generator *g;
    } slot[UPSCALE_ALT_N];
} alts = {.mu = PTHREAD_MUTEX_INITIALIZER};

static const sr_generator *alternate(void *user, int which, const char **name)
{
    (void)user;
    if (which < 0 || which >= UPSCALE_ALT_N || !alts.slot[which].found)
        return NULL;
    pthread_mutex_lock(&alts.mu);
    if (!alts.slot[which].tried) {
        alts.slot[which].tried = 1;
        sr_error err = {0};
        const cli_model *md = &alts.slot[which].md;
        alts.slot[which].g = load_model(&alts.models, md, alts.slot[which].denoise,
                                        alts.slot[which].prec, alts.verbose, &err);
        if (!alts.slot[which].g && alts.verbose)
            fprintf(stderr, "srgan-up: %s (not used for %s)\n", err.msg, alts.slot[which].inputs);
        else if (alts.verbose)
            fprintf(stderr, "srgan-up: model %s (x%d) for %s (--model psnr forces the photo model)\n",
                    md->name, md->scale, alts.slot[which].inputs);
    }
    const sr_generator *g = alts.slot[which].g;
    pthread_mutex_unlock(&alts.mu);
    *name = alts.slot[which].md.name;
    return g;
}

/* Decide between the network and a classic resampler and load the model.
 * Returns 0, or -1 after printing why. */
static int make_plan(const cli_args *a, upscale_plan *plan, sr_generator **g, char *model_name,
                     size_t name_cap)
{
    memset(plan, 0, sizeof *plan);
    plan->scale = a->scale;
    plan->filter = classic_filter(a->method);
    plan->verbose = a->verbose;
    plan->out_format = a->format;
    plan->ropts.no_autorotate = a->no_autorotate;
    plan->ropts.max_pixels = a->max_pixels;
    plan->ropts.verbose = a->verbose;
    plan->wopts.quality = a->quality;
    plan->wopts.lossless = a->lossless;
    plan->wopts.compression = a->compression;
    plan->wopts.overwrite = a->overwrite;
    plan->wopts.software = "srgan-up " SRGAN_VERSION;
    plan->wopts.verbose = a->verbose;
    plan->tile.tile = a->tile;
    plan->tile.threads = a->threads;
    plan->tile.max_memory = a->max_memory;
    plan->tile.ensemble = a->ensemble;
    plan->normalize = a->normalize;
    plan->norm_low = a->norm_low;
    plan->norm_high = a->norm_high;
    plan->norm_per_page = a->norm_per_page;
    plan->out_dtype = a->out_dtype;
    plan->labels = a->labels;
    *g = NULL;
    if (a->labels) { /* a label image is never interpolated nor seen by a network */
        plan->filter = SR_FILTER_NEAREST;
        return 0;
    }
    int wants_network = a->method == METHOD_AUTO || a->method == METHOD_SRGAN;
    if (!wants_network) {
        if (a->model || a->ensemble || a->denoise >= 0) {
            fprintf(stderr, "srgan-up: %s needs --method srgan\n",
                    a->model ? "--model" : a->ensemble ? "--ensemble" : "--denoise");
            return -1;
        }
        return 0;
    }
    if (a->scale < 1.0) {
        if (a->method == METHOD_AUTO && !a->model && !a->ensemble)
            return 0; /* a downscale: the classic resampler does it */
        fprintf(stderr, "srgan-up: scale %g is a downscale; the network only enlarges "
                        "(use --method bicubic or lanczos)\n", a->scale);
        return -1;
    }
    cli_models models;
    models_scan(&models, a->verbose);
    cli_model chosen;
    sr_error err = {0};
    /* --denoise alone means the model it is made for (and, for 1-channel
     * 16-bit and float input, the microscopy model below) */
    const char *want = a->model ? a->model : a->denoise >= 0 ? "real" : NULL;
    int rc = models_pick(&models, want, a->scale, &chosen, &err);
    if (rc == 0 && a->denoise >= 0 && !chosen.partner[0]) {
        fprintf(stderr, "srgan-up: --denoise: model %s has no noise-free partner to blend with "
                        "(use --model real)\n", chosen.name);
        models_free(&models);
        return -1;
    }
    cli_model micro;
    sr_error merr = {0};
    /* the default for 1-channel 16-bit/float input: a "fluo" model of this
     * scale (not a smaller one finished by Lanczos) */
    int have_micro = rc == 0 && !a->model && models_pick(&models, "fluo", a->scale, &micro, &merr) == 0 &&
                     micro.in_channels == 1 && micro.scale + 1e-9 >= a->scale &&
                     micro.scale <= chosen.scale;
    /* the default for JPEG input: a "real" model of the default's scale */
    cli_model realm;
    int have_real = rc == 0 && !want && models_pick(&models, "real", a->scale, &realm, &merr) == 0 &&
                    realm.in_channels == chosen.in_channels && realm.scale == chosen.scale;
    if (rc != 0)
        models_free(&models);
    if (rc < 0) {
        fprintf(stderr, "srgan-up: %s\n", err.msg);
        return -1;
    }
    if (rc == 1) {
        /* --ensemble asks for the network: no silent bicubic instead */
        if (a->method == METHOD_SRGAN || a->ensemble || a->denoise >= 0) {
            fprintf(stderr, "srgan-up: no model found for x%g (see --list-models; -m FILE picks one)\n",
                    a->scale);
            return -1;
        }
        if (a->verbose)
            fprintf(stderr, "srgan-up: no RGB model found (see --list-models); using bicubic\n");
        return 0;
    }
    /* --precision: auto is bf16 where the CPU has it (measured within 0.01 dB
     * of fp32 on Set5, bench/README.md), but fp32 for 16-bit and float
     * pages (plan->deep_fp32); the microscopy model, used only for those,
     * is prepared fp32 */
    const sr_precision prec = sr_precision_resolve((sr_precision)a->precision);
    plan->deep_fp32 = a->precision == SR_PRECISION_AUTO && prec == SR_PRECISION_BF16;
    *g = load_model(&models, &chosen, a->denoise, prec, a->verbose, &err);
    if (!*g) {
        fprintf(stderr, "srgan-up: %s\n", err.msg);
        models_free(&models);
        return -1;
    }
    if (prec == SR_PRECISION_BF16 && !plan->deep_fp32) /* bf16 asked for: no fp32 tiles */
        sr_generator_drop_fp32(*g);
    snprintf(model_name, name_cap, "%s", chosen.name);
    plan->g = *g;
    plan->model_name = model_name;
    if (have_micro || have_real) {
        alts.verbose = a->verbose;
        alts.slot[UPSCALE_ALT_MICRO].found = have_micro;
        if (have_micro) { /* --denoise applies to it too when it has a partner (fluo-x2 and fluo-x2-clean) */
            alts.slot[UPSCALE_ALT_MICRO].md = micro;
            alts.slot[UPSCALE_ALT_MICRO].denoise = micro.partner[0] ? a->denoise : -1;
            /* only ever used for 16-bit and float pages: fp32 under auto */
            alts.slot[UPSCALE_ALT_MICRO].prec = plan->deep_fp32 ? SR_PRECISION_FP32 : prec;
            alts.slot[UPSCALE_ALT_MICRO].inputs = "1-channel 16-bit and float input";
        }
        alts.slot[UPSCALE_ALT_JPEG].found = have_real;
        if (have_real) {
            alts.slot[UPSCALE_ALT_JPEG].md = realm;
            alts.slot[UPSCALE_ALT_JPEG].denoise = -1;
            alts.slot[UPSCALE_ALT_JPEG].prec = prec;
            alts.slot[UPSCALE_ALT_JPEG].inputs =
                "JPEG input, whose compression artefacts the photo model would sharpen";
        }
        alts.models = models; /* kept for the partners; freed with the models */
        models.v = NULL;
        models.n = 0;
        plan->alt = alternate;
    }
    models_free(&models); /* none when the alternates took them */
    if (a->verbose)
        fprintf(stderr, "srgan-up: model %s (x%d, %s) from %s%s\n", chosen.name, chosen.scale, chosen.arch,
                chosen.path, a->ensemble ? "; self-ensemble of 8 views" : "");
    if (a->verbose)
        fprintf(stderr, "srgan-up: precision %s%s\n", sr_precision_name(prec),
                a->precision == SR_PRECISION_AUTO
                    ? (prec == SR_PRECISION_BF16
                           ? (sr_amx_supported() ? " (auto: AMX; fp32 for 16-bit and float input)"
                                                 : " (auto: AVX512-BF16; fp32 for 16-bit and "
                                                   "float input)")
                           : sr_bf16_supported()
                               ? " (auto: AVX512-BF16 without AMX is slower than fp32 on Intel)"
                               : " (auto: the CPU has no AVX512-BF16)")
                    : prec == SR_PRECISION_BF16 && sr_amx_supported() ? " (AMX)" : "");
    return 0;
}

/* Keep this task's part of the list (--shard K/N): the same list and sizes
 * give the same parts on every node. A missing input (a dangling link,
 * already marked failed) counts as size 0 and still belongs to one part. */
static void keep_shard(job_list *jobs, int k, int n, int verbose)
{
    uint64_t *size = malloc(sizeof *size * (size_t)(jobs->n ? jobs->n : 1));
    int *part = malloc(sizeof *part * (size_t)(jobs->n ? jobs->n : 1));
    if (!size || !part) {
        fprintf(stderr, "srgan-up: out of memory\n");
        exit(1);
    }
    for (int i = 0; i < jobs->n; i++) {
        struct stat st;
        size[i] = stat(jobs->v[i].in, &st) == 0 ? (uint64_t)st.st_size : 0;
    }
    shard_assign(size, jobs->n, n, part);
    int kept = 0;
    uint64_t bytes = 0, total = 0;
    for (int i = 0; i < jobs->n; i++) {
        total += size[i];
        if (part[i] == k) {
            bytes += size[i];
            jobs->v[kept++] = jobs->v[i];
        } else {
            free(jobs->v[i].in);
            free(jobs->v[i].out);
        }
    }
    if (verbose)
        fprintf(stderr, "srgan-up: part %d of %d: %d of %d files, %.1f of %.1f MB\n", k, n, kept, jobs->n,
                bytes / 1e6, total / 1e6);
    jobs->n = kept;
    free(size);
    free(part);
}

static void free_models(sr_generator *g, upscale_plan *plan)
{
    sr_generator_free(g);
    plan->alt = NULL;
    for (int i = 0; i < UPSCALE_ALT_N; i++) {
        sr_generator_free(alts.slot[i].g);
        alts.slot[i].g = NULL;
        alts.slot[i].found = 0;
    }
    models_free(&alts.models);
}

int main(int argc, char **argv)
{
    cli_args a;
    int rc = cli_parse(argc, argv, &a);
    if (rc)
        return rc == 1 ? 0 : 2;
    if (a.list_models) {
        cli_models m;
        models_scan(&m, a.verbose);
        models_print(&m, stdout);
        models_free(&m);
        return 0;
    }
    if (a.merge_reports)
        return shard_merge_reports(a.inputs[0], a.inputs + 1, a.ninputs - 1, stderr) ? 1 : 0;
    upscale_plan plan;
    sr_generator *g = NULL;
    char model_name[128] = "";
    if (a.precision == SR_PRECISION_BF16 && !sr_bf16_supported()) {
        fprintf(stderr, "srgan-up: --precision bf16: this CPU has no AVX512-BF16 (use fp32 or auto)\n");
        return 2;
    }
    if (make_plan(&a, &plan, &g, model_name, sizeof model_name))
        return a.model || a.ensemble || a.denoise >= 0 || a.method == METHOD_SRGAN ? 2 : 1;
    job_list jobs;
    if (jobs_build(&a, &jobs)) {
        free_models(g, &plan);
        return 2;
    }
    /* "-": standard input / output (single-file mode) */
    pipe_files pf = {0};
    int to_stdout = a.single_out && !strcmp(a.single_out, "-");
    if (a.single_out && (to_stdout || !strcmp(a.inputs[0], "-"))) {
        sr_error perr = {0};
        job *j = &jobs.v[0];
        if (to_stdout && a.format == SR_FMT_AUTO) {
            char list[64];
            sr_format_list(list, sizeof list);
            fprintf(stderr, "srgan-up: writing to standard output (-) needs --format (%s)\n", list);
            jobs_free(&jobs);
            free_models(g, &plan);
            return 2;
        }
        install_signals(); /* before the spool exists: it is registered as it is made */
        if ((!strcmp(a.inputs[0], "-") && pipe_stdin(&pf, on_temp, &perr)) ||
            (to_stdout && pipe_stdout_path(&pf, sr_format_name(a.format), &perr))) {
            fprintf(stderr, "srgan-up: %s\n", perr.msg);
            pipe_cleanup(&pf);
            jobs_free(&jobs);
            free_models(g, &plan);
            return 1;
        }
        if (pf.in[0]) {
            free(j->in);
            j->in = strdup(pf.in);
            j->in_name = "-";
        }
        if (pf.out[0]) {
            free(j->out);
            j->out = strdup(pf.out);
            j->out_name = "-";
            on_temp(NULL, pf.out, 1);
        }
    }
    char part_report[PATH_MAX], hint[256];
    if (a.shard) {
        keep_shard(&jobs, a.shard_k, a.shard_n, a.verbose);
        if (a.report) {
            if (shard_report_path(a.report, a.shard_k, a.shard_n, part_report, sizeof part_report)) {
                fprintf(stderr, "srgan-up: --report %s: name too long for part %d of %d\n", a.report,
                        a.shard_k, a.shard_n);
                pipe_cleanup(&pf);
                jobs_free(&jobs);
                free_models(g, &plan);
                return 2;
            }
            a.report = part_report;
        }
    } else if (!a.quiet && shard_slurm_hint(hint, sizeof hint)) {
        fprintf(stderr, "srgan-up: %s\n", hint);
    }
    batch_report report;
    if (a.report && batch_report_open(&report, a.report)) {
        pipe_cleanup(&pf);
        jobs_free(&jobs);
        free_models(g, &plan);
        return 2;
    }
    report_path = a.report;
    install_signals();
    progress prog;
    progress_init(&prog, jobs.n, a.quiet);
    batch_ctx ctx = {&a, &plan, &prog, a.report ? &report : NULL, on_temp, NULL};
    batch_run(&jobs, &ctx);
    progress_finish(&prog);
    int failed = batch_summary(&jobs, a.quiet);
    if (pf.out[0] && jobs.v[0].status == JOB_WRITTEN) {
        sr_error perr = {0};
        if (pipe_copy_out(&pf, &perr)) {
            fprintf(stderr, "srgan-up: %s\n", perr.msg);
            failed++;
        }
    }
    pipe_cleanup(&pf);
    if (a.report && batch_report_close(&report))
        failed++;
    jobs_free(&jobs);
    free_models(g, &plan);
    return failed ? 1 : 0;
}
