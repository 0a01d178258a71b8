/* tiff_read.c: streaming TIFF reader.
 *
 * Rows are decoded one "band" at a time: one strip (all planes of it for
 * planar files), one row of tiles across the width, or, for a chunky strip
 * too big to hold, one scanline (libtiff then decodes the strip
 * incrementally). So memory is a strip or width x tile-height, never the
 * page. Each row is then unpacked (bits < 8 expanded, planes interleaved,
 * doubles narrowed) and converted (min-is-white, palette, CMYK, associated
 * alpha) into the packed layout of image.h. Old-style JPEG (OJPEG) and
 * YCbCr without JPEG compression (chroma subsampled in blocks) go through
 * libtiff's own TIFFRGBAImage, one strip at a time (MODE_RGBA).
 */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/tiff_priv.h"

enum color_model { COL_GRAY, COL_RGB, COL_PALETTE, COL_CMYK };
enum band_mode { MODE_STRIPS, MODE_SCANLINE, MODE_TILES, MODE_RGBA };

/* Metadata copies; kept until close() as codec.h promises. */
typedef struct kept {
    struct kept *next;
    size_t len;
    uint8_t data[];
} kept;

typedef struct tiff_reader {
    TIFF *tif;
    sr_tiff_errctx ec;
    char *path;
    kept *kept;

    /* current page */
    uint32_t width, height;
    uint16_t bps, spp;
    int color;         /* enum color_model */
    int color_in;      /* samples of the color model (1, 3 or 4) */
    int min_is_white;
    int alpha, assoc;  /* an alpha sample follows the color; premultiplied */
    int data;          /* extra samples that are data channels (unspecified) */
    int half;          /* 16-bit IEEE floats, widened to float */
    int rgba;          /* decoded by libtiff's TIFFRGBAImage (old-style JPEG,
                          YCbCr without JPEG compression): 8-bit ABGR strips */
    int out_ch;
    sr_dtype dtype;
    const uint16_t *cmap[3];
    int cmap_8bit;     /* old writers store 0..255 instead of 0..65535 */

    /* band of decoded native rows */
    int mode;          /* enum band_mode */
    int nplanes;       /* spp for PLANARCONFIG_SEPARATE, else 1 */
    uint32_t rps;      /* rows per strip or tile height */
    uint32_t tw, tiles_across;
    size_t scanline;   /* bytes of one native row of one plane */
    size_t plane_band; /* bytes per plane in band */
    size_t tile_size, tile_row;
    uint8_t *band;
    uint8_t *gather;   /* tiles: one row of one plane assembled across tiles */
    uint8_t *tmp;      /* unpacked samples when the color model needs converting */
    uint32_t band_y0, band_rows;
    uint32_t y;
} tiff_reader;

/* ---- small helpers ------------------------------------------------------ */

static const void *keep(tiff_reader *rd, const void *src, size_t len, int nul)
{
    kept *k = malloc(sizeof *k + len + (nul ? 1 : 0));
    if (!k)
        return NULL;
    memcpy(k->data, src, len);
    if (nul)
        k->data[len] = 0;
    k->len = len;
    k->next = rd->kept;
    rd->kept = k;
    return k->data;
}

static void free_band(tiff_reader *rd)
{
    free(rd->band);
    free(rd->gather);
    free(rd->tmp);
    rd->band = rd->gather = rd->tmp = NULL;
    rd->band_rows = 0;
}

static int fail(tiff_reader *rd, sr_error *err, sr_status code, const char *what)
{
    sr_tiff_fail(&rd->ec, err, code, what);
    return -1;
}

/* ---- page setup ----------------------------------------------------------- */

/* Samples go to the narrowest type that holds every value unchanged, as
 * tifffile and Fiji read them: 10/12/14-bit -> uint16 (a 12-bit 4095 stays
 * 4095), 24-bit -> float32 (exact: a float has a 24-bit mantissa, and the
 * image stays an intensity image rather than a 32-bit label image),
 * float16 -> float32, float64 -> float32 (narrowed). */
