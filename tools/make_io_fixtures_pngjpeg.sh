#!/bin/sh
# make_io_fixtures_pngjpeg.sh: regenerate tests/fixtures/png and tests/fixtures/jpeg.
#
# Tiny PNG and JPEG files written by other tools (Pillow, ImageMagick, libvips,
# exiftool), read back by tests/io/test_png.c and tests/io/test_jpeg.c. The
# pixel values follow formulas the tests recompute on their own:
#   p8(x,y,c)  = (x*37 + y*59 + c*83 + 11) & 255
#   p16(x,y,c) = (x*4099 + y*9949 + c*21011 + 1234) & 65535
# and the JPEG pictures are 8x8 blocks of flat colours (listed below and in
# test_jpeg.c), so lossy coding leaves them within a few levels.
#
# Needs: /usr/bin/python3 with PIL (python3-pil), ImageMagick `convert`,
# `vips`, `exiftool`. Run from anywhere: sh tools/make_io_fixtures_pngjpeg.sh
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PNG="$ROOT/tests/fixtures/png"
JPG="$ROOT/tests/fixtures/jpeg"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$PNG" "$JPG"
rm -f "$PNG"/*.png "$PNG"/*.icc "$JPG"/*.jpg "$JPG"/*.png "$JPG"/*.icc

/usr/bin/python3 - "$PNG" "$JPG" "$TMP" <<'EOF'
import struct, sys
from PIL import Image, ImageCms
png, jpg, tmp = sys.argv[1:4]
W, H = 7, 5
def p8(x, y, c): return (x * 37 + y * 59 + c * 83 + 11) & 255
def p16(x, y, c): return (x * 4099 + y * 9949 + c * 21011 + 1234) & 65535

icc = ImageCms.ImageCmsProfile(ImageCms.createProfile('sRGB')).tobytes()
open(png + '/srgb.icc', 'wb').write(icc)

def img(mode, ch, f):
    im = Image.new(mode, (W, H))
    im.putdata([f(x, y) if ch == 1 else tuple(f(x, y, c) for c in range(ch))
                for y in range(H) for x in range(W)])
    return im

# Pillow: 1-bit, 8-bit gray, GA, RGBA, 16-bit gray, palettes, tRNS, metadata
img('1', 1, lambda x, y: 255 if (x + 2 * y) % 3 == 0 else 0).save(png + '/gray1_pil.png')
img('L', 1, lambda x, y: p8(x, y, 0)).save(png + '/gray8_pil.png')
img('LA', 2, p8).save(png + '/ga8_pil.png')
img('RGBA', 4, p8).save(png + '/rgba8_pil.png')
img('I;16', 1, lambda x, y: p16(x, y, 0)).save(png + '/gray16_pil.png')
# palette, 2-bit indices, tRNS: idx = (x + y) % 4
pal = [255, 0, 0, 0, 255, 0, 0, 0, 255, 200, 100, 50]
im = img('P', 1, lambda x, y: (x + y) % 4)
im.putpalette(pal)
im.save(png + '/pal2_trns_pil.png', bits=2, transparency=bytes([255, 128, 0, 64]))
# palette, 4-bit, no tRNS: idx = (x*3 + y*5) % 16, entry i = (16i, 255-16i, 7i)
im = img('P', 1, lambda x, y: (x * 3 + y * 5) % 16)
im.putpalette([v for i in range(16) for v in (16 * i, 255 - 16 * i, 7 * i)])
im.save(png + '/pal4_pil.png', bits=4)
# gray and RGB with a tRNS colour key
img('L', 1, lambda x, y: p8(x, y, 0)).save(png + '/gray8_trns_pil.png', transparency=p8(3, 2, 0))
img('RGB', 3, p8).save(png + '/rgb8_trns_pil.png', transparency=(p8(1, 1, 0), p8(1, 1, 1), p8(1, 1, 2)))
# metadata: iCCP, pHYs 300x150 dpi (11811 x 5906 px/m), gAMA 0.45455
from PIL import PngImagePlugin
info = PngImagePlugin.PngInfo()
info.add(b'gAMA', struct.pack('>I', 45455))
img('RGB', 3, p8).save(png + '/meta_pil.png', icc_profile=icc, dpi=(300, 150), pnginfo=info)

# sources for ImageMagick / vips: PGM/PPM/PAM with the same formulas
def pnm(path, magic, ch, maxval, f):
    big = maxval > 255
    data = bytearray()
    for y in range(H):
        for x in range(W):
            for c in range(ch):
                v = f(x, y, c)
                data += struct.pack('>H', v) if big else bytes([v])
    if magic == 'P7':
        tt = {1: 'GRAYSCALE', 2: 'GRAYSCALE_ALPHA', 3: 'RGB', 4: 'RGB_ALPHA'}[ch]
        hdr = 'P7\nWIDTH %d\nHEIGHT %d\nDEPTH %d\nMAXVAL %d\nTUPLTYPE %s\nENDHDR\n' % (W, H, ch, maxval, tt)
    else:
        hdr = '%s\n%d %d\n%d\n' % (magic, W, H, maxval)
    open(path, 'wb').write(hdr.encode() + bytes(data))
pnm(tmp + '/g2.pgm', 'P5', 1, 255, lambda x, y, c: ((x + y) % 4) * 85)
pnm(tmp + '/g4.pgm', 'P5', 1, 255, lambda x, y, c: ((x * 3 + y) % 16) * 17)
pnm(tmp + '/g1.pgm', 'P5', 1, 255, lambda x, y, c: 255 if (x + 2 * y) % 3 == 0 else 0)
pnm(tmp + '/rgb8.ppm', 'P6', 3, 255, p8)
pnm(tmp + '/rgb16.ppm', 'P6', 3, 65535, p16)
pnm(tmp + '/rgba16.pam', 'P7', 4, 65535, p16)
pnm(tmp + '/ga16.pam', 'P7', 2, 65535, p16)

# JPEG pictures: 8x8 blocks of flat colours, 3 blocks wide, 2 high (24x16)
COLORS = [(220, 30, 30), (30, 200, 40), (40, 50, 210),
          (230, 220, 40), (30, 210, 220), (120, 120, 120)]
D = Image.new('RGB', (24, 16))
D.putdata([COLORS[(y // 8) * 3 + x // 8] for y in range(16) for x in range(24)])
D.save(jpg + '/orient_display.png')
# stored image for each orientation = inverse of what the viewer applies
T = Image.Transpose
inverse = {1: None, 2: T.FLIP_LEFT_RIGHT, 3: T.ROTATE_180, 4: T.FLIP_TOP_BOTTOM,
           5: T.TRANSPOSE, 6: T.ROTATE_90, 7: T.TRANSVERSE, 8: T.ROTATE_270}
from PIL import ImageOps
for o, op in inverse.items():
    S = D if op is None else D.transpose(op)
    S.save(jpg + '/orient_%d_stored.png' % o)
    ex = Image.Exif()
    ex[0x0112] = o
    S.save(jpg + '/orient_%d.jpg' % o, quality=100, subsampling=0, exif=ex.tobytes())
    # check against Pillow's own interpretation of the tag
    back = ImageOps.exif_transpose(Image.open(jpg + '/orient_%d.jpg' % o)).convert('RGB')
    assert back.size == D.size, (o, back.size)
    S.save(tmp + '/orient_%d_plain.jpg' % o, quality=100, subsampling=0)

# progressive, ICC, dpi (Pillow)
D.save(jpg + '/progressive_pil.jpg', quality=100, subsampling=0, progressive=True)
D.save(jpg + '/icc_dpi_pil.jpg', quality=95, subsampling=0, icc_profile=icc, dpi=(300, 300))
open(jpg + '/srgb.icc', 'wb').write(icc)
# CMYK with Adobe marker (inverted): blocks of these CMYK values
CMYK = [(0, 0, 0, 0), (255, 0, 0, 0), (0, 255, 0, 0),
        (0, 0, 255, 0), (0, 0, 0, 128), (64, 128, 192, 32)]
C = Image.new('CMYK', (24, 16))
C.putdata([CMYK[(y // 8) * 3 + x // 8] for y in range(16) for x in range(24)])
C.save(jpg + '/cmyk_pil.jpg', quality=100)
# gray source for vips / ImageMagick
G = Image.new('L', (24, 16))
G.putdata([(COLORS[(y // 8) * 3 + x // 8][0]) for y in range(16) for x in range(24)])
G.save(tmp + '/gray.png')
D.save(tmp + '/display.png')
EOF

# ImageMagick: 1/2/4-bit gray, 16-bit RGB/RGBA/GA, interlaced
IM="convert -strip"
$IM "$TMP/g1.pgm" -define png:bit-depth=1 -define png:color-type=0 "$PNG/gray1_im.png"
$IM "$TMP/g2.pgm" -define png:bit-depth=2 -define png:color-type=0 "$PNG/gray2_im.png"
$IM "$TMP/g4.pgm" -define png:bit-depth=4 -define png:color-type=0 "$PNG/gray4_im.png"
$IM "$TMP/rgb16.ppm" PNG48:"$PNG/rgb16_im.png"
$IM "$TMP/rgba16.pam" PNG64:"$PNG/rgba16_im.png"
$IM "$TMP/ga16.pam" -define png:bit-depth=16 -define png:color-type=4 "$PNG/ga16_im.png"
$IM "$TMP/rgb8.ppm" -interlace PNG PNG24:"$PNG/rgb8_interlaced_im.png"
$IM "$TMP/rgb16.ppm" -interlace PNG PNG48:"$PNG/rgb16_interlaced_im.png"
$IM "$TMP/g1.pgm" -interlace PNG -define png:bit-depth=1 -define png:color-type=0 "$PNG/gray1_interlaced_im.png"
# libvips: 8-bit RGB
vips pngsave "$TMP/rgb8.ppm" "$PNG/rgb8_vips.png" --strip

# JPEG by other tools: vips gray, ImageMagick progressive gray and 4:2:0 RGB
vips jpegsave "$TMP/gray.png" "$JPG/gray_vips.jpg" --Q 100 --strip
$IM "$TMP/gray.png" -quality 100 -interlace Plane "$JPG/gray_progressive_im.jpg"
$IM "$TMP/display.png" -quality 90 -sampling-factor 2x2 "$JPG/ycbcr420_im.jpg"
# exiftool: little-endian (Intel) EXIF orientation on a tagless JPEG (Pillow writes big-endian)
cp "$TMP/orient_6_plain.jpg" "$JPG/orient_6_le.jpg"
exiftool -q -overwrite_original -ExifByteOrder=Little-endian -n -Orientation=6 "$JPG/orient_6_le.jpg"
cp "$TMP/orient_5_plain.jpg" "$JPG/orient_5_le.jpg"
exiftool -q -overwrite_original -ExifByteOrder=Little-endian -n -Orientation=5 "$JPG/orient_5_le.jpg"
ls -l "$PNG" "$JPG" | awk '{s += $5} END {print "fixtures: " s " bytes"}'
