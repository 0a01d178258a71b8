"""Read and write safetensors files (standard library only), for the tools.

    header, data = read("m.safetensors")          # header includes __metadata__
    write("out.safetensors", [(name, dtype, shape, raw_bytes), ...], {"kind": "gan"})

write() goes through OUT.part and a rename, so a failed run leaves nothing.
"""
import json
import os
import struct


def read(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    return header, data


def write(dst, tensors, meta):
    out, off = {}, 0
    for name, dtype, shape, raw in tensors:
        out[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + len(raw)]}
        off += len(raw)
    out["__metadata__"] = {k: str(v) for k, v in meta.items()}
    hdr = json.dumps(out, separators=(",", ":")).encode()
    hdr += b" " * (-len(hdr) % 8)
    with open(dst + ".part", "wb") as f:
        f.write(struct.pack("<Q", len(hdr)))
        f.write(hdr)
        for _, _, _, raw in tensors:
            f.write(raw)
    os.replace(dst + ".part", dst)
