/* srgan/metadata.h: keeping calibration metadata true after a resize.
 *
 * Resolution tags are scaled by the pipeline (pixels per unit x scale).
 * Descriptions need text surgery: OME-XML records the image size and the
 * physical pixel size in attributes of each <Pixels> element:
 *
 *     char *d = sr_description_rescale(desc, w, h, 4 * w, 4 * h, 4.0, 4.0);
 *     // <Pixels SizeX="512" PhysicalSizeX="0.65" ...> becomes
 *     // <Pixels SizeX="2048" PhysicalSizeX="0.1625" ...>, the rest untouched
 *     free(d);
 *
 * ImageJ descriptions ("ImageJ=1.x\nimages=..\nunit=micron\nspacing=..")
 * hold no XY size (ImageJ takes it from the resolution tags, which are
 * scaled, whatever their unit) and their spacing is along Z; only
 * xorigin/yorigin, which are in pixels, are multiplied by the scale.
 *
 * tifffile's JSON descriptions record the series shape, {"shape": [31, 61,
 * 57]}: the (H, W) pair, last or followed by one samples axis, becomes the
 * new size. A description that is not valid JSON is left alone.
 */
#ifndef SRGAN_METADATA_H
#define SRGAN_METADATA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A new description for an image of old_w x old_h resized to new_w x new_h
 * by factors sx, sy, or NULL when desc needs no change (or is NULL). Free
 * with free(). */
char *sr_description_rescale(const char *desc, int old_w, int old_h, int new_w, int new_h,
                             double sx, double sy);

/* 1 if desc is OME-XML, 2 an ImageJ description, 3 JSON (tifffile), 0 other. */
int sr_description_kind(const char *desc);

/* ImageJ metadata (TIFF tags IJMetadata and IJMetadataByteCounts, see
 * sr_meta in image.h) without its ROI and overlay entries: they hold pixel
 * coordinates of the original size and would be misplaced after a resize
 * (everything else, Info, labels, ranges, LUTs, properties, is kept byte for
 * byte). out has room for ij_len bytes, out_counts for n_counts values.
 * Returns the number of entries dropped; 0 when there are none or the data
 * is not well-formed ImageJ metadata (out untouched). *out_n == 1 means
 * nothing but the header is left. */
int sr_ijmeta_drop_rois(const uint8_t *ij, size_t ij_len, const uint32_t *counts, size_t n_counts,
                        uint8_t *out, size_t *out_len, uint32_t *out_counts, size_t *out_n);

#ifdef __cplusplus
}
#endif
#endif
