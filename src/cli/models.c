/* models.c: the weights search path and the choice of a model. */
#include <stdio.h>
#include "models.h"

#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "srgan/model.h"
#include "srgan/weights.h"
#include "srgan_config.h"

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

static int meta_int(const sr_safetensors *st, const char *key, int dflt)
{
    const char *v = sr_safetensors_meta(st, key);
    return v ? atoi(v) : dflt;
}

static void copy_str(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

/* A model's name: its file name without ".safetensors", except for the
 * file srgan-train exports from every run, OUT/model.safetensors, which is
 * named after its directory (runs/x4/model.safetensors is "x4") so that the
 * runs are told apart. */
static void name_of(const char *path, char *name, size_t cap)
{
    const char *slash = strrchr(path, '/');
    copy_str(name, cap, slash ? slash + 1 : path);
    if (ends_with(name, ".safetensors"))
        name[strlen(name) - strlen(".safetensors")] = '\0';
    char full[PATH_MAX];
    if (strcmp(name, "model") || !realpath(path, full))
        return;
    char *end = strrchr(full, '/');
    if (!end || end == full)
        return; /* /model.safetensors: no directory to name it after */
    *end = '\0';
    copy_str(name, cap, strrchr(full, '/') + 1);
}

/* Fill a model entry from a file's metadata; -1 if it is not valid weights. */
static int describe(const char *path, cli_model *md, int verbose)
{
    sr_error err = {0};
    sr_safetensors *st = sr_safetensors_open(path, &err);
    if (!st) {
        if (verbose)
            fprintf(stderr, "srgan-up: skipping %s\n", err.msg);
        return -1;
    }
    const char *fmt = sr_safetensors_meta(st, "format");
    if (fmt && !strcmp(fmt, "srgan-train-checkpoint")) {
        /* training state, not a model: its model.safetensors is beside it */
        if (verbose)
            fprintf(stderr, "srgan-up: skipping %s: a training checkpoint (use the "
                            "model.safetensors next to it)\n", path);
        sr_safetensors_close(st);
        return -1;
    }
    memset(md, 0, sizeof *md);
    copy_str(md->path, sizeof md->path, path);
    name_of(path, md->name, sizeof md->name);
    /* "kind" if set, else the training phase srgan-train records, else a
     * guess from the file name. */
    const char *kind = sr_safetensors_meta(st, "kind");
    if (!kind)
        kind = sr_safetensors_meta(st, "phase");
    if (!kind)
        kind = strstr(md->name, "gan") ? "gan" : strstr(md->name, "psnr") ? "psnr" : "";
    copy_str(md->kind, sizeof md->kind, kind);
    const char *arch = sr_safetensors_meta(st, "arch");
    copy_str(md->arch, sizeof md->arch, arch ? arch : "msrresnet");
    md->scale = meta_int(st, "scale", 4);
    md->blocks = meta_int(st, "num_block", 0);
    md->channels = meta_int(st, "num_feat", 0);
    md->in_channels = meta_int(st, "num_in_ch", 3);
    copy_str(md->partner, sizeof md->partner, sr_safetensors_meta(st, "denoise_partner"));
    const char *dd = sr_safetensors_meta(st, "denoise_default");
    md->denoise_default = dd && md->partner[0] && atof(dd) >= 0 && atof(dd) <= 1 ? atof(dd) : -1;
    /* the architecture as the loader sees it (files converted without
     * metadata included) and the parameter count, from the shapes */
    sr_generator_config gc;
    size_t np;
    sr_error derr = {0};
    if (!sr_generator_describe(path, &gc, &np, &derr)) {
        copy_str(md->arch, sizeof md->arch, sr_arch_name(gc.arch));
        md->scale = gc.scale;
        md->blocks = gc.blocks;
        md->channels = gc.channels;
        md->in_channels = gc.in_channels;
        md->params = np;
    } else if (verbose) {
        fprintf(stderr, "srgan-up: %s\n", derr.msg);
    }
    const char *psnr = sr_safetensors_meta(st, "val_psnr_y");
    const char *set = sr_safetensors_meta(st, "val_set");
    if (psnr && strcmp(psnr, "nan")) {
        const char *set_name = set ? strrchr(set, '/') : NULL;
        snprintf(md->val_psnr, sizeof md->val_psnr, "%s dB %s", psnr,
                 set_name ? set_name + 1 : set ? set : "");
    }
    sr_safetensors_close(st);
    return 0;
}

static void add_file(cli_models *m, const char *path, int verbose)
{
    cli_model md;
    if (describe(path, &md, verbose))
        return;
    for (int i = 0; i < m->n; i++)
        if (!strcmp(m->v[i].name, md.name))
            return; /* an earlier directory in the search path wins */
    cli_model *v = realloc(m->v, (size_t)(m->n + 1) * sizeof *v);
    if (!v)
        return;
    m->v = v;
    m->v[m->n++] = md;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void scan_dir(cli_models *m, const char *dir, int verbose)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    char **names = NULL;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char sub[PATH_MAX];
        struct stat st;
        /* srgan-train's output directories: DIR/RUN/model.safetensors */
        int run_dir = !ends_with(e->d_name, ".safetensors") &&
                      snprintf(sub, sizeof sub, "%s/%s/model.safetensors", dir, e->d_name) <
                          (int)sizeof sub &&
                      stat(sub, &st) == 0 && S_ISREG(st.st_mode);
        if (!run_dir && !ends_with(e->d_name, ".safetensors"))
            continue;
        char **nn = realloc(names, (size_t)(n + 1) * sizeof *nn);
        if (!nn)
            break;
        names = nn;
        if (run_dir) {
            char *rel = malloc(strlen(e->d_name) + sizeof "/model.safetensors");
            if (rel)
                sprintf(rel, "%s/model.safetensors", e->d_name);
            names[n++] = rel;
        } else {
            names[n++] = strdup(e->d_name);
        }
    }
    closedir(d);
    if (n > 1)
        qsort(names, (size_t)n, sizeof *names, cmp_name); /* stable order on every file system */
    for (int i = 0; i < n; i++) {
        char path[PATH_MAX];
        if (names[i] && snprintf(path, sizeof path, "%s/%s", dir, names[i]) < (int)sizeof path)
            add_file(m, path, verbose);
        free(names[i]);
    }
    free(names);
}

