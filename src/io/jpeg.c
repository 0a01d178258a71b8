/* jpeg.c: JPEG reader and writer (libjpeg-turbo).
 *
 * Reading streams scanlines as libjpeg produces them; a progressive file is
 * buffered whole inside libjpeg (its coefficient array), and an EXIF
 * orientation 2..8 needs the whole image to rotate, so both check the size in
 * the header against opts->max_pixels before jpeg_start_decompress()
 * allocates anything large. CMYK/YCCK is converted to RGB here (Adobe files
 * store inverted CMYK). 12-bit files are refused as unsupported.
 *
 * libjpeg's default error handler calls exit(); ours longjmps back to the
 * call that failed with the library's message, and warnings that mean the
 * data ran out or is damaged ("premature end of data segment", bad Huffman
 * code) are errors too, so a truncated file fails instead of decoding into
 * gray rows. The source manager fails at end of file for the same reason.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jpeglib.h>
#include <jerror.h>

#include "io/codec.h"
#include "io/exif.h"
#include "srgan/degrade.h"

/* ------------------------------------------------------------------ */
/* error handling                                                      */
/* ------------------------------------------------------------------ */

typedef struct srjpg_err {
    struct jpeg_error_mgr pub;
    jmp_buf jb;
    sr_status code;
    char msg[JMSG_LENGTH_MAX + 64];
} srjpg_err;

static sr_status srjpg_status_of(int msg_code)
{
    switch (msg_code) {
    case JERR_BAD_PRECISION: return SR_ERR_UNSUPPORTED;
    case JERR_OUT_OF_MEMORY: return SR_ERR_NOMEM;
    case JERR_IMAGE_TOO_BIG:
    case JERR_WIDTH_OVERFLOW: return SR_ERR_TOO_BIG;
    case JERR_FILE_READ: return SR_ERR_IO;
    case JERR_FILE_WRITE: return SR_ERR_IO;
    default: return SR_ERR_CORRUPT;
    }
}

static void srjpg_error_exit(j_common_ptr cinfo)
{
    srjpg_err *e = (srjpg_err *)cinfo->err;
    if (e->code == SR_OK) { /* keep a message the source manager already set */
        (*cinfo->err->format_message)(cinfo, e->msg);
        e->code = srjpg_status_of(cinfo->err->msg_code);
    }
    longjmp(e->jb, 1);
}

static void srjpg_emit_message(j_common_ptr cinfo, int level)
{
    if (level >= 0) return; /* trace messages */
    switch (cinfo->err->msg_code) {
    case JWRN_JPEG_EOF:      /* premature end of file            */
    case JWRN_HIT_MARKER:    /* premature end of data segment    */
    case JWRN_HUFF_BAD_CODE: /* corrupt entropy-coded data       */
        srjpg_error_exit(cinfo);
        break;
    default:
        cinfo->err->num_warnings++; /* harmless: extraneous bytes, odd markers */
        break;
    }
}

static void srjpg_output_message(j_common_ptr cinfo)
{
    (void)cinfo; /* never print from the library */
}

static void srjpg_err_init(srjpg_err *e)
{
    jpeg_std_error(&e->pub);
    e->pub.error_exit = srjpg_error_exit;
    e->pub.emit_message = srjpg_emit_message;
    e->pub.output_message = srjpg_output_message;
    e->code = SR_OK;
    e->msg[0] = '\0';
}

static int srjpg_fail(const char *path, srjpg_err *e, sr_error *err)
{
    sr_error_set(err, e->code ? e->code : SR_ERR_CORRUPT, "%s: %s", path,
                 e->msg[0] ? e->msg : "invalid JPEG data");
    return -1;
}

/* ------------------------------------------------------------------ */
/* source manager: a FILE that ends in an error, not in a fake EOI      */
/* ------------------------------------------------------------------ */

#define SRJPG_BUF 65536

typedef struct srjpg_src {
    struct jpeg_source_mgr pub;
    FILE *fp;
    JOCTET buf[SRJPG_BUF];
} srjpg_src;

static void srjpg_src_init(j_decompress_ptr cinfo) { (void)cinfo; }

