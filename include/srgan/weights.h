/* srgan/weights.h: safetensors files (read and write).
 *
 * Format: 8-byte little-endian header length N, N bytes of JSON
 * {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
 *  "__metadata__": {"key": "string", ...}}, then the raw little-endian data.
 * Tensors are read as F32; F16 and BF16 are converted at load.
 *
 *     sr_error err = {0};
 *     sr_safetensors *st = sr_safetensors_open("model.safetensors", &err);
 *     const char *arch = sr_safetensors_meta(st, "arch");
 *     int64_t shape[4] = {64, 3, 3, 3};
 *     float w[64 * 27];
 *     if (sr_safetensors_read(st, "conv_first.weight", 4, shape, w, &err)) ...
 *     sr_safetensors_close(st);
 *
 *     sr_st_writer *wr = sr_st_writer_new();
 *     sr_st_writer_meta(wr, "arch", "msrresnet");
 *     sr_st_writer_add(wr, "conv_first.weight", 4, shape, w);  // copies nothing: w must live until save
 *     sr_st_writer_save(wr, "out.safetensors", &err);           // temp file + rename
 *     sr_st_writer_free(wr);
 *
 * Validation is strict: header length within the file (and under 100 MB),
 * JSON well formed (nesting at most 16 deep, no duplicate keys), known dtypes,
 * offsets inside the data area, contiguous and non-overlapping and covering it
 * exactly, byte counts matching shapes, __metadata__ a string -> string map;
 * errors are one line naming the file and the tensor. The writer stores F32
 * and pads the header with spaces to a multiple of 8 bytes.
 */
#ifndef SRGAN_WEIGHTS_H
#define SRGAN_WEIGHTS_H

#include <stddef.h>
#include <stdint.h>
#include "srgan/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sr_safetensors sr_safetensors;

sr_safetensors *sr_safetensors_open(const char *path, sr_error *err);
void sr_safetensors_close(sr_safetensors *st);
const char *sr_safetensors_path(const sr_safetensors *st);
/* Metadata value for key (string), or NULL. */
const char *sr_safetensors_meta(const sr_safetensors *st, const char *key);
/* Number of metadata entries and the key of entry i (file order). */
int sr_safetensors_meta_count(const sr_safetensors *st);
const char *sr_safetensors_meta_key(const sr_safetensors *st, int i);
int sr_safetensors_count(const sr_safetensors *st);
/* Bytes of tensor data in the file (after the header). */
uint64_t sr_safetensors_data_bytes(const sr_safetensors *st);
const char *sr_safetensors_name(const sr_safetensors *st, int i);
/* 1 if the tensor exists. */
int sr_safetensors_has(const sr_safetensors *st, const char *name);
/* Shape of a tensor: returns ndim (0..8) and fills shape, or -1 if absent. */
int sr_safetensors_shape(const sr_safetensors *st, const char *name, int64_t shape[8]);
/* Read a tensor as float32 into out, checking its shape equals
 * shape[0..ndim). Error (naming file and tensor) when absent or mismatched. */
int sr_safetensors_read(const sr_safetensors *st, const char *name, int ndim,
                        const int64_t *shape, float *out, sr_error *err);

typedef struct sr_st_writer sr_st_writer;
sr_st_writer *sr_st_writer_new(void);
void sr_st_writer_meta(sr_st_writer *w, const char *key, const char *value);
/* Register a F32 tensor; data is referenced, not copied, until save. */
void sr_st_writer_add(sr_st_writer *w, const char *name, int ndim, const int64_t *shape,
                      const float *data);
/* Write atomically (temporary file in the same directory, then rename). */
int sr_st_writer_save(sr_st_writer *w, const char *path, sr_error *err);
void sr_st_writer_free(sr_st_writer *w);

#ifdef __cplusplus
}
#endif
#endif
