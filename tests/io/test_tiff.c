/* test_tiff.c: the TIFF codec through the public reader/writer API.
 *
 * Round trips of every dtype x channel count x compression written by us;
 * multi-page, BigTIFF and metadata; files written by ImageMagick, libvips
 * and PIL (tests/fixtures/tiff, made by tools/make_io_fixtures_tiff.sh)
 * compared against raw reference pixels; variants written here with libtiff
 * directly (min-is-white, YCbCr JPEG, planar float tiles, doubles, complex);
 * the microscopy stacks in ../shared; and bad input.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <tiffio.h>

#include "srgan/image.h"
#include "testlib.h"

/* ---- helpers --------------------------------------------------------------- */

static const char *tmp_path(const char *name)
{
    static char buf[4096];
    const char *dir = TEST_TMPDIR();
    mkdir(dir, 0777);
    snprintf(buf, sizeof buf, "%s/tiff_%s", dir, name);
    return buf;
}

static const char *fixture(const char *name)
{
    static char buf[4096];
    snprintf(buf, sizeof buf, "%s/tests/fixtures/tiff/%s", TEST_SRCDIR(), name);
    return buf;
}

/* Raw little-endian reference samples -> host order. */
static void *load_raw(const char *name, size_t bytes, int sample_size)
{
    FILE *f = fopen(fixture(name), "rb");
    if (!f)
        return NULL;
    uint8_t *b = malloc(bytes);
    size_t got = fread(b, 1, bytes, f);
    fclose(f);
    if (got != bytes) {
        free(b);
        return NULL;
    }
    for (size_t i = 0; i + (size_t)sample_size <= bytes && sample_size > 1; i += (size_t)sample_size) {
        uint32_t v = 0;
        for (int k = sample_size - 1; k >= 0; k--)
            v = v << 8 | b[i + (size_t)k];
        memcpy(b + i, sample_size == 2 ? (void *)&(uint16_t){(uint16_t)v} : (void *)&v,
               (size_t)sample_size);
    }
    return b;
}

/* Read the rest of the current page (a few rows per call, to exercise
 * partial reads). NULL on error (err filled). */
static void *read_page(sr_reader *r, sr_error *err)
{
    const sr_image_info *in = sr_reader_info(r);
    size_t rb = sr_row_bytes(in);
    uint8_t *buf = malloc(rb * (size_t)in->height);
    for (int y = 0; y < in->height;) {
        int n = in->height - y < 3 ? in->height - y : 3;
        if (sr_reader_read_rows(r, buf + rb * (size_t)y, n, err)) {
            free(buf);
            return NULL;
        }
        y += n;
    }
    return buf;
}

static void *read_file(const char *path, sr_image_info *info, sr_error *err)
{
    sr_reader *r = sr_reader_open(path, NULL, err);
    if (!r)
        return NULL;
    *info = *sr_reader_info(r);
    void *px = read_page(r, err);
    info->meta = (sr_meta){0}; /* pointers die with the reader */
    sr_reader_close(r);
    return px;
}

static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

static void fill_pattern(void *buf, sr_dtype t, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t v = lcg(&seed);
        if (t == SR_U8)
            ((uint8_t *)buf)[i] = (uint8_t)(i < 2 ? 255 * i : v);
        else if (t == SR_U16)
            ((uint16_t *)buf)[i] = (uint16_t)(i < 2 ? 65535 * i : v);
        else {
            static const float special[] = {0.0f, -0.0f, 1.0f, -3.5e-8f, 6.5e30f, 1e-40f};
            ((float *)buf)[i] = i < 6 ? special[i] : ((float)(v % 200001) - 100000.0f) / 977.0f;
        }
    }
}

static int write_file(const char *path, const sr_image_info *info, const void *px,
                      const sr_write_opts *opts, sr_error *err)
{
    sr_writer *w = sr_writer_open(path, SR_FMT_TIFF, info, opts, err);
    if (!w)
        return -1;
    if (sr_writer_write_rows(w, px, info->height, err)) {
        sr_writer_abort(w);
        return -1;
    }
    return sr_writer_finish(w, err);
}

static sr_image_info make_info(int w, int h, int ch, sr_dtype t)
{
    sr_image_info i;
    memset(&i, 0, sizeof i);
    i.width = w, i.height = h, i.channels = ch, i.dtype = t, i.pages = 1;
    i.format = SR_FMT_TIFF;
    i.meta.srgb_intent = -1;
    return i;
}

/* Check err is a one-line "PATH: ..." message. */
static void check_error_line(const sr_error *err, const char *path)
{
    printf("  expected error: %s\n", err->msg);
    CHECK(err->code != SR_OK);
    CHECK_MSG(strncmp(err->msg, path, strlen(path)) == 0, "message '%s' does not name %s",
              err->msg, path);
    CHECK(strchr(err->msg, '\n') == NULL);
}

/* ---- round trips ------------------------------------------------------------ */

static void test_roundtrip_all(void)
{
    static const sr_tiff_compression comps[] = {SR_TIFF_DEFLATE, SR_TIFF_NONE, SR_TIFF_LZW,
                                                SR_TIFF_ZSTD};
    static const uint16_t tags[] = {COMPRESSION_ADOBE_DEFLATE, COMPRESSION_NONE, COMPRESSION_LZW,
                                    COMPRESSION_ZSTD};
    int n = 0;
    for (int t = 0; t < 3; t++)
        for (int ch = 1; ch <= 4; ch++)
            for (int c = 0; c < 4; c++) {
                if (comps[c] == SR_TIFF_ZSTD && !TIFFIsCODECConfigured(COMPRESSION_ZSTD))
                    continue;
                char name[64];
                snprintf(name, sizeof name, "rt_%d_%d_%d.tif", t, ch, c);
                const char *path = tmp_path(name);
                sr_image_info info = make_info(37, 23, ch, (sr_dtype)t);
                size_t bytes = sr_row_bytes(&info) * 23;
                void *px = malloc(bytes);
                fill_pattern(px, info.dtype, bytes / sr_dtype_size(info.dtype), (uint32_t)(t * 16 + ch * 4 + c));
                sr_write_opts wo = {0};
                wo.compression = comps[c];
                wo.overwrite = 1;
                sr_error err = {0};
                CHECK_MSG(write_file(path, &info, px, &wo, &err) == 0, "%s", err.msg);

                sr_image_info got;
                void *back = read_file(path, &got, &err);
                CHECK_MSG(back != NULL, "%s", err.msg);
                if (back) {
                    CHECK(got.width == 37 && got.height == 23 && got.channels == ch &&
                          got.dtype == info.dtype && got.pages == 1 && got.format == SR_FMT_TIFF);
                    CHECK_MSG(memcmp(back, px, bytes) == 0, "pixels differ: %s", name);
                }
                /* the file really uses the compression and predictor asked for */
                TIFF *tif = TIFFOpen(path, "r");
                CHECK(tif != NULL);
                if (tif) {
                    uint16_t comp = 0, pred = 1, photo = 0, extra_n = 0, *extra = NULL;
                    TIFFGetField(tif, TIFFTAG_COMPRESSION, &comp);
                    if (comps[c] != SR_TIFF_NONE)
                        TIFFGetFieldDefaulted(tif, TIFFTAG_PREDICTOR, &pred);
                    TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &photo);
                    TIFFGetFieldDefaulted(tif, TIFFTAG_EXTRASAMPLES, &extra_n, &extra);
                    CHECK(comp == tags[c]);
                    if (comps[c] != SR_TIFF_NONE) /* no predictor tag without a codec */
                        CHECK(pred == (t == SR_F32 ? 3 : 2));
                    CHECK(photo == (ch >= 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK));
                    CHECK(extra_n == (ch == 2 || ch == 4));
                    if (extra_n)
                        CHECK(extra[0] == EXTRASAMPLE_UNASSALPHA);
                    TIFFClose(tif);
                }
                free(back);
                free(px);
                remove(path);
                n++;
            }
    CHECK(n >= 36);
}

