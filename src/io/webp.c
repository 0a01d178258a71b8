/* webp.c: WebP read and write through libwebp (lossy and lossless, alpha,
 * ICC and EXIF chunks).
 *
 * libwebp has no row-streaming API for either direction, so a WebP file is
 * decoded whole (bounded by --max-pixels from the header, as interlaced PNG
 * is) and an output is collected whole and encoded in finish(). WebP itself
 * caps both sides at 16383 pixels, so the buffers stay below 1 GiB.
 *
 * Animated WebP is refused rather than reduced to its first frame: an
 * upscaler that silently drops frames would give a different result.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <webp/decode.h>
#include <webp/demux.h>
#include <webp/encode.h>
#include <webp/mux.h>

#include "io/codec.h"

#define WEBP_MAX_SIDE 16383 /* WEBP_MAX_DIMENSION of the format */

/* ---- reader -------------------------------------------------------------- */

typedef struct srwebp_reader {
    uint8_t *pixels; /* decoded, width * height * channels */
    size_t stride;
    int height, next_row;
    uint8_t *icc, *exif;
} srwebp_reader;

static void srwebp_reader_free(srwebp_reader *s)
{
    if (!s)
        return;
    free(s->pixels);
    free(s->icc);
    free(s->exif);
    free(s);
}

/* The whole file. WebP's RIFF size field is 32-bit, so a real file is below
 * 4 GiB; anything larger is refused before allocating. */
static uint8_t *read_all(const char *path, int fd, size_t *len, sr_error *err)
{
    struct stat st;
    if (fstat(fd, &st) != 0) {
        sr_error_set(err, SR_ERR_IO, "%s: %s", path, strerror(errno));
        return NULL;
    }
    if (!S_ISREG(st.st_mode) || st.st_size <= 0 || (uint64_t)st.st_size > 0xFFFFFFFFu) {
        sr_error_set(err, SR_ERR_CORRUPT, "%s: not a readable WebP file (size %lld)", path,
                     (long long)st.st_size);
        return NULL;
    }
    size_t n = (size_t)st.st_size;
    uint8_t *buf = malloc(n);
    if (!buf) {
        sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", path);
        return NULL;
    }
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            sr_error_set(err, SR_ERR_IO, "%s: %s", path, r < 0 ? strerror(errno) : "file shrank while reading");
            free(buf);
            return NULL;
        }
        got += (size_t)r;
    }
    *len = n;
    return buf;
}

/* Copy one chunk ("ICCP", "EXIF") out of the container, or leave *out NULL. */
static int copy_chunk(WebPDemuxer *dmx, const char *fourcc, uint8_t **out, size_t *out_len)
{
    WebPChunkIterator it;
    *out = NULL;
    *out_len = 0;
    if (!dmx || !WebPDemuxGetChunk(dmx, fourcc, 1, &it))
        return 0;
    int rc = 0;
    if (it.chunk.size) {
        *out = malloc(it.chunk.size);
        if (*out) {
            memcpy(*out, it.chunk.bytes, it.chunk.size);
            *out_len = it.chunk.size;
        } else {
            rc = -1;
        }
    }
    WebPDemuxReleaseChunkIterator(&it);
    return rc;
}

static int srwebp_read_rows(void *state, void *buf, int n, sr_error *err)
{
    (void)err;
    srwebp_reader *s = state;
    memcpy(buf, s->pixels + s->stride * (size_t)s->next_row, s->stride * (size_t)n);
    s->next_row += n;
    return 0;
}

static int srwebp_next_page(void *state, sr_image_info *info, sr_error *err)
{
    (void)state;
    (void)info;
    (void)err;
    return 0; /* one page */
}

static void srwebp_close(void *state)
{
    srwebp_reader_free(state);
}

