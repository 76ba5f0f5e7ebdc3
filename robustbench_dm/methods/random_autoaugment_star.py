"""``random_autoaugment_star`` (Random AutoAugment*, AugMix paper Table 4): per image, 1 to 3
operations drawn uniformly with replacement from AugMix's 9-operation list (the AA* set without
Invert), each with AugMix's level ``L ~ U(0.1, severity)``; no mixing, no JSD
(AUGMENTATIONS.md §2, project choice). Severity 3 at CIFAR scale, 1 at ImageNet scale."""

from __future__ import annotations

import torch

from robustbench_dm.methods.base import Method
from robustbench_dm.methods.base_transform import to_float
from robustbench_dm.methods.ops import AUGMIX_OPS, apply_ops, sample_levels, sample_signs
from robustbench_dm.methods.registry import register_method

MAX_OPS = 3


def random_ops(
    images: torch.Tensor, severity: float, generator: torch.Generator, fill: float = 0.0
) -> torch.Tensor:
    """Apply 1..3 random AugMix operations per image (uint8 NCHW -> uint8 NCHW)."""
    n = images.shape[0]
    dev = generator.device
    count = torch.randint(1, MAX_OPS + 1, (n,), generator=generator, device=dev)
    for step in range(MAX_OPS):
        ids = torch.randint(0, len(AUGMIX_OPS), (n,), generator=generator, device=dev)
        ids = torch.where(count > step, ids, -1)
        levels, signs = sample_levels(n, severity, generator), sample_signs(n, generator)
        images = apply_ops(images, ids, levels, signs, AUGMIX_OPS, fill=fill)
    return images


@register_method
class RandomAutoAugmentStar(Method):
    """Random AutoAugment*: base transform, 1-3 uniform AugMix operations, cross-entropy."""

    name = "random_autoaugment_star"
    description = "1-3 random ops from AugMix's 9 (AA* set), level U(0.1, severity), CE"
    defaults = {"severity": 3.0, "fill": 0.0}
    imagenet_defaults = {"severity": 1.0}

    def check_options(self) -> None:
        self._require(0.1 <= self.opts["severity"] <= 10, "severity", "a level in [0.1, 10]")

    def augment(self, images_uint8, targets, generator):
        x = self.base_transform(images_uint8, generator)
        return to_float(random_ops(x, self.opts["severity"], generator, self.opts["fill"]))


__all__ = ["RandomAutoAugmentStar", "random_ops"]
