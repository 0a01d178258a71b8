#!/usr/bin/env python3
"""tools/convert_basicsr.py end to end: small random models of every
architecture (tools/ref_archs.py, make_parity_fixtures.MSRResNet) saved with
torch.save the way BasicSR, Real-ESRGAN and the old ESRGAN save them
({"params_ema": ...} with a "module." prefix, {"params": ...}, a bare state
dict, the old "model.N" names), converted, and run by srgan-up on an 8-bit
PNG with --precision fp32: every output pixel must be PyTorch's output
quantised the same way (within 1 of 255 for float rounding at a rounding
edge). rrdbnet x2 on an odd width is compared with Real-ESRGAN's reflect
padding and crop. A checkpoint of no known architecture is refused naming
its first tensor.

Usage (from meson): test_convert.py SRGAN_UP. Exit 77 (skipped) without
python3-torch, numpy or PIL.
"""

import os
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import torch
    import torch.nn.functional as F
    from PIL import Image
except ImportError as e:
    print(f"skipped: {e}")
    sys.exit(77)

SRC = os.environ.get("SRGAN_SRCDIR") or os.path.join(os.path.dirname(__file__), "..", "..")
sys.path.insert(0, os.path.join(SRC, "tools"))
from make_parity_fixtures import MSRResNet  # noqa: E402
from ref_archs import EDSR, RRDBNet, SRVGGNetCompact  # noqa: E402

UP = os.path.abspath(sys.argv[1])
CONVERT = os.path.join(SRC, "tools", "convert_basicsr.py")
failures = 0


def check(ok, what):
    global failures
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures += 1


def old_esrgan_names(sd, num_block):
    """RRDBNet's names as the original ESRGAN repository had them."""
    out = {}
    top = {"conv_first": "model.0", "conv_body": f"model.1.sub.{num_block}",
           "conv_up1": "model.3", "conv_up2": "model.6", "conv_hr": "model.8",
           "conv_last": "model.10"}
    for k, v in sd.items():
        base, _, leaf = k.rpartition(".")
        if base in top:
            out[f"{top[base]}.{leaf}"] = v
        else:  # body.N.rdbK.convJ
            _, n, rdb, conv = base.split(".")
            out[f"model.1.sub.{n}.RDB{rdb[3:]}.{conv}.0.{leaf}"] = v
    return out


def cases():
    torch.manual_seed(5)
    m = RRDBNet(3, 3, 4, 8, 2, 4)
    yield "rrdbnet_x4_ema", m, 4, {"params_ema": {"module." + k: v for k, v in m.state_dict().items()}}, []
    m = RRDBNet(3, 3, 2, 8, 1, 4)
    yield "rrdbnet_x2_bare", m, 2, dict(m.state_dict()), []
    m = RRDBNet(3, 3, 4, 8, 1, 4)
    yield "rrdbnet_x4_old", m, 4, old_esrgan_names(m.state_dict(), 1), []
    m = SRVGGNetCompact(3, 3, 8, 2, 4, "prelu")
    with torch.no_grad():
        for p in m.modules():
            if isinstance(p, torch.nn.PReLU):
                p.weight.uniform_(0.05, 0.45)
    yield "srvgg_x4", m, 4, {"params": dict(m.state_dict())}, []
    m = SRVGGNetCompact(3, 3, 8, 1, 2, "leakyrelu")
    yield "srvgg_x2_lrelu", m, 2, dict(m.state_dict()), ["--act-type", "leakyrelu"]
    m = EDSR(3, 3, 8, 2, 2)
    yield "edsr_x2", m, 2, {"params": dict(m.state_dict())}, []
    m = EDSR(3, 3, 8, 1, 4, res_scale=0.5)
    yield "edsr_x4_rs", m, 4, {"params": dict(m.state_dict())}, ["--res-scale", "0.5"]
    m = MSRResNet(3, 3, 8, 1, 4)
    yield "msrresnet_x4", m, 4, {"params": dict(m.state_dict())}, []


def main():
    tmp = tempfile.mkdtemp(prefix="convert.", dir=os.environ.get("SRGAN_TMPDIR"))
    rng = np.random.default_rng(3)
    img = rng.integers(0, 256, size=(10, 13, 3), dtype=np.uint8)  # odd width
    inp = os.path.join(tmp, "in.png")
    Image.fromarray(img).save(inp)
    x = torch.from_numpy(img.astype(np.float32) / 255.0).permute(2, 0, 1)[None]
    for name, model, scale, ckpt, opts in cases():
        model.eval()
        pth = os.path.join(tmp, name + ".pth")
        st = os.path.join(tmp, name + ".safetensors")
        torch.save(ckpt, pth)
        r = subprocess.run([sys.executable, CONVERT, pth, st] + opts, capture_output=True, text=True)
        check(r.returncode == 0, f"{name}: converted ({r.stdout.strip() or r.stderr.strip()})")
        if r.returncode:
            continue
        out = os.path.join(tmp, name + ".png")
        # fp32: this compares with PyTorch's fp32 (the default, auto, is bf16
        # on CPUs with AVX512-BF16, 1-3 of 255 off on these random models)
        r = subprocess.run([UP, "-m", st, "-x", str(scale), "--threads", "1",
                            "--precision", "fp32", inp, out],
                           capture_output=True, text=True)
        check(r.returncode == 0, f"{name}: srgan-up runs it {r.stderr.strip()}")
        if r.returncode:
            continue
        with torch.no_grad():
            xi = x
            pad = 0
            if isinstance(model, RRDBNet) and scale == 2 and x.shape[3] % 2:
                pad = 1  # Real-ESRGAN's inference: reflect-pad to even, crop after
                xi = F.pad(x, (0, pad, 0, 0), mode="reflect")
            y = model(xi)
            if pad:
                y = y[:, :, :, : y.shape[3] - pad * scale]
        ref = np.floor(np.clip(y[0].permute(1, 2, 0).numpy() * 255.0 + 0.5, 0, 255))
        got = np.asarray(Image.open(out).convert("RGB"), dtype=np.float64)
        if got.shape != ref.shape:
            check(False, f"{name}: output {got.shape}, PyTorch {ref.shape}")
            continue
        d = np.abs(got - ref)
        check(d.max() <= 1 and (d > 0).mean() < 0.01,
              f"{name}: srgan-up = PyTorch quantised (max diff {d.max():.0f}, "
              f"{(d > 0).mean() * 100:.2f}% differ, output range {ref.min():.0f}..{ref.max():.0f})")
    # no known architecture: refused, naming the first tensor
    pth = os.path.join(tmp, "alien.pth")
    torch.save({"params": {"encoder.weight": torch.zeros(4, 3, 3, 3)}}, pth)
    r = subprocess.run([sys.executable, CONVERT, pth, os.path.join(tmp, "alien.safetensors")],
                       capture_output=True, text=True)
    check(r.returncode != 0 and "tensor 'encoder.weight' does not fit any architecture" in r.stderr,
          "unknown architecture refused: " + r.stderr.strip())
    print(f"{failures} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
