/* tiff_write.c: streaming TIFF writer.
 *
 * Rows go to libtiff one scanline at a time (TIFFWriteScanline), which
 * compresses them into strips as they come, so memory is one strip of
 * compressed data plus a row. Strips hold about 256 KiB of raw samples.
 * Deflate with a horizontal (integers) or floating-point predictor is the
 * default. BigTIFF is chosen when the output could pass 4 GiB.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "io/tiff_priv.h"

#define STRIP_TARGET_BYTES ((size_t)256 << 10)
/* Classic TIFF offsets are 32-bit. Compressed data can exceed the raw size
 * (LZW on noise), so switch well before 4 GiB of raw samples. */
#define CLASSIC_RAW_LIMIT ((uint64_t)3 << 30)

typedef struct tiff_writer {
    TIFF *tif;
    sr_tiff_errctx ec;
    char *path; /* the target, for messages */
    sr_tiff_compression compression;
    const char *software; /* caller's string, valid while the writer is open */
    int pages;            /* announced page count */
    int page;
    int width, height;
    uint32_t row;         /* next row of the current page */
    size_t row_bytes;
    uint8_t *scratch;     /* libtiff's predictor and byte swapping work in place */
} tiff_writer;

static int fail(tiff_writer *tw, sr_error *err, sr_status code, const char *what)
{
    sr_tiff_fail(&tw->ec, err, code, what);
    return -1;
}

/* A failed libtiff write: libtiff only says "Write error at scanline N", so
 * when the system said why (a full disk, a quota, an I/O error) say that,
 * as the PNG and JPEG writers do. errno was cleared before the call. */
static int write_fail(tiff_writer *tw, sr_error *err, int e, const char *what)
{
    if (e == ENOSPC || e == EDQUOT || e == EFBIG || e == EIO) {
        sr_error_set(err, SR_ERR_IO, "%s: write failed: %s", tw->path, strerror(e));
        return -1;
    }
    return fail(tw, err, SR_ERR_IO, what);
}

static uint16_t compression_tag(sr_tiff_compression c)
{
    switch (c) {
    case SR_TIFF_NONE: return COMPRESSION_NONE;
    case SR_TIFF_LZW: return COMPRESSION_LZW;
    case SR_TIFF_ZSTD: return COMPRESSION_ZSTD;
    case SR_TIFF_DEFLATE:
    default: return COMPRESSION_ADOBE_DEFLATE;
    }
}

static int check_info(const char *path, const sr_image_info *info, sr_error *err)
{
    int base = info->channels - info->data_channels;
    if (info->width <= 0 || info->height <= 0 || info->channels < 1 ||
        info->channels > SR_MAX_CHANNELS || info->data_channels < 0 || base < 1 || base > 4 ||
        sr_dtype_size(info->dtype) == 0) {
        sr_error_set(err, SR_ERR_ARG, "%s: cannot write a %dx%d image with %d channels as TIFF",
                     path, info->width, info->height, info->channels);
        return -1;
    }
    return 0;
}

