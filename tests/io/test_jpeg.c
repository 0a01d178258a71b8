/* test_jpeg.c: JPEG reading and writing through the public reader/writer API.
 *
 * - round trips (gray, RGB; alpha and 16-bit input converted) within a
 *   tolerance; quality and chroma subsampling read back from the file;
 * - EXIF orientations 1..8 (Pillow, big-endian EXIF; exiftool, little-endian)
 *   against the displayed picture, and unrotated with no_autorotate;
 * - CMYK (Adobe, inverted), progressive, 4:2:0, gray files by other tools;
 * - ICC profile and density round trips (also an ICC split over markers);
 * - the EXIF parser on its own, on synthetic and truncated segments;
 * - bad input: empty, wrong magic, truncated, 12-bit, huge SOF.
 * Fixtures: tests/fixtures/jpeg, made by tools/make_io_fixtures_pngjpeg.sh.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/exif.h"
#include "srgan/image.h"
#include "testlib.h"
#include "io_testutil.h"

/* ---- helpers --------------------------------------------------------- */

static char *tmp_path(const char *name)
{
    static char buf[8][1024];
    static int k;
    char *p = buf[k++ % 8];
    mkdir(TEST_TMPDIR(), 0777);
    snprintf(p, 1024, "%s/jpeg_%s", TEST_TMPDIR(), name);
    return p;
}

static char *fixture(const char *name)
{
    static char buf[4][1024];
    static int k;
    char *p = buf[k++ % 4];
    snprintf(p, 1024, "%s/tests/fixtures/jpeg/%s", TEST_SRCDIR(), name);
    return p;
}




/* Largest absolute difference between two 8-bit images of the same size. */
static int max_diff(const uint8_t *a, const uint8_t *b, size_t n)
{
    int m = 0;
    for (size_t i = 0; i < n; i++) {
        int d = abs((int)a[i] - (int)b[i]);
        if (d > m) m = d;
    }
    return m;
}

/* Smooth test picture (JPEG-friendly): gradients plus a slow wave. */
static uint8_t smooth(int x, int y, int c)
{
    double v = 40 + 2.5 * x + 1.5 * y + 30 * sin((x + 2 * y + 17 * c) * 0.15) + 20 * c;
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v + 0.5);
}

/* Find the SOF marker of a JPEG in memory; returns its offset or 0. */
static size_t find_sof(const uint8_t *d, size_t n)
{
    size_t i = 2;
    while (i + 4 <= n && d[i] == 0xFF) {
        uint8_t m = d[i + 1];
        size_t len = (size_t)d[i + 2] << 8 | d[i + 3];
        if (m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC) return i;
        i += 2 + len;
    }
    return 0;
}

/* ---- round trips ------------------------------------------------------ */

static void test_roundtrip_rgb_gray(void)
{
    const int W = 40, H = 24;
    for (int ch = 1; ch <= 3; ch += 2) {
        sr_image_info info = mkinfo(W, H, ch, SR_U8), got;
        sr_error err = {0};
        uint8_t *px = malloc((size_t)W * H * ch), *back;
        for (int y = 0, i = 0; y < H; y++)
            for (int x = 0; x < W; x++)
                for (int c = 0; c < ch; c++) px[i++] = smooth(x, y, c);
        const char *p = tmp_path(ch == 1 ? "rt_gray.jpg" : "rt_rgb.jpg");
        CHECK_MSG(write_all(p, &info, px, NULL, &err) == 0, "%s", err.msg);
        back = read_all(p, NULL, &got, &err);
        CHECK_MSG(back != NULL, "%s", err.msg);
        if (back) {
            CHECK(got.width == W && got.height == H && got.channels == ch && got.dtype == SR_U8);
            CHECK(got.format == SR_FMT_JPEG && got.bits == 8 && got.meta.orientation == 0);
            int md = max_diff(px, back, (size_t)W * H * ch);
            CHECK_MSG(md <= 6, "max diff %d at quality 95", md);
        }
        free(back);
        free(px);
    }
}

