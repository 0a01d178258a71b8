#!/usr/bin/env python3
"""Generate tests/fixtures/train/ (PyTorch parity of one full srgan-train step).

Run from the repository root with Debian's Python and python3-torch:

    /usr/bin/python3 tools/make_train_fixtures.py

Writes
  tests/fixtures/train/parity_gen.safetensors  tiny MSRResNet x2 (8 ch, 2 blocks),
                                               BasicSR names, loads with sr_generator_load
  tests/fixtures/train/parity.safetensors      inputs, discriminator (nf 4, spectral norm
                                               u/v), VGG slice "8,8,M,16,16" (Caffe input
                                               convention), and the expected results of one
                                               phase-gan step: losses (metadata), gradients
                                               of G and D, weights after Adam, EMA, u/v
  tests/fixtures/train/val/                    validation fixture (see make_val below)

The step is defined exactly as src/train/train.c runs it (ESRGAN defaults):
  one spectral-norm power iteration per step (torch.nn.utils.spectral_norm's rule,
  u, v constant in the gradient); sr = G(lr);
  loss_G = 1e-2 L1(sr, hr) + 1 * L1(vgg(sr), vgg(hr)) + 5e-3 RaGAN_G(D(hr) detached, D(sr));
  loss_D = RaGAN_D(D(hr), D(sr) detached) with gradients through both means
  (the original ESRGAN formulation); Adam(1e-4, betas 0.9/0.99, eps 1e-8) for both; EMA 0.999
  with the warm-up decay min(0.999, (1 + step) / (10 + step)), i.e. 0.1 at step 0.
"""
import json
import os
import struct
import subprocess
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = "tests/fixtures/train"


def save_st(path, tensors, meta):
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        a = np.ascontiguousarray(t.detach().cpu().numpy().astype("<f4"))
        b = a.tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    header["__metadata__"] = {k: str(v) for k, v in meta.items()}
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


class Block(nn.Module):
    def __init__(self, nf):
        super().__init__()
        self.conv1 = nn.Conv2d(nf, nf, 3, 1, 1)
        self.conv2 = nn.Conv2d(nf, nf, 3, 1, 1)

    def forward(self, x):
        return x + self.conv2(F.relu(self.conv1(x)))


class MSRResNetX2(nn.Module):
    def __init__(self, nf=8, nb=2):
        super().__init__()
        self.conv_first = nn.Conv2d(3, nf, 3, 1, 1)
        self.body = nn.Sequential(*[Block(nf) for _ in range(nb)])
        self.upconv1 = nn.Conv2d(nf, nf * 4, 3, 1, 1)
        self.conv_hr = nn.Conv2d(nf, nf, 3, 1, 1)
        self.conv_last = nn.Conv2d(nf, 3, 3, 1, 1)

    def forward(self, x):
        act = lambda t: F.leaky_relu(t, 0.1)  # noqa: E731
        out = self.body(act(self.conv_first(x)))
        out = act(F.pixel_shuffle(self.upconv1(out), 2))
        out = self.conv_last(act(self.conv_hr(out)))
        return out + F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)


def disc_forward(ws, bs, us, vs, x):
    """PatchGAN with W / sigma, sigma = u . W v (u, v fixed)."""
    for i in range(5):
        w = ws[i]
        sigma = torch.dot(us[i], torch.mv(w.view(w.shape[0], -1), vs[i]))
        x = F.conv2d(x, w / sigma, bs[i], stride=2 if i < 3 else 1, padding=1)
        if i < 4:
            x = F.leaky_relu(x, 0.2)
    return x


CAFFE_MEAN = torch.tensor([103.939, 116.779, 123.68]).view(1, 3, 1, 1)


def vgg_forward(vw, vb, x):
    """cfg 8,8,M,16,16 -> conv2_2 before ReLU; Caffe input (BGR, 0..255, minus mean)."""
    x = x.flip(1) * 255.0 - CAFFE_MEAN
    x = F.relu(F.conv2d(x, vw[0], vb[0], padding=1))
    x = F.relu(F.conv2d(x, vw[1], vb[1], padding=1))
    x = F.max_pool2d(x, 2)
    x = F.relu(F.conv2d(x, vw[2], vb[2], padding=1))
    return F.conv2d(x, vw[3], vb[3], padding=1)


