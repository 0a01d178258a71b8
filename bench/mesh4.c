/* mesh4: the period-4 mesh measure (sr_mesh4, the C port of
 * ../shared/peers/mesh4.py) of 8-bit images, to check x4 GAN outputs for a
 * printed grid.
 *
 *   mesh4 IMG [IMG ...]     prints "mesh4 VALUE PATH" per image, then the mean
 * Exit 1 if an image cannot be read or is not 8-bit. */
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include "srgan/image.h"
#include "srgan/resample.h"

static double one(const char *path, sr_error *err)
{
    sr_reader *r = sr_reader_open(path, NULL, err);
    if (!r) return NAN;
    const sr_image_info *in = sr_reader_info(r);
    double v = NAN;
    uint8_t *px = NULL;
    if (in->dtype != SR_U8) {
        sr_error_set(err, SR_ERR_UNSUPPORTED, "%s: mesh4 reads 8-bit images only", path);
    } else if (!(px = malloc(sr_row_bytes(in) * (size_t)in->height))) {
        sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", path);
    } else if (!sr_reader_read_rows(r, px, in->height, err)) {
        v = sr_mesh4(px, in->width, in->height, in->channels);
        if (isnan(v)) sr_error_set(err, SR_ERR_ARG, "%s: smaller than 20x20", path);
    }
    free(px);
    sr_reader_close(r);
    return v;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: mesh4 IMG [IMG ...]\n");
        return 2;
    }
    double sum = 0;
    int n = 0, rc = 0;
    for (int i = 1; i < argc; i++) {
        sr_error err = {0};
        double v = one(argv[i], &err);
        if (isnan(v)) {
            fprintf(stderr, "mesh4: %s\n", err.msg);
            rc = 1;
            continue;
        }
        printf("mesh4 %.4f %s\n", v, argv[i]);
        sum += v, n++;
    }
    if (n > 1) printf("mean %.4f n=%d\n", sum / n, n);
    return rc;
}
