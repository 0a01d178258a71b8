#!/usr/bin/env python3
"""Generate the PyTorch parity fixtures of the generator (tests/fixtures/model/).

    /usr/bin/python3 tools/make_parity_fixtures.py [OUT_DIR]

Needs Debian's python3-torch (run with /usr/bin/python3). For each case it
builds the network in PyTorch with small random weights (seeded, so the
output is reproducible), runs it on a random input in [0, 1] in float32 and
writes two safetensors files:

  CASE.safetensors     the weights with srgan-up's names and __metadata__
                       (arch, scale, num_block, num_feat, num_in_ch,
                       num_out_ch, value_range, ...): what
                       sr_generator_load() reads;
  CASE_io.safetensors  "input" [1, C, H, W] and "output" [1, C, sH, sW]
                       (PyTorch's result).

tests/model/test_parity.c loads both and requires max |C - PyTorch| <= 1e-4.
The networks are written out here (not imported from BasicSR) and follow
BasicSR's MSRResNet and the original SRGAN SRResNet (with batch norm in eval
mode holding non-trivial running statistics, some PReLUs per channel and
some convs before BN without bias, to exercise the loader's BN folding).
"""

import json
import os
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F


class ResidualBlockNoBN(nn.Module):
    def __init__(self, nf):
        super().__init__()
        self.conv1 = nn.Conv2d(nf, nf, 3, 1, 1)
        self.conv2 = nn.Conv2d(nf, nf, 3, 1, 1)

    def forward(self, x):
        return x + self.conv2(F.relu(self.conv1(x)))


