/* atomic.c: files that appear under their name only when complete (see
 * srgan/atomic.h). The one place that names temporary files, syncs them and
 * moves them into place: images (io.c), weights and checkpoints
 * (safetensors.c), reports (the CLI). */
#include "srgan/atomic.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct sr_atomic_file {
    sr_temp_hook hook;
    void *hook_user;
    char *path;     /* target */
    char *tmp_path; /* what is being written */
    int fd;         /* -1 once released or closed */
    FILE *fp;
    int overwrite;
};

/* ---- temporary files ----------------------------------------------------
 * The temporary file of target DIR/NAME is DIR/.NAME.srgan-up.HOST.PID.part
 * (PID-N when this process already writes one for the same target). A run
 * killed with SIGKILL cannot remove it; the name says whose it was, so a
 * later writer of the same target removes it once that process is gone on
 * this host, and touches nothing else: not another target's, not another
 * host's (a shared network folder), not a live process's. NAME longer than
 * 150 bytes is cut to 100 plus a hash of the whole, so the name stays under
 * the 255-byte limit and still belongs to one target. */

/* ".NAME.srgan-up." into buf (cap >= 160). */
static void temp_prefix(const char *base, char *buf, size_t cap)
{
    size_t n = strlen(base);
    if (n <= 150) {
        snprintf(buf, cap, ".%s.srgan-up.", base);
        return;
    }
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)base[i]) * 16777619u;
    snprintf(buf, cap, ".%.100s~%08x.srgan-up.", base, (unsigned)h);
}

/* This host's short name, reduced to [A-Za-z0-9_-] (it is part of a file
 * name and is parsed back). */
static void host_tag(char *buf, size_t cap)
{
    char h[256] = "";
    if (gethostname(h, sizeof h - 1) != 0 || !h[0])
        snprintf(h, sizeof h, "localhost");
    size_t k = 0;
    for (const char *p = h; *p && *p != '.' && k + 1 < cap && k < 40; p++)
        buf[k++] = (isalnum((unsigned char)*p) || *p == '-' || *p == '_') ? *p : '_';
    buf[k] = '\0';
}

/* The PID in "HOST.PID.part" / "HOST.PID-N.part" after the prefix when HOST
 * is ours; 0 when the rest is not that. */
static long temp_owner(const char *rest, const char *host)
{
    size_t hl = strlen(host);
    if (strncmp(rest, host, hl) || rest[hl] != '.')
        return 0;
    const char *p = rest + hl + 1;
    if (*p < '1' || *p > '9')
        return 0;
    char *end;
    errno = 0;
    long pid = strtol(p, &end, 10);
    if (errno || pid <= 0)
        return 0;
    if (*end == '-') {
        const char *q = end + 1;
        while (*q >= '0' && *q <= '9')
            q++;
        if (q == end + 1)
            return 0;
        end = (char *)q;
    }
    return strcmp(end, ".part") ? 0 : pid;
}

/* Remove stale temporary files of `path` left by dead processes. */
/* Candidates per directory: every name there that looks like one of our
 * temporaries ("...srgan-up.*.part"), listed once per process. A batch of n
 * outputs into one folder then reads the folder once, not n times (O(n^2)
 * on a big folder, worse on NFS); a stale temporary exists only if a
 * process died before this one started, so one listing finds them all. */
typedef struct dir_temps {
    struct dir_temps *next;
    char *dir;
    char **names;
    size_t n;
} dir_temps;
static dir_temps *listed;
static pthread_mutex_t listed_lock = PTHREAD_MUTEX_INITIALIZER;

