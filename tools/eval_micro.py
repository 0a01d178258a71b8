#!/usr/bin/env python3
"""Score an x2 model on 16-bit microscopy against bicubic (held-out images).

    /usr/bin/python3 tools/eval_micro.py MODEL.safetensors HR_DIR [BUILD_DIR] [--degrade]

For each 16-bit HR image: LR = MATLAB-style bicubic x1/2 of the modcropped HR
(../shared/peers/matlab_imresize.py, in float, rounded to uint16); SR by
srgan-up with the model (its default percentile normalisation, mapped back
to 16-bit) and by srgan-up --method bicubic. PSNR and SSIM are computed after
normalising SR and HR with the HR's 1st..99.8th percentiles (CSBDeep's
convention for fluorescence, where absolute ranges differ between images),
peak 1, border 2. Needs python3-numpy, python3-pil, python3-scipy.

--degrade: LR as a camera would record it instead (an implementation of
srgan-train's "microscopy" degradation written separately, in numpy, so the
test does not share code with what trained the model): the HR normalised by
its 1st..99.8th percentiles, Gaussian PSF sigma 1.0 HR px, 2x2 pixel
integration, Poisson shot noise at 30, 100 and 300 photons at intensity 1
(three inputs per image, averaged), read noise 0.01 on an offset of 0.02,
quantised to 16 bits and mapped back to the HR's range. Seeded by the image
name and level, so every run sees the same inputs.
"""
import os
import subprocess
import sys
import tempfile

import hashlib

import numpy as np
from PIL import Image
from scipy.ndimage import gaussian_filter

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "shared", "peers"))
from matlab_imresize import imresize  # noqa: E402
from sr_eval import ssim  # noqa: E402


def norm(a, ref):
    lo, hi = np.percentile(ref, 1), np.percentile(ref, 99.8)
    return (a.astype(np.float64) - lo) / max(hi - lo, 1e-9)


def psnr(a, b):
    mse = np.mean((a - b) ** 2)
    return 10 * np.log10(1.0 / mse) if mse > 0 else float("inf")


LEVELS = (30, 100, 300)


def camera(hr, name, photons):
    """The microscopy degradation (see the docstring): uint16 LR of a 16-bit HR."""
    lo, hi = np.percentile(hr, 1), np.percentile(hr, 99.8)
    span = max(hi - lo, 1e-9)
    x = (hr - lo) / span
    x = gaussian_filter(x, 1.0, mode="reflect", truncate=3.0)
    x = x.reshape(x.shape[0] // 2, 2, x.shape[1] // 2, 2).mean(axis=(1, 3))
    seed = int.from_bytes(hashlib.sha256(f"{name}:{photons}".encode()).digest()[:4], "little")
    rng = np.random.default_rng(seed)
    x = rng.poisson(np.maximum(x, 0) * photons) / photons
    x = x + 0.02 + 0.01 * rng.standard_normal(x.shape)
    x = np.maximum(x, 0) - 0.02
    return np.clip(np.round(x * span + lo), 0, 65535).astype(np.uint16)


def main(model, hr_dir, build, degrade=False):
    up = os.path.join(build, "src", "cli", "srgan-up")
    rows = []
    with tempfile.TemporaryDirectory() as t:
        for name in sorted(os.listdir(hr_dir)):
            if not name.lower().endswith((".tif", ".tiff")):
                continue
            hr = np.asarray(Image.open(os.path.join(hr_dir, name))).astype(np.float64)
            if hr.ndim != 2:
                continue
            h, w = hr.shape[0] // 2 * 2, hr.shape[1] // 2 * 2
            hr = hr[:h, :w]
            if degrade:
                inputs = [(f"{name}@{n}", camera(hr, name, n)) for n in LEVELS]
            else:
                inputs = [(name, np.clip(np.round(imresize(hr, 0.5)), 0, 65535).astype(np.uint16))]
            for label, lr in inputs:
                lr_path = os.path.join(t, "lr.tif")
                Image.fromarray(lr).save(lr_path)
                out = {}
                for tag, args in (("model", ["-m", model]), ("bicubic", ["--method", "bicubic"])):
                    p = os.path.join(t, tag + ".tif")
                    subprocess.run([up, "-q", "--overwrite", "-x", "2", *args, lr_path, p], check=True)
                    out[tag] = np.asarray(Image.open(p)).astype(np.float64)
                b = 2
                ref = norm(hr, hr)[b:-b, b:-b]
                r = {"image": label}
                for tag in ("bicubic", "model"):
                    x = norm(out[tag], hr)[b:-b, b:-b]
                    r[tag] = (psnr(x, ref), ssim(np.clip(x, 0, 1) * 255, np.clip(ref, 0, 1) * 255))
                rows.append(r)
    print(f"{'image':<22} {'bicubic PSNR':>12} {'model PSNR':>11} {'bicubic SSIM':>13} {'model SSIM':>11}")
    for r in rows:
        print(f"{r['image']:<22} {r['bicubic'][0]:12.2f} {r['model'][0]:11.2f} "
              f"{r['bicubic'][1]:13.4f} {r['model'][1]:11.4f}")
    mb = np.mean([r["bicubic"][0] for r in rows])
    mm = np.mean([r["model"][0] for r in rows])
    sb = np.mean([r["bicubic"][1] for r in rows])
    sm = np.mean([r["model"][1] for r in rows])
    print(f"{'mean':<22} {mb:12.2f} {mm:11.2f} {sb:13.4f} {sm:11.4f}")
    return 0


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--degrade"]
    if len(args) < 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        sys.exit(2)
    sys.exit(main(args[0], args[1], args[2] if len(args) > 2 else os.path.join(here, "..", "build"),
                  degrade="--degrade" in sys.argv[1:]))
