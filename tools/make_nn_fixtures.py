#!/usr/bin/python3
"""Generate tests/fixtures/nn/upsample_torch.txt: PyTorch reference values for
the nn layer tests (tests/nn/test_nn_layers.c).

Run with Debian's python3-torch:  /usr/bin/python3 tools/make_nn_fixtures.py

The file is plain text, one record per case:
    case MODE SCALE N C H W
    in   <N*C*H*W floats>
    out  <N*C*(H*SCALE)*(W*SCALE) floats>   F.interpolate(x, scale_factor=SCALE,
                                            mode=MODE, align_corners=None/False)
    grad <N*C*H*W floats>                   d/dx sum(r * out) for r = the 'r' line
    r    <N*C*(H*SCALE)*(W*SCALE) floats>
and one pixel-shuffle case:
    shuffle R N C H W / in / out            F.pixel_shuffle(x, R)
Values are written with 9 significant digits (exact float round trip).
"""
import os
import torch
import torch.nn.functional as F

torch.manual_seed(1234)
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, '..', 'tests', 'fixtures', 'nn', 'upsample_torch.txt')


def fmt(t):
    return ' '.join('%.9g' % v for v in t.detach().reshape(-1).tolist())


lines = []
shape = (1, 2, 5, 7)  # odd sizes so edge clamping shows
x = torch.randn(*shape, dtype=torch.float32)
for mode in ('nearest', 'bilinear', 'bicubic'):
    for scale in (2, 3, 4):
        xi = x.clone().requires_grad_(True)
        kw = {} if mode == 'nearest' else {'align_corners': False}
        y = F.interpolate(xi, scale_factor=scale, mode=mode, **kw)
        r = torch.randn_like(y)
        (y * r).sum().backward()
        lines.append('case %s %d %d %d %d %d' % ((mode, scale) + shape))
        lines.append('in ' + fmt(x))
        lines.append('out ' + fmt(y))
        lines.append('r ' + fmt(r))
        lines.append('grad ' + fmt(xi.grad))

xs = torch.randn(2, 8, 3, 2)
lines.append('shuffle 2 2 8 3 2')
lines.append('in ' + fmt(xs))
lines.append('out ' + fmt(F.pixel_shuffle(xs, 2)))

with open(OUT, 'w') as f:
    f.write('\n'.join(lines) + '\n')
print('wrote', OUT)
