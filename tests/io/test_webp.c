/* test_webp.c: WebP reading and writing through the public reader/writer API.
 *
 * - files written by libwebp's own tools (tests/fixtures/webp, made by
 *   tools/make_io_fixtures_webp.sh): lossless RGB and RGBA read exactly, ICC
 *   and EXIF chunks read byte for byte, an animation refused;
 * - round trips: lossless RGB/RGBA exact (RGB under transparent pixels too),
 *   gray stored as R = G = B, 16-bit and float stored as 8-bit, lossy close
 *   at quality 95 and smaller than lossless, ICC and EXIF written back;
 * - codec self-description: magic, extensions, --format names;
 * - bad input: empty, truncated at every offset, damaged data, a header over
 *   --max-pixels, an output larger than WebP can hold; each fails with one
 *   line naming the file and leaves no output behind.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "srgan/image.h"
#include "srgan/train.h"
#include "testlib.h"
#include "io_testutil.h"

static char *tmp_path(const char *name)
{
    static char buf[8][1024];
    static int k;
    char *p = buf[k++ % 8];
    mkdir(TEST_TMPDIR(), 0777);
    snprintf(p, 1024, "%s/webp_%s", TEST_TMPDIR(), name);
    return p;
}

static char *fixture(const char *name)
{
    static char buf[4][1024];
    static int k;
    char *p = buf[k++ % 4];
    snprintf(p, 1024, "%s/tests/fixtures/webp/%s", TEST_SRCDIR(), name);
    return p;
}

static unsigned p8(int x, int y, int c) { return (unsigned)(x * 37 + y * 59 + c * 83 + 11) & 255u; }

static void test_fixtures(void)
{
    static const struct { const char *name; int ch; } f[] = {
        {"rgb_lossless.webp", 3}, {"rgba_lossless.webp", 4}, {"rgb_icc_exif.webp", 3}};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        sr_image_info info;
        sr_error err = {0};
        uint8_t *d = read_all(fixture(f[i].name), NULL, &info, &err);
        CHECK_MSG(d != NULL, "%s: %s", f[i].name, err.msg);
        if (!d)
            continue;
        CHECK(info.width == 7 && info.height == 5 && info.channels == f[i].ch);
        CHECK(info.dtype == SR_U8 && info.format == SR_FMT_WEBP && info.pages == 1);
        int bad = 0;
        for (int y = 0; y < 5; y++)
            for (int x = 0; x < 7; x++)
                for (int c = 0; c < f[i].ch; c++)
                    bad += d[(y * 7 + x) * f[i].ch + c] != p8(x, y, c);
        CHECK_MSG(bad == 0, "%s: %d samples differ", f[i].name, bad);
        free(d);
    }
    /* Metadata chunks: the reader hands out the exact bytes. */
    size_t icc_len, exif_len;
    uint8_t *icc = slurp(fixture("icc.bin"), &icc_len), *exif = slurp(fixture("exif.bin"), &exif_len);
    sr_error err = {0};
    sr_reader *r = sr_reader_open(fixture("rgb_icc_exif.webp"), NULL, &err);
    CHECK(r != NULL);
    if (r && icc && exif) {
        const sr_meta *m = &sr_reader_info(r)->meta;
        CHECK(m->icc_len == icc_len && m->icc && !memcmp(m->icc, icc, icc_len));
        CHECK(m->exif_len == exif_len && m->exif && !memcmp(m->exif, exif, exif_len));
    }
    sr_reader_close(r);
    r = sr_reader_open(fixture("rgb_lossless.webp"), NULL, &err);
    CHECK(r && !sr_reader_info(r)->meta.icc && !sr_reader_info(r)->meta.exif);
    sr_reader_close(r);
    free(icc);
    free(exif);
}

static void test_animation_refused(void)
{
    sr_error err = {0};
    CHECK(try_read(fixture("anim.webp"), NULL, &err) != 0);
    check_error_line(&err, fixture("anim.webp"));
    CHECK(err.code == SR_ERR_UNSUPPORTED && strstr(err.msg, "animated"));
}

/* Write rows in the given layout, read back. */
static uint8_t *roundtrip(const char *name, sr_image_info *info, const void *data, const sr_write_opts *o,
                          sr_image_info *got)
{
    sr_error err = {0};
    const char *p = tmp_path(name);
    CHECK_MSG(write_all(p, info, data, o, &err) == 0, "%s: %s", name, err.msg);
    uint8_t *d = read_all(p, NULL, got, &err);
    CHECK_MSG(d != NULL, "%s: %s", name, err.msg);
    return d;
}

