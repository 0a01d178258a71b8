/* tiff_priv.h: what the TIFF reader and writer share (private to src/io).
 *
 * libtiff's classic error and warning handlers are process-global; instead
 * every TIFF handle we open gets its own error context through
 * TIFFOpenOptionsSetErrorHandlerExtR (libtiff >= 4.5), so messages from one
 * file never land in another file's error, and warnings are dropped.
 */
#ifndef SRGAN_IO_TIFF_PRIV_H
#define SRGAN_IO_TIFF_PRIV_H

#include <tiffio.h>
#include "io/codec.h"

/* Largest buffer we allocate for one strip or one row of tiles. A header
 * asking for more (a corrupt or hostile file) is refused before malloc. */
#define SR_TIFF_MAX_BAND_BYTES ((uint64_t)256 << 20)
/* Largest strip we decode whole; a bigger chunky strip is read scanline by
 * scanline (libtiff then reads its compressed data in pieces too). */
#define SR_TIFF_MAX_STRIP_BYTES ((uint64_t)16 << 20)

typedef struct sr_tiff_errctx {
    const char *path; /* for messages */
    int have;         /* a libtiff error was recorded */
    char msg[384];    /* the first libtiff error since the last clear */
} sr_tiff_errctx;

/* Open fd (owned by the returned TIFF on success, untouched on failure)
 * with errors routed to ctx and warnings silenced. */
TIFF *sr_tiff_fdopen(int fd, const char *path, const char *mode, sr_tiff_errctx *ctx);

/* Fill err with "PATH: WHAT" plus libtiff's own message when it gave one. */
void sr_tiff_fail(sr_tiff_errctx *ctx, sr_error *err, sr_status code, const char *what);

/* ImageJ's private tags, unknown to libtiff. A reader sees them as
 * anonymous fields; a writer must register them on its handle (again after
 * each TIFFWriteDirectory, which resets the field list) before setting. */
#define SR_TIFFTAG_IJ_COUNTS 50838 /* LONG array  */
#define SR_TIFFTAG_IJ_META 50839   /* BYTE array  */
int sr_tiff_register_ij(TIFF *tif);

/* An array-valued tag as read, if present with type t1 or t2: 1 and
 * count/data (owned by libtiff until the directory changes), else 0. */
int sr_tiff_get_array(TIFF *tif, uint32_t tag, TIFFDataType t1, TIFFDataType t2,
                      uint32_t *count, const void **data);

int sr_tiff_open_reader(const char *path, int fd, const sr_read_opts *opts,
                        sr_image_info *info, sr_codec_reader *out, sr_error *err);
int sr_tiff_open_writer(const char *display_path, const char *tmp_path, int fd,
                        const sr_image_info *info, const sr_write_opts *opts,
                        sr_image_info *info_out, sr_codec_writer *out, sr_error *err);

#endif
