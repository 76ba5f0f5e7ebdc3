"""``dynmix``: Dynamic Mixup (Sanskriti et al., OpenReview YMHDeDTWbE), as resolved in
AUGMENTATIONS.md §5.3 (no public implementation exists).

Per mixed image, two chains (k = 2) start from the base-transformed image; each applies ``t1``
or ``t2 . t1`` (depth uniform in {1, 2}) with operations drawn uniformly with replacement from
{hflip, vflip, rotate, translate_x, translate_y, shear_x, shear_y, autocontrast, equalize,
solarize, posterize} (11 at CIFAR scale) plus ``downscale`` at ImageNet scale, AugMix level
scaling with ``L ~ U(0.1, severity)`` per application (severity 3 at CIFAR scale; 1 at ImageNet
scale, as AugMix ``imagenet.py``), affine operations bilinear with ``fill`` (0 as the AugMix
repository). The chain outputs X1, X2 are mixed in [0, 1] pixel space, before normalisation:

    X = m1 X1 + m2 X2 + m1 m2 (X1 - X2), clamped to [0, 1]

The paper is ambiguous about the weights. ``weights="complementary"`` (default): one draw
``m ~ Beta(alpha, alpha)``, ``m1 = m``, ``m2 = 1 - m``, so the coefficients ``1 - (1 - m)^2``
and ``(1 - m)^2`` sum to exactly 1 (the clamp is a no-op). ``weights="independent"``: ``m1``,
``m2`` drawn independently (the Interspeech 2024 reading); coefficients sum to ``m1 + m2`` and
the clamp matters.

Loss (AugMix convention): two mixed images with fresh chains and weights, plus the original, in
one forward pass; CE(original) + lam * JS(p_orig, p_mix1, p_mix2), lam = 12. Ablations of the
paper's Table 5: ``jsd=False`` (CE on one mixed image), ``linear_only`` (drop the
``m1 m2 (X1 - X2)`` term), ``single_sample_jsd`` (JS between the original and one mixed image).
"""

from __future__ import annotations

import torch

from robustbench_dm.methods.base import LEVEL, NON_NEGATIVE, POSITIVE
from robustbench_dm.methods.jsd import JSDMethod
from robustbench_dm.methods.ops import AUGMIX_OPS, DOWNSCALE_OP, FLIP_OPS, random_op_chain
from robustbench_dm.methods.registry import register_method
from robustbench_dm.methods.sampling import sample_beta

DYNMIX_OPS = {"cifar": FLIP_OPS + AUGMIX_OPS, "imagenet": FLIP_OPS + AUGMIX_OPS + (DOWNSCALE_OP,)}
CHAINS = 2
MAX_DEPTH = 2


def dynmix_mix(
    x1: torch.Tensor, x2: torch.Tensor, m1: torch.Tensor, m2: torch.Tensor, linear_only: bool = False
) -> torch.Tensor:
    """``clamp(m1 X1 + m2 X2 + m1 m2 (X1 - X2), 0, 1)`` for float [0, 1] batches ``x1``, ``x2``
    (N x C x H x W) and per-sample weights ``m1``, ``m2`` (N,); without the last term when
    ``linear_only``. Computed as ``m1 (1 + m2) X1 + m2 (1 - m1) X2``."""
    a, b = _coefficients(m1, m2, linear_only, x1)
    return _mix_into(torch.empty_like(x1), x1, x2, a, b)