/* A wide image spans many strips; strips are sized 64 KiB .. 1 MiB. */
static void test_roundtrip_multistrip(void)
{
    const char *path = tmp_path("multistrip.tif");
    sr_image_info info = make_info(3001, 97, 4, SR_U16);
    size_t bytes = sr_row_bytes(&info) * 97;
    uint16_t *px = malloc(bytes);
    fill_pattern(px, SR_U16, bytes / 2, 7);
    sr_write_opts wo = {.overwrite = 1, .software = "test_tiff"};
    sr_error err = {0};
    CHECK_MSG(write_file(path, &info, px, &wo, &err) == 0, "%s", err.msg);
    TIFF *tif = TIFFOpen(path, "r");
    CHECK(tif != NULL);
    if (tif) {
        uint32_t rps = 0;
        TIFFGetField(tif, TIFFTAG_ROWSPERSTRIP, &rps);
        uint64_t strip = (uint64_t)rps * sr_row_bytes(&info);
        CHECK(TIFFNumberOfStrips(tif) > 5);
        CHECK(strip >= (64 << 10) && strip <= (1 << 20));
        TIFFClose(tif);
    }
    sr_image_info got;
    void *back = read_file(path, &got, &err);
    CHECK_MSG(back && memcmp(back, px, bytes) == 0, "%s", err.msg);
    free(back);
    free(px);
    remove(path);
}

static void test_multipage_u16(void)
{
    const char *path = tmp_path("pages.tif");
    const int sizes[3][2] = {{40, 30}, {20, 10}, {33, 7}};
    uint16_t *px[3];
    sr_error err = {0};
    sr_image_info info = make_info(40, 30, 1, SR_U16);
    info.pages = 3;
    sr_write_opts wo = {.overwrite = 1};
    sr_writer *w = sr_writer_open(path, SR_FMT_AUTO, &info, &wo, &err);
    CHECK_MSG(w != NULL, "%s", err.msg);
    if (!w)
        return;
    for (int p = 0; p < 3; p++) {
        info.width = sizes[p][0], info.height = sizes[p][1], info.page = p;
        size_t n = (size_t)info.width * info.height;
        px[p] = malloc(n * 2);
        fill_pattern(px[p], SR_U16, n, (uint32_t)(100 + p));
        if (p > 0)
            CHECK_MSG(sr_writer_next_page(w, &info, &err) == 0, "%s", err.msg);
        CHECK_MSG(sr_writer_write_rows(w, px[p], info.height, &err) == 0, "%s", err.msg);
    }
    CHECK_MSG(sr_writer_finish(w, &err) == 0, "%s", err.msg);

    sr_reader *r = sr_reader_open(path, NULL, &err);
    CHECK_MSG(r != NULL, "%s", err.msg);
    if (r) {
        CHECK(sr_reader_info(r)->pages == 3);
        for (int p = 0; p < 3; p++) {
            if (p > 0)
                CHECK(sr_reader_next_page(r, &err) == 1);
            const sr_image_info *in = sr_reader_info(r);
            CHECK(in->page == p && in->width == sizes[p][0] && in->height == sizes[p][1] &&
                  in->dtype == SR_U16 && in->channels == 1);
            void *back = read_page(r, &err);
            CHECK_MSG(back && memcmp(back, px[p], (size_t)in->width * in->height * 2) == 0,
                      "page %d %s", p, err.msg);
            free(back);
        }
        CHECK(sr_reader_next_page(r, &err) == 0);
        sr_reader_close(r);
    }
    TIFF *tif = TIFFOpen(path, "r");
    if (tif) {
        uint16_t pg = 9, total = 9;
        uint32_t sub = 0;
        TIFFSetDirectory(tif, 2);
        TIFFGetField(tif, TIFFTAG_PAGENUMBER, &pg, &total);
        TIFFGetField(tif, TIFFTAG_SUBFILETYPE, &sub);
        CHECK(pg == 2 && total == 3 && sub == FILETYPE_PAGE);
        TIFFClose(tif);
    }
    for (int p = 0; p < 3; p++)
        free(px[p]);
    remove(path);

    /* ImageMagick's 3-page file with a smaller middle page */
    sr_reader *im = sr_reader_open(fixture("gray16_im_3pages.tif"), NULL, &err);
    CHECK_MSG(im != NULL, "%s", err.msg);
    if (im) {
        uint16_t *ref = load_raw("ref_gray16.raw", 2400, 2);
        uint16_t *small = load_raw("ref_gray16_small.raw", 400, 2);
        CHECK(sr_reader_info(im)->pages == 3);
        uint16_t *p0 = read_page(im, &err);
        CHECK(p0 && ref && memcmp(p0, ref, 2400) == 0);
        CHECK(sr_reader_next_page(im, &err) == 1);
        CHECK(sr_reader_info(im)->width == 20 && sr_reader_info(im)->height == 10);
        uint16_t *p1 = read_page(im, &err);
        CHECK(p1 && small && memcmp(p1, small, 400) == 0);
        CHECK(sr_reader_next_page(im, &err) == 1);
        uint16_t *p2 = read_page(im, &err);
        int flip_ok = p2 && ref;
        for (int y = 0; flip_ok && y < 30; y++)
            flip_ok = memcmp(p2 + y * 40, ref + (29 - y) * 40, 80) == 0;
        CHECK(flip_ok);
        CHECK(sr_reader_next_page(im, &err) == 0);
        free(p0), free(p1), free(p2), free(ref), free(small);
        sr_reader_close(im);
    }
}

/* Uncompressed multi-page output must hold all pages' pixel data as one
 * contiguous block in page order: Fiji and tifffile read an uncompressed
 * ImageJ stack (tifffile also a "shaped" series) as pages x page bytes from
 * page 1's first strip, ignoring the later IFDs. Read the file that way and
 * compare with what was written; also page by page through libtiff. */
static void check_contiguous(const char *path, const void *const *px, int pages, size_t page_bytes,
                             int sample_size, int want_be, int want_big)
{
    TIFF *tif = TIFFOpen(path, "r");
    CHECK(tif != NULL);
    if (!tif)
        return;
    CHECK(TIFFIsBigEndian(tif) == want_be);
    CHECK(TIFFIsBigTIFF(tif) == want_big);
    uint64_t start = TIFFGetStrileOffset(tif, 0), cursor = start;
    int ndirs = 0, strips_ok = 1;
    uint64_t first_ifd = UINT64_MAX;
    do {
        uint64_t ifd = TIFFCurrentDirOffset(tif);
        if (ifd < first_ifd)
            first_ifd = ifd;
        uint16_t comp = 0;
        TIFFGetField(tif, TIFFTAG_COMPRESSION, &comp);
        CHECK(comp == COMPRESSION_NONE);
        /* every strip follows the previous page's last strip */
        for (uint32_t s = 0; s < TIFFNumberOfStrips(tif); s++) {
            if (TIFFGetStrileOffset(tif, s) != cursor)
                strips_ok = 0;
            cursor += TIFFGetStrileByteCount(tif, s);
        }
        /* and libtiff reads each page right */
        if (ndirs < pages) {
            uint8_t *back = malloc(page_bytes);
            tmsize_t got = 0, ss = TIFFStripSize(tif);
            for (uint32_t s = 0; back && s < TIFFNumberOfStrips(tif); s++) {
                tmsize_t n = TIFFReadEncodedStrip(tif, s, back + got, ss);
                got += n > 0 ? n : 0;
            }
            CHECK_MSG(back && (size_t)got == page_bytes && !memcmp(back, px[ndirs], page_bytes),
                      "%s: page %d through libtiff", path, ndirs + 1);
            free(back);
        }
        ndirs++;
    } while (TIFFReadDirectory(tif));
    TIFFClose(tif);
    CHECK(ndirs == pages);
    CHECK_MSG(strips_ok, "%s: strips are not one block in page order", path);
    CHECK_MSG(cursor == start + (uint64_t)pages * page_bytes && first_ifd >= cursor,
              "%s: an IFD lies inside the pixel data", path);

    /* what Fiji and tifffile do */
    FILE *f = fopen(path, "rb");
    uint8_t *blob = malloc((size_t)pages * page_bytes);
    int read_ok = f && blob && fseek(f, (long)start, SEEK_SET) == 0 &&
                  fread(blob, 1, (size_t)pages * page_bytes, f) == (size_t)pages * page_bytes;
    if (f)
        fclose(f);
    CHECK(read_ok);
    int host_be = 0;
    {
        const uint16_t one = 1;
        host_be = *(const uint8_t *)&one == 0;
    }
    for (int p = 0; read_ok && p < pages; p++) {
        uint8_t *pg = blob + (size_t)p * page_bytes;
        if (want_be != host_be) {
            if (sample_size == 2)
                TIFFSwabArrayOfShort((uint16_t *)(void *)pg, (tmsize_t)(page_bytes / 2));
            else if (sample_size == 4)
                TIFFSwabArrayOfLong((uint32_t *)(void *)pg, (tmsize_t)(page_bytes / 4));
        }
        CHECK_MSG(!memcmp(pg, px[p], page_bytes), "%s: page %d read as one block", path, p + 1);
    }
    free(blob);
}

