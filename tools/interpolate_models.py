#!/usr/bin/env python3
"""Network interpolation of two generators with the same architecture (ESRGAN).

    tools/interpolate_models.py A.safetensors B.safetensors ALPHA OUT.safetensors [KEY=VALUE ...]

Every tensor of OUT is ALPHA * A + (1 - ALPHA) * B, the way ESRGAN (Wang et
al. 2018, section 3.4) and BasicSR's net_interp blend a PSNR-oriented model A
with its GAN fine-tuned version B: a small ALPHA keeps B's textures and
removes much of its high-frequency noise and grid artefacts. Metadata comes
from B, with "interpolation" recording the recipe; KEY=VALUE pairs are added.
F32 tensors only (what srgan-train writes). Needs python3-numpy.
"""
import json
import os
import struct
import sys

import numpy as np


def load(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    return header, data


def main(argv):
    if len(argv) < 4:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    pa, pb, alpha, dst, extra = argv[0], argv[1], float(argv[2]), argv[3], argv[4:]
    ha, da = load(pa)
    hb, db = load(pb)
    meta = dict(hb.pop("__metadata__", {}))
    ha.pop("__metadata__", None)
    if set(ha) != set(hb):
        print(f"{pa}, {pb}: different tensors: not the same architecture", file=sys.stderr)
        return 1
    out, chunks, off = {}, [], 0
    for k in sorted(hb, key=lambda k: hb[k]["data_offsets"][0]):
        ta, tb = ha[k], hb[k]
        if ta["shape"] != tb["shape"] or ta["dtype"] != "F32" or tb["dtype"] != "F32":
            print(f"{k}: shapes or dtypes differ (or not F32)", file=sys.stderr)
            return 1
        a = np.frombuffer(da[ta["data_offsets"][0]:ta["data_offsets"][1]], "<f4")
        b = np.frombuffer(db[tb["data_offsets"][0]:tb["data_offsets"][1]], "<f4")
        c = (alpha * a.astype(np.float64) + (1 - alpha) * b.astype(np.float64)).astype("<f4").tobytes()
        out[k] = {"dtype": "F32", "shape": tb["shape"], "data_offsets": [off, off + len(c)]}
        chunks.append(c)
        off += len(c)
    meta["interpolation"] = f"{alpha:g} * {os.path.basename(pa)} + {1 - alpha:g} * {os.path.basename(pb)}"
    for kv in extra:
        k, _, v = kv.partition("=")
        meta[k] = v
    out["__metadata__"] = {k: str(v) for k, v in meta.items()}
    hdr = json.dumps(out, separators=(",", ":")).encode()
    hdr += b" " * (-len(hdr) % 8)
    with open(dst + ".part", "wb") as f:
        f.write(struct.pack("<Q", len(hdr)))
        f.write(hdr)
        for c in chunks:
            f.write(c)
    os.replace(dst + ".part", dst)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
