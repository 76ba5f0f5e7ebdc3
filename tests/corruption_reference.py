"""Shared helpers for the corruption fidelity tests: reference arrays, statistics, PSNR.

The reference outputs live in ``tests/data/corruptions`` (see README.md and SUBSET.md there):
``c{size}.npz`` holds uint8 HWC arrays, ``c{size}_stats.json`` the statistics over 8 seeds.
Everything here returns torch uint8 N x C x H x W tensors (or plain floats) so tests compare
like with like.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

DATA = Path(__file__).parent / "data" / "corruptions"
SIZES = (32, 64, 224)
PRESET_OF_SIZE = {32: "cifar", 64: "tinyimagenet", 224: "imagenet"}
IMAGES = ("astronaut", "chelsea")


@lru_cache(maxsize=None)
def reference_npz(size: int) -> dict:
    """All arrays of ``c{size}.npz`` (or ``p32.npz`` for size ``"p32"``) as a dict of numpy arrays."""
    name = f"{size}.npz" if isinstance(size, str) else f"c{size}.npz"
    with np.load(DATA / name) as z:
        return {k: z[k] for k in z.files}


@lru_cache(maxsize=None)
def reference_stats(size: int) -> dict:
    """The parsed ``c{size}_stats.json`` (or ``p32_stats.json`` for ``"p32"``)."""
    name = f"{size}_stats.json" if isinstance(size, str) else f"c{size}_stats.json"
    return json.loads((DATA / name).read_text())


def to_nchw(hwc: np.ndarray) -> torch.Tensor:
    """uint8 ... x H x W x C numpy array -> uint8 ... x C x H x W tensor."""
    return torch.from_numpy(np.ascontiguousarray(np.moveaxis(hwc, -1, -3)))


def clean(size: int, image: str = "astronaut") -> torch.Tensor:
    """The clean input image as a uint8 1 x 3 x S x S tensor."""
    return to_nchw(reference_npz(size)[f"clean__{image}"])[None]


def stored_severities(size: int, kind: str) -> tuple[int, ...]:
    """Severities present (in index order) for ``kind`` 'det' or 'rnd' at ``size`` (SUBSET.md)."""
    if size == 224:
        return (1, 3, 5) if kind == "det" else (1, 5)
    return (1, 2, 3, 4, 5)


def stored_images(size: int, kind: str) -> tuple[str, ...]:
    """Images whose ``kind`` ('det' or 'rnd') outputs are stored at ``size`` (224: astronaut only)."""
    return ("astronaut",) if size == 224 else IMAGES


def deterministic(size: int, corruption: str, severity: int,
                  image: str = "astronaut") -> torch.Tensor:
    """Reference output of a deterministic corruption as uint8 1 x 3 x S x S."""
    arr = reference_npz(size)[f"det__{image}__{corruption}"]
    return to_nchw(arr[stored_severities(size, "det").index(severity)])[None]


def random_outputs(size: int, corruption: str, severity: int,
                   image: str = "astronaut") -> torch.Tensor:
    """Stored reference outputs (one per stored seed) of a random corruption: uint8 K x 3 x S x S."""
    arr = reference_npz(size)[f"rnd__{image}__{corruption}"]
    return to_nchw(arr[stored_severities(size, "rnd").index(severity)])


def has_random(size: int, corruption: str, severity: int, image: str = "astronaut") -> bool:
    """Whether stored random outputs exist for this (size, corruption, severity, image)."""
    key = f"rnd__{image}__{corruption}"
    return key in reference_npz(size) and severity in stored_severities(size, "rnd")


def stats(size: int, corruption: str, severity: int, image: str = "astronaut") -> dict:
    """The reference statistics entry for one image, corruption and severity.

    PSNR values stored as the string ``"inf"`` are returned as ``float('inf')``.
    """
    entry = reference_stats(size)["stats"][image][corruption][str(severity)]
    return {k: _floats(v) for k, v in entry.items()}


def _floats(v):
    if isinstance(v, str) and v in ("inf", "-inf", "nan"):
        return float(v)
    if isinstance(v, list):
        return [_floats(u) for u in v]
    return v


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    """PSNR in dB between two uint8 arrays/tensors (float64, MSE over all values; inf if equal)."""
    a = torch.as_tensor(a).double()
    b = torch.as_tensor(b).double()
    mse = float(((a - b) ** 2).mean())
    return float("inf") if mse == 0 else float(10.0 * np.log10(255.0 ** 2 / mse))


def exact_class_report(ours: torch.Tensor, ref: torch.Tensor) -> dict:
    """Max abs diff, fraction of identical values, mean abs diff and PSNR of two uint8 tensors."""
    d = (ours.to(torch.int16) - ref.to(torch.int16)).abs()
    return {
        "max": int(d.max()),
        "identical": float((d == 0).double().mean()),
        "mean": float(d.double().mean()),
        "psnr": psnr(ours, ref),
    }


def assert_exact(ours: torch.Tensor, ref: torch.Tensor, what: str) -> None:
    """CORRUPTIONS.md §5.2 exact bar: max abs diff <= 1 and >= 99.9 % identical values."""
    r = exact_class_report(ours, ref)
    assert r["max"] <= 1 and r["identical"] >= 0.999, f"{what}: {r}"


def assert_relaxed(ours: torch.Tensor, ref: torch.Tensor, what: str) -> None:
    """CORRUPTIONS.md §5.2 relaxed bar (different resampler): max <= 2, mean <= .25, PSNR >= 45."""
    r = exact_class_report(ours, ref)
    assert r["max"] <= 2 and r["mean"] <= 0.25 and r["psnr"] >= 45.0, f"{what}: {r}"


def assert_statistical(outs: torch.Tensor, clean_img: torch.Tensor, size: int, corruption: str,
                       severity: int, image: str = "astronaut") -> None:
    """CORRUPTIONS.md §5.2 statistical bars (a) and (b) for outputs of >= 8 seeds (K x 3 x S x S).

    (a) mean PSNR-vs-clean within max(0.3 dB, 3 sigma_ref) of the reference mean;
    (b) PSNR of our seed-0 output vs each stored reference output inside the reference's
        seed-to-seed range widened by 1 dB.
    """
    st = stats(size, corruption, severity, image)
    vs_clean = [psnr(o, clean_img[0]) for o in outs]
    ours_mean = float(np.mean(vs_clean))
    tol = max(0.3, 3 * st["psnr_vs_clean_std"])
    assert abs(ours_mean - st["psnr_vs_clean_mean"]) <= tol, (
        f"{corruption} {size}px sev {severity} {image}: mean PSNR vs clean {ours_mean:.3f} dB, "
        f"reference {st['psnr_vs_clean_mean']:.3f} ± {tol:.3f}")
    if has_random(size, corruption, severity, image):
        lo, hi = st["seed_pair_psnr_min"] - 1.0, st["seed_pair_psnr_max"] + 1.0
        for k, ref in enumerate(random_outputs(size, corruption, severity, image)):
            p = psnr(outs[0], ref)
            assert lo <= p <= hi, (
                f"{corruption} {size}px sev {severity} {image}: PSNR vs reference seed {k} "
                f"{p:.3f} dB outside [{lo:.3f}, {hi:.3f}]")


def noise_moments(outs: torch.Tensor, clean_img: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and std of (out - clean) over all outputs and pixels (float64)."""
    d = outs.double() - clean_img.double()
    d = d.transpose(0, 1).reshape(d.shape[1], -1)
    return d.mean(1).numpy(), d.std(1).numpy()