static void test_uncompressed_contiguous(void)
{
    /* IJMetadata holding one Info string ("ok"), big-endian as Fiji writes
     * it: the writer then writes the whole file big-endian */
    static const uint8_t ij_be[] = {'I', 'J', 'I', 'J', 'i', 'n', 'f', 'o', 0, 0, 0, 1,
                                    0,   'o', 0,   'k'};
    static const uint32_t ij_counts[] = {12, 4};
    static const struct {
        const char *name;
        int w, h, pages;
        sr_dtype t;
        int be, big;
        const char *desc;
    } cases[] = {
        /* several strips per page (2000-byte rows, 256 KiB strips) */
        {"contig_ij_u16.tif", 1000, 300, 3, SR_U16, 0, 0, "ImageJ=1.11a\nimages=3\nslices=3\n"},
        {"contig_ij_f32_be.tif", 37, 23, 4, SR_F32, 1, 0, "ImageJ=1.11a\nimages=4\nslices=4\n"},
        {"contig_shaped_u8.tif", 19, 5, 3, SR_U8, 0, 0, "{\"shape\": [3, 5, 19]}"},
        {"contig_big_u16.tif", 50, 40, 2, SR_U16, 0, 1, "ImageJ=1.11a\nimages=2\nslices=2\n"},
        {"contig_single_u16.tif", 30, 20, 1, SR_U16, 0, 0, NULL},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const char *path = tmp_path(cases[c].name);
        sr_error err = {0};
        sr_image_info info = make_info(cases[c].w, cases[c].h, 1, cases[c].t);
        info.pages = cases[c].pages;
        info.meta.description = cases[c].desc;
        if (cases[c].be) {
            info.meta.ij_meta = ij_be, info.meta.ij_meta_len = sizeof ij_be;
            info.meta.ij_counts = ij_counts, info.meta.ij_counts_n = 2;
        }
        sr_write_opts wo = {.overwrite = 1, .compression = SR_TIFF_NONE,
                            .force_bigtiff = cases[c].big};
        const size_t ss = sr_dtype_size(cases[c].t);
        const size_t page_bytes = (size_t)cases[c].w * cases[c].h * ss;
        void *px[4] = {0};
        sr_writer *w = sr_writer_open(path, SR_FMT_TIFF, &info, &wo, &err);
        CHECK_MSG(w != NULL, "%s", err.msg);
        if (!w)
            continue;
        for (int p = 0; p < cases[c].pages; p++) {
            px[p] = malloc(page_bytes);
            fill_pattern(px[p], cases[c].t, page_bytes / ss, (uint32_t)(7 + 13 * p + c));
            info.page = p;
            if (p > 0)
                CHECK_MSG(sr_writer_next_page(w, &info, &err) == 0, "%s", err.msg);
            CHECK_MSG(sr_writer_write_rows(w, px[p], cases[c].h, &err) == 0, "%s", err.msg);
        }
        CHECK_MSG(sr_writer_finish(w, &err) == 0, "%s", err.msg);
        check_contiguous(path, (const void *const *)px, cases[c].pages, page_bytes, (int)ss,
                         cases[c].be, cases[c].big);
        /* the tags still arrive: description on every page, IJMetadata */
        TIFF *tif = TIFFOpen(path, "r");
        if (tif) {
            const char *d = NULL;
            TIFFGetField(tif, TIFFTAG_IMAGEDESCRIPTION, &d);
            CHECK(!cases[c].desc || (d && !strcmp(d, cases[c].desc)));
            if (cases[c].pages > 1) {
                uint16_t pg = 9, total = 9;
                TIFFSetDirectory(tif, (tdir_t)(cases[c].pages - 1));
                TIFFGetField(tif, TIFFTAG_PAGENUMBER, &pg, &total);
                CHECK(pg == cases[c].pages - 1 && total == cases[c].pages);
            }
            TIFFClose(tif);
        }
        for (int p = 0; p < 4; p++)
            free(px[p]);
        remove(path);
    }
}

static void test_bigtiff(void)
{
    const char *path = tmp_path("big.tif");
    sr_image_info info = make_info(50, 40, 3, SR_U16);
    size_t bytes = sr_row_bytes(&info) * 40;
    void *px = malloc(bytes);
    fill_pattern(px, SR_U16, bytes / 2, 3);
    sr_write_opts wo = {.overwrite = 1, .force_bigtiff = 1};
    sr_error err = {0};
    CHECK_MSG(write_file(path, &info, px, &wo, &err) == 0, "%s", err.msg);
    FILE *f = fopen(path, "rb");
    uint8_t magic[4] = {0};
    if (f) {
        CHECK(fread(magic, 1, 4, f) == 4);
        fclose(f);
    }
    CHECK(magic[2] == 43 || magic[3] == 43); /* BigTIFF version 43 */
    sr_image_info got;
    void *back = read_file(path, &got, &err);
    CHECK_MSG(back && memcmp(back, px, bytes) == 0, "%s", err.msg);
    free(back);
    /* without the option, a small file stays classic TIFF */
    wo.force_bigtiff = 0;
    CHECK(write_file(path, &info, px, &wo, &err) == 0);
    f = fopen(path, "rb");
    if (f) {
        CHECK(fread(magic, 1, 4, f) == 4);
        fclose(f);
    }
    CHECK(magic[2] == 42 || magic[3] == 42);
    free(px);
    remove(path);

    /* an output that could pass 4 GiB is BigTIFF by itself; libtiff writes
     * the header at open, so look at the temporary file and give up */
    sr_image_info huge = make_info(60000, 30000, 4, SR_U8); /* 7.2 GB raw */
    wo.force_bigtiff = 0;
    sr_writer *w = sr_writer_open(path, SR_FMT_TIFF, &huge, &wo, &err);
    CHECK_MSG(w != NULL, "%s", err.msg);
    if (w) {
        memset(magic, 0, sizeof magic);
        f = fopen(sr_writer_temp_path(w), "rb");
        if (f) {
            CHECK(fread(magic, 1, 4, f) == 4);
            fclose(f);
        }
        CHECK(magic[2] == 43 || magic[3] == 43);
        sr_writer_abort(w);
    }
    struct stat st;
    CHECK(stat(path, &st) != 0);
}

static void test_metadata(void)
{
    const char *path = tmp_path("meta.tif");
    sr_image_info info = make_info(16, 8, 3, SR_U8);
    uint8_t icc[300];
    for (int i = 0; i < 300; i++)
        icc[i] = (uint8_t)(i * 7);
    info.meta.icc = icc, info.meta.icc_len = sizeof icc;
    info.meta.res_unit = SR_RES_CM, info.meta.xres = 118.5, info.meta.yres = 59.25;
    info.meta.description = "ImageJ=1.53c\nunit=micron\nspacing=0.5\n";
    info.meta.orientation = 6;
    uint8_t px[16 * 8 * 3];
    fill_pattern(px, SR_U8, sizeof px, 9);
    sr_write_opts wo = {.overwrite = 1, .software = "srgan-up test"};
    sr_error err = {0};
    CHECK_MSG(write_file(path, &info, px, &wo, &err) == 0, "%s", err.msg);
    sr_reader *r = sr_reader_open(path, NULL, &err);
    CHECK_MSG(r != NULL, "%s", err.msg);
    if (r) {
        const sr_meta *m = &sr_reader_info(r)->meta;
        CHECK(m->res_unit == SR_RES_CM);
        CHECK_NEAR(m->xres, 118.5, 1e-4);
        CHECK_NEAR(m->yres, 59.25, 1e-4);
        CHECK(m->description && strcmp(m->description, info.meta.description) == 0);
        CHECK(m->software && strcmp(m->software, "srgan-up test") == 0);
        CHECK(m->icc_len == sizeof icc && m->icc && memcmp(m->icc, icc, sizeof icc) == 0);
        CHECK(m->orientation == 6);
        void *back = read_page(r, &err);
        CHECK(back && memcmp(back, px, sizeof px) == 0); /* stored as is, not rotated */
        free(back);
        sr_reader_close(r);
    }
    /* inch and aspect-only units; no resolution at all */
    const sr_res_unit units[] = {SR_RES_INCH, SR_RES_ASPECT, SR_RES_NONE};
    for (int u = 0; u < 3; u++) {
        info = make_info(4, 4, 1, SR_U8);
        info.meta.res_unit = units[u], info.meta.xres = 300, info.meta.yres = 150;
        CHECK(write_file(path, &info, px, &wo, &err) == 0);
        r = sr_reader_open(path, NULL, &err);
        CHECK(r != NULL);
        if (r) {
            const sr_meta *m = &sr_reader_info(r)->meta;
            CHECK(m->res_unit == units[u]);
            if (units[u] != SR_RES_NONE)
                CHECK(m->xres == 300 && m->yres == 150);
            CHECK(m->icc == NULL && m->description == NULL && m->orientation == 0);
            sr_reader_close(r);
        }
    }
    remove(path);
}

