#!/usr/bin/env python3
"""Held-out test inputs for real-world photo SR (issue 10's target table).

    /usr/bin/python3 tools/make_real_eval.py HR_DIR OUT_DIR [--scale 4]

Writes, for every HR image (modcropped to the scale):
  OUT/hr/NAME.png                    the modcropped HR
  OUT/clean/NAME.png                 MATLAB bicubic x1/s (make_lr.py's protocol)
  OUT/jpeg75/NAME.jpg                that LR saved as JPEG quality 75 (PIL's
                                     defaults: 4:2:0, as an ordinary web photo)
  OUT/mixed/NAME_qQ.jpg              the LR plus Gaussian noise sigma 5 (of 255,
                                     per channel, fixed seed), rounded to 8 bits,
                                     saved as JPEG quality Q for Q in 30, 45, 60,
                                     75, 90 (averaging over these is the "q30..q90
                                     and noise" row)
  OUT/mixed_hr/NAME_qQ.png           the HR again under each mixed name, so
                                     sr_eval.py can match by stem
Deterministic: the noise is seeded by the image name. Needs python3-numpy,
python3-pil and ../shared/peers/matlab_imresize.py. Development tool only.
"""
import argparse
import hashlib
import os
import sys

import numpy as np
from PIL import Image

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "shared", "peers"))
from matlab_imresize import imresize  # noqa: E402

QUALITIES = (30, 45, 60, 75, 90)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("hr")
    ap.add_argument("out")
    ap.add_argument("--scale", type=int, default=4)
    ap.add_argument("--sigma", type=float, default=5.0)
    a = ap.parse_args()
    s = a.scale
    for d in ("hr", "clean", "jpeg75", "mixed", "mixed_hr"):
        os.makedirs(os.path.join(a.out, d), exist_ok=True)
    for f in sorted(os.listdir(a.hr)):
        stem, ext = os.path.splitext(f)
        if ext.lower() not in (".png", ".bmp", ".jpg", ".jpeg", ".tif", ".tiff"):
            continue
        im = np.asarray(Image.open(os.path.join(a.hr, f)).convert("RGB"))
        h, w = im.shape[0] // s * s, im.shape[1] // s * s
        hr = im[:h, :w]
        Image.fromarray(hr).save(os.path.join(a.out, "hr", stem + ".png"))
        lr = np.clip(np.round(imresize(hr.astype(np.float64), 1.0 / s)), 0, 255).astype(np.uint8)
        Image.fromarray(lr).save(os.path.join(a.out, "clean", stem + ".png"))
        Image.fromarray(lr).save(os.path.join(a.out, "jpeg75", stem + ".jpg"), quality=75)
        seed = int.from_bytes(hashlib.sha256(stem.encode()).digest()[:4], "little")
        rng = np.random.default_rng(seed)
        noisy = lr.astype(np.float64) + rng.normal(0.0, a.sigma, lr.shape)
        noisy = np.clip(np.round(noisy), 0, 255).astype(np.uint8)
        for q in QUALITIES:
            name = "%s_q%d" % (stem, q)
            Image.fromarray(noisy).save(os.path.join(a.out, "mixed", name + ".jpg"), quality=q)
            Image.fromarray(hr).save(os.path.join(a.out, "mixed_hr", name + ".png"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
