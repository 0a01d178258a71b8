/* fuzz_read.c: the PNG, JPEG and TIFF readers through the public API
 * (sr_reader_open, sr_reader_read_rows, sr_reader_next_page), as the
 * pipeline uses them: every row of every page, in bands.
 *
 * Built once per format with FUZZ_FORMAT = SR_FMT_PNG, SR_FMT_JPEG or
 * SR_FMT_TIFF: inputs whose magic bytes are another format's are ignored,
 * so each campaign stays on its decoder (all three would otherwise drift
 * towards whichever is easiest to get through). See README.md here.
 */
#include "fuzz_common.h"

#include "srgan/image.h"

#ifndef FUZZ_FORMAT
#error "define FUZZ_FORMAT (SR_FMT_PNG, SR_FMT_JPEG or SR_FMT_TIFF)"
#endif

/* Limits that keep one input fast (the fuzzer wants thousands a second):
 * whole-image decodes are refused above FUZZ_MAX_PIXELS by the reader
 * itself; streamed pages with more samples than FUZZ_MAX_SAMPLES are opened
 * but their rows not read, at most FUZZ_MAX_PAGES pages are visited. */
#define FUZZ_MAX_PIXELS (1u << 20)
#define FUZZ_MAX_SAMPLES ((uint64_t)1 << 22)
#define FUZZ_MAX_PAGES 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (sr_format_from_magic(data, size) != FUZZ_FORMAT)
        return 0;
    const char *path = fuzz_file(data, size);
    sr_read_opts opts = {.max_pixels = FUZZ_MAX_PIXELS};
    sr_error err = {0};
    sr_reader *r = sr_reader_open(path, &opts, &err);
    if (!r) {
        fuzz_check_error(&err, path, "open");
        return 0;
    }
    void *buf = NULL;
    for (int page = 0; page < FUZZ_MAX_PAGES; page++) {
        const sr_image_info *info = sr_reader_info(r);
        if (info->width <= 0 || info->height <= 0 || info->channels < 1 || info->channels > 4 ||
            info->page != page || info->pages < page + 1) {
            fprintf(stderr, "srgan-fuzz: reader handed out %dx%d, %d channels, page %d of %d\n",
                    info->width, info->height, info->channels, info->page, info->pages);
            abort();
        }
        if (fuzz_verbose())
            fprintf(stderr, "  page %d of %d: %dx%d, %d channel(s), dtype %d\n", page + 1,
                    info->pages, info->width, info->height, info->channels, (int)info->dtype);
        uint64_t samples = (uint64_t)info->width * info->height * info->channels;
        if (samples <= FUZZ_MAX_SAMPLES) {
            const int band = 7; /* an odd band size, as the pipeline's vary */
            size_t row = sr_row_bytes(info);
            free(buf);
            buf = malloc(row * band);
            if (!buf)
                break;
            int failed = 0;
            for (int y = 0; y < info->height && !failed; y += band) {
                int n = info->height - y < band ? info->height - y : band;
                if (sr_reader_read_rows(r, buf, n, &err)) {
                    fuzz_check_error(&err, path, "read_rows");
                    failed = 1;
                }
            }
            if (failed)
                break;
        }
        int moved = sr_reader_next_page(r, &err);
        if (moved < 0)
            fuzz_check_error(&err, path, "next_page");
        if (moved != 1)
            break;
    }
    free(buf);
    sr_reader_close(r);
    return 0;
}