static void srjpg_src_eof(j_decompress_ptr cinfo, int ioerr)
{
    srjpg_err *e = (srjpg_err *)cinfo->err;
    if (e->code == SR_OK) {
        e->code = ioerr ? SR_ERR_IO : SR_ERR_CORRUPT;
        snprintf(e->msg, sizeof e->msg, "%s",
                 ioerr ? "read error" : "truncated file (unexpected end of JPEG data)");
    }
    longjmp(e->jb, 1);
}

static boolean srjpg_fill(j_decompress_ptr cinfo)
{
    srjpg_src *s = (srjpg_src *)cinfo->src;
    size_t n = fread(s->buf, 1, SRJPG_BUF, s->fp);
    if (n == 0) srjpg_src_eof(cinfo, ferror(s->fp));
    s->pub.next_input_byte = s->buf;
    s->pub.bytes_in_buffer = n;
    return TRUE;
}

static void srjpg_skip(j_decompress_ptr cinfo, long num)
{
    srjpg_src *s = (srjpg_src *)cinfo->src;
    if (num <= 0) return;
    while ((size_t)num > s->pub.bytes_in_buffer) {
        num -= (long)s->pub.bytes_in_buffer;
        srjpg_fill(cinfo);
    }
    s->pub.next_input_byte += num;
    s->pub.bytes_in_buffer -= (size_t)num;
}

static void srjpg_src_term(j_decompress_ptr cinfo) { (void)cinfo; }

/* ------------------------------------------------------------------ */
/* orientation                                                         */
/* ------------------------------------------------------------------ */

/* Where stored pixel (sx, sy) of a w x h image lands in the displayed image
 * for EXIF orientation o (orientations 5..8 swap width and height). */
static void srjpg_orient_point(int o, long sx, long sy, long w, long h, long *dx, long *dy)
{
    switch (o) {
    case 2: *dx = w - 1 - sx; *dy = sy; break;          /* mirrored left-right   */
    case 3: *dx = w - 1 - sx; *dy = h - 1 - sy; break;  /* rotated 180           */
    case 4: *dx = sx; *dy = h - 1 - sy; break;          /* mirrored top-bottom   */
    case 5: *dx = sy; *dy = sx; break;                  /* transposed            */
    case 6: *dx = h - 1 - sy; *dy = sx; break;          /* needs 90 clockwise    */
    case 7: *dx = h - 1 - sy; *dy = w - 1 - sx; break;  /* transversed           */
    case 8: *dx = sy; *dy = w - 1 - sx; break;          /* needs 90 anticlockwise */
    default: *dx = sx; *dy = sy; break;
    }
}

/* ------------------------------------------------------------------ */
/* reader                                                              */
/* ------------------------------------------------------------------ */

typedef struct srjpg_reader {
    struct jpeg_decompress_struct cinfo;
    srjpg_err err;
    srjpg_src *src;
    FILE *fp;
    char *path;
    int created;     /* cinfo needs jpeg_destroy_decompress */
    int started;     /* jpeg_start_decompress done */
    int cmyk;        /* rows come as CMYK and are converted */
    int inverted;    /* Adobe: CMYK stored inverted */
    int channels;    /* channels handed out (1 or 3) */
    int orient;      /* orientation applied (1 = none) */
    int sw, sh;      /* stored size */
    uint8_t *line;   /* one decoded scanline (CMYK or for rotation) */
    uint8_t *whole;  /* rotated image, display layout */
    int next_row;
    uint8_t *icc;
} srjpg_reader;

static void srjpg_reader_free(srjpg_reader *s)
{
    if (!s) return;
    if (s->created) jpeg_destroy_decompress(&s->cinfo);
    if (s->fp) fclose(s->fp);
    free(s->src);
    free(s->line);
    free(s->whole);
    free(s->icc);
    free(s->path);
    free(s);
}

static void srjpg_reader_close(void *state) { srjpg_reader_free(state); }

