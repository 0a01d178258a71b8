/* TIFF metadata through srgan-up, checked with libtiff on the files written:
 * calibration (resolution x scale whatever the unit, ImageJ description),
 * tifffile shape descriptions, ImageJ's own tags (50838/50839), and a
 * table-driven corpus: every TIFF under tests/fixtures/tiff through the
 * classic and the network path, checking pages, type, bits, samples, size
 * and calibration of the output.
 *
 * Usage (from meson): test_tiff_meta SRGAN_UP; fixtures from $SRGAN_SRCDIR,
 * ImageJ-saved files from $SRGAN_SHARED/data/micro when present.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <tiffio.h>
#include <unistd.h>

#include "testlib.h"

static const char *up, *srcdir, *tmpdir;
static char run_msg[4096]; /* the last run's output (its start) */

/* Run srgan-up with args (NULL-terminated); exit status, output in run_msg. */
static int run_up(const char *const *args)
{
    char log[1024];
    snprintf(log, sizeof log, "%s/run.txt", tmpdir);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0)
            _exit(126);
        dup2(fd, 1);
        dup2(fd, 2);
        const char *argv[32] = {up, "-q", "--overwrite"};
        int n = 3;
        for (int i = 0; args[i] && n < 31; i++)
            argv[n++] = args[i];
        argv[n] = NULL;
        execv(up, (char *const *)argv);
        _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    run_msg[0] = 0;
    FILE *f = fopen(log, "r");
    if (f) {
        size_t n = fread(run_msg, 1, sizeof run_msg - 1, f);
        run_msg[n] = 0;
        fclose(f);
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static void fixture(char *buf, size_t n, const char *rel)
{
    snprintf(buf, n, "%.700s/tests/fixtures/tiff/%.250s", srcdir, rel);
}

static void out_path(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%.900s/%.100s", tmpdir, name);
}

/* ---- what a TIFF page says, through libtiff ------------------------------- */

typedef struct page_meta {
    uint32_t w, h;
    uint16_t bits, spp, fmt, photometric;
    int has_res;
    float xres, yres;
    uint16_t unit;
    char desc[4096];
    uint32_t ij_n, ijc_n; /* ImageJ tags: bytes, counts */
    uint8_t ij[40000];
    uint32_t ijc[64];
} page_meta;

static int get_blob(TIFF *tif, uint32_t tag, uint32_t *n, const void **p)
{
    const TIFFField *f = TIFFFindField(tif, tag, TIFF_ANY);
    /* libtiff makes unknown tags anonymous fields with a 32-bit count */
    return f && TIFFFieldReadCount(f) == TIFF_VARIABLE2 && TIFFGetField(tif, tag, n, p) && *p;
}

static void read_page(TIFF *tif, page_meta *m)
{
    memset(m, 0, sizeof *m);
    TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &m->w);
    TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &m->h);
    TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &m->bits);
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &m->spp);
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLEFORMAT, &m->fmt);
    TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &m->photometric);
    m->has_res = TIFFGetField(tif, TIFFTAG_XRESOLUTION, &m->xres) &&
                 TIFFGetField(tif, TIFFTAG_YRESOLUTION, &m->yres);
    TIFFGetFieldDefaulted(tif, TIFFTAG_RESOLUTIONUNIT, &m->unit);
    const char *d = NULL;
    if (TIFFGetField(tif, TIFFTAG_IMAGEDESCRIPTION, &d) && d)
        snprintf(m->desc, sizeof m->desc, "%s", d);
    const void *p = NULL;
    uint32_t n = 0;
    if (get_blob(tif, 50839, &n, &p) && n <= sizeof m->ij) {
        memcpy(m->ij, p, n);
        m->ij_n = n;
    }
    if (get_blob(tif, 50838, &n, &p) && n <= sizeof m->ijc / sizeof *m->ijc) {
        memcpy(m->ijc, p, n * sizeof(uint32_t));
        m->ijc_n = n;
    }
}

static void quiet(const char *module, const char *fmt, va_list ap)
{
    (void)module, (void)fmt, (void)ap;
}

/* Pages of path, up to max, into pm; returns the page count (-1: unreadable). */
static int read_tiff(const char *path, page_meta *pm, int max, int *big_endian)
{
    TIFF *tif = TIFFOpen(path, "r");
    if (!tif)
        return -1;
    if (big_endian)
        *big_endian = TIFFIsBigEndian(tif);
    int n = 0;
    do {
        if (n < max)
            read_page(tif, &pm[n]);
        n++;
    } while (TIFFReadDirectory(tif));
    TIFFClose(tif);
    return n;
}

