/* png.c: PNG reader and writer (libpng).
 *
 * Non-interlaced files stream one row per png_read_row(); libpng's
 * transforms turn every variant into packed 8- or 16-bit gray, GA, RGB or
 * RGBA (sub-8-bit gray scaled so 1-bit 1 becomes 255, palette expanded, tRNS
 * turned into alpha, 16-bit swapped to host order). Interlaced files cannot
 * be streamed, so they are decoded whole on the first read, after checking
 * the header's size against opts->max_pixels.
 *
 * libpng reports errors by longjmp; every call into it sits behind a setjmp
 * in the function that makes it, and the message libpng gave is turned into
 * one "FILE: ..." line.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/codec.h"

/* What libpng said last; filled by the error callback before it jumps. */
typedef struct srpng_errbuf {
    char msg[200];
} srpng_errbuf;

static void on_png_error(png_structp png, png_const_charp msg)
{
    srpng_errbuf *eb = png_get_error_ptr(png);
    snprintf(eb->msg, sizeof eb->msg, "%s", msg ? msg : "libpng error");
    png_longjmp(png, 1);
}

static void on_png_warning(png_structp png, png_const_charp msg)
{
    /* Warnings (bad ancillary chunk CRC, odd profiles) do not stop the read;
     * the chunk in question is dropped by libpng. */
    (void)png;
    (void)msg;
}

static int host_is_little_endian(void)
{
    const uint16_t one = 1;
    return *(const uint8_t *)&one == 1;
}

/* ------------------------------------------------------------------ */
/* reader                                                              */
/* ------------------------------------------------------------------ */

typedef struct srpng_reader {
    FILE *fp;
    png_structp png;
    png_infop pinfo;
    srpng_errbuf eb;
    char *path;
    int interlaced;
    int height;
    size_t row_bytes;
    uint64_t max_pixels;
    uint8_t *whole;   /* interlaced: the decoded image */
    int next_row;     /* interlaced: next row to hand out */
} srpng_reader;

/* Read callback: a short read means the file was cut, which libpng would
 * otherwise report only as a vague "Read Error". */
static void srpng_read_cb(png_structp png, png_bytep data, size_t len)
{
    FILE *fp = png_get_io_ptr(png);
    size_t got = fread(data, 1, len, fp);
    if (got != len)
        png_error(png, ferror(fp) ? "read error" : "truncated file (unexpected end of data)");
}

static void srpng_reader_free(srpng_reader *s)
{
    if (!s) return;
    if (s->png) png_destroy_read_struct(&s->png, s->pinfo ? &s->pinfo : NULL, NULL);
    if (s->fp) fclose(s->fp);
    free(s->whole);
    free(s->path);
    free(s);
}

static void srpng_reader_close(void *state) { srpng_reader_free(state); }

static int srpng_fail(const char *path, sr_error *err, const srpng_errbuf *eb)
{
    sr_status code = SR_ERR_CORRUPT;
    if (strstr(eb->msg, "read error")) code = SR_ERR_IO;
    else if (strstr(eb->msg, "memory") || strstr(eb->msg, "Out of")) code = SR_ERR_NOMEM;
    sr_error_set(err, code, "%s: %s", path, eb->msg[0] ? eb->msg : "invalid PNG data");
    return -1;
}

static int srpng_decode_whole(srpng_reader *s, sr_error *err)
{
    png_bytep *rows = NULL;
    size_t n = (size_t)s->height;
    s->whole = malloc(n * s->row_bytes);
    rows = malloc(n * sizeof *rows);
    if (!s->whole || !rows) {
        free(rows);
        sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory decoding interlaced image", s->path);
        return -1;
    }
    for (size_t y = 0; y < n; y++) rows[y] = s->whole + y * s->row_bytes;
    if (setjmp(png_jmpbuf(s->png))) {
        free(rows);
        return srpng_fail(s->path, err, &s->eb);
    }
    png_read_image(s->png, rows);
    free(rows);
    return 0;
}

static int srpng_read_rows(void *state, void *buf, int n, sr_error *err)
{
    srpng_reader *s = state;
    uint8_t *out = buf;
    if (s->interlaced) {
        if (!s->whole && srpng_decode_whole(s, err)) return -1;
        memcpy(out, s->whole + (size_t)s->next_row * s->row_bytes, (size_t)n * s->row_bytes);
        s->next_row += n;
        return 0;
    }
    if (setjmp(png_jmpbuf(s->png))) return srpng_fail(s->path, err, &s->eb);
    for (int i = 0; i < n; i++) png_read_row(s->png, out + (size_t)i * s->row_bytes, NULL);
    return 0;
}

static int srpng_next_page(void *state, sr_image_info *info, sr_error *err)
{
    (void)state;
    (void)info;
    (void)err;
    return 0; /* PNG has one image */
}

