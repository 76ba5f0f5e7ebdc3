"""``autoaugment_star`` (AutoAugment*): AutoAugment's learned policy (Cubuk et al., CVPR 2019)
with every operation that overlaps the test corruptions removed, as AugMix's baseline
(AUGMENTATIONS.md §2).

Removed: Contrast, Color, Brightness, Sharpness and Cutout (AugMix paper §3), and also Invert
(AugMix's 9-operation list drops it; no source says whether AugMix's AA* kept it - we exclude it).
A removed operation is deleted from its sub-policy; the sub-policy keeps its other operation, and
a sub-policy left empty applies nothing (the policy is otherwise unchanged: 25 sub-policies,
drawn uniformly per image).

Policies: the CIFAR-10 policy at CIFAR scale, the ImageNet policy at ImageNet scale, with the
magnitude bins of torchvision ``v2.AutoAugment`` (10 bins, symmetric operations get a random
sign). Affine operations are bilinear with black fill, as the AugMix operations.
"""

from __future__ import annotations

import torch

from robustbench_dm.methods import functional as K
from robustbench_dm.methods.base import Method
from robustbench_dm.methods.base_transform import to_float
from robustbench_dm.methods.ops import Op, apply_ops, sample_signs
from robustbench_dm.methods.registry import register_method

REMOVED_OPS = ("Contrast", "Color", "Brightness", "Sharpness", "Cutout", "Invert")

# (operation, probability, magnitude bin) pairs; torchvision 0.29 ``AutoAugment._get_policies``.
AUTOAUGMENT_POLICIES: dict[str, tuple[tuple[tuple[str, float, int | None], ...], ...]] = {
    "imagenet": (
        (("Posterize", 0.4, 8), ("Rotate", 0.6, 9)),
        (("Solarize", 0.6, 5), ("AutoContrast", 0.6, None)),
        (("Equalize", 0.8, None), ("Equalize", 0.6, None)),
        (("Posterize", 0.6, 7), ("Posterize", 0.6, 6)),
        (("Equalize", 0.4, None), ("Solarize", 0.2, 4)),
        (("Equalize", 0.4, None), ("Rotate", 0.8, 8)),
        (("Solarize", 0.6, 3), ("Equalize", 0.6, None)),
        (("Posterize", 0.8, 5), ("Equalize", 1.0, None)),
        (("Rotate", 0.2, 3), ("Solarize", 0.6, 8)),
        (("Equalize", 0.6, None), ("Posterize", 0.4, 6)),
        (("Rotate", 0.8, 8), ("Color", 0.4, 0)),
        (("Rotate", 0.4, 9), ("Equalize", 0.6, None)),
        (("Equalize", 0.0, None), ("Equalize", 0.8, None)),
        (("Invert", 0.6, None), ("Equalize", 1.0, None)),
        (("Color", 0.6, 4), ("Contrast", 1.0, 8)),
        (("Rotate", 0.8, 8), ("Color", 1.0, 2)),
        (("Color", 0.8, 8), ("Solarize", 0.8, 7)),
        (("Sharpness", 0.4, 7), ("Invert", 0.6, None)),
        (("ShearX", 0.6, 5), ("Equalize", 1.0, None)),
        (("Color", 0.4, 0), ("Equalize", 0.6, None)),
        (("Equalize", 0.4, None), ("Solarize", 0.2, 4)),
        (("Solarize", 0.6, 5), ("AutoContrast", 0.6, None)),
        (("Invert", 0.6, None), ("Equalize", 1.0, None)),
        (("Color", 0.6, 4), ("Contrast", 1.0, 8)),
        (("Equalize", 0.8, None), ("Equalize", 0.6, None)),
    ),
    "cifar": (
        (("Invert", 0.1, None), ("Contrast", 0.2, 6)),
        (("Rotate", 0.7, 2), ("TranslateX", 0.3, 9)),
        (("Sharpness", 0.8, 1), ("Sharpness", 0.9, 3)),
        (("ShearY", 0.5, 8), ("TranslateY", 0.7, 9)),
        (("AutoContrast", 0.5, None), ("Equalize", 0.9, None)),
        (("ShearY", 0.2, 7), ("Posterize", 0.3, 7)),
        (("Color", 0.4, 3), ("Brightness", 0.6, 7)),
        (("Sharpness", 0.3, 9), ("Brightness", 0.7, 9)),
        (("Equalize", 0.6, None), ("Equalize", 0.5, None)),
        (("Contrast", 0.6, 7), ("Sharpness", 0.6, 5)),
        (("Color", 0.7, 7), ("TranslateX", 0.5, 8)),
        (("Equalize", 0.3, None), ("AutoContrast", 0.4, None)),
        (("TranslateY", 0.4, 3), ("Sharpness", 0.2, 6)),
        (("Brightness", 0.9, 6), ("Color", 0.2, 8)),
        (("Solarize", 0.5, 2), ("Invert", 0.0, None)),
        (("Equalize", 0.2, None), ("AutoContrast", 0.6, None)),
        (("Equalize", 0.2, None), ("Equalize", 0.6, None)),
        (("Color", 0.9, 9), ("Equalize", 0.6, None)),
        (("AutoContrast", 0.8, None), ("Solarize", 0.2, 8)),
        (("Brightness", 0.1, 3), ("Color", 0.7, 0)),
        (("Solarize", 0.4, 5), ("AutoContrast", 0.9, None)),
        (("TranslateY", 0.9, 9), ("TranslateY", 0.7, 9)),
        (("AutoContrast", 0.9, None), ("Solarize", 0.8, 3)),
        (("Equalize", 0.8, None), ("Invert", 0.1, None)),
        (("TranslateY", 0.7, 9), ("AutoContrast", 0.9, None)),
    ),
}

