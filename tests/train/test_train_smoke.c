/* test_train_smoke.c: the whole trainer on tiny generated data.
 *  - data: HR-only LR patches equal crops of a whole-image MATLAB bicubic
 *    downscale; the loader thread yields exactly the direct batches; clear
 *    errors for an empty or image-less directory and a paired LR of the
 *    wrong size (naming both files);
 *  - a tiny model overfits a few images (pixel loss falls by 10x);
 *  - N iterations == N/2 + resume + N/2, checkpoints bit-identical;
 *  - a corrupt, mismatched or wrong-phase checkpoint is refused clearly. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "srgan/resample.h"
#include "srgan/train.h"
#include "srgan/weights.h"
#include "testlib.h"

static char root[4096], hr_dir[4200], lr_dir[4200], dark_dir[4200];

/* smooth colour patterns with some texture, planar [3, h, w] */
static void pattern(float *p, int w, int h, int k)
{
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            p[(0 * h + y) * w + x] = 0.5f + 0.4f * sinf(x / (2.0f + k) + y / 5.0f);
            p[(1 * h + y) * w + x] = 0.5f + 0.4f * cosf(y / (3.0f + k)) * sinf(x / 4.0f);
            p[(2 * h + y) * w + x] = 0.5f + 0.3f * sinf((x - y) / (2.5f + k));
        }
}

static void make_data(void)
{
    snprintf(root, sizeof root, "%s/train_smoke", TEST_TMPDIR());
    mkdir(TEST_TMPDIR(), 0777);
    mkdir(root, 0777);
    snprintf(hr_dir, sizeof hr_dir, "%s/hr", root);
    snprintf(lr_dir, sizeof lr_dir, "%s/lr", root);
    snprintf(dark_dir, sizeof dark_dir, "%s/lr_dark", root);
    mkdir(hr_dir, 0777);
    mkdir(lr_dir, 0777);
    mkdir(dark_dir, 0777);
    for (int k = 0; k < 4; k++) {
        int w = 48 + 4 * k, h = 44;
        float *p = malloc((size_t)3 * w * h * sizeof(float));
        float *il = malloc((size_t)3 * w * h * sizeof(float)), *sl = malloc((size_t)3 * w * h * sizeof(float));
        float *lp = malloc((size_t)3 * w * h * sizeof(float));
        pattern(p, w, h, k);
        char path[4400];
        snprintf(path, sizeof path, "%s/img%d.png", hr_dir, k);
        CHECK(sr_save_png_planar(path, p, 3, w, h, NULL) == 0);
        /* the LR of the paired set: half as bright, so that the network must
         * learn something beyond its bilinear skip (loss starts high) */
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < w * h; i++) il[i * 3 + c] = roundf(p[c * w * h + i] * 255) / 255;
        CHECK(sr_imresize(il, w, h, 3, sl, w / 2, h / 2, SR_FILTER_BICUBIC, NULL) == 0);
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < (w / 2) * (h / 2); i++) lp[c * (w / 2) * (h / 2) + i] = 0.5f * sl[i * 3 + c];
        snprintf(path, sizeof path, "%s/img%d.png", dark_dir, k);
        CHECK(sr_save_png_planar(path, lp, 3, w / 2, h / 2, NULL) == 0);
        /* a wrongly sized LR for the pairing error */
        snprintf(path, sizeof path, "%s/img%d.png", lr_dir, k);
        CHECK(sr_save_png_planar(path, lp, 3, w / 2 - (k == 2), h / 2, NULL) == 0);
        free(p);
        free(il);
        free(sl);
        free(lp);
    }
}

