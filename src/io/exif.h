/* exif.h: the one EXIF field srgan-up needs (private to src/io). */
#ifndef SRGAN_IO_EXIF_H
#define SRGAN_IO_EXIF_H

#include <stddef.h>
#include <stdint.h>

/* Orientation (1..8) from the payload of a JPEG APP1 segment that starts with
 * "Exif\0\0" followed by a TIFF header (either byte order). Returns 0 when the
 * segment is not EXIF, holds no orientation in IFD0, or is malformed; every
 * offset is bounds-checked against len. */
int sr_exif_orientation(const uint8_t *data, size_t len);

#endif
