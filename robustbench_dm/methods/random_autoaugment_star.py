"""``random_autoaugment_star`` (Random AutoAugment*, AugMix paper Table 4): per image, 1 to 3
operations drawn uniformly with replacement from AugMix's 9-operation list (the AA* set without
Invert), each with AugMix's level ``L ~ U(0.1, severity)``; no mixing, no JSD
(AUGMENTATIONS.md §2, project choice). Severity 3 at CIFAR scale, 1 at ImageNet scale."""

from __future__ import annotations


from robustbench_dm.methods.base import LEVEL, Method
from robustbench_dm.methods.base_transform import to_float
from robustbench_dm.methods.ops import AUGMIX_OPS, random_op_chain
from robustbench_dm.methods.registry import register_method

MAX_OPS = 3


@register_method
class RandomAutoAugmentStar(Method):
    """Random AutoAugment*: base transform, 1-3 uniform AugMix operations, cross-entropy."""

    name = "random_autoaugment_star"
    description = "1-3 random ops from AugMix's 9 (AA* set), level U(0.1, severity), CE"
    defaults = {"severity": 3.0, "fill": 0.0}
    imagenet_defaults = {"severity": 1.0}
    checks = {"severity": LEVEL}

    def augment(self, images_uint8, targets, generator):
        x = self.base_transform(images_uint8, generator)
        chains = random_op_chain(
            x, AUGMIX_OPS, MAX_OPS, generator, severity=self.opts["severity"], fill=self.opts["fill"]
        )
        return to_float(chains)


__all__ = ["RandomAutoAugmentStar"]