/* Quality 0 means 95; 4:4:4 at >= 90, 4:2:0 below; quality changes size. */
static void test_quality_and_subsampling(void)
{
    const int W = 64, H = 48;
    sr_image_info info = mkinfo(W, H, 3, SR_U8);
    sr_error err = {0};
    uint8_t *px = malloc((size_t)W * H * 3);
    for (int y = 0, i = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            for (int c = 0; c < 3; c++) px[i++] = (uint8_t)((smooth(x, y, c) + (x * y * 7 + c * 13) % 23) & 255);
    const int qs[4] = {0, 95, 90, 60};
    size_t len[4] = {0};
    uint8_t *d[4] = {0};
    for (int k = 0; k < 4; k++) {
        char name[32];
        snprintf(name, sizeof name, "q%d.jpg", qs[k]);
        const char *p = tmp_path(name);
        CHECK(write_all(p, &info, px, &(sr_write_opts){.quality = qs[k]}, &err) == 0);
        d[k] = slurp(p, &len[k]);
        size_t sof = d[k] ? find_sof(d[k], len[k]) : 0;
        CHECK(sof > 0);
        if (sof) {
            CHECK(d[k][sof + 1] == 0xC0 && d[k][sof + 9] == 3);    /* baseline, 3 comps */
            int luma = d[k][sof + 11];                               /* H<<4 | V of Y */
            CHECK_MSG(luma == (qs[k] == 60 ? 0x22 : 0x11), "q %d: Y sampling %02x", qs[k], luma);
            CHECK(d[k][sof + 14] == 0x11 && d[k][sof + 17] == 0x11);
        }
    }
    CHECK(len[0] == len[1] && d[0] && d[1] && memcmp(d[0], d[1], len[0]) == 0);
    CHECK(len[3] < len[2] && len[2] < len[1]);
    for (int k = 0; k < 4; k++) free(d[k]);
    sr_error_clear(&err);
    const char *p = tmp_path("q101.jpg");
    CHECK(write_all(p, &info, px, &(sr_write_opts){.quality = 101}, &err) != 0);
    CHECK(err.code == SR_ERR_ARG);
    CHECK(access(p, F_OK) != 0);
    free(px);
}

/* RGBA and 16-bit input: the writer stores 8-bit RGB / gray and says so. */
static void test_writer_converts_layout(void)
{
    const int W = 16, H = 8;
    sr_error err = {0};
    sr_image_info info = mkinfo(W, H, 4, SR_U16), got;
    uint16_t *px = malloc((size_t)W * H * 4 * 2);
    for (int y = 0, i = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            for (int c = 0; c < 4; c++) px[i++] = (uint16_t)(c == 3 ? 1000 : smooth(x, y, c) * 257);
    const char *p = tmp_path("rgba16.jpg");
    sr_writer *w = sr_writer_open(p, SR_FMT_JPEG, &info, &(sr_write_opts){.overwrite = 1}, &err);
    CHECK_MSG(w != NULL, "%s", err.msg);
    if (w) {
        const sr_image_info *st = sr_writer_stored_info(w);
        CHECK(st->channels == 3 && st->dtype == SR_U8);
        CHECK(sr_writer_write_rows(w, px, H, &err) == 0);
        CHECK(sr_writer_finish(w, &err) == 0);
        uint8_t *back = read_all(p, NULL, &got, &err);
        CHECK(back && got.channels == 3);
        int bad = 0;
        for (int i = 0; back && i < W * H; i++)
            for (int c = 0; c < 3; c++)
                if (abs((int)back[i * 3 + c] - (int)(px[i * 4 + c] / 257)) > 6) bad++;
        CHECK_MSG(bad == 0, "%d samples off", bad);
        free(back);
    }
    free(px);
    /* gray + alpha -> gray */
    info = mkinfo(W, H, 2, SR_U8);
    uint8_t ga[16 * 8 * 2];
    for (int i = 0; i < W * H; i++) { ga[2 * i] = (uint8_t)(100 + i % 7); ga[2 * i + 1] = 7; }
    p = tmp_path("ga.jpg");
    CHECK(write_all(p, &info, ga, NULL, &err) == 0);
    uint8_t *back = read_all(p, NULL, &got, &err);
    CHECK(back && got.channels == 1);
    for (int i = 0; back && i < W * H; i++) CHECK(abs((int)back[i] - (100 + i % 7)) <= 3);
    free(back);
}

/* ---- orientation ------------------------------------------------------ */

static uint8_t *read_png(const char *name, sr_image_info *info)
{
    sr_error err = {0};
    uint8_t *d = read_all(fixture(name), NULL, info, &err);
    CHECK_MSG(d != NULL, "%s", err.msg);
    return d;
}

static void check_orientation_file(const char *jpg, int o, const uint8_t *display,
                                   const sr_image_info *dinfo)
{
    char stored_name[64];
    sr_image_info sinfo, got;
    sr_error err = {0};
    snprintf(stored_name, sizeof stored_name, "orient_%d_stored.png", o);
    uint8_t *stored = read_png(stored_name, &sinfo);

    /* applied (the default) */
    uint8_t *d = read_all(fixture(jpg), NULL, &got, &err);
    CHECK_MSG(d != NULL, "%s: %s", jpg, err.msg);
    if (d && display) {
        CHECK_MSG(got.width == dinfo->width && got.height == dinfo->height, "%s: %dx%d", jpg,
                  got.width, got.height);
        CHECK(got.meta.orientation == 1);
        if (got.width == dinfo->width && got.height == dinfo->height) {
            int md = max_diff(d, display, sr_row_bytes(&got) * (size_t)got.height);
            CHECK_MSG(md <= 8, "%s: max diff %d from the displayed picture", jpg, md);
        }
    }
    free(d);

    /* not applied */
    sr_read_opts o_no = {.no_autorotate = 1};
    d = read_all(fixture(jpg), &o_no, &got, &err);
    CHECK_MSG(d != NULL, "%s: %s", jpg, err.msg);
    if (d && stored) {
        CHECK(got.width == sinfo.width && got.height == sinfo.height);
        CHECK_MSG(got.meta.orientation == o, "%s: orientation %d", jpg, got.meta.orientation);
        if (got.width == sinfo.width && got.height == sinfo.height) {
            int md = max_diff(d, stored, sr_row_bytes(&got) * (size_t)got.height);
            CHECK_MSG(md <= 8, "%s: max diff %d from the stored picture", jpg, md);
        }
    }
    free(d);
    free(stored);
}

static void test_exif_orientations(void)
{
    sr_image_info dinfo;
    uint8_t *display = read_png("orient_display.png", &dinfo);
    CHECK(display && dinfo.width == 24 && dinfo.height == 16 && dinfo.channels == 3);
    for (int o = 1; o <= 8; o++) {
        char name[32];
        snprintf(name, sizeof name, "orient_%d.jpg", o);
        check_orientation_file(name, o, display, &dinfo);
    }
    check_orientation_file("orient_5_le.jpg", 5, display, &dinfo);
    check_orientation_file("orient_6_le.jpg", 6, display, &dinfo);
    free(display);
}

/* Rotation needs the whole image: the pixel limit applies; and --verbose
 * says what was done. */
static void test_orientation_limit_and_verbose(void)
{
    sr_error err = {0};
    const char *p = fixture("orient_6.jpg");
    sr_read_opts o = {.max_pixels = 24 * 16 - 1};
    CHECK(sr_reader_open(p, &o, &err) == NULL);
    CHECK(err.code == SR_ERR_TOO_BIG);
    check_error_line(&err, p);
    o.no_autorotate = 1; /* streamed, no limit */
    CHECK(try_read(p, &o, &err) == 0 || (fprintf(stderr, "%s\n", err.msg), 0));
    sr_error_clear(&err);
    o.no_autorotate = 0;
    CHECK(try_read(fixture("orient_1.jpg"), &o, &err) == 0);

    /* capture stderr */
    const char *log = tmp_path("verbose.txt");
    fflush(stderr);
    int saved = dup(2);
    FILE *f = fopen(log, "w");
    if (!f || saved < 0) {
        CHECK(0);
        return;
    }
    dup2(fileno(f), 2);
    sr_reader *r = sr_reader_open(p, &(sr_read_opts){.verbose = 1}, &err);
    sr_reader_close(r);
    r = sr_reader_open(fixture("orient_1.jpg"), &(sr_read_opts){.verbose = 1}, &err);
    sr_reader_close(r);
    r = sr_reader_open(p, &(sr_read_opts){.verbose = 0}, &err);
    sr_reader_close(r);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    fclose(f);
    size_t n = 0;
    char *text = (char *)slurp(log, &n);
    char want[1200];
    snprintf(want, sizeof want, "%s: applied EXIF orientation 6\n", p);
    CHECK(text && n == strlen(want) && memcmp(text, want, n) == 0);
    free(text);
}

/* ---- other tools' files ----------------------------------------------- */

static void test_cmyk_adobe(void)
{
    /* the CMYK blocks written by Pillow (Adobe marker, inverted storage) */
    static const int cmyk[6][4] = {{0, 0, 0, 0}, {255, 0, 0, 0}, {0, 255, 0, 0},
                                   {0, 0, 255, 0}, {0, 0, 0, 128}, {64, 128, 192, 32}};
    sr_image_info info;
    sr_error err = {0};
    uint8_t *d = read_all(fixture("cmyk_pil.jpg"), NULL, &info, &err);
    CHECK_MSG(d != NULL, "%s", err.msg);
    if (!d) return;
    CHECK(info.width == 24 && info.height == 16 && info.channels == 3);
    int bad = 0;
    for (int y = 0; y < 16; y++)
        for (int x = 0; x < 24; x++) {
            const int *k = cmyk[(y / 8) * 3 + x / 8];
            for (int c = 0; c < 3; c++) {
                double want = (255.0 - k[c]) * (255.0 - k[3]) / 255.0;
                if (fabs(d[(y * 24 + x) * 3 + c] - want) > 6 && bad++ < 3)
                    fprintf(stderr, "cmyk (%d,%d,%d) = %d want %.1f\n", x, y, c, d[(y * 24 + x) * 3 + c], want);
            }
        }
    CHECK(bad == 0);
    free(d);
}

static void test_progressive_and_subsampled(void)
{
    sr_image_info dinfo, info;
    sr_error err = {0};
    uint8_t *display = read_png("orient_display.png", &dinfo);
    uint8_t *d = read_all(fixture("progressive_pil.jpg"), NULL, &info, &err);
    CHECK_MSG(d != NULL, "%s", err.msg);
    if (d && display) CHECK(max_diff(d, display, 24 * 16 * 3) <= 8);
    free(d);
    /* progressive is decoded whole inside libjpeg: the limit applies */
    CHECK(sr_reader_open(fixture("progressive_pil.jpg"), &(sr_read_opts){.max_pixels = 100}, &err) == NULL);
    CHECK(err.code == SR_ERR_TOO_BIG);
    sr_error_clear(&err);
    /* 4:2:0 from ImageMagick: block centres (edges blur in chroma) */
    d = read_all(fixture("ycbcr420_im.jpg"), NULL, &info, &err);
    CHECK_MSG(d != NULL, "%s", err.msg);
    if (d && display) {
        CHECK(info.channels == 3 && info.width == 24 && info.height == 16);
        for (int by = 0; by < 2; by++)
            for (int bx = 0; bx < 3; bx++)
                for (int c = 0; c < 3; c++) {
                    size_t i = ((size_t)(by * 8 + 4) * 24 + bx * 8 + 4) * 3 + c;
                    CHECK_MSG(abs((int)d[i] - (int)display[i]) <= 12, "block %d,%d c%d: %d vs %d",
                              bx, by, c, d[i], display[i]);
                }
    }
    free(d);
    /* gray files from libvips and (progressive) ImageMagick: red channel */
    const char *gray[2] = {"gray_vips.jpg", "gray_progressive_im.jpg"};
    for (int k = 0; k < 2; k++) {
        d = read_all(fixture(gray[k]), NULL, &info, &err);
        CHECK_MSG(d != NULL, "%s: %s", gray[k], err.msg);
        if (d && display) {
            CHECK(info.channels == 1 && info.width == 24 && info.height == 16);
            int md = 0;
            for (int i = 0; i < 24 * 16; i++) {
                int dd = abs((int)d[i] - (int)display[i * 3]);
                if (dd > md) md = dd;
            }
            CHECK_MSG(md <= 4, "%s: max diff %d", gray[k], md);
        }
        free(d);
    }
    free(display);
}

/* ---- metadata --------------------------------------------------------- */

static void test_icc_and_density(void)
{
    sr_error err = {0};
    size_t icc_len = 0;
    uint8_t *icc = slurp(fixture("srgb.icc"), &icc_len);
    const char *fx = fixture("icc_dpi_pil.jpg");
    sr_reader *r = sr_reader_open(fx, NULL, &err);
    CHECK_MSG(r != NULL, "%s", err.msg);
    if (r && icc) {
        const sr_meta *m = &sr_reader_info(r)->meta;
        CHECK(m->icc_len == icc_len && m->icc && memcmp(m->icc, icc, icc_len) == 0);
        CHECK(m->res_unit == SR_RES_INCH && m->xres == 300 && m->yres == 300);
    }
    sr_reader_close(r);

    /* our writer: a large profile spans several APP2 markers; density in cm */
    size_t big = 150000;
    uint8_t *prof = malloc(big);
    for (size_t i = 0; i < big; i++) prof[i] = (uint8_t)(i * 31 + (i >> 9));
    sr_image_info info = mkinfo(9, 9, 3, SR_U8);
    uint8_t px[9 * 9 * 3];
    memset(px, 128, sizeof px);
    info.meta.icc = prof;
    info.meta.icc_len = big;
    info.meta.res_unit = SR_RES_CM;
    info.meta.xres = 40;
    info.meta.yres = 80;
    const char *p = tmp_path("meta.jpg");
    CHECK(write_all(p, &info, px, NULL, &err) == 0);
    r = sr_reader_open(p, NULL, &err);
    CHECK_MSG(r != NULL, "%s", err.msg);
    if (r) {
        const sr_meta *m = &sr_reader_info(r)->meta;
        CHECK(m->icc_len == big && m->icc && memcmp(m->icc, prof, big) == 0);
        CHECK(m->res_unit == SR_RES_CM && m->xres == 40 && m->yres == 80);
    }
    sr_reader_close(r);
    free(prof);

    /* the sRGB profile, dpi */
    info.meta.icc = icc;
    info.meta.icc_len = icc_len;
    info.meta.res_unit = SR_RES_INCH;
    info.meta.xres = info.meta.yres = 72;
    CHECK(write_all(p, &info, px, NULL, &err) == 0);
    r = sr_reader_open(p, NULL, &err);
    if (r) {
        const sr_meta *m = &sr_reader_info(r)->meta;
        CHECK(m->icc_len == icc_len && memcmp(m->icc, icc, icc_len) == 0);
        CHECK(m->res_unit == SR_RES_INCH && m->xres == 72);
    }
    sr_reader_close(r);
    free(icc);
}

/* ---- EXIF parser ------------------------------------------------------ */

/* Build "Exif\0\0" + TIFF header + IFD0 with an unrelated tag and the
 * orientation tag (type, value) in the given byte order. */
static size_t make_exif(uint8_t *b, int big, unsigned type, unsigned value)
{
    size_t n = 0;
#define P16(v) do { unsigned v_ = (v); if (big) { b[n++] = (uint8_t)(v_ >> 8); b[n++] = (uint8_t)v_; } \
                    else { b[n++] = (uint8_t)v_; b[n++] = (uint8_t)(v_ >> 8); } } while (0)
#define P32(v) do { uint32_t w_ = (v); if (big) { P16(w_ >> 16); P16(w_ & 0xffff); } \
                    else { P16(w_ & 0xffff); P16(w_ >> 16); } } while (0)
    memcpy(b, "Exif\0\0", 6);
    n = 6;
    memcpy(b + n, big ? "MM\0*" : "II*\0", 4);
    n += 4;
    P32(8);
    P16(2);
    P16(0x010F); P16(2); P32(4); P32(0x41424300); /* Make, ASCII */
    P16(0x0112); P16(type); P32(1);
    if (type == 3) { P16(value); P16(0); } else P32(value);
    P32(0); /* next IFD */
    return n;
#undef P16
#undef P32
}

