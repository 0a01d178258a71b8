#!/usr/bin/python3
"""Generate the committed fixtures of tests/resample (MATLAB-imresize parity
and Y-channel PSNR/SSIM), using the reference scripts in ../shared/peers.

usage:  /usr/bin/python3 tools/make_resample_fixtures.py   (from the repo root)

Writes tests/fixtures/resample/:
  set5_x4.txt               one line per Set5 image:
                            NAME HR_W HR_H LR_W LR_H PSNR_Y SSIM_Y
                            HR size after modcrop(4); PSNR/SSIM of make_lr.py's
                            own bicubic x4 (imresize(LR, 4)) against that HR,
                            computed by sr_eval.evaluate_pair (shave 4).
  set5_x4_NAME_lr.u8        LR made by make_lr.py --scale 4 (MATLAB imresize
                            1/4, symmetric border, uint8), raw H x W x 3 bytes.
  set5_x4_butterfly_bic.u8  make_lr.py's bicubic x4 of butterfly's LR, raw.
  metrics.txt               NAME W H C SHAVE PSNR_Y SSIM_Y from sr_eval.py's
                            rgb_to_y / shave / psnr / ssim on synthetic pairs
  metrics_NAME_a.u8, metrics_NAME_b.u8   those pairs, raw H x W x C bytes.
  imresize.txt              NAME W H OW OH: small random RGB images resized by
                            matlab_imresize.imresize(output_shape=(OH, OW)):
  imresize_NAME_in.u8       the input (H x W x 3 bytes),
  imresize_NAME_u8.u8       uint8 result (rounded after each pass),
  imresize_NAME_f.f32       float64 result of the float input, as float32.
The Set5 images themselves are not copied (tests read them from ../shared).
"""

import os
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.normpath(os.path.join(ROOT, "..", "shared"))
PEERS = os.path.join(SHARED, "peers")
SET5 = os.path.join(SHARED, "data", "val", "Set5")
OUT = os.path.join(ROOT, "tests", "fixtures", "resample")

sys.path.insert(0, PEERS)
import sr_eval  # noqa: E402
from PIL import Image  # noqa: E402


def set5_fixtures(tmp):
    lr_dir, bic_dir = os.path.join(tmp, "lr"), os.path.join(tmp, "bic")
    subprocess.run(["/usr/bin/python3", os.path.join(PEERS, "make_lr.py"), "--hr", SET5,
                    "--lr-out", lr_dir, "--scale", "4", "--bicubic-out", bic_dir],
                   check=True)
    lines = []
    for hp in sr_eval.list_images(SET5):
        name = os.path.splitext(os.path.basename(hp))[0]
        hr = sr_eval.modcrop(sr_eval.load_rgb(hp), 4)
        lr = sr_eval.load_rgb(os.path.join(lr_dir, name + ".png"))
        bic = sr_eval.load_rgb(os.path.join(bic_dir, name + ".png"))
        r = sr_eval.evaluate_pair(sr_eval.load_rgb(hp), bic, 4)
        lr.tofile(os.path.join(OUT, f"set5_x4_{name}_lr.u8"))
        if name == "butterfly":
            bic.tofile(os.path.join(OUT, f"set5_x4_{name}_bic.u8"))
        lines.append(f"{name} {hr.shape[1]} {hr.shape[0]} {lr.shape[1]} {lr.shape[0]} "
                     f"{r['psnr_y']:.10f} {r['ssim_y']:.10f}")
        print(lines[-1])
    with open(os.path.join(OUT, "set5_x4.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


def metric_fixtures():
    rng = np.random.default_rng(20240601)
    cases = []
    # Natural-ish content: smooth gradient + texture, then a noisy copy.
    yy, xx = np.mgrid[0:37, 0:41]
    base = np.stack([(xx * 6) % 256, (yy * 7) % 256, ((xx + yy) * 3) % 256], -1)
    noisy = np.clip(base + rng.normal(0, 8, base.shape), 0, 255)
    cases.append(("rgb_noise", base.astype(np.uint8), noisy.round().astype(np.uint8), 4))
    cases.append(("rgb_noshave", base.astype(np.uint8), noisy.round().astype(np.uint8), 0))
    a = rng.integers(0, 256, (23, 19, 3), dtype=np.uint8)
    b = rng.integers(0, 256, (23, 19, 3), dtype=np.uint8)
    cases.append(("rgb_random", a, b, 2))
    g = rng.integers(40, 200, (30, 26, 1), dtype=np.uint8)
    g2 = np.clip(g.astype(int) + rng.integers(-5, 6, g.shape), 0, 255).astype(np.uint8)
    cases.append(("gray", g, g2, 3))
    lines = []
    for name, a, b, sh in cases:
        h, w, c = a.shape
        ra = np.repeat(a, 3, axis=2) if c == 1 else a
        rb = np.repeat(b, 3, axis=2) if c == 1 else b
        ya, yb = sr_eval.rgb_to_y(sr_eval.shave(ra, sh)), sr_eval.rgb_to_y(sr_eval.shave(rb, sh))
        p, s = sr_eval.psnr(ya, yb), sr_eval.ssim(ya, yb)
        a.tofile(os.path.join(OUT, f"metrics_{name}_a.u8"))
        b.tofile(os.path.join(OUT, f"metrics_{name}_b.u8"))
        lines.append(f"{name} {w} {h} {c} {sh} {p:.12f} {s:.12f}")
        print(lines[-1])
    with open(os.path.join(OUT, "metrics.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


def imresize_fixtures():
    from matlab_imresize import imresize
    rng = np.random.default_rng(7)
    cases = [("down", 13, 9, 5, 4),    # both shrink, columns first (5/13 < 4/9)
             ("up", 7, 6, 16, 27),     # both grow, columns first (16/7 < 27/6)
             ("mixed", 10, 10, 25, 4), # rows shrink first, columns grow
             ("int4", 6, 5, 24, 20)]   # integer x4 upscale, rows first (tie)
    lines = []
    for name, w, h, ow, oh in cases:
        img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        u8 = imresize(img, output_shape=(oh, ow))
        f = imresize(img.astype(np.float64), output_shape=(oh, ow))
        assert u8.shape == (oh, ow, 3) and u8.dtype == np.uint8
        img.tofile(os.path.join(OUT, f"imresize_{name}_in.u8"))
        u8.tofile(os.path.join(OUT, f"imresize_{name}_u8.u8"))
        f.astype("<f4").tofile(os.path.join(OUT, f"imresize_{name}_f.f32"))
        lines.append(f"{name} {w} {h} {ow} {oh}")
    with open(os.path.join(OUT, "imresize.txt"), "w") as fh:
        fh.write("\n".join(lines) + "\n")


def main():
    os.makedirs(OUT, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        set5_fixtures(tmp)
    metric_fixtures()
    imresize_fixtures()
    return 0


if __name__ == "__main__":
    sys.exit(main())
