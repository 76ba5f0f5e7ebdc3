"""``AugmentationViews``: the (clean, view_1, ..., view_k) tuples of JSD training."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from robustbench_dm.errors import UserError
from robustbench_dm.transforms._base import as_float
from robustbench_dm.transforms.mixing import MixingTransform


class AugmentationViews:
    """``(clean, view_1, ..., view_views)`` of one image, as AugMix's ``AugMixDataset`` returns
    with JSD: ``clean`` is the image as float32 in [0, 1], each view an independent call of
    ``transform`` (PIL or uint8 outputs converted to float32 in [0, 1]). The toolkit's AugMix
    and DynamicMixup draw all views in one batched call."""

    def __init__(self, transform: Callable[[Any], Any], views: int = 2) -> None:
        if not callable(transform):
            raise UserError(f"transform must be callable, got {transform!r}")
        if isinstance(views, bool) or not isinstance(views, int) or views < 1:
            raise UserError(f"views must be an integer >= 1, got {views!r}")
        self.transform = transform
        self.views = views

    def __call__(self, image: Any) -> tuple[torch.Tensor, ...]:
        clean = as_float(image)
        if isinstance(self.transform, MixingTransform):
            return (clean, *self.transform.sample_views(image, self.views))
        return (clean, *(as_float(self.transform(image)) for _ in range(self.views)))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(transform={self.transform!r}, views={self.views!r})"


__all__ = ["AugmentationViews"]
