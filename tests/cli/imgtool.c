/* imgtool: a test helper built on libsrgan.
 *
 *   imgtool make OUT W H CHANNELS u8|u16|f32 [PAGES]   write a pattern image
 *   imgtool info IN              print "W H CHANNELS DTYPE PAGES" (page 1)
 *   imgtool diff A B             print the max abs difference (in 0..1 units)
 *                                over all pages; exit 3 if layouts differ
 *   imgtool model OUT SCALE BLOCKS FEAT [ARCH] [IN_CH] [zero-tail]
 *                                random generator weights; with zero-tail,
 *                                conv_last is zero, so an MSRResNet outputs
 *                                exactly its bilinear skip; IMGTOOL_KIND sets
 *                                the "kind" metadata (default "test"),
 *                                IMGTOOL_PARTNER "denoise_partner" (and
 *                                IMGTOOL_DENOISE "denoise_default"), IMGTOOL_SEED
 *                                the initialisation seed (default 1234)
 *   imgtool minmax IN            print "MIN MAX" in native units over all pages
 *   imgtool meta IN              print resolution unit, x, y, then the description
 *   imgtool layout IN            per page: "W H CHANNELS DATA_CHANNELS DTYPE"
 *   imgtool same A B             exit 0 if every page has the same layout and
 *                                bit-identical samples, else print why, exit 1
 *   imgtool pixel IN PAGE X Y C  print one sample in native units, exactly
 * make takes IMGTOOL_DESC (ImageDescription) and IMGTOOL_DPCM (pixels per cm)
 * from the environment.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include "srgan/image.h"
#include "srgan/model.h"
#include "srgan/pipeline.h"

static int die(const sr_error *e)
{
    fprintf(stderr, "imgtool: %s\n", e->msg);
    return 2;
}

static float pattern(int x, int y, int c, int channels, int page, int w, int h)
{
    /* Smooth gradients plus a little texture: exercises every resampler. */
    double v = 0.5 + 0.35 * sin(x * 0.21 + c * 1.3 + page) * cos(y * 0.17 - c * 0.7) +
               0.1 * ((double)x / w - (double)y / h);
    if ((channels == 2 || channels == 4) && c == channels - 1)
        v = (double)x / (w > 1 ? w - 1 : 1); /* alpha: a ramp from transparent to opaque */
    return (float)(v < 0 ? 0 : v > 1 ? 1 : v);
}

static int make(int argc, char **argv)
{
    if (argc < 7)
        return 2;
    sr_image_info info;
    memset(&info, 0, sizeof info);
    sr_default_meta(&info.meta);
    info.width = atoi(argv[3]);
    info.height = atoi(argv[4]);
    info.channels = atoi(argv[5]);
    info.dtype = !strcmp(argv[6], "u16") ? SR_U16 : !strcmp(argv[6], "f32") ? SR_F32 : SR_U8;
    info.pages = argc > 7 ? atoi(argv[7]) : 1;
    info.meta.res_unit = SR_RES_INCH;
    info.meta.xres = info.meta.yres = 72;
    if (getenv("IMGTOOL_DPCM")) {
        info.meta.res_unit = SR_RES_CM;
        info.meta.xres = info.meta.yres = atof(getenv("IMGTOOL_DPCM"));
    }
    info.meta.description = getenv("IMGTOOL_DESC");
    sr_error err = {0};
    sr_write_opts wo = {.overwrite = 1};
    sr_writer *w = NULL;
    size_t n = (size_t)info.width * info.channels;
    float *f = malloc(n * sizeof *f);
    void *raw = malloc(n * 4);
    for (int p = 0; p < info.pages; p++) {
        info.page = p;
        if (p == 0)
            w = sr_writer_open(argv[2], SR_FMT_AUTO, &info, &wo, &err);
        else if (sr_writer_next_page(w, &info, &err))
            w = (sr_writer_abort(w), NULL);
        if (!w)
            return die(&err);
        for (int y = 0; y < info.height; y++) {
            for (int x = 0; x < info.width; x++)
                for (int c = 0; c < info.channels; c++)
                    f[(size_t)x * info.channels + c] = pattern(x, y, c, info.channels, p, info.width, info.height);
            sr_samples_from_float(f, info.dtype, n, raw);
            if (sr_writer_write_rows(w, raw, 1, &err)) {
                sr_writer_abort(w);
                return die(&err);
            }
        }
    }
    free(f);
    free(raw);
    return sr_writer_finish(w, &err) ? die(&err) : 0;
}

static int info_cmd(const char *path)
{
    sr_error err = {0};
    sr_reader *r = sr_reader_open(path, NULL, &err);
    if (!r)
        return die(&err);
    const sr_image_info *i = sr_reader_info(r);
    static const char *const t[] = {"u8", "u16", "f32", "i8", "i16", "u32", "i32"};
    printf("%d %d %d %s %d\n", i->width, i->height, i->channels, t[i->dtype], i->pages);
    sr_reader_close(r);
    return 0;
}

