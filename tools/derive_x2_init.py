#!/usr/bin/env python3
"""Make an x2 MSRResNet starting point from a trained x4 one.

    tools/derive_x2_init.py X4.safetensors X2_INIT.safetensors

MSRResNet x4 and x2 share every layer but one: x4 upsamples with upconv1 +
upconv2 (two pixel-shuffle x2 stages), x2 with upconv1 alone. Dropping
upconv2 gives an x2 network whose trunk already knows natural-image features;
`srgan-train --scale 2 --init X2_INIT.safetensors` then fine-tunes it, which
converges far faster than a random start (as EDSR does between scales).
Standard library only: safetensors is 8-byte header length, JSON, raw data.
"""
import json
import struct
import sys


def main(src: str, dst: str) -> int:
    with open(src, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    meta = dict(header.pop("__metadata__", {}))
    if meta.get("arch", "msrresnet") != "msrresnet" or meta.get("scale") != "4":
        print(f"{src}: not an x4 msrresnet model", file=sys.stderr)
        return 1
    out_header, chunks, offset = {}, [], 0
    for name in sorted(header, key=lambda k: header[k]["data_offsets"][0]):
        if name.startswith("upconv2."):
            continue
        t = header[name]
        b, e = t["data_offsets"]
        chunks.append(data[b:e])
        out_header[name] = {"dtype": t["dtype"], "shape": t["shape"],
                            "data_offsets": [offset, offset + (e - b)]}
        offset += e - b
    meta.update({"scale": "2", "derived_from": src.rsplit("/", 1)[-1],
                 "note": "x2 initialisation derived from an x4 model (upconv2 dropped)"})
    for k in ("val_psnr_y", "val_ssim_y"):
        meta.pop(k, None)
    out_header["__metadata__"] = meta
    raw = json.dumps(out_header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    with open(dst, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for c in chunks:
            f.write(c)
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2]))