static void test_exif_parser(void)
{
    uint8_t b[64];
    for (int big = 0; big <= 1; big++) {
        for (unsigned o = 1; o <= 8; o++) {
            size_t n = make_exif(b, big, 3, o);
            CHECK(sr_exif_orientation(b, n) == (int)o);
        }
        size_t n = make_exif(b, big, 4, 6); /* LONG: tolerated */
        CHECK(sr_exif_orientation(b, n) == 6);
        n = make_exif(b, big, 3, 9); /* out of range */
        CHECK(sr_exif_orientation(b, n) == 0);
        n = make_exif(b, big, 3, 0);
        CHECK(sr_exif_orientation(b, n) == 0);
        n = make_exif(b, big, 3, 3);
        /* every truncation: no overread (ASan), no orientation unless the
         * orientation entry is complete (it ends at byte 6+8+2+24 = 40) */
        for (size_t k = 0; k < n; k++) {
            uint8_t *c = malloc(k ? k : 1);
            memcpy(c, b, k);
            int got = sr_exif_orientation(c, k);
            CHECK_MSG(got == (k >= 40 ? 3 : 0), "len %zu: %d", k, got);
            free(c);
        }
        /* entry count far beyond the data */
        uint8_t c[64];
        memcpy(c, b, n);
        c[big ? 14 : 15] = 0xff;
        CHECK(sr_exif_orientation(c, n) == 0);
        /* IFD offset pointing past the end, or into the header */
        memcpy(c, b, n);
        c[big ? 13 : 10] = 0x70;
        CHECK(sr_exif_orientation(c, n) == 0);
        memcpy(c, b, n);
        c[big ? 13 : 10] = 2;
        CHECK(sr_exif_orientation(c, n) == 0);
    }
    CHECK(sr_exif_orientation((const uint8_t *)"Exif\0\0XX*\0", 10) == 0);
    CHECK(sr_exif_orientation((const uint8_t *)"http://ns.adobe.com/xap/1.0/", 28) == 0);
    CHECK(sr_exif_orientation(NULL, 0) == 0);
}