static int check_sample_format(tiff_reader *rd, uint16_t fmt, sr_error *err)
{
    char what[128];
    rd->half = 0;
    switch (fmt) {
    case SAMPLEFORMAT_UINT:
    case SAMPLEFORMAT_VOID:
        if (rd->bps == 1 || rd->bps == 2 || rd->bps == 4 || rd->bps == 8) {
            rd->dtype = SR_U8;
            return 0;
        }
        if (rd->bps == 10 || rd->bps == 12 || rd->bps == 14 || rd->bps == 16) {
            rd->dtype = SR_U16;
            return 0;
        }
        if (rd->bps == 24 || rd->bps == 32) {
            rd->dtype = rd->bps == 24 ? SR_F32 : SR_U32;
            return 0;
        }
        snprintf(what, sizeof what, "%u-bit unsigned integer samples are not supported",
                 (unsigned)rd->bps);
        break;
    case SAMPLEFORMAT_IEEEFP:
        if (rd->bps == 16 || rd->bps == 32 || rd->bps == 64) {
            rd->dtype = SR_F32;
            rd->half = rd->bps == 16;
            return 0;
        }
        snprintf(what, sizeof what, "%u-bit floating point samples are not supported",
                 (unsigned)rd->bps);
        break;
    case SAMPLEFORMAT_INT:
        if (rd->bps == 8 || rd->bps == 16 || rd->bps == 32) {
            rd->dtype = rd->bps == 8 ? SR_I8 : rd->bps == 16 ? SR_I16 : SR_I32;
            return 0;
        }
        snprintf(what, sizeof what, "signed integer samples (%u-bit) are not supported",
                 (unsigned)rd->bps);
        break;
    case SAMPLEFORMAT_COMPLEXINT:
    case SAMPLEFORMAT_COMPLEXIEEEFP:
        snprintf(what, sizeof what, "complex samples are not supported");
        break;
    default:
        snprintf(what, sizeof what, "sample format %u is not supported", (unsigned)fmt);
        break;
    }
    sr_error_set(err, SR_ERR_UNSUPPORTED, "%s: %s", rd->path, what);
    return -1;
}

