/* tiff_write.c: streaming TIFF writer.
 *
 * Rows go to libtiff one scanline at a time (TIFFWriteScanline), which
 * compresses them into strips as they come, so memory is one strip of
 * compressed data plus a row. Strips hold about 256 KiB of raw samples.
 * Deflate with a horizontal (integers) or floating-point predictor is the
 * default. BigTIFF is chosen when the output could pass 4 GiB.
 *
 * Uncompressed output is laid out as ImageJ and tifffile write it: the
 * pixel data of all pages contiguous, in page order, right after the
 * header, and every IFD after the data. Fiji and tifffile read an
 * uncompressed ImageJ stack (and tifffile a "shaped" series) as one block
 * starting at page 1's first strip, so libtiff's usual layout (each page's
 * IFD between its data and the next page's) made them read page 2 onwards
 * from the wrong bytes. libtiff places strips only at the end of the file
 * and cannot be told strip offsets, so in that mode the rows go to the file
 * directly, the pages' tags are kept until the end, libtiff writes the IFDs
 * (with zero strip arrays) and the strip arrays are then filled in here.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
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
    /* uncompressed: contiguous data, IFDs at the end (see the top) */
    int raw;
    int fd;               /* libtiff's descriptor, for the rows */
    uint64_t data_end;    /* where the next row goes */
    struct raw_page *rp;  /* every page so far, tags kept for the end */
    int rp_n, rp_cap;
} tiff_writer;

/* A page of uncompressed output: its tags (meta deep-copied: the caller's
 * may be gone by the end) and where its pixel data start. */
typedef struct raw_page {
    sr_image_info info;
    uint64_t offset;
    uint32_t rps;
} raw_page;

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

static uint32_t page_rps(const sr_image_info *info)
{
    const size_t row_bytes = (size_t)info->width * info->channels * sr_dtype_size(info->dtype);
    size_t rps = STRIP_TARGET_BYTES / row_bytes;
    if (rps < 1)
        rps = 1;
    if (rps > (size_t)info->height)
        rps = (size_t)info->height;
    return (uint32_t)rps;
}

/* Set every tag of a page in libtiff's current directory. */
static int set_page_tags(tiff_writer *tw, const sr_image_info *info, sr_error *err)
{
    TIFF *tif = tw->tif;
    const int ch = info->channels;
    const int is_float = info->dtype == SR_F32;
    const int is_signed = info->dtype == SR_I8 || info->dtype == SR_I16 || info->dtype == SR_I32;
    const int color = sr_info_color_channels(info);
    const uint16_t bits = (uint16_t)(8 * sr_dtype_size(info->dtype));
    const uint16_t comp = compression_tag(tw->compression);
    const uint32_t rps = page_rps(info);

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
             TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, rps);
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
    return 0;
}

static void free_page_copy(sr_image_info *info)
{
    free((void *)info->meta.description);
    free((void *)info->meta.icc);
    free((void *)info->meta.ij_meta);
    free((void *)info->meta.ij_counts);
}

static void *dup_bytes(const void *p, size_t n, int *bad)
{
    if (!p || n == 0)
        return NULL;
    void *q = malloc(n);
    if (q)
        memcpy(q, p, n);
    else
        *bad = 1;
    return q;
}

/* Keep a page's tags for the IFDs written at the end (uncompressed). */
static int keep_page(tiff_writer *tw, const sr_image_info *info, sr_error *err)
{
    if (tw->rp_n == tw->rp_cap) {
        int cap = tw->rp_cap ? 2 * tw->rp_cap : 8;
        raw_page *rp = realloc(tw->rp, (size_t)cap * sizeof *rp);
        if (!rp) {
            sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", tw->path);
            return -1;
        }
        tw->rp = rp;
        tw->rp_cap = cap;
    }
    raw_page *pg = &tw->rp[tw->rp_n];
    memset(pg, 0, sizeof *pg);
    pg->info = *info;
    sr_meta *m = &pg->info.meta;
    const sr_meta *src = &info->meta;
    int bad = 0;
    m->exif = NULL; /* not a TIFF tag here; not kept */
    m->exif_len = 0;
    m->software = NULL;
    m->description = src->description ? dup_bytes(src->description,
                                                  strlen(src->description) + 1, &bad)
                                      : NULL;
    m->icc = dup_bytes(src->icc, src->icc_len, &bad);
    m->ij_meta = dup_bytes(src->ij_meta, src->ij_meta_len, &bad);
    m->ij_counts = dup_bytes(src->ij_counts, src->ij_counts_n * sizeof *src->ij_counts, &bad);
    if (bad) {
        free_page_copy(&pg->info);
        sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", tw->path);
        return -1;
    }
    pg->offset = tw->data_end;
    pg->rps = page_rps(info);
    tw->rp_n++;
    return 0;
}

