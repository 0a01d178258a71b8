#!/usr/bin/env python3
"""Side-by-side comparison picture for the README, made with srgan-up itself.

    /usr/bin/python3 tools/make_comparison.py LR.png OUT.png BUILD_DIR [NAME=MODEL ...]

Panels, left to right: the LR input enlarged with nearest neighbour, bicubic,
then srgan-up with each given model (x4). Only the composition (placing the
panels and their labels) is done here, with Pillow.
"""
import os
import subprocess
import sys
import tempfile

from PIL import Image, ImageDraw


def main(lr, out, build, models):
    up = os.path.join(build, "src", "cli", "srgan-up")
    panels = []
    with tempfile.TemporaryDirectory() as t:
        runs = [("LR (nearest)", ["--method", "nearest"]), ("bicubic", ["--method", "bicubic"])]
        runs += [(name, ["-m", path]) for name, path in models]
        for label, args in runs:
            p = os.path.join(t, f"{len(panels)}.png")
            subprocess.run([up, "-q", "-x", "4", *args, lr, p], check=True)
            panels.append((label, Image.open(p).convert("RGB")))
    w, h = panels[0][1].size
    pad, bar = 6, 22
    canvas = Image.new("RGB", (len(panels) * (w + pad) - pad, h + bar), "white")
    draw = ImageDraw.Draw(canvas)
    for i, (label, im) in enumerate(panels):
        x = i * (w + pad)
        canvas.paste(im, (x, bar))
        draw.text((x + 4, 5), label, fill="black")
    canvas.save(out, optimize=True)
    return 0


if __name__ == "__main__":
    if len(sys.argv) < 4:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        sys.exit(2)
    ms = [a.split("=", 1) for a in sys.argv[4:]]
    sys.exit(main(sys.argv[1], sys.argv[2], sys.argv[3], ms))
