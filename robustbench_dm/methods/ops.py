"""Augmentation operations with per-sample parameters, and the batched dispatcher.

An :class:`Op` turns per-sample ``levels`` (and ``signs`` for symmetric operations) into kernel
parameters. Geometric operations contribute a PIL affine matrix, so :func:`apply_ops` warps every
image that drew any geometric operation in one call; every other operation runs once on the
sub-batch that drew it. No per-image tensor work. :func:`random_op_chain` draws and applies the
random chains of 1..k operations that Random AutoAugment* and Dynamic Mixup use.

Level scaling of the AugMix reference (AUGMENTATIONS.md §1.2, ``augmentations.py``):
``int_parameter(L, max) = int(L * max / 10)``, ``float_parameter(L, max) = L * max / 10``,
with ``L ~ U(0.1, severity)`` re-sampled on every application (:func:`sample_levels`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from robustbench_dm.methods import functional as K


@dataclass(frozen=True)
class Op:
    """One operation. Exactly one of ``matrix`` (geometric: ``(levels, signs, H, W) -> N x 2 x 3``)
    or ``kernel`` (``(images, levels, signs) -> images``) is set."""

    name: str
    matrix: Callable[[torch.Tensor, torch.Tensor, int, int], torch.Tensor] | None = None
    kernel: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor] | None = None


def _int_param(levels: torch.Tensor, maxval: float) -> torch.Tensor:
    return torch.floor(levels.double() * maxval / 10)


def _float_param(levels: torch.Tensor, maxval: float) -> torch.Tensor:
    return levels.double() * maxval / 10


# -- the AugMix reference operations (augmentations.py, list ``augmentations``) --
AUGMIX_OPS: tuple[Op, ...] = (
    Op("autocontrast", kernel=lambda x, lv, s: K.autocontrast_image(x)),
    Op("equalize", kernel=lambda x, lv, s: K.equalize_image(x)),
    Op("posterize", kernel=lambda x, lv, s: K.posterize_image(x, torch.rsub(_int_param(lv, 4), 4))),
    Op("rotate", matrix=lambda lv, s, h, w: K.rotate_matrices(_int_param(lv, 30) * s, h, w)),
    Op("solarize", kernel=lambda x, lv, s: K.solarize_image(x, torch.rsub(_int_param(lv, 256), 256))),
    Op("shear_x", matrix=lambda lv, s, h, w: K.shear_x_matrices(_float_param(lv, 0.3) * s)),
    Op("shear_y", matrix=lambda lv, s, h, w: K.shear_y_matrices(_float_param(lv, 0.3) * s)),
    Op("translate_x", matrix=lambda lv, s, h, w: K.translate_x_matrices(_int_param(lv, w / 3) * s)),
    Op("translate_y", matrix=lambda lv, s, h, w: K.translate_y_matrices(_int_param(lv, h / 3) * s)),
)

# -- Dynamic Mixup's extra operations (project definitions, AUGMENTATIONS.md §5.3 items 6-7) --
FLIP_OPS: tuple[Op, ...] = (
    Op("hflip", kernel=lambda x, lv, s: K.hflip_image(x)),
    Op("vflip", kernel=lambda x, lv, s: K.vflip_image(x)),
)
DOWNSCALE_OP = Op("downscale", kernel=lambda x, lv, s: K.downscale_image(x, 1 - 0.5 * lv / 10))


def sample_levels(n: int, severity: float, generator: torch.Generator) -> torch.Tensor:
    """AugMix level draws ``L ~ U(0.1, severity)`` (float64, generator's device)."""
    u = torch.rand(n, generator=generator, device=generator.device, dtype=torch.float64)
    return 0.1 + (severity - 0.1) * u


def sample_signs(n: int, generator: torch.Generator) -> torch.Tensor:
    """``+1`` or ``-1`` with probability 1/2 each (float64, generator's device)."""
    u = torch.rand(n, generator=generator, device=generator.device)
    return (u < 0.5).double().mul_(2.0).sub_(1.0)


def random_op_chain(
    images: torch.Tensor,
    ops: Sequence[Op],
    max_ops: int,
    generator: torch.Generator,
    *,
    severity: float,
    fill: float = 0.0,
) -> torch.Tensor:
    """One random chain per uint8 image (NCHW in, uint8 NCHW out): ``1..max_ops`` operations
    (the count uniform per image) drawn uniformly with replacement from ``ops``, each with its
    own level ``L ~ U(0.1, severity)`` and sign. Draws, in order: the counts, then per step the
    operation ids, levels and signs of every image (images past their count draw too, and
    stay unchanged), so a seed gives the same bytes whatever the counts."""
    n = images.shape[0]
    device = generator.device
    count = torch.randint(1, max_ops + 1, (n,), generator=generator, device=device)
    for step in range(max_ops):
        ids = torch.randint(0, len(ops), (n,), generator=generator, device=device)
        ids = torch.where(count > step, ids, -1)
        levels, signs = sample_levels(n, severity, generator), sample_signs(n, generator)
        images = apply_ops(images, ids, levels, signs, ops, fill=fill)
    return images


def apply_ops(
    images: torch.Tensor,
    op_ids: torch.Tensor,
    levels: torch.Tensor,
    signs: torch.Tensor,
    ops: Sequence[Op],
    *,
    fill: float = 0.0,
) -> torch.Tensor:
    """Apply ``ops[op_ids[i]]`` with ``levels[i]``/``signs[i]`` to image ``i`` (uint8 NCHW);
    ``op_ids[i] == -1`` leaves image ``i`` unchanged. Affine operations use ``fill``.

    Each operation runs once on the images that drew it, the geometric ones together in one
    warp: the batch is gathered once in operation order (so each operation's images are one
    slice) and put back in order once; one operation drawn by every image runs on the batch as
    it is. Every kernel treats images independently, so the grouping never changes a byte."""
    _, _, h, w = images.shape
    groups: dict[int, list[int]] = {}
    for i, k in enumerate(op_ids.tolist()):
        groups.setdefault(k, []).append(i)
    unchanged = groups.pop(-1, [])
    if not groups:
        return images.clone()
    device = images.device
    if levels.device != device:
        levels, signs = levels.to(device), signs.to(device)
    if len(groups) == 1 and not unchanged:  # one operation for the whole batch
        op = ops[next(iter(groups))]
        if op.matrix is not None:
            return K.affine_image(images, op.matrix(levels, signs, h, w), fill)
        return op.kernel(images, levels, signs)
    geometric = sorted(k for k in groups if ops[k].matrix is not None)
    kernels = sorted(k for k in groups if ops[k].matrix is None)
    order = [i for k in geometric + kernels for i in groups[k]] + unchanged
    inverse = [0] * len(order)
    for position, i in enumerate(order):
        inverse[i] = position
    perm = torch.tensor(order, device=device)
    x, lv, sg = images.index_select(0, perm), levels.index_select(0, perm), signs.index_select(0, perm)
    bounds, start = {}, 0
    for k in geometric + kernels:
        bounds[k] = slice(start, start + len(groups[k]))
        start += len(groups[k])
    parts = []
    if geometric:
        mats = [ops[k].matrix(lv[bounds[k]], sg[bounds[k]], h, w) for k in geometric]
        n_geo = bounds[geometric[-1]].stop
        parts.append(K.affine_image(x[:n_geo], torch.cat(mats), fill))
    parts += [ops[k].kernel(x[bounds[k]], lv[bounds[k]], sg[bounds[k]]) for k in kernels]
    if unchanged:
        parts.append(x[start:])
    # put back in order with a gather (much faster than index_copy_ on CPU)
    return torch.cat(parts).index_select(0, torch.tensor(inverse, device=device))


__all__ = [
    "AUGMIX_OPS",
    "DOWNSCALE_OP",
    "FLIP_OPS",
    "Op",
    "apply_ops",
    "random_op_chain",
    "sample_levels",
    "sample_signs",
]