static page_meta in_pm[40], out_pm[40];

/* Resolution scaled by s, unit kept; none stays none. */
static void check_calibration(const char *what, const page_meta *in, const page_meta *out, double s)
{
    CHECK_MSG(in->has_res == out->has_res, "%s: resolution present %d -> %d", what, in->has_res,
              out->has_res);
    if (!in->has_res || !out->has_res)
        return;
    CHECK_MSG(fabs(out->xres / (in->xres * s) - 1) < 1e-5 && fabs(out->yres / (in->yres * s) - 1) < 1e-5,
              "%s: resolution %g,%g -> %g,%g, expected x%g", what, in->xres, in->yres, out->xres,
              out->yres, s);
    CHECK_MSG(in->unit == out->unit, "%s: resolution unit %u -> %u", what, in->unit, out->unit);
}

/* ---- ImageJ calibration and metadata ---------------------------------------- */

static void test_imagej_calibration(void)
{
    char in[1024], out[1024];
    fixture(in, sizeof in, "meta/imagej_calib.tif");
    static const char *const paths[][4] = {{"--method", "bicubic", NULL}, {"-m", NULL, NULL}};
    char model[1024];
    snprintf(model, sizeof model, "%s/tests/fixtures/model/msrresnet_x2.safetensors", srcdir);
    for (int path = 0; path < 2; path++) {
        out_path(out, sizeof out, path ? "ij_net.tif" : "ij_bic.tif");
        const char *args[] = {paths[path][0], path ? model : paths[path][1], "-x", "2", in, out, NULL};
        int rc = run_up(args);
        CHECK_MSG(rc == 0, "%s: %s", in, run_msg);
        int in_be = 0, out_be = 0;
        int np = read_tiff(in, in_pm, 40, &in_be), no = read_tiff(out, out_pm, 40, &out_be);
        CHECK(np == 2 && no == 2);
        if (np != 2 || no != 2)
            return;
        const page_meta *a = &in_pm[0], *b = &out_pm[0];
        CHECK(b->w == 48 && b->h == 32);
        /* Fiji's way: unit in the description, ResolutionUnit none, and
         * still 2x the pixels per micron */
        CHECK(a->unit == RESUNIT_NONE && strstr(a->desc, "\nunit=um\n"));
        CHECK_NEAR(a->xres, 1 / 0.325, 1e-4);
        check_calibration("ImageJ x2", a, b, 2.0);
        CHECK_NEAR(b->xres, 2 / 0.325, 1e-4);
        /* the description is kept but for the origin, which is in pixels */
        CHECK_MSG(!strcmp(b->desc, "ImageJ=1.11a\nimages=2\nslices=2\nhyperstack=true\nmode=grayscale\n"
                                   "unit=um\nspacing=0.5\nxorigin=6\nyorigin=4\nmin=10.0\nmax=60000.0\n"),
                  "description: %s", b->desc);
        /* Info, labels, ranges, LUT: the same bytes, in the same byte order */
        CHECK(a->ij_n > 0 && a->ijc_n == 6);
        CHECK(b->ij_n == a->ij_n && !memcmp(b->ij, a->ij, a->ij_n));
        CHECK(b->ijc_n == a->ijc_n && !memcmp(b->ijc, a->ijc, a->ijc_n * sizeof(uint32_t)));
        CHECK(in_be && out_be);
        /* only the first page carries them, as ImageJ writes */
        CHECK(out_pm[1].ij_n == 0 && out_pm[1].ijc_n == 0);
    }
}