def bce(x, target):
    return F.binary_cross_entropy_with_logits(x, torch.full_like(x, float(target)))


def make_parity():
    torch.manual_seed(1234)
    g = MSRResNetX2()
    with torch.no_grad():  # residual blocks scaled down, as Kaiming x 0.1 would
        for blk in g.body:
            blk.conv1.weight.mul_(0.1)
            blk.conv2.weight.mul_(0.1)
    gnames = [n for n, _ in g.named_parameters()]
    save_st(f"{OUT}/parity_gen.safetensors", dict(g.named_parameters()),
            {"arch": "msrresnet", "scale": 2})
    ema = {n: p.detach().clone() for n, p in g.named_parameters()}
    nf, chans = 4, [3, 4, 8, 16, 32, 1]
    ws, bs, us, vs = [], [], [], []
    for i in range(5):
        c = nn.Conv2d(chans[i], chans[i + 1], 4)
        ws.append(nn.Parameter(c.weight.detach().clone()))
        bs.append(nn.Parameter(c.bias.detach().clone()))
        us.append(F.normalize(torch.randn(chans[i + 1]), dim=0, eps=1e-12))
        vs.append(F.normalize(torch.randn(chans[i] * 16), dim=0, eps=1e-12))
    vcfg = [(3, 8), (8, 8), (8, 16), (16, 16)]
    vw = [torch.randn(o, i, 3, 3) * (2.0 / (9 * i)) ** 0.5 for i, o in vcfg]
    vb = [torch.randn(o) * 0.1 for _, o in vcfg]
    # Caffe-scaled inputs: keep the first layer's outputs moderate
    vw[0] = vw[0] / 255.0
    lr = torch.rand(4, 3, 16, 16)
    hr = torch.rand(4, 3, 32, 32)
    tensors = {"lr": lr, "hr": hr}
    for i in range(5):
        tensors[f"d.conv{i}.weight"] = ws[i].detach().clone()
        tensors[f"d.conv{i}.bias"] = bs[i].detach().clone()
        tensors[f"d.sn_u.{i}"] = us[i].clone()
        tensors[f"d.sn_v.{i}"] = vs[i].clone()
    names = ["conv1_1", "conv1_2", "conv2_1", "conv2_2"]
    for k in range(4):
        tensors[f"vgg.{names[k]}.weight"] = vw[k]
        tensors[f"vgg.{names[k]}.bias"] = vb[k]

    # one power iteration (torch.nn.utils.spectral_norm, training mode)
    with torch.no_grad():
        for i in range(5):
            wm = ws[i].view(ws[i].shape[0], -1)
            vs[i] = F.normalize(torch.mv(wm.t(), us[i]), dim=0, eps=1e-12)
            us[i] = F.normalize(torch.mv(wm, vs[i]), dim=0, eps=1e-12)
    opt_g = torch.optim.Adam(g.parameters(), lr=1e-4, betas=(0.9, 0.99), eps=1e-8)
    opt_d = torch.optim.Adam(ws + bs, lr=1e-4, betas=(0.9, 0.99), eps=1e-8)

    sr = g(lr)
    l_pix = F.l1_loss(sr, hr)
    l_percep = F.l1_loss(vgg_forward(vw, vb, sr), vgg_forward(vw, vb, hr).detach())
    real = disc_forward(ws, bs, us, vs, hr).detach()
    fake = disc_forward(ws, bs, us, vs, sr)
    l_g = 0.5 * (bce(real - fake.mean(), 0) + bce(fake - real.mean(), 1))
    total = 1e-2 * l_pix + 1.0 * l_percep + 5e-3 * l_g
    gg = torch.autograd.grad(total, list(g.parameters()))
    real_d = disc_forward(ws, bs, us, vs, hr)
    fake_d = disc_forward(ws, bs, us, vs, sr.detach())
    l_d = 0.5 * (bce(real_d - fake_d.mean(), 1) + bce(fake_d - real_d.mean(), 0))
    gd = torch.autograd.grad(l_d, ws + bs)
    for n, t in zip(gnames, gg):
        tensors[f"g_grad.{n}"] = t
    for i in range(5):
        tensors[f"d_grad.conv{i}.weight"] = gd[i]
        tensors[f"d_grad.conv{i}.bias"] = gd[5 + i]
    for p, t in zip(g.parameters(), gg):
        p.grad = t
    for p, t in zip(ws + bs, gd):
        p.grad = t
    opt_g.step()
    opt_d.step()
    for n, p in g.named_parameters():
        tensors[f"g_new.{n}"] = p.detach().clone()
        decay = min(0.999, (1 + 0) / (10 + 0))  # step 0 of the warm-up
        tensors[f"ema.{n}"] = ema[n] * decay + p.detach() * (1 - decay)
    for i in range(5):
        tensors[f"d_new.conv{i}.weight"] = ws[i].detach().clone()
        tensors[f"d_new.conv{i}.bias"] = bs[i].detach().clone()
        tensors[f"d_new.sn_u.{i}"] = us[i]
        tensors[f"d_new.sn_v.{i}"] = vs[i]
    meta = {"l_pix": repr(l_pix.item()), "l_percep": repr(l_percep.item()),
            "l_gan_g": repr(l_g.item()), "l_gan_d": repr(l_d.item()),
            "torch": torch.__version__}
    save_st(f"{OUT}/parity.safetensors", tensors, meta)
    print("parity:", meta)


