/* srgan.h: everything libsrgan offers, in one include.
 *
 * Upscale a file, streaming, with the tiled generator:
 *
 *     #include <srgan.h>
 *
 *     sr_error err = {0};
 *     sr_reader *r = sr_reader_open("in.png", NULL, &err);
 *     sr_generator *g = sr_generator_load("weights/x4-psnr.safetensors", &err);
 *     sr_tile_opts tiles = {0};                       // defaults: 1 GiB, all cores
 *     sr_stage *s = sr_generator_stage_new(sr_source_stage_new(r, &err), g, &tiles, &err);
 *     sr_image_info out = *sr_reader_info(r);
 *     out.width = s->width;
 *     out.height = s->height;
 *     sr_writer *w = sr_writer_open("out.png", SR_FMT_AUTO, &out, NULL, &err);
 *     if (sr_pipeline_run(s, w, 0, NULL, &err))
 *         sr_writer_abort(w);                         // nothing left behind
 *     else
 *         sr_writer_finish(w, &err);                  // atomic rename
 *     if (err.code) fprintf(stderr, "%s\n", err.msg); // "in.png: truncated ..."
 *     sr_stage_free(s);
 *     sr_generator_free(g);
 *     sr_reader_close(r);
 *
 * Each header below opens with its own example.
 */
#ifndef SRGAN_H
#define SRGAN_H

#include "srgan/error.h"
#include "srgan/atomic.h"
#include "srgan/image.h"
#include "srgan/pipeline.h"
#include "srgan/resample.h"
#include "srgan/nn.h"
#include "srgan/weights.h"
#include "srgan/model.h"
#include "srgan/normalize.h"
#include "srgan/metadata.h"

#endif
