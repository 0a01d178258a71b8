/* pipeline.c: pull every row of the last stage and hand it to a writer. */
#include "srgan/pipeline.h"

#include <stdlib.h>

int sr_pipeline_run(sr_stage *s, sr_writer *w, int band_rows, const sr_progress *p, sr_error *err)
{
    if (band_rows <= 0)
        band_rows = 16;
    if (band_rows > s->height)
        band_rows = s->height;
    const sr_image_info *wi = sr_writer_info(w);
    if (wi->width != s->width || wi->channels != s->channels || wi->height != s->height) {
        sr_error_set(err, SR_ERR_ARG, "internal: stage %dx%dx%d does not match writer %dx%dx%d",
                     s->width, s->height, s->channels, wi->width, wi->height, wi->channels);
        return -1;
    }
    sr_dtype out_type = wi->dtype;
    size_t row_samples = (size_t)s->width * s->channels;
    float *band = malloc(row_samples * band_rows * sizeof(float) + 1);
    void *raw = malloc(row_samples * band_rows * 4 + 1);
    if (!band || !raw) {
        free(band);
        free(raw);
        sr_error_set(err, SR_ERR_NOMEM, "out of memory for a %d-row band", band_rows);
        return -1;
    }
    int rc = 0;
    for (int y = 0; y < s->height; y += band_rows) {
        int n = s->height - y < band_rows ? s->height - y : band_rows;
        if (sr_stage_pull(s, y, n, band, err)) {
            rc = -1;
            break;
        }
        sr_samples_from_float(band, out_type, row_samples * n, raw);
        if (sr_writer_write_rows(w, raw, n, err)) {
            rc = -1;
            break;
        }
        if (p && p->cb && p->cb(p->user, y + n, s->height)) {
            sr_error_set(err, SR_ERR_INTERRUPTED, "interrupted");
            rc = -1;
            break;
        }
    }
    free(band);
    free(raw);
    return rc;
}