static void test_empty_dirs(void)
{
    char empty[4300], noimg[4300], path[4400];
    snprintf(empty, sizeof empty, "%s/empty", root);
    snprintf(noimg, sizeof noimg, "%s/noimg", root);
    mkdir(empty, 0777);
    mkdir(noimg, 0777);
    snprintf(path, sizeof path, "%s/readme.txt", noimg);
    FILE *f = fopen(path, "w");
    if (f) fputs("not an image\n", f), fclose(f);
    sr_error err = {0};
    CHECK(sr_dataset_open(empty, NULL, 2, 3, 1 << 20, &err) == NULL);
    CHECK(strstr(err.msg, "no images") && strstr(err.msg, "empty"));
    sr_error_clear(&err);
    sr_train_config c;
    sr_train_config_defaults(&c, SR_PHASE_PSNR);
    c.hr_dir = noimg, c.out_dir = empty, c.quiet = 1;
    CHECK(sr_train_run(&c, NULL, &err) == -1);
    CHECK_MSG(strstr(err.msg, "no images") && strstr(err.msg, "noimg"), "%s", err.msg);
}

/* TIFF layouts the loader does not know (signed, 32-bit labels, data
 * channels) are refused with the file named, not read as float. */
static void test_unsupported_types(void)
{
    const char *files[] = {"i16.tif", "labels_i32.tif", "ch2_u16.tif"};
    for (int k = 0; k < 3; k++) {
        char path[4400];
        snprintf(path, sizeof path, "%s/tests/fixtures/tifftypes/%s", TEST_SRCDIR(), files[k]);
        sr_error err = {0};
        int w, h;
        float *img = sr_load_image_planar(path, 1, &w, &h, &err);
        CHECK_MSG(img == NULL && err.code == SR_ERR_UNSUPPORTED && strstr(err.msg, files[k]),
                  "%s: %s", files[k], err.msg);
        free(img);
    }
}

static void test_paired_size_error(void)
{
    sr_error err = {0};
    CHECK(sr_dataset_open(hr_dir, lr_dir, 2, 3, 1 << 20, &err) == NULL);
    CHECK_MSG(strstr(err.msg, "hr/img2.png") && strstr(err.msg, "lr/img2.png"), "%s", err.msg);
    sr_dataset *ds = sr_dataset_open(hr_dir, dark_dir, 2, 3, 1 << 20, &err);
    CHECK_MSG(ds != NULL, "%s", err.msg);
    sr_dataset_free(ds);
}

static void test_lr_synthesis_exact(void)
{
    sr_error err = {0};
    sr_dataset *ds = sr_dataset_open(hr_dir, NULL, 2, 3, 0, &err); /* cache 0: always decode */
    CHECK(ds && sr_dataset_count(ds) == 4);
    if (!ds) return;
    enum { B = 6, P = 16, LP = 8 };
    float hr[B * 3 * P * P], lr[B * 3 * LP * LP];
    CHECK(sr_dataset_batch(ds, 9, 3, B, P, 0, hr, lr, &err) == 0);
    /* find each HR patch in its image, compare the LR with the whole-image downscale */
    int checked = 0;
    for (int k = 0; k < 4; k++) {
        int w, h;
        float *img = sr_load_image_planar(sr_dataset_path(ds, k), 3, &w, &h, &err);
        int mw = w - w % 2, mh = h - h % 2;
        float *il = malloc((size_t)3 * mw * mh * sizeof(float)), *sl = malloc((size_t)3 * mw * mh * sizeof(float));
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < mh; y++)
                for (int x = 0; x < mw; x++) il[(y * mw + x) * 3 + c] = img[(c * h + y) * w + x];
        sr_imresize(il, mw, mh, 3, sl, mw / 2, mh / 2, SR_FILTER_BICUBIC, &err);
        for (int b = 0; b < B; b++)
            for (int y0 = 0; y0 + P <= mh; y0 += 2)
                for (int x0 = 0; x0 + P <= mw; x0 += 2) {
                    int same = 1;
                    for (int c = 0; c < 3 && same; c++)
                        for (int y = 0; y < P && same; y++)
                            for (int x = 0; x < P && same; x++)
                                same = hr[((b * 3 + c) * P + y) * P + x] == img[(c * h + y0 + y) * w + x0 + x];
                    if (!same) continue;
                    double md = 0;
                    for (int c = 0; c < 3; c++)
                        for (int y = 0; y < LP; y++)
                            for (int x = 0; x < LP; x++)
                                md = fmax(md, fabs(lr[((b * 3 + c) * LP + y) * LP + x] -
                                                   sl[((y0 / 2 + y) * (mw / 2) + x0 / 2 + x) * 3 + c]));
                    CHECK_MSG(md < 1e-5, "item %d: LR differs from whole-image imresize by %g", b, md);
                    checked++;
                    y0 = mh, x0 = mw; /* first match only */
                }
        free(il);
        free(sl);
        free(img);
    }
    CHECK(checked >= B);
    /* the loader thread hands out exactly the direct batches, in order */
    sr_loader *l = sr_loader_new(ds, 9, 2, B, P, 1, 2, &err);
    float hr2[B * 3 * P * P], lr2[B * 3 * LP * LP];
    for (int k = 2; k < 6; k++) {
        CHECK(sr_loader_next(l, hr2, lr2, &err) == 0);
        CHECK(sr_dataset_batch(ds, 9, k, B, P, 1, hr, lr, &err) == 0);
        CHECK(!memcmp(hr, hr2, sizeof hr) && !memcmp(lr, lr2, sizeof lr));
    }
    sr_loader_free(l);
    sr_dataset_free(ds);
}