static void test_lossless_roundtrip(void)
{
    sr_write_opts o = {0};
    o.lossless = 1;
    for (int ch = 1; ch <= 4; ch++) {
        int w = 23, h = 17;
        sr_image_info info = mkinfo(w, h, ch, SR_U8), got;
        uint8_t *src = malloc((size_t)w * h * ch);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                for (int c = 0; c < ch; c++)
                    /* Some fully transparent pixels with colour underneath:
                     * lossless must keep that colour too. */
                    src[(y * w + x) * ch + c] =
                        (uint8_t)((ch == 2 || ch == 4) && c == ch - 1 && x < 3 ? 0 : p8(x, y, c));
        char name[32];
        snprintf(name, sizeof name, "ll%d.webp", ch);
        uint8_t *d = roundtrip(name, &info, src, &o, &got);
        int want_ch = ch == 1 ? 3 : ch == 2 ? 4 : ch; /* WebP has no gray: R = G = B */
        CHECK(got.channels == want_ch && got.width == w && got.height == h);
        int bad = 0;
        for (int i = 0; d && got.channels == want_ch && i < w * h; i++)
            for (int c = 0; c < want_ch; c++) {
                int sc = ch >= 3 ? c : (c < 3 ? 0 : 1);
                bad += d[i * want_ch + c] != src[i * ch + sc];
            }
        CHECK_MSG(bad == 0, "%d channels: %d samples differ", ch, bad);
        free(d);
        free(src);
    }
}

static void test_deep_input_stored_8bit(void)
{
    int w = 9, h = 4;
    sr_image_info info = mkinfo(w, h, 3, SR_U16), got;
    uint16_t *src = malloc(sizeof *src * w * h * 3);
    for (int i = 0; i < w * h * 3; i++)
        src[i] = (uint16_t)(p8(i, 0, 0) * 257);
    sr_write_opts o = {0};
    o.lossless = 1;
    uint8_t *d = roundtrip("u16.webp", &info, src, &o, &got);
    CHECK(got.dtype == SR_U8);
    int bad = 0;
    for (int i = 0; d && i < w * h * 3; i++)
        bad += d[i] != p8(i, 0, 0);
    CHECK_MSG(bad == 0, "16-bit to 8-bit: %d samples differ", bad);
    free(d);
    free(src);
}

static void test_lossy(void)
{
    int w = 64, h = 48;
    sr_image_info info = mkinfo(w, h, 3, SR_U8), got;
    uint8_t *src = malloc((size_t)w * h * 3);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++)
                src[(y * w + x) * 3 + c] = (uint8_t)(128 + 100 * sin(x * 0.2 + c) * cos(y * 0.15));
    sr_write_opts lossy = {0}, lossless = {0};
    lossy.quality = 95;
    lossless.lossless = 1;
    uint8_t *d = roundtrip("lossy.webp", &info, src, &lossy, &got);
    double se = 0;
    for (int i = 0; d && i < w * h * 3; i++)
        se += (d[i] - src[i]) * (double)(d[i] - src[i]);
    double psnr = 10 * log10(255.0 * 255.0 / (se / (w * h * 3) + 1e-12));
    CHECK_MSG(psnr > 35, "lossy q95 PSNR %.2f dB", psnr);
    free(d);
    free(roundtrip("lossless_big.webp", &info, src, &lossless, &got));
    size_t a, b;
    free(slurp(tmp_path("lossy.webp"), &a));
    free(slurp(tmp_path("lossless_big.webp"), &b));
    CHECK_MSG(a < b, "lossy %zu bytes, lossless %zu", a, b);
    /* Quality matters: q10 is smaller still. */
    lossy.quality = 10;
    free(roundtrip("q10.webp", &info, src, &lossy, &got));
    size_t c;
    free(slurp(tmp_path("q10.webp"), &c));
    CHECK_MSG(c < a, "q10 %zu bytes, q95 %zu", c, a);
    free(src);
}

static void test_meta_written(void)
{
    uint8_t icc[100], exif[40];
    for (int i = 0; i < 100; i++) icc[i] = (uint8_t)(i * 7);
    for (int i = 0; i < 40; i++) exif[i] = (uint8_t)(255 - i);
    sr_image_info info = mkinfo(5, 3, 4, SR_U8), got;
    info.meta.icc = icc;
    info.meta.icc_len = sizeof icc;
    info.meta.exif = exif;
    info.meta.exif_len = sizeof exif;
    uint8_t px[5 * 3 * 4];
    for (int i = 0; i < 60; i++) px[i] = (uint8_t)p8(i, 1, 2);
    sr_write_opts o = {0};
    o.lossless = 1;
    free(roundtrip("meta.webp", &info, px, &o, &got));
    sr_error err = {0};
    sr_reader *r = sr_reader_open(tmp_path("meta.webp"), NULL, &err);
    CHECK(r != NULL);
    if (r) {
        const sr_meta *m = &sr_reader_info(r)->meta;
        CHECK(m->icc_len == sizeof icc && !memcmp(m->icc, icc, sizeof icc));
        CHECK(m->exif_len == sizeof exif && !memcmp(m->exif, exif, sizeof exif));
    }
    sr_reader_close(r);
}

