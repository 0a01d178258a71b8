#!/usr/bin/python3
"""Regenerate the fuzzing seed corpora in tests/fuzz/corpus/{png,jpeg,tiff,safetensors}.

    /usr/bin/python3 tools/make_fuzz_seeds.py      (from the repository root)

Needs PIL, numpy and tifffile (Debian: python3-pil python3-numpy python3-tifffile).
Seeds are tiny on purpose (a fuzzer mutates small inputs fastest): a few valid
files per format covering the reader's main branches (bit depths, layouts,
interlacing, progressive, tiles, planar, multi-page, BigTIFF, F16/BF16 weights)
and a few broken ones (truncated, bad checksums, bad offsets, bad JSON). The
whole set stays well under 100 KB.
"""
import io
import json
import os
import struct
import sys
import zlib

import numpy as np
import tifffile
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_file  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fuzz", "corpus")
W, H = 8, 6
y, x = np.mgrid[0:H, 0:W]
RGB8 = np.stack([(x * 31) % 256, (y * 41) % 256, (x * y * 7) % 256], -1).astype(np.uint8)
GRAY16 = ((x * 4099 + y * 9949) % 65536).astype(np.uint16)
GRAYF = ((x - 4) * 0.25 + y * 0.01).astype(np.float32)


def out(kind, name, data):
    d = os.path.join(ROOT, kind)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def pil_bytes(img, fmt, **kw):
    b = io.BytesIO()
    img.save(b, fmt, **kw)
    return b.getvalue()


def flip(data, at, mask=0xFF):
    b = bytearray(data)
    b[at % len(b)] ^= mask
    return bytes(b)


