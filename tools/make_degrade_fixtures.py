#!/usr/bin/python3
"""Reference blur kernels for tests/train/test_degrade.c.

Computes the kernels of Real-ESRGAN's degradation model (BasicSR
degradations.py: bivariate Gaussian, generalized Gaussian, plateau, and the
circular low-pass "sinc") with numpy/scipy from their published formulas,
and writes tests/fixtures/train/degrade_kernels.txt: one kernel a line,
"type k sig_x sig_y theta beta v...", type numbered as sr_kernel_type.
Run once from the repository root; the output is committed."""
import numpy as np
from scipy import special

def grid(k):
    ax = np.arange(-k // 2 + 1.0, k // 2 + 1.0)
    xx, yy = np.meshgrid(ax, ax)
    return np.stack([xx, yy], -1)

def quad(k, sx, sy, theta):
    d = np.diag([sx * sx, sy * sy])
    u = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    inv = np.linalg.inv(u @ d @ u.T)
    g = grid(k)
    return np.sum((g @ inv) * g, 2)

def kernel(t, k, sx, sy, theta, beta):
    if t == 6:
        c = (k - 1) / 2
        y, x = np.mgrid[0:k, 0:k].astype(float)
        r = np.sqrt((x - c) ** 2 + (y - c) ** 2)
        with np.errstate(divide='ignore', invalid='ignore'):
            v = sx * special.j1(sx * r) / (2 * np.pi * r)
        v[int(c), int(c)] = sx * sx / (4 * np.pi)
        return v / v.sum()
    if t in (0, 2, 4):
        sy, theta = sx, 0.0
    q = quad(k, sx, sy, theta)
    if t in (0, 1):
        v = np.exp(-0.5 * q)
    elif t in (2, 3):
        v = np.exp(-0.5 * q ** beta)
    else:
        v = 1.0 / (q ** beta + 1)
    return v / v.sum()

CASES = [
    (0, 7, 1.3, 0, 0, 1), (0, 21, 3.0, 0, 0, 1), (1, 13, 2.5, 0.7, 0.6, 1),
    (1, 21, 0.4, 2.9, -2.2, 1), (2, 9, 1.1, 0, 0, 0.6), (3, 15, 2.0, 1.0, 1.2, 3.5),
    (4, 11, 1.5, 0, 0, 1.7), (5, 17, 2.8, 0.9, -0.4, 1.3), (6, 7, 2.0, 0, 0, 0),
    (6, 21, 0.9, 0, 0, 0),
]

with open('tests/fixtures/train/degrade_kernels.txt', 'w') as f:
    f.write('# made by tools/make_degrade_fixtures.py: type k sig_x sig_y theta beta values\n')
    for t, k, sx, sy, th, b in CASES:
        v = kernel(t, k, sx, sy, th, b)
        f.write('%d %d %r %r %r %r ' % (t, k, sx, sy, th, b))
        f.write(' '.join('%.17g' % x for x in v.ravel()) + '\n')