/* ---- files written by other tools ---------------------------------------------- */

typedef struct fixture_case {
    const char *file, *ref;
    int w, h, ch;
    sr_dtype t;
    int max_err; /* 0 = exact */
    int bits;
} fixture_case;

static void test_other_tools(void)
{
    static const fixture_case cases[] = {
        {"rgb8_im_strip.tif", "ref_rgb8.raw", 40, 30, 3, SR_U8, 0, 8},
        {"rgb8_im_tile16.tif", "ref_rgb8.raw", 40, 30, 3, SR_U8, 0, 8},
        {"rgb8_im_planar.tif", "ref_rgb8.raw", 40, 30, 3, SR_U8, 0, 8},
        {"rgb8_im_planar_tile.tif", "ref_rgb8.raw", 40, 30, 3, SR_U8, 0, 8},
        {"rgb8_vips_tile.tif", "ref_rgb8.raw", 40, 30, 3, SR_U8, 0, 8},
        {"rgba8_pil_deflate.tif", "ref_rgba8.raw", 40, 30, 4, SR_U8, 0, 8},
        {"rgba8_im_assoc.tif", "ref_rgba8.raw", 40, 30, 4, SR_U8, 1, 8},
        {"cmyk8_im.tif", "ref_rgb8.raw", 40, 30, 3, SR_U8, 2, 8},
        {"rgb8_im_jpeg.tif", "ref_rgb8.raw", 40, 30, 3, SR_U8, 80, 8},
        {"gray16_pil_lzw.tif", "ref_gray16.raw", 40, 30, 1, SR_U16, 0, 16},
        {"gray16_im_msb.tif", "ref_gray16.raw", 40, 30, 1, SR_U16, 0, 16},
        {"gray16_vips_bigtiff.tif", "ref_gray16.raw", 40, 30, 1, SR_U16, 0, 16},
        {"rgb16_im_msb_tile.tif", "ref_rgb16.raw", 40, 30, 3, SR_U16, 0, 16},
        {"grayf32_pil.tif", "ref_grayf32.raw", 40, 30, 1, SR_F32, 0, 32},
        {"grayf32_vips_pred3.tif", "ref_grayf32.raw", 40, 30, 1, SR_F32, 0, 32},
        {"bilevel_pil_g4.tif", "ref_bilevel.raw", 40, 30, 1, SR_U8, 0, 1},
        {"bilevel_im_g4.tif", "ref_bilevel.raw", 40, 30, 1, SR_U8, 0, 1},
        {"gray4_im.tif", "ref_gray4.raw", 40, 30, 1, SR_U8, 0, 4},
        {"pal8_pil.tif", "ref_pal.raw", 40, 30, 3, SR_U8, 0, 8},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const fixture_case *c = &cases[i];
        size_t ss = sr_dtype_size(c->t), n = (size_t)c->w * c->h * c->ch;
        void *ref = load_raw(c->ref, n * ss, (int)ss);
        CHECK_MSG(ref != NULL, "missing %s", c->ref);
        sr_error err = {0};
        sr_image_info info;
        void *px = read_file(fixture(c->file), &info, &err);
        CHECK_MSG(px != NULL, "%s", err.msg);
        if (!px || !ref) {
            free(px), free(ref);
            continue;
        }
        CHECK_MSG(info.width == c->w && info.height == c->h && info.channels == c->ch &&
                      info.dtype == c->t && info.bits == c->bits,
                  "%s: %dx%d ch %d dtype %d bits %d", c->file, info.width, info.height,
                  info.channels, info.dtype, info.bits);
        if (c->max_err == 0) {
            CHECK_MSG(memcmp(px, ref, n * ss) == 0, "%s differs from %s", c->file, c->ref);
        } else {
            double worst = 0, sum = 0;
            for (size_t k = 0; k < n; k++) {
                double a = c->t == SR_U8 ? ((uint8_t *)px)[k] : ((uint16_t *)px)[k];
                double b = c->t == SR_U8 ? ((uint8_t *)ref)[k] : ((uint16_t *)ref)[k];
                worst = fabs(a - b) > worst ? fabs(a - b) : worst;
                sum += fabs(a - b);
            }
            CHECK_MSG(worst <= c->max_err, "%s: max error %g", c->file, worst);
            if (c->max_err > 10) /* lossy JPEG: small on average */
                CHECK_MSG(sum / (double)n < 6, "%s: mean error %g", c->file, sum / (double)n);
        }
        free(px);
        free(ref);
    }
}

/* Tiled and planar files decode byte-identical to the strip version. */
static void test_tiled_equals_strip(void)
{
    sr_error err = {0};
    sr_image_info a, b;
    void *strip = read_file(fixture("rgb8_im_strip.tif"), &a, &err);
    const char *others[] = {"rgb8_im_tile16.tif", "rgb8_vips_tile.tif", "rgb8_im_planar.tif",
                            "rgb8_im_planar_tile.tif"};
    for (int i = 0; i < 4; i++) {
        void *px = read_file(fixture(others[i]), &b, &err);
        CHECK_MSG(strip && px && memcmp(strip, px, sr_row_bytes(&a) * 30) == 0, "%s", others[i]);
        free(px);
    }
    free(strip);
}

/* ---- variants written here with libtiff directly -------------------------------- */

typedef struct raw_spec {
    uint32_t w, h;
    uint16_t spp, bps, fmt, photo, planar, comp;
    uint32_t tile; /* 0 = strips of 5 rows */
    int extra;     /* ExtraSamples value, -1 = none */
} raw_spec;

/* Write samples (chunky, host order) with libtiff; planar splits them. */
static int libtiff_write(const char *path, const raw_spec *s, const void *data)
{
    TIFF *tif = TIFFOpen(path, "w");
    if (!tif)
        return -1;
    TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, s->w);
    TIFFSetField(tif, TIFFTAG_IMAGELENGTH, s->h);
    TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, s->spp);
    TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, s->bps);
    TIFFSetField(tif, TIFFTAG_SAMPLEFORMAT, s->fmt);
    TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, s->photo);
    TIFFSetField(tif, TIFFTAG_PLANARCONFIG, s->planar);
    TIFFSetField(tif, TIFFTAG_COMPRESSION, s->comp);
    if (s->extra >= 0) {
        uint16_t e = (uint16_t)s->extra;
        TIFFSetField(tif, TIFFTAG_EXTRASAMPLES, 1, &e);
    }
    if (s->comp == COMPRESSION_JPEG && s->photo == PHOTOMETRIC_YCBCR) {
        TIFFSetField(tif, TIFFTAG_JPEGQUALITY, 95);
        TIFFSetField(tif, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB); /* libtiff converts */
    }
    size_t ss = s->bps / 8, px = ss * s->spp;
    int nplanes = s->planar == PLANARCONFIG_SEPARATE ? s->spp : 1;
    size_t plane_px = nplanes > 1 ? ss : px;
    int ok = 1;
    if (s->tile) {
        TIFFSetField(tif, TIFFTAG_TILEWIDTH, s->tile);
        TIFFSetField(tif, TIFFTAG_TILELENGTH, s->tile);
        uint8_t *t = malloc((size_t)s->tile * s->tile * plane_px);
        for (int p = 0; p < nplanes; p++)
            for (uint32_t ty = 0; ty < s->h; ty += s->tile)
                for (uint32_t tx = 0; tx < s->w; tx += s->tile) {
                    memset(t, 0, (size_t)s->tile * s->tile * plane_px);
                    for (uint32_t y = 0; y < s->tile && ty + y < s->h; y++)
                        for (uint32_t x = 0; x < s->tile && tx + x < s->w; x++) {
                            const uint8_t *src = (const uint8_t *)data +
                                                 ((size_t)(ty + y) * s->w + tx + x) * px +
                                                 (nplanes > 1 ? (size_t)p * ss : 0);
                            memcpy(t + ((size_t)y * s->tile + x) * plane_px, src, plane_px);
                        }
                    ok &= TIFFWriteTile(tif, t, tx, ty, 0, (uint16_t)p) >= 0;
                }
        free(t);
    } else {
        TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, s->comp == COMPRESSION_JPEG ? 16 : 5);
        uint8_t *row = malloc(s->w * plane_px);
        for (int p = 0; p < nplanes; p++)
            for (uint32_t y = 0; y < s->h; y++) {
                for (uint32_t x = 0; x < s->w; x++)
                    memcpy(row + x * plane_px,
                           (const uint8_t *)data + ((size_t)y * s->w + x) * px +
                               (nplanes > 1 ? (size_t)p * ss : 0),
                           plane_px);
                ok &= TIFFWriteScanline(tif, row, y, (uint16_t)p) == 1;
            }
        free(row);
    }
    TIFFClose(tif);
    return ok ? 0 : -1;
}

