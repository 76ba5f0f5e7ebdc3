"""``augmix`` (Hendrycks et al., ICLR 2020), the reference semantics of
``google-research/augmix`` ``cifar.py`` (AUGMENTATIONS.md §1).

Per augmented view: ``width`` (3) chains, each starting from the base-transformed image and
applying ``depth`` operations (1-3 uniformly when depth is -1) drawn uniformly with replacement
from the 9 AugMix operations, each with a level ``L ~ U(0.1, severity)`` re-sampled per
application (severity 3 at CIFAR scale, 1 at ImageNet scale as ``imagenet.py``); affine
operations bilinear with black fill. Chain weights ``w ~ Dirichlet(alpha)``, skip weight
``m ~ Beta(alpha, alpha)``: ``mixed = (1 - m) x + m sum_i w_i chain_i(x)``.

The reference mixes after ``Normalize``; we mix in [0, 1] float space and let the model
normalise, which is the same for these convex weights (normalisation is affine). No clipping,
no uint8 round-trip of the mixture.

With ``jsd`` (default) two independent views are made and the model sees [clean; view1; view2]
in one forward pass; loss = CE(clean) + lam * JS(clean, view1, view2) with lam = 12, mixture
clamped at 1e-7, batchmean. ``jsd=False`` trains CE on one AugMix image.
"""

from __future__ import annotations

import torch

from robustbench_dm.methods.base import LEVEL, NON_NEGATIVE, POSITIVE, Check
from robustbench_dm.methods.base_transform import to_float
from robustbench_dm.methods.jsd import JSDMethod
from robustbench_dm.methods.ops import (
    AUGMIX_OPS,
    apply_ops,
    sample_levels,
    sample_signs,
)
from robustbench_dm.methods.registry import register_method
from robustbench_dm.methods.sampling import dirichlet_from_gammas, sample_gamma

MAX_DEPTH = 3
# Float pixels mixed per chunk (about 4 MiB: a chunk's passes stay in cache).
_CHUNK_BYTES = 1 << 22


def augmix_views(
    images: torch.Tensor,
    views: int,
    generator: torch.Generator,
    *,
    severity: float = 3.0,
    width: int = 3,
    depth: int = -1,
    alpha: float = 1.0,
    fill: float = 0.0,
) -> torch.Tensor:
    """``views`` independent AugMix images of each uint8 image: float [0, 1], shape
    ``(views * N) x C x H x W`` (view-major)."""
    out = torch.empty((views * images.shape[0], *images.shape[1:]), device=images.device)
    return _views_into(
        out, images, views, generator, severity=severity, width=width, depth=depth, alpha=alpha,
        fill=fill,
    )


def augmix_chains(
    images: torch.Tensor,
    generator: torch.Generator,
    *,
    severity: float = 3.0,
    depth: int = -1,
    fill: float = 0.0,
) -> torch.Tensor:
    """One AugMix chain per uint8 image: ``depth`` operations (1-3 uniformly when -1), uint8."""
    total = images.shape[0]
    dev = generator.device
    if depth > 0:
        steps, lengths = depth, torch.full((total,), depth, device=dev)
    else:
        steps = MAX_DEPTH
        lengths = torch.randint(1, MAX_DEPTH + 1, (total,), generator=generator, device=dev)
    # every step's draws at once: operation, level and sign per chain and step
    ids = torch.randint(0, len(AUGMIX_OPS), (steps, total), generator=generator, device=dev)
    levels = sample_levels(steps * total, severity, generator).view(steps, total)
    signs = sample_signs(steps * total, generator).view(steps, total)
    for step in range(int(lengths.max()) if total else 0):
        step_ids = torch.where(lengths > step, ids[step], -1)
        images = apply_ops(images, step_ids, levels[step], signs[step], AUGMIX_OPS, fill=fill)
    return images


def _views_into(
    out: torch.Tensor,
    images: torch.Tensor,
    views: int,
    generator: torch.Generator,
    *,
    severity: float,
    width: int,
    depth: int,
    alpha: float,
    fill: float,
) -> torch.Tensor:
    """:func:`augmix_views` written into ``out``; the mixture is computed a few images at a time
    (``(1 - m) x + m sum_i w_i chain_i``, chains summed in order) so that it stays in cache."""
    n, c, h, w = images.shape
    chains = augmix_chains(
        images.repeat(views * width, 1, 1, 1), generator, severity=severity, depth=depth, fill=fill
    ).view(views, width, n, c, h, w)
    # chain weights ~ Dirichlet(alpha, ...) and skip weight ~ Beta(alpha, alpha) from one draw
    gammas = sample_gamma(alpha, (views, n, width + 2), generator).to(images.device)
    weights = dirichlet_from_gammas(gammas[..., :width])
    skip = dirichlet_from_gammas(gammas[..., width:])[..., 0]
    out_views = out.view(views, n, c, h, w)
    per_chunk = max(1, _CHUNK_BYTES // (views * width * c * h * w * 4))
    for start in range(0, n, per_chunk):
        chunk = slice(start, start + per_chunk)
        k = min(n, start + per_chunk) - start
        weighted = to_float(chains[:, :, chunk])  # views x width x k x C x H x W
        weighted.mul_(weights[:, chunk].transpose(1, 2).reshape(views, width, k, 1, 1, 1))
        mix = weighted[:, 0]
        for i in range(1, width):
            mix.add_(weighted[:, i])
        m = skip[:, chunk].reshape(views, k, 1, 1, 1)
        clean = to_float(images[chunk]).unsqueeze(0)
        torch.mul(clean, torch.rsub(m, 1.0), out=out_views[:, chunk]).add_(mix.mul_(m))
    return out


@register_method
class AugMix(JSDMethod):
    """AugMix with the JS consistency loss (see the module docstring)."""

    name = "augmix"
    description = "AugMix (9 ops, width 3, depth 1-3, severity 3 / 1 ImageNet) + CE + 12 * JSD"
    defaults = {
        "severity": 3.0,
        "width": 3,
        "depth": -1,
        "alpha": 1.0,
        "jsd": True,
        "lam": 12.0,
        "fill": 0.0,
    }
    imagenet_defaults = {"severity": 1.0}
    checks = {
        "severity": LEVEL,
        "width": Check(lambda width: width >= 1, "an integer >= 1"),
        "depth": Check(lambda depth: depth == -1 or depth >= 1, "-1 (random 1-3) or >= 1"),
        "alpha": POSITIVE,
        "lam": NON_NEGATIVE,
    }

    def write_views(self, out, images, views, generator) -> None:
        opts = self.opts
        _views_into(out, images, views, generator, severity=opts["severity"], width=opts["width"],
                    depth=opts["depth"], alpha=opts["alpha"], fill=opts["fill"])


__all__ = ["AugMix", "augmix_views"]
