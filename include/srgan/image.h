/* srgan/image.h: streaming image readers and writers (PNG, JPEG, TIFF, WebP).
 *
 * Every format sits behind the same small interface (like libvips' loaders
 * and savers): a reader hands out rows top to bottom, a writer takes rows top
 * to bottom, so the pipeline never needs a whole image in memory.
 *
 * Rows are packed, channels interleaved, in the image's native sample type
 * (uint8_t, uint16_t, float, int8_t, int16_t, uint32_t or int32_t, in host
 * order), `width * channels` samples per row.
 *
 *     sr_error err = {0};
 *     sr_reader *r = sr_reader_open("in.tif", NULL, &err);
 *     const sr_image_info *in = sr_reader_info(r);
 *     sr_image_info out = *in;             // same layout, same metadata
 *     sr_writer *w = sr_writer_open("out.png", SR_FMT_AUTO, &out, NULL, &err);
 *     void *row = malloc(sr_row_bytes(in));
 *     for (int y = 0; y < in->height; y++) {
 *         if (sr_reader_read_rows(r, row, 1, &err) ||
 *             sr_writer_write_rows(w, row, 1, &err)) break;
 *     }
 *     if (err.code) sr_writer_abort(w); else sr_writer_finish(w, &err);
 *     sr_reader_close(r);
 *
 * Multi-page files (TIFF): after the last row of a page,
 * sr_reader_next_page() moves to the next page (returns 1), or returns 0 at
 * the end; sr_writer_next_page() starts a new page in the output.
 *
 * Writers never write the target path directly: they write a temporary file
 * in the target's directory and sr_writer_finish() renames it into place, so
 * a failed or interrupted run leaves nothing behind (sr_writer_abort()
 * removes the temporary file). The temporary file is .NAME.srgan-up.HOST.PID.part;
 * one left by a killed process (SIGKILL, power loss) is removed by the next
 * sr_writer_open() of the same target once that process is gone.
 *
 * Readers open regular files only: a FIFO, device or socket is refused
 * (opening a FIFO would block until a writer appears).
 */
#ifndef SRGAN_IMAGE_H
#define SRGAN_IMAGE_H

#include <stddef.h>
#include <stdint.h>
#include "srgan/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sr_format {
    SR_FMT_AUTO = 0, /* writer: from the file name's extension */
    SR_FMT_PNG,
    SR_FMT_JPEG,
    SR_FMT_TIFF,
    SR_FMT_WEBP  /* decoded and encoded whole (libwebp cannot stream) */
} sr_format;

typedef enum sr_dtype {
    SR_U8 = 0,
    SR_U16,
    SR_F32,
    SR_I8,  /* signed: TIFF SampleFormat INT                              */
    SR_I16,
    SR_U32, /* 32-bit integers: label images (TIFF only; see sr_dtype_is_label) */
    SR_I32
} sr_dtype;

/* Most channels an image may have (TIFF extra samples beyond colour). */
#define SR_MAX_CHANNELS 32

typedef enum sr_res_unit {
    SR_RES_NONE = 0, /* no resolution recorded                              */
    SR_RES_ASPECT,   /* ratio only (PNG pHYs unit 0, TIFF RESUNIT_NONE)      */
    SR_RES_INCH,     /* pixels per inch                                      */
    SR_RES_CM        /* pixels per centimetre (PNG pHYs metres converted)    */
} sr_res_unit;

/* Metadata that survives an upscale. Owned by the reader (or by whoever
 * filled it); writers copy what they need. Pointers may be NULL. */
