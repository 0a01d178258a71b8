#!/usr/bin/env python3
"""Generate the PyTorch parity fixtures of the srvgg, rrdbnet and edsr
generators (tests/fixtures/model/), like make_parity_fixtures.py does for
msrresnet and srresnet.

    /usr/bin/python3 tools/make_arch_fixtures.py [OUT_DIR]

For each case: the network of tools/ref_archs.py with small seeded random
weights, run in float32 on a random input in [0, 1], written as

  CASE.safetensors     the weights with BasicSR / Real-ESRGAN names and
                       __metadata__ (arch and the constructor's arguments);
  CASE_io.safetensors  "input" [1, C, H, W] and "output" [1, C, sH, sW].

tests/model/test_parity.c requires max |C - PyTorch| <= 1e-4.
"""

import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_parity_fixtures import save_safetensors  # noqa: E402
from ref_archs import EDSR, RRDBNet, SRVGGNetCompact  # noqa: E402

CASES = [
    # name, arch, constructor arguments, input h x w
    ("srvgg_x4", "srvgg", dict(num_in_ch=3, num_out_ch=3, num_feat=8, num_conv=3, upscale=4,
                               act_type="prelu"), (9, 11)),
    ("srvgg_x2_lrelu", "srvgg", dict(num_in_ch=3, num_out_ch=3, num_feat=8, num_conv=2,
                                     upscale=2, act_type="leakyrelu"), (10, 7)),
    ("rrdbnet_x4", "rrdbnet", dict(num_in_ch=3, num_out_ch=3, scale=4, num_feat=8, num_block=1,
                                   num_grow_ch=4), (7, 9)),
    ("rrdbnet_x2", "rrdbnet", dict(num_in_ch=3, num_out_ch=3, scale=2, num_feat=8, num_block=2,
                                   num_grow_ch=4), (10, 12)),
    ("edsr_x2", "edsr", dict(num_in_ch=3, num_out_ch=3, num_feat=8, num_block=2, upscale=2,
                             res_scale=0.1, img_range=255.0,
                             rgb_mean=(0.4488, 0.4371, 0.4040)), (9, 8)),
    ("edsr_x3", "edsr", dict(num_in_ch=3, num_out_ch=3, num_feat=8, num_block=1, upscale=3,
                             res_scale=1.0, img_range=1.0, rgb_mean=(0.5, 0.4, 0.3)), (7, 6)),
]

CLASSES = {"srvgg": SRVGGNetCompact, "rrdbnet": RRDBNet, "edsr": EDSR}


def metadata(arch, args):
    meta = {"arch": arch}
    for k, v in args.items():
        meta[k] = ",".join(str(x) for x in v) if isinstance(v, tuple) else v
    meta.update(value_range="0,1", training_data="none (random weights, parity fixture)",
                date="fixture", source="tools/make_arch_fixtures.py")
    return meta


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "model")
    os.makedirs(out_dir, exist_ok=True)
    torch.set_num_threads(1)
    for i, (name, arch, args, (h, w)) in enumerate(CASES):
        torch.manual_seed(3000 + i)
        g = torch.Generator().manual_seed(4000 + i)
        model = CLASSES[arch](**args)
        for m in model.modules():
            if isinstance(m, nn.PReLU):  # away from the default 0.25 everywhere
                m.weight.data = 0.05 + 0.4 * torch.rand(m.weight.shape, generator=g)
        model.eval()
        x = torch.rand(1, args["num_in_ch"], h, w, generator=g)
        with torch.no_grad():
            y = model(x)
        state = dict(model.state_dict())
        save_safetensors(os.path.join(out_dir, name + ".safetensors"), state, metadata(arch, args))
        save_safetensors(os.path.join(out_dir, name + "_io.safetensors"), {"input": x, "output": y})
        print(f"{name}: {len(state)} tensors, input {tuple(x.shape)}, output {tuple(y.shape)}, "
              f"|y| max {y.abs().max():.3f}")


if __name__ == "__main__":
    main()
