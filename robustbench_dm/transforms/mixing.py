"""AugMix and Dynamic Mixup as per-image transforms: thin classes over the batched functions the
training methods use (:func:`~robustbench_dm.methods.augmix.augmix_views`,
:func:`~robustbench_dm.methods.dynmix.dynmix_views`), so one implementation of every operation
serves both and a transform's output is the batched method's output for a batch of one."""

from __future__ import annotations

from typing import Any

import torch

from robustbench_dm.methods.augmix import AugMix as _AugMixMethod
from robustbench_dm.methods.augmix import augmix_views
from robustbench_dm.methods.dynmix import DynamicMixup as _DynamicMixupMethod
from robustbench_dm.methods.dynmix import dynmix_views
from robustbench_dm.transforms._base import RandomTransform, uint8_batch


class MixingTransform(RandomTransform):
    """A transform whose output is float32 in [0, 1] made by a batched ``views`` function."""

    def __call__(self, image: Any) -> torch.Tensor:
        """One augmented image: float32 ``C x H x W`` in [0, 1] for a PIL image or a uint8
        ``C x H x W`` tensor; ``N x C x H x W`` (independent draws per image) for a batch."""
        return self.sample_views(image, 1)[0]

    def sample_views(self, image: Any, count: int) -> tuple[torch.Tensor, ...]:
        """``count`` independent augmented images of ``image``, drawn in one batched call."""
        batch, single = uint8_batch(image)
        with torch.inference_mode():  # less work per operation on small images
            out = self._views(batch, count, self.draw_generator(batch.device))
        parts = out.clone().view(count, *batch.shape).unbind(0)  # a normal tensor for autograd
        return tuple(p[0] for p in parts) if single else parts

    def _views(self, batch: torch.Tensor, count: int, generator: torch.Generator) -> torch.Tensor:
        raise NotImplementedError


class AugMix(MixingTransform):
    """AugMix with the reference semantics of ``google-research/augmix`` (not torchvision's):
    ``width`` chains of ``depth`` operations (1-3 uniformly when -1) drawn from the 9 reference
    operations, levels ``L ~ U(0.1, severity)`` drawn per application (continuous), chain
    weights ``Dirichlet(alpha)``, skip weight ``Beta(alpha, alpha)``; the mixture stays float
    (no uint8 round trip), in [0, 1] before normalisation. ``severity`` 3 is the reference's
    CIFAR setting, 1 its ImageNet setting; ``fill`` is the affine operations' border value."""

    params = ("severity", "width", "depth", "alpha", "fill")

    def __init__(
        self,
        severity: float = 3.0,
        width: int = 3,
        depth: int = -1,
        alpha: float = 1.0,
        fill: float = 0.0,
        *,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__(generator)
        opts = _AugMixMethod(
            severity=severity, width=width, depth=depth, alpha=alpha, fill=fill
        ).options()
        for name in self.params:
            setattr(self, name, opts[name])

    def _views(self, batch, count, generator):
        return augmix_views(
            batch, count, generator, severity=self.severity, width=self.width, depth=self.depth,
            alpha=self.alpha, fill=self.fill,
        )


class DynamicMixup(MixingTransform):
    """Dynamic Mixup: two chains of 1-2 operations (the AugMix operations plus flips, plus
    ``downscale`` at ``scale="imagenet"``), mixed as ``m1 X1 + m2 X2 + m1 m2 (X1 - X2)`` in
    [0, 1] and clamped. ``weights``: ``complementary`` (m, 1 - m) or ``independent`` draws of
    ``Beta(alpha, alpha)``; ``linear_only`` drops the ``m1 m2 (X1 - X2)`` term. ``severity``
    ``None`` takes the training method's default at ``scale`` (3 at CIFAR, 1 at ImageNet)."""

    params = ("scale", "severity", "alpha", "weights", "linear_only", "fill")

    def __init__(
        self,
        scale: str = "cifar",
        severity: float | None = None,
        alpha: float = 1.0,
        weights: str = "complementary",
        linear_only: bool = False,
        fill: float = 0.0,
        *,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__(generator)
        chosen = {"alpha": alpha, "weights": weights, "linear_only": linear_only, "fill": fill}
        if severity is not None:
            chosen["severity"] = severity
        opts = _DynamicMixupMethod(scale=scale, **chosen).options()
        self.scale = scale
        for name in self.params[1:]:
            setattr(self, name, opts[name])

    def _views(self, batch, count, generator):
        return dynmix_views(
            batch, count, generator, scale=self.scale, severity=self.severity, alpha=self.alpha,
            weights=self.weights, linear_only=self.linear_only, fill=self.fill,
        )


__all__ = ["AugMix", "DynamicMixup"]