static void base_config(sr_train_config *c, const char *out, long iters)
{
    sr_train_config_defaults(c, SR_PHASE_PSNR);
    c->gen = (sr_generator_config){.arch = SR_ARCH_MSRRESNET, .scale = 2, .blocks = 2, .channels = 16, .in_channels = 3, .out_channels = 3};
    c->hr_dir = hr_dir, c->lr_dir = dark_dir, c->out_dir = out;
    c->iters = iters, c->batch = 4, c->patch = 32, c->threads = 2;
    c->lr_g = 2e-3, c->schedule = "constant";
    c->log_every = 10, c->ckpt_every = 0, c->val_every = 0, c->quiet = 1;
}

/* mean of the l_pix column over rows [from, to) of a log */
static double log_loss(const char *out, int from, int to)
{
    char path[4400], line[1024];
    snprintf(path, sizeof path, "%s/log.csv", out);
    FILE *f = fopen(path, "r");
    if (!f) return NAN;
    double s = 0;
    int row = -1, n = 0;
    while (fgets(line, sizeof line, f)) {
        if (row >= from && row < to) {
            char *p = strchr(line, ',');
            p = p ? strchr(p + 1, ',') : NULL;
            if (p) s += strtod(p + 1, NULL), n++;
        }
        row++;
    }
    fclose(f);
    return n ? s / n : NAN;
}

/* Validation runs the generator on whole images in pooled arenas; the
 * training loop hands them back to the system after each validation instead
 * of holding them through the steps until the next one. */
static void test_validation_memory_released(void)
{
    char out[4400], val[4400];
    snprintf(out, sizeof out, "%s/valmem", root);
    snprintf(val, sizeof val, "%s/tests/fixtures/train/val/hr", TEST_SRCDIR());
    sr_train_config c;
    base_config(&c, out, 2);
    c.val_dir = val, c.val_every = 1, c.val_samples = 0;
    sr_arena_pool_clear();
    sr_error err = {0};
    CHECK_MSG(sr_train_run(&c, NULL, &err) == 0, "%s", err.msg);
    CHECK_MSG(sr_arena_pool_bytes() == 0, "%zu bytes of arenas held after training",
              sr_arena_pool_bytes());
}

static void test_overfit(void)
{
    char out[4400];
    snprintf(out, sizeof out, "%s/overfit", root);
    sr_train_config c;
    base_config(&c, out, 800);
    sr_error err = {0};
    CHECK_MSG(sr_train_run(&c, NULL, &err) == 0, "%s", err.msg);
    double first = log_loss(out, 0, 1), last = log_loss(out, 76, 80);
    fprintf(stderr, "overfit: l_pix %.5f -> %.5f (%.1fx)\n", first, last, first / last);
    CHECK_MSG(first / last > 10, "loss fell only %.2fx", first / last);
    char path[4600];
    struct stat st;
    snprintf(path, sizeof path, "%s/curves.png", out);
    CHECK(stat(path, &st) == 0 && st.st_size > 1000);
    snprintf(path, sizeof path, "%s/model.safetensors", out);
    sr_generator *g = sr_generator_load(path, &err); /* exported model loads as a model */
    CHECK_MSG(g && sr_generator_meta(g, "iterations") && !strcmp(sr_generator_meta(g, "iterations"), "800"),
              "%s", err.msg);
    sr_generator_free(g);
}

