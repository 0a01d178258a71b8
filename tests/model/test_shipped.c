/* The shipped weights are the product: each loads, and on Set5 images
 * (LR made the standard way, MATLAB bicubic) the PSNR models beat bicubic
 * clearly, and the GAN model keeps a PSNR floor while putting back more fine
 * detail than the PSNR model it was tuned from. This guards against a broken
 * or accidentally replaced weights file. */
#include <math.h>
#include <stdint.h>
#include "srgan/degrade.h"
#include "srgan/image.h"
#include "srgan/model.h"
#include "srgan/resample.h"
#include "testlib.h"

/* Whole 8-bit RGB image, interleaved; NULL on failure. */
static uint8_t *read_rgb8(const char *path, int *w, int *h)
{
    sr_error err = {0};
    sr_reader *r = sr_reader_open(path, NULL, &err);
    if (!r)
        return NULL;
    const sr_image_info *in = sr_reader_info(r);
    uint8_t *px = NULL;
    if (in->channels == 3 && in->dtype == SR_U8) {
        px = malloc(sr_row_bytes(in) * (size_t)in->height);
        if (px && sr_reader_read_rows(r, px, in->height, &err)) {
            free(px);
            px = NULL;
        }
        *w = in->width, *h = in->height;
    }
    sr_reader_close(r);
    return px;
}

/* One Set5 image at a model's scale: HR cropped to a multiple of the scale,
 * the bicubic baseline, and the model's output (8-bit RGB, interleaved). */
typedef struct scored {
    int w, h, scale;
    uint8_t *hr, *bicubic, *sr;
} scored;

static void scored_free(scored *r) { free(r->hr), free(r->bicubic), free(r->sr); }

/* run_model_as: the model blended with `partner` at `strength` (srgan-up's
 * --denoise S; partner NULL: as trained), on LR saved as JPEG at quality q
 * (0: no JPEG); bicubic enlarges the same LR. */
