/* test_png.c: PNG reading and writing through the public reader/writer API.
 *
 * - round trips of every layout our writer produces (8/16-bit, 1..4
 *   channels, float written as 16-bit), compared exactly;
 * - files written by Pillow, ImageMagick and libvips (tests/fixtures/png,
 *   made by tools/make_io_fixtures_pngjpeg.sh) against the formulas they were
 *   generated from: 1/2/4/8/16-bit gray, GA, RGB, RGBA, palette with and
 *   without tRNS, colour-key tRNS, interlaced;
 * - metadata (iCCP, sRGB, gAMA, pHYs, Software);
 * - bad input: empty, wrong magic, truncated at many offsets, damaged data,
 *   a 100000x100000 header, all failing with one line naming the file.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

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
    snprintf(p, 1024, "%s/png_%s", TEST_TMPDIR(), name);
    return p;
}

static char *fixture(const char *name)
{
    static char buf[4][1024];
    static int k;
    char *p = buf[k++ % 4];
    snprintf(p, 1024, "%s/tests/fixtures/png/%s", TEST_SRCDIR(), name);
    return p;
}


static unsigned p8(int x, int y, int c) { return (unsigned)(x * 37 + y * 59 + c * 83 + 11) & 255u; }
static unsigned p16(int x, int y, int c) { return (unsigned)(x * 4099 + y * 9949 + c * 21011 + 1234) & 65535u; }



/* ---- round trips ------------------------------------------------------ */

static void roundtrip_one(int w, int h, int ch, sr_dtype t)
{
    char name[64];
    sr_image_info info = mkinfo(w, h, ch, t), got;
    sr_error err = {0};
    size_t n = (size_t)w * h * ch;
    void *data = malloc(n * sr_dtype_size(t));
    void *back;
    for (int y = 0, i = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < ch; c++, i++) {
                if (t == SR_U8) ((uint8_t *)data)[i] = (uint8_t)p8(x, y, c);
                else ((uint16_t *)data)[i] = (uint16_t)p16(x, y, c);
            }
    snprintf(name, sizeof name, "rt_%dx%d_%d_%d.png", w, h, ch, (int)t);
    const char *path = tmp_path(name);
    CHECK_MSG(write_all(path, &info, data, NULL, &err) == 0, "%s", err.msg);
    back = read_all(path, NULL, &got, &err);
    CHECK_MSG(back != NULL, "%s", err.msg);
    if (back) {
        CHECK(got.width == w && got.height == h && got.channels == ch && got.dtype == t);
        CHECK(got.bits == (t == SR_U8 ? 8 : 16));
        CHECK(got.format == SR_FMT_PNG && got.pages == 1);
        CHECK_MSG(memcmp(back, data, n * sr_dtype_size(t)) == 0, "%s differs", name);
    }
    free(back);
    free(data);
}

static void test_roundtrip_all_layouts(void)
{
    for (int ch = 1; ch <= 4; ch++) {
        roundtrip_one(7, 5, ch, SR_U8);
        roundtrip_one(7, 5, ch, SR_U16);
        roundtrip_one(1, 1, ch, SR_U8);
        roundtrip_one(61, 3, ch, SR_U16);
    }
}

/* Every 16-bit value survives (65536 values in a 256x256 image). */
static void test_roundtrip_16bit_every_value(void)
{
    sr_image_info info = mkinfo(256, 256, 1, SR_U16), got;
    sr_error err = {0};
    uint16_t *d = malloc(65536 * 2), *back;
    for (int i = 0; i < 65536; i++) d[i] = (uint16_t)(i * 40503u); /* a permutation */
    const char *path = tmp_path("all16.png");
    CHECK(write_all(path, &info, d, NULL, &err) == 0);
    back = read_all(path, NULL, &got, &err);
    CHECK(back && memcmp(back, d, 65536 * 2) == 0);
    free(back);
    free(d);
}

/* Float input: the PNG writer stores 16-bit and says so. */
static void test_float_written_as_16bit(void)
{
    sr_image_info info = mkinfo(5, 3, 3, SR_F32), got;
    sr_error err = {0};
    float d[45];
    for (int i = 0; i < 45; i++) d[i] = (float)i / 44.0f;
    d[0] = -0.5f; /* clamped */
    d[1] = 1.5f;
    const char *path = tmp_path("float.png");
    sr_writer *w = sr_writer_open(path, SR_FMT_PNG, &info, &(sr_write_opts){.overwrite = 1}, &err);
    CHECK_MSG(w != NULL, "%s", err.msg);
    if (!w) return;
    CHECK(sr_writer_stored_info(w)->dtype == SR_U16);
    CHECK(sr_writer_stored_info(w)->channels == 3);
    CHECK(sr_writer_write_rows(w, d, 3, &err) == 0);
    CHECK(sr_writer_finish(w, &err) == 0);
    uint16_t *back = read_all(path, NULL, &got, &err);
    CHECK(back && got.dtype == SR_U16 && got.channels == 3);
    if (back) {
        CHECK(back[0] == 0 && back[1] == 65535);
        for (int i = 2; i < 45; i++) CHECK_NEAR(back[i], (double)i / 44.0 * 65535.0, 0.5 + 1e-3);
    }
    free(back);
}