static int same_file_tensors(const char *a, const char *b)
{
    sr_error err = {0};
    sr_safetensors *x = sr_safetensors_open(a, &err), *y = sr_safetensors_open(b, &err);
    int same = x && y && sr_safetensors_count(x) == sr_safetensors_count(y);
    for (int i = 0; same && i < sr_safetensors_count(x); i++) {
        const char *name = sr_safetensors_name(x, i);
        int64_t s1[8], s2[8];
        int nd = sr_safetensors_shape(x, name, s1);
        same = nd == sr_safetensors_shape(y, name, s2) && !memcmp(s1, s2, nd * sizeof *s1);
        size_t n = 1;
        for (int k = 0; k < nd; k++) n *= (size_t)s1[k];
        float *p = malloc(n * 4 + 4), *q = malloc(n * 4 + 4);
        if (same) same = !sr_safetensors_read(x, name, nd, s1, p, &err) &&
                         !sr_safetensors_read(y, name, nd, s2, q, &err) && !memcmp(p, q, n * 4);
        if (!same) fprintf(stderr, "tensor %s differs\n", name);
        free(p);
        free(q);
    }
    const char *keys[] = {"iteration", "adam_g_step", "seed"};
    for (int k = 0; same && k < 3; k++)
        same = !strcmp(sr_safetensors_meta(x, keys[k]), sr_safetensors_meta(y, keys[k]));
    sr_safetensors_close(x);
    sr_safetensors_close(y);
    return same;
}

static void test_resume_bit_exact(void)
{
    char a[4400], b[4400], pa[4600], pb[4600];
    snprintf(a, sizeof a, "%s/full", root);
    snprintf(b, sizeof b, "%s/halves", root);
    sr_train_config c;
    sr_error err = {0};
    base_config(&c, a, 20);
    c.augment = 1;
    CHECK_MSG(sr_train_run(&c, NULL, &err) == 0, "%s", err.msg);
    base_config(&c, b, 10);
    CHECK_MSG(sr_train_run(&c, NULL, &err) == 0, "%s", err.msg);
    snprintf(pb, sizeof pb, "%s/checkpoint.safetensors", b);
    base_config(&c, b, 20);
    c.resume = pb;
    CHECK_MSG(sr_train_run(&c, NULL, &err) == 0, "%s", err.msg);
    snprintf(pa, sizeof pa, "%s/checkpoint.safetensors", a);
    CHECK(same_file_tensors(pa, pb));
}

