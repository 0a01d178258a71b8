/* batch.c: job list construction (files, directories, mirrored trees),
 * parallel execution, summary and CSV report. */
#include <stdio.h>
#include "batch.h"
#include "pipes.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* Length of a directory name without its trailing slashes ("out/" and
 * "out//" name the same folder as "out"; "/" stays "/"), so that names
 * built on it read "out/a.png", not "out//a.png", in messages and the CSV. */
static size_t dir_len(const char *d)
{
    size_t n = strlen(d);
    while (n > 1 && d[n - 1] == '/')
        n--;
    return n;
}

/* "A/B" (A's trailing slashes dropped; B alone when A is empty). */
static char *join(const char *a, const char *b)
{
    size_t la = dir_len(a);
    size_t n = la + strlen(b) + 2;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%.*s%s%s", (int)la, a, (la && a[la - 1] != '/') ? "/" : "", b);
    return s;
}

/* OUTDIR/REL_DIR/STEM SUFFIX .EXT, where EXT is the --format's or the input's. */
static char *output_name(const cli_args *a, const char *out_dir, const char *rel_in)
{
    const char *slash = strrchr(rel_in, '/');
    const char *base = slash ? slash + 1 : rel_in;
    const char *dot = strrchr(base, '.');
    size_t stem_len = dot ? (size_t)(dot - rel_in) : strlen(rel_in);
    const char *ext = a->format ? sr_format_name(a->format) : (dot ? dot + 1 : "png");
    const size_t dl = dir_len(out_dir);
    size_t n = dl + stem_len + strlen(a->suffix) + strlen(ext) + 4;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%.*s%s%.*s%s.%s", (int)dl, out_dir, (dl == 0 || out_dir[dl - 1] == '/') ? "" : "/",
                 (int)stem_len, rel_in, a->suffix, ext);
    return s;
}