/* ---- files written by other tools ------------------------------------ */

typedef unsigned (*pixfn)(int x, int y, int c);

static unsigned f_gray1(int x, int y, int c) { (void)c; return (x + 2 * y) % 3 == 0 ? 255 : 0; }
static unsigned f_gray2(int x, int y, int c) { (void)c; return (unsigned)((x + y) % 4) * 85; }
static unsigned f_gray4(int x, int y, int c) { (void)c; return (unsigned)((x * 3 + y) % 16) * 17; }
static unsigned f_pal2(int x, int y, int c)
{
    static const unsigned pal[4][4] = {{255, 0, 0, 255}, {0, 255, 0, 128}, {0, 0, 255, 0}, {200, 100, 50, 64}};
    return pal[(x + y) % 4][c];
}
static unsigned f_pal4(int x, int y, int c)
{
    unsigned i = (unsigned)(x * 3 + y * 5) % 16;
    return c == 0 ? 16 * i : c == 1 ? 255 - 16 * i : 7 * i;
}
static unsigned f_gray8_trns(int x, int y, int c)
{
    if (c == 0) return p8(x, y, 0);
    return p8(x, y, 0) == p8(3, 2, 0) ? 0 : 255;
}
static unsigned f_rgb8_trns(int x, int y, int c)
{
    if (c < 3) return p8(x, y, c);
    return (p8(x, y, 0) == p8(1, 1, 0) && p8(x, y, 1) == p8(1, 1, 1) && p8(x, y, 2) == p8(1, 1, 2)) ? 0 : 255;
}

static void check_fixture(const char *name, int ch, sr_dtype t, int bits, pixfn f)
{
    sr_image_info info;
    sr_error err = {0};
    const char *path = fixture(name);
    void *d = read_all(path, NULL, &info, &err);
    CHECK_MSG(d != NULL, "%s: %s", name, err.msg);
    if (!d) return;
    CHECK_MSG(info.width == 7 && info.height == 5 && info.channels == ch && info.dtype == t &&
                  info.bits == bits,
              "%s: %dx%d ch %d dtype %d bits %d", name, info.width, info.height, info.channels,
              (int)info.dtype, info.bits);
    if (info.width == 7 && info.height == 5 && info.channels == ch && info.dtype == t) {
        int bad = 0;
        for (int y = 0, i = 0; y < 5; y++)
            for (int x = 0; x < 7; x++)
                for (int c = 0; c < ch; c++, i++) {
                    unsigned v = t == SR_U8 ? ((uint8_t *)d)[i] : ((uint16_t *)d)[i];
                    if (v != f(x, y, c) && bad++ < 3)
                        fprintf(stderr, "%s: (%d,%d,%d) = %u, want %u\n", name, x, y, c, v, f(x, y, c));
                }
        CHECK_MSG(bad == 0, "%s: %d samples differ", name, bad);
    }
    free(d);
}

static void test_fixtures_gray(void)
{
    check_fixture("gray1_pil.png", 1, SR_U8, 1, f_gray1);
    check_fixture("gray1_im.png", 1, SR_U8, 1, f_gray1);
    check_fixture("gray2_im.png", 1, SR_U8, 2, f_gray2);
    check_fixture("gray4_im.png", 1, SR_U8, 4, f_gray4);
    check_fixture("gray8_pil.png", 1, SR_U8, 8, p8);
    check_fixture("gray16_pil.png", 1, SR_U16, 16, p16);
    check_fixture("ga8_pil.png", 2, SR_U8, 8, p8);
    check_fixture("ga16_im.png", 2, SR_U16, 16, p16);
}

static void test_fixtures_color(void)
{
    check_fixture("rgb8_vips.png", 3, SR_U8, 8, p8);
    check_fixture("rgba8_pil.png", 4, SR_U8, 8, p8);
    check_fixture("rgb16_im.png", 3, SR_U16, 16, p16);
    check_fixture("rgba16_im.png", 4, SR_U16, 16, p16);
}