/* CMYK (4 samples) -> RGB (3), one row. Adobe writers store 255 - ink. */
static void srjpg_cmyk_to_rgb(const uint8_t *in, uint8_t *out, int w, int inverted)
{
    for (int x = 0; x < w; x++, in += 4, out += 3) {
        unsigned c = in[0], m = in[1], y = in[2], k = in[3];
        if (!inverted) {
            c = 255 - c; m = 255 - m; y = 255 - y; k = 255 - k;
        }
        out[0] = (uint8_t)((c * k + 127) / 255);
        out[1] = (uint8_t)((m * k + 127) / 255);
        out[2] = (uint8_t)((y * k + 127) / 255);
    }
}

/* Decode one stored scanline into dst (channels samples per pixel). */
static void srjpg_scanline(srjpg_reader *s, uint8_t *dst)
{
    JSAMPROW row = s->cmyk ? s->line : dst;
    if (jpeg_read_scanlines(&s->cinfo, &row, 1) != 1) {
        s->err.code = SR_ERR_CORRUPT;
        snprintf(s->err.msg, sizeof s->err.msg, "decoder returned no data");
        longjmp(s->err.jb, 1);
    }
    if (s->cmyk) srjpg_cmyk_to_rgb(s->line, dst, s->sw, s->inverted);
}

/* Decode all of the stored image straight into its rotated place. */
static int srjpg_decode_rotated(srjpg_reader *s, sr_error *err)
{
    const size_t ch = (size_t)s->channels;
    const long w = s->sw, h = s->sh;
    const long dw = s->orient >= 5 ? h : w;
    uint8_t *tmp;

    s->whole = malloc((size_t)w * (size_t)h * ch);
    tmp = malloc((size_t)w * ch);
    if (!s->whole || !tmp) {
        free(tmp);
        sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory rotating the image", s->path);
        return -1;
    }
    if (setjmp(s->err.jb)) {
        free(tmp);
        return srjpg_fail(s->path, &s->err, err);
    }
    for (long sy = 0; sy < h; sy++) {
        long dx0, dy0, dx1, dy1;
        ptrdiff_t start, step;
        srjpg_scanline(s, tmp);
        srjpg_orient_point(s->orient, 0, sy, w, h, &dx0, &dy0);
        srjpg_orient_point(s->orient, w > 1 ? 1 : 0, sy, w, h, &dx1, &dy1);
        start = (ptrdiff_t)(dy0 * dw + dx0);
        step = (ptrdiff_t)((dy1 * dw + dx1) - start);
        for (long sx = 0; sx < w; sx++) {
            uint8_t *d = s->whole + (size_t)(start + step * sx) * ch;
            memcpy(d, tmp + (size_t)sx * ch, ch);
        }
    }
    free(tmp);
    return 0;
}

static int srjpg_read_rotated(srjpg_reader *s, uint8_t *out, int n, sr_error *err)
{
    const long dw = s->orient >= 5 ? s->sh : s->sw;
    const size_t rb = (size_t)dw * (size_t)s->channels;
    if (!s->whole && srjpg_decode_rotated(s, err)) return -1;
    memcpy(out, s->whole + (size_t)s->next_row * rb, (size_t)n * rb);
    s->next_row += n;
    return 0;
}

static int srjpg_read_rows(void *state, void *buf, int n, sr_error *err)
{
    srjpg_reader *s = state;
    uint8_t *out = buf;
    const size_t rb = (size_t)s->sw * (size_t)s->channels;
    if (s->orient != 1) return srjpg_read_rotated(s, out, n, err);
    if (setjmp(s->err.jb)) return srjpg_fail(s->path, &s->err, err);
    for (int i = 0; i < n; i++) srjpg_scanline(s, out + (size_t)i * rb);
    s->next_row += n;
    return 0;
}

static int srjpg_next_page(void *state, sr_image_info *info, sr_error *err)
{
    (void)state;
    (void)info;
    (void)err;
    return 0;
}

static int srjpg_find_orientation(j_decompress_ptr cinfo)
{
    for (jpeg_saved_marker_ptr m = cinfo->marker_list; m; m = m->next) {
        if (m->marker != JPEG_APP0 + 1) continue;
        if (m->data_length >= 6 && memcmp(m->data, "Exif\0\0", 6) == 0)
            return sr_exif_orientation(m->data, m->data_length);
    }
    return 0;
}