_BINS = 10


def _bin(levels: torch.Tensor, top: float) -> torch.Tensor:
    """Value of magnitude bin ``levels`` in ``linspace(0, top, 10)``."""
    return levels.double() * top / (_BINS - 1)


# The surviving AutoAugment operations; ``levels`` carries the magnitude bin (0..9).
AUTOAUGMENT_STAR_OPS: tuple[Op, ...] = (
    Op("ShearX", matrix=lambda lv, s, h, w: K.shear_x_matrices(_bin(lv, 0.3) * s)),
    Op("ShearY", matrix=lambda lv, s, h, w: K.shear_y_matrices(_bin(lv, 0.3) * s)),
    Op(
        "TranslateX",
        matrix=lambda lv, s, h, w: K.translate_x_matrices(_bin(lv, 150.0 / 331.0 * w).trunc() * s),
    ),
    Op(
        "TranslateY",
        matrix=lambda lv, s, h, w: K.translate_y_matrices(_bin(lv, 150.0 / 331.0 * h).trunc() * s),
    ),
    Op("Rotate", matrix=lambda lv, s, h, w: K.rotate_matrices(_bin(lv, 30.0) * s, h, w)),
    Op(
        "Posterize",
        kernel=lambda x, lv, s: K.posterize_image(x, (8 - lv.double() / ((_BINS - 1) / 4)).round()),
    ),
    Op("Solarize", kernel=lambda x, lv, s: K.solarize_image(x, 255.0 * (1 - _bin(lv, 1.0)))),
    Op("AutoContrast", kernel=lambda x, lv, s: K.autocontrast_image(x)),
    Op("Equalize", kernel=lambda x, lv, s: K.equalize_image(x)),
)
_OP_INDEX = {op.name: k for k, op in enumerate(AUTOAUGMENT_STAR_OPS)}


def star_policy(scale: str) -> tuple[tuple[tuple[str, float, int | None], ...], ...]:
    """AutoAugment's policy at ``scale`` with the removed operations deleted from each
    sub-policy."""
    return tuple(
        tuple(op for op in sub if op[0] not in REMOVED_OPS) for sub in AUTOAUGMENT_POLICIES[scale]
    )


def _policy_tables(scale: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(op index, probability, magnitude)`` tables of shape ``(sub-policies, 2)``; a deleted
    slot has op index -1."""
    policy = star_policy(scale)
    ids = torch.full((len(policy), 2), -1, dtype=torch.int64)
    probs = torch.zeros(len(policy), 2, dtype=torch.float64)
    mags = torch.zeros(len(policy), 2, dtype=torch.float64)
    for i, sub in enumerate(policy):
        for j, (op, prob, mag) in enumerate(sub):
            ids[i, j], probs[i, j], mags[i, j] = _OP_INDEX[op], prob, mag or 0
    return ids, probs, mags


def autoaugment_star(images: torch.Tensor, scale: str, generator: torch.Generator) -> torch.Tensor:
    """Apply one uniformly drawn AA* sub-policy per image (uint8 NCHW -> uint8 NCHW)."""
    ids, probs, mags = (t.to(generator.device) for t in _policy_tables(scale))
    n = images.shape[0]
    dev = generator.device
    sub = torch.randint(0, ids.shape[0], (n,), generator=generator, device=dev)
    for slot in range(2):
        apply = torch.rand(n, generator=generator, device=dev, dtype=torch.float64) < probs[sub, slot]
        op_ids = torch.where(apply, ids[sub, slot], -1)
        signs = sample_signs(n, generator)
        images = apply_ops(images, op_ids, mags[sub, slot], signs, AUTOAUGMENT_STAR_OPS)
    return images


@register_method
class AutoAugmentStar(Method):
    """AutoAugment* (see the module docstring): base transform, one AA* sub-policy per image,
    cross-entropy. Contrast, Color, Brightness, Sharpness, Cutout and Invert are removed."""

    name = "autoaugment_star"
    description = (
        "AutoAugment policy without contrast/color/brightness/sharpness/cutout/invert, CE"
    )

    def augment(self, images_uint8, targets, generator):
        x = self.base_transform(images_uint8, generator)
        return to_float(autoaugment_star(x, self.scale, generator))


__all__ = [
    "AUTOAUGMENT_POLICIES",
    "AUTOAUGMENT_STAR_OPS",
    "REMOVED_OPS",
    "AutoAugmentStar",
    "autoaugment_star",
    "star_policy",
]