static void test_fixtures_palette_trns(void)
{
    check_fixture("pal2_trns_pil.png", 4, SR_U8, 2, f_pal2);
    check_fixture("pal4_pil.png", 3, SR_U8, 4, f_pal4);
    check_fixture("gray8_trns_pil.png", 2, SR_U8, 8, f_gray8_trns);
    check_fixture("rgb8_trns_pil.png", 4, SR_U8, 8, f_rgb8_trns);
}

static void test_fixtures_interlaced(void)
{
    check_fixture("rgb8_interlaced_im.png", 3, SR_U8, 8, p8);
    check_fixture("rgb16_interlaced_im.png", 3, SR_U16, 16, p16);
    check_fixture("gray1_interlaced_im.png", 1, SR_U8, 1, f_gray1);
}

/* Interlaced files are decoded whole, so the pixel limit applies to them,
 * and only to them. */
static void test_interlaced_max_pixels(void)
{
    sr_error err = {0};
    sr_read_opts o = {.max_pixels = 34}; /* the fixtures have 35 */
    const char *path = fixture("rgb8_interlaced_im.png");
    CHECK(sr_reader_open(path, &o, &err) == NULL);
    CHECK(err.code == SR_ERR_TOO_BIG);
    check_error_line(&err, path);
    sr_error_clear(&err);
    o.max_pixels = 35;
    CHECK(try_read(path, &o, &err) == 0);
    o.max_pixels = 34;
    CHECK(try_read(fixture("rgb8_vips.png"), &o, &err) == 0); /* streamed */
}

/* ---- metadata --------------------------------------------------------- */

static void test_meta_fixture(void)
{
    sr_error err = {0};
    size_t icc_len = 0;
    uint8_t *icc = slurp(fixture("srgb.icc"), &icc_len);
    const char *path = fixture("meta_pil.png");
    sr_reader *r = sr_reader_open(path, NULL, &err);
    CHECK_MSG(r != NULL, "%s", err.msg);
    CHECK(icc && icc_len > 128);
    if (r && icc) {
        const sr_meta *m = &sr_reader_info(r)->meta;
        CHECK(m->icc_len == icc_len && m->icc && memcmp(m->icc, icc, icc_len) == 0);
        CHECK(m->res_unit == SR_RES_CM);
        CHECK_NEAR(m->xres, 118.11, 1e-9); /* 11811 px/m = 300 dpi */
        CHECK_NEAR(m->yres, 59.06, 1e-9);  /*  5906 px/m = 150 dpi */
        CHECK_NEAR(m->gamma, 0.45455, 1e-9);
        CHECK(m->srgb_intent == -1);
    }
    sr_reader_close(r);
    /* and nothing where there is nothing */
    r = sr_reader_open(fixture("gray8_pil.png"), NULL, &err);
    CHECK(r != NULL);
    if (r) {
        const sr_meta *m = &sr_reader_info(r)->meta;
        CHECK(m->icc == NULL && m->icc_len == 0 && m->gamma == 0 && m->srgb_intent == -1 &&
              m->res_unit == SR_RES_NONE);
    }
    sr_reader_close(r);
    free(icc);
}

static sr_meta read_meta(const char *path, uint8_t **icc_copy)
{
    sr_error err = {0};
    sr_meta m;
    sr_default_meta(&m);
    sr_reader *r = sr_reader_open(path, NULL, &err);
    CHECK_MSG(r != NULL, "%s", err.msg);
    if (r) {
        m = sr_reader_info(r)->meta;
        *icc_copy = NULL;
        if (m.icc) {
            *icc_copy = malloc(m.icc_len);
            memcpy(*icc_copy, m.icc, m.icc_len);
            m.icc = *icc_copy;
        }
    }
    sr_reader_close(r);
    return m;
}

