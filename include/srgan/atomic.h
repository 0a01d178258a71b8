/* srgan/atomic.h: a file that appears under its name only when complete.
 *
 * Everything srgan-up and srgan-train write whole (images, weights,
 * checkpoints, merged reports; not the --report CSV, which is streamed a line
 * per finished file) goes through this: the bytes go to a temporary file next to the
 * target, which is flushed to disk and then renamed (or, without overwrite,
 * hard-linked, so an existing file is never replaced) onto the target. An
 * interrupted or failed write leaves the target as it was.
 *
 *     sr_error err = {0};
 *     sr_atomic_file *f = sr_atomic_open("report.csv", SR_ATOMIC_OVERWRITE, &err);
 *     if (!f) { puts(err.msg); return 1; }
 *     fprintf(sr_atomic_stream(f), "input,output\n");
 *     if (sr_atomic_commit(f, &err)) puts(err.msg);   // frees f either way
 */
#ifndef SRGAN_ATOMIC_H
#define SRGAN_ATOMIC_H

#include <stdio.h>
#include "srgan/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sr_atomic_file sr_atomic_file;

enum {
    SR_ATOMIC_OVERWRITE = 1, /* replace an existing target */
    SR_ATOMIC_VERBOSE = 2    /* say on stderr when a stale temporary is removed */
};
/* Create the temporary file for `path` (DIR/.NAME.srgan-up.HOST.PID.part),
 * first removing stale ones of the same target left by dead processes on
 * this host (a run killed with SIGKILL). Without SR_ATOMIC_OVERWRITE an
 * existing target is refused here (SR_ERR_EXISTS) and again at commit. */
sr_atomic_file *sr_atomic_open(const char *path, int flags, sr_error *err);
/* Told a temporary file's name before it is created (active = 1) and after
 * it is gone (0): a signal handler that removes the names it was told about
 * then never misses one, not even between the create and the caller's
 * bookkeeping. */
typedef void (*sr_temp_hook)(void *user, const char *tmp_path, int active);
sr_atomic_file *sr_atomic_open_hooked(const char *path, int flags, sr_temp_hook hook, void *user,
                                      sr_error *err);
/* The temporary file's descriptor (owned by f), or a stdio stream on it. */
int sr_atomic_fd(sr_atomic_file *f);
FILE *sr_atomic_stream(sr_atomic_file *f);
/* Give up the descriptor (e.g. to a library that closes it itself). */
int sr_atomic_release_fd(sr_atomic_file *f);
const char *sr_atomic_temp_path(const sr_atomic_file *f);
const char *sr_atomic_target(const sr_atomic_file *f);
/* Flush, close, sync and move into place. Frees f. 0 or -1 with err (every
 * write error, a full disk included, is reported here). */
int sr_atomic_commit(sr_atomic_file *f, sr_error *err);
/* Close and remove the temporary file. Frees f; NULL is fine. */
void sr_atomic_abort(sr_atomic_file *f);

#ifdef __cplusplus
}
#endif
#endif