static void srjpg_fill_density(j_decompress_ptr cinfo, sr_meta *m)
{
    if (!cinfo->saw_JFIF_marker || !cinfo->X_density || !cinfo->Y_density) return;
    switch (cinfo->density_unit) {
    case 1: m->res_unit = SR_RES_INCH; break;
    case 2: m->res_unit = SR_RES_CM; break;
    default:
        /* 1:1 is what every JFIF writer puts when it knows nothing */
        if (cinfo->X_density == cinfo->Y_density) return;
        m->res_unit = SR_RES_ASPECT;
        break;
    }
    m->xres = cinfo->X_density;
    m->yres = cinfo->Y_density;
}

static int srjpg_open_reader(const char *path, int fd, const sr_read_opts *opts,
                             sr_image_info *info, sr_codec_reader *out, sr_error *err)
{
    srjpg_reader *s = calloc(1, sizeof *s);
    uint64_t max_pixels = opts && opts->max_pixels ? opts->max_pixels : SR_DEFAULT_MAX_PIXELS;
    j_decompress_ptr ci;
    int exif_orient, whole;
    unsigned int icc_len = 0;

    if (!s || !(s->path = strdup(path)) || !(s->src = calloc(1, sizeof *s->src))) {
        if (s) free(s->path);
        free(s);
        close(fd);
        sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", path);
        return -1;
    }
    s->fp = fdopen(fd, "rb");
    if (!s->fp) {
        sr_error_set(err, SR_ERR_IO, "%s: %s", path, strerror(errno));
        close(fd);
        srjpg_reader_free(s);
        return -1;
    }
    ci = &s->cinfo;
    srjpg_err_init(&s->err);
    ci->err = &s->err.pub;
    if (setjmp(s->err.jb)) {
        srjpg_fail(path, &s->err, err);
        srjpg_reader_free(s);
        return -1;
    }
    jpeg_create_decompress(ci);
    s->created = 1;
    s->src->fp = s->fp;
    s->src->pub.init_source = srjpg_src_init;
    s->src->pub.fill_input_buffer = srjpg_fill;
    s->src->pub.skip_input_data = srjpg_skip;
    s->src->pub.resync_to_restart = jpeg_resync_to_restart;
    s->src->pub.term_source = srjpg_src_term;
    ci->src = &s->src->pub;
    jpeg_save_markers(ci, JPEG_APP0 + 1, 0xffff); /* EXIF */
    jpeg_save_markers(ci, JPEG_APP0 + 2, 0xffff); /* ICC */
    jpeg_read_header(ci, TRUE);

    if (ci->data_precision != 8) {
        sr_error_set(err, SR_ERR_UNSUPPORTED, "%s: %d-bit JPEG is not supported", path,
                     ci->data_precision);
        srjpg_reader_free(s);
        return -1;
    }
    switch (ci->jpeg_color_space) {
    case JCS_GRAYSCALE:
        ci->out_color_space = JCS_GRAYSCALE;
        s->channels = 1;
        break;
    case JCS_YCbCr:
    case JCS_RGB:
        ci->out_color_space = JCS_RGB;
        s->channels = 3;
        break;
    case JCS_CMYK:
    case JCS_YCCK:
        ci->out_color_space = JCS_CMYK;
        s->channels = 3;
        s->cmyk = 1;
        s->inverted = ci->saw_Adobe_marker;
        break;
    default:
        sr_error_set(err, SR_ERR_UNSUPPORTED, "%s: JPEG with %d components in an unknown color space is not supported",
                     path, ci->num_components);
        srjpg_reader_free(s);
        return -1;
    }
    s->sw = (int)ci->image_width;
    s->sh = (int)ci->image_height;

    exif_orient = srjpg_find_orientation(ci);
    s->orient = (exif_orient >= 2 && !(opts && opts->no_autorotate)) ? exif_orient : 1;
    whole = s->orient != 1 || jpeg_has_multiple_scans(ci);
    if (whole && (uint64_t)s->sw * (uint64_t)s->sh > max_pixels) {
        sr_error_set(err, SR_ERR_TOO_BIG,
                     "%s: %s JPEG of %dx%d pixels must be decoded whole and exceeds the limit "
                     "of %llu pixels (--max-pixels)",
                     path, s->orient != 1 ? "rotated" : "progressive", s->sw, s->sh,
                     (unsigned long long)max_pixels);
        srjpg_reader_free(s);
        return -1;
    }

    if (jpeg_read_icc_profile(ci, &s->icc, &icc_len) && icc_len == 0) {
        free(s->icc);
        s->icc = NULL;
    }
    jpeg_start_decompress(ci);
    s->started = 1;
    if (s->cmyk && !(s->line = malloc((size_t)s->sw * 4))) {
        sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", path);
        srjpg_reader_free(s);
        return -1;
    }

    memset(info, 0, sizeof *info);
    info->width = s->orient >= 5 ? s->sh : s->sw;
    info->height = s->orient >= 5 ? s->sw : s->sh;
    info->channels = s->channels;
    info->dtype = SR_U8;
    info->pages = 1;
    info->page = 0;
    info->format = SR_FMT_JPEG;
    info->bits = ci->data_precision;
    info->meta.srgb_intent = -1;
    info->meta.icc = s->icc;
    info->meta.icc_len = s->icc ? icc_len : 0;
    info->meta.orientation = s->orient != 1 ? 1 : exif_orient;
    srjpg_fill_density(ci, &info->meta);
    if (s->orient != 1) {
        /* the displayed image's x and y resolution swap along with its axes */
        if (s->orient >= 5) {
            double t = info->meta.xres;
            info->meta.xres = info->meta.yres;
            info->meta.yres = t;
        }
        if (opts && opts->verbose)
            fprintf(stderr, "%s: applied EXIF orientation %d\n", path, s->orient);
    }

    out->state = s;
    out->read_rows = srjpg_read_rows;
    out->next_page = srjpg_next_page;
    out->close = srjpg_reader_close;
    return 0;
}

