/* shard.c: a batch split across the tasks of a job array (see shard.h). */
#include "shard.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "srgan/atomic.h"

#define MAX_SHARDS 100000

static int parse_uint(const char *s, long *v)
{
    char *e;
    errno = 0;
    *v = strtol(s, &e, 10);
    return e != s && !*e && !errno && *v >= 0 && s[0] >= '0' && s[0] <= '9';
}

static const char *env_or_null(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

int shard_parse(const char *spec, int *k, int *n, char *why, size_t cap)
{
    long kk, nn;
    if (!strcmp(spec, "slurm")) {
        const char *id = env_or_null("SLURM_ARRAY_TASK_ID"), *mn = env_or_null("SLURM_ARRAY_TASK_MIN");
        const char *cnt = env_or_null("SLURM_ARRAY_TASK_COUNT"), *st = env_or_null("SLURM_ARRAY_TASK_STEP");
        const char *mx = env_or_null("SLURM_ARRAY_TASK_MAX");
        long vid, vmin, vcount = 0, vstep = 1, vmax;
        if (!id || !mn || !parse_uint(id, &vid) || !parse_uint(mn, &vmin)) {
            snprintf(why, cap, "--shard slurm: not a Slurm array task (SLURM_ARRAY_TASK_ID and "
                               "SLURM_ARRAY_TASK_MIN are not set); submit with sbatch --array");
            return -1;
        }
        if (st && (!parse_uint(st, &vstep) || vstep < 1)) {
            snprintf(why, cap, "--shard slurm: SLURM_ARRAY_TASK_STEP='%s' is not a step", st);
            return -1;
        }
        if (cnt) {
            if (!parse_uint(cnt, &vcount)) vcount = 0;
        } else if (mx && parse_uint(mx, &vmax) && vmax >= vmin) {
            vcount = (vmax - vmin) / vstep + 1;
        }
        kk = (vid - vmin) / vstep + 1;
        nn = vcount;
        if (nn < 1 || nn > MAX_SHARDS || vid < vmin || (vid - vmin) % vstep || kk > nn) {
            /* e.g. --array=1,3,8: not an evenly stepped range */
            snprintf(why, cap, "--shard slurm: task %ld of an array that is not an evenly stepped "
                               "range (min %ld, step %ld, count %ld); use --shard K/N", vid, vmin, vstep, nn);
            return -1;
        }
        *k = (int)kk;
        *n = (int)nn;
        return 0;
    }
    const char *slash = strchr(spec, '/');
    char kbuf[32];
    if (!slash || (size_t)(slash - spec) >= sizeof kbuf) goto bad;
    memcpy(kbuf, spec, (size_t)(slash - spec));
    kbuf[slash - spec] = '\0';
    if (!parse_uint(kbuf, &kk) || !parse_uint(slash + 1, &nn) || nn < 1 || nn > MAX_SHARDS || kk < 1 ||
        kk > nn)
        goto bad;
    *k = (int)kk;
    *n = (int)nn;
    return 0;
bad:
    snprintf(why, cap, "--shard: '%s' is not K/N with 1 <= K <= N (e.g. 2/4), nor 'slurm'", spec);
    return -1;
}

const char *shard_slurm_hint(char *buf, size_t cap)
{
    const char *id = env_or_null("SLURM_ARRAY_TASK_ID");
    if (!id)
        return NULL;
    snprintf(buf, cap, "running as Slurm array task %s without --shard: every task processes every "
                       "file; add --shard slurm (or --shard K/N) to split the batch", id);
    return buf;
}

typedef struct item {
    uint64_t size;
    int index;
} item;

static int by_size_desc(const void *pa, const void *pb)
{
    const item *a = pa, *b = pb;
    if (a->size != b->size)
        return a->size > b->size ? -1 : 1;
    return a->index - b->index; /* list order breaks ties: same on every node */
}

void shard_assign(const uint64_t *size, int count, int n, int *part)
{
    item *it = malloc(sizeof *it * (size_t)(count ? count : 1));
    uint64_t *load = calloc((size_t)n, sizeof *load);
    if (!it || !load) {
        /* Out of memory: fall back to round robin, still deterministic. */
        for (int i = 0; i < count; i++) part[i] = i % n + 1;
        free(it);
        free(load);
        return;
    }
    for (int i = 0; i < count; i++) it[i] = (item){size[i], i};
    qsort(it, (size_t)count, sizeof *it, by_size_desc);
    for (int i = 0; i < count; i++) {
        int best = 0;
        for (int p = 1; p < n; p++)
            if (load[p] < load[best]) best = p;
        /* +1: empty files still count, so they spread too */
        load[best] += it[i].size + 1;
        part[it[i].index] = best + 1;
    }
    free(it);
    free(load);
}

int shard_report_path(const char *pattern, int k, int n, char *out, size_t cap)
{
    size_t o = 0;
    int has_k = 0;
    for (const char *p = pattern; *p; p++) {
        char num[16] = "";
        if (p[0] == '%' && (p[1] == 'K' || p[1] == 'N')) {
            has_k |= p[1] == 'K';
            snprintf(num, sizeof num, "%d", p[1] == 'K' ? k : n);
            p++;
        } else {
            num[0] = *p;
            num[1] = '\0';
        }
        size_t l = strlen(num);
        if (o + l >= cap) return -1;
        memcpy(out + o, num, l);
        o += l;
    }
    out[o] = '\0';
    if (has_k)
        return 0;
    const char *slash = strrchr(out, '/'), *dot = strrchr(out, '.');
    if (dot && slash && dot < slash) dot = NULL;
    if (dot == out || (slash && dot == slash + 1)) dot = NULL; /* ".csv" alone is a name */
    size_t at = dot ? (size_t)(dot - out) : o;
    char tail[32];
    int t = snprintf(tail, sizeof tail, ".%d-of-%d", k, n);
    if (t < 0 || (size_t)t >= sizeof tail || o + (size_t)t >= cap) return -1;
    memmove(out + at + t, out + at, o - at + 1);
    memcpy(out + at, tail, (size_t)t);
    return 0;
}

/* ---- merging reports ------------------------------------------------------ */

static const char HEADER[] = "input,output,status,seconds,error";

typedef struct row {
    char *input; /* first field, unquoted, for sorting and matching */
    char *line;  /* the whole line as written, without the newline */
    int order;
} row;

/* The first CSV field of line, unquoted ("" doubles a quote). */
static char *first_field(const char *line)
{
    size_t n = strlen(line);
    char *f = malloc(n + 1), *o = f;
    if (!f) return NULL;
    const char *p = line;
    if (*p == '"') {
        for (p++; *p; p++) {
            if (*p == '"') {
                if (p[1] == '"') { *o++ = '"'; p++; continue; }
                break;
            }
            *o++ = *p;
        }
    } else {
        while (*p && *p != ',') *o++ = *p++;
    }
    *o = '\0';
    return f;
}

static int by_input(const void *pa, const void *pb)
{
    const row *a = pa, *b = pb;
    int c = strcmp(a->input, b->input);
    return c ? c : a->order - b->order;
}

/* Read one CSV record of any length (a quoted field may hold newlines, as
 * csv_field writes names and messages that contain them); NULL at EOF.
 * *fields gets the number of fields. */
static char *read_record(FILE *f, int *fields)
{
    size_t cap = 256, n = 0;
    char *s = malloc(cap);
    int c, quoted = 0;
    *fields = 1;
    if (!s) return NULL;
    while ((c = fgetc(f)) != EOF && (quoted || c != '\n')) {
        if (c == '"') quoted = !quoted;
        if (c == ',' && !quoted) (*fields)++;
        if (n + 1 >= cap) {
            char *t = realloc(s, cap *= 2);
            if (!t) { free(s); return NULL; }
            s = t;
        }
        s[n++] = (char)c;
    }
    if (c == EOF && n == 0) { free(s); return NULL; }
    if (n && s[n - 1] == '\r') n--;
    s[n] = '\0';
    return s;
}

int shard_merge_reports(const char *out_path, char *const *in, int n_in, FILE *msg)
{
    row *rows = NULL;
    int nrows = 0, cap = 0, rc = -1;
    for (int i = 0; i < n_in; i++) {
        FILE *f = fopen(in[i], "r");
        if (!f) {
            fprintf(msg, "srgan-up: %s: %s\n", in[i], strerror(errno));
            goto done;
        }
        int nf;
        char *h = read_record(f, &nf);
        if (!h || strcmp(h, HEADER)) {
            fprintf(msg, "srgan-up: %s: not a srgan-up report (first line is not '%s')\n", in[i], HEADER);
            free(h);
            fclose(f);
            goto done;
        }
        free(h);
        char *line;
        long lineno = 1;
        while ((line = read_record(f, &nf))) {
            lineno++;
            if (!*line) { free(line); continue; }
            if (nf != 5) {
                fprintf(msg, "srgan-up: %s: record %ld has %d fields, not 5 (%s)\n", in[i], lineno, nf,
                        HEADER);
                free(line);
                fclose(f);
                goto done;
            }
            if (nrows == cap) {
                row *t = realloc(rows, sizeof *t * (size_t)(cap = cap ? 2 * cap : 64));
                if (!t) { free(line); fclose(f); fprintf(msg, "srgan-up: out of memory\n"); goto done; }
                rows = t;
            }
            rows[nrows] = (row){first_field(line), line, nrows};
            if (!rows[nrows].input) { free(line); fclose(f); fprintf(msg, "srgan-up: out of memory\n"); goto done; }
            nrows++;
        }
        fclose(f);
    }
    qsort(rows, (size_t)nrows, sizeof *rows, by_input);
    sr_error err = {0};
    sr_atomic_file *af = sr_atomic_open(out_path, SR_ATOMIC_OVERWRITE, &err);
    if (!af) {
        fprintf(msg, "srgan-up: %s\n", err.msg);
        goto done;
    }
    FILE *o = sr_atomic_stream(af);
    fprintf(o, "%s\n", HEADER);
    for (int i = 0; i < nrows; i++) {
        /* Of several rows for one input, the last given wins. */
        if (i + 1 < nrows && !strcmp(rows[i].input, rows[i + 1].input))
            continue;
        fprintf(o, "%s\n", rows[i].line);
    }
    if (sr_atomic_commit(af, &err)) {
        fprintf(msg, "srgan-up: %s\n", err.msg);
        goto done;
    }
    rc = 0;
done:
    for (int i = 0; i < nrows; i++) {
        free(rows[i].input);
        free(rows[i].line);
    }
    free(rows);
    return rc;
}