class MSRResNet(nn.Module):
    """BasicSR's MSRResNet (basicsr/archs/srresnet_arch.py), same names."""

    def __init__(self, num_in_ch, num_out_ch, num_feat, num_block, upscale):
        super().__init__()
        self.upscale = upscale
        self.conv_first = nn.Conv2d(num_in_ch, num_feat, 3, 1, 1)
        self.body = nn.Sequential(*[ResidualBlockNoBN(num_feat) for _ in range(num_block)])
        if upscale in (2, 3):
            self.upconv1 = nn.Conv2d(num_feat, num_feat * upscale * upscale, 3, 1, 1)
            self.pixel_shuffle = nn.PixelShuffle(upscale)
        else:
            self.upconv1 = nn.Conv2d(num_feat, num_feat * 4, 3, 1, 1)
            self.upconv2 = nn.Conv2d(num_feat, num_feat * 4, 3, 1, 1)
            self.pixel_shuffle = nn.PixelShuffle(2)
        self.conv_hr = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_last = nn.Conv2d(num_feat, num_out_ch, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(negative_slope=0.1)

    def forward(self, x):
        feat = self.lrelu(self.conv_first(x))
        out = self.body(feat)
        if self.upscale == 4:
            out = self.lrelu(self.pixel_shuffle(self.upconv1(out)))
            out = self.lrelu(self.pixel_shuffle(self.upconv2(out)))
        else:
            out = self.lrelu(self.pixel_shuffle(self.upconv1(out)))
        out = self.conv_last(self.lrelu(self.conv_hr(out)))
        base = F.interpolate(x, scale_factor=self.upscale, mode="bilinear", align_corners=False)
        return out + base


class SRBlock(nn.Module):
    def __init__(self, nf, bias, per_channel):
        super().__init__()
        self.conv1 = nn.Conv2d(nf, nf, 3, 1, 1, bias=bias)
        self.bn1 = nn.BatchNorm2d(nf)
        self.act = nn.PReLU(nf if per_channel else 1)
        self.conv2 = nn.Conv2d(nf, nf, 3, 1, 1, bias=bias)
        self.bn2 = nn.BatchNorm2d(nf)

    def forward(self, x):
        return x + self.bn2(self.conv2(self.act(self.bn1(self.conv1(x)))))


class SRResNet(nn.Module):
    """Original SRGAN generator (Ledig et al. 2017) with srgan-up's names."""

    def __init__(self, num_in_ch, num_out_ch, num_feat, num_block, upscale, bias):
        super().__init__()
        self.conv_first = nn.Conv2d(num_in_ch, num_feat, 9, 1, 4)
        self.act_first = nn.PReLU(num_feat)
        self.body = nn.Sequential(*[SRBlock(num_feat, bias, i % 2 == 1)
                                    for i in range(num_block)])
        self.conv_body = nn.Conv2d(num_feat, num_feat, 3, 1, 1, bias=bias)
        self.bn_body = nn.BatchNorm2d(num_feat)
        r, n = (3, 1) if upscale == 3 else (2, {2: 1, 4: 2, 8: 3}[upscale])
        self.r, self.n = r, n
        for k in range(n):
            setattr(self, f"upconv{k + 1}", nn.Conv2d(num_feat, num_feat * r * r, 3, 1, 1))
            setattr(self, f"act_up{k + 1}", nn.PReLU())
        self.conv_last = nn.Conv2d(num_feat, num_out_ch, 9, 1, 4)

    def forward(self, x):
        feat = self.act_first(self.conv_first(x))
        out = self.bn_body(self.conv_body(self.body(feat))) + feat
        for k in range(self.n):
            out = getattr(self, f"act_up{k + 1}")(
                F.pixel_shuffle(getattr(self, f"upconv{k + 1}")(out), self.r))
        return self.conv_last(out)


def save_safetensors(path, tensors, metadata=None):
    """Minimal safetensors writer (F32, little endian), no extra dependency."""
    header = {}
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    blobs, off = [], 0
    for name, t in tensors.items():
        b = t.detach().contiguous().to(torch.float32).numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def randomise_bn(model, g):
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            m.weight.data = 0.5 + torch.rand(c, generator=g)
            m.bias.data = 0.2 * torch.randn(c, generator=g)
            m.running_mean.data = 0.2 * torch.randn(c, generator=g)
            m.running_var.data = 0.5 + 1.5 * torch.rand(c, generator=g)
        if isinstance(m, nn.PReLU):
            m.weight.data = 0.05 + 0.4 * torch.rand(m.weight.shape, generator=g)


CASES = [
    # name, arch, in/out channels, feat, blocks, scale, input h x w, extra
    ("msrresnet_x2", "msrresnet", 3, 16, 2, 2, (13, 11), {}),
    ("msrresnet_x4", "msrresnet", 3, 16, 2, 4, (9, 12), {}),
    ("msrresnet_x3_gray", "msrresnet", 1, 8, 1, 3, (10, 7), {}),
    ("srresnet_x2", "srresnet", 3, 16, 2, 2, (11, 13), {"bias": False}),
    ("srresnet_x4", "srresnet", 3, 16, 2, 4, (8, 10), {"bias": True}),
]


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "model")
    os.makedirs(out_dir, exist_ok=True)
    torch.set_num_threads(1)
    for i, (name, arch, ch, nf, nb, scale, (h, w), extra) in enumerate(CASES):
        torch.manual_seed(1000 + i)
        g = torch.Generator().manual_seed(2000 + i)
        if arch == "msrresnet":
            model = MSRResNet(ch, ch, nf, nb, scale)
        else:
            model = SRResNet(ch, ch, nf, nb, scale, extra["bias"])
            randomise_bn(model, g)
        model.eval()
        x = torch.rand(1, ch, h, w, generator=g)
        with torch.no_grad():
            y = model(x)
        state = {k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
        meta = {"arch": arch, "scale": scale, "num_block": nb, "num_feat": nf,
                "num_in_ch": ch, "num_out_ch": ch, "value_range": "0,1",
                "training_data": "none (random weights, parity fixture)",
                "date": "fixture", "source": "tools/make_parity_fixtures.py"}
        save_safetensors(os.path.join(out_dir, name + ".safetensors"), state, meta)
        save_safetensors(os.path.join(out_dir, name + "_io.safetensors"),
                         {"input": x, "output": y})
        print(f"{name}: {len(state)} tensors, input {tuple(x.shape)}, output {tuple(y.shape)}, "
              f"|y| max {y.abs().max():.3f}")


if __name__ == "__main__":
    main()
