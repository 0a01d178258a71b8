#!/usr/bin/env python3
"""Export a generator from an srgan-train checkpoint as a model file.

    tools/checkpoint_to_model.py CHECKPOINT.safetensors OUT.safetensors [--raw] [KEY=VALUE ...]

By default the EMA weights ("ema." tensors) are exported, as srgan-train's
own model.safetensors; --raw exports the optimiser's current weights ("g."),
which for a short run are ahead of an EMA still carrying its initial weights
(0.999^N of them after N iterations). KEY=VALUE pairs are added to the
metadata (e.g. kind=psnr name=x4-psnr val_psnr_y=29.1). Standard library only.
"""
import sys

import safetensors_file


def data_record(cm):
    """The HR directory, and how LR was made when not by bicubic."""
    hr, lr, deg = cm.get("cfg.hr", ""), cm.get("cfg.lr", ""), cm.get("cfg.degrade", "")
    if lr:
        return f"{hr}, LR from {lr}"
    return f"{hr}, LR by --degrade {deg}" if deg and deg != "bicubic" else hr


def losses_record(cm):
    """The losses and their weights: "l1" for phase psnr; for phase gan, e.g.
    "l1 x 0.01 + vgg19 conv5_4 x 1 + ragan x 0.005"."""
    pix = cm.get("cfg.pixel_loss", "")
    if cm.get("phase") != "gan" or "cfg.w_gan" not in cm:
        return pix
    g = lambda k: "%g" % float(cm.get(k, "nan"))
    return (f"{pix} x {g('cfg.w_pixel')} + vgg19 {cm.get('cfg.vgg_layers', '')} x {g('cfg.w_percep')}"
            f" + {cm.get('cfg.gan_type', '')} x {g('cfg.w_gan')}")


def main(argv):
    args = [a for a in argv if not a.startswith("--")]
    raw = "--raw" in argv
    if len(args) < 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    src, dst, extra = args[0], args[1], args[2:]
    header, data = safetensors_file.read(src)
    cm = header.pop("__metadata__", {})
    prefix = "g." if raw or cm.get("has_ema") != "1" else "ema."
    names = sorted((k for k in header if k.startswith(prefix)),
                   key=lambda k: header[k]["data_offsets"][0])
    if not names:
        print(f"{src}: no '{prefix}' tensors: not an srgan-train checkpoint", file=sys.stderr)
        return 1
    meta = {
        "format": "srgan-up generator", "arch": cm.get("arch", "msrresnet"),
        "scale": cm.get("scale", "4"), "num_block": cm.get("blocks", "16"),
        "num_feat": cm.get("channels", "64"), "num_in_ch": cm.get("in_channels", "3"),
        "num_out_ch": cm.get("out_channels", "3"), "value_range": "0,1",
        "phase": cm.get("phase", "psnr"), "iterations": cm.get("iteration", ""),
        "train_seconds": cm.get("seconds", ""), "batch_patch": f"{cm.get('cfg.batch', '')}x{cm.get('cfg.patch', '')}",
        "training_data": data_record(cm), "losses": losses_record(cm),
        "weights": "raw" if prefix == "g." else "ema", "trainer": "srgan-train",
    }
    for kv in extra:
        k, _, v = kv.partition("=")
        meta[k] = v
    tensors = []
    for k in names:
        t = header[k]
        b, e = t["data_offsets"]
        tensors.append((k[len(prefix):], t["dtype"], t["shape"], data[b:e]))
    safetensors_file.write(dst, tensors, meta)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
