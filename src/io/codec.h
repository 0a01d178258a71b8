/* codec.h: the one small interface each image format implements.
 *
 * io.c owns everything common (the temporary file and its rename, row
 * bookkeeping, argument checks); a format only recognises its files, decodes
 * or encodes rows. Each codec declares itself (like a libvips loader): its
 * name, file-name extensions and magic bytes, so sr_format_from_magic(),
 * sr_format_from_ext() and sr_is_image_name() need no list of their own. To
 * add a format: write NAME.c with an sr_codec, list it in codecs[] in io.c.
 * Nothing else changes.
 *
 * Contract for readers:
 *  - open() fills *info completely (width, height, channels 1..4, dtype,
 *    pages, page = 0, format, bits, meta) before the first row is read,
 *    decoding only the header. Metadata pointers stay valid until close().
 *  - read_rows() is called with n >= 1 and never past the page's height
 *    (io.c checks); it fails cleanly (err set, -1) when data runs out.
 *  - next_page() may be called whether or not the current page's rows were
 *    read (skipping a page must not decode it: per-page normalisation and
 *    the alpha reader seek to a page this way).
 *  - A variant that must be decoded whole checks width*height against
 *    opts->max_pixels from the header alone, before allocating.
 *
 * Contract for writers:
 *  - open() receives an already-created, empty temporary file (fd and path;
 *    use whichever the library needs, e.g. fdopen(fd) or TIFFFdOpen(fd)) and
 *    takes ownership of fd (it must close it in finish() and in abort()).
 *  - *info is the layout the caller will send; the writer may adjust
 *    info_out to what it can store (e.g. JPEG drops alpha: then io.c converts
 *    rows before write_rows, so write_rows always gets info_out's layout).
 *  - finish() flushes and closes, and must report every write error (check
 *    fwrite/fflush/fclose results: a full disk must fail, not truncate);
 *    io.c then renames. abort() closes without
 *    caring about errors; io.c then unlinks.
 */
#ifndef SRGAN_IO_CODEC_H
#define SRGAN_IO_CODEC_H

#include "srgan/image.h"

typedef struct sr_codec_reader {
    void *state;
    int (*read_rows)(void *state, void *buf, int n, sr_error *err);
    int (*next_page)(void *state, sr_image_info *info, sr_error *err); /* 1/0/-1 */
    void (*close)(void *state);
} sr_codec_reader;

typedef struct sr_codec_writer {
    void *state;
    int (*write_rows)(void *state, const void *buf, int n, sr_error *err);
    int (*next_page)(void *state, const sr_image_info *info, sr_error *err);
    int (*finish)(void *state, sr_error *err);
    void (*abort)(void *state);
} sr_codec_writer;

typedef struct sr_codec {
    sr_format format;
    const char *name;       /* "png": messages, --format, batch output suffix */
    const char *const *exts; /* NULL-terminated, lower case, with the dot; the
                                first is the one written for --format        */
    /* Non-zero when the first n bytes (n may be < 16) are this format's. */
    int (*sniff)(const uint8_t *b, size_t n);
    /* path is for messages and for libraries that want a path; fd is open
     * at offset 0 and owned by the codec from here on (close it in close()). */
    int (*open_reader)(const char *path, int fd, const sr_read_opts *opts,
                       sr_image_info *info, sr_codec_reader *out, sr_error *err);
    /* display_path names the final target in error messages. */
    int (*open_writer)(const char *display_path, const char *tmp_path, int fd,
                       const sr_image_info *info, const sr_write_opts *opts,
                       sr_image_info *info_out, sr_codec_writer *out, sr_error *err);
} sr_codec;

extern const sr_codec sr_codec_png;
extern const sr_codec sr_codec_jpeg;
extern const sr_codec sr_codec_tiff;
extern const sr_codec sr_codec_webp;

#endif
