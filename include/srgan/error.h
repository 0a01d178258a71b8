/* srgan/error.h: error codes and the one-line error message carried through
 * every call that can fail.
 *
 * There is no global error state: each fallible call takes an `sr_error *`
 * and fills it on failure. The message is a complete, user-facing line of the
 * form "FILE: problem" (no trailing newline), so a tool prints it as is:
 *
 *     sr_error err = {0};
 *     sr_reader *r = sr_reader_open("in.png", NULL, &err);
 *     if (!r) { fprintf(stderr, "srgan-up: %s\n", err.msg); return 1; }
 */
#ifndef SRGAN_ERROR_H
#define SRGAN_ERROR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sr_status {
    SR_OK = 0,
    SR_ERR_IO,          /* open/read/write/rename failed (errno-level)      */
    SR_ERR_FORMAT,      /* not a file of any format we know, wrong magic     */
    SR_ERR_CORRUPT,     /* truncated or inconsistent data                    */
    SR_ERR_UNSUPPORTED, /* a valid file using a variant we do not handle     */
    SR_ERR_TOO_BIG,     /* dimensions over a limit (decompression bomb)      */
    SR_ERR_NOMEM,       /* allocation failed                                 */
    SR_ERR_ARG,         /* invalid argument / option combination             */
    SR_ERR_EXISTS,      /* output exists and overwriting was not allowed     */
    SR_ERR_WEIGHTS,     /* malformed or mismatched weights file              */
    SR_ERR_INTERRUPTED  /* cancelled (SIGINT/SIGTERM)                         */
} sr_status;

#define SR_ERROR_MSG_MAX 512

typedef struct sr_error {
    sr_status code;
    char msg[SR_ERROR_MSG_MAX];
} sr_error;

/* Set code and a printf-formatted message. Only the first error is kept:
 * when err already holds an error, the call does nothing, so the innermost
 * (most specific) cause survives as callers unwind. err may be NULL. */
void sr_error_set(sr_error *err, sr_status code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Clear err back to SR_OK. */
void sr_error_clear(sr_error *err);

/* Short name of a status code ("corrupt", "unsupported", ...). */
const char *sr_status_name(sr_status code);

#ifdef __cplusplus
}
#endif
#endif
