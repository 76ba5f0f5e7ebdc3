"""Name -> kernel registries for corruptions and perturbation sequences.

A corruption kernel has the signature ``fn(images, severity, preset, generator) -> images``:
``images`` is a uint8 N x C x H x W tensor, ``severity`` an int in 1..5, ``preset`` an already
resolved preset name (``imagenet``, ``tinyimagenet`` or ``cifar``) and ``generator`` a
``torch.Generator`` on the images' device (or ``None`` for deterministic kernels).
A sequence kernel has the signature ``fn(images, difficulty, preset, generator) -> videos``
with videos uint8 N x T x C x H x W.
Kernels of other packages register through the entry-point groups ``corruptions.corruptions``
and ``corruptions.sequences``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from corruptions._registry import Registry

CorruptionFn = Callable[[torch.Tensor, int, str, "torch.Generator | None"], torch.Tensor]

CORRUPTION_KERNELS: Registry[CorruptionFn] = Registry("corruption", group="corruptions.corruptions")
SEQUENCE_KERNELS: Registry[CorruptionFn] = Registry("perturbation", group="corruptions.sequences")
# The built-in kernels by name (tests patch these mappings).
_CORRUPTIONS = CORRUPTION_KERNELS.objects
_SEQUENCES = SEQUENCE_KERNELS.objects


def register_corruption(name: str) -> Callable[[CorruptionFn], CorruptionFn]:
    """Decorator registering a corruption kernel under ``name``."""
    return CORRUPTION_KERNELS.register(name)


def register_sequence(name: str) -> Callable[[CorruptionFn], CorruptionFn]:
    """Decorator registering a perturbation-sequence kernel under ``name``."""
    return SEQUENCE_KERNELS.register(name)


def corruption_kernel(name: str) -> CorruptionFn:
    """Return the registered kernel for ``name`` or raise a ``ValueError`` naming the closest."""
    return CORRUPTION_KERNELS.get(name)


def sequence_kernel(name: str) -> CorruptionFn:
    """Return the registered sequence kernel for ``name`` or raise a ``ValueError``."""
    return SEQUENCE_KERNELS.get(name)


def registered_corruptions(filter: str | None = None) -> list[str]:
    """Names of the registered corruption kernels (``fnmatch`` ``filter``, e.g. ``"*_noise"``)."""
    return CORRUPTION_KERNELS.list(filter)
