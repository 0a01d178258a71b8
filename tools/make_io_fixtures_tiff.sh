#!/bin/sh
# make_io_fixtures_tiff.sh: regenerate tests/fixtures/tiff/ (TIFF files written
# by other tools, plus the raw reference pixels they must decode to).
#
#   sh tools/make_io_fixtures_tiff.sh        (from the repository root)
#
# Needs ImageMagick 6 `convert`, `vips` and /usr/bin/python3 with PIL + numpy.
# All images are 40x30 (the 3-page file also has a 20x10 page). References are
# raw, row-major, channels interleaved, multi-byte samples little-endian:
#   ref_gray8.raw ref_gray16.raw ref_gray4.raw(8-bit values, multiples of 17)
#   ref_rgb8.raw ref_rgb16.raw ref_rgba8.raw ref_grayf32.raw ref_bilevel.raw
#   ref_pal.raw (palette image as RGB8) ref_gray16_small.raw (20x10)
set -eu
D=tests/fixtures/tiff
mkdir -p "$D"
cd "$D"
rm -f ./*.tif ./*.raw

/usr/bin/python3 - <<'PY'
import numpy as np
from PIL import Image
W, H = 40, 30
y, x = np.mgrid[0:H, 0:W]
rgb8 = np.stack([(x * 6) % 256, (y * 8) % 256, (x * y) % 256], -1).astype(np.uint8)
rgb8[0, 0] = 0; rgb8[0, 1] = 255
gray8 = ((x * 7 + y * 3) % 256).astype(np.uint8)
gray16 = ((x * 1601 + y * 2203) % 65536).astype(np.uint16); gray16[0, 0] = 65535; gray16[0, 1] = 0
rgb16 = np.stack([gray16, 65535 - gray16, (x * y * 50).astype(np.uint16)], -1).astype(np.uint16)
alpha = (128 + (x * 3 + y) % 128).astype(np.uint8); alpha[0, :4] = 255
rgba8 = np.concatenate([rgb8, alpha[..., None]], -1)
grayf32 = ((x - 20) * 0.125 + y * 1e-3).astype(np.float32); grayf32[0, 0] = 1e30
bilevel = np.where(((x // 3) + (y // 5)) % 2 == 0, 255, 0).astype(np.uint8)
gray4 = (((x + y) % 16) * 17).astype(np.uint8)
small16 = (np.mgrid[0:10, 0:20][1] * 3000 + np.mgrid[0:10, 0:20][0] * 7).astype(np.uint16)
for name, a in [('gray8', gray8), ('gray16', gray16), ('rgb8', rgb8), ('rgb16', rgb16),
                ('rgba8', rgba8), ('grayf32', grayf32), ('bilevel', bilevel), ('gray4', gray4),
                ('gray16_small', small16)]:
    a.astype(a.dtype.newbyteorder('<')).tofile('ref_%s.raw' % name)
# PIL writers
Image.fromarray(rgba8, 'RGBA').save('rgba8_pil_deflate.tif', compression='tiff_adobe_deflate')
Image.fromarray(gray16).save('gray16_pil_lzw.tif', compression='tiff_lzw')
Image.fromarray(grayf32, 'F').save('grayf32_pil.tif')
Image.fromarray(bilevel).convert('1').save('bilevel_pil_g4.tif', compression='group4')
pal = Image.fromarray(rgb8).quantize(colors=50)
pal.save('pal8_pil.tif')
np.asarray(pal.convert('RGB')).tofile('ref_pal.raw')
Image.fromarray(gray16.astype(np.int32), 'I').save('int32_pil.tif')
PY

R8="-size 40x30 -depth 8"
convert $R8 rgb:ref_rgb8.raw -compress none rgb8_im_strip.tif
convert $R8 rgb:ref_rgb8.raw -compress zip -define tiff:tile-geometry=16x16 rgb8_im_tile16.tif
convert $R8 rgb:ref_rgb8.raw -compress lzw -interlace plane rgb8_im_planar.tif
convert $R8 rgb:ref_rgb8.raw -compress lzw -interlace plane -define tiff:tile-geometry=16x16 rgb8_im_planar_tile.tif
convert $R8 rgb:ref_rgb8.raw -compress jpeg -quality 95 rgb8_im_jpeg.tif
convert $R8 rgb:ref_rgb8.raw -colorspace CMYK -compress none cmyk8_im.tif
convert $R8 rgba:ref_rgba8.raw -compress zip -define tiff:alpha=associated rgba8_im_assoc.tif
convert $R8 gray:ref_gray8.raw -define tiff:photometric=min-is-white -compress RLE gray8_im_miniswhite.tif
convert $R8 gray:ref_gray4.raw -depth 4 -compress none gray4_im.tif
convert $R8 gray:ref_bilevel.raw -monochrome -compress Group4 bilevel_im_g4.tif
R16="-size 40x30 -depth 16 -endian LSB"
convert $R16 gray:ref_gray16.raw -define tiff:endian=msb -compress none gray16_im_msb.tif
convert $R16 rgb:ref_rgb16.raw -define tiff:endian=msb -compress zip -define tiff:tile-geometry=16x16 rgb16_im_msb_tile.tif
convert $R16 gray:ref_gray16.raw -size 20x10 gray:ref_gray16_small.raw $R16 \( gray:ref_gray16.raw -flip \) \
    -compress zip gray16_im_3pages.tif
vips tiffsave rgb8_im_strip.tif rgb8_vips_tile.tif --tile --tile-width 16 --tile-height 16 \
    --compression deflate --predictor horizontal
vips tiffsave gray16_pil_lzw.tif gray16_vips_bigtiff.tif --bigtiff --compression lzw
vips tiffsave grayf32_pil.tif grayf32_vips_pred3.tif --compression deflate --predictor float
ls -l
