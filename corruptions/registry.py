"""Name -> kernel registries for corruptions and perturbation sequences.

A corruption kernel has the signature ``fn(images, severity, preset, generator) -> images``:
``images`` is a uint8 N x C x H x W tensor, ``severity`` an int in 1..5, ``preset`` an already
resolved preset name (``imagenet``, ``tinyimagenet`` or ``cifar``) and ``generator`` a
``torch.Generator`` on the images' device (or ``None`` for deterministic kernels).
A sequence kernel has the signature ``fn(images, difficulty, preset, generator) -> videos``
with videos uint8 N x T x C x H x W.
"""

from __future__ import annotations

from typing import Callable, Dict

import torch

CorruptionFn = Callable[[torch.Tensor, int, str, "torch.Generator | None"], torch.Tensor]

_CORRUPTIONS: Dict[str, CorruptionFn] = {}
_SEQUENCES: Dict[str, CorruptionFn] = {}


def register_corruption(name: str) -> Callable[[CorruptionFn], CorruptionFn]:
    """Decorator registering a corruption kernel under ``name``."""

    def wrap(fn: CorruptionFn) -> CorruptionFn:
        if name in _CORRUPTIONS:
            raise ValueError(f"corruption {name!r} registered twice")
        _CORRUPTIONS[name] = fn
        return fn

    return wrap


def register_sequence(name: str) -> Callable[[CorruptionFn], CorruptionFn]:
    """Decorator registering a perturbation-sequence kernel under ``name``."""

    def wrap(fn: CorruptionFn) -> CorruptionFn:
        if name in _SEQUENCES:
            raise ValueError(f"sequence {name!r} registered twice")
        _SEQUENCES[name] = fn
        return fn

    return wrap


def corruption_kernel(name: str) -> CorruptionFn:
    """Return the registered kernel for ``name`` or raise a clear ``ValueError``."""
    try:
        return _CORRUPTIONS[name]
    except KeyError:
        known = ", ".join(sorted(_CORRUPTIONS)) or "none"
        raise ValueError(f"unknown corruption {name!r}; expected one of: {known}") from None


def sequence_kernel(name: str) -> CorruptionFn:
    """Return the registered sequence kernel for ``name`` or raise a clear ``ValueError``."""
    try:
        return _SEQUENCES[name]
    except KeyError:
        known = ", ".join(sorted(_SEQUENCES)) or "none"
        raise ValueError(f"unknown perturbation {name!r}; expected one of: {known}") from None


def registered_corruptions() -> list[str]:
    return list(_CORRUPTIONS)


def registered_sequences() -> list[str]:
    return list(_SEQUENCES)
