#!/usr/bin/env python3
"""Convert a BasicSR MSRResNet checkpoint (.pth) to srgan-up's safetensors.

Usage (Debian's python3-torch; run with /usr/bin/python3):

    /usr/bin/python3 tools/convert_basicsr.py MSRResNet_x4.pth weights/x4.safetensors \
        [--key params_ema|params] [--training-data DIV2K] [--date 2020-01-01] \
        [--meta KEY=VALUE ...]

BasicSR saves {"params": state_dict} (and "params_ema" for EMA weights,
preferred when present). The tensor names of BasicSR's MSRResNet
(conv_first, body.N.conv1/conv2, upconv1[, upconv2], conv_hr, conv_last)
are kept as they are; a "module." prefix (DataParallel) is removed and
num_batches_tracked buffers are dropped. The architecture is read from the
tensor shapes and written to __metadata__ (arch=msrresnet, scale,
num_block, num_feat, num_in_ch, num_out_ch, value_range=0,1) together with
the source file name, the key used, and any --training-data / --date /
--meta. The result loads with `srgan-up -m FILE` (sr_generator_load).

The output is written to a temporary file and renamed, so an interrupted run
leaves no half-written weights behind.
"""

import argparse
import datetime
import json
import os
import re
import struct
import sys

import torch


def save_safetensors(path, tensors, metadata):
    header = {"__metadata__": {k: str(v) for k, v in metadata.items()}}
    blobs, off = [], 0
    for name, t in tensors.items():
        b = t.detach().cpu().contiguous().to(torch.float32).numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def load_state(path, key):
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except TypeError:  # older torch without weights_only
        ckpt = torch.load(path, map_location="cpu")
    used = None
    if isinstance(ckpt, dict):
        keys = [key] if key else ["params_ema", "params", "state_dict"]
        for k in keys:
            if k in ckpt and isinstance(ckpt[k], dict):
                ckpt, used = ckpt[k], k
                break
        else:
            if key:
                sys.exit(f"{path}: no key '{key}' in the checkpoint")
    state = {}
    for name, t in ckpt.items():
        if not torch.is_tensor(t):
            continue
        name = name[len("module."):] if name.startswith("module.") else name
        if name.endswith("num_batches_tracked"):
            continue
        state[name] = t
    return state, used or "(top level)"


def infer_config(state, path):
    if "conv_first.weight" not in state:
        sys.exit(f"{path}: no conv_first.weight: not a BasicSR MSRResNet checkpoint")
    w = state["conv_first.weight"]
    num_feat, num_in_ch = int(w.shape[0]), int(w.shape[1])
    blocks = {int(m.group(1)) for n in state for m in [re.match(r"body\.(\d+)\.conv1\.weight$", n)] if m}
    num_block = len(blocks)
    if blocks and blocks != set(range(num_block)):
        sys.exit(f"{path}: residual blocks are not numbered 0..{num_block - 1}")
    nup = sum(1 for k in ("upconv1.weight", "upconv2.weight", "upconv3.weight") if k in state)
    if nup == 1:
        r2 = int(state["upconv1.weight"].shape[0]) // num_feat
        scale = {4: 2, 9: 3}.get(r2)
    else:
        scale = {2: 4, 3: 8}.get(nup)
    if not scale:
        sys.exit(f"{path}: cannot tell the scale from the upconv layers")
    num_out_ch = int(state["conv_last.weight"].shape[0])
    return dict(arch="msrresnet", scale=scale, num_block=num_block, num_feat=num_feat,
                num_in_ch=num_in_ch, num_out_ch=num_out_ch)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("pth")
    ap.add_argument("out")
    ap.add_argument("--key", help="checkpoint key (default: params_ema, then params)")
    ap.add_argument("--training-data", default="unknown (converted from BasicSR)")
    ap.add_argument("--date", default=datetime.date.today().isoformat())
    ap.add_argument("--meta", action="append", default=[], help="extra KEY=VALUE metadata")
    a = ap.parse_args()
    state, used = load_state(a.pth, a.key)
    cfg = infer_config(state, a.pth)
    meta = dict(cfg)
    meta.update(value_range="0,1", training_data=a.training_data, date=a.date,
                source=os.path.basename(a.pth), source_key=used,
                converted_by="tools/convert_basicsr.py")
    for kv in a.meta:
        k, _, v = kv.partition("=")
        meta[k] = v
    save_safetensors(a.out, state, meta)
    print(f"{a.out}: msrresnet x{cfg['scale']}, {cfg['num_block']} blocks x {cfg['num_feat']} "
          f"channels, {len(state)} tensors (from '{used}')")


if __name__ == "__main__":
    main()
