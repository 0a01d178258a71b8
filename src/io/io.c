/* io.c: what every format shares: magic detection, row bookkeeping, layout
 * conversion for formats that cannot store a layout, and the temporary file
 * that becomes the target only when complete. */
#include "io/codec.h"
#include "srgan/atomic.h"
#include "srgan/pipeline.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static const sr_codec *const codecs[] = {&sr_codec_png, &sr_codec_jpeg, &sr_codec_tiff,
                                          &sr_codec_webp};
enum { NCODECS = sizeof codecs / sizeof codecs[0] };

static const sr_codec *codec_for(sr_format f)
{
    for (int i = 0; i < NCODECS; i++)
        if (codecs[i]->format == f)
            return codecs[i];
    return NULL;
}

sr_format sr_format_from_magic(const uint8_t *b, size_t n)
{
    for (int i = 0; i < NCODECS; i++)
        if (codecs[i]->sniff(b, n))
            return codecs[i]->format;
    return SR_FMT_AUTO;
}

/* The codec whose extension list holds `ext` (without the dot, any case). */
static const sr_codec *codec_for_ext(const char *ext)
{
    for (int i = 0; i < NCODECS; i++)
        for (const char *const *e = codecs[i]->exts; *e; e++)
            if (!strcasecmp(ext, *e + 1))
                return codecs[i];
    return NULL;
}

sr_format sr_format_from_ext(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash : path, '.');
    const sr_codec *c = dot ? codec_for_ext(dot + 1) : NULL;
    return c ? c->format : SR_FMT_AUTO;
}

sr_format sr_format_from_name(const char *name)
{
    for (int i = 0; i < NCODECS; i++)
        if (!strcasecmp(name, codecs[i]->name))
            return codecs[i]->format;
    const sr_codec *c = codec_for_ext(name);
    return c ? c->format : SR_FMT_AUTO;
}

int sr_is_image_name(const char *path)
{
    return sr_format_from_ext(path) != SR_FMT_AUTO;
}

const char *sr_format_name(sr_format f)
{
    const sr_codec *c = codec_for(f);
    return c ? c->exts[0] + 1 : "auto";
}