static int setup_color(tiff_reader *rd, sr_error *err)
{
    TIFF *tif = rd->tif;
    uint16_t photo, comp = COMPRESSION_NONE;
    TIFFGetFieldDefaulted(tif, TIFFTAG_COMPRESSION, &comp);
    if (!TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &photo)) /* required, but often missing */
        photo = rd->spp >= 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK;

    rd->min_is_white = 0;
    /* Old-style JPEG and YCbCr other than new-style JPEG: libtiff's RGBA
     * interface decodes them (8-bit, colour only, strips). */
    rd->rgba = comp == COMPRESSION_OJPEG || (photo == PHOTOMETRIC_YCBCR && comp != COMPRESSION_JPEG);
    if (rd->rgba) {
        char emsg[1024] = "";
        const char *what = comp == COMPRESSION_OJPEG ? "old-style JPEG" : "YCbCr (not JPEG-compressed)";
        /* gray or colour without extra samples: libtiff would premultiply
         * or drop anything else */
        int want_spp = photo == PHOTOMETRIC_MINISBLACK ? 1 : 3;
        if (rd->bps != 8 || rd->dtype != SR_U8 || rd->spp != want_spp || TIFFIsTiled(tif) ||
            (photo != PHOTOMETRIC_YCBCR && photo != PHOTOMETRIC_RGB && photo != PHOTOMETRIC_MINISBLACK)) {
            sr_error_set(err, SR_ERR_UNSUPPORTED,
                         "%s: %s TIFF is supported in strips of 8-bit gray or colour only "
                         "(this one: %s, %u samples of %u bits)", rd->path, what,
                         TIFFIsTiled(tif) ? "tiled" : "strips", (unsigned)rd->spp, (unsigned)rd->bps);
            return -1;
        }
        if (!TIFFRGBAImageOK(tif, emsg)) {
            sr_error_set(err, SR_ERR_UNSUPPORTED, "%s: %s TIFF cannot be decoded (libtiff: %s)",
                         rd->path, what, emsg);
            return -1;
        }
        rd->color = photo == PHOTOMETRIC_MINISBLACK ? COL_GRAY : COL_RGB;
        rd->color_in = rd->spp;
        rd->out_ch = rd->color == COL_GRAY ? 1 : 3;
        rd->alpha = rd->assoc = rd->data = 0;
        return 0;
    }
    /* conversions below know unsigned 8/16-bit and float samples only */
    const int plain = (rd->dtype == SR_U8 && rd->bps <= 8) || (rd->dtype == SR_U16 && rd->bps == 16) ||
                      (rd->dtype == SR_F32 && rd->bps != 24);
    if (!plain && photo != PHOTOMETRIC_MINISBLACK && photo != PHOTOMETRIC_RGB &&
        !(photo == PHOTOMETRIC_MINISWHITE && rd->dtype == SR_U16)) {
        sr_error_set(err, SR_ERR_UNSUPPORTED,
                     "%s: photometric %u with %u-bit %s samples is not supported", rd->path,
                     (unsigned)photo, (unsigned)rd->bps, sr_dtype_name(rd->dtype));
        return -1;
    }
    switch (photo) {
    case PHOTOMETRIC_MINISWHITE:
        rd->min_is_white = 1;
        /* fall through */
    case PHOTOMETRIC_MINISBLACK:
        rd->color = COL_GRAY, rd->color_in = 1;
        break;
    case PHOTOMETRIC_RGB:
        rd->color = COL_RGB, rd->color_in = 3;
        break;
    case PHOTOMETRIC_YCBCR: /* JPEG-compressed: other YCbCr is rgba, above */
        /* let libjpeg convert to RGB (and upsample the chroma) */
        if (!TIFFSetField(tif, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB))
            return fail(rd, err, SR_ERR_UNSUPPORTED, "cannot decode YCbCr JPEG data as RGB");
        rd->color = COL_RGB, rd->color_in = 3;
        break;
    case PHOTOMETRIC_PALETTE: {
        uint16_t *r, *g, *b;
        if (rd->bps > 8 || rd->dtype != SR_U8) {
            sr_error_set(err, SR_ERR_UNSUPPORTED, "%s: %u-bit palette TIFF is not supported",
                         rd->path, (unsigned)rd->bps);
            return -1;
        }
        if (!TIFFGetField(tif, TIFFTAG_COLORMAP, &r, &g, &b))
            return fail(rd, err, SR_ERR_CORRUPT, "palette TIFF without a color map");
        rd->cmap[0] = r, rd->cmap[1] = g, rd->cmap[2] = b;
        rd->cmap_8bit = 1;
        for (uint32_t i = 0; i < (1u << rd->bps); i++)
            if (r[i] > 255 || g[i] > 255 || b[i] > 255)
                rd->cmap_8bit = 0;
        rd->color = COL_PALETTE, rd->color_in = 1;
        break;
    }
    case PHOTOMETRIC_SEPARATED: {
        uint16_t inkset = INKSET_CMYK;
        TIFFGetFieldDefaulted(tif, TIFFTAG_INKSET, &inkset);
        if (inkset != INKSET_CMYK || rd->spp < 4 || rd->dtype == SR_F32) {
            sr_error_set(err, SR_ERR_UNSUPPORTED,
                         "%s: separated (non-CMYK or float) TIFF is not supported", rd->path);
            return -1;
        }
        rd->color = COL_CMYK, rd->color_in = 4;
        break;
    }
    default:
        sr_error_set(err, SR_ERR_UNSUPPORTED,
                     "%s: photometric interpretation %u (e.g. CIELab, LogLuv) is not supported",
                     rd->path, (unsigned)photo);
        return -1;
    }

    if (rd->spp < rd->color_in) {
        sr_error_set(err, SR_ERR_CORRUPT, "%s: %u samples per pixel do not fit photometric %u",
                     rd->path, (unsigned)rd->spp, (unsigned)photo);
        return -1;
    }
    /* Extra samples: only associated or unassociated alpha is alpha (and
     * only right after the colour); "unspecified" ones are data channels (a
     * second fluorescence channel), kept as they are. Without an
     * ExtraSamples tag a single extra sample is taken as alpha, as libvips
     * and PIL do. */
    int extras = rd->spp - rd->color_in;
    rd->alpha = rd->assoc = rd->data = 0;
    if (extras > 0) {
        uint16_t n = 0, *types = NULL;
        TIFFGetFieldDefaulted(tif, TIFFTAG_EXTRASAMPLES, &n, &types);
        if (!types)
            n = 0;
        for (int i = 0; i < extras; i++) {
            uint16_t t = i < n ? types[i] : (i == 0 ? EXTRASAMPLE_UNASSALPHA : EXTRASAMPLE_UNSPECIFIED);
            if (t == EXTRASAMPLE_ASSOCALPHA || t == EXTRASAMPLE_UNASSALPHA) {
                if (i > 0) {
                    sr_error_set(err, SR_ERR_UNSUPPORTED,
                                 "%s: an alpha sample after %d data sample(s) is not supported",
                                 rd->path, i);
                    return -1;
                }
                rd->alpha = 1;
                rd->assoc = t == EXTRASAMPLE_ASSOCALPHA;
            } else {
                rd->data++;
            }
        }
    }
    if (extras > 0 && (rd->color == COL_PALETTE || rd->color == COL_CMYK) && rd->data > 0) {
        sr_error_set(err, SR_ERR_UNSUPPORTED,
                     "%s: %s TIFF with %d extra data sample(s) is not supported", rd->path,
                     rd->color == COL_PALETTE ? "palette" : "CMYK", rd->data);
        return -1;
    }
    if (rd->color == COL_PALETTE && rd->alpha) {
        sr_error_set(err, SR_ERR_UNSUPPORTED, "%s: palette TIFF with alpha is not supported",
                     rd->path);
        return -1;
    }
    if (rd->assoc && !plain) {
        sr_error_set(err, SR_ERR_UNSUPPORTED,
                     "%s: associated alpha with %u-bit %s samples is not supported", rd->path,
                     (unsigned)rd->bps, sr_dtype_name(rd->dtype));
        return -1;
    }
    rd->out_ch = (rd->color == COL_GRAY ? 1 : 3) + rd->alpha + rd->data;
    if (rd->out_ch > SR_MAX_CHANNELS) {
        sr_error_set(err, SR_ERR_UNSUPPORTED, "%s: %u samples per pixel are more than %d",
                     rd->path, (unsigned)rd->spp, SR_MAX_CHANNELS);
        return -1;
    }
    return 0;
}

