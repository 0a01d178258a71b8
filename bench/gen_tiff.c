/* gen_tiff.c: write a large test TIFF, streaming, through the public writer.
 *
 *     gen_tiff OUT.tif [WIDTH HEIGHT [rgb8|gray16|gray8|rgb16|grayf32 [PAGES
 *              [deflate|none|lzw|zstd]]]]
 *
 * Defaults: 16000 x 16000 rgb8, 1 page, Deflate. The content is a smooth
 * pattern with fine detail (rings plus a little hashed noise), so resamplers
 * have real work and Deflate still compresses well. Memory stays at one band
 * of rows however large the image is: this is the input of the streaming
 * peak-RSS benchmark (issue 2) and of the 4+ GiB stack benchmark (issue 6).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "srgan/image.h"

#define BAND 64 /* rows per write call */

static uint32_t hash(uint32_t x)
{
    x ^= x >> 16;
    x *= 0x7feb352dU;
    x ^= x >> 15;
    x *= 0x846ca68bU;
    x ^= x >> 16;
    return x;
}

/* Pattern value in 0..1 for pixel (x, y), channel c, page p. */
static float pattern(int x, int y, int c, int p, int w, int h)
{
    float fx = (float)x / (float)w, fy = (float)y / (float)h;
    float r = sqrtf((fx - 0.5f) * (fx - 0.5f) + (fy - 0.5f) * (fy - 0.5f));
    float v = 0.35f + 0.25f * sinf(r * (90.0f + 10.0f * (float)c) + (float)p) +
              0.25f * (c == 0 ? fx : c == 1 ? fy : 1.0f - fx);
    v += (float)(hash((uint32_t)(y * 40503 + x) * 4u + (uint32_t)c) & 255) / 255.0f * 0.1f;
    return v < 0 ? 0 : v > 1 ? 1 : v;
}

static void fill_band(void *buf, const sr_image_info *in, int y0, int rows, int page)
{
    size_t i = 0;
    for (int y = y0; y < y0 + rows; y++)
        for (int x = 0; x < in->width; x++)
            for (int c = 0; c < in->channels; c++, i++) {
                float v = pattern(x, y, c, page, in->width, in->height);
                if (in->dtype == SR_U8)
                    ((uint8_t *)buf)[i] = (uint8_t)lrintf(v * 255.0f);
                else if (in->dtype == SR_U16)
                    ((uint16_t *)buf)[i] = (uint16_t)lrintf(v * 65535.0f);
                else
                    ((float *)buf)[i] = v;
            }
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 7) {
        fprintf(stderr, "usage: %s OUT.tif [WIDTH HEIGHT [rgb8|rgb16|gray8|gray16|grayf32 "
                        "[PAGES [deflate|none|lzw|zstd]]]]\n", argv[0]);
        return 2;
    }
    sr_image_info info;
    memset(&info, 0, sizeof info);
    info.width = argc > 3 ? atoi(argv[2]) : 16000;
    info.height = argc > 3 ? atoi(argv[3]) : 16000;
    const char *type = argc > 4 ? argv[4] : "rgb8";
    info.channels = strncmp(type, "rgb", 3) == 0 ? 3 : 1;
    info.dtype = strstr(type, "16") ? SR_U16 : strstr(type, "f32") ? SR_F32 : SR_U8;
    info.pages = argc > 5 ? atoi(argv[5]) : 1;
    info.format = SR_FMT_TIFF;
    info.meta.srgb_intent = -1;
    info.meta.res_unit = SR_RES_CM;
    info.meta.xres = info.meta.yres = 10000; /* 1 um pixels */
    sr_write_opts opts = {.overwrite = 1, .software = "srgan-up bench/gen_tiff"};
    const char *comp = argc > 6 ? argv[6] : "deflate";
    opts.compression = !strcmp(comp, "none") ? SR_TIFF_NONE
                       : !strcmp(comp, "lzw") ? SR_TIFF_LZW
                       : !strcmp(comp, "zstd") ? SR_TIFF_ZSTD
                                               : SR_TIFF_DEFLATE;
    if (info.width <= 0 || info.height <= 0 || info.pages <= 0) {
        fprintf(stderr, "gen_tiff: bad size\n");
        return 2;
    }

    sr_error err = {0};
    sr_writer *w = sr_writer_open(argv[1], SR_FMT_TIFF, &info, &opts, &err);
    if (!w) {
        fprintf(stderr, "gen_tiff: %s\n", err.msg);
        return 1;
    }
    void *buf = malloc(sr_row_bytes(&info) * BAND);
    if (!buf) {
        sr_writer_abort(w);
        fprintf(stderr, "gen_tiff: out of memory\n");
        return 1;
    }
    for (int p = 0; p < info.pages && !err.code; p++) {
        info.page = p;
        if (p > 0 && sr_writer_next_page(w, &info, &err))
            break;
        for (int y = 0; y < info.height; y += BAND) {
            int rows = info.height - y < BAND ? info.height - y : BAND;
            fill_band(buf, &info, y, rows, p);
            if (sr_writer_write_rows(w, buf, rows, &err))
                break;
        }
    }
    free(buf);
    if (err.code) {
        sr_writer_abort(w);
        fprintf(stderr, "gen_tiff: %s\n", err.msg);
        return 1;
    }
    if (sr_writer_finish(w, &err)) {
        fprintf(stderr, "gen_tiff: %s\n", err.msg);
        return 1;
    }
    return 0;
}
