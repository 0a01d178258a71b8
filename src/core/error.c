/* error.c: the one-line error carried through every fallible call. */
#include "srgan/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void sr_error_set(sr_error *err, sr_status code, const char *fmt, ...)
{
    /* Keep the first (innermost) error: outer layers only add noise. */
    if (!err || err->code != SR_OK)
        return;
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    /* A message is one line: fold any newline a library put in, and show
     * other control characters (from file or tensor names, which files can
     * hold) as '?', so no escape sequence reaches the user's terminal. */
    for (char *p = err->msg; *p; p++) {
        if (*p == '\n' || *p == '\r' || *p == '\t')
            *p = ' ';
        else if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    }
}

void sr_error_clear(sr_error *err)
{
    if (err) {
        err->code = SR_OK;
        err->msg[0] = '\0';
    }
}

const char *sr_status_name(sr_status code)
{
    switch (code) {
    case SR_OK: return "ok";
    case SR_ERR_IO: return "i/o error";
    case SR_ERR_FORMAT: return "unknown format";
    case SR_ERR_CORRUPT: return "corrupt";
    case SR_ERR_UNSUPPORTED: return "unsupported";
    case SR_ERR_TOO_BIG: return "too big";
    case SR_ERR_NOMEM: return "out of memory";
    case SR_ERR_ARG: return "invalid argument";
    case SR_ERR_EXISTS: return "exists";
    case SR_ERR_WEIGHTS: return "bad weights";
    case SR_ERR_INTERRUPTED: return "interrupted";
    }
    return "error";
}