static void test_libtiff_variants(void)
{
    sr_error err = {0};
    sr_image_info info;
    const char *path = tmp_path("variant.tif");
    enum { W = 45, H = 21 };

    /* min-is-white 8 and 16 bit come back inverted to min-is-black */
    uint8_t g8[W * H];
    uint16_t g16[W * H];
    fill_pattern(g8, SR_U8, W * H, 1);
    fill_pattern(g16, SR_U16, W * H, 2);
    raw_spec s = {W, H, 1, 8, SAMPLEFORMAT_UINT, PHOTOMETRIC_MINISWHITE, PLANARCONFIG_CONTIG,
                  COMPRESSION_LZW, 0, -1};
    CHECK(libtiff_write(path, &s, g8) == 0);
    uint8_t *p8 = read_file(path, &info, &err);
    int ok = p8 != NULL;
    for (int i = 0; ok && i < W * H; i++)
        ok = p8[i] == 255 - g8[i];
    CHECK_MSG(ok, "min-is-white 8-bit %s", err.msg);
    free(p8);
    s.bps = 16, s.tile = 16;
    CHECK(libtiff_write(path, &s, g16) == 0);
    uint16_t *p16 = read_file(path, &info, &err);
    ok = p16 != NULL;
    for (int i = 0; ok && i < W * H; i++)
        ok = p16[i] == 65535 - g16[i];
    CHECK_MSG(ok, "min-is-white 16-bit tiled %s", err.msg);
    free(p16);

    /* planar RGBA float in tiles (associated alpha = 1 leaves colors as is) */
    float *f = malloc(sizeof(float) * W * H * 4);
    fill_pattern(f, SR_F32, (size_t)W * H * 4, 5);
    for (int i = 0; i < W * H; i++)
        f[i * 4 + 3] = 0.25f * (float)(i % 4 + 1);
    s = (raw_spec){W, H, 4, 32, SAMPLEFORMAT_IEEEFP, PHOTOMETRIC_RGB, PLANARCONFIG_SEPARATE,
                   COMPRESSION_ADOBE_DEFLATE, 16, EXTRASAMPLE_UNASSALPHA};
    CHECK(libtiff_write(path, &s, f) == 0);
    float *pf = read_file(path, &info, &err);
    CHECK_MSG(pf && info.channels == 4 && info.dtype == SR_F32 &&
                  memcmp(pf, f, sizeof(float) * W * H * 4) == 0,
              "planar float tiles %s", err.msg);
    free(pf);
    /* the same as associated alpha: colors are divided by alpha */
    s.extra = EXTRASAMPLE_ASSOCALPHA, s.tile = 0;
    CHECK(libtiff_write(path, &s, f) == 0);
    pf = read_file(path, &info, &err);
    ok = pf != NULL;
    for (int i = 0; ok && i < W * H * 4; i++)
        ok = i % 4 == 3 ? pf[i] == f[i] : fabsf(pf[i] - f[i] / f[i - i % 4 + 3]) <= 1e-6f * fabsf(pf[i]) + 1e-30f;
    CHECK_MSG(ok, "associated alpha float %s", err.msg);
    free(pf);
    free(f);

    /* doubles are narrowed to float */
    double d[W * H];
    for (int i = 0; i < W * H; i++)
        d[i] = (i - 300) * 0.001;
    s = (raw_spec){W, H, 1, 64, SAMPLEFORMAT_IEEEFP, PHOTOMETRIC_MINISBLACK, PLANARCONFIG_CONTIG,
                   COMPRESSION_NONE, 0, -1};
    CHECK(libtiff_write(path, &s, d) == 0);
    pf = read_file(path, &info, &err);
    ok = pf && info.dtype == SR_F32 && info.bits == 64;
    for (int i = 0; ok && i < W * H; i++)
        ok = pf[i] == (float)d[i];
    CHECK_MSG(ok, "float64 %s", err.msg);
    free(pf);

    /* YCbCr JPEG (subsampled chroma) decodes to RGB close to the source */
    uint8_t *rgb = load_raw("ref_rgb8.raw", 3600, 1);
    if (rgb) {
        s = (raw_spec){40, 30, 3, 8, SAMPLEFORMAT_UINT, PHOTOMETRIC_YCBCR, PLANARCONFIG_CONTIG,
                       COMPRESSION_JPEG, 0, -1};
        CHECK(libtiff_write(path, &s, rgb) == 0);
        uint8_t *pj = read_file(path, &info, &err);
        CHECK_MSG(pj && info.channels == 3 && info.width == 40, "ycbcr jpeg %s", err.msg);
        double sum = 0;
        for (int i = 0; pj && i < 3600; i++)
            sum += abs(pj[i] - rgb[i]);
        CHECK_MSG(pj && sum / 3600 < 12, "ycbcr mean error %g", sum / 3600);
        free(pj);
        free(rgb);
    }

    /* complex samples: refused as unsupported, naming the file */
    float cx[W * H * 2];
    memset(cx, 0, sizeof cx);
    s = (raw_spec){W, H, 1, 64, SAMPLEFORMAT_COMPLEXIEEEFP, PHOTOMETRIC_MINISBLACK,
                   PLANARCONFIG_CONTIG, COMPRESSION_NONE, 0, -1};
    CHECK(libtiff_write(path, &s, cx) == 0);
    sr_error e2 = {0};
    sr_reader *r = sr_reader_open(path, NULL, &e2);
    CHECK(r == NULL && e2.code == SR_ERR_UNSUPPORTED && strstr(e2.msg, "complex"));
    check_error_line(&e2, path);
    sr_reader_close(r);
    remove(path);
}

/* ---- microscopy stacks in ../shared ------------------------------------------- */

static void test_shared_stacks(void)
{
    static const struct {
        const char *name;
        int pages, w, h;
    } stacks[] = {{"bbbc022_3ch.tif", 3, 695, 395},
                  {"imagej_stack_3.tif", 3, 300, 300},
                  {"mri_head_32z.tif", 32, 32, 32},
                  {"stardist_img3d_31z.tif", 31, 57, 61}};
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/data/micro/stacks", TEST_SHARED());
    struct stat st;
    if (stat(dir, &st) != 0) {
        printf("(shared stacks absent: %s)\n", dir);
        return;
    }
    for (size_t i = 0; i < sizeof stacks / sizeof stacks[0]; i++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", dir, stacks[i].name);
        sr_error err = {0};
        sr_reader *r = sr_reader_open(path, NULL, &err);
        CHECK_MSG(r != NULL, "%s", err.msg);
        if (!r)
            continue;
        const sr_image_info *in = sr_reader_info(r);
        CHECK_MSG(in->pages == stacks[i].pages, "%s: %d pages", stacks[i].name, in->pages);
        int pages = 0, nonzero = 0;
        do {
            CHECK(in->width == stacks[i].w && in->height == stacks[i].h &&
                  in->dtype == SR_U16 && in->channels == 1 && in->page == pages);
            uint16_t *px = read_page(r, &err);
            CHECK_MSG(px != NULL, "%s", err.msg);
            for (int k = 0; px && k < in->width * in->height; k++)
                nonzero += px[k] != 0;
            free(px);
            pages++;
        } while (sr_reader_next_page(r, &err) == 1);
        CHECK(err.code == SR_OK);
        CHECK(pages == stacks[i].pages);
        CHECK(nonzero > 0);
        sr_reader_close(r);
    }
    /* ImageJ calibration reaches the metadata */
    snprintf(dir + strlen(dir), sizeof dir - strlen(dir), "/imagej_stack_3.tif");
    sr_error err = {0};
    sr_reader *r = sr_reader_open(dir, NULL, &err);
    if (r) {
        const sr_meta *m = &sr_reader_info(r)->meta;
        CHECK(m->description && strstr(m->description, "unit=micron"));
        CHECK(m->res_unit == SR_RES_ASPECT);
        CHECK_NEAR(m->xres, 3.076923, 1e-5);
        sr_reader_close(r);
    }
}

