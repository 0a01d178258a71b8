/* tiff.c: the TIFF codec (libtiff) and the per-file error context its
 * reader (tiff_read.c) and writer (tiff_write.c) share. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "io/tiff_priv.h"

/* libtiff's own allocations (directory arrays, raw strip data) are capped
 * too, so a corrupt header cannot make libtiff allocate gigabytes. */
#define SR_TIFF_MAX_LIBTIFF_ALLOC ((tmsize_t)512 << 20)

static int on_error(TIFF *tif, void *user, const char *module, const char *fmt, va_list ap)
{
    (void)tif;
    (void)module; /* a function name or the file name: noise for users */
    sr_tiff_errctx *ctx = user;
    if (ctx && !ctx->have) {
        vsnprintf(ctx->msg, sizeof ctx->msg, fmt, ap);
        /* libtiff often starts with the file name, which we print anyway */
        size_t n = ctx->path ? strlen(ctx->path) : 0;
        if (n && strncmp(ctx->msg, ctx->path, n) == 0 && ctx->msg[n] == ':')
            memmove(ctx->msg, ctx->msg + n + 1 + (ctx->msg[n + 1] == ' '),
                    strlen(ctx->msg + n + 1 + (ctx->msg[n + 1] == ' ')) + 1);
        /* keep the message on one line */
        for (char *p = ctx->msg; *p; p++)
            if (*p == '\n' || *p == '\r')
                *p = ' ';
        ctx->have = 1;
    }
    return 1; /* handled: do not fall through to the global handler */
}

static int on_warning(TIFF *tif, void *user, const char *module, const char *fmt, va_list ap)
{
    (void)tif, (void)user, (void)module, (void)fmt, (void)ap;
    return 1; /* unknown tags and the like: not the user's problem */
}

/* A few codecs (old-style JPEG: "Deprecated and troublesome ...") warn
 * through libtiff's process-wide handler instead of the per-file one, which
 * would print a stray line on stderr for every such file. */
static pthread_once_t global_warnings_once = PTHREAD_ONCE_INIT;
static void silence_global_warnings(void)
{
    TIFFSetWarningHandler(NULL);
}

TIFF *sr_tiff_fdopen(int fd, const char *path, const char *mode, sr_tiff_errctx *ctx)
{
    pthread_once(&global_warnings_once, silence_global_warnings);
    TIFFOpenOptions *o = TIFFOpenOptionsAlloc();
    if (!o)
        return NULL;
    TIFFOpenOptionsSetErrorHandlerExtR(o, on_error, ctx);
    TIFFOpenOptionsSetWarningHandlerExtR(o, on_warning, ctx);
    TIFFOpenOptionsSetMaxSingleMemAlloc(o, SR_TIFF_MAX_LIBTIFF_ALLOC);
    TIFF *tif = TIFFFdOpenExt(fd, path, mode, o);
    TIFFOpenOptionsFree(o);
    return tif;
}

void sr_tiff_fail(sr_tiff_errctx *ctx, sr_error *err, sr_status code, const char *what)
{
    if (ctx->have)
        sr_error_set(err, code, "%s: %s (libtiff: %s)", ctx->path, what, ctx->msg);
    else
        sr_error_set(err, code, "%s: %s", ctx->path, what);
}

static int sniff_tiff(const uint8_t *b, size_t n)
{
    /* Classic TIFF (42) and BigTIFF (43), either byte order. */
    return n >= 4 && ((b[0] == 'I' && b[1] == 'I' && (b[2] == 42 || b[2] == 43) && b[3] == 0) ||
                      (b[0] == 'M' && b[1] == 'M' && b[2] == 0 && (b[3] == 42 || b[3] == 43)));
}

static const char *const exts_tiff[] = {".tif", ".tiff", NULL};

int sr_tiff_register_ij(TIFF *tif)
{
    static const TIFFFieldInfo ij[] = {
        {SR_TIFFTAG_IJ_COUNTS, TIFF_VARIABLE2, TIFF_VARIABLE2, TIFF_LONG, FIELD_CUSTOM, 1, 1,
         "IJMetadataByteCounts"},
        {SR_TIFFTAG_IJ_META, TIFF_VARIABLE2, TIFF_VARIABLE2, TIFF_BYTE, FIELD_CUSTOM, 1, 1,
         "IJMetadata"},
    };
    if (TIFFFindField(tif, SR_TIFFTAG_IJ_META, TIFF_ANY))
        return 1;
    return TIFFMergeFieldInfo(tif, ij, 2) == 0;
}

int sr_tiff_get_array(TIFF *tif, uint32_t tag, TIFFDataType t1, TIFFDataType t2,
                      uint32_t *count, const void **data)
{
    const TIFFField *f = TIFFFindField(tif, tag, TIFF_ANY);
    if (!f || !TIFFFieldPassCount(f))
        return 0;
    TIFFDataType t = TIFFFieldDataType(f);
    if (t != t1 && t != t2)
        return 0;
    void *v = NULL;
    if (TIFFFieldReadCount(f) == TIFF_VARIABLE2) {
        uint32_t n = 0;
        if (!TIFFGetField(tif, tag, &n, &v))
            return 0;
        *count = n;
    } else {
        uint16_t n = 0;
        if (!TIFFGetField(tif, tag, &n, &v))
            return 0;
        *count = n;
    }
    *data = v;
    return v && *count > 0;
}

const sr_codec sr_codec_tiff = {
    .format = SR_FMT_TIFF,
    .name = "tiff",
    .exts = exts_tiff,
    .sniff = sniff_tiff,
    .open_reader = sr_tiff_open_reader,
    .open_writer = sr_tiff_open_writer,
};
