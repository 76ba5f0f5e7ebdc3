"""The Jensen-Shannon consistency loss of AugMix (AUGMENTATIONS.md §1.5)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F


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


__all__ = ["js_divergence", "jsd_loss"]