static void srpng_fill_meta(srpng_reader *s, sr_meta *m)
{
    png_charp name;
    int comp;
    png_bytep prof;
    png_uint_32 plen;
    int intent;
    double g;
    png_uint_32 rx, ry;
    int unit;

    m->srgb_intent = -1;
    if (png_get_iCCP(s->png, s->pinfo, &name, &comp, &prof, &plen) && prof && plen) {
        m->icc = prof;
        m->icc_len = plen;
    }
    if (png_get_sRGB(s->png, s->pinfo, &intent)) m->srgb_intent = intent;
    if (png_get_gAMA(s->png, s->pinfo, &g)) m->gamma = g;
    if (png_get_pHYs(s->png, s->pinfo, &rx, &ry, &unit) && rx && ry) {
        if (unit == PNG_RESOLUTION_METER) {
            m->res_unit = SR_RES_CM;
            m->xres = rx / 100.0;
            m->yres = ry / 100.0;
        } else {
            m->res_unit = SR_RES_ASPECT;
            m->xres = rx;
            m->yres = ry;
        }
    }
}

static int srpng_open_reader(const char *path, int fd, const sr_read_opts *opts,
                           sr_image_info *info, sr_codec_reader *out, sr_error *err)
{
    srpng_reader *s = calloc(1, sizeof *s);
    png_uint_32 w, h;
    int depth, ctype, ilace, channels;

    if (!s || !(s->path = strdup(path))) {
        free(s);
        close(fd);
        sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", path);
        return -1;
    }
    s->max_pixels = opts && opts->max_pixels ? opts->max_pixels : SR_DEFAULT_MAX_PIXELS;
    s->fp = fdopen(fd, "rb");
    if (!s->fp) {
        sr_error_set(err, SR_ERR_IO, "%s: %s", path, strerror(errno));
        close(fd);
        srpng_reader_free(s);
        return -1;
    }
    s->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &s->eb, on_png_error, on_png_warning);
    if (!s->png || !(s->pinfo = png_create_info_struct(s->png))) {
        sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", path);
        srpng_reader_free(s);
        return -1;
    }
    if (setjmp(png_jmpbuf(s->png))) {
        srpng_fail(path, err, &s->eb);
        srpng_reader_free(s);
        return -1;
    }
    png_set_read_fn(s->png, s->fp, srpng_read_cb);
    /* The row width libpng accepts (default 1e6) stays; the height has no
     * bearing on memory for streamed files and is checked below otherwise. */
    png_read_info(s->png, s->pinfo);
    png_get_IHDR(s->png, s->pinfo, &w, &h, &depth, &ctype, &ilace, NULL, NULL);
    if (w > INT_MAX || h > INT_MAX) png_error(s->png, "image dimensions too large");

    s->interlaced = ilace != PNG_INTERLACE_NONE;
    if (s->interlaced && (uint64_t)w * h > s->max_pixels) {
        sr_error_set(err, SR_ERR_TOO_BIG,
                     "%s: interlaced PNG of %lux%lu pixels must be decoded whole and exceeds "
                     "the limit of %llu pixels (--max-pixels)",
                     path, (unsigned long)w, (unsigned long)h, (unsigned long long)s->max_pixels);
        srpng_reader_free(s);
        return -1;
    }

    if (ctype == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(s->png);
    if (ctype == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(s->png);
    if (png_get_valid(s->png, s->pinfo, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(s->png);
    if (depth == 16 && host_is_little_endian()) png_set_swap(s->png);
    if (s->interlaced) png_set_interlace_handling(s->png);
    png_read_update_info(s->png, s->pinfo);

    channels = png_get_channels(s->png, s->pinfo);
    if (channels < 1 || channels > 4) png_error(s->png, "unexpected channel count");
    memset(info, 0, sizeof *info);
    info->width = (int)w;
    info->height = (int)h;
    info->channels = channels;
    info->dtype = png_get_bit_depth(s->png, s->pinfo) == 16 ? SR_U16 : SR_U8;
    info->pages = 1;
    info->page = 0;
    info->format = SR_FMT_PNG;
    info->bits = depth;
    srpng_fill_meta(s, &info->meta);

    s->height = (int)h;
    s->row_bytes = (size_t)w * (size_t)channels * (info->dtype == SR_U16 ? 2 : 1);
    if (png_get_rowbytes(s->png, s->pinfo) != s->row_bytes)
        png_error(s->png, "unexpected row size after transforms");

    out->state = s;
    out->read_rows = srpng_read_rows;
    out->next_page = srpng_next_page;
    out->close = srpng_reader_close;
    return 0;
}

/* ------------------------------------------------------------------ */
/* writer                                                              */
/* ------------------------------------------------------------------ */

typedef struct srpng_writer {
    FILE *fp;
    png_structp png;
    png_infop pinfo;
    srpng_errbuf eb;
    char *path; /* display path, for messages */
    size_t row_bytes;
    int swap16;
    uint8_t *tmp; /* 16-bit rows are swapped here, the caller's are const */
} srpng_writer;

static void srpng_writer_free(srpng_writer *s)
{
    if (!s) return;
    if (s->png) png_destroy_write_struct(&s->png, s->pinfo ? &s->pinfo : NULL);
    if (s->fp) fclose(s->fp);
    free(s->tmp);
    free(s->path);
    free(s);
}

static void srpng_write_cb(png_structp png, png_bytep data, size_t len)
{
    FILE *fp = png_get_io_ptr(png);
    if (fwrite(data, 1, len, fp) != len) png_error(png, "write error");
}

static void srpng_flush_cb(png_structp png)
{
    FILE *fp = png_get_io_ptr(png);
    if (fflush(fp)) png_error(png, "write error");
}

static int srpng_wfail(srpng_writer *s, sr_error *err)
{
    int e = errno;
    if (strstr(s->eb.msg, "write error"))
        sr_error_set(err, SR_ERR_IO, "%s: write failed: %s", s->path, e ? strerror(e) : "I/O error");
    else
        sr_error_set(err, SR_ERR_IO, "%s: %s", s->path, s->eb.msg[0] ? s->eb.msg : "libpng error");
    return -1;
}

static int srpng_write_rows(void *state, const void *buf, int n, sr_error *err)
{
    srpng_writer *s = state;
    const uint8_t *in = buf;
    if (setjmp(png_jmpbuf(s->png))) return srpng_wfail(s, err);
    for (int i = 0; i < n; i++) {
        const uint8_t *row = in + (size_t)i * s->row_bytes;
        if (s->swap16) {
            for (size_t k = 0; k < s->row_bytes; k += 2) {
                s->tmp[k] = row[k + 1];
                s->tmp[k + 1] = row[k];
            }
            row = s->tmp;
        }
        png_write_row(s->png, (png_const_bytep)row);
    }
    return 0;
}

static int srpng_writer_next_page(void *state, const sr_image_info *info, sr_error *err)
{
    srpng_writer *s = state;
    (void)info;
    sr_error_set(err, SR_ERR_UNSUPPORTED, "%s: PNG holds a single page", s->path);
    return -1;
}

static int srpng_writer_finish(void *state, sr_error *err)
{
    srpng_writer *s = state;
    volatile int rc = 0;
    if (setjmp(png_jmpbuf(s->png))) {
        rc = srpng_wfail(s, err);
    } else {
        png_write_end(s->png, NULL);
        if (fflush(s->fp)) {
            sr_error_set(err, SR_ERR_IO, "%s: write failed: %s", s->path, strerror(errno));
            rc = -1;
        }
    }
    if (fclose(s->fp) && rc == 0) {
        sr_error_set(err, SR_ERR_IO, "%s: write failed: %s", s->path, strerror(errno));
        rc = -1;
    }
    s->fp = NULL;
    srpng_writer_free(s);
    return rc;
}

static void srpng_writer_abort(void *state) { srpng_writer_free(state); }

static png_uint_32 clamp_u31(double v)
{
    if (!(v > 0)) return 0;
    if (v > 2147483647.0) return 2147483647u;
    return (png_uint_32)lround(v);
}

/* Does the ICC profile's colour space (header bytes 16..19) suit the image? */
static int icc_fits(const sr_meta *m, int color)
{
    if (!m->icc || m->icc_len < 132 || m->icc_len > 0x7fffffffu) return 0;
    return memcmp(m->icc + 16, color ? "RGB " : "GRAY", 4) == 0;
}

static void srpng_put_meta(srpng_writer *s, const sr_meta *m, const sr_write_opts *opts, int color)
{
    double fx = 0, fy = 0;
    int unit = PNG_RESOLUTION_UNKNOWN;

    /* An iCCP chunk supersedes sRGB (the PNG spec allows one of the two).
     * PNG requires a GRAY profile on gray images and an RGB one on colour
     * images; a profile that does not fit is left out rather than failing
     * the write (and libpng's own checks only warn, see benign errors). */
    if (icc_fits(m, color))
        png_set_iCCP(s->png, s->pinfo, "ICC profile", PNG_COMPRESSION_TYPE_BASE, m->icc,
                     (png_uint_32)m->icc_len);
    else if (m->srgb_intent >= 0 && m->srgb_intent <= 3)
        png_set_sRGB(s->png, s->pinfo, m->srgb_intent);
    if (m->gamma > 0) png_set_gAMA(s->png, s->pinfo, m->gamma);

    switch (m->res_unit) {
    case SR_RES_CM: fx = m->xres * 100.0; fy = m->yres * 100.0; unit = PNG_RESOLUTION_METER; break;
    case SR_RES_INCH: fx = m->xres / 2.54 * 100.0; fy = m->yres / 2.54 * 100.0; unit = PNG_RESOLUTION_METER; break;
    case SR_RES_ASPECT: fx = m->xres; fy = m->yres; break;
    default: break;
    }
    if (clamp_u31(fx) && clamp_u31(fy))
        png_set_pHYs(s->png, s->pinfo, clamp_u31(fx), clamp_u31(fy), unit);

    if (opts && opts->software && opts->software[0]) {
        png_text t;
        memset(&t, 0, sizeof t);
        t.compression = PNG_TEXT_COMPRESSION_NONE;
        t.key = (png_charp) "Software";
        t.text = (png_charp)opts->software;
        png_set_text(s->png, s->pinfo, &t, 1);
    }
}

static int srpng_open_writer(const char *display_path, const char *tmp_path, int fd,
                           const sr_image_info *info, const sr_write_opts *opts,
                           sr_image_info *info_out, sr_codec_writer *out, sr_error *err)
{
    static const int ctypes[5] = {0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA,
                                  PNG_COLOR_TYPE_RGB, PNG_COLOR_TYPE_RGB_ALPHA};
    srpng_writer *s = calloc(1, sizeof *s);
    int depth;
    (void)tmp_path;

    if (!s || !(s->path = strdup(display_path))) {
        free(s);
        close(fd);
        sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", display_path);
        return -1;
    }
    if (info->channels < 1 || info->channels > 4 || info->width < 1 || info->height < 1 ||
        (uint64_t)info->width > 0x7fffffffu || (uint64_t)info->height > 0x7fffffffu) {
        sr_error_set(err, SR_ERR_ARG, "%s: cannot write a %dx%d image with %d channels as PNG",
                     display_path, info->width, info->height, info->channels);
        close(fd);
        srpng_writer_free(s);
        return -1;
    }
    *info_out = *info;
    info_out->dtype = info->dtype == SR_U8 ? SR_U8 : SR_U16; /* float is written as 16-bit */
    depth = info_out->dtype == SR_U8 ? 8 : 16;
    info_out->bits = depth;
    info_out->format = SR_FMT_PNG;
    info_out->pages = 1;
    info_out->page = 0;
    s->row_bytes = (size_t)info->width * (size_t)info->channels * (depth / 8);
    s->swap16 = depth == 16 && host_is_little_endian();
    if (s->swap16 && !(s->tmp = malloc(s->row_bytes))) {
        sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", display_path);
        close(fd);
        srpng_writer_free(s);
        return -1;
    }

    s->fp = fdopen(fd, "wb");
    if (!s->fp) {
        sr_error_set(err, SR_ERR_IO, "%s: %s", display_path, strerror(errno));
        close(fd);
        srpng_writer_free(s);
        return -1;
    }
    s->png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &s->eb, on_png_error, on_png_warning);
    if (!s->png || !(s->pinfo = png_create_info_struct(s->png))) {
        sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", display_path);
        srpng_writer_free(s);
        return -1;
    }
    if (setjmp(png_jmpbuf(s->png))) {
        srpng_wfail(s, err);
        srpng_writer_free(s);
        return -1;
    }
    png_set_write_fn(s->png, s->fp, srpng_write_cb, srpng_flush_cb);
    png_set_IHDR(s->png, s->pinfo, (png_uint_32)info->width, (png_uint_32)info->height, depth,
                 ctypes[info->channels], PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_BASE,
                 PNG_FILTER_TYPE_BASE);
    png_set_benign_errors(s->png, 1);
    /* zlib level 3, not libpng's 6: an upscaler writes large images, and on
     * a 1024x1024 x4 output level 6 took 13 % of the whole srgan-up run
     * (perf, libz). Encoding it (Pillow, same zlib): level 6 0.31 s and
     * 983 KB, level 3 0.10 s and 1076 KB (+9 %), level 1 0.06 s and 1150 KB.
     * OpenCV, which Real-ESRGAN writes with, defaults to 1. */
    png_set_compression_level(s->png, 3);
    srpng_put_meta(s, &info->meta, opts, info->channels >= 3);
    png_write_info(s->png, s->pinfo);

    out->state = s;
    out->write_rows = srpng_write_rows;
    out->next_page = srpng_writer_next_page;
    out->finish = srpng_writer_finish;
    out->abort = srpng_writer_abort;
    return 0;
}

static int sniff_png(const uint8_t *b, size_t n)
{
    return n >= 8 && !memcmp(b, "\x89PNG\r\n\x1a\n", 8);
}

static const char *const exts_png[] = {".png", NULL};

const sr_codec sr_codec_png = {
    .format = SR_FMT_PNG,
    .name = "png",
    .exts = exts_png,
    .sniff = sniff_png,
    .open_reader = srpng_open_reader,
    .open_writer = srpng_open_writer,
};
