#!/usr/bin/python3
"""Expected values for tests/resample/test_mesh4.c from the reference,
../shared/peers/mesh4.py (imported, not copied), on images of the repository
and on a small synthetic image with a printed 4-pixel grid, which this
script writes to tests/fixtures/resample/mesh4_grid.png. Writes
tests/fixtures/resample/mesh4.txt: "PATH VALUE" lines (paths relative to the
repository root). Run once from the repository root; outputs are committed."""
import importlib.util
import os

import numpy as np
from PIL import Image

spec = importlib.util.spec_from_file_location('mesh4', '../shared/peers/mesh4.py')
ref = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ref)

# a smooth RGB image plus a +-3 level period-4 pattern, odd size (61x47)
h, w = 47, 61
y, x = np.mgrid[0:h, 0:w]
base = 120 + 60 * np.sin(x / 9.0)[..., None] * np.cos(y / 7.0)[..., None] + np.array([0, 20, -20])
grid = np.where((x % 4 == 1) | (y % 4 == 2), 3.0, -1.0)[..., None]
img = np.clip(np.round(base + grid), 0, 255).astype(np.uint8)
Image.fromarray(img).save('tests/fixtures/resample/mesh4_grid.png')
# its gray version, one channel
Image.fromarray(img[..., 1]).save('tests/fixtures/resample/mesh4_grid_gray.png')

paths = ['samples/dogs_lr.png', 'samples/photo_lr.png', 'tests/fixtures/train/val/hr/img0.png',
         'tests/fixtures/train/val/hr/img1.png', 'tests/fixtures/resample/mesh4_grid.png',
         'tests/fixtures/resample/mesh4_grid_gray.png']
with open('tests/fixtures/resample/mesh4.txt', 'w') as f:
    for p in paths:
        f.write('%s %.17g\n' % (p, ref.mesh4(p)))
print(open('tests/fixtures/resample/mesh4.txt').read())