static dir_temps *list_dir(const char *dir)
{
    for (dir_temps *t = listed; t; t = t->next)
        if (!strcmp(t->dir, dir))
            return t;
    dir_temps *t = calloc(1, sizeof *t);
    if (!t || !(t->dir = strdup(dir))) {
        free(t);
        return NULL;
    }
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t cap = 0;
    while (d && (e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (e->d_name[0] != '.' || l < 15 || strcmp(e->d_name + l - 5, ".part") ||
            !strstr(e->d_name, ".srgan-up."))
            continue;
        if (t->n == cap) {
            char **nn = realloc(t->names, sizeof *nn * (cap = cap ? 2 * cap : 8));
            if (!nn)
                break;
            t->names = nn;
        }
        if ((t->names[t->n] = strdup(e->d_name)))
            t->n++;
    }
    if (d)
        closedir(d);
    t->next = listed;
    listed = t;
    return t;
}

static void remove_stale_temps(const char *path, int verbose)
{
    const char *slash = strrchr(path, '/');
    size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
    char prefix[200], host[48];
    temp_prefix(slash ? slash + 1 : path, prefix, sizeof prefix);
    host_tag(host, sizeof host);
    size_t pl = strlen(prefix);
    char *dir = dirlen ? strndup(path, dirlen) : strdup(".");
    if (!dir)
        return;
    pthread_mutex_lock(&listed_lock);
    dir_temps *t = list_dir(dir);
    for (size_t i = 0; t && i < t->n; i++) {
        const char *name = t->names[i];
        if (!name || strncmp(name, prefix, pl))
            continue;
        long pid = temp_owner(name + pl, host);
        /* ESRCH: no such process. EPERM means alive (another user's). */
        if (pid <= 0 || pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        size_t n = dirlen + strlen(name) + 1;
        char *stale = malloc(n);
        if (!stale)
            break;
        snprintf(stale, n, "%.*s%s", (int)dirlen, path, name);
        struct stat st;
        if (lstat(stale, &st) == 0 && S_ISREG(st.st_mode) && unlink(stale) == 0 && verbose)
            fprintf(stderr, "%s: removed %s, left by an interrupted run (process %ld is gone)\n",
                    path, stale, pid);
        free(stale);
        free(t->names[i]);
        t->names[i] = NULL; /* handled */
    }
    pthread_mutex_unlock(&listed_lock);
    free(dir);
}

/* A new file next to the target, named as above. O_EXCL, not mkstemp, so
 * the final file gets the user's umask like any other new file. */
static int create_temp(const char *path, char **tmp_out, sr_temp_hook hook, void *user, sr_error *err)
{
    const char *slash = strrchr(path, '/');
    size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
    char prefix[200], host[48];
    temp_prefix(slash ? slash + 1 : path, prefix, sizeof prefix);
    host_tag(host, sizeof host);
    size_t cap = dirlen + strlen(prefix) + strlen(host) + 64;
    char *tmp = malloc(cap);
    if (!tmp) {
        sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", path);
        return -1;
    }
    long pid = (long)getpid();
    for (int attempt = 0; attempt < 100; attempt++) {
        if (attempt)
            snprintf(tmp, cap, "%.*s%s%s.%ld-%d.part", (int)dirlen, path, prefix, host, pid, attempt);
        else
            snprintf(tmp, cap, "%.*s%s%s.%ld.part", (int)dirlen, path, prefix, host, pid);
        if (hook)
            hook(user, tmp, 1); /* before it exists: no window for a signal */
        /* Read access too: libtiff reads back directories it wrote. */
        int fd = open(tmp, O_RDWR | O_CREAT | O_EXCL, 0666);
        if (fd >= 0) {
            *tmp_out = tmp;
            return fd;
        }
        if (hook)
            hook(user, tmp, 0);
        if (errno != EEXIST) {
            int e = errno;
            if (dirlen) {
                sr_error_set(err, SR_ERR_IO, "%s: cannot create a file in %.*s: %s", path,
                             (int)dirlen, path, strerror(e));
            } else {
                sr_error_set(err, SR_ERR_IO, "%s: cannot create a file here: %s", path, strerror(e));
            }
            free(tmp);
            return -1;
        }
    }
    sr_error_set(err, SR_ERR_IO, "%s: cannot find a free temporary name", path);
    free(tmp);
    return -1;
}

/* Flush the finished temporary file to disk before it takes the target's
 * name: after a crash, a file under the final name is then complete, which
 * --skip-existing relies on when a batch is resumed. */
static int sync_file(const char *tmp, const char *target, sr_error *err)
{
    int fd = open(tmp, O_RDONLY);
    if (fd < 0 || fsync(fd) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        if (e == EINVAL || e == EROFS)
            return 0; /* a file system without fsync (e.g. some FUSE) */
        sr_error_set(err, SR_ERR_IO, "%s: cannot flush to disk: %s", target, strerror(e));
        return -1;
    }
    close(fd);
    return 0;
}

/* Put the finished temporary file in place. Without overwrite, link() fails
 * if the target appeared meanwhile, so an existing file is never replaced. */
static int commit_file(const char *tmp_path, const char *path, int overwrite, sr_error *err)
{
    if (sync_file(tmp_path, path, err))
        return -1;
    if (overwrite) {
        if (rename(tmp_path, path) == 0)
            return 0;
        sr_error_set(err, SR_ERR_IO, "%s: cannot rename the finished file into place: %s", path,
                     strerror(errno));
        return -1;
    }
    if (link(tmp_path, path) == 0) {
        unlink(tmp_path);
        return 0;
    }
    if (errno == EEXIST) {
        sr_error_set(err, SR_ERR_EXISTS, "%s: already exists", path);
        return -1;
    }
    /* File systems without hard links: check, then rename. */
    if (access(path, F_OK) == 0) {
        sr_error_set(err, SR_ERR_EXISTS, "%s: already exists", path);
        return -1;
    }
    if (rename(tmp_path, path) == 0)
        return 0;
    sr_error_set(err, SR_ERR_IO, "%s: cannot rename the finished file into place: %s", path,
                 strerror(errno));
    return -1;
}

sr_atomic_file *sr_atomic_open(const char *path, int flags, sr_error *err)
{
    return sr_atomic_open_hooked(path, flags, NULL, NULL, err);
}

sr_atomic_file *sr_atomic_open_hooked(const char *path, int flags, sr_temp_hook hook, void *user,
                                      sr_error *err)
{
    int overwrite = (flags & SR_ATOMIC_OVERWRITE) != 0;
    remove_stale_temps(path, (flags & SR_ATOMIC_VERBOSE) != 0);
    if (!overwrite && access(path, F_OK) == 0) {
        sr_error_set(err, SR_ERR_EXISTS, "%s: already exists", path);
        return NULL;
    }
    sr_atomic_file *f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(path))) {
        free(f);
        sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", path);
        return NULL;
    }
    f->hook = hook;
    f->hook_user = user;
    f->fd = create_temp(path, &f->tmp_path, hook, user, err);
    if (f->fd < 0) {
        free(f->path);
        free(f);
        return NULL;
    }
    f->overwrite = overwrite;
    return f;
}