/* ------------------------------------------------------------------ */
/* writer                                                              */
/* ------------------------------------------------------------------ */

typedef struct srjpg_writer {
    struct jpeg_compress_struct cinfo;
    srjpg_err err;
    FILE *fp;
    char *path;
    int created;
    size_t row_bytes;
} srjpg_writer;

static void srjpg_writer_free(srjpg_writer *s)
{
    if (!s) return;
    if (s->created) jpeg_destroy_compress(&s->cinfo);
    if (s->fp) fclose(s->fp);
    free(s->path);
    free(s);
}

static int srjpg_wfail(srjpg_writer *s, sr_error *err)
{
    sr_error_set(err, s->err.code ? s->err.code : SR_ERR_IO, "%s: %s", s->path,
                 s->err.msg[0] ? s->err.msg : "JPEG encoder error");
    return -1;
}

static int srjpg_write_rows(void *state, const void *buf, int n, sr_error *err)
{
    srjpg_writer *s = state;
    const uint8_t *in = buf;
    if (setjmp(s->err.jb)) return srjpg_wfail(s, err);
    for (int i = 0; i < n; i++) {
        /* libjpeg takes non-const rows but only reads them */
        JSAMPROW row = (JSAMPROW)(uintptr_t)(in + (size_t)i * s->row_bytes);
        jpeg_write_scanlines(&s->cinfo, &row, 1);
    }
    return 0;
}

static int srjpg_writer_next_page(void *state, const sr_image_info *info, sr_error *err)
{
    srjpg_writer *s = state;
    (void)info;
    sr_error_set(err, SR_ERR_UNSUPPORTED, "%s: JPEG holds a single page", s->path);
    return -1;
}

