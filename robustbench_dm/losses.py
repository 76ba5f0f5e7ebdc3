"""Losses for any training loop."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from robustbench_dm.errors import UserError
from robustbench_dm.methods.jsd import jsd_loss


class JSDLoss(torch.nn.Module):
    """AugMix's loss (``google-research/augmix`` ``cifar.py``): cross-entropy on the clean logits
    plus ``lam`` times the Jensen-Shannon divergence between the softmaxes of the clean and
    augmented logits (mixture clamped at 1e-7, ``batchmean`` KL, mixture not detached).

    ``logits`` is one tensor of ``splits * B`` rows from one forward pass over
    ``[clean; view_1; view_2]`` (split ``splits`` ways, clean first) or a sequence of the
    ``splits`` parts; ``targets`` holds the B clean labels (or ``splits * B`` labels, of which
    the first B are used, as timm's ``JsdCrossEntropy``)."""

    def __init__(self, lam: float = 12.0, splits: int = 3) -> None:
        super().__init__()
        if isinstance(lam, bool) or not isinstance(lam, (int, float)) or lam < 0:
            raise UserError(f"lam must be a number >= 0, got {lam!r}")
        if isinstance(splits, bool) or not isinstance(splits, int) or splits < 2:
            raise UserError(f"splits must be an integer >= 2, got {splits!r}")
        self.lam = float(lam)
        self.splits = splits

    def forward(
        self, logits: torch.Tensor | Sequence[torch.Tensor], targets: torch.Tensor
    ) -> torch.Tensor:
        parts = self._split(logits)
        batch = parts[0].shape[0]
        if targets.shape[0] not in (batch, self.splits * batch):
            raise UserError(
                f"targets has {targets.shape[0]} labels; expected {batch} (the clean images) "
                f"or {self.splits * batch}"
            )
        return jsd_loss(parts, targets[:batch], self.lam)

    def _split(self, logits) -> tuple[torch.Tensor, ...]:
        if isinstance(logits, torch.Tensor):
            if logits.ndim != 2 or logits.shape[0] % self.splits:
                raise UserError(
                    f"logits of shape {tuple(logits.shape)}: expected {self.splits} * B rows "
                    f"of class scores ([clean; view_1; ...] in one forward pass)"
                )
            return logits.chunk(self.splits)
        parts = tuple(logits)
        if len(parts) != self.splits or len({p.shape for p in parts}) != 1:
            raise UserError(
                f"expected {self.splits} logit tensors of one shape, got shapes "
                f"{[tuple(p.shape) for p in parts]}"
            )
        return parts

    def extra_repr(self) -> str:
        return f"lam={self.lam}, splits={self.splits}"


__all__ = ["JSDLoss"]