/* Set every tag of a new page; rows follow. */
static int set_page_fields(tiff_writer *tw, const sr_image_info *info, sr_error *err)
{
    TIFF *tif = tw->tif;
    const int ch = info->channels;
    const int is_float = info->dtype == SR_F32;
    const int is_signed = info->dtype == SR_I8 || info->dtype == SR_I16 || info->dtype == SR_I32;
    const int color = sr_info_color_channels(info);
    const uint16_t bits = (uint16_t)(8 * sr_dtype_size(info->dtype));
    const uint16_t comp = compression_tag(tw->compression);
    const size_t row_bytes = (size_t)info->width * ch * sr_dtype_size(info->dtype);
    size_t rps = STRIP_TARGET_BYTES / row_bytes;
    if (rps < 1)
        rps = 1;
    if (rps > (size_t)info->height)
        rps = (size_t)info->height;

    int ok = TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, (uint32_t)info->width) &&
             TIFFSetField(tif, TIFFTAG_IMAGELENGTH, (uint32_t)info->height) &&
             TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, bits) &&
             TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, (uint16_t)ch) &&
             TIFFSetField(tif, TIFFTAG_SAMPLEFORMAT,
                          is_float    ? SAMPLEFORMAT_IEEEFP
                          : is_signed ? SAMPLEFORMAT_INT
                                      : SAMPLEFORMAT_UINT) &&
             TIFFSetField(tif, TIFFTAG_PHOTOMETRIC,
                          color == 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK) &&
             TIFFSetField(tif, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG) &&
             TIFFSetField(tif, TIFFTAG_COMPRESSION, comp) &&
             TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, (uint32_t)rps);
    if (ok && ch > color) {
        /* alpha first, then the data channels as "unspecified", as read */
        uint16_t extra[SR_MAX_CHANNELS];
        int n = ch - color;
        for (int i = 0; i < n; i++)
            extra[i] = i == 0 && sr_info_has_alpha(info) ? EXTRASAMPLE_UNASSALPHA
                                                         : EXTRASAMPLE_UNSPECIFIED;
        ok = TIFFSetField(tif, TIFFTAG_EXTRASAMPLES, (uint16_t)n, extra);
    }
    /* libtiff 4.5 garbles floats written with the floating-point predictor
     * into a file of the other byte order (ImageJ metadata makes us write
     * big-endian): those are compressed without a predictor */
    if (ok && comp != COMPRESSION_NONE && !(is_float && TIFFIsByteSwapped(tif)))
        ok = TIFFSetField(tif, TIFFTAG_PREDICTOR,
                          is_float ? PREDICTOR_FLOATINGPOINT : PREDICTOR_HORIZONTAL);
    if (ok && tw->pages > 1)
        ok = TIFFSetField(tif, TIFFTAG_SUBFILETYPE, FILETYPE_PAGE) &&
             TIFFSetField(tif, TIFFTAG_PAGENUMBER, (uint16_t)tw->page,
                          (uint16_t)(tw->pages > 65535 ? 65535 : tw->pages));

    const sr_meta *m = &info->meta;
    if (ok && tw->software)
        ok = TIFFSetField(tif, TIFFTAG_SOFTWARE, tw->software);
    if (ok && m->description)
        ok = TIFFSetField(tif, TIFFTAG_IMAGEDESCRIPTION, m->description);
    if (ok && m->res_unit != SR_RES_NONE && m->xres > 0 && m->yres > 0)
        ok = TIFFSetField(tif, TIFFTAG_XRESOLUTION, m->xres) &&
             TIFFSetField(tif, TIFFTAG_YRESOLUTION, m->yres) &&
             TIFFSetField(tif, TIFFTAG_RESOLUTIONUNIT,
                          m->res_unit == SR_RES_CM       ? RESUNIT_CENTIMETER
                          : m->res_unit == SR_RES_ASPECT ? RESUNIT_NONE
                                                         : RESUNIT_INCH);
    if (ok && m->icc && m->icc_len > 0 && m->icc_len <= UINT32_MAX)
        ok = TIFFSetField(tif, TIFFTAG_ICCPROFILE, (uint32_t)m->icc_len, m->icc);
    /* ImageJ reads its metadata in the file's byte order: carried when that
     * is the order it was written in (the writer opens the file so) */
    if (ok && m->ij_meta && m->ij_meta_len >= 4 && m->ij_counts && m->ij_counts_n > 0 &&
        m->ij_meta_len <= UINT32_MAX && m->ij_counts_n <= UINT32_MAX &&
        !memcmp(m->ij_meta, TIFFIsBigEndian(tif) ? "IJIJ" : "JIJI", 4))
        ok = sr_tiff_register_ij(tif) &&
             TIFFSetField(tif, SR_TIFFTAG_IJ_COUNTS, (uint32_t)m->ij_counts_n, m->ij_counts) &&
             TIFFSetField(tif, SR_TIFFTAG_IJ_META, (uint32_t)m->ij_meta_len, m->ij_meta);
    /* pixels are written as they come, so an orientation still to be
     * applied stays recorded for viewers */
    if (ok && m->orientation >= 2 && m->orientation <= 8)
        ok = TIFFSetField(tif, TIFFTAG_ORIENTATION, (uint16_t)m->orientation);
    if (!ok)
        return fail(tw, err, SR_ERR_IO, "cannot set TIFF tags");

    free(tw->scratch);
    tw->scratch = malloc(row_bytes);
    if (!tw->scratch) {
        sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", tw->path);
        return -1;
    }
    tw->row_bytes = row_bytes;
    tw->width = info->width;
    tw->height = info->height;
    tw->row = 0;
    return 0;
}

static int end_page(tiff_writer *tw, sr_error *err)
{
    if (tw->row != (uint32_t)tw->height) {
        sr_error_set(err, SR_ERR_ARG, "%s: page %d ended after %u of %d rows", tw->path,
                     tw->page + 1, (unsigned)tw->row, tw->height);
        return -1;
    }
    errno = 0;
    if (!TIFFWriteDirectory(tw->tif))
        return write_fail(tw, err, errno, "cannot write the TIFF directory");
    return 0;
}