typedef struct sr_meta {
    const uint8_t *icc;       /* ICC profile bytes                          */
    size_t icc_len;
    const uint8_t *exif;      /* the EXIF chunk's bytes as WebP stores them;
                                 read and written by WebP only               */
    size_t exif_len;
    int srgb_intent;          /* PNG sRGB chunk rendering intent, -1 = none */
    double gamma;             /* PNG gAMA (e.g. 0.45455), 0 = none           */
    sr_res_unit res_unit;
    double xres, yres;        /* pixels per res_unit                        */
    const char *description;  /* TIFF ImageDescription (ImageJ, OME-XML)    */
    const char *software;     /* TIFF Software                              */
    int orientation;          /* EXIF orientation 1..8 as read (0 = none);
                                 readers apply it unless told not to, and
                                 then report 1 in the info they hand out    */
    /* ImageJ's own TIFF tags, carried as they are: IJMetadata (50839: Info,
     * slice labels, display ranges, LUTs, ROIs), in the byte order its
     * header names ("IJIJ" big-endian, "JIJI" little), and
     * IJMetadataByteCounts (50838: header size, then one per entry).      */
    const uint8_t *ij_meta;
    size_t ij_meta_len;
    const uint32_t *ij_counts;
    size_t ij_counts_n;
} sr_meta;

typedef struct sr_image_info {
    int width, height;
    int channels;     /* 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA, plus
                         data_channels (up to SR_MAX_CHANNELS in all)      */
    int data_channels;/* trailing channels that are independent data, not
                         colour and not alpha (TIFF ExtraSamples
                         "unspecified": a 2-channel fluorescence image is
                         channels 2, data_channels 1). 0 for PNG/JPEG.     */
    sr_dtype dtype;
    int pages;        /* pages in the file (>= 1)                          */
    int page;         /* index of the current page                         */
    sr_format format; /* format the file was read as                       */
    int bits;         /* original bits per sample (1..64); info only        */
    sr_meta meta;
} sr_image_info;

/* Empty metadata (srgb_intent = -1, everything else none). */
void sr_default_meta(sr_meta *m);

/* Bytes per sample and per packed row. */
size_t sr_dtype_size(sr_dtype t);
size_t sr_row_bytes(const sr_image_info *info);
/* Colour and alpha channels: channels - data_channels, 2 or 4 has alpha
 * (the channel right after the colour ones). */
int sr_info_has_alpha(const sr_image_info *info);
int sr_info_color_channels(const sr_image_info *info); /* 1 or 3 */
/* 32-bit integer samples: almost always a label image (segmentation mask),
 * which only nearest-neighbour scaling keeps true. */
int sr_dtype_is_label(sr_dtype t);
int sr_dtype_is_integer(sr_dtype t); /* every type but SR_F32 */
const char *sr_dtype_name(sr_dtype t); /* "uint8", "int16", "float32", ... */
/* The sample value that normalised float 1.0 stands for in the pipeline
 * (255, 65535, 127, 32767, 2^32-1, 2^31-1; 1 for float). */
double sr_dtype_unit(sr_dtype t);

/* ---- reading ---------------------------------------------------------- */

typedef struct sr_read_opts {
    int no_autorotate;     /* keep JPEG/TIFF EXIF orientation unapplied     */
    uint64_t max_pixels;   /* refuse whole-image decodes above this (0 =
                              SR_DEFAULT_MAX_PIXELS)                       */
    int verbose;           /* report decisions (e.g. rotation) on stderr    */
} sr_read_opts;

/* Default limit for formats that must be decoded whole (interlaced PNG,
 * progressive JPEG, rotated JPEG): 2^28 pixels (268 MP, about 1 GiB as RGBA8). */
#define SR_DEFAULT_MAX_PIXELS ((uint64_t)1 << 28)

typedef struct sr_reader sr_reader;

/* Detect the format from the magic bytes and open. NULL on failure. */
sr_reader *sr_reader_open(const char *path, const sr_read_opts *opts, sr_error *err);
const sr_image_info *sr_reader_info(const sr_reader *r);
/* Read the next n rows of the current page into buf (n * sr_row_bytes).
 * Returns 0 or -1 with err set. Reading past the page's end is an error. */
int sr_reader_read_rows(sr_reader *r, void *buf, int n, sr_error *err);
/* Advance to the next page: 1 = moved (info updated), 0 = no more, -1 error. */
int sr_reader_next_page(sr_reader *r, sr_error *err);
void sr_reader_close(sr_reader *r);