def make_val():
    """val/hr/*.png (3 small photos-like images) and val/sr_eval.json with the
    PSNR/SSIM that ../shared/peers/sr_eval.py reports for the x2 output of the
    parity generator (computed with this script's torch model, the same
    weights the C test loads) against them."""
    from PIL import Image
    sys.path.insert(0, "../shared/peers")
    from matlab_imresize import imresize  # noqa: E402
    d = f"{OUT}/val"
    os.makedirs(f"{d}/hr", exist_ok=True)
    os.makedirs(f"{d}/sr", exist_ok=True)
    rng = np.random.default_rng(5)
    for k in range(3):
        h, w = 40 + 6 * k, 52 - 4 * k  # not multiples of 4: modcrop matters
        y, x = np.mgrid[0:h, 0:w]
        img = np.stack([128 + 90 * np.sin(x / (2.5 + k) + y / 7.0),
                        128 + 80 * np.cos(y / (3.0 + k)) * np.sin(x / 9.0),
                        128 + 60 * np.sin((x - y) / 5.0)], -1)
        img += rng.normal(0, 6, img.shape)
        Image.fromarray(np.clip(img, 0, 255).round().astype(np.uint8)).save(f"{d}/hr/img{k}.png")
    # SR by the torch twin of parity_gen.safetensors
    g = MSRResNetX2()
    import json as _j
    with open(f"{OUT}/parity_gen.safetensors", "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        hdr = _j.loads(f.read(n))
        data = f.read()
    sd = {}
    for name, info in hdr.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        sd[name] = torch.from_numpy(np.frombuffer(data[a:b], "<f4").reshape(info["shape"]).copy())
    g.load_state_dict(sd)
    for k in range(3):
        hr = np.asarray(Image.open(f"{d}/hr/img{k}.png")).astype(np.float64) / 255.0
        h, w = hr.shape[0] // 2 * 2, hr.shape[1] // 2 * 2
        lr = imresize(hr[:h, :w], 0.5)
        with torch.no_grad():
            sr = g(torch.from_numpy(lr).permute(2, 0, 1)[None].float())[0].permute(1, 2, 0).numpy()
        Image.fromarray((np.clip(sr, 0, 1) * 255).round().astype(np.uint8)).save(f"{d}/sr/img{k}.png")
    res = subprocess.run([sys.executable, "../shared/peers/sr_eval.py", f"{d}/hr", f"{d}/sr",
                          "--scale", "2", "--quiet"], capture_output=True, text=True, check=True)
    line = [ln for ln in res.stdout.splitlines() if ln.startswith("RESULT ")][-1]
    with open(f"{d}/sr_eval.json", "w") as f:
        f.write(line[7:] + "\n")
    print("val:", line)


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    make_parity()
    make_val()