/* ---- bad input ------------------------------------------------------------------ */

static void write_bytes(const char *path, const void *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(b, 1, n, f);
        fclose(f);
    }
}

/* Open and read every row of every page, one row at a time (a header may
 * claim gigabytes); returns 0 when all worked. */
static int read_everything(const char *path, sr_error *err)
{
    sr_reader *r = sr_reader_open(path, NULL, err);
    if (!r)
        return -1;
    int rc = 0;
    do {
        const sr_image_info *in = sr_reader_info(r);
        void *row = malloc(sr_row_bytes(in));
        for (int y = 0; y < in->height && rc == 0; y++)
            rc = sr_reader_read_rows(r, row, 1, err);
        free(row);
    } while (rc == 0 && (rc = sr_reader_next_page(r, err)) == 1);
    sr_reader_close(r);
    return rc < 0 ? -1 : 0;
}

/* A classic little-endian TIFF of one IFD with the given SHORT/LONG entries. */
static size_t craft_tiff(uint8_t *buf, const uint16_t (*e)[3], const uint32_t *vals, int n)
{
    size_t o = 0;
    memcpy(buf, "II*\0\x08\0\0\0", 8);
    o = 8;
    buf[o++] = (uint8_t)n, buf[o++] = 0;
    for (int i = 0; i < n; i++) {
        uint16_t tag = e[i][0], type = e[i][1];
        uint32_t v = vals[i];
        uint8_t ent[12] = {(uint8_t)tag, (uint8_t)(tag >> 8), (uint8_t)type, 0, 1, 0, 0, 0,
                           (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
        memcpy(buf + o, ent, 12);
        o += 12;
    }
    memset(buf + o, 0, 4); /* no next IFD */
    o += 4;
    for (int i = 0; i < 256; i++) /* some "pixel data" */
        buf[o++] = (uint8_t)(i * 31);
    return o;
}

static void test_bad_input(void)
{
    const char *path = tmp_path("bad.tif");
    char p[4096];
    snprintf(p, sizeof p, "%s", path);
    sr_error err = {0};

    write_bytes(p, "", 0);
    CHECK(sr_reader_open(p, NULL, &err) == NULL);
    check_error_line(&err, p);

    sr_error_clear(&err);
    write_bytes(p, "II*\0garbage-here-and-more", 25); /* TIFF magic, nonsense IFD offset */
    CHECK(read_everything(p, &err) != 0);
    check_error_line(&err, p);

    sr_error_clear(&err);
    write_bytes(p, "IX*\0\x08\0\0\0", 8); /* wrong magic */
    CHECK(sr_reader_open(p, NULL, &err) == NULL);
    check_error_line(&err, p);

    /* truncations: our file (IFD at the end) and PIL's (IFD first, data after) */
    const char *srcs[] = {NULL, "rgba8_pil_deflate.tif", "rgb8_im_tile16.tif", "rgb8_im_planar.tif"};
    for (int s = 0; s < 4; s++) {
        uint8_t *data = NULL;
        size_t len = 0;
        if (!srcs[s]) {
            sr_image_info info = make_info(64, 64, 3, SR_U8);
            uint8_t px[64 * 64 * 3];
            fill_pattern(px, SR_U8, sizeof px, 11);
            sr_write_opts wo = {.overwrite = 1};
            CHECK(write_file(p, &info, px, &wo, &err) == 0);
        }
        FILE *f = fopen(srcs[s] ? fixture(srcs[s]) : p, "rb");
        if (f) {
            data = malloc(1 << 20);
            len = fread(data, 1, 1 << 20, f);
            fclose(f);
        }
        CHECK(len > 100);
        /* what the intact file decodes to (first page) */
        sr_image_info full_info;
        sr_error e0 = {0};
        write_bytes(p, data, len);
        uint8_t *full = read_file(p, &full_info, &e0);
        CHECK_MSG(full != NULL, "%s", e0.msg);
        const double fracs[] = {0.02, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99};
        int failed = 0;
        for (int k = 0; k < 7 && data && full; k++) {
            size_t cut = (size_t)(fracs[k] * (double)len);
            write_bytes(p, data, cut);
            sr_error_clear(&err);
            sr_image_info ti;
            uint8_t *px = read_file(p, &ti, &err);
            if (px) {
                /* only a tag value past the pixels was cut: pixels must be intact */
                CHECK_MSG(ti.width == full_info.width && ti.height == full_info.height &&
                              memcmp(px, full, sr_row_bytes(&ti) * (size_t)ti.height) == 0,
                          "%s cut at %zu decoded to other pixels", srcs[s] ? srcs[s] : "ours",
                          cut);
                free(px);
            } else {
                check_error_line(&err, p);
                failed++;
            }
        }
        CHECK_MSG(failed >= 5, "%s: only %d of 7 truncations failed", srcs[s] ? srcs[s] : "ours",
                  failed);
        free(full);
        free(data);
    }

    /* header claims 100000 x 100000 (10 GB) with 256 bytes of data */
    uint8_t buf[1024];
    const uint16_t ent[][3] = {{256, 4}, {257, 4}, {258, 3}, {259, 3}, {262, 3},
                               {273, 4}, {277, 3}, {278, 4}, {279, 4}};
    uint32_t vals[] = {100000, 100000, 8, 1, 1, 130, 1, 100000, 4000000000u};
    size_t n = craft_tiff(buf, ent, vals, 9);
    write_bytes(p, buf, n);
    sr_error_clear(&err);
    CHECK(read_everything(p, &err) != 0);
    check_error_line(&err, p);
    /* the same, Deflate-compressed (one huge strip read scanline by scanline) */
    vals[3] = COMPRESSION_ADOBE_DEFLATE, vals[8] = 256;
    n = craft_tiff(buf, ent, vals, 9);
    write_bytes(p, buf, n);
    sr_error_clear(&err);
    CHECK(read_everything(p, &err) != 0);
    check_error_line(&err, p);
    /* tiles of 65536 x 65536: refused before allocating a row of tiles */
    const uint16_t tent[][3] = {{256, 4}, {257, 4}, {258, 3}, {259, 3}, {262, 3},
                                {277, 3}, {322, 4}, {323, 4}, {324, 4}, {325, 4}};
    uint32_t tvals[] = {100000, 100000, 8, 1, 1, 1, 65536, 65536, 160, 256};
    n = craft_tiff(buf, tent, tvals, 10);
    write_bytes(p, buf, n);
    sr_error_clear(&err);
    CHECK(read_everything(p, &err) != 0);
    check_error_line(&err, p);

    /* signed 32-bit integers (PIL mode I) are read as int32 (issue 13) */
    sr_error_clear(&err);
    sr_image_info ii;
    void *i32 = read_file(fixture("int32_pil.tif"), &ii, &err);
    CHECK_MSG(i32 && ii.dtype == SR_I32 && ii.bits == 32 && ii.channels == 1, "int32: %s", err.msg);
    free(i32);
    remove(p);
}


/* ---- sample types and extra samples (issue 13) --------------------------------- */

static const char *tt_fixture(const char *name)
{
    static char buf[4096];
    snprintf(buf, sizeof buf, "%s/tests/fixtures/tifftypes/%s", TEST_SRCDIR(), name);
    return buf;
}

/* The formulas of tools/make_tiff_type_fixtures.py (24 x 20). */
enum { TW = 24, TH = 20 };
static uint16_t tt_ch(int c, int x, int y)
{
    return c == 0 ? (uint16_t)(1000 + x * 100 + y * 7)
           : c == 1 ? (uint16_t)(x < TW / 2 ? 0 : 300 + y * 50)
                    : (uint16_t)((x * y) % 4000);
}
static long tt_lab(int x, int y) { return x / 6 + 4 * (y / 5); }

static void test_extra_samples(void)
{
    sr_error err = {0};
    sr_image_info info;
    /* unspecified extra samples are data: kept, not alpha, not premultiplied */
    static const struct { const char *file; int ch, data; } cases[] = {
        {"ch2_u16.tif", 2, 1}, {"ch3_u16_planar.tif", 3, 2}, {"gray_alpha_u16.tif", 2, 0}};
    for (int k = 0; k < 3; k++) {
        uint16_t *px = read_file(tt_fixture(cases[k].file), &info, &err);
        CHECK_MSG(px && info.channels == cases[k].ch && info.data_channels == cases[k].data &&
                      info.dtype == SR_U16 && info.width == TW && info.height == TH,
                  "%s: %s", cases[k].file, err.msg);
        CHECK_MSG(!px || sr_info_has_alpha(&info) == (cases[k].data == 0), "%s alpha",
                  cases[k].file);
        int ok = px != NULL;
        for (int y = 0; ok && y < TH; y++)
            for (int x = 0; ok && x < TW; x++)
                for (int c = 0; ok && c < info.channels; c++) {
                    uint16_t want = cases[k].data == 0 && c == 1 ? (x < TW / 2 ? 0 : 65535)
                                                                 : tt_ch(c, x, y);
                    ok = px[((size_t)y * TW + x) * info.channels + c] == want;
                }
        CHECK_MSG(ok, "%s: samples differ", cases[k].file);
        free(px);
    }

    /* written back: same samples, same ExtraSamples, data channels not alpha */
    const char *path = tmp_path("data_channels.tif");
    sr_image_info wi = make_info(TW, TH, 3, SR_I16);
    wi.data_channels = 2;
    int16_t v[TW * TH * 3];
    for (int i = 0; i < TW * TH * 3; i++)
        v[i] = (int16_t)(i * 37 - 20000);
    sr_write_opts ow = {.overwrite = 1};
    CHECK(write_file(path, &wi, v, &ow, &err) == 0);
    int16_t *back = read_file(path, &info, &err);
    CHECK_MSG(back && info.channels == 3 && info.data_channels == 2 && info.dtype == SR_I16 &&
                  memcmp(back, v, sizeof v) == 0,
              "int16 data channels round trip: %s", err.msg);
    free(back);
    TIFF *tif = TIFFOpen(path, "r");
    uint16_t n = 0, *types = NULL, fmt = 0, photo = 0;
    CHECK(tif && TIFFGetField(tif, TIFFTAG_EXTRASAMPLES, &n, &types) && n == 2 &&
          types[0] == EXTRASAMPLE_UNSPECIFIED && types[1] == EXTRASAMPLE_UNSPECIFIED);
    CHECK(tif && TIFFGetField(tif, TIFFTAG_SAMPLEFORMAT, &fmt) && fmt == SAMPLEFORMAT_INT);
    CHECK(tif && TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &photo) && photo == PHOTOMETRIC_MINISBLACK);
    if (tif)
        TIFFClose(tif);
    /* RGBA + a data channel: alpha first, then unspecified */
    wi = make_info(5, 4, 5, SR_U8);
    wi.data_channels = 1;
    uint8_t b8[5 * 4 * 5];
    fill_pattern(b8, SR_U8, sizeof b8, 3);
    CHECK(write_file(path, &wi, b8, &ow, &err) == 0);
    uint8_t *b8r = read_file(path, &info, &err);
    CHECK(b8r && info.channels == 5 && info.data_channels == 1 && sr_info_has_alpha(&info) &&
          memcmp(b8r, b8, sizeof b8) == 0);
    free(b8r);
    /* PNG and JPEG cannot hold data channels or signed samples: refused */
    const char *png = tmp_path("data_channels.png");
    wi = make_info(5, 4, 2, SR_U16);
    wi.data_channels = 1;
    sr_error e2 = {0};
    sr_write_opts wo = {.overwrite = 1};
    CHECK(sr_writer_open(png, SR_FMT_AUTO, &wi, &wo, &e2) == NULL &&
          e2.code == SR_ERR_UNSUPPORTED);
    check_error_line(&e2, png);
    wi = make_info(5, 4, 1, SR_I16);
    sr_error_clear(&e2);
    CHECK(sr_writer_open(png, SR_FMT_AUTO, &wi, &wo, &e2) == NULL &&
          e2.code == SR_ERR_UNSUPPORTED && strstr(e2.msg, "int16"));
    struct stat st;
    CHECK(stat(png, &st) != 0);
    remove(path);
}

static void test_sample_types(void)
{
    sr_error err = {0};
    sr_image_info info;
    int ok;
    /* signed 8 and 16-bit */
    int8_t *i8 = read_file(tt_fixture("i8.tif"), &info, &err);
    ok = i8 && info.dtype == SR_I8 && info.bits == 8;
    for (int y = 0; ok && y < TH; y++)
        for (int x = 0; ok && x < TW; x++)
            ok = i8[y * TW + x] == (x * 11 + y * 3) % 256 - 128;
    CHECK_MSG(ok, "int8: %s", err.msg);
    free(i8);
    int16_t *i16 = read_file(tt_fixture("i16.tif"), &info, &err);
    ok = i16 && info.dtype == SR_I16;
    for (int y = 0; ok && y < TH; y++)
        for (int x = 0; ok && x < TW; x++)
            ok = i16[y * TW + x] == (x * 2731 + y * 977) % 65536 - 32768;
    CHECK_MSG(ok, "int16: %s", err.msg);
    free(i16);
    /* 32-bit labels, values that a float would round */
    int32_t *l32 = read_file(tt_fixture("labels_i32.tif"), &info, &err);
    ok = l32 && info.dtype == SR_I32;
    for (int y = 0; ok && y < TH; y++)
        for (int x = 0; ok && x < TW; x++) {
            long l = tt_lab(x, y), want[4] = {l, -l - 1, l + (1 << 24) + 1, l + 2000000000};
            ok = l32[y * TW + x] == want[l % 4];
        }
    CHECK_MSG(ok, "int32 labels: %s", err.msg);
    free(l32);
    uint32_t *u32 = read_file(tt_fixture("labels_u32.tif"), &info, &err);
    ok = u32 && info.dtype == SR_U32;
    for (int y = 0; ok && y < TH; y++)
        for (int x = 0; ok && x < TW; x++) {
            uint32_t l = (uint32_t)tt_lab(x, y);
            uint32_t want[3] = {l, l + (1u << 24) + 1, 4294967295u - l};
            ok = u32[y * TW + x] == want[l % 3];
        }
    CHECK_MSG(ok, "uint32 labels: %s", err.msg);
    free(u32);
    /* float16 widened to float32 (subnormal and largest half included) */
    float *f = read_file(tt_fixture("f16.tif"), &info, &err);
    ok = f && info.dtype == SR_F32 && info.bits == 16;
    CHECK_MSG(ok && f[0] == 5.9604645e-8f && f[1] == 65504.0f, "float16 specials: %s", err.msg);
    for (int y = 0; ok && y < TH; y++)
        for (int x = 2; ok && x < TW; x++) {
            float want = (x - 12) * 0.25f + y * 1e-3f;
            ok = fabsf(f[y * TW + x] - want) <= fabsf(want) / 1024 + 1e-6f;
        }
    CHECK_MSG(ok, "float16 values");
    free(f);
    /* round trips of every new type through our writer */
    const char *path = tmp_path("types.tif");
    const sr_dtype types[] = {SR_I8, SR_I16, SR_U32, SR_I32};
    for (int k = 0; k < 4; k++) {
        sr_image_info wi = make_info(7, 5, 1, types[k]);
        uint8_t buf[7 * 5 * 4];
        fill_pattern(buf, SR_U8, sizeof buf, 17 + k);
        sr_write_opts ow = {.overwrite = 1};
        CHECK(write_file(path, &wi, buf, &ow, &err) == 0);
        void *back = read_file(path, &info, &err);
        CHECK_MSG(back && info.dtype == types[k] &&
                      memcmp(back, buf, 7 * 5 * sr_dtype_size(types[k])) == 0,
                  "%s round trip: %s", sr_dtype_name(types[k]), err.msg);
        free(back);
    }
    remove(path);
}

/* Multi-page files whose pages differ in type and size read page by page. */
static void test_mixed_pages(void)
{
    sr_error err = {0};
    sr_reader *r = sr_reader_open(tt_fixture("mixed_u16_f32.tif"), NULL, &err);
    CHECK_MSG(r != NULL, "%s", err.msg);
    if (!r)
        return;
    const sr_image_info *i = sr_reader_info(r);
    CHECK(i->pages == 2 && i->dtype == SR_U16 && i->width == TW);
    uint16_t *p0 = read_page(r, &err);
    CHECK(p0 && p0[0] == 1000);
    free(p0);
    CHECK(sr_reader_next_page(r, &err) == 1);
    CHECK(i->dtype == SR_F32 && i->width == 12 && i->height == 10);
    float *p1 = read_page(r, &err);
    CHECK(p1 && p1[11 + 9 * 12] == (float)(20 / 40.0));
    free(p1);
    sr_reader_close(r);
}

/* Write w x h samples of `bps` bits (MSB first, rows byte-aligned) with libtiff. */
static int write_packed(const char *path, int w, int h, int bps, const uint32_t *v)
{
    TIFF *tif = TIFFOpen(path, "w");
    if (!tif)
        return -1;
    TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, (uint32_t)w);
    TIFFSetField(tif, TIFFTAG_IMAGELENGTH, (uint32_t)h);
    TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, 1);
    TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, bps);
    TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
    TIFFSetField(tif, TIFFTAG_COMPRESSION, bps == 24 ? COMPRESSION_LZW : COMPRESSION_NONE);
    TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, 3);
    size_t rb = ((size_t)w * bps + 7) / 8;
    uint8_t *row = malloc(rb);
    int ok = 1;
    for (int y = 0; y < h; y++) {
        memset(row, 0, rb);
        if (bps == 24) { /* libtiff swaps 24-bit samples itself: host order in */
            for (int x = 0; x < w; x++) {
                uint32_t s = v[y * w + x];
                memcpy(row + 3 * x, &s, 3); /* little-endian host assumed (x86, arm) */
            }
        } else {
            for (int x = 0; x < w; x++)
                for (int b = 0; b < bps; b++)
                    if (v[y * w + x] >> (bps - 1 - b) & 1) {
                        size_t bit = (size_t)x * bps + b;
                        row[bit >> 3] |= (uint8_t)(0x80 >> (bit & 7));
                    }
        }
        ok &= TIFFWriteScanline(tif, row, (uint32_t)y, 0) == 1;
    }
    free(row);
    TIFFClose(tif);
    return ok ? 0 : -1;
}

