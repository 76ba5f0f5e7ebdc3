"""``standard``: the base transform (random crop with 4 px padding + horizontal flip at CIFAR
scale; flip only at ImageNet scale) and cross-entropy."""

from __future__ import annotations

from robustbench_dm.methods.base import Method
from robustbench_dm.methods.registry import register_method


@register_method
class Standard(Method):
    """Standard training: base transform + cross-entropy (AugMix's "Standard" baseline)."""

    name = "standard"
    description = "random crop (pad 4) + horizontal flip, cross-entropy"


__all__ = ["Standard"]
