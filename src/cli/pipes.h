/* pipes.h: "-" as input (standard input) and as output (standard output).
 *
 *     curl -s https://.../a.jpg | srgan-up - - -x 2 --format png > a_x2.png
 *
 * The pipeline reads and writes files (TIFF seeks; a failed write must leave
 * nothing behind), so standard input is first copied to a temporary file in
 * $TMPDIR (a regular file given as stdin, `< a.tif`, is read in place), and
 * the output is written to a temporary file and copied to standard output
 * only when complete: a failure writes nothing to stdout. Messages name "-"
 * (stdin) and "-" (stdout), not the temporary files. */
#ifndef SRGAN_CLI_PIPES_H
#define SRGAN_CLI_PIPES_H

#include <stddef.h>
#include "srgan/error.h"

typedef struct pipe_files {
    char in[4096];  /* the input path to read ("" when not stdin)   */
    char out[4096]; /* the output path to write ("" when not stdout) */
    int in_spooled; /* in is a temporary copy to remove             */
} pipe_files;

/* Copy standard input to a temporary file (or use it in place when it is a
 * regular file). on_temp (may be NULL) is told the temporary's name as soon
 * as it exists, for signal-time cleanup. 0, or -1 with err. */
int pipe_stdin(pipe_files *p, void (*on_temp)(void *, const char *, int), sr_error *err);
/* A temporary output path whose extension names the format ("png"...). */
int pipe_stdout_path(pipe_files *p, const char *ext, sr_error *err);
/* Copy the finished output to standard output. 0, or -1 with err. */
int pipe_copy_out(const pipe_files *p, sr_error *err);
/* Remove the temporaries. */
void pipe_cleanup(pipe_files *p);
/* In msg, every occurrence of `path` becomes `name`. */
void pipe_rename_in_msg(char *msg, size_t cap, const char *path, const char *name);

#endif