static void test_imagej_rois_left_out(void)
{
    char in[1024], out[1024];
    fixture(in, sizeof in, "meta/imagej_roi.tif");
    out_path(out, sizeof out, "ij_roi.tif");
    const char *args[] = {"--method", "bicubic", "-x", "2", in, out, NULL};
    CHECK_MSG(run_up(args) == 0, "%s", run_msg);
    int in_be = 1, out_be = 1;
    CHECK(read_tiff(in, in_pm, 1, &in_be) == 1 && read_tiff(out, out_pm, 1, &out_be) == 1);
    const page_meta *a = &in_pm[0], *b = &out_pm[0];
    /* in: header (info, roi, over x2), Info, ROI, 2 overlays; little-endian */
    CHECK(!in_be && !out_be);
    CHECK(a->ijc_n == 5 && a->ijc[0] == 4 + 3 * 8);
    if (a->ijc_n != 5)
        return;
    /* out: header with the info pair only, then the same Info bytes */
    CHECK(b->ijc_n == 2 && b->ijc[0] == 12 && b->ijc[1] == a->ijc[1]);
    CHECK(b->ij_n == 12 + a->ijc[1]);
    if (b->ij_n != 12 + a->ijc[1])
        return;
    CHECK(!memcmp(b->ij, "JIJI", 4) && !memcmp(b->ij + 4, "ofni", 4));
    CHECK(!memcmp(b->ij + 4, a->ij + 4, 8));
    CHECK(!memcmp(b->ij + 12, a->ij + a->ijc[0], a->ijc[1]));
    check_calibration("ImageJ ROI file", a, b, 2.0);
    /* -v says what was left out */
    const char *vargs[] = {"-v", "--method", "bicubic", "-x", "2", in, out, NULL};
    run_up(vargs);
    CHECK_MSG(strstr(run_msg, "3 ImageJ ROI/overlay entries left out"), "%s", run_msg);
    /* at x1 nothing moves: everything is kept */
    const char *args1[] = {"--method", "nearest", "-x", "1", in, out, NULL};
    CHECK(run_up(args1) == 0);
    CHECK(read_tiff(out, out_pm, 1, NULL) == 1);
    CHECK(b->ij_n == a->ij_n && !memcmp(b->ij, a->ij, a->ij_n));
}

/* Every page's samples, as libtiff decodes them, equal (strip files). */
static int same_pixels(const char *a, const char *b)
{
    TIFF *ta = TIFFOpen(a, "r"), *tb = TIFFOpen(b, "r");
    int same = ta && tb;
    while (same) {
        tmsize_t n = TIFFScanlineSize(ta);
        uint32_t h = 0, hb = 0;
        TIFFGetField(ta, TIFFTAG_IMAGELENGTH, &h);
        TIFFGetField(tb, TIFFTAG_IMAGELENGTH, &hb);
        uint8_t *ra = malloc((size_t)n), *rb = malloc((size_t)n);
        same = ra && rb && n == TIFFScanlineSize(tb) && h == hb;
        for (uint32_t y = 0; same && y < h; y++)
            same = TIFFReadScanline(ta, ra, y, 0) == 1 && TIFFReadScanline(tb, rb, y, 0) == 1 &&
                   !memcmp(ra, rb, (size_t)n);
        free(ra);
        free(rb);
        int more_a = TIFFReadDirectory(ta), more_b = TIFFReadDirectory(tb);
        if (more_a != more_b)
            same = 0;
        if (!more_a)
            break;
    }
    if (ta)
        TIFFClose(ta);
    if (tb)
        TIFFClose(tb);
    return same;
}

/* Written big-endian to keep ImageJ's tags readable: samples intact with
 * every compression, 16-bit and float. */
static void test_imagej_big_endian_float(void)
{
    char in[1024], out[1024];
    static const char *const comp[] = {"deflate", "lzw", "none"};
    for (int c = 0; c < 6; c++) {
        fixture(in, sizeof in, c < 3 ? "meta/imagej_f32_be.tif" : "meta/imagej_calib.tif");
        out_path(out, sizeof out, "ij_be.tif");
        const char *args[] = {"--method", "nearest", "-x", "1", "--compression", comp[c % 3], in, out, NULL};
        CHECK_MSG(run_up(args) == 0, "%s", run_msg);
        int be = 0;
        CHECK(read_tiff(out, out_pm, 2, &be) == 2 && be && out_pm[0].ij_n > 0);
        CHECK_MSG(same_pixels(in, out), "%s, %s: samples changed", in, comp[c % 3]);
    }
}

