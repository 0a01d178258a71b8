#!/usr/bin/python3
"""make_tiff_type_fixtures.py: regenerate tests/fixtures/tifftypes/, small TIFF
files (tifffile + numpy) with the sample types and layouts of issue 13:

  ch2_u16.tif            2 samples, ExtraSamples unspecified (two fluorophores)
  ch3_u16_planar.tif     3 samples, planar, minisblack, 2 unspecified extras
  gray_alpha_u16.tif     2 samples, unassociated alpha (real alpha: control)
  mixed_u16_f32.tif      page 1 uint16, page 2 float32 0..1 of another size
  labels_i32.tif         int32 labels (negative, > 2^24 and small values)
  labels_u32.tif         uint32 labels up to 2^32 - 1
  labels_u16.tif         uint16 labels
  i8.tif, i16.tif        signed 8 and 16-bit, with negative values
  f16.tif                float16
  ojpeg_ycbcr420.tif     old-style JPEG (compression 6, JPEGInterchangeFormat),
                         24 x 16, RGB = (10 x, 15 y, 128) before JPEG; crafted
                         by hand since no current tool writes OJPEG

Every image is small (at most 24 x 20). Values are chosen so a wrong
reading shows: channel 1 of ch2_u16 is 0 where channel 0 is bright.

    /usr/bin/python3 tools/make_tiff_type_fixtures.py   (from the repository root)
"""
import io
import os
import struct

import numpy as np
import tifffile

D = 'tests/fixtures/tifftypes'
os.makedirs(D, exist_ok=True)
H, W = 20, 24
y, x = np.mgrid[0:H, 0:W]

# two fluorescence channels: ch1 is zero on the left half, ch0 bright there
ch0 = (1000 + x * 100 + y * 7).astype(np.uint16)
ch1 = np.where(x < W // 2, 0, 300 + y * 50).astype(np.uint16)
tifffile.imwrite(f'{D}/ch2_u16.tif', np.stack([ch0, ch1], -1), photometric='minisblack',
                 planarconfig='contig', extrasamples=['unspecified'])
ch2 = ((x * y) % 4000).astype(np.uint16)
tifffile.imwrite(f'{D}/ch3_u16_planar.tif', np.stack([ch0, ch1, ch2], 0),
                 photometric='minisblack', planarconfig='separate',
                 extrasamples=['unspecified', 'unspecified'])
alpha = np.where(x < W // 2, 0, 65535).astype(np.uint16)
tifffile.imwrite(f'{D}/gray_alpha_u16.tif', np.stack([ch0, alpha], -1), photometric='minisblack',
                 planarconfig='contig', extrasamples=['unassalpha'])

with tifffile.TiffWriter(f'{D}/mixed_u16_f32.tif') as t:
    t.write(ch0, photometric='minisblack')
    t.write(((x[:10, :12] + y[:10, :12]) / 40.0).astype(np.float32), photometric='minisblack')

lab = ((x // 6) + 4 * (y // 5)).astype(np.int64)
i32 = np.choose(lab % 4, [lab, -lab - 1, lab + (1 << 24) + 1, lab + 2000000000]).astype(np.int32)
tifffile.imwrite(f'{D}/labels_i32.tif', i32, photometric='minisblack')
u32 = np.choose(lab % 3, [lab, lab + (1 << 24) + 1, 4294967295 - lab]).astype(np.uint32)
tifffile.imwrite(f'{D}/labels_u32.tif', u32, photometric='minisblack')
tifffile.imwrite(f'{D}/labels_u16.tif', (lab * 1001 % 65536).astype(np.uint16),
                 photometric='minisblack')

tifffile.imwrite(f'{D}/i8.tif', ((x * 11 + y * 3) % 256 - 128).astype(np.int8),
                 photometric='minisblack')
tifffile.imwrite(f'{D}/i16.tif', ((x * 2731 + y * 977) % 65536 - 32768).astype(np.int16),
                 photometric='minisblack')
f16 = ((x - 12) * 0.25 + y * 1e-3).astype(np.float16)
f16[0, 0] = np.float16(6e-8)   # subnormal
f16[0, 1] = np.float16(65504)  # largest half
tifffile.imwrite(f'{D}/f16.tif', f16, photometric='minisblack')


def ojpeg(path):
    """A minimal old-style JPEG TIFF: one strip that is a whole JFIF stream,
    also pointed to by JPEGInterchangeFormat, 4:2:0 as the tags say."""
    from PIL import Image
    h, w = 16, 24
    yy, xx = np.mgrid[0:h, 0:w]
    rgb = np.stack([xx * 10, yy * 15, np.full_like(xx, 128)], -1).astype(np.uint8)
    b = io.BytesIO()
    Image.fromarray(rgb).save(b, 'JPEG', quality=95, subsampling=2)
    jpeg = b.getvalue()
    short = lambda tag, v: struct.pack('<HHIHH', tag, 3, 1, v, 0)
    long_ = lambda tag, v: struct.pack('<HHII', tag, 4, 1, v)
    n = 12
    extra = 8 + 2 + 12 * n + 4          # BitsPerSample values, then YCbCr subsampling
    data = extra + 6                    # the JPEG stream
    ifd = struct.pack('<H', n) + b''.join([
        short(256, w), short(257, h), struct.pack('<HHII', 258, 3, 3, extra), short(259, 6),
        short(262, 6), long_(273, data), short(277, 3), short(278, h), long_(279, len(jpeg)),
        long_(513, data), long_(514, len(jpeg)), struct.pack('<HHIHH', 530, 3, 2, 2, 2)])
    with open(path, 'wb') as f:
        f.write(b'II*\x00' + struct.pack('<I', 8) + ifd + struct.pack('<I', 0) +
                struct.pack('<HHH', 8, 8, 8) + jpeg)


ojpeg(f'{D}/ojpeg_ycbcr420.tif')
print('wrote', len(os.listdir(D)), 'files to', D)