static int diff_cmd(const char *a, const char *b)
{
    sr_error err = {0};
    sr_reader *ra = sr_reader_open(a, NULL, &err), *rb = ra ? sr_reader_open(b, NULL, &err) : NULL;
    if (!ra || !rb)
        return die(&err);
    double maxd = 0;
    for (;;) {
        const sr_image_info *ia = sr_reader_info(ra), *ib = sr_reader_info(rb);
        if (ia->width != ib->width || ia->height != ib->height || ia->channels != ib->channels ||
            ia->pages != ib->pages) {
            printf("layout differs\n");
            return 3;
        }
        size_t n = (size_t)ia->width * ia->channels;
        void *pa = malloc(sr_row_bytes(ia)), *pb = malloc(sr_row_bytes(ib));
        float *fa = malloc(n * 4), *fb = malloc(n * 4);
        for (int y = 0; y < ia->height; y++) {
            if (sr_reader_read_rows(ra, pa, 1, &err) || sr_reader_read_rows(rb, pb, 1, &err))
                return die(&err);
            sr_samples_to_float(pa, ia->dtype, n, fa);
            sr_samples_to_float(pb, ib->dtype, n, fb);
            for (size_t i = 0; i < n; i++)
                if (fabs(fa[i] - fb[i]) > maxd)
                    maxd = fabs(fa[i] - fb[i]);
        }
        free(pa), free(pb), free(fa), free(fb);
        int ma = sr_reader_next_page(ra, &err), mb = sr_reader_next_page(rb, &err);
        if (ma != mb)
            return 3;
        if (ma <= 0)
            break;
    }
    printf("%.9g\n", maxd);
    sr_reader_close(ra);
    sr_reader_close(rb);
    return 0;
}

static int layout_cmd(const char *path)
{
    sr_error err = {0};
    sr_reader *r = sr_reader_open(path, NULL, &err);
    if (!r)
        return die(&err);
    do {
        const sr_image_info *i = sr_reader_info(r);
        printf("%d %d %d %d %s\n", i->width, i->height, i->channels, i->data_channels,
               sr_dtype_name(i->dtype));
    } while (sr_reader_next_page(r, &err) == 1);
    sr_reader_close(r);
    return err.code ? die(&err) : 0;
}

static int same_cmd(const char *a, const char *b)
{
    sr_error err = {0};
    sr_reader *ra = sr_reader_open(a, NULL, &err), *rb = ra ? sr_reader_open(b, NULL, &err) : NULL;
    if (!ra || !rb)
        return die(&err);
    int rc = 0;
    for (int page = 1; rc == 0; page++) {
        const sr_image_info *ia = sr_reader_info(ra), *ib = sr_reader_info(rb);
        if (ia->width != ib->width || ia->height != ib->height || ia->channels != ib->channels ||
            ia->data_channels != ib->data_channels || ia->dtype != ib->dtype) {
            printf("page %d: layout differs\n", page);
            rc = 1;
            break;
        }
        size_t rbytes = sr_row_bytes(ia);
        void *pa = malloc(rbytes), *pb = malloc(rbytes);
        for (int y = 0; y < ia->height && rc == 0; y++) {
            if (sr_reader_read_rows(ra, pa, 1, &err) || sr_reader_read_rows(rb, pb, 1, &err))
                return die(&err);
            if (memcmp(pa, pb, rbytes)) {
                printf("page %d row %d differs\n", page, y);
                rc = 1;
            }
        }
        free(pa), free(pb);
        int ma = sr_reader_next_page(ra, &err), mb = sr_reader_next_page(rb, &err);
        if (ma != mb) {
            printf("page counts differ\n");
            rc = 1;
        }
        if (ma <= 0)
            break;
    }
    sr_reader_close(ra);
    sr_reader_close(rb);
    return rc;
}

static int pixel_cmd(char **argv)
{
    sr_error err = {0};
    sr_reader *r = sr_reader_open(argv[2], NULL, &err);
    if (!r)
        return die(&err);
    for (int p = 0; p < atoi(argv[3]); p++)
        if (sr_reader_next_page(r, &err) != 1)
            return 2;
    const sr_image_info *i = sr_reader_info(r);
    int x = atoi(argv[4]), y = atoi(argv[5]), c = atoi(argv[6]);
    if (x < 0 || x >= i->width || y < 0 || y >= i->height || c < 0 || c >= i->channels)
        return 2;
    uint8_t *row = malloc(sr_row_bytes(i));
    for (int k = 0; k <= y; k++)
        if (sr_reader_read_rows(r, row, 1, &err))
            return die(&err);
    const void *s = row + ((size_t)x * i->channels + c) * sr_dtype_size(i->dtype);
    switch (i->dtype) {
    case SR_U8: printf("%u\n", *(const uint8_t *)s); break;
    case SR_U16: printf("%u\n", *(const uint16_t *)s); break;
    case SR_F32: printf("%.9g\n", *(const float *)s); break;
    case SR_I8: printf("%d\n", *(const int8_t *)s); break;
    case SR_I16: printf("%d\n", *(const int16_t *)s); break;
    case SR_U32: printf("%u\n", *(const uint32_t *)s); break;
    case SR_I32: printf("%d\n", *(const int32_t *)s); break;
    }
    free(row);
    sr_reader_close(r);
    return 0;
}