/* Animation and the pixel limit, from the header alone. */
static int header_ok(const char *path, const WebPBitstreamFeatures *f, const sr_read_opts *opts,
                     sr_error *err)
{
    if (f->has_animation) {
        sr_error_set(err, SR_ERR_UNSUPPORTED,
                     "%s: animated WebP is not supported (only still images are upscaled)", path);
        return 0;
    }
    uint64_t max_pixels = opts && opts->max_pixels ? opts->max_pixels : SR_DEFAULT_MAX_PIXELS;
    if ((uint64_t)f->width * (uint64_t)f->height > max_pixels) {
        sr_error_set(err, SR_ERR_TOO_BIG,
                     "%s: WebP of %dx%d pixels must be decoded whole and exceeds the limit of %llu "
                     "pixels (--max-pixels)",
                     path, f->width, f->height, (unsigned long long)max_pixels);
        return 0;
    }
    return 1;
}

static int srwebp_open_reader(const char *path, int fd, const sr_read_opts *opts, sr_image_info *info,
                              sr_codec_reader *out, sr_error *err)
{
    /* The header first: an over-limit or animated file is refused before
     * the whole file is read. */
    WebPBitstreamFeatures f;
    uint8_t head[64];
    ssize_t hn = pread(fd, head, sizeof head, 0);
    if (hn > 0 && WebPGetFeatures(head, (size_t)hn, &f) == VP8_STATUS_OK &&
        !header_ok(path, &f, opts, err)) {
        close(fd);
        return -1;
    }
    size_t len = 0;
    uint8_t *data = read_all(path, fd, &len, err);
    close(fd);
    if (!data)
        return -1;
    srwebp_reader *s = calloc(1, sizeof *s);
    if (!s) {
        sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    VP8StatusCode st = WebPGetFeatures(data, len, &f);
    if (st != VP8_STATUS_OK) {
        sr_error_set(err, SR_ERR_CORRUPT, "%s: %s", path,
                     st == VP8_STATUS_NOT_ENOUGH_DATA ? "truncated WebP file" : "corrupt WebP header");
        goto fail;
    }
    if (!header_ok(path, &f, opts, err))
        goto fail;
    int ch = f.has_alpha ? 4 : 3;
    s->stride = (size_t)f.width * ch;
    s->height = f.height;
    size_t bytes = s->stride * (size_t)f.height;
    s->pixels = malloc(bytes);
    if (!s->pixels) {
        sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory for %dx%d pixels", path, f.width, f.height);
        goto fail;
    }
    uint8_t *ok = f.has_alpha ? WebPDecodeRGBAInto(data, len, s->pixels, bytes, (int)s->stride)
                              : WebPDecodeRGBInto(data, len, s->pixels, bytes, (int)s->stride);
    if (!ok) {
        sr_error_set(err, SR_ERR_CORRUPT, "%s: corrupt or truncated WebP image data", path);
        goto fail;
    }
    /* Metadata chunks live in the extended (VP8X) container only. */
    WebPData wd = {data, len};
    WebPDemuxer *dmx = WebPDemux(&wd);
    size_t icc_len = 0, exif_len = 0;
    int mrc = copy_chunk(dmx, "ICCP", &s->icc, &icc_len) | copy_chunk(dmx, "EXIF", &s->exif, &exif_len);
    WebPDemuxDelete(dmx);
    if (mrc) {
        sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    free(data);
    info->width = f.width;
    info->height = f.height;
    info->channels = ch;
    info->dtype = SR_U8;
    info->bits = 8;
    info->pages = 1;
    info->page = 0;
    info->meta.icc = s->icc;
    info->meta.icc_len = icc_len;
    info->meta.exif = s->exif;
    info->meta.exif_len = exif_len;
    out->state = s;
    out->read_rows = srwebp_read_rows;
    out->next_page = srwebp_next_page;
    out->close = srwebp_close;
    return 0;
fail:
    free(data);
    srwebp_reader_free(s);
    return -1;
}

/* ---- writer -------------------------------------------------------------- */

typedef struct srwebp_writer {
    const char *display_path; /* owned by io.c, valid until finish/abort */
    int fd;
    int width, height, channels; /* stored layout: 8-bit, 1..4 channels */
    int rows;
    uint8_t *pixels;
    int quality, lossless;
    uint8_t *icc, *exif;
    size_t icc_len, exif_len;
} srwebp_writer;

static void srwebp_writer_free(srwebp_writer *s)
{
    if (!s)
        return;
    if (s->fd >= 0)
        close(s->fd);
    free(s->pixels);
    free(s->icc);
    free(s->exif);
    free(s);
}

static int srwebp_write_rows(void *state, const void *buf, int n, sr_error *err)
{
    (void)err;
    srwebp_writer *s = state;
    size_t stride = (size_t)s->width * s->channels;
    memcpy(s->pixels + stride * (size_t)s->rows, buf, stride * (size_t)n);
    s->rows += n;
    return 0;
}

/* Gray and gray+alpha are stored as RGB(A): WebP has no gray layout. */
static uint8_t *expand_gray(const srwebp_writer *s, int *out_ch)
{
    int ci = s->channels, co = ci == 2 ? 4 : 3;
    size_t px = (size_t)s->width * s->height;
    uint8_t *o = malloc(px * co);
    if (!o)
        return NULL;
    for (size_t i = 0; i < px; i++) {
        uint8_t g = s->pixels[i * ci];
        o[i * co] = o[i * co + 1] = o[i * co + 2] = g;
        if (co == 4)
            o[i * co + 3] = s->pixels[i * ci + 1];
    }
    *out_ch = co;
    return o;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* The encoded bitstream, wrapped with ICC and EXIF chunks when there are any. */
static int encode(srwebp_writer *s, WebPData *out, sr_error *err)
{
    const char *path = s->display_path;
    int ch = s->channels;
    uint8_t *rgb = s->pixels, *owned = NULL;
    if (ch < 3) {
        rgb = owned = expand_gray(s, &ch);
        if (!rgb) {
            sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", path);
            return -1;
        }
    }
    WebPConfig cfg;
    WebPPicture pic;
    WebPMemoryWriter mw;
    int rc = -1;
    WebPMemoryWriterInit(&mw);
    if (!WebPConfigPreset(&cfg, WEBP_PRESET_DEFAULT, (float)s->quality) || !WebPPictureInit(&pic)) {
        sr_error_set(err, SR_ERR_IO, "%s: libwebp version mismatch", path);
        free(owned);
        return -1;
    }
    cfg.lossless = s->lossless;
    /* Lossless keeps RGB under fully transparent pixels too: an upscaler must
     * not change what it was not asked to change. */
    cfg.exact = s->lossless;
    pic.use_argb = s->lossless;
    pic.width = s->width;
    pic.height = s->height;
    pic.writer = WebPMemoryWrite;
    pic.custom_ptr = &mw;
    int imported = ch == 4 ? WebPPictureImportRGBA(&pic, rgb, s->width * 4)
                           : WebPPictureImportRGB(&pic, rgb, s->width * 3);
    free(owned);
    if (!imported) {
        sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    if (!WebPEncode(&cfg, &pic)) {
        sr_error_set(err, pic.error_code == VP8_ENC_ERROR_OUT_OF_MEMORY ? SR_ERR_NOMEM : SR_ERR_IO,
                     "%s: WebP encoding failed (libwebp error %d)", path, (int)pic.error_code);
        goto done;
    }
    if (!s->icc_len && !s->exif_len) {
        out->bytes = mw.mem;
        out->size = mw.size;
        mw.mem = NULL;
        rc = 0;
        goto done;
    }
    WebPData bits = {mw.mem, mw.size};
    WebPMux *mux = WebPMuxCreate(&bits, 0);
    WebPData icc = {s->icc, s->icc_len}, exif = {s->exif, s->exif_len};
    if (!mux || (s->icc_len && WebPMuxSetChunk(mux, "ICCP", &icc, 0) != WEBP_MUX_OK) ||
        (s->exif_len && WebPMuxSetChunk(mux, "EXIF", &exif, 0) != WEBP_MUX_OK) ||
        WebPMuxAssemble(mux, out) != WEBP_MUX_OK) {
        sr_error_set(err, SR_ERR_IO, "%s: cannot add ICC/EXIF chunks to the WebP file", path);
    } else {
        rc = 0;
    }
    WebPMuxDelete(mux);
done:
    WebPPictureFree(&pic);
    WebPMemoryWriterClear(&mw);
    return rc;
}

static int srwebp_finish(void *state, sr_error *err)
{
    srwebp_writer *s = state;
    WebPData data = {NULL, 0};
    int rc = encode(s, &data, err);
    if (!rc && write_all(s->fd, data.bytes, data.size)) {
        sr_error_set(err, SR_ERR_IO, "%s: %s", s->display_path, strerror(errno));
        rc = -1;
    }
    WebPDataClear(&data);
    if (close(s->fd) != 0 && !rc) {
        sr_error_set(err, SR_ERR_IO, "%s: %s", s->display_path, strerror(errno));
        rc = -1;
    }
    s->fd = -1;
    srwebp_writer_free(s);
    return rc;
}

static void srwebp_abort(void *state)
{
    srwebp_writer_free(state);
}

static uint8_t *dup_bytes(const uint8_t *p, size_t n)
{
    uint8_t *d = n ? malloc(n) : NULL;
    if (d)
        memcpy(d, p, n);
    return d;
}

static int srwebp_open_writer(const char *display_path, const char *tmp_path, int fd,
                              const sr_image_info *info, const sr_write_opts *opts,
                              sr_image_info *info_out, sr_codec_writer *out, sr_error *err)
{
    (void)tmp_path;
    if (info->width > WEBP_MAX_SIDE || info->height > WEBP_MAX_SIDE) {
        sr_error_set(err, SR_ERR_TOO_BIG, "%s: %dx%d pixels: WebP holds at most %dx%d", display_path,
                     info->width, info->height, WEBP_MAX_SIDE, WEBP_MAX_SIDE);
        close(fd);
        return -1;
    }
    srwebp_writer *s = calloc(1, sizeof *s);
    if (!s) {
        close(fd);
        sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", display_path);
        return -1;
    }
    s->fd = fd;
    s->display_path = display_path;
    s->width = info->width;
    s->height = info->height;
    s->channels = info->channels;
    s->quality = opts->quality > 0 ? opts->quality : 95;
    if (s->quality > 100)
        s->quality = 100;
    s->lossless = opts->lossless;
    s->pixels = malloc((size_t)s->width * s->height * s->channels);
    s->icc_len = info->meta.icc ? info->meta.icc_len : 0;
    s->exif_len = info->meta.exif ? info->meta.exif_len : 0;
    s->icc = dup_bytes(info->meta.icc, s->icc_len);
    s->exif = dup_bytes(info->meta.exif, s->exif_len);
    if (!s->pixels || (s->icc_len && !s->icc) || (s->exif_len && !s->exif)) {
        sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory for %dx%d pixels", display_path,
                     info->width, info->height);
        srwebp_writer_free(s);
        return -1;
    }
    /* 8-bit only: io.c converts 16-bit and float rows (as for JPEG). */
    info_out->dtype = SR_U8;
    info_out->bits = 8;
    out->state = s;
    out->write_rows = srwebp_write_rows;
    out->next_page = NULL;
    out->finish = srwebp_finish;
    out->abort = srwebp_abort;
    return 0;
}

static int sniff_webp(const uint8_t *b, size_t n)
{
    return n >= 12 && !memcmp(b, "RIFF", 4) && !memcmp(b + 8, "WEBP", 4);
}

static const char *const exts_webp[] = {".webp", NULL};

const sr_codec sr_codec_webp = {
    .format = SR_FMT_WEBP,
    .name = "webp",
    .exts = exts_webp,
    .sniff = sniff_webp,
    .open_reader = srwebp_open_reader,
    .open_writer = srwebp_open_writer,
};
