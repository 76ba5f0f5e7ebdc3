"""Benchmark: ImageNet-C scored on the fly (`score --generate`) vs released-format files vs bare forwards.

    python bench/gpu_imagenet_c.py            # CUDA: 1,000 clean JPEGs, all 75 cells, resnet50
    python bench/gpu_imagenet_c.py --quick    # any machine: 6 JPEGs, 2 cells, resnet18 (a smoke test)

Builds ``--images`` clean ImageNet-size JPEGs (about 500 x 375, quality 90) from skimage's
photographs (the library's frost photographs where scikit-image is missing; random crops, flips
and scales) in the ImageNet val layout, one class folder per
image up to 1,000 classes, and scores torchvision's resnet50 (random weights: throughput only)
in one process:

1. per-stage times of the on-the-fly pipeline, each stage alone and synchronised: clean decode
   + Resize(256) + CenterCrop(224) (PIL threads, and nvJPEG on CUDA), the 75 corruptions on the
   device, the exact JPEG q85 round trip (PIL on CPU threads) and the ``--fast-jpeg`` one
   (torchvision on the device), the forward passes;
2. ``score`` end to end on ``get_suite("imagenet-c", generate=True, ...)`` (the stages
   overlapped), exact and ``fast_jpeg``: images/s and the extrapolated time of the full
   ImageNet-C (50,000 x 75 = 3.75 M images); on CUDA also the PSNR between the exact and fast
   JPEG paths and the change of each cell's error between them;
3. the same model reading released-format files (``make-suite`` folder of ``--file-cells``
   cells, scored with ``score`` as released ImageNet-C is);
4. the fastest bare forward on pre-decoded images: bf16 + channels_last, eager at batch 256 and
   512, ``torch.compile`` and CUDA graphs (``mode="reduce-overhead"``) at batch 512 -- each
   printed -- and score's ratio to the fastest (target >= 0.8). Compilation comes last, so a
   time limit that stops it leaves every other figure printed.

The device figures of docs/benchmarks.md come from this script in bench/gpu_session.sh.
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
from PIL import Image

import corruptions
from robustbench_dm.models import NORMALIZATIONS, create_model
from robustbench_dm.scoring import score
from robustbench_dm.scoring.fast_path import resolve_fast_path
from robustbench_dm.suites import get_suite
from robustbench_dm.suites.generated import derive_seed
from robustbench_dm.suites.imagenet_pipeline import CleanImages, default_threads
from robustbench_dm.suites.released_jpeg import ReleasedSave
from robustbench_dm.suites.make_suite import make_suite

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry", "colorwheel",
          "hubble_deep_field", "retina", "cat", "camera")
FULL_SUITE = 50_000 * 75


def build_clean(root: Path, images: int, threads: int) -> int:
    """``images`` ImageNet-size JPEGs in ``root/<wnid>/``; returns the number of classes."""
    try:
        import skimage.data

        photos = [Image.fromarray(getattr(skimage.data, name)()).convert("RGB") for name in PHOTOS]
    except ImportError:  # a machine without scikit-image: the frost photographs the library ships
        from corruptions.frost import FROST_DIR

        photos = [Image.open(path).convert("RGB") for path in sorted(FROST_DIR.glob("frost*"))]
    classes = min(images, 1000)

    def one(i: int) -> None:
        rng = np.random.default_rng(i)
        photo = photos[i % len(photos)]
        w, h = photo.size
        cw, ch = int(w * rng.uniform(0.5, 1.0)), int(h * rng.uniform(0.5, 1.0))
        left, top = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
        size = (500, 375) if rng.random() < 0.7 else (375, 500)
        image = photo.crop((left, top, left + cw, top + ch)).resize(size, Image.BILINEAR)
        if rng.random() < 0.5:
            image = image.transpose(Image.FLIP_LEFT_RIGHT)
        folder = root / f"n{i % classes:08d}"
        folder.mkdir(parents=True, exist_ok=True)
        image.save(folder / f"ILSVRC2012_val_{i + 1:08d}.JPEG", quality=90)

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, range(images)))
    return classes


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(device: torch.device, fn):
    """(result, seconds) of ``fn()`` with the device synchronised on both sides."""
    sync(device)
    start = time.perf_counter()
    result = fn()
    sync(device)
    return result, time.perf_counter() - start


def stage_times(root: Path, cells: list[tuple[str, int]], device: torch.device, batch: int,
                threads: int, net, fast) -> dict[str, float]:
    """Seconds of each on-the-fly stage alone over the whole sample."""
    clean = CleanImages(root, threads=threads)
    n = len(clean)
    out: dict[str, float] = {}
    images, out["clean decode + resize/crop (PIL threads)"] = timed(
        device, lambda: torch.cat([clean.decode(i, min(i + batch, n)) for i in range(0, n, batch)]))
    if device.type == "cuda":
        gpu = CleanImages(root, decoder="nvjpeg", device=device, threads=threads)
        _, out["clean decode + resize/crop (nvJPEG)"] = timed(
            device, lambda: [gpu.decode(i, min(i + batch, n)) for i in range(0, n, batch)])
    images = images.to(device)
    exact, quick = ReleasedSave(threads=threads), ReleasedSave(fast=True, threads=threads)
    for key in ("corrupt (device)", "JPEG q85 round trip exact (CPU threads)",
                "JPEG q85 round trip fast (device)", "forward (score's fast-path settings)"):
        out[key] = 0.0
    for name, level in cells:
        for i in range(0, n, batch):
            part = images[i:i + batch]
            gen = torch.Generator(device=device).manual_seed(derive_seed(0, name, level, i))
            corrupted, seconds = timed(device, lambda: corruptions.corrupt(part, name, level,
                                                                          preset="imagenet", generator=gen))
            out["corrupt (device)"] += seconds
            saved, seconds = timed(device, lambda: exact.submit(corrupted)())
            out["JPEG q85 round trip exact (CPU threads)"] += seconds
            out["JPEG q85 round trip fast (device)"] += timed(device, lambda: quick.submit(corrupted)())[1]
            with torch.inference_mode():
                out["forward (score's fast-path settings)"] += timed(
                    device, lambda: _forward(net, fast, saved.to(device)))[1]
    return out


def _forward(net, fast, images: torch.Tensor) -> torch.Tensor:
    x = fast.to_input(images)
    with fast.autocast():
        return net(x).argmax(1)


def bare_forwards(model, device: torch.device, images: torch.Tensor, quick: bool,
                  cpu_batch: int) -> dict[str, float]:
    """images/s of the forward alone in each configuration (pre-decoded uint8 on the device)."""
    results: dict[str, float] = {}
    cuda = device.type == "cuda"
    configs = [(f"fp32 eager, batch {cpu_batch}", cpu_batch, False, None)] if not cuda else [
        ("bf16 channels_last eager, batch 256", 256, True, None),
        ("bf16 channels_last eager, batch 512", 512, True, None),
        ("bf16 channels_last torch.compile, batch 512", 512, True, "default"),
        ("bf16 channels_last CUDA graphs (compile reduce-overhead), batch 512", 512, True, "reduce-overhead"),
    ]
    for label, batch, low, mode in configs:
        net = model.to(device).eval()
        if low:
            net = net.to(memory_format=torch.channels_last)
        if mode is not None:
            net = torch.compile(net, mode=mode)
        x = images[:batch]
        if len(x) < batch:
            x = x.repeat(math.ceil(batch / len(x)), 1, 1, 1)[:batch]
        x = x.float().div(255)
        if low:
            x = x.contiguous(memory_format=torch.channels_last)
        steps = 3 if quick else 20

        def run(k: int) -> None:
            with torch.inference_mode(), torch.autocast("cuda", torch.bfloat16, enabled=low and cuda):
                for _ in range(k):
                    net(x).argmax(1)
        try:
            run(3)  # warm-up: compilation, autotuning, graph capture
            _, seconds = timed(device, lambda: run(steps))
        except Exception as err:  # a configuration this machine cannot run is reported, not fatal
            print(f"  {label}: failed ({type(err).__name__}: {str(err).splitlines()[0][:120]})")
            continue
        results[label] = steps * batch / seconds
        print(f"  {label}: {results[label]:,.1f} images/s")
    return results


def score_rate(model, suite, out: Path, device, batch: int, workers: int) -> tuple[float, Path]:
    cells = sum(suite.cell_size(*c) for c in suite.cells())
    _, seconds = timed(device, lambda: score(model, suite, out_dir=out, batch_size=batch, device=device,
                                             progress=False, workers=workers,
                                             checkpoint_info={"path": "bench", "sha256": "0" * 64}))
    return cells / seconds, out / "results.h5"


def cell_errors(path: Path) -> dict[str, float]:
    import h5py

    with h5py.File(path, "r") as f:
        return {f"{n}/{lv}": float((f[f"cells/{n}/{lv}/topk"][:, 0] != f[f"cells/{n}/{lv}/labels"][()]).mean())
                for n in f["cells"] for lv in f[f"cells/{n}"]}


def main() -> None:
    cuda = torch.cuda.is_available()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sample: a smoke test on any machine")
    parser.add_argument("--images", type=int, default=None, help="clean images (default 1000; quick: 6)")
    parser.add_argument("--batch-size", type=int, default=None, help="default 256 (quick: 4)")
    parser.add_argument("--workers", type=int, default=2, help="batches read ahead by score")
    parser.add_argument("--file-cells", type=int, default=None,
                        help="cells written in released format for the file comparison (default 5; quick: 1)")
    parser.add_argument("--device", default="cuda" if cuda else "cpu")
    parser.add_argument("--arch", default=None, help="torchvision model (default resnet50; quick: resnet18)")
    args = parser.parse_args()
    arch = args.arch or ("resnet18" if args.quick else "resnet50")
    device = torch.device(args.device)
    cuda = device.type == "cuda"  # --device cpu on a CUDA machine: a CPU run
    images = args.images or (6 if args.quick else 1000)
    batch = args.batch_size or (4 if args.quick else 256)
    threads = default_threads()
    names = ("gaussian_noise", "fog") if args.quick else corruptions.CORRUPTIONS
    levels = (3,) if args.quick else (1, 2, 3, 4, 5)
    cells = [(n, lv) for n in names for lv in levels]
    file_cells = cells[:args.file_cells or (1 if args.quick else 5)]
    print(f"device {device}{' (' + torch.cuda.get_device_name(device) + ')' if cuda else ''}, "
          f"{threads} CPU threads, torch {torch.__version__}")

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        root = tmp / "val"
        (classes, seconds) = timed(device, lambda: build_clean(root, images, threads))
        print(f"{arch}; built {images} clean JPEGs in {classes} class folders in {seconds:.1f} s; "
              f"{len(cells)} cells x {images} = {len(cells) * images} corrupted images")
        model = create_model(arch, classes, NORMALIZATIONS["imagenet"])
        fast = resolve_fast_path(device)
        net = fast.prepare(model)
        if cuda:
            torch.backends.cudnn.benchmark = True

        print("\n1. per-stage times, each stage alone (seconds over the sample; ms per corrupted image)")
        stages = stage_times(root, cells, device, batch, threads, net, fast)
        total = len(cells) * images
        for key, seconds in stages.items():
            per = seconds / (images if key.startswith("clean") else total) * 1000
            print(f"  {key:<48} {seconds:8.2f} s  {per:7.3f} ms/img")

        print("\n2. score end to end, on the fly (stages overlapped)")
        kwargs = {"generate": True, "clean_root": root, "corruptions": list(names), "severities": list(levels),
                  "device": str(device)}
        rate, exact_path = score_rate(model, get_suite("imagenet-c", **kwargs), tmp / "fly", device, batch,
                                      args.workers)
        print(f"  exact JPEG path: {rate:,.1f} images/s; full ImageNet-C (3.75 M) in "
              f"{FULL_SUITE / rate / 60:.1f} min (target: >= 4,200 images/s, <= 15 min)")
        fast_rate, fast_path = score_rate(model, get_suite("imagenet-c", fast_jpeg=True, **kwargs), tmp / "fast",
                                          device, batch, args.workers)
        print(f"  --fast-jpeg:     {fast_rate:,.1f} images/s; full ImageNet-C in {FULL_SUITE / fast_rate / 60:.1f} min")
        exact_err, fast_err = cell_errors(exact_path), cell_errors(fast_path)
        change = {c: 100 * (fast_err[c] - exact_err[c]) for c in exact_err}
        print(f"  fast - exact cell error (points): max |change| {max(abs(v) for v in change.values()):.2f}, "
              f"mean {np.mean(list(change.values())):+.3f}; per cell (severities in order):")
        for name in ["clean"] + list(names):
            print(f"    {name:<18} " + " ".join(f"{v:+.1f}" for c, v in change.items() if c.split("/")[0] == name))
        sample = CleanImages(root)[0:min(images, 64)].to(device)
        gen = torch.Generator(device=device).manual_seed(0)
        corrupted = corruptions.corrupt(sample, "gaussian_noise", 3, preset="imagenet", generator=gen)
        a = ReleasedSave().submit(corrupted)().double()
        b = ReleasedSave(fast=True).submit(corrupted)().double()
        mse = ((a - b) ** 2).mean().item()
        print(f"  PSNR exact vs fast JPEG (gaussian_noise/3): "
              f"{'identical' if mse == 0 else f'{10 * math.log10(255 ** 2 / mse):.1f} dB'}")

        print(f"\n3. the same model on released-format files ({len(file_cells)} cells written by make-suite)")
        written = tmp / "ImageNet-C"
        for name, level in file_cells:
            make_suite("imagenet-c", "imagenet", root, written, corruptions=name, severities=str(level),
                       device=str(device), progress=False)
        files = get_suite("imagenet-c", written, corruptions=list(dict.fromkeys(c[0] for c in file_cells)),
                          severities=sorted({c[1] for c in file_cells}))
        file_rate, _ = score_rate(model, files, tmp / "files", device, batch, args.workers)
        print(f"  score from JPEG files: {file_rate:,.1f} images/s")

        print("\n4. bare forward on pre-decoded images")
        bare = bare_forwards(create_model(arch, classes, NORMALIZATIONS["imagenet"]), device,
                             CleanImages(root)[0:min(images, 512)].to(device), args.quick, batch)
        best_label, best = max(bare.items(), key=lambda kv: kv[1])
        print(f"  fastest: {best_label} at {best:,.1f} images/s")
        print(f"  score / fastest forward: on the fly {rate / best:.2f}, from files {file_rate / best:.2f} "
              "(target >= 0.8)")
        print("\nsummary " + json.dumps({"device": str(device), "images": images, "cells": len(cells),
                                        "stages_s": stages, "fly_images_per_s": rate,
                                        "fast_jpeg_images_per_s": fast_rate, "files_images_per_s": file_rate,
                                        "bare_images_per_s": bare, "full_suite_min": FULL_SUITE / rate / 60}))


if __name__ == "__main__":
    main()
