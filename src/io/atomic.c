/* atomic.c: files that appear under their name only when complete (see
 * srgan/atomic.h). The one place that names temporary files, syncs them and
 * moves them into place: images (io.c), weights and checkpoints
 * (safetensors.c), reports (the CLI). */
#include "srgan/atomic.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct sr_atomic_file {
    char *path;     /* target */
    char *tmp_path; /* what is being written */
    int fd;         /* -1 once released or closed */
    FILE *fp;
    int overwrite;
};

/* A unique, not yet existing file next to the target. O_EXCL, not mkstemp,
 * so the final file gets the user's umask like any other new file. */
static int create_temp(const char *path, char **tmp_out, sr_error *err)
{
    const char *slash = strrchr(path, '/');
    size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
    const char *base = slash ? slash + 1 : path;
    size_t cap = strlen(path) + 64;
    char *tmp = malloc(cap);
    if (!tmp) {
        sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", path);
        return -1;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    unsigned long seed = (unsigned long)ts.tv_nsec ^ ((unsigned long)getpid() << 16) ^ (unsigned long)(uintptr_t)tmp;
    for (int attempt = 0; attempt < 100; attempt++) {
        seed = seed * 6364136223846793005UL + 1442695040888963407UL;
        /* ".NAME.xxxxxx.part", or ".srgan-up.xxxxxx.part" when NAME is so
         * long that 13 more characters would pass the 255-byte name limit. */
        if (strlen(base) > 200)
            base = "srgan-up";
        snprintf(tmp, cap, "%.*s.%s.%06lx.part", (int)dirlen, path, base, (seed >> 33) & 0xffffff);
        /* Read access too: libtiff reads back directories it wrote. */
        int fd = open(tmp, O_RDWR | O_CREAT | O_EXCL, 0666);
        if (fd >= 0) {
            *tmp_out = tmp;
            return fd;
        }
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
        sr_error_set(err, SR_ERR_EXISTS, "%s: already exists (use --overwrite to replace it)", path);
        return -1;
    }
    /* File systems without hard links: check, then rename. */
    if (access(path, F_OK) == 0) {
        sr_error_set(err, SR_ERR_EXISTS, "%s: already exists (use --overwrite to replace it)", path);
        return -1;
    }
    if (rename(tmp_path, path) == 0)
        return 0;
    sr_error_set(err, SR_ERR_IO, "%s: cannot rename the finished file into place: %s", path,
                 strerror(errno));
    return -1;
}

sr_atomic_file *sr_atomic_open(const char *path, int overwrite, sr_error *err)
{
    if (!overwrite && access(path, F_OK) == 0) {
        sr_error_set(err, SR_ERR_EXISTS, "%s: already exists (use --overwrite to replace it)", path);
        return NULL;
    }
    sr_atomic_file *f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(path))) {
        free(f);
        sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", path);
        return NULL;
    }
    f->fd = create_temp(path, &f->tmp_path, err);
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