void sr_format_list(char *buf, size_t cap)
{
    size_t used = 0;
    if (cap)
        buf[0] = '\0';
    for (int i = 0; i < NCODECS && used < cap; i++) {
        int n = snprintf(buf + used, cap - used, "%s%s", i ? ", " : "", codecs[i]->exts[0] + 1);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

/* Colour (1 or 3) + optional alpha, then data channels. */
static int layout_valid(const sr_image_info *i)
{
    int base = i->channels - i->data_channels;
    return i->channels >= 1 && i->channels <= SR_MAX_CHANNELS && i->data_channels >= 0 &&
           base >= 1 && base <= 4;
}

/* PNG and JPEG would turn data channels into alpha or drop them, and clamp
 * negative or 32-bit values: refuse rather than write something else. */
static int only_tiff_holds(const char *path, const sr_codec *codec, const sr_image_info *info,
                           sr_error *err)
{
    if (codec->format == SR_FMT_TIFF)
        return 0;
    const char *name = codec->format == SR_FMT_PNG ? "PNG" : codec->format == SR_FMT_JPEG ? "JPEG" : "WebP";
    if (info->data_channels > 0) {
        sr_error_set(err, SR_ERR_UNSUPPORTED,
                     "%s: %s cannot hold %d independent data channel(s) beside the colour "
                     "(only TIFF can: use .tif)", path, name, info->data_channels);
        return -1;
    }
    if (info->dtype != SR_U8 && info->dtype != SR_U16 && info->dtype != SR_F32) {
        sr_error_set(err, SR_ERR_UNSUPPORTED,
                     "%s: %s cannot hold %s samples (only TIFF can: use .tif, or --dtype)", path,
                     name, sr_dtype_name(info->dtype));
        return -1;
    }
    return 0;
}

/* ---- reader ------------------------------------------------------------ */

struct sr_reader {
    char *path;
    sr_image_info info;
    sr_codec_reader impl;
    int rows_read;
    int failed; /* after an error the codec state is undefined: stop */
};

static void refuse_not_regular(const char *path, mode_t m, sr_error *err)
{
    const char *what = S_ISDIR(m)    ? "is a directory"
                       : S_ISFIFO(m) ? "is a FIFO (named pipe), not a regular file"
                       : S_ISSOCK(m) ? "is a socket, not a regular file"
                       : S_ISCHR(m) || S_ISBLK(m) ? "is a device, not a regular file"
                                                  : "is not a regular file";
    sr_error_set(err, SR_ERR_IO, "%s: %s", path, what);
}

sr_reader *sr_reader_open(const char *path, const sr_read_opts *opts, sr_error *err)
{
    sr_read_opts defaults = {0};
    if (!opts)
        opts = &defaults;
    /* Regular files only. stat() first, so a FIFO is refused without being
     * opened; O_NONBLOCK and fstat() again, so one swapped in between cannot
     * block the open either. */
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        refuse_not_regular(path, st.st_mode, err);
        return NULL;
    }
    int fd = open(path, O_RDONLY | O_NONBLOCK);
    if (fd < 0) {
        sr_error_set(err, SR_ERR_IO, "%s: %s", path, strerror(errno));
        return NULL;
    }
    if (fstat(fd, &st) != 0) {
        sr_error_set(err, SR_ERR_IO, "%s: %s", path, strerror(errno));
        close(fd);
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        refuse_not_regular(path, st.st_mode, err);
        close(fd);
        return NULL;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
        sr_error_set(err, SR_ERR_IO, "%s: %s", path, strerror(errno));
        close(fd);
        return NULL;
    }
    uint8_t magic[16];
    ssize_t n = read(fd, magic, sizeof magic);
    if (n < 0) {
        sr_error_set(err, SR_ERR_IO, "%s: %s", path, strerror(errno));
        close(fd);
        return NULL;
    }
    if (n == 0) {
        sr_error_set(err, SR_ERR_FORMAT, "%s: empty file", path);
        close(fd);
        return NULL;
    }
    const sr_codec *codec = codec_for(sr_format_from_magic(magic, (size_t)n));
    if (!codec) {
        sr_error_set(err, SR_ERR_FORMAT, "%s: not a PNG, JPEG, TIFF or WebP file", path);
        close(fd);
        return NULL;
    }
    if (lseek(fd, 0, SEEK_SET) != 0) {
        sr_error_set(err, SR_ERR_IO, "%s: cannot seek: %s", path, strerror(errno));
        close(fd);
        return NULL;
    }
    sr_reader *r = calloc(1, sizeof *r);
    if (!r || !(r->path = strdup(path))) {
        free(r);
        close(fd);
        sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", path);
        return NULL;
    }
    sr_default_meta(&r->info.meta);
    r->info.pages = 1;
    r->info.format = codec->format;
    /* The codec owns fd from here, also on failure. */
    if (codec->open_reader(path, fd, opts, &r->info, &r->impl, err)) {
        if (!err || err->code == SR_OK)
            sr_error_set(err, SR_ERR_CORRUPT, "%s: cannot read", path);
        free(r->path);
        free(r);
        return NULL;
    }
    if (r->info.width <= 0 || r->info.height <= 0 || !layout_valid(&r->info)) {
        sr_error_set(err, SR_ERR_CORRUPT, "%s: invalid image size %dx%d with %d channels", path,
                     r->info.width, r->info.height, r->info.channels);
        sr_reader_close(r);
        return NULL;
    }
    return r;
}

const sr_image_info *sr_reader_info(const sr_reader *r)
{
    return &r->info;
}

int sr_reader_read_rows(sr_reader *r, void *buf, int n, sr_error *err)
{
    if (r->failed) {
        sr_error_set(err, SR_ERR_CORRUPT, "%s: reading after an earlier error", r->path);
        return -1;
    }
    if (n < 0 || n > r->info.height - r->rows_read) {
        sr_error_set(err, SR_ERR_ARG, "%s: internal: reading rows %d..%d of %d", r->path,
                     r->rows_read, r->rows_read + n, r->info.height);
        return -1;
    }
    if (n == 0)
        return 0;
    if (r->impl.read_rows(r->impl.state, buf, n, err)) {
        r->failed = 1;
        if (!err || err->code == SR_OK)
            sr_error_set(err, SR_ERR_CORRUPT, "%s: cannot read image data", r->path);
        return -1;
    }
    r->rows_read += n;
    return 0;
}

int sr_reader_next_page(sr_reader *r, sr_error *err)
{
    if (r->failed)
        return -1;
    if (r->info.page + 1 >= r->info.pages || !r->impl.next_page)
        return 0;
    int rc = r->impl.next_page(r->impl.state, &r->info, err);
    if (rc < 0) {
        r->failed = 1;
        return -1;
    }
    if (rc == 1)
        r->rows_read = 0;
    return rc;
}

void sr_reader_close(sr_reader *r)
{
    if (!r)
        return;
    if (r->impl.close)
        r->impl.close(r->impl.state);
    free(r->path);
    free(r);
}

void sr_default_meta(sr_meta *m)
{
    memset(m, 0, sizeof *m);
    m->srgb_intent = -1;
}

/* ---- writer ------------------------------------------------------------ */

struct sr_writer {
    char *path;     /* target */
    sr_atomic_file *file; /* the temporary file until finish */
    const sr_codec *codec;
    sr_codec_writer impl;
    sr_image_info info;   /* caller's layout */
    sr_image_info stored; /* codec's layout */
    int rows_written;
    float *conv_f;   /* rows as float, for layout conversion */
    void *conv_raw;  /* rows in the stored layout */
    int conv_rows;
    int failed;
};

static int layouts_equal(const sr_image_info *a, const sr_image_info *b)
{
    return a->width == b->width && a->height == b->height && a->channels == b->channels &&
           a->dtype == b->dtype;
}

static int setup_conversion(sr_writer *w, sr_error *err)
{
    free(w->conv_f);
    free(w->conv_raw);
    w->conv_f = NULL;
    w->conv_raw = NULL;
    if (layouts_equal(&w->info, &w->stored))
        return 0;
    if (w->stored.width != w->info.width || w->stored.height != w->info.height ||
        w->stored.channels > w->info.channels) {
        sr_error_set(err, SR_ERR_ARG, "%s: internal: writer cannot store this layout", w->path);
        return -1;
    }
    w->conv_rows = 16;
    size_t samples = (size_t)w->info.width * w->info.channels * w->conv_rows;
    w->conv_f = malloc(samples * sizeof(float) + 1);
    w->conv_raw = malloc(samples * 4 + 1);
    if (!w->conv_f || !w->conv_raw) {
        sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", w->path);
        return -1;
    }
    return 0;
}

sr_writer *sr_writer_open(const char *path, sr_format fmt, const sr_image_info *info,
                          const sr_write_opts *opts, sr_error *err)
{
    sr_write_opts defaults = {0};
    if (!opts)
        opts = &defaults;
    if (fmt == SR_FMT_AUTO)
        fmt = sr_format_from_ext(path);
    const sr_codec *codec = codec_for(fmt);
    if (!codec) {
        sr_error_set(err, SR_ERR_ARG,
                     "%s: cannot tell the output format from the name (use .png, .jpg, .tif or .webp)", path);
        return NULL;
    }
    if (info->width <= 0 || info->height <= 0 || !layout_valid(info)) {
        sr_error_set(err, SR_ERR_ARG, "%s: invalid image size %dx%d with %d channels", path,
                     info->width, info->height, info->channels);
        return NULL;
    }
    if (only_tiff_holds(path, codec, info, err))
        return NULL;
    sr_writer *w = calloc(1, sizeof *w);
    if (!w || !(w->path = strdup(path))) {
        free(w);
        sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", path);
        return NULL;
    }
    if (!(w->file = sr_atomic_open_hooked(path, (opts->overwrite ? SR_ATOMIC_OVERWRITE : 0) |
                                                    (opts->verbose ? SR_ATOMIC_VERBOSE : 0),
                                          opts->on_temp, opts->on_temp_user, err))) {
        free(w->path);
        free(w);
        return NULL;
    }
    w->codec = codec;
    w->info = *info;
    w->stored = *info;
    /* The codec owns the descriptor from here (it closes it in finish or
     * abort); the atomic file keeps the name and the final move. */
    int fd = sr_atomic_release_fd(w->file);
    if (codec->open_writer(path, sr_atomic_temp_path(w->file), fd, info, opts, &w->stored, &w->impl,
                           err) ||
        setup_conversion(w, err)) {
        if (!err || err->code == SR_OK)
            sr_error_set(err, SR_ERR_IO, "%s: cannot write", path);
        if (w->impl.abort)
            w->impl.abort(w->impl.state);
        sr_atomic_abort(w->file);
        free(w->conv_f);
        free(w->conv_raw);
        free(w->path);
        free(w);
        return NULL;
    }
    return w;
}

const sr_image_info *sr_writer_info(const sr_writer *w)
{
    return &w->info;
}

const sr_image_info *sr_writer_stored_info(const sr_writer *w)
{
    return &w->stored;
}

const char *sr_writer_temp_path(const sr_writer *w)
{
    return w ? sr_atomic_temp_path(w->file) : NULL;
}

/* Rows in the caller's layout -> the stored layout (fewer channels drop the
 * alpha, which is always last; the dtype converts through float). */
static void convert_rows(sr_writer *w, const void *buf, int n)
{
    size_t px = (size_t)w->info.width * n;
    int ci = w->info.channels, co = w->stored.channels;
    sr_samples_to_float(buf, w->info.dtype, px * ci, w->conv_f);
    if (co != ci)
        for (size_t i = 0; i < px; i++)
            for (int c = 0; c < co; c++)
                w->conv_f[i * co + c] = w->conv_f[i * ci + c];
    sr_samples_from_float(w->conv_f, w->stored.dtype, px * co, w->conv_raw);
}

int sr_writer_write_rows(sr_writer *w, const void *buf, int n, sr_error *err)
{
    if (w->failed) {
        sr_error_set(err, SR_ERR_IO, "%s: writing after an earlier error", w->path);
        return -1;
    }
    if (n < 0 || n > w->info.height - w->rows_written) {
        sr_error_set(err, SR_ERR_ARG, "%s: internal: writing rows %d..%d of %d", w->path,
                     w->rows_written, w->rows_written + n, w->info.height);
        return -1;
    }
    size_t row_bytes = sr_row_bytes(&w->info);
    for (int done = 0; done < n;) {
        int k = n - done;
        const void *rows = (const uint8_t *)buf + row_bytes * done;
        if (w->conv_f) {
            if (k > w->conv_rows)
                k = w->conv_rows;
            convert_rows(w, rows, k);
            rows = w->conv_raw;
        }
        if (w->impl.write_rows(w->impl.state, rows, k, err)) {
            w->failed = 1;
            if (!err || err->code == SR_OK)
                sr_error_set(err, SR_ERR_IO, "%s: write failed", w->path);
            return -1;
        }
        done += k;
    }
    w->rows_written += n;
    return 0;
}

int sr_writer_next_page(sr_writer *w, const sr_image_info *info, sr_error *err)
{
    if (w->rows_written != w->info.height) {
        sr_error_set(err, SR_ERR_ARG, "%s: internal: page ended after %d of %d rows", w->path,
                     w->rows_written, w->info.height);
        return -1;
    }
    if (!w->impl.next_page) {
        sr_error_set(err, SR_ERR_UNSUPPORTED, "%s: %s files hold one page only", w->path,
                     w->codec->name);
        return -1;
    }
    w->info = *info;
    w->stored = *info;
    if (w->impl.next_page(w->impl.state, info, err)) {
        w->failed = 1;
        return -1;
    }
    /* A codec keeps the same storage decisions for later pages. */
    w->rows_written = 0;
    return setup_conversion(w, err);
}

static void writer_free(sr_writer *w)
{
    free(w->conv_f);
    free(w->conv_raw);
    free(w->path);
    free(w);
}

int sr_writer_finish(sr_writer *w, sr_error *err)
{
    int rc = 0;
    if (w->failed) {
        sr_error_set(err, SR_ERR_IO, "%s: not finished after an earlier error", w->path);
        rc = -1;
    } else if (w->rows_written != w->info.height) {
        sr_error_set(err, SR_ERR_ARG, "%s: internal: finished after %d of %d rows", w->path,
                     w->rows_written, w->info.height);
        rc = -1;
    }
    if (rc) {
        sr_writer_abort(w);
        return -1;
    }
    if (w->impl.finish(w->impl.state, err)) {
        if (!err || err->code == SR_OK)
            sr_error_set(err, SR_ERR_IO, "%s: write failed", w->path);
        sr_atomic_abort(w->file);
        writer_free(w);
        return -1;
    }
    rc = sr_atomic_commit(w->file, err);
    writer_free(w);
    return rc;
}

void sr_writer_abort(sr_writer *w)
{
    if (!w)
        return;
    if (w->impl.abort)
        w->impl.abort(w->impl.state);
    sr_atomic_abort(w->file);
    writer_free(w);
}