static void test_meta_roundtrip(void)
{
    sr_error err = {0};
    size_t icc_len = 0;
    uint8_t *icc = slurp(fixture("srgb.icc"), &icc_len), *copy = NULL;
    uint8_t px[7 * 5 * 3] = {0};
    sr_image_info info = mkinfo(7, 5, 3, SR_U8);

    /* iCCP + gAMA + pHYs in px/cm, Software */
    info.meta.icc = icc;
    info.meta.icc_len = icc_len;
    info.meta.gamma = 0.45455;
    info.meta.res_unit = SR_RES_CM;
    info.meta.xres = 40.0;
    info.meta.yres = 20.5;
    const char *p1 = tmp_path("meta1.png");
    CHECK(write_all(p1, &info, px, &(sr_write_opts){.software = "srgan-up test"}, &err) == 0);
    sr_meta m = read_meta(p1, &copy);
    CHECK(m.icc_len == icc_len && m.icc && memcmp(m.icc, icc, icc_len) == 0);
    CHECK_NEAR(m.gamma, 0.45455, 1e-9);
    CHECK(m.res_unit == SR_RES_CM);
    CHECK_NEAR(m.xres, 40.0, 1e-9);
    CHECK_NEAR(m.yres, 20.5, 1e-9);
    free(copy);
    size_t flen = 0;
    uint8_t *file = slurp(p1, &flen);
    int found = 0;
    for (size_t i = 0; file && i + 22 < flen; i++)
        if (!memcmp(file + i, "tEXtSoftware\0srgan-up test", 26)) found = 1;
    CHECK_MSG(found, "no Software tEXt chunk");
    free(file);

    /* sRGB intent, pHYs from dpi */
    info = mkinfo(7, 5, 3, SR_U8);
    info.meta.srgb_intent = 1;
    info.meta.res_unit = SR_RES_INCH;
    info.meta.xres = info.meta.yres = 300.0;
    const char *p2 = tmp_path("meta2.png");
    CHECK(write_all(p2, &info, px, NULL, &err) == 0);
    m = read_meta(p2, &copy);
    CHECK(m.srgb_intent == 1 && m.icc == NULL);
    CHECK(m.res_unit == SR_RES_CM);
    CHECK_NEAR(m.xres, 118.11, 1e-9); /* round(300 / 0.0254) = 11811 px/m */
    free(copy);

    /* aspect ratio only */
    info = mkinfo(7, 5, 3, SR_U8);
    info.meta.res_unit = SR_RES_ASPECT;
    info.meta.xres = 2;
    info.meta.yres = 3;
    const char *p3 = tmp_path("meta3.png");
    CHECK(write_all(p3, &info, px, NULL, &err) == 0);
    m = read_meta(p3, &copy);
    CHECK(m.res_unit == SR_RES_ASPECT && m.xres == 2 && m.yres == 3);
    CHECK(m.gamma == 0 && m.srgb_intent == -1);
    free(copy);

    /* an RGB profile cannot go on a gray PNG: left out, the write succeeds */
    info = mkinfo(7, 5, 2, SR_U8);
    info.meta.icc = icc;
    info.meta.icc_len = icc_len;
    info.meta.gamma = 0.5;
    const char *p4 = tmp_path("meta4.png");
    CHECK_MSG(write_all(p4, &info, px, NULL, &err) == 0, "%s", err.msg);
    m = read_meta(p4, &copy);
    CHECK(m.icc == NULL && m.icc_len == 0);
    CHECK_NEAR(m.gamma, 0.5, 1e-9);
    free(copy);
    free(icc);
}

/* ---- bad input -------------------------------------------------------- */

static uint32_t crc32_png(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
    }
    return c ^ 0xffffffffu;
}

static size_t put_chunk(uint8_t *out, const char *type, const uint8_t *data, uint32_t len)
{
    out[0] = (uint8_t)(len >> 24); out[1] = (uint8_t)(len >> 16);
    out[2] = (uint8_t)(len >> 8); out[3] = (uint8_t)len;
    memcpy(out + 4, type, 4);
    if (len) memcpy(out + 8, data, len);
    uint32_t c = crc32_png(out + 4, len + 4);
    out[8 + len] = (uint8_t)(c >> 24); out[9 + len] = (uint8_t)(c >> 16);
    out[10 + len] = (uint8_t)(c >> 8); out[11 + len] = (uint8_t)c;
    return 12 + len;
}

static void test_empty_and_wrong_magic(void)
{
    sr_error err = {0};
    const char *p = tmp_path("empty.png");
    spit(p, "", 0);
    CHECK(sr_reader_open(p, NULL, &err) == NULL);
    check_error_line(&err, p);

    sr_error_clear(&err);
    p = tmp_path("magic.png");
    spit(p, "\x89PNX\r\n\x1a\nhello, not a png at all", 30);
    CHECK(sr_reader_open(p, NULL, &err) == NULL);
    CHECK(err.code == SR_ERR_FORMAT);
    check_error_line(&err, p);

    /* right magic, then garbage */
    sr_error_clear(&err);
    p = tmp_path("garbage.png");
    spit(p, "\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDRxxxxxxxxxxxxxxxxxxxx", 37);
    CHECK(sr_reader_open(p, NULL, &err) == NULL);
    check_error_line(&err, p);
}

/* A noisy 64x64 RGB image (so the IDAT is large), cut at many offsets:
 * every cut must fail with one line, never hand out rows silently. */
