"""Augmentation operations with per-sample parameters, and the batched dispatcher.

An :class:`Op` turns per-sample ``levels`` (and ``signs`` for symmetric operations) into kernel
parameters. Geometric operations contribute a PIL affine matrix, so :func:`apply_ops` warps every
image that drew any geometric operation in one ``grid_sample`` call; every other operation runs
once on the sub-batch that drew it (a contiguous slice after one sort). No per-image Python work.

Level scaling of the AugMix reference (AUGMENTATIONS.md §1.2, ``augmentations.py``):
``int_parameter(L, max) = int(L * max / 10)``, ``float_parameter(L, max) = L * max / 10``,
with ``L ~ U(0.1, severity)`` re-sampled on every application (:func:`sample_levels`).
"""

from __future__ import annotations

import itertools
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
    Op("posterize", kernel=lambda x, lv, s: K.posterize_image(x, 4 - _int_param(lv, 4))),
    Op("rotate", matrix=lambda lv, s, h, w: K.rotate_matrices(_int_param(lv, 30) * s, h, w)),
    Op("solarize", kernel=lambda x, lv, s: K.solarize_image(x, 256 - _int_param(lv, 256))),
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
    return torch.where(u < 0.5, 1.0, -1.0).double()


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

    The batch is sorted once so that every operation's images form one contiguous slice
    (geometric operations first, warped together), and put back in order once."""
    device = images.device
    if images.shape[0] == 0:
        return images.clone()
    op_ids, levels, signs = op_ids.to(device), levels.to(device), signs.to(device)
    _, _, h, w = images.shape
    geometric = [k for k, op in enumerate(ops) if op.matrix is not None]
    kernels = [k for k, op in enumerate(ops) if op.matrix is None]
    # sort key: rank of the op in ``geometric + kernels``; unchanged images (-1) go last
    rank_of = {k: r for r, k in enumerate(geometric + kernels)}
    rank = torch.tensor([rank_of[k] for k in range(len(ops))] + [len(ops)], device=device)
    keys = rank.index_select(0, op_ids.long().remainder(len(ops) + 1))  # -1 -> last entry
    perm = torch.argsort(keys, stable=True)
    counts = torch.bincount(keys, minlength=len(ops) + 1).tolist()
    starts = [0, *itertools.accumulate(counts)]
    sorted_images = images.index_select(0, perm)
    lv, sg = levels.index_select(0, perm), signs.index_select(0, perm)
    parts = []
    n_geo = starts[len(geometric)]
    if n_geo:
        mats = [
            ops[k].matrix(lv[starts[r] : starts[r + 1]], sg[starts[r] : starts[r + 1]], h, w)
            for r, k in enumerate(geometric)
            if counts[r]
        ]
        parts.append(K.affine_image(sorted_images[:n_geo], torch.cat(mats), fill))
    for r, k in enumerate(kernels, start=len(geometric)):
        if counts[r]:
            sl = slice(starts[r], starts[r + 1])
            parts.append(ops[k].kernel(sorted_images[sl], lv[sl], sg[sl]))
    if counts[-1]:
        parts.append(sorted_images[starts[-2] :])
    # scatter back by gathering with the inverse permutation (index_select is much faster than
    # index_copy_ on CPU)
    arange = torch.arange(perm.numel(), device=device)
    inverse = torch.empty_like(perm).scatter_(0, perm, arange)
    return torch.cat(parts).index_select(0, inverse)


__all__ = [
    "AUGMIX_OPS",
    "DOWNSCALE_OP",
    "FLIP_OPS",
    "Op",
    "apply_ops",
    "sample_levels",
    "sample_signs",
]