static void test_self_description(void)
{
    CHECK(sr_format_from_ext("a/b.WebP") == SR_FMT_WEBP);
    CHECK(sr_format_from_ext("x.jpe") == SR_FMT_JPEG);
    CHECK(sr_format_from_ext("x.TIFF") == SR_FMT_TIFF);
    CHECK(sr_format_from_ext("dir.png/noext") == SR_FMT_AUTO);
    CHECK(sr_format_from_name("webp") == SR_FMT_WEBP && sr_format_from_name("jpeg") == SR_FMT_JPEG &&
          sr_format_from_name("jpg") == SR_FMT_JPEG && sr_format_from_name("tiff") == SR_FMT_TIFF &&
          sr_format_from_name("gif") == SR_FMT_AUTO);
    CHECK(!strcmp(sr_format_name(SR_FMT_WEBP), "webp") && !strcmp(sr_format_name(SR_FMT_JPEG), "jpg"));
    CHECK(sr_is_image_name("x.webp") && sr_is_image_name("X.PNG") && !sr_is_image_name("x.txt") &&
          !sr_is_image_name("webp"));
    CHECK(sr_format_from_magic((const uint8_t *)"RIFF\x10\0\0\0WEBPVP8 ", 16) == SR_FMT_WEBP);
    CHECK(sr_format_from_magic((const uint8_t *)"RIFF\x10\0\0\0WAVEfmt ", 16) == SR_FMT_AUTO);
    char list[64];
    sr_format_list(list, sizeof list);
    CHECK_MSG(!strcmp(list, "png, jpg, tif, webp"), "list '%s'", list);
}

static void test_bad_input(void)
{
    sr_error err = {0};
    const char *p = tmp_path("bad.webp");
    size_t n;
    uint8_t *good = slurp(fixture("rgba_lossless.webp"), &n);
    CHECK(good != NULL);
    spit(p, "", 0);
    CHECK(try_read(p, NULL, &err) != 0);
    check_error_line(&err, p);
    /* Every truncation fails cleanly (or, when only trailing bytes are cut,
     * which RIFF tolerates, reads the right size). */
    for (size_t k = 1; good && k < n; k++) {
        spit(p, good, k);
        sr_error_clear(&err);
        if (try_read(p, NULL, &err) != 0)
            check_error_line(&err, p);
    }
    /* Damaged image data. */
    if (good && n > 40) {
        uint8_t *d = malloc(n);
        memcpy(d, good, n);
        for (size_t i = 30; i < n; i++) d[i] ^= 0x5A;
        spit(p, d, n);
        sr_error_clear(&err);
        if (try_read(p, NULL, &err) != 0)
            check_error_line(&err, p);
        free(d);
    }
    /* Over the pixel limit: refused from the header. */
    sr_read_opts o = {0};
    o.max_pixels = 20;
    sr_error_clear(&err);
    CHECK(try_read(fixture("rgb_lossless.webp"), &o, &err) != 0);
    check_error_line(&err, fixture("rgb_lossless.webp"));
    CHECK(err.code == SR_ERR_TOO_BIG && strstr(err.msg, "--max-pixels"));
    free(good);
}

static void test_too_large_output(void)
{
    sr_image_info info = mkinfo(16384, 1, 3, SR_U8);
    sr_error err = {0};
    const char *p = tmp_path("wide.webp");
    unlink(p);
    sr_writer *w = sr_writer_open(p, SR_FMT_AUTO, &info, NULL, &err);
    CHECK(w == NULL);
    check_error_line(&err, p);
    CHECK(strstr(err.msg, "16383") != NULL);
    CHECK(access(p, F_OK) != 0);
    sr_writer_abort(w);
}

/* srgan-train takes WebP too: its data set and validation set list them. */
static void test_training_data(void)
{
    char dir[1024], p1[1100], p2[1100];
    snprintf(dir, sizeof dir, "%s/webp_train", TEST_TMPDIR());
    mkdir(TEST_TMPDIR(), 0777);
    mkdir(dir, 0777);
    snprintf(p1, sizeof p1, "%s/a.webp", dir);
    snprintf(p2, sizeof p2, "%s/b.png", dir);
    sr_image_info info = mkinfo(40, 40, 3, SR_U8);
    uint8_t *px = malloc(40 * 40 * 3);
    for (int i = 0; i < 40 * 40 * 3; i++) px[i] = (uint8_t)p8(i % 40, i / 120, i % 3);
    sr_write_opts o = {0};
    o.lossless = 1;
    sr_error err = {0};
    CHECK(write_all(p1, &info, px, &o, &err) == 0 && write_all(p2, &info, px, NULL, &err) == 0);
    sr_dataset *ds = sr_dataset_open(dir, NULL, 2, 3, 1 << 20, &err);
    CHECK_MSG(ds != NULL, "%s", err.msg);
    CHECK(ds && sr_dataset_count(ds) == 2);
    sr_dataset_free(ds);
    sr_valset *v = sr_valset_open(dir, 2, 3, &err);
    CHECK_MSG(v != NULL, "%s", err.msg);
    CHECK(v && sr_valset_count(v) == 2);
    sr_valset_free(v);
    free(px);
}

int main(void)
{
    RUN(test_training_data);
    RUN(test_fixtures);
    RUN(test_animation_refused);
    RUN(test_lossless_roundtrip);
    RUN(test_deep_input_stored_8bit);
    RUN(test_lossy);
    RUN(test_meta_written);
    RUN(test_self_description);
    RUN(test_bad_input);
    RUN(test_too_large_output);
    return testlib_summary();
}