static void test_bit_depths(void)
{
    const char *path = tmp_path("packed.tif");
    enum { W = 13, H = 7 }; /* odd width: rows end mid-byte */
    const int depths[] = {10, 12, 14, 24};
    for (int k = 0; k < 4; k++) {
        int bps = depths[k];
        uint32_t v[W * H];
        for (int i = 0; i < W * H; i++)
            v[i] = (uint32_t)(i * 2654435761u) & ((1u << bps) - 1);
        v[0] = (1u << bps) - 1, v[1] = 0;
        CHECK(write_packed(path, W, H, bps, v) == 0);
        sr_error err = {0};
        sr_image_info info;
        void *px = read_file(path, &info, &err);
        int ok = px && info.bits == bps && info.dtype == (bps == 24 ? SR_F32 : SR_U16);
        for (int i = 0; ok && i < W * H; i++)
            ok = bps == 24 ? ((float *)px)[i] == (float)v[i] : ((uint16_t *)px)[i] == v[i];
        CHECK_MSG(ok, "%d-bit samples: values not kept (%s)", bps, err.msg);
        free(px);
    }
    remove(path);
}


/* Uncompressed YCbCr with 2x2 chroma subsampling (libtiff's TIFFRGBAImage
 * path, as old-style JPEG): decodes to the RGB it was made from. */
