/* io.c: what every format shares: magic detection, row bookkeeping, layout
 * conversion for formats that cannot store a layout, and the temporary file
 * that becomes the target only when complete. */
#include "io/codec.h"
#include "srgan/pipeline.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const sr_codec *const codecs[] = {&sr_codec_png, &sr_codec_jpeg, &sr_codec_tiff};
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
    if (n >= 8 && !memcmp(b, "\x89PNG\r\n\x1a\n", 8))
        return SR_FMT_PNG;
    if (n >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF)
        return SR_FMT_JPEG;
    if (n >= 4 && ((b[0] == 'I' && b[1] == 'I' && (b[2] == 42 || b[2] == 43) && b[3] == 0) ||
                   (b[0] == 'M' && b[1] == 'M' && b[2] == 0 && (b[3] == 42 || b[3] == 43))))
        return SR_FMT_TIFF;
    return SR_FMT_AUTO;
}

sr_format sr_format_from_ext(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash : path, '.');
    if (!dot)
        return SR_FMT_AUTO;
    dot++;
    if (!strcasecmp(dot, "png"))
        return SR_FMT_PNG;
    if (!strcasecmp(dot, "jpg") || !strcasecmp(dot, "jpeg") || !strcasecmp(dot, "jpe"))
        return SR_FMT_JPEG;
    if (!strcasecmp(dot, "tif") || !strcasecmp(dot, "tiff"))
        return SR_FMT_TIFF;
    return SR_FMT_AUTO;
}

const char *sr_format_name(sr_format f)
{
    switch (f) {
    case SR_FMT_PNG: return "png";
    case SR_FMT_JPEG: return "jpg";
    case SR_FMT_TIFF: return "tif";
    case SR_FMT_AUTO: break;
    }
    return "auto";
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
    const char *name = codec->format == SR_FMT_PNG ? "PNG" : "JPEG";
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

sr_reader *sr_reader_open(const char *path, const sr_read_opts *opts, sr_error *err)
{
    sr_read_opts defaults = {0};
    if (!opts)
        opts = &defaults;
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        sr_error_set(err, SR_ERR_IO, "%s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        close(fd);
        sr_error_set(err, SR_ERR_IO, "%s: is a directory", path);
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
        sr_error_set(err, SR_ERR_FORMAT, "%s: not a PNG, JPEG or TIFF file", path);
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
    char *tmp_path; /* what is being written */
    const sr_codec *codec;
    sr_codec_writer impl;
    sr_image_info info;   /* caller's layout */
    sr_image_info stored; /* codec's layout */
    int overwrite;
    int rows_written;
    float *conv_f;   /* rows as float, for layout conversion */
    void *conv_raw;  /* rows in the stored layout */
    int conv_rows;
    int failed;
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
                     "%s: cannot tell the output format from the name (use .png, .jpg or .tif)", path);
        return NULL;
    }
    if (info->width <= 0 || info->height <= 0 || !layout_valid(info)) {
        sr_error_set(err, SR_ERR_ARG, "%s: invalid image size %dx%d with %d channels", path,
                     info->width, info->height, info->channels);
        return NULL;
    }
    if (only_tiff_holds(path, codec, info, err))
        return NULL;
    if (!opts->overwrite && access(path, F_OK) == 0) {
        sr_error_set(err, SR_ERR_EXISTS, "%s: already exists (use --overwrite to replace it)", path);
        return NULL;
    }
    sr_writer *w = calloc(1, sizeof *w);
    if (!w || !(w->path = strdup(path))) {
        free(w);
        sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", path);
        return NULL;
    }
    int fd = create_temp(path, &w->tmp_path, err);
    if (fd < 0) {
        free(w->path);
        free(w);
        return NULL;
    }
    w->codec = codec;
    w->info = *info;
    w->stored = *info;
    w->overwrite = opts->overwrite;
    if (codec->open_writer(path, w->tmp_path, fd, info, opts, &w->stored, &w->impl, err) ||
        setup_conversion(w, err)) {
        if (!err || err->code == SR_OK)
            sr_error_set(err, SR_ERR_IO, "%s: cannot write", path);
        if (w->impl.abort)
            w->impl.abort(w->impl.state);
        unlink(w->tmp_path);
        free(w->conv_f);
        free(w->conv_raw);
        free(w->tmp_path);
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
    return w ? w->tmp_path : NULL;
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
    free(w->tmp_path);
    free(w->path);
    free(w);
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
static int commit_file(sr_writer *w, sr_error *err)
{
    if (sync_file(w->tmp_path, w->path, err))
        return -1;
    if (w->overwrite) {
        if (rename(w->tmp_path, w->path) == 0)
            return 0;
        sr_error_set(err, SR_ERR_IO, "%s: cannot rename the finished file into place: %s", w->path,
                     strerror(errno));
        return -1;
    }
    if (link(w->tmp_path, w->path) == 0) {
        unlink(w->tmp_path);
        return 0;
    }
    if (errno == EEXIST) {
        sr_error_set(err, SR_ERR_EXISTS, "%s: already exists (use --overwrite to replace it)", w->path);
        return -1;
    }
    /* File systems without hard links: check, then rename. */
    if (access(w->path, F_OK) == 0) {
        sr_error_set(err, SR_ERR_EXISTS, "%s: already exists (use --overwrite to replace it)", w->path);
        return -1;
    }
    if (rename(w->tmp_path, w->path) == 0)
        return 0;
    sr_error_set(err, SR_ERR_IO, "%s: cannot rename the finished file into place: %s", w->path,
                 strerror(errno));
    return -1;
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
        unlink(w->tmp_path);
        writer_free(w);
        return -1;
    }
    rc = commit_file(w, err);
    if (rc)
        unlink(w->tmp_path);
    writer_free(w);
    return rc;
}

void sr_writer_abort(sr_writer *w)
{
    if (!w)
        return;
    if (w->impl.abort)
        w->impl.abort(w->impl.state);
    unlink(w->tmp_path);
    writer_free(w);
}
