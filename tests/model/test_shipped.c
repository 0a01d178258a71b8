/* The shipped weights are the product: each loads, and on Set5 images
 * (LR made the standard way, MATLAB bicubic) it beats bicubic clearly.
 * This guards against a broken or accidentally replaced weights file. */
#include <stdint.h>
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

/* PSNR(Y) of model and of bicubic against HR, at the model's scale. */
static void score(const char *model, const char *image, double *psnr_model, double *psnr_bicubic)
{
    *psnr_model = *psnr_bicubic = 0;
    sr_error err = {0};
    sr_generator *g = sr_generator_load(model, &err);
    CHECK_MSG(g != NULL, "%s", err.msg);
    int w, h;
    uint8_t *hr = read_rgb8(image, &w, &h);
    CHECK(hr != NULL);
    if (!g || !hr) {
        sr_generator_free(g);
        free(hr);
        return;
    }
    const int s = sr_generator_get_config(g)->scale;
    const int W = w - w % s, H = h - h % s, lw = W / s, lh = H / s;
    uint8_t *crop = malloc((size_t)W * H * 3), *lr = malloc((size_t)lw * lh * 3);
    uint8_t *sr = malloc((size_t)W * H * 3), *bic = malloc((size_t)W * H * 3);
    for (int y = 0; y < H; y++)
        memcpy(crop + (size_t)y * W * 3, hr + (size_t)y * w * 3, (size_t)W * 3);
    CHECK(sr_imresize_u8(crop, W, H, 3, lr, lw, lh, SR_FILTER_BICUBIC, &err) == 0);
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
    *psnr_model = sr_psnr_y(sr, crop, W, H, 3, s);
    *psnr_bicubic = sr_psnr_y(bic, crop, W, H, 3, s);
    sr_tensor_free(&x);
    sr_tensor_free(&y);
    free(crop), free(lr), free(sr), free(bic), free(hr);
    sr_generator_free(g);
}

static void check_model(const char *file, double min_gain)
{
    char model[1024], image[1024];
    snprintf(model, sizeof model, "%s/weights/%s", TEST_SRCDIR(), file);
    FILE *f = fopen(model, "rb");
    CHECK_MSG(f != NULL, "%s is not in weights/: the shipped model is missing", file);
    if (!f)
        return;
    fclose(f);
    static const char *const names[] = {"butterfly", "bird"};
    for (int i = 0; i < 2; i++) {
        snprintf(image, sizeof image, "%s/data/val/Set5/%s.png", TEST_SHARED(), names[i]);
        double pm, pb;
        score(model, image, &pm, &pb);
        printf("%s on %s: %.2f dB, bicubic %.2f dB\n", file, names[i], pm, pb);
        CHECK_MSG(pm > pb + min_gain, "%s on %s: %.2f dB is not %.1f dB above bicubic %.2f", file,
                  names[i], pm, min_gain, pb);
    }
}

static void test_x4_psnr(void) { check_model("x4-psnr.safetensors", 1.0); }
static void test_x2_psnr(void) { check_model("x2-psnr.safetensors", 1.0); }

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
    return testlib_summary();
}