void models_scan(cli_models *m, int verbose)
{
    m->v = NULL;
    m->n = 0;
    /* The library's search path (srgan/model.h): an installed srgan-up
     * never reads the source tree it was built from. */
    const char *dirs[4];
    int nd = sr_model_dirs(dirs, 4);
    struct stat st;
    for (int i = 0; i < nd; i++) {
        if (stat(dirs[i], &st) == 0 && S_ISREG(st.st_mode))
            add_file(m, dirs[i], verbose); /* $SRGAN_UP_WEIGHTS naming one file */
        else
            scan_dir(m, dirs[i], verbose);
    }
}

void models_free(cli_models *m)
{
    free(m->v);
    m->v = NULL;
    m->n = 0;
}

void models_print(const cli_models *m, FILE *f)
{
    if (!m->n) {
        const char *dirs[4];
        int nd = sr_model_dirs(dirs, 4);
        fprintf(f, "no models found (looked in");
        for (int i = 0; i < nd; i++)
            fprintf(f, "%s %s", i ? "," : "", dirs[i]);
        fprintf(f, ")\n");
        return;
    }
    fprintf(f, "%-24s %-10s %-5s %-10s %-9s %-7s %-28s %s\n", "name", "kind", "scale", "arch",
            "size", "params", "validation", "file");
    for (int i = 0; i < m->n; i++) {
        const cli_model *md = &m->v[i];
        char size[32], params[32];
        /* blocks x features (srvgg: convs x features, rrdbnet: RRDBs x features) */
        snprintf(size, sizeof size, "%dx%d", md->blocks, md->channels);
        if (!md->params)
            snprintf(params, sizeof params, "?");
        else if (md->params >= 1000000)
            snprintf(params, sizeof params, "%.2fM", md->params / 1e6);
        else
            snprintf(params, sizeof params, "%.1fk", md->params / 1e3);
        fprintf(f, "%-24s %-10s x%-4d %-10s %-9s %-7s %-28s %s\n", md->name,
                md->kind[0] ? md->kind : "-", md->scale, md->arch, size, params,
                md->val_psnr[0] ? md->val_psnr : "-", md->path);
    }
}

/* How well a model's native scale serves a requested scale: the smallest
 * native scale at least as large as the request is best (the rest is a mild
 * Lanczos downscale); failing that, the largest. Lower is better. */
static double scale_cost(int native, double want)
{
    if (native + 1e-9 >= want)
        return native - want;
    return 100.0 + (want - native);
}

int models_pick(const cli_models *m, const char *want, double scale, cli_model *out, sr_error *err)
{
    struct stat st;
    /* Real-ESRGAN's -m is a folder of models; here a folder is searched with
     * SRGAN_UP_WEIGHTS, and -m names one model. */
    if (want && stat(want, &st) == 0 && S_ISDIR(st.st_mode)) {
        sr_error_set(err, SR_ERR_ARG,
                     "%s: a directory; -m takes a model file or name (SRGAN_UP_WEIGHTS=%s "
                     "searches a directory, see --list-models)", want, want);
        return -1;
    }
    if (want && (strchr(want, '/') || ends_with(want, ".safetensors"))) {
        if (stat(want, &st) != 0) {
            sr_error_set(err, SR_ERR_ARG, "%s: no such model file", want);
            return -1;
        }
        if (describe(want, out, 0)) {
            /* Re-open to get the reason in err. */
            sr_safetensors *s = sr_safetensors_open(want, err);
            sr_safetensors_close(s);
            return -1;
        }
        return 0;
    }
    const cli_model *best = NULL;
    double best_cost = INFINITY;
    int any_default_kind = 0;
    for (int i = 0; i < m->n; i++)
        any_default_kind |= !strcmp(m->v[i].kind, "psnr") && m->v[i].in_channels == 3;
    for (int i = 0; i < m->n; i++) {
        const cli_model *md = &m->v[i];
        int match;
        if (want)
            match = !strcmp(md->name, want) || !strcmp(md->kind, want);
        else
            match = !any_default_kind || !strcmp(md->kind, "psnr");
        if (!match)
            continue;
        double c = scale_cost(md->scale, scale);
        /* Without a name, only RGB models: they take gray input too (as
         * R = G = B), while a 1-channel model (microscopy) refuses RGB. A
         * 1-channel model is used when asked for by name or kind. */
        if (!want && md->in_channels == 1)
            continue;
        if (c < best_cost) {
            best = md;
            best_cost = c;
        }
    }
    if (!best) {
        if (!want)
            return 1;
        sr_error_set(err, SR_ERR_ARG, "no model named '%s' (see srgan-up --list-models)", want);
        return -1;
    }
    *out = *best;
    return 0;
}