static int minmax_cmd(const char *path)
{
    sr_error err = {0};
    sr_reader *r = sr_reader_open(path, NULL, &err);
    if (!r)
        return die(&err);
    double lo = INFINITY, hi = -INFINITY;
    do {
        const sr_image_info *i = sr_reader_info(r);
        double unit = sr_dtype_unit(i->dtype);
        size_t n = (size_t)i->width * i->channels;
        void *raw = malloc(sr_row_bytes(i));
        float *f = malloc(n * sizeof *f);
        for (int y = 0; y < i->height; y++) {
            if (sr_reader_read_rows(r, raw, 1, &err))
                return die(&err);
            sr_samples_to_float(raw, i->dtype, n, f);
            for (size_t k = 0; k < n; k++) {
                double v = f[k] * unit;
                lo = v < lo ? v : lo;
                hi = v > hi ? v : hi;
            }
        }
        free(raw);
        free(f);
    } while (sr_reader_next_page(r, &err) == 1);
    printf("%.6g %.6g\n", lo, hi);
    sr_reader_close(r);
    return 0;
}

static int meta_cmd(const char *path)
{
    sr_error err = {0};
    sr_reader *r = sr_reader_open(path, NULL, &err);
    if (!r)
        return die(&err);
    const sr_meta *m = &sr_reader_info(r)->meta;
    static const char *const units[] = {"none", "aspect", "inch", "cm"};
    printf("%s %.6g %.6g\n%s\n", units[m->res_unit], m->xres, m->yres,
           m->description ? m->description : "");
    sr_reader_close(r);
    return 0;
}

static int model_cmd(int argc, char **argv)
{
    if (argc < 6)
        return 2;
    sr_generator_config cfg = {
        .arch = argc > 6 && !strcmp(argv[6], "srresnet") ? SR_ARCH_SRRESNET : SR_ARCH_MSRRESNET,
        .scale = atoi(argv[3]), .blocks = atoi(argv[4]), .channels = atoi(argv[5]),
        .in_channels = argc > 7 ? atoi(argv[7]) : 3, .out_channels = argc > 7 ? atoi(argv[7]) : 3};
    sr_error err = {0};
    const char *seed = getenv("IMGTOOL_SEED");
    sr_generator *g = sr_generator_new(&cfg, seed ? strtoull(seed, NULL, 10) : 1234, &err);
    if (!g)
        return die(&err);
    if (argc > 8 && !strcmp(argv[8], "zero-tail")) {
        sr_param *w = sr_generator_param_by_name(g, "conv_last.weight");
        sr_param *b = sr_generator_param_by_name(g, "conv_last.bias");
        if (!w || !b)
            return 2;
        memset(w->data, 0, w->numel * sizeof(float));
        memset(b->data, 0, b->numel * sizeof(float));
    }
    const char *kind = getenv("IMGTOOL_KIND");
    const char *partner = getenv("IMGTOOL_PARTNER");
    const char *dn = getenv("IMGTOOL_DENOISE");
    const char *meta[] = {"kind", kind && *kind ? kind : "test",
                          partner ? "denoise_partner" : NULL, partner,
                          dn ? "denoise_default" : NULL, dn, NULL};
    int rc = sr_generator_save(g, argv[2], meta, &err);
    sr_generator_free(g);
    return rc ? die(&err) : 0;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && !strcmp(argv[1], "make"))
        return make(argc, argv);
    if (argc == 3 && !strcmp(argv[1], "info"))
        return info_cmd(argv[2]);
    if (argc == 4 && !strcmp(argv[1], "diff"))
        return diff_cmd(argv[2], argv[3]);
    if (argc == 3 && !strcmp(argv[1], "layout"))
        return layout_cmd(argv[2]);
    if (argc == 4 && !strcmp(argv[1], "same"))
        return same_cmd(argv[2], argv[3]);
    if (argc == 7 && !strcmp(argv[1], "pixel"))
        return pixel_cmd(argv);
    if (argc == 3 && !strcmp(argv[1], "meta"))
        return meta_cmd(argv[2]);
    if (argc == 3 && !strcmp(argv[1], "minmax"))
        return minmax_cmd(argv[2]);
    if (argc >= 6 && !strcmp(argv[1], "model"))
        return model_cmd(argc, argv);
    fprintf(stderr, "usage: see the comment at the top of imgtool.c\n");
    return 2;
}
