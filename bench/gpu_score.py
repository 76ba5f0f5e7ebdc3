"""Benchmark: the full `score` pipeline on an ImageNet-C-format JPEG folder vs bare forward passes.

    python bench/gpu_score.py                                  # CUDA: 20,000 JPEGs, resnet50
    python bench/gpu_score.py        # without CUDA: a smoke test, 8 images, batch 4 (CI)

Builds a synthetic ImageNet-C folder in a temp dir: smooth random 224 px images corrupted with
the toolkit's corruption library (``--corruptions`` at severity 3, one cell each, ``--images``
in all), JPEG q85 in ``<corruption>/3/<wnid>/ILSVRC2012_val_*.JPEG`` over ``--classes`` class
folders. Scores torchvision's resnet50 (random weights: throughput only) in the same process:

(a) bare: forward passes on the same images pre-decoded to uint8 on the device, with the same
    fast path as (b) (bf16 autocast + channels_last on CUDA), top-1 only;
(b) pipeline: ``robustbench_dm.scoring.score`` from the folder (file listing, decoding, copies,
    softmax/top-5, atomic HDF5 writes, summary.json), GPU fast path at its defaults;
(c) on CUDA also the pipeline with ``gpu_decode=False`` (PIL decoding in the reader thread),
    the reason nvJPEG is on by default, and the top-1 agreement of (b) and (c).

Prints images/s of each and the ratio b / a. Target on one H100: (b) >= 5,000 images/s and
b / a >= 0.8 (full ImageNet-C, 3.75 M images, in about 12 minutes).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np
import torch
import torch.nn.functional as F

import corruptions
from corruptions.codec import encode_jpeg
from robustbench_dm.models import NORMALIZATIONS, create_model
from robustbench_dm.scoring import score
from robustbench_dm.scoring.fast_path import resolve_fast_path
from robustbench_dm.suites import get_suite
from robustbench_dm.suites.folders import decode_batch

CORRUPTIONS = ("gaussian_noise", "contrast", "pixelate", "jpeg_compression")
SEVERITY = 3


def smooth_images(n: int, generator: torch.Generator, device: torch.device) -> torch.Tensor:
    """uint8 n x 3 x 224 x 224: bilinear-upsampled 14 px colour noise plus fine grain."""
    low = torch.rand(n, 3, 14, 14, generator=generator, device=device)
    grain = torch.rand(n, 3, 224, 224, generator=generator, device=device)
    x = F.interpolate(low, size=224, mode="bilinear", align_corners=False) * 0.9 + grain * 0.1
    return (x * 255).to(torch.uint8)


def build_folder(root: Path, images: int, classes: int, names: tuple[str, ...],
                 device: torch.device, chunk: int = 250) -> int:
    """Write the synthetic ImageNet-C folder; returns images per cell."""
    per_cell = max(classes, images // len(names))
    generator = torch.Generator(device=device).manual_seed(0)
    for name in names:
        for wnid in range(classes):
            (root / name / str(SEVERITY) / f"n{wnid:08d}").mkdir(parents=True, exist_ok=True)
    for start in range(0, per_cell, chunk):
        stop = min(start + chunk, per_cell)
        clean = smooth_images(stop - start, torch.Generator(device=device).manual_seed(start),
                              device)
        for name in names:
            corrupted = corruptions.corrupt(clean, name, SEVERITY, generator=generator)
            encoded = [e.cpu() for e in encode_jpeg(list(corrupted), quality=85)]  # nvJPEG on CUDA
            for i, data in zip(range(start, stop), encoded):
                path = root / name / str(SEVERITY) / f"n{i % classes:08d}" / \
                    f"ILSVRC2012_val_{i + 1:08d}.JPEG"
                path.write_bytes(data.numpy().tobytes())
    return per_cell


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bare_forward(model, batches: list[torch.Tensor], fast) -> float:
    """Seconds for forward passes + top-1 over ``batches`` (uint8 on the device)."""
    sync(fast.device)
    start = time.perf_counter()
    with torch.inference_mode():
        for batch in batches:
            x = batch.float().div_(255.0)
            if fast.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            with fast.autocast():
                model(x).argmax(1)
    sync(fast.device)
    return time.perf_counter() - start


def pipeline(model, root: Path, names, out: Path, device: torch.device, batch_size: int,
             workers: int, gpu_decode: bool | None) -> float:
    """Seconds for ``score`` from the folder, suite listing included."""
    sync(device)
    start = time.perf_counter()
    suite = get_suite("imagenet-c", root, corruptions=list(names), severities=str(SEVERITY))
    score(model, suite, out_dir=out, batch_size=batch_size, device=device, progress=False,
          workers=workers, gpu_decode=gpu_decode,
          checkpoint_info={"path": "bench", "sha256": "0" * 64})
    sync(device)
    return time.perf_counter() - start


def top1(path: Path) -> np.ndarray:
    with h5py.File(path, "r") as f:
        return np.concatenate([f[f"cells/{n}/{SEVERITY}/topk"][()][:, 0] for n in f["cells"]])


def main() -> None:
    cuda = torch.cuda.is_available()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=20000 if cuda else 8)
    parser.add_argument("--classes", type=int, default=1000 if cuda else 2)
    parser.add_argument("--batch-size", type=int, default=256 if cuda else 4)
    parser.add_argument("--workers", type=int, default=4, help="batches read ahead")
    parser.add_argument("--corruptions", default=",".join(CORRUPTIONS))
    parser.add_argument("--device", default="cuda" if cuda else "cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    names = tuple(args.corruptions.split(","))

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "ImageNet-C"
        started = time.perf_counter()
        per_cell = build_folder(root, args.images, args.classes, names, device)
        total = per_cell * len(names)
        print(f"built {total} JPEGs ({len(names)} cells x {per_cell}, {args.classes} classes) "
              f"in {time.perf_counter() - started:.0f} s on {device}")

        model = create_model("resnet50", args.classes, NORMALIZATIONS["imagenet"])
        fast = resolve_fast_path(device, can_gpu_decode=True)
        net = fast.prepare(model)
        print(f"fast path: {fast.settings()}")
        paths = sorted(root.rglob("*.JPEG"))
        decoded = [decode_batch(paths[i:i + args.batch_size], "none", (224, 224)).to(device)
                   for i in range(0, len(paths), args.batch_size)]
        if device.type == "cuda":  # warm-up: cudnn autotuning, allocator, nvJPEG handles
            torch.backends.cudnn.benchmark = True
            bare_forward(net, decoded[:3], fast)
            pipeline(model, root, names[:1], Path(tmp) / "warm", device, args.batch_size,
                     args.workers, None)

        bare = total / bare_forward(net, decoded, fast)
        del decoded
        full = total / pipeline(model, root, names, Path(tmp) / "gpu", device, args.batch_size,
                                args.workers, None)
        rows = [("(a) bare forward, pre-decoded", bare), ("(b) score pipeline", full)]
        if device.type == "cuda":
            pil = total / pipeline(model, root, names, Path(tmp) / "pil", device,
                                   args.batch_size, args.workers, False)
            rows.append(("(c) score pipeline, PIL decode", pil))
        print(f"\n{'':<34}{'images/s':>12}")
        for label, rate in rows:
            print(f"{label:<34}{rate:>12.1f}")
        print(f"\nratio pipeline / bare: {full / bare:.2f}  (target >= 0.8; >= 5000 images/s "
              "on one H100)")
        if device.type == "cuda":
            agree = (top1(Path(tmp) / "gpu" / "results.h5") ==
                     top1(Path(tmp) / "pil" / "results.h5")).mean()
            print(f"top-1 agreement nvJPEG vs PIL decoding: {agree:.4f}")


if __name__ == "__main__":
    main()