/* ---- bad input -------------------------------------------------------- */

static uint8_t *noisy_jpeg(const char *name, size_t *len)
{
    const int W = 64, H = 64;
    sr_image_info info = mkinfo(W, H, 3, SR_U8);
    sr_error err = {0};
    uint8_t *px = malloc((size_t)W * H * 3);
    uint32_t s = 777;
    for (int i = 0; i < W * H * 3; i++) {
        s = s * 1103515245u + 12345u;
        px[i] = (uint8_t)(s >> 16);
    }
    const char *p = tmp_path(name);
    CHECK(write_all(p, &info, px, NULL, &err) == 0);
    free(px);
    return slurp(p, len);
}

static void test_empty_wrong_magic(void)
{
    sr_error err = {0};
    const char *p = tmp_path("empty.jpg");
    spit(p, "", 0);
    CHECK(sr_reader_open(p, NULL, &err) == NULL);
    check_error_line(&err, p);
    sr_error_clear(&err);
    p = tmp_path("magic.jpg");
    spit(p, "\xFF\xD9\xFFnot a jpeg", 13);
    CHECK(sr_reader_open(p, NULL, &err) == NULL);
    CHECK(err.code == SR_ERR_FORMAT);
    check_error_line(&err, p);
    sr_error_clear(&err);
    p = tmp_path("junk.jpg");
    spit(p, "\xFF\xD8\xFF\xE0\x00\x02\xFF\x00junkjunkjunk", 20);
    CHECK(sr_reader_open(p, NULL, &err) == NULL);
    check_error_line(&err, p);
}