/* Start a new page: tags now (compressed) or kept for the end (raw); rows
 * follow. */
static int set_page_fields(tiff_writer *tw, const sr_image_info *info, sr_error *err)
{
    const size_t row_bytes = (size_t)info->width * info->channels * sr_dtype_size(info->dtype);
    if (tw->raw ? keep_page(tw, info, err) : set_page_tags(tw, info, err))
        return -1;

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
    if (tw->raw)
        return 0; /* its IFD is written at the end */
    errno = 0;
    if (!TIFFWriteDirectory(tw->tif))
        return write_fail(tw, err, errno, "cannot write the TIFF directory");
    return 0;
}

static int pwrite_all(int fd, const uint8_t *p, size_t n, uint64_t off)
{
    while (n > 0) {
        ssize_t k = pwrite(fd, p, n, (off_t)off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            if (k == 0)
                errno = EIO;
            return -1;
        }
        p += k;
        n -= (size_t)k;
        off += (uint64_t)k;
    }
    return 0;
}

static int pread_all(int fd, uint8_t *p, size_t n, uint64_t off)
{
    while (n > 0) {
        ssize_t k = pread(fd, p, n, (off_t)off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
        off += (uint64_t)k;
    }
    return 0;
}

/* An uncompressed row straight to the file, in the file's byte order. */
static int raw_row(tiff_writer *tw, sr_error *err)
{
    const raw_page *pg = &tw->rp[tw->rp_n - 1];
    size_t n = tw->row_bytes / sr_dtype_size(pg->info.dtype);
    if (TIFFIsByteSwapped(tw->tif)) {
        switch (sr_dtype_size(pg->info.dtype)) {
        case 2: TIFFSwabArrayOfShort((uint16_t *)(void *)tw->scratch, (tmsize_t)n); break;
        case 4: TIFFSwabArrayOfLong((uint32_t *)(void *)tw->scratch, (tmsize_t)n); break;
        default: break;
        }
    }
    errno = 0;
    if (pwrite_all(tw->fd, tw->scratch, tw->row_bytes, tw->data_end))
        return write_fail(tw, err, errno, "cannot write image data");
    tw->data_end += tw->row_bytes;
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
        if (tw->raw) {
            if (raw_row(tw, err))
                return -1;
        } else {
            errno = 0;
            if (TIFFWriteScanline(tw->tif, tw->scratch, tw->row, 0) != 1)
                return write_fail(tw, err, errno, "cannot write image data");
        }
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
    for (int i = 0; i < tw->rp_n; i++)
        free_page_copy(&tw->rp[i].info);
    free(tw->rp);
    free(tw->scratch);
    free(tw->path);
    free(tw);
}

static uint64_t get_uint(const uint8_t *p, int n, int be)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v |= (uint64_t)p[be ? n - 1 - i : i] << (8 * i);
    return v;
}

static void put_uint(uint8_t *p, uint64_t v, int n, int be)
{
    for (int i = 0; i < n; i++)
        p[be ? n - 1 - i : i] = (uint8_t)(v >> (8 * i));
}

/* Fill in the strip arrays of the IFDs libtiff wrote (zeros: it never saw
 * the data): walk the IFD chain, and point each page's StripOffsets and
 * StripByteCounts entries at values in the file's largest offset type,
 * inline when they fit, else in arrays appended to the file. */