static void test_bad_checkpoints(void)
{
    char a[4400], ck[4600], bad[4600];
    snprintf(a, sizeof a, "%s/full", root);
    snprintf(ck, sizeof ck, "%s/checkpoint.safetensors", a);
    sr_train_config c;
    sr_error err = {0};
    /* mismatched architecture */
    base_config(&c, a, 30);
    c.gen.blocks = 3;
    c.resume = ck;
    CHECK(sr_train_run(&c, NULL, &err) == -1);
    CHECK_MSG(strstr(err.msg, "blocks") && strstr(err.msg, "mismatched"), "%s", err.msg);
    sr_error_clear(&err);
    /* corrupt: truncated copy */
    snprintf(bad, sizeof bad, "%s/corrupt.safetensors", root);
    FILE *in = fopen(ck, "rb"), *out = fopen(bad, "wb");
    char buf[4096];
    size_t n, total = 0;
    while (in && out && (n = fread(buf, 1, sizeof buf, in)) > 0 && total < 20000)
        fwrite(buf, 1, n, out), total += n;
    if (in) fclose(in);
    if (out) fclose(out);
    base_config(&c, a, 30);
    c.resume = bad;
    CHECK(sr_train_run(&c, NULL, &err) == -1);
    CHECK_MSG(err.code != SR_OK && strstr(err.msg, "corrupt.safetensors"), "%s", err.msg);
    sr_error_clear(&err);
    /* garbage header */
    out = fopen(bad, "wb");
    if (out) fputs("\x10\0\0\0\0\0\0\0{not json at all", out), fclose(out);
    CHECK(sr_train_run(&c, NULL, &err) == -1);
    CHECK_MSG(strstr(err.msg, "corrupt.safetensors"), "%s", err.msg);
    sr_error_clear(&err);
    /* an exported model is not a checkpoint */
    snprintf(bad, sizeof bad, "%s/model.safetensors", a);
    c.resume = bad;
    CHECK(sr_train_run(&c, NULL, &err) == -1);
    CHECK_MSG(strstr(err.msg, "not an srgan-train checkpoint"), "%s", err.msg);
    sr_error_clear(&err);
    /* wrong phase */
    sr_train_config_defaults(&c, SR_PHASE_GAN);
    c.hr_dir = hr_dir, c.out_dir = a, c.quiet = 1, c.patch = 32, c.batch = 2;
    c.resume = ck, c.init = ck, c.vgg_path = "/nonexistent";
    CHECK(sr_train_run(&c, NULL, &err) == -1);
    CHECK_MSG(strstr(err.msg, "phase 'psnr'"), "%s", err.msg);
}

/* --degrade real: exact resume too (each sample's degradation has its own
 * stream), and a malformed parameter file or --degrade with --lr fails
 * with one line naming the problem */
static void test_degrade_resume_and_errors(void)
{
    char a[4400], b[4400], pa[4600], pb[4600], bad[4600];
    snprintf(a, sizeof a, "%s/deg_full", root);
    snprintf(b, sizeof b, "%s/deg_halves", root);
    sr_train_config c;
    sr_error err = {0};
    base_config(&c, a, 8);
    c.lr_dir = NULL, c.degrade = "real";
    CHECK_MSG(sr_train_run(&c, NULL, &err) == 0, "%s", err.msg);
    base_config(&c, b, 4);
    c.lr_dir = NULL, c.degrade = "real";
    CHECK_MSG(sr_train_run(&c, NULL, &err) == 0, "%s", err.msg);
    snprintf(pb, sizeof pb, "%s/checkpoint.safetensors", b);
    base_config(&c, b, 8);
    c.lr_dir = NULL, c.degrade = "real", c.resume = pb;
    CHECK_MSG(sr_train_run(&c, NULL, &err) == 0, "%s", err.msg);
    snprintf(pa, sizeof pa, "%s/checkpoint.safetensors", a);
    CHECK(same_file_tensors(pa, pb));
    snprintf(bad, sizeof bad, "%s/bad_degrade.ini", root);
    FILE *f = fopen(bad, "w");
    if (f) fputs("pipeline = microscopy\nphotons = 100, 10\n", f), fclose(f);
    base_config(&c, a, 8);
    c.lr_dir = NULL, c.degrade = bad;
    CHECK(sr_train_run(&c, NULL, &err) == -1);
    CHECK_MSG(strstr(err.msg, "bad_degrade.ini:2: photons") && !strchr(err.msg, '\n'), "%s",
              err.msg);
    sr_error_clear(&err);
    base_config(&c, a, 8);
    c.degrade = "real"; /* with paired LR */
    CHECK(sr_train_run(&c, NULL, &err) == -1);
    CHECK_MSG(strstr(err.msg, "--lr"), "%s", err.msg);
}

int main(void)
{
    make_data();
    RUN(test_empty_dirs);
    RUN(test_paired_size_error);
    RUN(test_unsupported_types);
    RUN(test_lr_synthesis_exact);
    RUN(test_validation_memory_released);
    RUN(test_overfit);
    RUN(test_resume_bit_exact);
    RUN(test_bad_checkpoints);
    RUN(test_degrade_resume_and_errors);
    return testlib_summary();
}
