"""``mixup`` (Zhang et al., ICLR 2018; ``facebookresearch/mixup-cifar10``), batch-wise.

After the base transform: one ``lam ~ Beta(alpha, alpha)`` per batch, a random permutation
partner, ``x = lam * x + (1 - lam) * x[perm]`` in [0, 1] float space, and the soft-target
cross-entropy ``lam * CE(f(x), y) + (1 - lam) * CE(f(x), y[perm])`` (identical to CE against
the mixed one-hot targets). alpha = 1 at CIFAR scale, 0.2 at ImageNet scale (AUGMENTATIONS.md §3).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F

from robustbench_dm.methods.base import POSITIVE, LossOutput, Method
from robustbench_dm.methods.base_transform import to_float
from robustbench_dm.methods.registry import register_method
from robustbench_dm.methods.sampling import sample_beta


class MixedBatch(NamedTuple):
    """A label-mixing batch: model input, both target sets and the weight of ``targets``."""

    images: torch.Tensor  # float [0, 1] NCHW
    targets: torch.Tensor  # int64 (N,)
    partner_targets: torch.Tensor  # int64 (N,)
    lam: float


def mixed_cross_entropy(logits: torch.Tensor, batch: MixedBatch) -> torch.Tensor:
    """``lam * CE(logits, targets) + (1 - lam) * CE(logits, partner_targets)``."""
    logits = logits.float()
    return batch.lam * F.cross_entropy(logits, batch.targets) + (1.0 - batch.lam) * (
        F.cross_entropy(logits, batch.partner_targets)
    )


def random_partner(n: int, generator: torch.Generator, device) -> torch.Tensor:
    """A random permutation of the batch (the partner of each sample)."""
    return torch.randperm(n, generator=generator, device=generator.device).to(device)


@register_method
class Mixup(Method):
    """Mixup with one Beta(alpha, alpha) weight per batch and a random-permutation partner."""

    name = "mixup"
    description = "Mixup, batch-wise Beta(alpha, alpha), soft-target CE (alpha 1 / 0.2 ImageNet)"
    defaults = {"alpha": 1.0}
    imagenet_defaults = {"alpha": 0.2}
    checks = {"alpha": POSITIVE}

    def augment(self, images_uint8, targets, generator) -> MixedBatch:
        x = to_float(self.base_transform(images_uint8, generator))
        lam = float(sample_beta(self.opts["alpha"], self.opts["alpha"], (1,), generator)[0])
        perm = random_partner(x.shape[0], generator, x.device)
        mixed = lam * x + (1.0 - lam) * x[perm]
        return MixedBatch(mixed, targets, targets[perm], lam)

    def loss(self, model, images_uint8, targets, generator) -> LossOutput:
        batch = self.augment(images_uint8, targets, generator)
        logits = model(batch.images)
        return LossOutput(mixed_cross_entropy(logits, batch), logits, targets)


__all__ = ["MixedBatch", "Mixup", "mixed_cross_entropy", "random_partner"]