def png_seeds():
    rgb = Image.fromarray(RGB8, "RGB")
    good = {
        "rgb8.png": pil_bytes(rgb, "PNG"),
        "gray16.png": pil_bytes(Image.fromarray(GRAY16), "PNG"),
        "rgba8.png": pil_bytes(rgb.convert("RGBA"), "PNG"),
        "pal_trns.png": pil_bytes(rgb.quantize(colors=5), "PNG", transparency=0),
        "gray1.png": pil_bytes(rgb.convert("1"), "PNG"),
        "interlaced.png": pil_bytes(rgb, "PNG", interlace=1),
        "meta.png": pil_bytes(rgb, "PNG", dpi=(300, 300)),
    }
    for n, d in good.items():
        out("png", n, d)
    d = good["rgb8.png"]
    out("png", "bad_trunc.png", d[: len(d) // 2])
    out("png", "bad_crc.png", flip(d, 29))  # inside the IHDR CRC
    out("png", "bad_idat.png", flip(d, len(d) - 20))
    # a header claiming 100000 x 100000 with a valid CRC
    ihdr = b"IHDR" + struct.pack(">IIBBBBB", 100000, 100000, 8, 2, 0, 0, 0)
    out("png", "bad_huge.png", b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + ihdr +
        struct.pack(">I", zlib.crc32(ihdr)) + b"\0\0\0\0IDAT" + b"\0" * 8)


def jpeg_seeds():
    rgb = Image.fromarray(RGB8, "RGB")
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90
    good = {
        "rgb420.jpg": pil_bytes(rgb, "JPEG", quality=80),
        "rgb444.jpg": pil_bytes(rgb, "JPEG", quality=95, subsampling=0),
        "gray.jpg": pil_bytes(rgb.convert("L"), "JPEG"),
        "progressive.jpg": pil_bytes(rgb, "JPEG", progressive=True),
        "cmyk.jpg": pil_bytes(rgb.convert("CMYK"), "JPEG"),
        "exif6.jpg": pil_bytes(rgb, "JPEG", exif=exif.tobytes()),
    }
    for n, d in good.items():
        out("jpeg", n, d)
    d = good["rgb420.jpg"]
    out("jpeg", "bad_trunc.jpg", d[: len(d) // 2])
    out("jpeg", "bad_sof.jpg", flip(d, d.find(b"\xff\xc0") + 5))  # height byte
    out("jpeg", "bad_only_soi.jpg", b"\xff\xd8\xff\xd9")


def tiff_seeds():
    def tf(name, arr, **kw):
        b = io.BytesIO()
        tifffile.imwrite(b, arr, **kw)
        out("tiff", name, b.getvalue())
        return b.getvalue()

    d = tf("rgb8.tif", RGB8, photometric="rgb")
    tf("gray16_be.tif", GRAY16, byteorder=">")
    tf("grayf32.tif", GRAYF)
    tf("stack_u16.tif", np.stack([GRAY16, GRAY16 // 2, GRAY16 // 3]), photometric="minisblack")
    tf("planar.tif", np.moveaxis(RGB8, -1, 0).copy(), photometric="rgb", planarconfig="separate")
    tf("tiled.tif", np.tile(RGB8, (3, 2, 1)), photometric="rgb", tile=(16, 16))
    tf("bigtiff.tif", GRAY16, bigtiff=True)
    tf("rgba_assoc.tif", np.concatenate([RGB8, RGB8[..., :1]], -1), photometric="rgb",
       extrasamples=[1])
    tf("imagej.tif", np.stack([GRAY16, GRAY16]), imagej=True, resolution=(3.25, 3.25),
       metadata={"unit": "um"})
    rgb = Image.fromarray(RGB8, "RGB")
    out("tiff", "lzw_pil.tif", pil_bytes(rgb, "TIFF", compression="tiff_lzw"))
    out("tiff", "deflate_pil.tif", pil_bytes(rgb, "TIFF", compression="tiff_adobe_deflate"))
    out("tiff", "jpeg_pil.tif", pil_bytes(rgb, "TIFF", compression="jpeg"))
    out("tiff", "pal_pil.tif", pil_bytes(rgb.quantize(colors=4), "TIFF"))
    out("tiff", "bad_trunc.tif", d[: len(d) // 2])
    (ifd,) = struct.unpack("<I", d[4:8])
    out("tiff", "bad_ifd_offset.tif", d[:4] + struct.pack("<I", 0x7FFFFFF0) + d[8:])
    out("tiff", "bad_ifd_count.tif", d[:ifd] + struct.pack("<H", 0xFFFF) + d[ifd + 2:])


def st_raw(shape, dtype="F32", seed=0):
    n = int(np.prod(shape))
    r = np.random.default_rng(seed).standard_normal(n).astype(np.float32) * 0.05
    if dtype == "F32":
        return r.tobytes()
    if dtype == "F16":
        return r.astype(np.float16).tobytes()
    return (r.view(np.uint32) >> 16).astype(np.uint16).tobytes()  # BF16


def model(dtype="F32", scale=2, feat=4, blocks=1, ch=3):
    t = [("conv_first.weight", [feat, ch, 3, 3]), ("conv_first.bias", [feat])]
    for b in range(blocks):
        for c in (1, 2):
            t += [("body.%d.conv%d.weight" % (b, c), [feat, feat, 3, 3]),
                  ("body.%d.conv%d.bias" % (b, c), [feat])]
    t += [("upconv1.weight", [feat * scale * scale, feat, 3, 3]), ("upconv1.bias", [feat * scale * scale]),
          ("conv_hr.weight", [feat, feat, 3, 3]), ("conv_hr.bias", [feat]),
          ("conv_last.weight", [ch, feat, 3, 3]), ("conv_last.bias", [ch])]
    return [(n, dtype, s, st_raw(s, dtype, i)) for i, (n, s) in enumerate(t)]


def st_bytes(tensors, meta):
    tmp = os.path.join(ROOT, ".seed.safetensors")
    safetensors_file.write(tmp, tensors, meta)
    with open(tmp, "rb") as f:
        d = f.read()
    os.unlink(tmp)
    return d


def raw_st(header, data=b""):
    h = json.dumps(header).encode() if not isinstance(header, bytes) else header
    return struct.pack("<Q", len(h)) + h + data


def safetensors_seeds():
    meta = {"arch": "msrresnet", "scale": 2, "num_block": 1, "num_feat": 4, "num_in_ch": 3,
            "num_out_ch": 3}
    d = st_bytes(model(), meta)
    out("safetensors", "msrresnet_x2.safetensors", d)
    out("safetensors", "f16.safetensors", st_bytes(model("F16"), meta))
    out("safetensors", "bf16_gray.safetensors",
        st_bytes(model("BF16", ch=1, blocks=0), dict(meta, num_block=0, num_in_ch=1, num_out_ch=1)))
    out("safetensors", "nometa_x2.safetensors", st_bytes(model(scale=2, blocks=0), {}))
    out("safetensors", "bad_num_feat.safetensors", st_bytes(model(), dict(meta, num_feat=99999999)))
    out("safetensors", "bad_trunc.safetensors", d[: len(d) // 2])
    out("safetensors", "bad_hdrlen.safetensors", struct.pack("<Q", 1 << 40) + d[8:])
    one = {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}
    out("safetensors", "tiny.safetensors", raw_st(one, b"\0" * 8))
    out("safetensors", "bad_json.safetensors", raw_st(b'{"a": {"dtype": "F32", "shape": [2'))
    out("safetensors", "bad_overlap.safetensors",
        raw_st({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, b"\0" * 12))
    out("safetensors", "bad_meta.safetensors",
        raw_st(dict(one, __metadata__={"arch": 5}), b"\0" * 8))
    out("safetensors", "bad_dup.safetensors",
        raw_st(b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},'
               b'"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', b"\0" * 4))


if __name__ == "__main__":
    png_seeds()
    jpeg_seeds()
    tiff_seeds()
    safetensors_seeds()
    total = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(ROOT) for f in fs)
    print("seed corpus: %d bytes" % total)
