"""Input normalisation inside the model (RobustBench convention: models take [0, 1])."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from robustbench_dm.errors import UserError

#: Named normalisations: ``(mean, std)`` per channel, or ``None`` for identity.
NORMALIZATIONS: dict[str, tuple[tuple[float, ...], tuple[float, ...]] | None] = {
    # torchvision's ImageNet statistics (the ImageNet-C/-P reference evaluation uses these)
    "imagenet": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
    # the AugMix CIFAR convention: mean = std = 0.5
    "cifar": ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
    "none": None,
}


def resolve_normalization(name: str) -> tuple[tuple[float, ...], tuple[float, ...]] | None:
    """The ``(mean, std)`` named ``name`` in :data:`NORMALIZATIONS` (``None`` for "none")."""
    if name not in NORMALIZATIONS:
        raise UserError(
            f"unknown normalisation {name!r}: expected one of {', '.join(NORMALIZATIONS)}")
    return NORMALIZATIONS[name]


class Normalized(nn.Module):
    """Wraps a bare network: ``forward(x) = net((x - mean) / std)`` for x in [0, 1].

    Integer (uint8) input is converted to [0, 1] first, so a suite's batches can be fed
    directly. ``mean``/``std`` of ``None`` mean no normalisation. The bare network is
    ``.net`` so its ``state_dict`` is what a checkpoint stores.
    """

    __jit_unused_properties__ = ["normalization"]

    def __init__(self, net: nn.Module, mean: Sequence[float] | None = None,
                 std: Sequence[float] | None = None):
        super().__init__()
        if (mean is None) != (std is None):
            raise ValueError("give both mean and std, or neither")
        self.net = net
        self.has_normalization = mean is not None
        mean_t = torch.tensor(list(mean) if mean is not None else [0.0], dtype=torch.float32)
        std_t = torch.tensor(list(std) if std is not None else [1.0], dtype=torch.float32)
        if self.has_normalization and (std_t <= 0).any():
            raise ValueError(f"std must be positive, got {list(std)}")
        # the exact values given, for checkpoints (the buffers are float32)
        self._mean_values = [float(v) for v in mean] if mean is not None else []
        self._std_values = [float(v) for v in std] if std is not None else []
        self.register_buffer("mean", mean_t.view(1, -1, 1, 1), persistent=False)
        self.register_buffer("std", std_t.view(1, -1, 1, 1), persistent=False)

    @property
    def normalization(self) -> dict[str, list[float]] | None:
        """``{"mean": [...], "std": [...]}`` as stored in a checkpoint, or ``None``."""
        if not self.has_normalization:
            return None
        return {"mean": list(self._mean_values), "std": list(self._std_values)}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not x.is_floating_point():
            x = x.float().div_(255.0)
        if self.has_normalization:
            x = (x - self.mean) / self.std
        return self.net(x)