static int add_job(job_list *jobs, char *in, char *out)
{
    job *v = realloc(jobs->v, (size_t)(jobs->n + 1) * sizeof *v);
    if (!v || !in || !out) {
        if (v)
            jobs->v = v;
        free(in);
        free(out);
        fprintf(stderr, "srgan-up: out of memory\n");
        return -1;
    }
    jobs->v = v;
    memset(&v[jobs->n], 0, sizeof v[jobs->n]);
    v[jobs->n].in = in;
    v[jobs->n].out = out;
    jobs->n++;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Walk root/rel in sorted order, adding every image (and subdirectories'
 * images when recursive). */
static int walk(const cli_args *a, const char *root, const char *rel, job_list *jobs)
{
    char *dir = *rel ? join(root, rel) : strdup(root);
    DIR *d = dir ? opendir(dir) : NULL;
    if (!d) {
        /* An unreadable subdirectory is reported and skipped; the rest of
         * the tree still runs. Only the top directory is fatal. */
        fprintf(stderr, "srgan-up: %s: %s\n", dir ? dir : root, strerror(errno));
        free(dir);
        return *rel ? 0 : -1;
    }
    char **names = NULL;
    int n = 0, rc = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue; /* hidden files, and our own temporary .part files */
        char **nn = realloc(names, (size_t)(n + 1) * sizeof *nn);
        if (!nn)
            break;
        names = nn;
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    if (n > 1)
        qsort(names, (size_t)n, sizeof *names, cmp_str);
    for (int i = 0; i < n && rc == 0; i++) {
        if (!names[i])
            continue;
        char *relpath = *rel ? join(rel, names[i]) : strdup(names[i]);
        char *full = relpath ? join(root, relpath) : NULL;
        struct stat st, lst;
        int st_ok = full && stat(full, &st) == 0, st_errno = errno;
        if (st_ok && lstat(full, &lst) == 0) {
            if (S_ISDIR(st.st_mode)) {
                /* Symbolic links to directories are not followed: they can
                 * loop, and they can reach outside the tree. */
                if (a->recursive && !S_ISLNK(lst.st_mode))
                    rc = walk(a, root, relpath, jobs);
            } else if (sr_is_image_name(names[i])) {
                /* Not only regular files: a FIFO or device named like an
                 * image is refused by the reader and shows in the summary. */
                rc = add_job(jobs, strdup(full), output_name(a, a->out_dir, relpath));
            }
        } else if (!st_ok && full && sr_is_image_name(names[i]) && lstat(full, &lst) == 0) {
            /* An image the user expects to be processed whose link leads
             * nowhere: a failure with its reason in the summary and the CSV,
             * not a silent omission. */
            int e = st_errno;
            rc = add_job(jobs, strdup(full), output_name(a, a->out_dir, relpath));
            if (!rc) {
                job *j = &jobs->v[jobs->n - 1];
                char target[1024];
                ssize_t tn = S_ISLNK(lst.st_mode) ? readlink(full, target, sizeof target - 1) : -1;
                target[tn > 0 ? tn : 0] = '\0';
                j->status = JOB_FAILED;
                if (e == ENOENT && tn > 0)
                    snprintf(j->error, sizeof j->error,
                             "%s: dangling symbolic link (its target %s does not exist)", full, target);
                else
                    snprintf(j->error, sizeof j->error, "%s: %s", full, strerror(e));
            }
        }
        free(relpath);
        free(full);
    }
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
    free(dir);
    return rc;
}

static int same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    if (!strcmp(a, b))
        return 1;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* Outputs that would collide: two inputs mapping to one output name (x.png
 * and x.tif with --format png), or an output that is another job's input.
 * Those jobs fail up front, so no result is silently replaced and no input
 * is ever written over. */
static void mark_collisions(job_list *jobs)
{
    for (int i = 0; i < jobs->n; i++) {
        job *j = &jobs->v[i];
        for (int k = 0; k < jobs->n && j->status == JOB_PENDING; k++) {
            if (k < i && !strcmp(jobs->v[k].out, j->out)) {
                j->status = JOB_FAILED;
                snprintf(j->error, sizeof j->error,
                         "%s: also the output of %s (use --suffix, or another --format)", j->out,
                         jobs->v[k].in);
            } else if (k != i && same_file(jobs->v[k].in, j->out)) {
                j->status = JOB_FAILED;
                snprintf(j->error, sizeof j->error, "%s: is the input %s; refusing to overwrite an input",
                         j->out, jobs->v[k].in);
            }
        }
    }
}

typedef struct file_id {
    dev_t dev;
    ino_t ino;
    int job;
} file_id;

static int cmp_id(const void *pa, const void *pb)
{
    const file_id *x = pa, *y = pb;
    if (x->dev != y->dev)
        return x->dev < y->dev ? -1 : 1;
    if (x->ino != y->ino)
        return x->ino < y->ino ? -1 : 1;
    return 0;
}

/* When the output folder is (or contains) the input folder, a second run
 * finds the first run's outputs (a_x2.png next to a.png) among its inputs.
 * An input that IS another input's output file is a previous result, not a
 * new image: it is dropped (and -v says so), so it is never upscaled again
 * into a_x2_x2.png. Compared by device and inode, sorted, so the check is
 * n log n however the paths are spelled. */
static void drop_previous_outputs(const cli_args *a, job_list *jobs)
{
    file_id *ids = malloc((size_t)jobs->n * sizeof *ids + 1);
    char *drop = calloc((size_t)jobs->n + 1, 1);
    int m = 0;
    struct stat st;
    for (int i = 0; ids && drop && i < jobs->n; i++)
        if (stat(jobs->v[i].out, &st) == 0)
            ids[m++] = (file_id){st.st_dev, st.st_ino, i};
    if (m > 1)
        qsort(ids, (size_t)m, sizeof *ids, cmp_id);
    for (int i = 0; m && i < jobs->n; i++) {
        if (jobs->v[i].status != JOB_PENDING || stat(jobs->v[i].in, &st) != 0)
            continue;
        file_id key = {st.st_dev, st.st_ino, i};
        const file_id *f = bsearch(&key, ids, (size_t)m, sizeof *ids, cmp_id);
        while (f && f > ids && !cmp_id(f - 1, &key))
            f--;
        for (; f && f < ids + m && !cmp_id(f, &key); f++) {
            if (f->job == i)
                continue; /* its own output: refused when it runs */
            drop[i] = 1;
            if (a->verbose)
                fprintf(stderr, "srgan-up: %s: skipped: it is the output of %s (a previous run's)\n",
                        jobs->v[i].in, jobs->v[f->job].in);
            break;
        }
    }
    int k = 0;
    for (int i = 0; drop && i < jobs->n; i++) {
        if (drop[i]) {
            free(jobs->v[i].in);
            free(jobs->v[i].out);
        } else {
            jobs->v[k++] = jobs->v[i];
        }
    }
    if (drop)
        jobs->n = k;
    free(ids);
    free(drop);
}

int jobs_build(const cli_args *a, job_list *jobs)
{
    jobs->v = NULL;
    jobs->n = 0;
    if (a->single_out)
        return add_job(jobs, strdup(a->inputs[0]), strdup(a->single_out));
    if (a->in_dir) {
        struct stat st;
        if (stat(a->in_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
            fprintf(stderr, "srgan-up: %s: not a directory\n", a->in_dir);
            return -1;
        }
        if (walk(a, a->in_dir, "", jobs))
            return -1;
        drop_previous_outputs(a, jobs);
        mark_collisions(jobs);
        if (jobs->n == 0)
            fprintf(stderr, "srgan-up: %s: no PNG, JPEG, TIFF or WebP files found%s\n", a->in_dir,
                    a->recursive ? "" : " (use -r for subdirectories)");
        return 0;
    }
    for (int i = 0; i < a->ninputs; i++) {
        const char *slash = strrchr(a->inputs[i], '/');
        if (add_job(jobs, strdup(a->inputs[i]), output_name(a, a->out_dir, slash ? slash + 1 : a->inputs[i])))
            return -1;
    }
    mark_collisions(jobs);
    return 0;
}

void jobs_free(job_list *jobs)
{
    for (int i = 0; i < jobs->n; i++) {
        free(jobs->v[i].in);
        free(jobs->v[i].out);
    }
    free(jobs->v);
    jobs->v = NULL;
    jobs->n = 0;
}

/* mkdir -p of the directory part of path: every component in turn. */
static int make_parent_dirs(const char *path, sr_error *err)
{
    char *p = strdup(path);
    if (!p) {
        sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", path);
        return -1;
    }
    char *last = strrchr(p, '/');
    int rc = 0;
    for (char *q = strchr(p + 1, '/'); q && q <= last && !rc; q = strchr(q + 1, '/')) {
        *q = '\0';
        struct stat st;
        if (stat(p, &st) != 0 && mkdir(p, 0777) != 0 && errno != EEXIST) {
            sr_error_set(err, SR_ERR_IO, "%s: cannot create directory %s: %s", path, p, strerror(errno));
            rc = -1;
        }
        *q = '/';
    }
    free(p);
    return rc;
}


typedef struct hooks_user {
    const batch_ctx *ctx;
    int slot; /* this file's progress slot */
} hooks_user;

static int on_rows(void *user, int done, int total, int width, int page, int pages)
{
    const hooks_user *hu = user;
    return progress_rows(hu->ctx->prog, hu->slot, done, total, width, page, pages);
}

static void on_temp(void *user, const char *tmp, int active)
{
    const batch_ctx *ctx = ((hooks_user *)user)->ctx;
    if (ctx->on_temp)
        ctx->on_temp(ctx->temp_user, tmp, active);
}

#define JOB_IN(j) ((j)->in_name ? (j)->in_name : (j)->in)
#define JOB_OUT(j) ((j)->out_name ? (j)->out_name : (j)->out)

static void run_one(job *j, const batch_ctx *ctx)
{
    const cli_args *a = ctx->args;
    sr_error err = {0};
    double t0 = progress_now();
    struct stat st;
    int slot = -1;
    if (j->status == JOB_FAILED) { /* refused when the list was built */
        progress_end_file(ctx->prog, slot, JOB_IN(j), JOB_OUT(j), "failed", 0, j->error);
        return;
    }
    if (same_file(j->in, j->out)) {
        sr_error_set(&err, SR_ERR_ARG, "%s: output is the input file; refusing to overwrite an input", j->out);
    } else if (a->skip_existing && stat(j->out, &st) == 0) {
        j->status = JOB_SKIPPED;
        progress_end_file(ctx->prog, slot, JOB_IN(j), JOB_OUT(j), "skipped", 0, NULL);
        return;
    } else if (!a->overwrite && stat(j->out, &st) == 0) {
        /* Refused before any work (the writer checks again when it commits). */
        sr_error_set(&err, SR_ERR_EXISTS, "%s: already exists", j->out);
    } else if (!a->out_dir || make_parent_dirs(j->out, &err) == 0) {
        /* Only batch mode creates directories (OUTDIR and its mirrored
         * tree); a single OUT in a missing directory is an error. */
        slot = progress_start_file(ctx->prog, JOB_IN(j));
        hooks_user hu = {ctx, slot};
        upscale_hooks hooks = {on_rows, on_temp, &hu};
        upscale_file(j->in, j->out, ctx->plan, &hooks, &err);
    }
    j->seconds = progress_now() - t0;
    if (err.code) {
        j->status = JOB_FAILED;
        /* The library says what happened; which flag changes it is the
         * CLI's to say (also when the output appeared while we worked). */
        snprintf(j->error, sizeof j->error, "%s%s", err.msg,
                 err.code == SR_ERR_EXISTS ? " (use --overwrite to replace it, or --skip-existing)" : "");
        if (j->in_name)
            pipe_rename_in_msg(j->error, sizeof j->error, j->in, j->in_name);
        if (j->out_name)
            pipe_rename_in_msg(j->error, sizeof j->error, j->out, j->out_name);
        progress_end_file(ctx->prog, slot, JOB_IN(j), JOB_OUT(j), "failed", j->seconds, j->error);
    } else {
        j->status = JOB_WRITTEN;
        progress_end_file(ctx->prog, slot, JOB_IN(j), JOB_OUT(j), "written", j->seconds, NULL);
    }
}

/* ---- the --report CSV ---------------------------------------------------- */

static void csv_field(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

/* One whole line with one write(): a signal or a crash cannot leave half a
 * line, and lines of parallel jobs cannot interleave. */
static void report_write(batch_report *r, const char *line, size_t n)
{
    pthread_mutex_lock(&r->lock);
    while (n > 0 && !r->error) {
        ssize_t k = write(r->fd, line, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            r->error = k < 0 ? errno : EIO;
            break;
        }
        line += k;
        n -= (size_t)k;
    }
    pthread_mutex_unlock(&r->lock);
}

int batch_report_open(batch_report *r, const char *path)
{
    memset(r, 0, sizeof *r);
    r->path = path;
    r->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0666);
    if (r->fd < 0) {
        fprintf(stderr, "srgan-up: %s: %s\n", path, strerror(errno));
        return -1;
    }
    pthread_mutex_init(&r->lock, NULL);
    static const char header[] = "input,output,status,seconds,error\n";
    report_write(r, header, sizeof header - 1);
    return 0;
}

static void report_job(batch_report *r, const job *j)
{
    static const char *const names[] = {"pending", "written", "skipped", "failed"};
    char *line = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&line, &n);
    if (!f) {
        pthread_mutex_lock(&r->lock);
        if (!r->error)
            r->error = ENOMEM;
        pthread_mutex_unlock(&r->lock);
        return;
    }
    csv_field(f, JOB_IN(j));
    fputc(',', f);
    csv_field(f, JOB_OUT(j));
    fprintf(f, ",%s,%.3f,", names[j->status], j->seconds);
    csv_field(f, j->error);
    fputc('\n', f);
    if (fclose(f) == 0)
        report_write(r, line, n);
    free(line);
}

int batch_report_close(batch_report *r)
{
    int rc = 0;
    if (r->error) {
        fprintf(stderr, "srgan-up: %s: report incomplete: %s\n", r->path, strerror(r->error));
        rc = -1;
    }
    if (close(r->fd) != 0 && !rc) {
        fprintf(stderr, "srgan-up: %s: %s\n", r->path, strerror(errno));
        rc = -1;
    }
    pthread_mutex_destroy(&r->lock);
    return rc;
}

typedef struct worker {
    job_list *jobs;
    const batch_ctx *ctx;
    atomic_int *next;
} worker;

static void *worker_main(void *arg)
{
    worker *w = arg;
    for (;;) {
        int i = atomic_fetch_add(w->next, 1);
        if (i >= w->jobs->n)
            break;
        run_one(&w->jobs->v[i], w->ctx);
        if (w->ctx->report)
            report_job(w->ctx->report, &w->jobs->v[i]);
    }
    return NULL;
}

void batch_run(job_list *jobs, const batch_ctx *ctx)
{
    int nthreads = ctx->args->jobs > 1 ? ctx->args->jobs : 1;
    if (nthreads > jobs->n)
        nthreads = jobs->n;
    atomic_int next = 0;
    worker w = {jobs, ctx, &next};
    if (nthreads <= 1) {
        worker_main(&w);
        return;
    }
    pthread_t *t = calloc((size_t)nthreads, sizeof *t);
    int started = 0;
    for (int i = 0; t && i < nthreads; i++)
        if (pthread_create(&t[i], NULL, worker_main, &w) == 0)
            started++;
    if (!started)
        worker_main(&w); /* no threads to be had: do the work here */
    for (int i = 0; i < started; i++)
        pthread_join(t[i], NULL);
    free(t);
}

int batch_summary(const job_list *jobs, int quiet)
{
    int written = 0, skipped = 0, failed = 0;
    for (int i = 0; i < jobs->n; i++) {
        written += jobs->v[i].status == JOB_WRITTEN;
        skipped += jobs->v[i].status == JOB_SKIPPED;
        failed += jobs->v[i].status == JOB_FAILED;
    }
    if (jobs->n > 1 || skipped) {
        if (!quiet || failed)
            fprintf(stderr, "srgan-up: %d written, %d skipped, %d failed\n", written, skipped, failed);
        if (failed && jobs->n > 1)
            for (int i = 0; i < jobs->n; i++)
                if (jobs->v[i].status == JOB_FAILED)
                    fprintf(stderr, "  failed: %s\n", jobs->v[i].error);
    }
    return failed;
}