static void test_ycbcr_uncompressed(void)
{
    const char *path = tmp_path("ycbcr_raw.tif");
    enum { W = 8, H = 6 };
    static const uint8_t colors[4][3] = {{200, 30, 40}, {20, 180, 60}, {90, 90, 220}, {250, 250, 250}};
    uint8_t rgb[W * H * 3];
    uint8_t data[(W / 2) * (H / 2) * 6];
    size_t o = 0;
    for (int by = 0; by < H / 2; by++)
        for (int bx = 0; bx < W / 2; bx++) {
            const uint8_t *c = colors[(bx + by) % 4];
            double Y = 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2];
            for (int k = 0; k < 4; k++) {
                int x = bx * 2 + k % 2, y = by * 2 + k / 2;
                memcpy(rgb + ((size_t)y * W + x) * 3, c, 3);
                data[o++] = (uint8_t)lround(Y);
            }
            data[o++] = (uint8_t)lround((c[2] - Y) / 1.772 + 128);
            data[o++] = (uint8_t)lround((c[0] - Y) / 1.402 + 128);
        }
    TIFF *tif = TIFFOpen(path, "w");
    CHECK(tif != NULL);
    if (!tif)
        return;
    float refbw[6] = {0, 255, 128, 255, 128, 255};
    TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, W);
    TIFFSetField(tif, TIFFTAG_IMAGELENGTH, H);
    TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, 3);
    TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, 8);
    TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_YCBCR);
    TIFFSetField(tif, TIFFTAG_YCBCRSUBSAMPLING, 2, 2);
    TIFFSetField(tif, TIFFTAG_REFERENCEBLACKWHITE, refbw);
    TIFFSetField(tif, TIFFTAG_COMPRESSION, COMPRESSION_NONE);
    TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, 4); /* two strips, the last one short */
    CHECK(TIFFWriteEncodedStrip(tif, 0, data, (tmsize_t)(W / 2) * 2 * 6) >= 0);
    CHECK(TIFFWriteEncodedStrip(tif, 1, data + (W / 2) * 2 * 6, (tmsize_t)(W / 2) * 1 * 6) >= 0);
    TIFFClose(tif);
    sr_error err = {0};
    sr_image_info info;
    uint8_t *px = read_file(path, &info, &err);
    CHECK_MSG(px && info.channels == 3 && info.dtype == SR_U8 && info.width == W &&
                  info.height == H,
              "uncompressed YCbCr: %s", err.msg);
    int worst = 0;
    for (int i = 0; px && i < W * H * 3; i++)
        if (abs(px[i] - rgb[i]) > worst)
            worst = abs(px[i] - rgb[i]);
    CHECK_MSG(px && worst <= 3, "uncompressed YCbCr: off by %d", worst);
    free(px);
    remove(path);
}


/* Old-style JPEG (compression 6), decoded through libtiff's TIFFRGBAImage. */
static void test_ojpeg(void)
{
    sr_error err = {0};
    sr_image_info info;
    uint8_t *px = read_file(tt_fixture("ojpeg_ycbcr420.tif"), &info, &err);
    CHECK_MSG(px && info.channels == 3 && info.dtype == SR_U8 && info.width == 24 &&
                  info.height == 16,
              "old-style JPEG: %s", err.msg);
    long sum = 0;
    int worst = 0;
    for (int y = 0; px && y < 16; y++)
        for (int x = 0; x < 24; x++)
            for (int c = 0; c < 3; c++) {
                int want = c == 0 ? x * 10 : c == 1 ? y * 15 : 128;
                int d = abs(px[(y * 24 + x) * 3 + c] - want);
                sum += d;
                worst = d > worst ? d : worst;
            }
    /* JPEG at quality 95 with 4:2:0 chroma: small errors, right orientation */
    CHECK_MSG(px && worst <= 16 && sum <= 6 * 24 * 16 * 3, "old-style JPEG: worst %d, mean %g",
              worst, sum / (24.0 * 16 * 3));
    free(px);
}

/* A writer given up on leaves no file behind, and an unfinished page is an error. */
static void test_writer_abort(void)
{
    const char *path = tmp_path("aborted.tif");
    char p[4096];
    snprintf(p, sizeof p, "%s", path);
    remove(p);
    sr_image_info info = make_info(10, 10, 1, SR_U8);
    sr_error err = {0};
    sr_writer *w = sr_writer_open(p, SR_FMT_TIFF, &info, NULL, &err);
    CHECK_MSG(w != NULL, "%s", err.msg);
    uint8_t row[10] = {0};
    if (w) {
        CHECK(sr_writer_write_rows(w, row, 1, &err) == 0);
        sr_writer_abort(w);
    }
    struct stat st;
    CHECK(stat(p, &st) != 0);
    w = sr_writer_open(p, SR_FMT_TIFF, &info, NULL, &err);
    if (w) {
        CHECK(sr_writer_write_rows(w, row, 1, &err) == 0);
        CHECK(sr_writer_finish(w, &err) != 0); /* 1 of 10 rows */
        check_error_line(&err, p);
    }
    CHECK(stat(p, &st) != 0);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0); /* keep messages in order with stderr */
    RUN(test_roundtrip_all);
    RUN(test_roundtrip_multistrip);
    RUN(test_multipage_u16);
    RUN(test_uncompressed_contiguous);
    RUN(test_bigtiff);
    RUN(test_metadata);
    RUN(test_other_tools);
    RUN(test_tiled_equals_strip);
    RUN(test_libtiff_variants);
    RUN(test_shared_stacks);
    RUN(test_bad_input);
    RUN(test_writer_abort);
    RUN(test_extra_samples);
    RUN(test_sample_types);
    RUN(test_mixed_pages);
    RUN(test_bit_depths);
    RUN(test_ycbcr_uncompressed);
    RUN(test_ojpeg);
    return testlib_summary();
}