static int srjpg_writer_finish(void *state, sr_error *err)
{
    srjpg_writer *s = state;
    volatile int rc = 0;
    if (setjmp(s->err.jb)) {
        rc = srjpg_wfail(s, err);
    } else {
        jpeg_finish_compress(&s->cinfo);
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
    srjpg_writer_free(s);
    return rc;
}

static void srjpg_writer_abort(void *state) { srjpg_writer_free(state); }

static UINT16 srjpg_density(double v)
{
    if (!(v > 0)) return 0;
    if (v > 65535.0) return 65535;
    long r = lround(v);
    return (UINT16)(r < 1 ? 1 : r);
}

static void srjpg_put_density(j_compress_ptr ci, const sr_meta *m)
{
    UINT8 unit;
    switch (m->res_unit) {
    case SR_RES_INCH: unit = 1; break;
    case SR_RES_CM: unit = 2; break;
    case SR_RES_ASPECT: unit = 0; break;
    default: return;
    }
    if (!srjpg_density(m->xres) || !srjpg_density(m->yres)) return;
    ci->density_unit = unit;
    ci->X_density = srjpg_density(m->xres);
    ci->Y_density = srjpg_density(m->yres);
}

static int srjpg_open_writer(const char *display_path, const char *tmp_path, int fd,
                             const sr_image_info *info, const sr_write_opts *opts,
                             sr_image_info *info_out, sr_codec_writer *out, sr_error *err)
{
    srjpg_writer *s = calloc(1, sizeof *s);
    j_compress_ptr ci;
    int quality = opts && opts->quality ? opts->quality : 95;
    (void)tmp_path;

    if (!s || !(s->path = strdup(display_path))) {
        free(s);
        close(fd);
        sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", display_path);
        return -1;
    }
    if (info->channels < 1 || info->channels > 4 || info->width < 1 || info->height < 1 ||
        info->width > JPEG_MAX_DIMENSION || info->height > JPEG_MAX_DIMENSION) {
        sr_error_set(err, info->channels < 1 || info->channels > 4 ? SR_ERR_ARG : SR_ERR_TOO_BIG,
                     "%s: cannot write a %dx%d image with %d channels as JPEG (at most %d pixels a side)",
                     display_path, info->width, info->height, info->channels, (int)JPEG_MAX_DIMENSION);
        close(fd);
        srjpg_writer_free(s);
        return -1;
    }
    if (quality < 1 || quality > 100) {
        sr_error_set(err, SR_ERR_ARG, "%s: JPEG quality %d is outside 1..100", display_path, quality);
        close(fd);
        srjpg_writer_free(s);
        return -1;
    }
    *info_out = *info;
    info_out->dtype = SR_U8;
    info_out->bits = 8;
    info_out->channels = info->channels <= 2 ? 1 : 3; /* alpha dropped */
    info_out->format = SR_FMT_JPEG;
    info_out->pages = 1;
    info_out->page = 0;
    info_out->meta.orientation = 0; /* pixels are written upright, no EXIF */
    s->row_bytes = (size_t)info->width * (size_t)info_out->channels;

    s->fp = fdopen(fd, "wb");
    if (!s->fp) {
        sr_error_set(err, SR_ERR_IO, "%s: %s", display_path, strerror(errno));
        close(fd);
        srjpg_writer_free(s);
        return -1;
    }
    ci = &s->cinfo;
    srjpg_err_init(&s->err);
    ci->err = &s->err.pub;
    if (setjmp(s->err.jb)) {
        srjpg_wfail(s, err);
        srjpg_writer_free(s);
        return -1;
    }
    jpeg_create_compress(ci);
    s->created = 1;
    jpeg_stdio_dest(ci, s->fp);
    ci->image_width = (JDIMENSION)info->width;
    ci->image_height = (JDIMENSION)info->height;
    ci->input_components = info_out->channels;
    ci->in_color_space = info_out->channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(ci);
    jpeg_set_quality(ci, quality, TRUE);
    ci->optimize_coding = TRUE;
    if (info_out->channels == 3) {
        /* 4:4:4 at high quality (chroma detail matters for upscaled output) */
        int f = quality >= 90 ? 1 : 2;
        ci->comp_info[0].h_samp_factor = f;
        ci->comp_info[0].v_samp_factor = f;
        ci->comp_info[1].h_samp_factor = ci->comp_info[1].v_samp_factor = 1;
        ci->comp_info[2].h_samp_factor = ci->comp_info[2].v_samp_factor = 1;
    }
    srjpg_put_density(ci, &info->meta);
    jpeg_start_compress(ci, TRUE);
    if (info->meta.icc && info->meta.icc_len > 0 && info->meta.icc_len <= UINT_MAX)
        jpeg_write_icc_profile(ci, info->meta.icc, (unsigned int)info->meta.icc_len);

    out->state = s;
    out->write_rows = srjpg_write_rows;
    out->next_page = srjpg_writer_next_page;
    out->finish = srjpg_writer_finish;
    out->abort = srjpg_writer_abort;
    return 0;
}

static int sniff_jpeg(const uint8_t *b, size_t n)
{
    return n >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF;
}

static const char *const exts_jpeg[] = {".jpg", ".jpeg", ".jpe", NULL};

const sr_codec sr_codec_jpeg = {
    .format = SR_FMT_JPEG,
    .name = "jpeg",
    .exts = exts_jpeg,
    .sniff = sniff_jpeg,
    .open_reader = srjpg_open_reader,
    .open_writer = srjpg_open_writer,
};

/* ------------------------------------------------------------------ */
/* in-memory round trip (training degradations)                        */
/* ------------------------------------------------------------------ */

/* Encode at `quality` with libjpeg's defaults (4:2:0 for colour, as
 * OpenCV's imencode and Real-ESRGAN's DiffJPEG) and decode again, all in
 * memory. The encoder and decoder state live in one struct so the longjmp
 * target sees them intact. */
typedef struct srjpg_rt {
    struct jpeg_compress_struct c;
    struct jpeg_decompress_struct d;
    srjpg_err e;
    unsigned char *buf;
    unsigned long len;
    int have_c, have_d;
} srjpg_rt;

static void srjpg_rt_free(srjpg_rt *s)
{
    if (s->have_c) jpeg_destroy_compress(&s->c);
    if (s->have_d) jpeg_destroy_decompress(&s->d);
    free(s->buf);
}

int sr_jpeg_roundtrip(uint8_t *img, int w, int h, int c, int quality, sr_error *err)
{
    if (!img || w < 1 || h < 1 || (c != 1 && c != 3)) {
        sr_error_set(err, SR_ERR_ARG, "jpeg round trip: invalid image %dx%dx%d", w, h, c);
        return -1;
    }
    srjpg_rt *s = calloc(1, sizeof *s);
    if (!s) {
        sr_error_set(err, SR_ERR_NOMEM, "jpeg round trip: out of memory");
        return -1;
    }
    srjpg_err_init(&s->e);
    if (setjmp(s->e.jb)) {
        srjpg_fail("jpeg round trip", &s->e, err);
        srjpg_rt_free(s);
        free(s);
        return -1;
    }
    s->c.err = &s->e.pub;
    jpeg_create_compress(&s->c);
    s->have_c = 1;
    jpeg_mem_dest(&s->c, &s->buf, &s->len);
    s->c.image_width = (JDIMENSION)w;
    s->c.image_height = (JDIMENSION)h;
    s->c.input_components = c;
    s->c.in_color_space = c == 3 ? JCS_RGB : JCS_GRAYSCALE;
    jpeg_set_defaults(&s->c);
    jpeg_set_quality(&s->c, quality < 1 ? 1 : quality > 100 ? 100 : quality, TRUE);
    jpeg_start_compress(&s->c, TRUE);
    while (s->c.next_scanline < s->c.image_height) {
        JSAMPROW row = img + (size_t)s->c.next_scanline * w * c;
        jpeg_write_scanlines(&s->c, &row, 1);
    }
    jpeg_finish_compress(&s->c);
    s->d.err = &s->e.pub;
    jpeg_create_decompress(&s->d);
    s->have_d = 1;
    jpeg_mem_src(&s->d, s->buf, s->len);
    jpeg_read_header(&s->d, TRUE);
    s->d.out_color_space = c == 3 ? JCS_RGB : JCS_GRAYSCALE;
    jpeg_start_decompress(&s->d);
    while (s->d.output_scanline < s->d.output_height) {
        JSAMPROW row = img + (size_t)s->d.output_scanline * w * c;
        jpeg_read_scanlines(&s->d, &row, 1);
    }
    jpeg_finish_decompress(&s->d);
    srjpg_rt_free(s);
    free(s);
    return 0;
}
