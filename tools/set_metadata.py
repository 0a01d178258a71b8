#!/usr/bin/env python3
"""Copy a safetensors model with metadata keys added or changed.

    tools/set_metadata.py IN.safetensors OUT.safetensors KEY=VALUE [KEY=VALUE ...]

KEY= (empty value) removes the key. Tensors are copied byte for byte. Used to
mark a shipped model, e.g. kind=real denoise_partner=x4-psnr (srgan-up
--denoise blends x4-real with the model that key names). Standard library
only.
"""
import sys

import safetensors_file


def main(argv):
    if len(argv) < 3 or any("=" not in kv for kv in argv[2:]):
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    src, dst = argv[0], argv[1]
    header, data = safetensors_file.read(src)
    meta = dict(header.pop("__metadata__", {}))
    for kv in argv[2:]:
        k, v = kv.split("=", 1)
        if v:
            meta[k] = v
        else:
            meta.pop(k, None)
    tensors = []
    for name, t in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        a, b = t["data_offsets"]
        tensors.append((name, t["dtype"], t["shape"], data[a:b]))
    safetensors_file.write(dst, tensors, meta)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
