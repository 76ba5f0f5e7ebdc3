"""Samples/s of the per-image transforms, and of the training methods' batched path, against
the AugMix reference's per-image PIL procedure (``AugMixDataset`` with JSD: clean, aug, aug),
side by side in one run on one thread each.

    python bench/transforms.py [--threads 1] [--seconds 2] [--rounds 5]

The reference procedure and the test images are those of ``bench/augment.py``; severity 3 at
32 px (AugMix ``cifar.py``) and 1 at 224 px (``imagenet.py``) for every row. The rows take
turns for ``--rounds`` rounds of ``--seconds / --rounds`` each and report their best round, so
a load spike on a shared machine does not fall on one row only.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from augment import _images, _rate, _reference
from PIL import Image

from robustbench_dm.methods import create_method
from robustbench_dm.transforms import AugMix, AugmentationViews, DynamicMixup


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"cpu, {args.threads} thread(s); samples/s of (clean, aug, aug) per image")
    print(f"{'size':>5} {'implementation':<44} {'samples/s':>10} {'vs AM ref':>10}")
    for size, scale, severity, batch in ((32, "cifar", 3, 128), (224, "imagenet", 1, 32)):
        images = _images(size, 16)
        pil = [Image.fromarray(a) for a in images]
        tensors = [torch.from_numpy(a).permute(2, 0, 1).contiguous() for a in images]
        np.random.seed(1)
        torch.manual_seed(1)
        counter = iter(range(10**9))
        reference = _reference(size, severity)
        augmix = AugmentationViews(AugMix(severity=severity))
        dynmix = AugmentationViews(DynamicMixup(scale=scale))
        rows = [
            ("AM AugMixDataset reference (PIL)", lambda: reference(pil[next(counter) % 16])),
            ("AugmentationViews(AugMix) on uint8 tensors", lambda: augmix(tensors[next(counter) % 16])),
            ("AugmentationViews(AugMix) on PIL images", lambda: augmix(pil[next(counter) % 16])),
            ("AugmentationViews(DynamicMixup) on tensors", lambda: dynmix(tensors[next(counter) % 16])),
        ]
        batched = torch.stack(tensors).repeat(batch // 16, 1, 1, 1)
        labels = torch.zeros(batch, dtype=torch.long)
        generator = torch.Generator().manual_seed(0)
        for name in ("augmix", "dynmix"):
            method = create_method(name, scale=scale)
            rows.append((
                f"method {name} batched ({batch}/call)",
                lambda m=method: m.augment(batched, labels, generator),
            ))
        best = dict.fromkeys([name for name, _ in rows], 0.0)
        for _ in range(args.rounds):
            for name, call in rows:
                per_call = batch if name.startswith("method") else 1
                best[name] = max(best[name], _rate(call, per_call, args.seconds / args.rounds))
        rates = list(best.items())
        for name, rate in rates:
            print(f"{size:>5} {name:<44} {rate:>10,.0f} {rate / rates[0][1]:>9.2f}x")


if __name__ == "__main__":
    main()