int sr_atomic_fd(sr_atomic_file *f)
{
    return f->fd;
}

FILE *sr_atomic_stream(sr_atomic_file *f)
{
    if (!f->fp && f->fd >= 0)
        f->fp = fdopen(f->fd, "w");
    return f->fp;
}

int sr_atomic_release_fd(sr_atomic_file *f)
{
    int fd = f->fd;
    f->fd = -1;
    return fd;
}

const char *sr_atomic_temp_path(const sr_atomic_file *f)
{
    return f ? f->tmp_path : NULL;
}

const char *sr_atomic_target(const sr_atomic_file *f)
{
    return f->path;
}

static void atomic_free(sr_atomic_file *f)
{
    if (f->hook)
        f->hook(f->hook_user, f->tmp_path, 0); /* renamed or removed by now */
    free(f->tmp_path);
    free(f->path);
    free(f);
}

/* Close what we still hold; every error counts (a full disk shows up at
 * fflush or close on some file systems). */
static int close_own(sr_atomic_file *f, sr_error *err)
{
    int bad = 0, e = 0;
    if (f->fp) {
        if (fflush(f->fp) != 0 || ferror(f->fp))
            bad = 1, e = errno;
        if (fclose(f->fp) != 0 && !bad)
            bad = 1, e = errno;
        f->fp = NULL;
        f->fd = -1;
    } else if (f->fd >= 0) {
        if (close(f->fd) != 0)
            bad = 1, e = errno;
        f->fd = -1;
    }
    if (bad)
        sr_error_set(err, SR_ERR_IO, "%s: %s", f->path, e ? strerror(e) : "write failed");
    return bad ? -1 : 0;
}

int sr_atomic_commit(sr_atomic_file *f, sr_error *err)
{
    int rc = close_own(f, err);
    if (!rc)
        rc = commit_file(f->tmp_path, f->path, f->overwrite, err);
    if (rc)
        unlink(f->tmp_path);
    atomic_free(f);
    return rc;
}

void sr_atomic_abort(sr_atomic_file *f)
{
    if (!f)
        return;
    if (f->fp)
        fclose(f->fp);
    else if (f->fd >= 0)
        close(f->fd);
    unlink(f->tmp_path);
    atomic_free(f);
}
