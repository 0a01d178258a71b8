#!/usr/bin/env python3
"""Convert a BasicSR / Real-ESRGAN / ESRGAN checkpoint (.pth) to srgan-up's
safetensors.

Usage (Debian's python3-torch; run with /usr/bin/python3):

    /usr/bin/python3 tools/convert_basicsr.py MODEL.pth OUT.safetensors \\
        [--key params_ema|params] [--training-data DIV2K] [--date 2020-01-01] \\
        [--act-type prelu|relu|leakyrelu] [--res-scale X] [--img-range X] \\
        [--rgb-mean R,G,B] [--meta KEY=VALUE ...]

Real-ESRGAN's RealESRGAN_x4plus.pth (RRDBNet, 23 blocks, 64 features, 32
growth, x4):

    /usr/bin/python3 tools/convert_basicsr.py RealESRGAN_x4plus.pth \\
        weights/realesrgan-x4plus.safetensors --training-data "Real-ESRGAN (DF2K+OST)"
    srgan-up -m weights/realesrgan-x4plus.safetensors photo.jpg photo_x4.png

Architectures, detected from the tensor names and shapes:

  msrresnet  BasicSR MSRResNet (conv_first, body.N.conv1/2, upconv1.., conv_hr)
  srresnet   SRGAN SRResNet (conv_body and 9x9 convs, batch norm)
  srvgg      Real-ESRGAN SRVGGNetCompact (body.N.weight only:
             realesr-general-x4v3, realesr-animevideov3)
  rrdbnet    ESRGAN / Real-ESRGAN RRDBNet (body.N.rdbK.convJ: RealESRGAN_x4plus,
             RealESRGAN_x2plus, ESRGAN_x4); the old ESRGAN naming
             (model.0, model.1.sub.N.RDBk.convj.0, model.3 ...) is renamed
  edsr       BasicSR EDSR (conv_after_body, upsample.N)

The checkpoint may be {"params_ema": ...} (preferred), {"params": ...},
{"state_dict": ...} or a bare state dict; a "module." prefix (DataParallel)
is removed and num_batches_tracked buffers are dropped. The architecture and
its constructor arguments (BasicSR's names: num_in_ch, num_out_ch, num_feat,
num_block, num_conv, num_grow_ch, scale / upscale, act_type, res_scale,
img_range, rgb_mean) go to __metadata__ with value_range=0,1, the source file
name, the key used, and any --training-data / --date / --meta. What the
tensors cannot tell is taken from the options: srvgg without PReLU tensors
needs --act-type (relu or leakyrelu); EDSR's res_scale defaults to BasicSR's
configs (0.1 for the 256-feature EDSR-L, else 1), img_range to 255 and
rgb_mean to DIV2K's (0.4488, 0.4371, 0.4040). RRDBNet x1 (a pixel unshuffle
by 4) is not supported by srgan-up and is refused.

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


# The old ESRGAN (xinntao/ESRGAN RRDBNet_arch, "model.N" Sequential) names.
OLD_ESRGAN = {"model.0": "conv_first", "model.3": "conv_up1", "model.6": "conv_up2",
              "model.8": "conv_hr", "model.10": "conv_last"}


def rename_old_esrgan(state):
    if "model.0.weight" not in state:
        return state
    subs = {int(m.group(1)) for n in state
            for m in [re.match(r"model\.1\.sub\.(\d+)\.weight$", n)] if m}
    body_idx = max(subs) if subs else None
    out = {}
    for name, t in state.items():
        base, _, leaf = name.rpartition(".")
        m = re.match(r"model\.1\.sub\.(\d+)\.RDB(\d)\.conv(\d)\.0$", base)
        if m:
            out[f"body.{m.group(1)}.rdb{m.group(2)}.conv{m.group(3)}.{leaf}"] = t
        elif body_idx is not None and base == f"model.1.sub.{body_idx}":
            out[f"conv_body.{leaf}"] = t
        elif base in OLD_ESRGAN:
            out[f"{OLD_ESRGAN[base]}.{leaf}"] = t
        else:
            sys.exit(f"old ESRGAN checkpoint: tensor '{name}' does not fit RRDBNet")
    return out


def count(state, pattern):
    idx = {int(m.group(1)) for n in state for m in [re.match(pattern, n)] if m}
    if idx and idx != set(range(len(idx))):
        sys.exit(f"blocks matching {pattern} are not numbered 0..{len(idx) - 1}")
    return len(idx)


def shape(state, name):
    return tuple(int(s) for s in state[name].shape)


def infer_config(state, path, a):
    """The architecture and its constructor arguments from the tensors."""
    has = state.__contains__
    if has("body.0.rdb1.conv1.weight") or (has("conv_up1.weight") and has("conv_body.weight")):
        nf, cin = shape(state, "conv_first.weight")[:2]
        out = shape(state, "conv_last.weight")[0]
        scale = a.scale or (2 if cin == 4 * out else 1 if cin == 16 * out else 4)
        if scale == 1:
            sys.exit(f"{path}: RRDBNet x1 (pixel unshuffle by 4) is not supported by srgan-up")
        return dict(arch="rrdbnet", num_in_ch=cin // 4 if scale == 2 else cin, num_out_ch=out,
                    scale=scale, num_feat=nf, num_block=count(state, r"body\.(\d+)\.rdb1\.conv1\.weight$"),
                    num_grow_ch=shape(state, "body.0.rdb1.conv1.weight")[0] if has("body.0.rdb1.conv1.weight") else 32)
    if has("conv_after_body.weight"):
        nf, cin = shape(state, "conv_first.weight")[:2]
        ups = [int(m.group(1)) for n in state for m in [re.match(r"upsample\.(\d+)\.weight$", n)] if m]
        nup = len(ups)
        scale = 3 if nup == 1 and shape(state, "upsample.0.weight")[0] == 9 * nf else 2 ** nup
        nb = count(state, r"body\.(\d+)\.conv1\.weight$")
        res_scale = a.res_scale if a.res_scale is not None else (0.1 if nf == 256 else 1.0)
        mean = a.rgb_mean or "0.4488,0.4371,0.4040"
        return dict(arch="edsr", num_in_ch=cin, num_out_ch=shape(state, "conv_last.weight")[0],
                    num_feat=nf, num_block=nb, upscale=scale, res_scale=res_scale,
                    img_range=a.img_range, rgb_mean=mean)
    if has("body.0.weight") and not has("conv_first.weight"):
        nf, cin = shape(state, "body.0.weight")[:2]
        convs = sorted(int(m.group(1)) for n in state
                       for m in [re.match(r"body\.(\d+)\.weight$", n)] if m and state[n].dim() == 4)
        last = convs[-1]
        if convs != list(range(0, last + 1, 2)):
            sys.exit(f"{path}: SRVGGNetCompact convs are not body.0, body.2, ... body.{last}")
        if has("body.1.weight"):
            act = "prelu"
        elif a.act_type:
            act = a.act_type
        else:
            sys.exit(f"{path}: SRVGGNetCompact without PReLU tensors: say --act-type relu or leakyrelu")
        cout = shape(state, f"body.{last}.weight")[0]
        out = cin
        s2 = cout // out
        scale = {4: 2, 9: 3, 16: 4, 64: 8}.get(s2)
        if not scale or s2 * out != cout:
            sys.exit(f"{path}: the last conv's {cout} outputs are not {out} x scale^2")
        return dict(arch="srvgg", num_in_ch=cin, num_out_ch=out, num_feat=nf,
                    num_conv=(last - 2) // 2, upscale=scale, act_type=act)
    if has("conv_first.weight"):
        nf, cin = shape(state, "conv_first.weight")[:2]
        nb = count(state, r"body\.(\d+)\.conv1\.weight$")
        nup = sum(1 for k in ("upconv1.weight", "upconv2.weight", "upconv3.weight") if has(k))
        if nup == 1:
            scale = {4: 2, 9: 3}.get(shape(state, "upconv1.weight")[0] // nf)
        else:
            scale = {2: 4, 3: 8}.get(nup)
        if not scale:
            sys.exit(f"{path}: cannot tell the scale from the upconv layers")
        arch = "srresnet" if has("conv_body.weight") else "msrresnet"
        return dict(arch=arch, scale=scale, num_block=nb, num_feat=nf, num_in_ch=cin,
                    num_out_ch=shape(state, "conv_last.weight")[0])
    first = next(iter(state), "(none)")
    sys.exit(f"{path}: tensor '{first}' does not fit any architecture "
             "(msrresnet, srresnet, srvgg, rrdbnet, edsr)")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("pth")
    ap.add_argument("out")
    ap.add_argument("--key", help="checkpoint key (default: params_ema, then params, state_dict)")
    ap.add_argument("--training-data", default="unknown (converted from BasicSR)")
    ap.add_argument("--date", default=datetime.date.today().isoformat())
    ap.add_argument("--act-type", choices=["prelu", "relu", "leakyrelu"],
                    help="srvgg without PReLU tensors: its activation")
    ap.add_argument("--scale", type=int, help="rrdbnet: override the scale read from the shapes")
    ap.add_argument("--res-scale", type=float, help="edsr: res_scale (default 0.1 for 256 features, else 1)")
    ap.add_argument("--img-range", type=float, default=255.0, help="edsr: img_range (255)")
    ap.add_argument("--rgb-mean", help="edsr: rgb_mean R,G,B (DIV2K's 0.4488,0.4371,0.4040)")
    ap.add_argument("--meta", action="append", default=[], help="extra KEY=VALUE metadata")
    a = ap.parse_args()
    state, used = load_state(a.pth, a.key)
    state = rename_old_esrgan(state)
    cfg = infer_config(state, a.pth, a)
    meta = dict(cfg)
    meta.update(value_range="0,1", training_data=a.training_data, date=a.date,
                source=os.path.basename(a.pth), source_key=used,
                converted_by="tools/convert_basicsr.py")
    for kv in a.meta:
        k, _, v = kv.partition("=")
        meta[k] = v
    save_safetensors(a.out, state, meta)
    params = sum(t.numel() for t in state.values())
    scale = cfg.get("scale", cfg.get("upscale"))
    print(f"{a.out}: {cfg['arch']} x{scale}, {params} parameters, {len(state)} tensors "
          f"(from '{used}')")


if __name__ == "__main__":
    main()