static int setup_band(tiff_reader *rd, sr_error *err)
{
    TIFF *tif = rd->tif;
    if (rd->rgba) { /* a strip of 32-bit ABGR pixels from TIFFReadRGBAStrip */
        uint32_t rps = 0;
        TIFFGetFieldDefaulted(tif, TIFFTAG_ROWSPERSTRIP, &rps);
        if (rps == 0 || rps > rd->height)
            rps = rd->height;
        uint64_t band = (uint64_t)rd->width * rps * 4;
        if (band > SR_TIFF_MAX_BAND_BYTES) {
            sr_error_set(err, SR_ERR_TOO_BIG, "%s: a strip needs %llu MiB to decode, over the "
                         "%llu MiB limit", rd->path, (unsigned long long)(band >> 20),
                         (unsigned long long)(SR_TIFF_MAX_BAND_BYTES >> 20));
            return -1;
        }
        rd->mode = MODE_RGBA;
        rd->nplanes = 1;
        rd->rps = rps;
        rd->scanline = (size_t)rd->width * 4;
        rd->plane_band = (size_t)band;
        if (!(rd->band = malloc(rd->plane_band))) {
            sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory for a strip buffer", rd->path);
            return -1;
        }
        return 0;
    }
    uint16_t planar = PLANARCONFIG_CONTIG;
    TIFFGetFieldDefaulted(tif, TIFFTAG_PLANARCONFIG, &planar);
    rd->nplanes = (planar == PLANARCONFIG_SEPARATE && rd->spp > 1) ? rd->spp : 1;
    unsigned per_plane = rd->nplanes == 1 ? rd->spp : 1;

    uint64_t scan = TIFFScanlineSize64(tif);
    uint64_t need = ((uint64_t)rd->width * per_plane * rd->bps + 7) / 8;
    if (scan == 0 || scan < need)
        return fail(rd, err, SR_ERR_CORRUPT, "inconsistent image layout");

    uint64_t band;
    if (TIFFIsTiled(tif)) {
        uint32_t tw = 0, th = 0;
        TIFFGetField(tif, TIFFTAG_TILEWIDTH, &tw);
        TIFFGetField(tif, TIFFTAG_TILELENGTH, &th);
        uint64_t tsize = TIFFTileSize64(tif), trow = TIFFTileRowSize64(tif);
        if (tw == 0 || th == 0 || tsize == 0 || trow == 0 ||
            trow * 8 != (uint64_t)tw * per_plane * rd->bps)
            return fail(rd, err, SR_ERR_CORRUPT, "invalid tile layout");
        rd->mode = MODE_TILES;
        rd->tw = tw, rd->rps = th;
        rd->tiles_across = (uint32_t)((rd->width + (uint64_t)tw - 1) / tw);
        rd->tile_size = (size_t)tsize, rd->tile_row = (size_t)trow;
        band = tsize * rd->tiles_across;
        scan = trow * rd->tiles_across; /* assembled row, padded to whole tiles */
    } else {
        uint32_t rps = 0;
        TIFFGetFieldDefaulted(tif, TIFFTAG_ROWSPERSTRIP, &rps);
        if (rps == 0 || rps > rd->height)
            rps = rd->height;
        band = TIFFVStripSize64(tif, rps);
        if (band == 0 || band < scan)
            return fail(rd, err, SR_ERR_CORRUPT, "invalid strip layout");
        rd->rps = rps;
        rd->mode = MODE_STRIPS;
        if (band > SR_TIFF_MAX_STRIP_BYTES && rd->nplanes == 1) {
            rd->mode = MODE_SCANLINE; /* huge strip: decode it row by row */
            band = scan;
        }
    }
    if (band > SR_TIFF_MAX_BAND_BYTES / rd->nplanes) {
        char what[160];
        snprintf(what, sizeof what, "a %s needs %llu MiB to decode, over the %llu MiB limit",
                 rd->mode == MODE_TILES ? "row of tiles" : "strip",
                 (unsigned long long)(band * rd->nplanes >> 20),
                 (unsigned long long)(SR_TIFF_MAX_BAND_BYTES >> 20));
        sr_error_set(err, SR_ERR_TOO_BIG, "%s: %s", rd->path, what);
        return -1;
    }
    rd->scanline = (size_t)scan;
    rd->plane_band = (size_t)band;
    rd->band = malloc(rd->plane_band * rd->nplanes);
    if (rd->mode == MODE_TILES)
        rd->gather = malloc(rd->scanline * rd->nplanes);
    int need_tmp = rd->color == COL_PALETTE || rd->color == COL_CMYK;
    if (need_tmp)
        rd->tmp = malloc((size_t)rd->width * rd->spp * sr_dtype_size(rd->dtype));
    if (!rd->band || (rd->mode == MODE_TILES && !rd->gather) || (need_tmp && !rd->tmp)) {
        sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory for a strip buffer", rd->path);
        return -1;
    }
    return 0;
}