static void test_tifffile_shape(void)
{
    static const struct {
        const char *name, *want;
    } cases[] = {
        {"meta/shaped_zyx.tif", "{\"shape\": [3, 24, 40]}"},
        {"meta/shaped_yxs.tif", "{\"shape\": [24, 40, 3]}"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char in[1024], out[1024];
        fixture(in, sizeof in, cases[i].name);
        out_path(out, sizeof out, "shaped.tif");
        const char *args[] = {"--method", "bicubic", "-x", "2", in, out, NULL};
        CHECK_MSG(run_up(args) == 0, "%s", run_msg);
        CHECK(read_tiff(out, out_pm, 1, NULL) >= 1);
        CHECK_MSG(!strcmp(out_pm[0].desc, cases[i].want), "%s: %s", cases[i].name, out_pm[0].desc);
    }
}

/* Files saved by ImageJ/Fiji (big-endian, ResolutionUnit none) and by
 * tifffile, from ../shared; skipped when absent. */
static void test_shared_micro(void)
{
    const char *shared = getenv("SRGAN_SHARED");
    static const char *const names[] = {"u16/imagej_still.tif", "stacks/imagej_stack_3.tif",
                                        "stacks/stardist_img3d_31z.tif"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char in[1024], out[1024];
        snprintf(in, sizeof in, "%s/data/micro/%s", shared ? shared : "", names[i]);
        if (!shared || access(in, R_OK)) {
            printf("skip: %s absent\n", in);
            continue;
        }
        out_path(out, sizeof out, "micro.tif");
        const char *args[] = {"--method", "bicubic", "-x", "2", in, out, NULL};
        CHECK_MSG(run_up(args) == 0, "%s: %s", in, run_msg);
        int np = read_tiff(in, in_pm, 40, NULL), no = read_tiff(out, out_pm, 40, NULL);
        CHECK_MSG(np == no && np > 0, "%s: %d -> %d pages", names[i], np, no);
        const page_meta *a = &in_pm[0], *b = &out_pm[0];
        check_calibration(names[i], a, b, 2.0);
        CHECK(b->w == 2 * a->w && b->h == 2 * a->h);
        if (!strncmp(a->desc, "ImageJ=", 7)) {
            /* no origin in these: the description is kept as it is */
            CHECK_MSG(!strcmp(a->desc, b->desc), "%s: description changed", names[i]);
            CHECK(a->ij_n > 0 && b->ij_n == a->ij_n && !memcmp(a->ij, b->ij, a->ij_n));
            CHECK(b->ijc_n == a->ijc_n && !memcmp(a->ijc, b->ijc, a->ijc_n * sizeof(uint32_t)));
        } else {
            char want[128];
            snprintf(want, sizeof want, "{\"shape\": [%d, %u, %u]}", np, (unsigned)b->h,
                     (unsigned)b->w);
            CHECK_MSG(!strcmp(b->desc, want), "%s: %s", names[i], b->desc);
        }
    }
}

/* ---- the corpus ------------------------------------------------------------
 * Every TIFF under tests/fixtures/tiff goes through both paths. The output
 * keeps the input's sample format and samples, bits widened to a whole type
 * (integers 8/16/32, floats 32), unless a row below says otherwise; a new fixture needs a row
 * only when its output type differs by design, or when this build may refuse
 * it (then a refusal is reported, and an accepted file is checked for
 * pages, size and calibration). */

typedef struct corpus_row {
    const char *name;   /* path under tests/fixtures/tiff */
    const char *type;   /* expected output "u8x3" etc.; NULL: derived from the input */
    int may_refuse;
} corpus_row;

static const corpus_row corpus[] = {
    {"pal8_pil.tif", "u8x3", 0},  /* palette: written as RGB */
    {"cmyk8_im.tif", "u8x3", 0},  /* CMYK: converted to RGB */
    {"int32_pil.tif", NULL, 1},   /* 32-bit signed integers */
};

static void type_of(const page_meta *m, char *buf, size_t n)
{
    /* integers widen to the next whole type (1..7 -> 8, 12 -> 16, 24 -> 32);
     * floats of any width are written as 32-bit */
    int bits = m->fmt == SAMPLEFORMAT_IEEEFP ? 32 : m->bits <= 8 ? 8 : m->bits <= 16 ? 16 : 32;
    char f = m->fmt == SAMPLEFORMAT_IEEEFP ? 'f' : m->fmt == SAMPLEFORMAT_INT ? 'i' : 'u';
    snprintf(buf, n, "%c%dx%u", f, bits, (unsigned)m->spp);
}

static int n_checked, n_refused;

static void corpus_file(const char *rel)
{
    const corpus_row *row = NULL;
    for (size_t i = 0; i < sizeof corpus / sizeof *corpus; i++)
        if (!strcmp(corpus[i].name, rel))
            row = &corpus[i];
    char in[1024], out[1024], model[1024];
    fixture(in, sizeof in, rel);
    snprintf(model, sizeof model, "%s/tests/fixtures/model/msrresnet_x2.safetensors", srcdir);
    int np = read_tiff(in, in_pm, 40, NULL);
    CHECK_MSG(np > 0, "%s: libtiff cannot read the fixture", rel);
    if (np <= 0)
        return;
    for (int path = 0; path < 2; path++) {
        const char *how = path ? "network" : "bicubic";
        out_path(out, sizeof out, "corpus.tif");
        unlink(out);
        const char *classic[] = {"--method", "bicubic", "-x", "2", in, out, NULL};
        const char *net[] = {"-m", model, "-x", "2", in, out, NULL};
        int rc = run_up(path ? net : classic);
        if (rc != 0 && row && row->may_refuse) {
            CHECK_MSG(rc == 1 && strstr(run_msg, rel) && access(out, F_OK) != 0,
                      "%s (%s): a refusal is exit 1, one line naming the file, no output", rel, how);
            printf("skip: %s (%s) refused here: %s", rel, how, run_msg);
            n_refused++;
            continue;
        }
        CHECK_MSG(rc == 0, "%s (%s): exit %d: %s", rel, how, rc, run_msg);
        int no = read_tiff(out, out_pm, 40, NULL);
        CHECK_MSG(no == np, "%s (%s): %d pages -> %d", rel, how, np, no);
        for (int p = 0; p < np && p < no && p < 40; p++) {
            const page_meta *a = &in_pm[p], *b = &out_pm[p];
            char what[1100], want[32], got[32];
            snprintf(what, sizeof what, "%s (%s) page %d", rel, how, p + 1);
            CHECK_MSG(b->w == 2 * a->w && b->h == 2 * a->h, "%s: %ux%u -> %ux%u", what,
                      (unsigned)a->w, (unsigned)a->h, (unsigned)b->w, (unsigned)b->h);
            if (!(row && row->may_refuse && !row->type)) {
                if (row && row->type)
                    snprintf(want, sizeof want, "%s", row->type);
                else
                    type_of(a, want, sizeof want);
                type_of(b, got, sizeof got);
                CHECK_MSG(!strcmp(want, got), "%s: type %s, expected %s", what, got, want);
            }
            check_calibration(what, a, b, 2.0);
        }
        n_checked++;
    }
}

static void corpus_dir(const char *rel)
{
    char dir[1024];
    fixture(dir, sizeof dir, rel);
    struct dirent **ents = NULL;
    int n = scandir(dir, &ents, NULL, alphasort);
    CHECK_MSG(n > 0, "cannot list %s", dir);
    for (int i = 0; i < n; i++) {
        const char *name = ents[i]->d_name;
        char sub[1024], full[2048];
        snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", name);
        snprintf(full, sizeof full, "%s/%s", dir, name);
        struct stat st;
        size_t len = strlen(name);
        if (name[0] != '.' && !stat(full, &st)) {
            if (S_ISDIR(st.st_mode))
                corpus_dir(sub);
            else if (len > 4 && (!strcmp(name + len - 4, ".tif") || !strcmp(name + len - 5, ".tiff")))
                corpus_file(sub);
        }
        free(ents[i]);
    }
    free(ents);
}

static void test_corpus(void)
{
    corpus_dir("");
    printf("corpus: %d runs checked, %d refused\n", n_checked, n_refused);
    /* the fixtures are there and most go through: a corpus that silently
     * shrank to nothing would pass every check above */
    CHECK(n_checked >= 2 * 25);
}

int main(int argc, char **argv)
{
    up = argc > 1 ? argv[1] : getenv("SRGAN_UP");
    srcdir = getenv("SRGAN_SRCDIR");
    const char *t = getenv("SRGAN_TMPDIR");
    if (!up || !srcdir || !t) {
        fprintf(stderr, "usage: test_tiff_meta SRGAN_UP (with SRGAN_SRCDIR, SRGAN_TMPDIR set)\n");
        return 2;
    }
    static char dir[1024];
    snprintf(dir, sizeof dir, "%s/tiff_meta.%d", t, (int)getpid());
    mkdir(t, 0755);
    if (mkdir(dir, 0755)) {
        perror(dir);
        return 2;
    }
    tmpdir = dir;
    TIFFSetWarningHandler(quiet);
    RUN(test_imagej_calibration);
    RUN(test_imagej_rois_left_out);
    RUN(test_imagej_big_endian_float);
    RUN(test_tifffile_shape);
    RUN(test_shared_micro);
    RUN(test_corpus);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return testlib_summary();
}