static int patch_strips(tiff_writer *tw, int fd, int big, int be, sr_error *err)
{
    const int osz = big ? 8 : 4;          /* offset / count field size */
    const int esz = big ? 20 : 12;        /* IFD entry size */
    const int nsz = big ? 8 : 2;          /* entry-count field size */
    struct stat st;
    uint8_t hdr[16];
    uint8_t *ents = NULL, *arr = NULL;
    if (fstat(fd, &st) || pread_all(fd, hdr, big ? 16 : 8, 0))
        goto io;
    uint64_t eof = (uint64_t)st.st_size;
    uint64_t ifd = get_uint(hdr + (big ? 8 : 4), osz, be);
    for (int k = 0; k < tw->rp_n; k++) {
        const raw_page *pg = &tw->rp[k];
        const uint64_t row_bytes = sr_row_bytes(&pg->info);
        const uint32_t nstrips = (uint32_t)((pg->info.height + pg->rps - 1) / pg->rps);
        uint8_t cnt[8];
        if (ifd == 0 || pread_all(fd, cnt, (size_t)nsz, ifd))
            goto bad;
        uint64_t n = get_uint(cnt, nsz, be);
        if (n == 0 || n > 4096)
            goto bad;
        free(ents);
        ents = malloc((size_t)n * esz + osz);
        if (!ents || pread_all(fd, ents, (size_t)n * esz + osz, ifd + nsz))
            goto io;
        int found = 0;
        for (uint64_t e = 0; e < n; e++) {
            uint8_t *ent = ents + e * esz;
            uint16_t tag = (uint16_t)get_uint(ent, 2, be);
            if (tag != TIFFTAG_STRIPOFFSETS && tag != TIFFTAG_STRIPBYTECOUNTS)
                continue;
            free(arr);
            arr = malloc((size_t)nstrips * osz);
            if (!arr)
                goto io;
            for (uint32_t s = 0; s < nstrips; s++) {
                uint64_t first = (uint64_t)s * pg->rps;
                uint64_t rows = pg->info.height - first < pg->rps ? pg->info.height - first : pg->rps;
                uint64_t v = tag == TIFFTAG_STRIPOFFSETS ? pg->offset + first * row_bytes
                                                         : rows * row_bytes;
                if (!big && v > UINT32_MAX)
                    goto bad;
                put_uint(arr + (size_t)s * osz, v, osz, be);
            }
            put_uint(ent + 2, big ? TIFF_LONG8 : TIFF_LONG, 2, be);
            put_uint(ent + 4, nstrips, osz, be);
            memset(ent + 4 + osz, 0, (size_t)osz);
            if ((uint64_t)nstrips * osz <= (uint64_t)osz) {
                memcpy(ent + 4 + osz, arr, (size_t)osz);
            } else {
                eof += eof & 1; /* TIFF values start on a word boundary */
                if (!big && eof + (uint64_t)nstrips * osz > UINT32_MAX)
                    goto bad;
                if (pwrite_all(fd, arr, (size_t)nstrips * osz, eof))
                    goto io;
                put_uint(ent + 4 + osz, eof, osz, be);
                eof += (uint64_t)nstrips * osz;
            }
            found++;
        }
        if (found != 2)
            goto bad;
        if (pwrite_all(fd, ents, (size_t)n * esz, ifd + nsz))
            goto io;
        ifd = get_uint(ents + n * esz, osz, be);
    }
    free(ents);
    free(arr);
    return 0;
io:
    free(ents);
    free(arr);
    return write_fail(tw, err, errno, "cannot write the TIFF directory");
bad:
    free(ents);
    free(arr);
    sr_error_set(err, SR_ERR_IO, "%s: cannot lay out the uncompressed TIFF directories", tw->path);
    return -1;
}

/* Uncompressed: every page's IFD after all the data, then their strips. */
static int raw_finish(tiff_writer *tw, sr_error *err)
{
    TIFF *tif = tw->tif;
    tw->pages = tw->rp_n;
    for (int k = 0; k < tw->rp_n; k++) {
        tw->page = k;
        if (set_page_tags(tw, &tw->rp[k].info, err))
            return -1;
        errno = 0;
        /* sets up the (zero) strip arrays, so the IFD has the entries */
        if (!TIFFWriteCheck(tif, 0, "TIFFWriteDirectory") || !TIFFWriteDirectory(tif))
            return write_fail(tw, err, errno, "cannot write the TIFF directory");
    }
    return 0;
}

static int tiff_finish(void *state, sr_error *err)
{
    tiff_writer *tw = state;
    int rc = end_page(tw, err);
    int big = TIFFIsBigTIFF(tw->tif), be = TIFFIsBigEndian(tw->tif);
    int fd = -1;
    if (rc == 0 && tw->raw) {
        rc = raw_finish(tw, err);
        /* the strips are filled in after libtiff is done with the file */
        if (rc == 0 && (fd = dup(tw->fd)) < 0)
            rc = write_fail(tw, err, errno, "cannot write the TIFF directory");
    }
    errno = 0;
    TIFFClose(tw->tif); /* closes the fd; flushes nothing more after the directory */
    int e = errno;
    tw->tif = NULL;
    if (rc == 0 && tw->ec.have)
        rc = write_fail(tw, err, e, "error while closing");
    if (fd >= 0) {
        if (rc == 0)
            rc = patch_strips(tw, fd, big, be, err);
        if (close(fd) && rc == 0)
            rc = write_fail(tw, err, errno, "error while closing");
    }
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
    tw->raw = tw->compression == SR_TIFF_NONE;

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
    if (tw->raw) {
        /* the pixel data start right after the header libtiff wrote */
        struct stat st;
        tw->fd = TIFFFileno(tw->tif);
        uint64_t hdr = big ? 16 : 8;
        tw->data_end = fstat(tw->fd, &st) == 0 && (uint64_t)st.st_size > hdr
                           ? (uint64_t)st.st_size : hdr;
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