static int setup_meta(tiff_reader *rd, sr_meta *m, sr_error *err)
{
    TIFF *tif = rd->tif;
    memset(m, 0, sizeof *m);
    m->srgb_intent = -1;

    float xr = 0, yr = 0;
    uint16_t unit = RESUNIT_INCH;
    if (TIFFGetField(tif, TIFFTAG_XRESOLUTION, &xr) && xr > 0) {
        if (!TIFFGetField(tif, TIFFTAG_YRESOLUTION, &yr) || !(yr > 0))
            yr = xr;
        TIFFGetFieldDefaulted(tif, TIFFTAG_RESOLUTIONUNIT, &unit);
        m->res_unit = unit == RESUNIT_CENTIMETER ? SR_RES_CM
                      : unit == RESUNIT_NONE     ? SR_RES_ASPECT
                                                 : SR_RES_INCH;
        m->xres = xr, m->yres = yr;
    }

    const char *s;
    if (TIFFGetField(tif, TIFFTAG_IMAGEDESCRIPTION, &s) && s &&
        !(m->description = keep(rd, s, strlen(s), 1)))
        goto nomem;
    if (TIFFGetField(tif, TIFFTAG_SOFTWARE, &s) && s &&
        !(m->software = keep(rd, s, strlen(s), 1)))
        goto nomem;

    uint32_t icc_len = 0;
    void *icc = NULL;
    if (TIFFGetField(tif, TIFFTAG_ICCPROFILE, &icc_len, &icc) && icc && icc_len > 0) {
        if (!(m->icc = keep(rd, icc, icc_len, 0)))
            goto nomem;
        m->icc_len = icc_len;
    }

    /* ImageJ's metadata, only when both tags are there (ImageJ needs both) */
    uint32_t ij_n = 0, ijc_n = 0;
    const void *ij = NULL, *ijc = NULL;
    if (sr_tiff_get_array(tif, SR_TIFFTAG_IJ_META, TIFF_BYTE, TIFF_UNDEFINED, &ij_n, &ij) &&
        sr_tiff_get_array(tif, SR_TIFFTAG_IJ_COUNTS, TIFF_LONG, TIFF_LONG, &ijc_n, &ijc)) {
        if (!(m->ij_meta = keep(rd, ij, ij_n, 0)) ||
            !(m->ij_counts = keep(rd, ijc, (size_t)ijc_n * sizeof(uint32_t), 0)))
            goto nomem;
        m->ij_meta_len = ij_n;
        m->ij_counts_n = ijc_n;
    }

    uint16_t orient = 0;
    if (TIFFGetField(tif, TIFFTAG_ORIENTATION, &orient) && orient >= 1 && orient <= 8)
        m->orientation = orient; /* reported, not applied: pixels stay as stored */
    return 0;
nomem:
    sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory for metadata", rd->path);
    return -1;
}

/* Read the current directory's layout and fill info (not pages/page). */
static int setup_page(tiff_reader *rd, sr_image_info *info, sr_error *err)
{
    TIFF *tif = rd->tif;
    free_band(rd);
    rd->y = 0;

    uint32_t w = 0, h = 0;
    uint16_t bps = 1, spp = 1, fmt = SAMPLEFORMAT_UINT;
    TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &w);
    TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &h);
    TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &bps);
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &spp);
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLEFORMAT, &fmt);
    if (w == 0 || h == 0 || spp == 0 || bps == 0)
        return fail(rd, err, SR_ERR_CORRUPT, "image has no pixels or no samples");
    /* rows are int-indexed and a row of 4 floats must fit a size_t easily */
    if (w > INT_MAX / 16 || h > INT_MAX) {
        sr_error_set(err, SR_ERR_TOO_BIG, "%s: %ux%u pixels is too large", rd->path,
                     (unsigned)w, (unsigned)h);
        return -1;
    }
    rd->width = w, rd->height = h, rd->bps = bps, rd->spp = spp;

    if (check_sample_format(rd, fmt, err) || setup_color(rd, err) || setup_band(rd, err) ||
        setup_meta(rd, &info->meta, err))
        return -1;

    info->width = (int)w;
    info->height = (int)h;
    info->channels = rd->out_ch;
    info->data_channels = rd->data;
    info->dtype = rd->dtype;
    info->format = SR_FMT_TIFF;
    info->bits = bps;
    return 0;
}

/* ---- decoding -------------------------------------------------------------- */