static void test_truncated(void)
{
    size_t len = 0;
    sr_error err = {0};
    uint8_t *d = noisy_jpeg("full.jpg", &len);
    CHECK(d && len > 5000);
    if (!d) return;
    CHECK(try_read(tmp_path("full.jpg"), NULL, &err) == 0);
    const size_t cuts[] = {3, 4, 10, 30, 100, 200, 400, 700, 1000, len / 3, len / 2, len - 500, len - 10};
    for (size_t k = 0; k < sizeof cuts / sizeof cuts[0]; k++) {
        const char *p = tmp_path("trunc.jpg");
        spit(p, d, cuts[k]);
        sr_error_clear(&err);
        CHECK_MSG(try_read(p, NULL, &err) != 0, "cut at %zu of %zu read fine", cuts[k], len);
        check_error_line(&err, p);
        CHECK_MSG(err.code == SR_ERR_CORRUPT, "cut %zu: code %d: %s", cuts[k], (int)err.code, err.msg);
    }
    /* progressive, truncated: fails at open (libjpeg reads all scans then) */
    size_t plen = 0;
    uint8_t *pd = slurp(fixture("progressive_pil.jpg"), &plen);
    for (size_t cut = 200; pd && cut < plen - 2; cut += plen / 5) {
        const char *p = tmp_path("trunc_prog.jpg");
        spit(p, pd, cut);
        sr_error_clear(&err);
        CHECK_MSG(try_read(p, NULL, &err) != 0, "progressive cut at %zu read fine", cut);
        check_error_line(&err, p);
    }
    free(pd);
    free(d);
}

