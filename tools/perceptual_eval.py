#!/usr/bin/env python3
"""Perceptual distance of SR images to their HR originals (lower is better).

    /usr/bin/python3 tools/perceptual_eval.py HR_DIR SR_DIR [--scale S] [--vgg FILE]

LPIPS without its learned layer weights (the "lin=False" baseline of Zhang et
al., CVPR 2018): VGG19 activations after relu1_2, relu2_2, relu3_4, relu4_4 and
relu5_4 are unit-normalised across channels at every pixel, and the squared
differences are averaged over space and summed over channels, then averaged
over the five layers. The learned LPIPS weights are not available offline, so
this uses uniform weights with the ImageNet VGG19 in ../shared/vgg19 (Caffe
input convention). Note that srgan-train's GAN phase optimises an L1 distance
of conv5_4 features, which overlaps with one of the five layers here.

SR images are matched to HR by file stem (as sr_eval.py does), HR is cropped
to the SR size, and `scale` border pixels are dropped. Needs Debian's
python3-torch, python3-numpy and python3-pil. Development tool only.
"""
import argparse
import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

LAYERS = ["conv1_1", "conv1_2", "pool", "conv2_1", "conv2_2", "pool",
          "conv3_1", "conv3_2", "conv3_3", "conv3_4", "pool",
          "conv4_1", "conv4_2", "conv4_3", "conv4_4", "pool",
          "conv5_1", "conv5_2", "conv5_3", "conv5_4"]
TAPS = {"conv1_2", "conv2_2", "conv3_4", "conv4_4", "conv5_4"}
MEAN_BGR = torch.tensor([103.939, 116.779, 123.68]).view(1, 3, 1, 1)


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        blob = f.read()
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        a, b = t["data_offsets"]
        dtype = {"F16": np.float16, "F32": np.float32}[t["dtype"]]
        out[name] = torch.from_numpy(np.frombuffer(blob[a:b], dtype=dtype).astype(np.float32)
                                     .reshape(t["shape"]).copy())
    return out


def features(w, rgb):
    """rgb: float tensor 1x3xHxW in 0..1 -> list of relu activations at TAPS."""
    x = rgb[:, [2, 1, 0]] * 255.0 - MEAN_BGR
    taps = []
    for layer in LAYERS:
        if layer == "pool":
            x = F.max_pool2d(x, 2)
            continue
        x = F.relu(F.conv2d(x, w[layer + ".weight"], w[layer + ".bias"], padding=1))
        if layer in TAPS:
            taps.append(x)
    return taps


def distance(w, a, b):
    d = 0.0
    for fa, fb in zip(features(w, a), features(w, b)):
        na = fa / (fa.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
        nb = fb / (fb.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
        d += (na - nb).pow(2).sum(1).mean().item()
    return d / len(TAPS)


def load(path):
    im = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32) / 255.0
    return torch.from_numpy(im).permute(2, 0, 1).unsqueeze(0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("hr")
    ap.add_argument("sr")
    ap.add_argument("--scale", type=int, default=4)
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--vgg", default=os.path.join(here, "..", "..", "shared", "vgg19",
                                                  "vgg19_conv.safetensors"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    w = load_safetensors(args.vgg)
    srs = {os.path.splitext(f)[0]: f for f in os.listdir(args.sr)}
    rows = []
    with torch.no_grad():
        for f in sorted(os.listdir(args.hr)):
            stem = os.path.splitext(f)[0]
            if stem not in srs:
                continue
            sr = load(os.path.join(args.sr, srs[stem]))
            hr = load(os.path.join(args.hr, f))[:, :, :sr.shape[2], :sr.shape[3]]
            s = args.scale
            sr, hr = sr[:, :, s:-s, s:-s], hr[:, :, s:-s, s:-s]
            rows.append((stem, distance(w, sr, hr)))
    if not rows:
        print("no SR image matches an HR image by name", file=sys.stderr)
        return 1
    for stem, d in rows:
        print(f"{stem:12s} {d:.4f}")
    mean = sum(d for _, d in rows) / len(rows)
    print(f"{'mean':12s} {mean:.4f}")
    print("RESULT " + json.dumps({"vgg_lpips_uniform": round(mean, 4), "n": len(rows)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
