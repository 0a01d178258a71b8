/* exif.c: read the orientation tag from an APP1 Exif segment.
 *
 * Layout: "Exif\0\0", then a TIFF header ("II*\0" little-endian or "MM\0*"
 * big-endian, then the 32-bit offset of IFD0, counted from the TIFF header),
 * then IFD0: a 16-bit entry count and 12-byte entries (tag, type, count,
 * value-or-offset). Orientation is tag 0x0112, type SHORT, count 1, stored in
 * the first two bytes of the value field. The data comes straight from the
 * file, so nothing is trusted: every read is checked against the length.
 */
#include "io/exif.h"

#include <string.h>

static unsigned get16(const uint8_t *p, int big)
{
    return big ? (unsigned)(p[0] << 8 | p[1]) : (unsigned)(p[1] << 8 | p[0]);
}

static uint32_t get32(const uint8_t *p, int big)
{
    return big ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]
               : (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

int sr_exif_orientation(const uint8_t *data, size_t len)
{
    const uint8_t *t;
    size_t tlen, ifd, count;
    int big;

    if (!data || len < 6 || memcmp(data, "Exif\0\0", 6) != 0) return 0;
    t = data + 6;
    tlen = len - 6;
    if (tlen < 8) return 0;
    if (memcmp(t, "II*\0", 4) == 0) big = 0;
    else if (memcmp(t, "MM\0*", 4) == 0) big = 1;
    else return 0;

    ifd = get32(t + 4, big);
    if (ifd < 8 || ifd > tlen || tlen - ifd < 2) return 0;
    count = get16(t + ifd, big);
    if (count > (tlen - ifd - 2) / 12) return 0; /* entries run past the end */

    for (size_t i = 0; i < count; i++) {
        const uint8_t *e = t + ifd + 2 + 12 * i;
        if (get16(e, big) != 0x0112) continue;
        /* SHORT (3) is what the standard says; a few writers use LONG (4). */
        unsigned type = get16(e + 2, big);
        uint32_t n = get32(e + 4, big);
        unsigned v;
        if (n != 1) return 0;
        if (type == 3) v = get16(e + 8, big);
        else if (type == 4) v = (unsigned)get32(e + 8, big);
        else return 0;
        return v >= 1 && v <= 8 ? (int)v : 0;
    }
    return 0;
}
