#!/usr/bin/env python3
"""Speed and peak memory of the generator architectures, srgan-up against
PyTorch on the CPU, single-threaded: msrresnet (the shipped x4-psnr shape,
16 blocks x 64), srvgg (realesr-general-x4v3's shape: 64 features, 32 convs,
PReLU, x4) and rrdbnet (RealESRGAN_x4plus's shape: 23 RRDBs, 64 features,
growth 32, x4), random weights, on a 128x128 RGB input (512x512 output).

    /usr/bin/python3 bench/bench_archs.py build/src/cli/srgan-up [--cpu 1] [--repeats 3]

srgan-up runs under `taskset -c CPU /usr/bin/time -v ... --threads 1` (one
process per run, median wall time, peak RSS from time -v); PyTorch runs in a
child process with torch.set_num_threads(1) on the same CPU (median of the
repeats after one warm-up; peak RSS of that child, model and interpreter
included; --torch-modes, by default its fastest fp32 layout, channels_last, and bf16
autocast with channels_last). Output MP/s = 0.262 MP / seconds. The PyTorch modules are
tools/ref_archs.py's and make_parity_fixtures.MSRResNet.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
from make_parity_fixtures import MSRResNet, save_safetensors  # noqa: E402
from ref_archs import RRDBNet, SRVGGNetCompact  # noqa: E402

SHAPES = {
    "msrresnet": (lambda: MSRResNet(3, 3, 64, 16, 4),
                  dict(arch="msrresnet", scale=4, num_block=16, num_feat=64, num_in_ch=3, num_out_ch=3)),
    "srvgg": (lambda: SRVGGNetCompact(3, 3, 64, 32, 4, "prelu"),
              dict(arch="srvgg", upscale=4, num_conv=32, num_feat=64, num_in_ch=3, num_out_ch=3,
                   act_type="prelu")),
    "rrdbnet": (lambda: RRDBNet(3, 3, 4, 64, 23, 32),
                dict(arch="rrdbnet", scale=4, num_block=23, num_feat=64, num_grow_ch=32,
                     num_in_ch=3, num_out_ch=3)),
}

CHILD = r"""
import json, resource, statistics, sys, time, torch
sys.path.insert(0, %(tools)r)
from make_parity_fixtures import MSRResNet
from ref_archs import RRDBNet, SRVGGNetCompact
torch.set_num_threads(1)
m = %(ctor)s.eval()
x = torch.rand(1, 3, 128, 128)
mode = %(mode)r
if mode != "fp32":  # channels_last: PyTorch's fastest fp32 layout on the CPU
    m = m.to(memory_format=torch.channels_last)
    x = x.contiguous(memory_format=torch.channels_last)
ts = []
with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=mode.startswith("bf16")):
    m(x)
    for _ in range(%(rep)d):
        t = time.perf_counter(); m(x); ts.append(time.perf_counter() - t)
print(json.dumps({"s": statistics.median(ts),
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""
CTORS = {"msrresnet": "MSRResNet(3, 3, 64, 16, 4)",
         "srvgg": "SRVGGNetCompact(3, 3, 64, 32, 4, 'prelu')",
         "rrdbnet": "RRDBNet(3, 3, 4, 64, 23, 32)"}


def time_v(cmd):
    r = subprocess.run(["/usr/bin/time", "-v"] + cmd, capture_output=True, text=True)
    if r.returncode:
        sys.exit(r.stderr)
    wall = rss = None
    for line in r.stderr.splitlines():
        line = line.strip()
        if line.startswith("Elapsed (wall clock) time"):
            v = line.split(": ")[-1].split(":")
            wall = float(v[-1]) + 60 * float(v[-2]) + (3600 * float(v[-3]) if len(v) > 2 else 0)
        if line.startswith("Maximum resident set size"):
            rss = int(line.split(": ")[-1]) / 1024
    return wall, rss


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("srgan_up")
    ap.add_argument("--cpu", default="1")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--only", nargs="*")
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--torch-modes", default="channels_last,bf16_channels_last",
                    help="PyTorch modes to time: fp32, channels_last, bf16_channels_last")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="bench_archs.")
    from PIL import Image
    img = (np.random.default_rng(1).random((128, 128, 3)) * 255).astype(np.uint8)
    inp = os.path.join(tmp, "in.png")
    Image.fromarray(img).save(inp)
    torch.manual_seed(0)
    for name, (ctor, meta) in SHAPES.items():
        if a.only and name not in a.only:
            continue
        m = ctor()
        params = sum(p.numel() for p in m.state_dict().values())
        w = os.path.join(tmp, name + ".safetensors")
        save_safetensors(w, dict(m.state_dict()), dict(meta, value_range="0,1"))
        runs = [time_v(["taskset", "-c", a.cpu, a.srgan_up, "-m", w, "-x", "4", "--threads", "1",
                        "-q", "--overwrite", inp, os.path.join(tmp, name + ".png")])
                for _ in range(a.repeats)]
        wall = statistics.median(r[0] for r in runs)
        rss = max(r[1] for r in runs)
        res = {"arch": name, "params": params, "impl": "srgan-up", "s": round(wall, 3),
               "mp_s": round(0.262144 / wall, 4), "rss_mb": round(rss, 1)}
        print("RESULT " + json.dumps(res), flush=True)
        if a.no_torch:
            continue
        for mode in a.torch_modes.split(","):
            code = CHILD % {"tools": os.path.join(HERE, "..", "tools"), "ctor": CTORS[name],
                            "rep": a.repeats, "mode": mode}
            r = subprocess.run(["taskset", "-c", a.cpu, sys.executable, "-c", code],
                               capture_output=True, text=True)
            if r.returncode:
                print(r.stderr)
                continue
            t = json.loads(r.stdout.strip().splitlines()[-1])
            print("RESULT " + json.dumps({"arch": name, "params": params, "impl": "pytorch " + mode,
                                          "s": round(t["s"], 3), "mp_s": round(0.262144 / t["s"], 4),
                                          "rss_mb": round(t["rss_mb"], 1)}), flush=True)


if __name__ == "__main__":
    main()
