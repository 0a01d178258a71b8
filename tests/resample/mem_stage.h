/* mem_stage.h: a source stage over an in-memory float image for the
 * resample tests. It checks that rows are pulled in order and records the
 * largest single pull (the consumer's window). */
#ifndef TEST_RESAMPLE_MEM_STAGE_H
#define TEST_RESAMPLE_MEM_STAGE_H

#include <stdlib.h>
#include <string.h>
#include "srgan/pipeline.h"

typedef struct mem_stage {
    sr_stage base;
    const float *pix; /* not owned */
    int next_row;
    int max_pull;
    int order_errors;
    int *freed; /* set to 1 on destroy, if not NULL */
} mem_stage;

static int mem_pull(sr_stage *self, int y0, int n, float *out, sr_error *err)
{
    mem_stage *m = (mem_stage *)self;
    if (y0 != m->next_row || n < 1 || y0 + n > self->height) {
        m->order_errors++;
        sr_error_set(err, SR_ERR_ARG, "mem: bad pull [%d,%d)", y0, y0 + n);
        return -1;
    }
    size_t rowf = (size_t)self->width * self->channels;
    memcpy(out, m->pix + (size_t)y0 * rowf, (size_t)n * rowf * sizeof(float));
    m->next_row = y0 + n;
    if (n > m->max_pull)
        m->max_pull = n;
    return 0;
}

static void mem_destroy(sr_stage *self)
{
    mem_stage *m = (mem_stage *)self;
    if (m->freed)
        *m->freed = 1;
    free(m);
}

static mem_stage *mem_stage_new(const float *pix, int w, int h, int c)
{
    mem_stage *m = calloc(1, sizeof *m);
    m->base.width = w;
    m->base.height = h;
    m->base.channels = c;
    m->base.pull = mem_pull;
    m->base.destroy = mem_destroy;
    m->pix = pix;
    return m;
}

#endif
