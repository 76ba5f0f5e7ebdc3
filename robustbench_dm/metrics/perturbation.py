"""ImageNet-P / CIFAR-P stability metrics: flip probability, top-5 distance, mFR and mT5D.

Hendrycks & Dietterich (ICLR 2019); reference code hendrycks/robustness ``ImageNet-P/test.py``
(``flip_prob``, ``ranking_dist``, ``dist``). The reference-frame rule shared by both metrics:

- noise perturbations (name contains "noise"): every frame is compared with frame 0 (the clean
  image); ``difficulty`` selects a different set of videos (a ``_2``/``_3`` folder), not a stride;
- other perturbations: frame t is compared with frame t - d, d = difficulty (consecutive frames
  of the d interleaved sub-sequences i, i+d, i+2d, ...).

Each video's comparisons are averaged, then videos are averaged with equal weight. All
functions are vectorised over videos and frames.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from robustbench_dm.errors import UserError
from robustbench_dm.metrics.ranking import TOP, top5_classes
from robustbench_dm.metrics.validation import (
    float_array,
    int_array,
    mean_over_names,
    positive,
    require_names,
)

DIFFICULTIES = (1, 2, 3)


def is_noise_perturbation(name: str) -> bool:
    """Whether the perturbation uses the fixed first-frame reference (its name contains "noise")."""
    return "noise" in name


def flip_probability_per_video(predictions, *, noise: bool, difficulty: int = 1) -> np.ndarray:
    """Per-video flip probability; ``predictions``: int array (videos x frames) of top-1 classes."""
    preds = int_array(predictions, "predictions", ndim=2)
    reference, current = _frame_pairs(preds, noise, difficulty, "predictions")
    return (reference != current).mean(axis=1)


def flip_probability(predictions, *, noise: bool, difficulty: int = 1) -> float:
    """Flip probability FP: per-video fraction of frames whose top-1 class differs from the
    reference frame's, averaged over videos with equal weight."""
    return float(flip_probability_per_video(predictions, noise=noise, difficulty=difficulty).mean())


def top5_distance_from_topk_per_video(
    topk_classes, *, noise: bool, difficulty: int = 1
) -> np.ndarray:
    """Per-video top-5 distance from stored top-k classes (videos x frames x k, k >= 5, best first).

    Only each frame's top-5 matters: a reference top-5 class outside the current top-5 has its
    new rank capped at 6, exactly as in the reference code.
    """
    topk = int_array(topk_classes, "topk_classes", ndim=3)
    if topk.shape[2] < TOP:
        raise UserError(
            f"topk_classes: expected at least {TOP} classes per frame, got shape {topk.shape}"
        )
    top5 = topk[:, :, :TOP]
    ordered = np.sort(top5, axis=2)
    if (ordered[:, :, 1:] == ordered[:, :, :-1]).any():
        raise UserError("topk_classes: a frame lists the same class twice in its top-5")
    reference, current = _frame_pairs(top5, noise, difficulty, "topk_classes")
    return _pair_top5_distance(reference, current).mean(axis=1)


def top5_distance_from_topk(topk_classes, *, noise: bool, difficulty: int = 1) -> float:
    """Top-5 distance T5D from stored top-k classes; identical to :func:`top5_distance` on the
    logits they came from."""
    return float(
        top5_distance_from_topk_per_video(topk_classes, noise=noise, difficulty=difficulty).mean()
    )


def top5_distance_per_video(logits, *, noise: bool, difficulty: int = 1) -> np.ndarray:
    """Per-video top-5 distance; ``logits`` is float (videos x frames x classes), classes >= 5."""
    x = np.asarray(logits)
    if x.ndim != 3:
        raise UserError(f"logits: expected videos x frames x classes, got shape {x.shape}")
    return top5_distance_from_topk_per_video(top5_classes(x), noise=noise, difficulty=difficulty)


def top5_distance(logits, *, noise: bool, difficulty: int = 1) -> float:
    """Hendrycks' top-5 distance: for each of the reference frame's top-5 classes (rank k,
    0-based), |k - min(new_rank - 1, 5)| summed over k = 0..4; per-video mean over comparisons,
    then equal-weight mean over videos. Ranks are ordinal (ties broken by class index)."""
    return float(top5_distance_per_video(logits, noise=noise, difficulty=difficulty).mean())


def mfr(
    flip_probabilities: Mapping[str, float], baseline: Mapping[str, float] | None
) -> float | np.ndarray:
    """Mean flip rate: mean over the given perturbations of FP / FP_baseline. Each FP may be an
    array over replicates (one mFR per replicate)."""
    return _mean_ratio(flip_probabilities, baseline, "flip_probabilities", "mFR")


def mt5d(
    top5_distances: Mapping[str, float], baseline: Mapping[str, float] | None
) -> float | np.ndarray:
    """Mean top-5 distance: mean over the given perturbations of T5D / T5D_baseline. Each T5D
    may be an array over replicates (one mT5D per replicate)."""
    return _mean_ratio(top5_distances, baseline, "top5_distances", "mT5D")


def _frame_pairs(frames: np.ndarray, noise: bool, difficulty: int, what: str):
    """(reference, current) frame arrays of every comparison, videos x comparisons x ..."""
    if not isinstance(difficulty, (int, np.integer)) or difficulty not in DIFFICULTIES:
        raise UserError(f"difficulty: expected one of {DIFFICULTIES}, got {difficulty!r}")
    stride = 1 if noise else int(difficulty)
    if frames.shape[1] <= stride:
        raise UserError(
            f"{what}: expected more than {stride} frame(s) per video, got shape {frames.shape}"
        )
    if noise:
        return frames[:, :1], frames[:, 1:]
    return frames[:, :-stride], frames[:, stride:]


def _pair_top5_distance(reference: np.ndarray, current: np.ndarray) -> np.ndarray:
    """sum_k |k - min(rank of reference class k in current - 1, 5)| over the last axis (k < 5)."""
    match = reference[..., :, None] == current[..., None, :]
    new_rank = np.where(match.any(axis=-1), match.argmax(axis=-1), TOP)
    return np.abs(new_rank - np.arange(TOP)).sum(axis=-1)


def _mean_ratio(values: Mapping[str, float], baseline, what: str, metric: str):
    if baseline is None:
        raise UserError(
            f"{metric} needs a baseline: AlexNet's ImageNet-P values are not published in a form "
            "that can be shipped; score a reference model (e.g. torchvision AlexNet) on the same "
            "data and pass its values, or report the unnormalised mean instead"
        )
    if not isinstance(values, Mapping) or not values:
        raise UserError(f"{what}: expected a non-empty mapping perturbation name -> value")
    if not isinstance(baseline, Mapping):
        raise UserError(
            "baseline: expected a mapping perturbation name -> value, "
            f"got {type(baseline).__name__}"
        )
    require_names(baseline, values, f"baseline for {metric}")
    ratios = []
    for name in values:
        value = float_array(values[name], f"{what}[{name!r}]", ndim=0, replicates=True)
        if (value < 0).any():
            raise UserError(f"{what}[{name!r}]: expected a value >= 0, got {np.min(value)!r}")
        base = float(float_array(baseline[name], f"baseline[{name!r}]", ndim=0))
        ratios.append(value / positive(base, f"baseline[{name!r}]"))
    if len({ratio.shape for ratio in ratios}) > 1:
        raise UserError(f"{what}: expected one shape for every perturbation")
    return mean_over_names(ratios)