static void test_12bit_refused(void)
{
    size_t len = 0;
    sr_error err = {0};
    uint8_t *d = noisy_jpeg("for12.jpg", &len);
    size_t sof = d ? find_sof(d, len) : 0;
    CHECK(sof > 0);
    if (!sof) {
        free(d);
        return;
    }
    d[sof + 1] = 0xC1; /* extended sequential */
    d[sof + 4] = 12;   /* precision */
    const char *p = tmp_path("12bit.jpg");
    spit(p, d, len);
    CHECK(sr_reader_open(p, NULL, &err) == NULL);
    CHECK_MSG(err.code == SR_ERR_UNSUPPORTED, "code %d: %s", (int)err.code, err.msg);
    check_error_line(&err, p);
    free(d);
}

static long max_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* SOF claiming 65000 x 65000 (the format's ceiling is 65535): a baseline
 * file streams, so it opens and then runs out of data at once; progressive
 * or rotated it is refused from the header. No huge allocation either way. */
static void test_huge_sof(void)
{
    size_t len = 0;
    uint8_t *d = noisy_jpeg("forhuge.jpg", &len);
    size_t sof = d ? find_sof(d, len) : 0;
    CHECK(sof > 0);
    if (!sof) {
        free(d);
        return;
    }
    for (int variant = 0; variant < 2; variant++) {
        sr_error err = {0};
        d[sof + 5] = d[sof + 7] = 0xFD; /* 65000 = 0xFDE8 */
        d[sof + 6] = d[sof + 8] = 0xE8;
        if (variant == 1) d[sof + 1] = 0xC2; /* claims progressive */
        const char *p = tmp_path(variant ? "huge_prog.jpg" : "huge.jpg");
        spit(p, d, len);
        long before = max_rss_kb();
        sr_reader *r = sr_reader_open(p, NULL, &err);
        if (variant == 0) {
            CHECK_MSG(r != NULL, "%s", err.msg);
            if (r) {
                const sr_image_info *in = sr_reader_info(r);
                CHECK(in->width == 65000 && in->height == 65000);
                uint8_t *rows = malloc(sr_row_bytes(in) * 64);
                int rc = 0;
                for (int k = 0; k < 4 && rc == 0; k++) rc = sr_reader_read_rows(r, rows, 64, &err);
                CHECK(rc != 0);
                free(rows);
            }
            sr_reader_close(r);
        } else {
            CHECK(r == NULL);
            CHECK(err.code == SR_ERR_TOO_BIG);
        }
        check_error_line(&err, p);
        CHECK_MSG(max_rss_kb() - before < 128 * 1024, "RSS grew by %ld kB", max_rss_kb() - before);
    }
    free(d);
}

int main(void)
{
    RUN(test_roundtrip_rgb_gray);
    RUN(test_quality_and_subsampling);
    RUN(test_writer_converts_layout);
    RUN(test_exif_orientations);
    RUN(test_orientation_limit_and_verbose);
    RUN(test_cmyk_adobe);
    RUN(test_progressive_and_subsampled);
    RUN(test_icc_and_density);
    RUN(test_exif_parser);
    RUN(test_empty_wrong_magic);
    RUN(test_truncated);
    RUN(test_12bit_refused);
    RUN(test_huge_sof);
    return testlib_summary();
}