static int load_band(tiff_reader *rd, uint32_t y, sr_error *err)
{
    TIFF *tif = rd->tif;
    uint32_t y0 = rd->mode == MODE_SCANLINE ? y : y / rd->rps * rd->rps;
    uint32_t rows = rd->mode == MODE_SCANLINE ? 1 : rd->rps;
    if (rows > rd->height - y0)
        rows = rd->height - y0;
    rd->band_rows = 0;

    for (int p = 0; p < rd->nplanes; p++) {
        uint8_t *dst = rd->band + (size_t)p * rd->plane_band;
        int ok = 1;
        if (rd->mode == MODE_RGBA) {
            ok = TIFFReadRGBAStrip(tif, y0, (uint32_t *)(void *)dst) == 1;
        } else if (rd->mode == MODE_SCANLINE) {
            ok = TIFFReadScanline(tif, dst, y, 0) == 1;
        } else if (rd->mode == MODE_STRIPS) {
            uint32_t strip = TIFFComputeStrip(tif, y0, (uint16_t)p);
            tmsize_t got = TIFFReadEncodedStrip(tif, strip, dst, (tmsize_t)rd->plane_band);
            ok = got >= 0 && (uint64_t)got >= (uint64_t)rows * rd->scanline;
        } else {
            for (uint32_t t = 0; t < rd->tiles_across && ok; t++) {
                uint32_t tile = TIFFComputeTile(tif, t * rd->tw, y0, 0, (uint16_t)p);
                ok = TIFFReadEncodedTile(tif, tile, dst + (size_t)t * rd->tile_size,
                                         (tmsize_t)rd->tile_size) >= 0;
            }
        }
        if (!ok) {
            char what[96];
            snprintf(what, sizeof what, "truncated or corrupt image data at row %u",
                     (unsigned)y);
            return fail(rd, err, SR_ERR_CORRUPT, what);
        }
    }
    rd->band_y0 = y0;
    rd->band_rows = rows;
    return 0;
}

/* Pointers to row y's native samples, one per plane. */
static void row_planes(tiff_reader *rd, uint32_t y, const uint8_t *planes[])
{
    size_t r = y - rd->band_y0;
    for (int p = 0; p < rd->nplanes; p++) {
        const uint8_t *band = rd->band + (size_t)p * rd->plane_band;
        if (rd->mode == MODE_RGBA) { /* the strip's raster is bottom-up */
            planes[p] = band + (rd->band_rows - 1 - r) * rd->scanline;
        } else if (rd->mode == MODE_TILES) {
            uint8_t *row = rd->gather + (size_t)p * rd->scanline;
            for (uint32_t t = 0; t < rd->tiles_across; t++)
                memcpy(row + t * rd->tile_row, band + t * rd->tile_size + r * rd->tile_row,
                       rd->tile_row);
            planes[p] = row;
        } else {
            planes[p] = band + r * rd->scanline;
        }
    }
}

static uint32_t get_bits(const uint8_t *p, size_t i, unsigned b)
{
    size_t bit = i * b;
    return (uint32_t)(p[bit >> 3] >> (8 - b - (bit & 7))) & ((1u << b) - 1);
}

/* Sample i of b (9..15) bits from an MSB-first bit stream of len bytes. */
static uint32_t get_bits_wide(const uint8_t *p, size_t len, size_t i, unsigned b)
{
    size_t bit = i * b, k = bit >> 3;
    uint32_t v = (uint32_t)p[k] << 16;
    if (k + 1 < len)
        v |= (uint32_t)p[k + 1] << 8;
    if (k + 2 < len)
        v |= p[k + 2];
    return (v >> (24 - b - (bit & 7))) & ((1u << b) - 1);
}

