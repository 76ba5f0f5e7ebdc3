"""Samples/s of the Dynamic Mixup and AugMix training views (clean + 2 augmented), batched on
the device, against the AugMix reference procedure (PIL operations per image, as
google-research/augmix ``cifar.py``'s ``AugMixDataset`` does it, re-created from
AUGMENTATIONS.md §1) and torchvision ``v2.AugMix`` per image, on the same images in one run.

    python bench/augment.py [--device cpu] [--threads 1] [--seconds 2]

One thread by default, so the ratio compares one core with one core (the reference runs one
DataLoader worker per core). ImageNet-scale methods at 224 px (severity 1 for ours and the AM
reference, as AM ``imagenet.py``; torchvision at severity 3 as in §6).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
import torch
from PIL import Image, ImageOps
from torchvision.transforms import v2

from robustbench_dm.methods import create_method

# -- the AugMix reference (augmentations.py + cifar.py aug / AugMixDataset), per image, PIL ---


def _reference(image_size: int, severity: int):
    def int_parameter(level, maxval):
        return int(level * maxval / 10)

    def float_parameter(level, maxval):
        return float(level) * maxval / 10.

    def sample_level(n):
        return np.random.uniform(low=0.1, high=n)

    def autocontrast(img, _):
        return ImageOps.autocontrast(img)

    def equalize(img, _):
        return ImageOps.equalize(img)

    def posterize(img, level):
        return ImageOps.posterize(img, 4 - int_parameter(sample_level(level), 4))

    def rotate(img, level):
        degrees = int_parameter(sample_level(level), 30)
        if np.random.uniform() > 0.5:
            degrees = -degrees
        return img.rotate(degrees, resample=Image.BILINEAR)

    def solarize(img, level):
        return ImageOps.solarize(img, 256 - int_parameter(sample_level(level), 256))

    def _affine(img, data):
        return img.transform((image_size, image_size), Image.AFFINE, data, resample=Image.BILINEAR)

    def shear_x(img, level):
        s = float_parameter(sample_level(level), 0.3) * (-1 if np.random.uniform() > 0.5 else 1)
        return _affine(img, (1, s, 0, 0, 1, 0))

    def shear_y(img, level):
        s = float_parameter(sample_level(level), 0.3) * (-1 if np.random.uniform() > 0.5 else 1)
        return _affine(img, (1, 0, 0, s, 1, 0))

    def translate_x(img, level):
        t = int_parameter(sample_level(level), image_size / 3) * (-1 if np.random.uniform() > 0.5 else 1)
        return _affine(img, (1, 0, t, 0, 1, 0))

    def translate_y(img, level):
        t = int_parameter(sample_level(level), image_size / 3) * (-1 if np.random.uniform() > 0.5 else 1)
        return _affine(img, (1, 0, 0, 0, 1, t))

    ops = [autocontrast, equalize, posterize, rotate, solarize, shear_x, shear_y, translate_x, translate_y]
    mean = torch.tensor([0.5] * 3).view(3, 1, 1)

    def preprocess(img):  # ToTensor + Normalize([0.5]*3, [0.5]*3)
        return (torch.from_numpy(np.asarray(img, dtype=np.float32) / 255.0).permute(2, 0, 1) - mean) / mean

    def aug(image):
        ws = np.float32(np.random.dirichlet([1] * 3))
        m = np.float32(np.random.beta(1, 1))
        mix = torch.zeros_like(preprocess(image))
        for i in range(3):
            image_aug = image.copy()
            for _ in range(np.random.randint(1, 4)):
                image_aug = np.random.choice(ops)(image_aug, severity)
            mix += ws[i] * preprocess(image_aug)
        return (1 - m) * preprocess(image) + m * mix

    return lambda img: (preprocess(img), aug(img), aug(img))


def _images(size: int, count: int = 64) -> np.ndarray:
    """Smooth gradient + U[0, 55) noise, as the §6 throughput anchors."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:size, 0:size] / size
    base = np.stack([xx * 200, yy * 200, (xx + yy) * 100], -1)
    return np.stack([(base + rng.integers(0, 55, base.shape)).clip(0, 255).astype(np.uint8) for _ in range(count)])


def _rate(fn, per_call: int, seconds: float) -> float:
    fn()
    start, calls = time.perf_counter(), 0
    while time.perf_counter() - start < seconds or calls < 3:
        fn()
        calls += 1
    return calls * per_call / (time.perf_counter() - start)


def _device(args: argparse.Namespace) -> tuple[torch.device, Callable[[], None]]:
    """Set ``args.threads`` and give ``args.device`` with its synchronise call (a no-op off
    CUDA), so that a timed call ends when its work does."""
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    return device, torch.cuda.synchronize if device.type == "cuda" else (lambda: None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()
    device, sync = _device(args)
    print(f"device {device}, {args.threads} thread(s); samples/s of (clean, aug, aug)")
    print(f"{'size':>5} {'implementation':<38} {'samples/s':>11} {'vs AM ref':>10}")
    for size, batch, scale, severity in ((32, 128, "cifar", 3), (224, 32, "imagenet", 1)):
        images = _images(size)
        pil = [Image.fromarray(a) for a in images]
        tensors = [torch.from_numpy(a).permute(2, 0, 1).contiguous() for a in images]
        batched = torch.from_numpy(images).permute(0, 3, 1, 2).contiguous().to(device)
        batched = batched.repeat((batch + len(images) - 1) // len(images), 1, 1, 1)[:batch]
        labels = torch.zeros(batch, dtype=torch.long, device=device)
        np.random.seed(1)
        reference = _reference(size, severity)
        tv_augmix = v2.AugMix(severity=3, all_ops=False)
        counter = iter(range(10**9))

        def ref_call():
            reference(pil[next(counter) % len(pil)])

        def tv_call():
            x = tensors[next(counter) % len(tensors)]
            return x.float().div(255), tv_augmix(x), tv_augmix(x)

        rows = [("AM AugMixDataset reference (PIL)", _rate(ref_call, 1, args.seconds)),
                ("torchvision v2.AugMix per image", _rate(tv_call, 1, args.seconds))]
        generator = torch.Generator(device).manual_seed(0)
        for name in ("augmix", "dynmix"):
            method = create_method(name, scale=scale)

            def ours():
                method.augment(batched, labels, generator)
                sync()

            rows.append((f"ours {name} batched ({batch}/call)", _rate(ours, batch, args.seconds)))
        ref = rows[0][1]
        for name, rate in rows:
            print(f"{size:>5} {name:<38} {rate:>11,.0f} {rate / ref:>9.1f}x")


if __name__ == "__main__":
    main()