def _coefficients(
    m1: torch.Tensor, m2: torch.Tensor, linear_only: bool, like: torch.Tensor, scale: float = 1.0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample ``(m1 (1 + m2), m2 (1 - m1))`` (or ``(m1, m2)`` when ``linear_only``), times
    ``scale``, shaped ``N x 1 x 1 x 1`` in ``like``'s float dtype and device."""
    dtype = like.dtype if like.is_floating_point() else torch.float32
    m1 = m1.to(device=like.device, dtype=dtype).view(-1, 1, 1, 1)
    m2 = m2.to(device=like.device, dtype=dtype).view(-1, 1, 1, 1)
    a, b = (m1, m2) if linear_only else (m1 * (1 + m2), m2 * (1 - m1))
    return a * scale, b * scale


def _mix_into(
    out: torch.Tensor, x1: torch.Tensor, x2: torch.Tensor, a: torch.Tensor, b: torch.Tensor
) -> torch.Tensor:
    """``out = clamp(a x1 + b x2, 0, 1)`` in one pass per term (``x1``/``x2`` float or uint8)."""
    torch.mul(x1, a, out=out)
    return out.addcmul_(x2, b).clamp_(0.0, 1.0)


def dynmix_weights(
    n: int, generator: torch.Generator, *, alpha: float = 1.0, weights: str = "complementary"
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(m1, m2)`` per sample: complementary (``m``, ``1 - m``) or two independent draws, from
    ``Beta(alpha, alpha)``."""
    m1 = sample_beta(alpha, alpha, (n,), generator)
    if weights == "complementary":
        return m1, 1.0 - m1
    return m1, sample_beta(alpha, alpha, (n,), generator)


def dynmix_chains(
    images: torch.Tensor,
    generator: torch.Generator,
    *,
    scale: str = "cifar",
    severity: float = 3.0,
    fill: float = 0.0,
) -> torch.Tensor:
    """One Dynamic Mixup chain per uint8 image: ``t1`` or ``t2 . t1`` (uint8 out)."""
    return random_op_chain(images, DYNMIX_OPS[scale], MAX_DEPTH, generator, severity=severity, fill=fill)


def dynmix_views(
    images: torch.Tensor,
    views: int,
    generator: torch.Generator,
    *,
    scale: str = "cifar",
    severity: float = 3.0,
    alpha: float = 1.0,
    weights: str = "complementary",
    linear_only: bool = False,
    fill: float = 0.0,
) -> torch.Tensor:
    """``views`` independent Dynamic Mixup images of each uint8 image: float [0, 1], shape
    ``(views * N) x C x H x W`` (view-major)."""
    out = torch.empty((views * images.shape[0], *images.shape[1:]), device=images.device)
    return _views_into(
        out,
        images,
        views,
        generator,
        scale=scale,
        severity=severity,
        alpha=alpha,
        weights=weights,
        linear_only=linear_only,
        fill=fill,
    )


def _views_into(
    out: torch.Tensor,
    images: torch.Tensor,
    views: int,
    generator: torch.Generator,
    *,
    scale: str,
    severity: float,
    alpha: float,
    weights: str,
    linear_only: bool,
    fill: float,
) -> torch.Tensor:
    """:func:`dynmix_views` written into ``out``: the uint8 chains are mixed straight into the
    float output with the 1/255 scaling folded into the coefficients (no float copies)."""
    n = images.shape[0]
    chains = dynmix_chains(
        images.repeat(views * CHAINS, 1, 1, 1), generator, scale=scale, severity=severity, fill=fill
    )
    chains = chains.view(CHAINS, views * n, *images.shape[1:])
    m1, m2 = dynmix_weights(views * n, generator, alpha=alpha, weights=weights)
    a, b = _coefficients(m1, m2, linear_only, out, scale=1.0 / 255.0)
    return _mix_into(out, chains[0], chains[1], a, b)


@register_method
class DynamicMixup(JSDMethod):
    """Dynamic Mixup (see the module docstring for the formula, the weights and the loss)."""

    name = "dynmix"
    description = "Dynamic Mixup: 2 chains of 1-2 ops, X=m1X1+m2X2+m1m2(X1-X2), CE + 12 * JSD"
    defaults = {
        "jsd": True,
        "linear_only": False,
        "single_sample_jsd": False,
        "alpha": 1.0,
        "lam": 12.0,
        "weights": "complementary",
        "severity": 3.0,
        "fill": 0.0,
    }
    imagenet_defaults = {"severity": 1.0}
    choices = {"weights": ("complementary", "independent")}
    checks = {"alpha": POSITIVE, "lam": NON_NEGATIVE, "severity": LEVEL}

    def check_options(self) -> None:
        opts = self.opts
        self._require(
            opts["jsd"] or not opts["single_sample_jsd"], "single_sample_jsd", "False when jsd is False"
        )

    def views(self) -> int:
        """Mixed views per image: 2 with JSD, 1 with single-sample JSD or without JSD."""
        return 2 if self.opts["jsd"] and not self.opts["single_sample_jsd"] else 1

    def write_views(self, out, images, views, generator) -> None:
        opts = self.opts
        _views_into(out, images, views, generator, scale=self.scale, severity=opts["severity"],
                    alpha=opts["alpha"], weights=opts["weights"], linear_only=opts["linear_only"],
                    fill=opts["fill"])


__all__ = ["DYNMIX_OPS", "DynamicMixup", "dynmix_chains", "dynmix_mix", "dynmix_views", "dynmix_weights"]
