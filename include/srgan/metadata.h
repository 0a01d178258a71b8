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

#ifdef __cplusplus
}
#endif
#endif
