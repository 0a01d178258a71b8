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
import os
import sys

import numpy as np

import safetensors_file


def main(argv):
    if len(argv) < 4:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    pa, pb, alpha, dst, extra = argv[0], argv[1], float(argv[2]), argv[3], argv[4:]
    ha, da = safetensors_file.read(pa)
    hb, db = safetensors_file.read(pb)
    meta = dict(hb.pop("__metadata__", {}))
    ha.pop("__metadata__", None)
    if set(ha) != set(hb):
        print(f"{pa}, {pb}: different tensors: not the same architecture", file=sys.stderr)
        return 1
    tensors = []
    for k in sorted(hb, key=lambda k: hb[k]["data_offsets"][0]):
        ta, tb = ha[k], hb[k]
        if ta["shape"] != tb["shape"] or ta["dtype"] != "F32" or tb["dtype"] != "F32":
            print(f"{k}: shapes or dtypes differ (or not F32)", file=sys.stderr)
            return 1
        a = np.frombuffer(da[ta["data_offsets"][0]:ta["data_offsets"][1]], "<f4")
        b = np.frombuffer(db[tb["data_offsets"][0]:tb["data_offsets"][1]], "<f4")
        c = (alpha * a.astype(np.float64) + (1 - alpha) * b.astype(np.float64)).astype("<f4").tobytes()
        tensors.append((k, "F32", tb["shape"], c))
    meta["interpolation"] = f"{alpha:g} * {os.path.basename(pa)} + {1 - alpha:g} * {os.path.basename(pb)}"
    for kv in extra:
        k, _, v = kv.partition("=")
        meta[k] = v
    safetensors_file.write(dst, tensors, meta)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
