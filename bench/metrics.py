"""Benchmark: ImageNet-P flip probability + top-5 distance, vectorised vs the published loop.

    python bench/metrics.py [--videos 2000] [--frames 31] [--classes 1000] [--seed 0]

Random float32 logits (videos x frames x classes, seeded; frames share a per-video component so
predictions are not independent) are scored by ``robustbench_dm.metrics`` and by a straightforward
per-video loop of hendrycks/robustness ``ImageNet-P/test.py`` (argmax predictions, ``rankdata``
ordinal ranks, ``flip_prob``, ``ranking_dist``) in the same process, for a non-noise perturbation
(moving reference, difficulty 1) and a noise perturbation (first-frame reference). Prints both
times and the ratio (target >= 50x) and asserts identical per-video values.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy.stats import rankdata

from robustbench_dm.metrics import flip_probability_per_video, top5_distance_per_video


def loop_reference(
    logits: np.ndarray, noise: bool, difficulty: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per-video FP and T5D, one video and one frame at a time, as the reference code does."""
    classes = logits.shape[-1]
    capped = np.cumsum([0] + [1] * 5 + [0] * (classes - 1 - 5))  # capped[r - 1] = min(r - 1, 5)
    step = 1 if noise else difficulty
    flip, top5 = [], []
    for video in logits:
        predictions = [np.argmax(frame) for frame in video]
        ranks = [rankdata(-frame, method="ordinal") for frame in video]
        flips, distances = [], []
        for start in range(step):
            reference = predictions[start]
            inverse = np.argsort(ranks[start])
            for prediction, rank in zip(predictions[start::step][1:], ranks[start::step][1:]):
                flips.append(int(reference != prediction))
                sigma = rank[inverse]
                distances.append(np.sum(np.abs(capped[:5] - capped[sigma - 1][:5])))
                if not noise:
                    reference = prediction
                    inverse = np.argsort(rank)
        flip.append(np.mean(flips))
        top5.append(np.mean(distances))
    return np.array(flip), np.array(top5)


def vectorised(logits: np.ndarray, noise: bool, difficulty: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-video FP and T5D with the toolkit's functions."""
    predictions = logits.argmax(axis=-1)
    return (
        flip_probability_per_video(predictions, noise=noise, difficulty=difficulty),
        top5_distance_per_video(logits, noise=noise, difficulty=difficulty),
    )


def make_logits(videos: int, frames: int, classes: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal((videos, frames, classes), dtype=np.float32)
    logits *= np.float32(0.5)
    logits += rng.standard_normal((videos, 1, classes), dtype=np.float32)
    return logits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=2000)
    parser.add_argument("--frames", type=int, default=31)
    parser.add_argument("--classes", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    logits = make_logits(args.videos, args.frames, args.classes, args.seed)
    print(f"logits {logits.shape} float32 ({logits.nbytes / 2**20:.0f} MiB), seed {args.seed}")
    header = f"{'rule':<26}{'loop s':>9}{'vector s':>10}{'ratio':>9}{'FP':>10}{'T5D':>10}"
    print(header)
    print("-" * len(header))
    ratios = []
    rules = (("non-noise, difficulty 1", False, 1), ("noise (frame 0 ref.)", True, 1))
    for label, noise, difficulty in rules:
        start = time.perf_counter()
        loop_fp, loop_t5d = loop_reference(logits, noise, difficulty)
        loop_s = time.perf_counter() - start
        start = time.perf_counter()
        fast_fp, fast_t5d = vectorised(logits, noise, difficulty)
        fast_s = time.perf_counter() - start
        np.testing.assert_array_equal(fast_fp, loop_fp)
        np.testing.assert_array_equal(fast_t5d, loop_t5d)
        ratios.append(loop_s / fast_s)
        print(f"{label:<26}{loop_s:>9.2f}{fast_s:>10.3f}{ratios[-1]:>8.0f}x"
              f"{fast_fp.mean():>10.4f}{fast_t5d.mean():>10.4f}")
    print(f"per-video values identical: yes; minimum ratio {min(ratios):.0f}x (target >= 50x)")


if __name__ == "__main__":
    main()