static int run_model_as(const char *model, const char *partner, float strength, int q,
                        const char *image, scored *r)
{
    memset(r, 0, sizeof *r);
    sr_error err = {0};
    sr_generator *g = sr_generator_load(model, &err);
    CHECK_MSG(g != NULL, "%s", err.msg);
    if (g && partner) {
        sr_generator *p = sr_generator_load(partner, &err);
        CHECK_MSG(p && sr_generator_blend(g, p, strength, &err) == 0, "%s", err.msg);
        sr_generator_free(p);
    }
    int w, h;
    uint8_t *hr = read_rgb8(image, &w, &h);
    CHECK(hr != NULL);
    if (!g || !hr) {
        sr_generator_free(g);
        free(hr);
        return -1;
    }
    const int s = sr_generator_get_config(g)->scale;
    const int W = w - w % s, H = h - h % s, lw = W / s, lh = H / s;
    uint8_t *crop = malloc((size_t)W * H * 3), *lr = malloc((size_t)lw * lh * 3);
    uint8_t *sr = malloc((size_t)W * H * 3), *bic = malloc((size_t)W * H * 3);
    for (int y = 0; y < H; y++)
        memcpy(crop + (size_t)y * W * 3, hr + (size_t)y * w * 3, (size_t)W * 3);
    CHECK(sr_imresize_u8(crop, W, H, 3, lr, lw, lh, SR_FILTER_BICUBIC, &err) == 0);
    if (q > 0)
        CHECK_MSG(sr_jpeg_roundtrip(lr, lw, lh, 3, q, &err) == 0, "%s", err.msg);
    CHECK(sr_imresize_u8(lr, lw, lh, 3, bic, W, H, SR_FILTER_BICUBIC, &err) == 0);
    sr_tensor x = sr_tensor_alloc(1, 3, lh, lw), y = sr_tensor_alloc(1, 3, H, W);
    for (int c = 0; c < 3; c++)
        for (int i = 0; i < lw * lh; i++)
            x.data[(size_t)c * lw * lh + i] = lr[(size_t)i * 3 + c] / 255.0f;
    CHECK(sr_generator_forward(g, &x, &y, &err) == 0);
    for (int c = 0; c < 3; c++)
        for (int i = 0; i < W * H; i++) {
            float v = y.data[(size_t)c * W * H + i] * 255.0f + 0.5f;
            sr[(size_t)i * 3 + c] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
    sr_tensor_free(&x);
    sr_tensor_free(&y);
    free(lr), free(hr);
    sr_generator_free(g);
    *r = (scored){.w = W, .h = H, .scale = s, .hr = crop, .bicubic = bic, .sr = sr};
    return 0;
}

static int run_model(const char *model, const char *image, scored *r)
{
    return run_model_as(model, NULL, 0, 0, image, r);
}

/* Fine detail: mean |4-neighbour Laplacian| of luma (BT.601, 0..255), away
 * from a border of `shave`. Bicubic and PSNR-trained models average away
 * texture, so they score below the HR image; a GAN model puts some back. */
static double detail(const uint8_t *rgb, int w, int h, int shave)
{
    double sum = 0;
    long n = 0;
#define LUMA(x, y)                                                                          \
    (0.299 * rgb[((size_t)(y) * w + (x)) * 3] + 0.587 * rgb[((size_t)(y) * w + (x)) * 3 + 1] + \
     0.114 * rgb[((size_t)(y) * w + (x)) * 3 + 2])
    for (int y = shave + 1; y < h - shave - 1; y++)
        for (int x = shave + 1; x < w - shave - 1; x++, n++)
            sum += fabs(4 * LUMA(x, y) - LUMA(x - 1, y) - LUMA(x + 1, y) - LUMA(x, y - 1) -
                        LUMA(x, y + 1));
#undef LUMA
    return n ? sum / n : 0;
}

static int model_path(const char *file, char *out, size_t n)
{
    snprintf(out, n, "%s/weights/%s", TEST_SRCDIR(), file);
    FILE *f = fopen(out, "rb");
    CHECK_MSG(f != NULL, "%s is not in weights/: the shipped model is missing", file);
    if (f)
        fclose(f);
    return f ? 0 : -1;
}

/* Limit on the mesh (sr_mesh4, the project's one period-4 measure, in Y
 * levels), averaged over the two images, relative to the HR images' own:
 * issue 10 asks for at most 1.5x. Measured on butterfly and bird: the GAN
 * fine-tune as shipped until 2026-12-01 read 0.63 against HR's 0.18 (3.4x,
 * a mesh plain to see on smooth areas); x4-psnr 0.11; the shipped x4-gan,
 * the network interpolation 0.55 x4-psnr + 0.45 that fine-tune, reads below
 * 1.5x (see weights/README.md). */
#define MESH_MAX_RATIO 1.5

/* The GAN model must draw more fine detail than the PSNR model it ships
 * with. 1.05 until 2026-12-01; the annealed x4-psnr (31.50 dB) is itself
 * sharper (butterfly 16.50 against the old file's ~15), and the detail and
 * the mesh pull the blend ratio in opposite directions: 0.5 x4-psnr reads
 * 1.03x detail on butterfly but a 1.45x mesh; the shipped 0.55 reads 1.02x
 * and 1.08x detail, a 1.30x mesh. x4-psnr itself, or any blur, reads <= 1.0x
 * and fails. */
#define DETAIL_MIN_RATIO 1.01

static const char *const images[] = {"butterfly", "bird"};

static void set5_path(int i, char *out, size_t n)
{
    snprintf(out, n, "%s/data/val/Set5/%s.png", TEST_SHARED(), images[i]);
}

/* A PSNR-oriented model: at least min_gain dB above bicubic on each image. */
static void check_psnr_model(const char *file, double min_gain)
{
    char model[1024], image[1024];
    if (model_path(file, model, sizeof model))
        return;
    for (int i = 0; i < 2; i++) {
        set5_path(i, image, sizeof image);
        scored r;
        if (run_model(model, image, &r))
            continue;
        double pm = sr_psnr_y(r.sr, r.hr, r.w, r.h, 3, r.scale);
        double pb = sr_psnr_y(r.bicubic, r.hr, r.w, r.h, 3, r.scale);
        printf("%s on %s: %.2f dB, bicubic %.2f dB\n", file, images[i], pm, pb);
        CHECK_MSG(pm > pb + min_gain, "%s on %s: %.2f dB is not %.1f dB above bicubic %.2f", file,
                  images[i], pm, min_gain, pb);
        scored_free(&r);
    }
}

/* The GAN model against the PSNR model it was tuned from: still above
 * bicubic in PSNR, and more fine detail than the PSNR model, yet not more
 * than the HR image has by a wide margin (which would be noise, not texture),
 * and no strong LR-periodic mesh. */
static void check_gan_model(const char *file, const char *psnr_file)
{
    char gan[1024], psnr[1024], image[1024];
    if (model_path(file, gan, sizeof gan) || model_path(psnr_file, psnr, sizeof psnr))
        return;
    double mesh = 0, mesh_hr = 0;
    for (int i = 0; i < 2; i++) {
        set5_path(i, image, sizeof image);
        scored a, b;
        if (run_model(gan, image, &a))
            continue;
        if (run_model(psnr, image, &b)) {
            scored_free(&a);
            continue;
        }
        const int s = a.scale;
        double pg = sr_psnr_y(a.sr, a.hr, a.w, a.h, 3, s), pb = sr_psnr_y(a.bicubic, a.hr, a.w, a.h, 3, s);
        double dg = detail(a.sr, a.w, a.h, s), dp = detail(b.sr, b.w, b.h, s);
        double dh = detail(a.hr, a.w, a.h, s), db = detail(a.bicubic, a.w, a.h, s);
        CHECK_MSG(s == 4, "%s: sr_mesh4 measures an x4 model's mesh; this one is x%d", file, s);
        double mg = sr_mesh4(a.sr, a.w, a.h, 3), mp = sr_mesh4(b.sr, b.w, b.h, 3);
        double mh = sr_mesh4(a.hr, a.w, a.h, 3);
        printf("%s on %s: %.2f dB (bicubic %.2f); detail gan %.2f, psnr %.2f, bicubic %.2f, HR %.2f; "
               "mesh gan %.3f, psnr %.3f, HR %.3f\n",
               file, images[i], pg, pb, dg, dp, db, dh, mg, mp, mh);
        CHECK_MSG(pg > pb, "%s on %s: %.2f dB is below bicubic %.2f", file, images[i], pg, pb);
        CHECK_MSG(dg > dp * DETAIL_MIN_RATIO, "%s on %s: detail %.2f is not above the PSNR model's %.2f", file,
                  images[i], dg, dp);
        CHECK_MSG(dg < dh * 1.5, "%s on %s: detail %.2f is far above HR's %.2f (noise)", file,
                  images[i], dg, dh);
        mesh += mg / 2;
        mesh_hr += mh / 2;
        scored_free(&a);
        scored_free(&b);
    }
    CHECK_MSG(mesh <= MESH_MAX_RATIO * mesh_hr,
              "%s: a period-4 mesh of %.3f levels on average, over %.1fx HR's %.3f", file, mesh,
              MESH_MAX_RATIO, mesh_hr);
}

static void test_x4_psnr(void) { check_psnr_model("x4-psnr.safetensors", 1.0); }
static void test_x2_psnr(void) { check_psnr_model("x2-psnr.safetensors", 1.0); }
static void test_x4_gan(void) { check_gan_model("x4-gan.safetensors", "x4-psnr.safetensors"); }

/* x4-real as srgan-up runs it by default (blended with its denoise partner
 * x4-psnr at its default strength 0.5), on the input it is for: LR saved as
 * JPEG quality 75. It must gain over bicubic of the same JPEG LR by at
 * least 0.8 dB and over x4-psnr (which sharpens the blocks), and being a
 * GAN model, draw no period-4 mesh (at most 1.5x HR's, as x4-gan). The
 * shipped GAN x4-real (2026-12-02) reads butterfly +2.71 dB, bird +0.98
 * (x4-psnr +1.58, -0.19), mesh 0.169 against HR's 0.183; the L1 model
 * before it +2.97, +1.04, 0.120; x4-psnr in its place fails. */
static void test_x4_real(void)
{
    char real[1024], psnr[1024], image[1024];
    if (model_path("x4-real.safetensors", real, sizeof real) ||
        model_path("x4-psnr.safetensors", psnr, sizeof psnr))
        return;
    double mesh = 0, mesh_hr = 0;
    for (int i = 0; i < 2; i++) {
        set5_path(i, image, sizeof image);
        scored a, b;
        if (run_model_as(real, psnr, 0.5f, 75, image, &a))
            continue;
        if (run_model_as(psnr, NULL, 0, 75, image, &b)) {
            scored_free(&a);
            continue;
        }
        double pr = sr_psnr_y(a.sr, a.hr, a.w, a.h, 3, 4), pb = sr_psnr_y(a.bicubic, a.hr, a.w, a.h, 3, 4);
        double pp = sr_psnr_y(b.sr, b.hr, b.w, b.h, 3, 4);
        double mr = sr_mesh4(a.sr, a.w, a.h, 3), mh = sr_mesh4(a.hr, a.w, a.h, 3);
        printf("x4-real (denoise 0.5) on %s, JPEG q75 LR: %.2f dB, x4-psnr %.2f, bicubic %.2f; "
               "mesh %.3f, HR %.3f\n", images[i], pr, pp, pb, mr, mh);
        CHECK_MSG(pr > pb + 0.8, "x4-real on %s (JPEG q75): %.2f dB is not 0.8 dB above bicubic %.2f",
                  images[i], pr, pb);
        CHECK_MSG(pr > pp, "x4-real on %s (JPEG q75): %.2f dB is not above x4-psnr's %.2f", images[i],
                  pr, pp);
        mesh += mr / 2;
        mesh_hr += mh / 2;
        scored_free(&a);
        scored_free(&b);
    }
    CHECK_MSG(mesh <= MESH_MAX_RATIO * mesh_hr,
              "x4-real: a period-4 mesh of %.3f levels on average, over %.1fx HR's %.3f", mesh,
              MESH_MAX_RATIO, mesh_hr);
}

/* PSNR (peak 1) of a against b, w x h floats, border b pixels dropped. */
static double psnr1(const float *a, const float *ref, int w, int h, int border)
{
    double se = 0;
    long n = 0;
    for (int y = border; y < h - border; y++)
        for (int x = border; x < w - border; x++, n++) {
            double d = (double)a[(size_t)y * w + x] - ref[(size_t)y * w + x];
            se += d * d;
        }
    return 10 * log10(1.0 / (se / n));
}

/* The x2 microscopy models on two held-out 16-bit captures (not in their
 * training data), in the trainer's units (percentile-normalised): the
 * noise-aware fluo-x2 on LR made by the microscopy degradation (PSF sigma
 * 1, 100 photons, read noise 0.01) clearly above bicubic of that LR, and
 * fluo-x2-clean on a clean bicubic LR above bicubic. Measured (the mean of
 * the two): fluo-x2 +5.2 dB on camera LR, fluo-x2-clean +1.7 dB on
 * clean LR; a photo-style model that sharpens the noise scores below bicubic
 * on camera LR. */
static void test_fluo(void)
{
    static const char *const names[] = {"worms_7", "bbbc007_6"};
    char noisy[1024], clean[1024], path[1024];
    if (model_path("fluo-x2.safetensors", noisy, sizeof noisy) ||
        model_path("fluo-x2-clean.safetensors", clean, sizeof clean))
        return;
    sr_error err = {0};
    sr_generator *gn = sr_generator_load(noisy, &err), *gc = sr_generator_load(clean, &err);
    CHECK_MSG(gn && gc, "%s", err.msg);
    double gain_noisy = 0, gain_clean = 0;
    for (int i = 0; i < 2 && gn && gc; i++) {
        snprintf(path, sizeof path, "%s/data/micro/u16/%s.tif", TEST_SHARED(), names[i]);
        int w, h;
        double quant;
        float *full = sr_load_image_planar_q(path, 1, &w, &h, &quant, &err);
        CHECK_MSG(full != NULL, "%s", err.msg);
        if (!full)
            break;
        /* a 256x256 crop keeps the test quick; W, H even */
        const int W = w < 256 ? w & ~1 : 256, H = h < 256 ? h & ~1 : 256, lw = W / 2, lh = H / 2;
        float *hr = malloc(sizeof(float) * W * H), *lr = malloc(sizeof(float) * lw * lh);
        float *bic = malloc(sizeof(float) * W * H);
        for (int y = 0; y < H; y++)
            memcpy(hr + (size_t)y * W, full + (size_t)(h - H) / 2 * w + (size_t)y * w + (w - W) / 2,
                   sizeof(float) * W);
        for (int k = 0; k < 2; k++) {
            if (k == 0) {
                sr_degrade_params p;
                sr_degrade_preset(SR_DEGRADE_MICROSCOPY, &p);
                p.psf_sigma[0] = p.psf_sigma[1] = 1.0;
                p.photons[0] = p.photons[1] = 100;
                p.read_noise[0] = p.read_noise[1] = 0.01;
                p.offset[0] = p.offset[1] = 0.02;
                sr_rng rng;
                sr_rng_seed(&rng, 7, (uint64_t)i);
                CHECK(sr_degrade_apply(&p, &rng, hr, W, H, 1, lr, lw, lh, quant, &err) == 0);
            } else {
                CHECK(sr_imresize(hr, W, H, 1, lr, lw, lh, SR_FILTER_BICUBIC, &err) == 0);
            }
            CHECK(sr_imresize(lr, lw, lh, 1, bic, W, H, SR_FILTER_BICUBIC, &err) == 0);
            sr_tensor x = sr_tensor_alloc(1, 1, lh, lw), y = sr_tensor_alloc(1, 1, H, W);
            memcpy(x.data, lr, sizeof(float) * lw * lh);
            CHECK(sr_generator_forward(k == 0 ? gn : gc, &x, &y, &err) == 0);
            double pm = psnr1(y.data, hr, W, H, 2), pb = psnr1(bic, hr, W, H, 2);
            printf("%s on %s, %s LR: %.2f dB, bicubic %.2f dB\n", k == 0 ? "fluo-x2" : "fluo-x2-clean",
                   names[i], k == 0 ? "camera" : "clean", pm, pb);
            if (k == 0)
                gain_noisy += (pm - pb) / 2;
            else
                gain_clean += (pm - pb) / 2;
            sr_tensor_free(&x);
            sr_tensor_free(&y);
        }
        free(hr), free(lr), free(bic), free(full);
    }
    CHECK_MSG(gain_noisy > 1.0, "fluo-x2 on camera-degraded LR: %.2f dB over bicubic (want > 1.0)",
              gain_noisy);
    CHECK_MSG(gain_clean > 0.3, "fluo-x2-clean on clean LR: %.2f dB over bicubic (want > 0.3)",
              gain_clean);
    sr_generator_free(gn);
    sr_generator_free(gc);
}

int main(void)
{
    char probe[1024];
    snprintf(probe, sizeof probe, "%s/data/val/Set5/bird.png", TEST_SHARED());
    FILE *f = fopen(probe, "rb");
    if (!f)
        testlib_skip("../shared/data/val/Set5 absent");
    fclose(f);
    RUN(test_x4_psnr);
    RUN(test_x2_psnr);
    RUN(test_x4_gan);
    RUN(test_x4_real);
    RUN(test_fluo);
    return testlib_summary();
}