/* Format from magic bytes of an open file's first bytes (SR_FMT_AUTO = none). */
sr_format sr_format_from_magic(const uint8_t *buf, size_t n);
/* Format from a path's extension (SR_FMT_AUTO = unknown). */
sr_format sr_format_from_ext(const char *path);
/* Format from a name as typed for --format: "png", "jpeg", "jpg", "tif",
 * "tiff", "webp" (SR_FMT_AUTO = unknown). */
sr_format sr_format_from_name(const char *name);
/* Whether a file name has the extension of a format srgan-up reads (any
 * case): what batch mode and srgan-train pick up from a directory. */
int sr_is_image_name(const char *path);
/* The extension written for a format, without the dot: "png", "jpg", "tif",
 * "webp". */
const char *sr_format_name(sr_format f);
/* "png, jpg, tif, webp": the formats, for messages. */
void sr_format_list(char *buf, size_t cap);

/* ---- writing ---------------------------------------------------------- */

typedef enum sr_tiff_compression {
    SR_TIFF_DEFLATE = 0, /* default: Deflate + horizontal predictor */
    SR_TIFF_NONE,
    SR_TIFF_LZW,
    SR_TIFF_ZSTD
} sr_tiff_compression;

typedef struct sr_write_opts {
    int quality;                     /* JPEG, lossy WebP 1..100 (0 = 95)     */
    int lossless;                    /* WebP: lossless instead of lossy     */
    sr_tiff_compression compression; /* TIFF                                */
    int overwrite;                   /* replace an existing target          */
    int force_bigtiff;               /* TIFF: BigTIFF even when small       */
    const char *software;            /* Software tag / tEXt (NULL = none)   */
    int verbose;                     /* report decisions (e.g. a stale
                                        temporary file removed) on stderr   */
    /* Told each temporary file's name before it is created and after it is
     * gone (see sr_atomic_open_hooked), for signal-time cleanup. */
    void (*on_temp)(void *user, const char *tmp_path, int active);
    void *on_temp_user;
} sr_write_opts;

typedef struct sr_writer sr_writer;

/* Open a writer for `path` with the layout and metadata in info (pages > 1
 * announces a multi-page TIFF). fmt SR_FMT_AUTO picks from the extension.
 * A format that cannot hold the layout (JPEG with alpha or 16-bit, PNG with
 * float) converts: JPEG drops alpha and writes 8-bit, PNG writes float as
 * 16-bit; sr_writer_stored_info() tells what will be written. Layouts no
 * conversion keeps true (data channels, signed or 32-bit integer samples)
 * are refused by PNG and JPEG (SR_ERR_UNSUPPORTED): only TIFF holds them. */
sr_writer *sr_writer_open(const char *path, sr_format fmt, const sr_image_info *info,
                          const sr_write_opts *opts, sr_error *err);
/* Rows in the layout of the info passed to sr_writer_open. */
int sr_writer_write_rows(sr_writer *w, const void *buf, int n, sr_error *err);
/* Start the next page (TIFF only); info gives its layout and metadata. */
int sr_writer_next_page(sr_writer *w, const sr_image_info *info, sr_error *err);
/* Flush, close and rename the temporary file onto the target. */
int sr_writer_finish(sr_writer *w, sr_error *err);
/* Close and remove the temporary file. Safe on NULL. */
void sr_writer_abort(sr_writer *w);
/* Layout the caller sends rows in (as given to open or next_page). */
const sr_image_info *sr_writer_info(const sr_writer *w);
/* Layout actually stored (e.g. JPEG: 8-bit, no alpha). */
const sr_image_info *sr_writer_stored_info(const sr_writer *w);
/* Path of the temporary file being written (for signal-time cleanup). */
const char *sr_writer_temp_path(const sr_writer *w);

#ifdef __cplusplus
}
#endif
#endif
