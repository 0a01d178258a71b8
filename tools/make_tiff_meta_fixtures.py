#!/usr/bin/python3
"""make_tiff_meta_fixtures.py: regenerate tests/fixtures/tiff/meta/, TIFFs
whose metadata must survive an upscale (written by tifffile, as Fiji and
Python users' tools write them).

    /usr/bin/python3 tools/make_tiff_meta_fixtures.py   (from the repository root)

Needs numpy and tifffile (Debian: python3-numpy python3-tifffile).

  imagej_calib.tif   ImageJ hyperstack, big-endian like Fiji's, 2 z x 24x16
                     uint16; resolution 3.0769 px/um stored with
                     ResolutionUnit none and unit=um in the description;
                     IJMetadata: Info, slice Labels, display Ranges, a LUT
  imagej_roi.tif     ImageJ, little-endian, 1 page 20x14 uint8, 8 px/um;
                     IJMetadata with Info, a ROI and two overlay entries
  imagej_f32_be.tif  ImageJ, big-endian, 2 z x 12x8 float32 (the output is
                     written big-endian too, to keep the IJMetadata readable)
  shaped_zyx.tif     tifffile JSON description {"shape": [3, 12, 20]}, uint16
  shaped_yxs.tif     tifffile JSON description {"shape": [12, 20, 3]}, RGB8,
                     resolution 300 dpi
"""
import os
import struct

import numpy as np
import tifffile

D = os.path.join("tests", "fixtures", "tiff", "meta")
os.makedirs(D, exist_ok=True)


def fake_roi(left, top, w, h):
    """A 64-byte ImageJ rectangle ROI (RoiEncoder layout, always big-endian)."""
    hdr = bytearray(64)
    hdr[0:4] = b"Iout"
    struct.pack_into(">h", hdr, 4, 228)  # version
    hdr[6] = 1  # rect
    struct.pack_into(">hhhh", hdr, 8, top, left, top + h, left + w)
    return bytes(hdr)


y, x = np.mgrid[0:16, 0:24]
stack = np.stack([(x * 900 + y * 1300 + z * 7000) % 65536 for z in range(2)]).astype(np.uint16)
lut = np.zeros((3, 256), np.uint8)
lut[1] = np.arange(256)  # green
tifffile.imwrite(
    os.path.join(D, "imagej_calib.tif"), stack, imagej=True, byteorder=">",
    resolution=(1 / 0.325, 1 / 0.325),
    metadata={"axes": "ZYX", "unit": "um", "spacing": 0.5, "xorigin": 3.0,
              "yorigin": 2.0, "min": 10.0, "max": 60000.0,
              "Info": "Acquired on a test rig\nObjective = 40x\n",
              "Labels": ["z0 plane", "z1 plane"], "Ranges": (10.0, 60000.0), "LUTs": [lut]})

g8 = ((np.mgrid[0:14, 0:20][1] * 12) % 256).astype(np.uint8)
tifffile.imwrite(
    os.path.join(D, "imagej_roi.tif"), g8, imagej=True, byteorder="<", resolution=(8.0, 8.0),
    metadata={"unit": "micron", "Info": "with a ROI", "ROI": fake_roi(2, 3, 5, 4),
              "Overlays": [fake_roi(1, 1, 3, 3), fake_roi(10, 5, 4, 6)]})

f32 = np.stack([x[:8, :12] * 0.37 - y[:8, :12] * 1.1 + k for k in range(2)]).astype(np.float32)
tifffile.imwrite(os.path.join(D, "imagej_f32_be.tif"), f32, imagej=True, byteorder=">",
                 metadata={"axes": "ZYX", "Info": "float planes"})

z = np.stack([(x[:12, :20] * 3000 + k * 9000) % 65536 for k in range(3)]).astype(np.uint16)
tifffile.imwrite(os.path.join(D, "shaped_zyx.tif"), z, photometric="minisblack")
rgb = np.stack([x[:12, :20] * 10, y[:12, :20] * 20, x[:12, :20] * y[:12, :20]], -1).astype(np.uint8)
tifffile.imwrite(os.path.join(D, "shaped_yxs.tif"), rgb, photometric="rgb", resolution=(300, 300),
                 resolutionunit="INCH")
