"""``cutmix`` (Yun et al., ICCV 2019; ``clovaai/CutMix-PyTorch``), batch-wise.

With probability ``prob`` per batch: ``lam ~ Beta(beta, beta)``, a box of side ratio
``sqrt(1 - lam)`` (``int(W r) x int(H r)``) centred uniformly in the image and clipped to it is
pasted from a random-permutation partner; ``lam`` is then corrected to
``1 - box area / image area`` (timm/torchvision ``correct_lam``) and the loss is the soft-target
cross-entropy ``lam * CE(y) + (1 - lam) * CE(y[perm])``. Otherwise plain cross-entropy.
beta = 1; prob 0.5 at CIFAR scale, 1.0 at ImageNet scale (AUGMENTATIONS.md §3).
"""

from __future__ import annotations

import math

import torch

from robustbench_dm.methods.base import POSITIVE, PROBABILITY, LossOutput, Method
from robustbench_dm.methods.base_transform import to_float
from robustbench_dm.methods.mixup import MixedBatch, mixed_cross_entropy, random_partner
from robustbench_dm.methods.registry import register_method
from robustbench_dm.methods.sampling import sample_beta


def cutmix_box(lam: float, height: int, width: int, cy: int, cx: int) -> tuple[int, int, int, int]:
    """The clipped box ``(y1, y2, x1, x2)`` for weight ``lam`` centred at ``(cy, cx)``, as
    clovaai ``rand_bbox``: half sizes ``int(W sqrt(1 - lam)) // 2``."""
    r = math.sqrt(1.0 - lam)
    cut_h, cut_w = int(height * r), int(width * r)
    y1, y2 = min(max(cy - cut_h // 2, 0), height), min(max(cy + cut_h // 2, 0), height)
    x1, x2 = min(max(cx - cut_w // 2, 0), width), min(max(cx + cut_w // 2, 0), width)
    return y1, y2, x1, x2


@register_method
class CutMix(Method):
    """CutMix with the box-area-corrected lambda and a random-permutation partner."""

    name = "cutmix"
    description = "CutMix, beta 1, prob 0.5 (1.0 ImageNet), lambda corrected to the box area"
    defaults = {"beta": 1.0, "prob": 0.5}
    imagenet_defaults = {"prob": 1.0}
    checks = {"beta": POSITIVE, "prob": PROBABILITY}

    def augment(self, images_uint8, targets, generator) -> MixedBatch:
        x = self.base_transform(images_uint8, generator)
        n, _, h, w = x.shape
        apply = float(torch.rand(1, generator=generator, device=generator.device)) < self.opts["prob"]
        if not apply:
            return MixedBatch(to_float(x), targets, targets, 1.0)
        beta = self.opts["beta"]
        lam = float(sample_beta(beta, beta, (1,), generator)[0])
        centre = torch.randint(0, h * w, (1,), generator=generator, device=generator.device)
        cy, cx = divmod(int(centre), w)
        y1, y2, x1, x2 = cutmix_box(lam, h, w, cy, cx)
        perm = random_partner(n, generator, x.device)
        x = x.clone()
        x[:, :, y1:y2, x1:x2] = x[perm, :, y1:y2, x1:x2]
        lam = 1.0 - (y2 - y1) * (x2 - x1) / (h * w)
        return MixedBatch(to_float(x), targets, targets[perm], lam)

    def loss(self, model, images_uint8, targets, generator) -> LossOutput:
        batch = self.augment(images_uint8, targets, generator)
        logits = model(batch.images)
        return LossOutput(mixed_cross_entropy(logits, batch), logits, targets)


__all__ = ["CutMix", "cutmix_box"]