static void test_truncated(void)
{
    sr_image_info info = mkinfo(64, 64, 3, SR_U8);
    sr_error err = {0};
    uint8_t *px = malloc(64 * 64 * 3);
    uint32_t s = 12345;
    for (int i = 0; i < 64 * 64 * 3; i++) {
        s = s * 1103515245u + 12345u;
        px[i] = (uint8_t)(s >> 16);
    }
    const char *full = tmp_path("trunc_full.png");
    CHECK(write_all(full, &info, px, NULL, &err) == 0);
    size_t len = 0;
    uint8_t *d = slurp(full, &len);
    CHECK(d && len > 64 * 64 * 3);
    CHECK(try_read(full, NULL, &err) == 0);
    /* cut: inside the signature, in IHDR, before IDAT, in IDAT, in the last
     * IDAT's CRC (len - 13; only IEND, len - 12, is not needed) */
    const size_t cuts[] = {1, 8, 12, 20, 33, 37, 41, 45, 100, 1000, len / 2, len - 200, len - 16, len - 13};
    for (size_t k = 0; d && k < sizeof cuts / sizeof cuts[0]; k++) {
        const char *p = tmp_path("trunc.png");
        spit(p, d, cuts[k]);
        sr_error_clear(&err);
        CHECK_MSG(try_read(p, NULL, &err) != 0, "cut at %zu of %zu read fine", cuts[k], len);
        check_error_line(&err, p);
        CHECK_MSG(err.code == SR_ERR_CORRUPT || err.code == SR_ERR_FORMAT, "cut %zu: code %d: %s",
                  cuts[k], (int)err.code, err.msg);
    }
    /* damaged IDAT (CRC mismatch) */
    if (d) {
        const char *p = tmp_path("damaged.png");
        d[len / 2] ^= 0x55;
        spit(p, d, len);
        sr_error_clear(&err);
        CHECK(try_read(p, NULL, &err) != 0);
        check_error_line(&err, p);
    }
    free(d);
    free(px);
}

static long max_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* 100000 x 100000 in a valid IHDR followed by a tiny IDAT: streamed, the
 * open may succeed but reading runs out of data at once, without a huge
 * allocation; interlaced, it is refused from the header. */
static void test_huge_header(void)
{
    for (int interlace = 0; interlace <= 1; interlace++) {
        uint8_t f[200];
        size_t n = 0;
        const uint8_t ihdr[13] = {0, 1, 0x86, 0xa0, 0, 1, 0x86, 0xa0, 8, 2, 0, 0, (uint8_t)interlace};
        const uint8_t idat[] = {0x78, 0x9c, 0x63, 0x60, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01};
        memcpy(f, "\x89PNG\r\n\x1a\n", 8);
        n = 8;
        n += put_chunk(f + n, "IHDR", ihdr, 13);
        n += put_chunk(f + n, "IDAT", idat, sizeof idat);
        n += put_chunk(f + n, "IEND", NULL, 0);
        const char *p = tmp_path(interlace ? "huge_i.png" : "huge.png");
        spit(p, f, n);
        sr_error err = {0};
        long before = max_rss_kb();
        sr_reader *r = sr_reader_open(p, NULL, &err);
        if (interlace) {
            CHECK(r == NULL);
            CHECK(err.code == SR_ERR_TOO_BIG);
        } else {
            CHECK_MSG(r != NULL, "%s", err.msg);
            if (r) {
                const sr_image_info *in = sr_reader_info(r);
                CHECK(in->width == 100000 && in->height == 100000);
                uint8_t *row = malloc(sr_row_bytes(in) * 2);
                CHECK(sr_reader_read_rows(r, row, 2, &err) != 0);
                free(row);
            }
            sr_reader_close(r);
        }
        check_error_line(&err, p);
        CHECK_MSG(max_rss_kb() - before < 64 * 1024, "RSS grew by %ld kB", max_rss_kb() - before);
    }
}

int main(void)
{
    RUN(test_roundtrip_all_layouts);
    RUN(test_roundtrip_16bit_every_value);
    RUN(test_float_written_as_16bit);
    RUN(test_fixtures_gray);
    RUN(test_fixtures_color);
    RUN(test_fixtures_palette_trns);
    RUN(test_fixtures_interlaced);
    RUN(test_interlaced_max_pixels);
    RUN(test_meta_fixture);
    RUN(test_meta_roundtrip);
    RUN(test_empty_and_wrong_magic);
    RUN(test_truncated);
    RUN(test_huge_header);
    return testlib_summary();
}