static int tiff_write_rows(void *state, const void *buf, int n, sr_error *err)
{
    tiff_writer *tw = state;
    for (int i = 0; i < n; i++) {
        if (tw->row >= (uint32_t)tw->height) {
            sr_error_set(err, SR_ERR_ARG, "%s: more rows than the page holds", tw->path);
            return -1;
        }
        memcpy(tw->scratch, (const uint8_t *)buf + (size_t)i * tw->row_bytes, tw->row_bytes);
        errno = 0;
        if (TIFFWriteScanline(tw->tif, tw->scratch, tw->row, 0) != 1)
            return write_fail(tw, err, errno, "cannot write image data");
        tw->row++;
    }
    return 0;
}

static int tiff_next_page(void *state, const sr_image_info *info, sr_error *err)
{
    tiff_writer *tw = state;
    if (check_info(tw->path, info, err) || end_page(tw, err))
        return -1;
    tw->page++;
    if (tw->page >= tw->pages)
        tw->pages = tw->page + 1; /* more pages than announced: keep numbering sane */
    return set_page_fields(tw, info, err);
}

static void destroy(tiff_writer *tw)
{
    free(tw->scratch);
    free(tw->path);
    free(tw);
}

static int tiff_finish(void *state, sr_error *err)
{
    tiff_writer *tw = state;
    int rc = end_page(tw, err);
    errno = 0;
    TIFFClose(tw->tif); /* closes the fd; flushes nothing more after the directory */
    int e = errno;
    tw->tif = NULL;
    if (rc == 0 && tw->ec.have)
        rc = write_fail(tw, err, e, "error while closing");
    destroy(tw);
    return rc;
}

static void tiff_abort(void *state)
{
    tiff_writer *tw = state;
    if (!tw)
        return;
    if (tw->tif)
        TIFFClose(tw->tif); /* errors do not matter: io.c unlinks the file */
    destroy(tw);
}

int sr_tiff_open_writer(const char *display_path, const char *tmp_path, int fd,
                        const sr_image_info *info, const sr_write_opts *opts,
                        sr_image_info *info_out, sr_codec_writer *out, sr_error *err)
{
    const char *name = display_path ? display_path : tmp_path;
    if (check_info(name, info, err)) {
        close(fd);
        return -1;
    }
    tiff_writer *tw = calloc(1, sizeof *tw);
    char *p = strdup(name);
    if (!tw || !p) {
        free(tw);
        free(p);
        close(fd);
        sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", name);
        return -1;
    }
    tw->path = p;
    tw->ec.path = p;
    tw->compression = opts ? opts->compression : SR_TIFF_DEFLATE;
    tw->software = opts ? opts->software : NULL;
    tw->pages = info->pages > 1 ? info->pages : 1;

    if (!TIFFIsCODECConfigured(compression_tag(tw->compression))) {
        sr_error_set(err, SR_ERR_UNSUPPORTED, "%s: this libtiff cannot write %s compression",
                     name, tw->compression == SR_TIFF_ZSTD ? "zstd" : "the requested");
        close(fd);
        destroy(tw);
        return -1;
    }

    /* libtiff reads back earlier directories to link a new page: it needs
     * the file open for reading as well */
    if ((fcntl(fd, F_GETFL) & O_ACCMODE) == O_WRONLY) {
        int rw = open(tmp_path, O_RDWR);
        if (rw < 0) {
            sr_error_set(err, SR_ERR_IO, "%s: cannot reopen the temporary file", name);
            close(fd);
            destroy(tw);
            return -1;
        }
        close(fd);
        fd = rw;
    }

    uint64_t raw = (uint64_t)info->width * (uint64_t)info->height * (uint64_t)info->channels *
                   sr_dtype_size(info->dtype) * (uint64_t)tw->pages;
    int big = (opts && opts->force_bigtiff) || raw > CLASSIC_RAW_LIMIT;
    /* ImageJ metadata holds numbers in the byte order of the file it came
     * from (Fiji writes big-endian): write the output in that order */
    const sr_meta *m = &info->meta;
    char mode[4] = "w";
    if (big)
        strcat(mode, "8");
    if (m->ij_meta && m->ij_meta_len >= 4 && !memcmp(m->ij_meta, "IJIJ", 4))
        strcat(mode, "b");
    else if (m->ij_meta && m->ij_meta_len >= 4 && !memcmp(m->ij_meta, "JIJI", 4))
        strcat(mode, "l");
    tw->tif = sr_tiff_fdopen(fd, tmp_path, mode, &tw->ec);
    if (!tw->tif) {
        close(fd);
        fail(tw, err, SR_ERR_IO, "cannot start writing TIFF");
        destroy(tw);
        return -1;
    }
    if (set_page_fields(tw, info, err)) {
        tiff_abort(tw);
        return -1;
    }
    *info_out = *info; /* every layout of image.h fits a TIFF */
    out->state = tw;
    out->write_rows = tiff_write_rows;
    out->next_page = tiff_next_page;
    out->finish = tiff_finish;
    out->abort = tiff_abort;
    return 0;
}