/* IEEE 754 half -> float (subnormals, infinities and NaN included). */
static float half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31, e = (h >> 10) & 31, m = h & 1023, bits;
    if (e == 31)
        bits = sign | 0x7f800000u | (m << 13);
    else if (e > 0)
        bits = sign | ((e + 112) << 23) | (m << 13);
    else if (m == 0)
        bits = sign;
    else { /* subnormal: normalise */
        e = 113;
        while (!(m & 1024)) {
            m <<= 1;
            e--;
        }
        bits = sign | (e << 23) | ((m & 1023) << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

/* Native samples -> w*spp interleaved samples of rd->dtype in dst. Samples
 * of fewer than 8 bits are scaled to 0..255 (palette indices are not). */
static void unpack_row(const tiff_reader *rd, const uint8_t *const planes[], void *dst)
{
    const size_t w = rd->width, spp = rd->spp;
    const unsigned b = rd->bps;
    const int chunky = rd->nplanes == 1;
    if (chunky && !rd->half && (b == 8 || b == 16 || b == 32)) {
        memcpy(dst, planes[0], w * spp * (b / 8)); /* the common case */
        return;
    }
    const size_t stride = chunky ? spp : 1;
    for (size_t s = 0; s < spp; s++) {
        const uint8_t *p = planes[chunky ? 0 : s];
        const size_t off = chunky ? s : 0;
        if (b < 8) {
            uint8_t *d = dst;
            const uint32_t scale = rd->color == COL_PALETTE ? 1 : 255 / ((1u << b) - 1);
            for (size_t x = 0; x < w; x++)
                d[x * spp + s] = (uint8_t)(get_bits(p, x * stride + off, b) * scale);
        } else if (b == 8) {
            uint8_t *d = dst;
            for (size_t x = 0; x < w; x++)
                d[x * spp + s] = p[x * stride + off];
        } else if (b == 16 && rd->half) {
            float *d = dst;
            for (size_t x = 0; x < w; x++) {
                uint16_t h;
                memcpy(&h, p + (x * stride + off) * 2, 2);
                d[x * spp + s] = half_to_float(h);
            }
        } else if (b == 16) {
            uint16_t *d = dst;
            for (size_t x = 0; x < w; x++)
                memcpy(&d[x * spp + s], p + (x * stride + off) * 2, 2);
        } else if (b < 16) { /* 10, 12, 14 bits packed: values kept */
            uint16_t *d = dst;
            for (size_t x = 0; x < w; x++)
                d[x * spp + s] = (uint16_t)get_bits_wide(p, rd->scanline, x * stride + off, b);
        } else if (b == 24) { /* libtiff has put the 3 bytes in host order */
            float *d = dst;
            const uint16_t one = 1;
            const int little = *(const uint8_t *)&one == 1;
            for (size_t x = 0; x < w; x++) {
                const uint8_t *q = p + (x * stride + off) * 3;
                uint32_t v = little ? q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16
                                    : q[2] | (uint32_t)q[1] << 8 | (uint32_t)q[0] << 16;
                d[x * spp + s] = (float)v;
            }
        } else if (b == 32) { /* float, uint32 or int32: bits copied */
            uint32_t *d = dst;
            for (size_t x = 0; x < w; x++)
                memcpy(&d[x * spp + s], p + (x * stride + off) * 4, 4);
        } else { /* 64-bit float */
            float *d = dst;
            for (size_t x = 0; x < w; x++) {
                double v;
                memcpy(&v, p + (x * stride + off) * 8, 8);
                d[x * spp + s] = (float)v;
            }
        }
    }
}

static void invert_gray(const tiff_reader *rd, void *row)
{
    const size_t w = rd->width, n = (size_t)rd->out_ch;
    /* white is the largest value the bits hold (4095 for 12-bit) */
    const unsigned white16 = rd->bps < 16 ? (1u << rd->bps) - 1 : 65535u;
    if (rd->dtype == SR_U8)
        for (size_t x = 0; x < w; x++)
            ((uint8_t *)row)[x * n] = (uint8_t)(255 - ((uint8_t *)row)[x * n]);
    else if (rd->dtype == SR_U16)
        for (size_t x = 0; x < w; x++)
            ((uint16_t *)row)[x * n] = (uint16_t)(white16 - ((uint16_t *)row)[x * n]);
    else /* float: white is 1.0 */
        for (size_t x = 0; x < w; x++)
            ((float *)row)[x * n] = 1.0f - ((float *)row)[x * n];
}

/* Associated (premultiplied) alpha -> unassociated, rounded. Alpha is the
 * sample right after the colour; data samples are not premultiplied. */
static void unpremultiply(const tiff_reader *rd, void *row)
{
    const size_t w = rd->width, n = (size_t)rd->out_ch;
    const size_t a = (size_t)(rd->color == COL_GRAY ? 1 : 3);
    for (size_t x = 0; x < w; x++) {
        for (size_t c = 0; c < a; c++) {
            if (rd->dtype == SR_U8) {
                uint8_t *px = (uint8_t *)row + x * n;
                uint32_t v = px[a] ? (px[c] * 255u + px[a] / 2u) / px[a] : 0;
                px[c] = (uint8_t)(v > 255 ? 255 : v);
            } else if (rd->dtype == SR_U16) {
                uint16_t *px = (uint16_t *)row + x * n;
                uint64_t v = px[a] ? (px[c] * 65535ull + px[a] / 2u) / px[a] : 0;
                px[c] = (uint16_t)(v > 65535 ? 65535 : v);
            } else {
                float *px = (float *)row + x * n;
                px[c] = px[a] != 0.0f ? px[c] / px[a] : 0.0f;
            }
        }
    }
}

static void palette_to_rgb(const tiff_reader *rd, const uint8_t *idx, uint8_t *out)
{
    for (size_t x = 0; x < rd->width; x++)
        for (int c = 0; c < 3; c++) {
            uint32_t v = rd->cmap[c][idx[x]];
            /* >> 8 as libtiff's TIFFRGBAImage does: right for both v*257 and
             * v<<8 encoders */
            out[x * 3 + c] = (uint8_t)(rd->cmap_8bit ? v : v >> 8);
        }
}

/* Naive CMYK -> RGB (R = (1-C)(1-K)), the inverse of ImageMagick's and
 * libtiff's own TIFFRGBAImage conversion; alpha is copied. */
static void cmyk_to_rgb(const tiff_reader *rd, const void *in, void *out)
{
    const size_t w = rd->width, spp = rd->spp, n = (size_t)rd->out_ch;
    for (size_t x = 0; x < w; x++) {
        if (rd->dtype == SR_U8) {
            const uint8_t *s = (const uint8_t *)in + x * spp;
            uint8_t *d = (uint8_t *)out + x * n;
            for (int c = 0; c < 3; c++)
                d[c] = (uint8_t)(((255u - s[c]) * (255u - s[3]) + 127u) / 255u);
            if (rd->alpha)
                d[3] = s[4];
        } else {
            const uint16_t *s = (const uint16_t *)in + x * spp;
            uint16_t *d = (uint16_t *)out + x * n;
            for (int c = 0; c < 3; c++)
                d[c] = (uint16_t)(((65535ull - s[c]) * (65535ull - s[3]) + 32767u) / 65535u);
            if (rd->alpha)
                d[3] = s[4];
        }
    }
}

static void convert_row(const tiff_reader *rd, const uint8_t *const planes[], void *out)
{
    if (rd->rgba) {
        uint8_t *o = out;
        const int n = rd->out_ch;
        for (size_t x = 0; x < rd->width; x++) {
            uint32_t v;
            memcpy(&v, planes[0] + x * 4, 4);
            o[x * n] = (uint8_t)TIFFGetR(v);
            if (n == 3)
                o[x * n + 1] = (uint8_t)TIFFGetG(v), o[x * n + 2] = (uint8_t)TIFFGetB(v);
        }
        return;
    }
    if (rd->color == COL_PALETTE) {
        unpack_row(rd, planes, rd->tmp);
        palette_to_rgb(rd, rd->tmp, out);
        return;
    }
    if (rd->color == COL_CMYK) {
        unpack_row(rd, planes, rd->tmp);
        cmyk_to_rgb(rd, rd->tmp, out);
    } else {
        unpack_row(rd, planes, out);
        if (rd->min_is_white)
            invert_gray(rd, out);
    }
    if (rd->assoc)
        unpremultiply(rd, out);
}

/* ---- codec entry points --------------------------------------------------- */

static int tiff_read_rows(void *state, void *buf, int n, sr_error *err)
{
    tiff_reader *rd = state;
    const size_t row_bytes = (size_t)rd->width * rd->out_ch * sr_dtype_size(rd->dtype);
    const uint8_t *planes[8] = {0};
    const uint8_t **pp = planes;
    if (rd->nplanes > 8 && !(pp = calloc((size_t)rd->nplanes, sizeof *pp))) {
        sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", rd->path);
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < n; i++, rd->y++) {
        uint32_t y = rd->y;
        if (y >= rd->height) {
            sr_error_set(err, SR_ERR_ARG, "%s: read past the last row", rd->path);
            rc = -1;
            break;
        }
        if ((rd->band_rows == 0 || y < rd->band_y0 || y >= rd->band_y0 + rd->band_rows) &&
            load_band(rd, y, err)) {
            rc = -1;
            break;
        }
        row_planes(rd, y, pp);
        convert_row(rd, pp, (uint8_t *)buf + (size_t)i * row_bytes);
    }
    if (pp != planes)
        free(pp);
    return rc;
}

static int tiff_next_page(void *state, sr_image_info *info, sr_error *err)
{
    tiff_reader *rd = state;
    if (TIFFLastDirectory(rd->tif))
        return 0;
    if (!TIFFReadDirectory(rd->tif))
        return fail(rd, err, SR_ERR_CORRUPT, "cannot read the next page");
    if (setup_page(rd, info, err))
        return -1;
    info->page++;
    return 1;
}

static void tiff_close(void *state)
{
    tiff_reader *rd = state;
    if (!rd)
        return;
    if (rd->tif)
        TIFFClose(rd->tif); /* closes the fd */
    free_band(rd);
    while (rd->kept) {
        kept *k = rd->kept;
        rd->kept = k->next;
        free(k);
    }
    free(rd->path);
    free(rd);
}

int sr_tiff_open_reader(const char *path, int fd, const sr_read_opts *opts,
                        sr_image_info *info, sr_codec_reader *out, sr_error *err)
{
    (void)opts; /* everything streams; orientation is reported, not applied */
    tiff_reader *rd = calloc(1, sizeof *rd);
    char *p = strdup(path ? path : "(tiff)");
    if (!rd || !p) {
        free(rd);
        free(p);
        close(fd);
        sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", path);
        return -1;
    }
    rd->path = p;
    rd->ec.path = p;
    /* "m": no memory mapping, so touched file pages do not add to our RSS */
    rd->tif = sr_tiff_fdopen(fd, p, "rm", &rd->ec);
    if (!rd->tif) {
        close(fd);
        fail(rd, err, SR_ERR_CORRUPT, "not a readable TIFF file");
        tiff_close(rd);
        return -1;
    }
    memset(info, 0, sizeof *info);
    tdir_t pages = TIFFNumberOfDirectories(rd->tif);
    info->pages = pages < 1 ? 1 : pages > INT_MAX ? INT_MAX : (int)pages;
    info->page = 0;
    if (setup_page(rd, info, err)) {
        tiff_close(rd);
        return -1;
    }
    out->state = rd;
    out->read_rows = tiff_read_rows;
    out->next_page = tiff_next_page;
    out->close = tiff_close;
    return 0;
}
