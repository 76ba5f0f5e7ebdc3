"""The Jensen-Shannon consistency loss of AugMix (AUGMENTATIONS.md §1.5) and the methods
trained with it (:class:`JSDMethod`: AugMix, Dynamic Mixup)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from robustbench_dm.methods.base import LossOutput, Method


def js_divergence(probs: Sequence[torch.Tensor]) -> torch.Tensor:
    """Generalised Jensen-Shannon divergence of ``k >= 2`` batches of distributions (N x K each):
    ``mean_i KL(p_i || M)`` with ``M = clamp(mean_i p_i, 1e-7, 1)``, each KL summed over classes
    and averaged over the batch (PyTorch ``kl_div(log M, p_i, reduction="batchmean")``).
    ``M`` is not detached, as in the reference."""
    if len(probs) < 2:
        raise ValueError("js_divergence needs at least two distributions")
    log_mixture = torch.clamp(torch.stack(list(probs)).mean(dim=0), 1e-7, 1.0).log()
    kl = [F.kl_div(log_mixture, p, reduction="batchmean") for p in probs]
    return torch.stack(kl).mean()


def jsd_loss(
    logits: Sequence[torch.Tensor], targets: torch.Tensor, weight: float = 12.0
) -> torch.Tensor:
    """AugMix's training loss: cross-entropy on ``logits[0]`` (the clean images) plus
    ``weight`` times the JS divergence between the softmaxes of all ``logits``."""
    logits = [x.float() for x in logits]
    probs = [F.softmax(x, dim=1) for x in logits]
    return F.cross_entropy(logits[0], targets) + weight * js_divergence(probs)


class JSDMethod(Method):
    """A method that makes augmented views of each base-transformed image and trains with
    AugMix's loss: the model sees ``[originals; view_1; ...; view_k]`` in one forward pass and
    the loss is CE(originals) + ``lam`` JS(all), or, with option ``jsd`` False, it sees one view
    per image under plain cross-entropy. Subclasses declare the options ``jsd`` and ``lam`` and
    write the views (:meth:`write_views`)."""

    def views(self) -> int:
        """Augmented views per image: 2 with JSD, else 1."""
        return 2 if self.opts["jsd"] else 1

    def write_views(
        self, out: torch.Tensor, images: torch.Tensor, views: int, generator: torch.Generator
    ) -> None:
        """Write ``views`` augmented views of the uint8 batch ``images`` (N) into ``out``:
        float [0, 1], ``views * N`` rows, view-major."""
        raise NotImplementedError

    def augment(self, images_uint8, targets, generator) -> torch.Tensor:
        """``[originals; view_1; ...; view_k]`` ((k + 1) N images) with JSD, else one view
        per image (N images)."""
        x = self.base_transform(images_uint8, generator)
        n, views = x.shape[0], self.views()
        originals = n if self.opts["jsd"] else 0
        out = torch.empty((originals + views * n, *x.shape[1:]), device=x.device)
        if originals:
            torch.div(x, 255.0, out=out[:n])  # base_transform.to_float, in place
        self.write_views(out[originals:], x, views, generator)
        return out

    def loss(self, model, images_uint8, targets, generator) -> LossOutput:
        logits = model(self.augment(images_uint8, targets, generator))
        if not self.opts["jsd"]:
            return LossOutput(F.cross_entropy(logits.float(), targets), logits, targets)
        parts = logits.chunk(self.views() + 1)
        return LossOutput(jsd_loss(parts, targets, self.opts["lam"]), parts[0], targets)


__all__ = ["JSDMethod", "js_divergence", "jsd_loss"]
