"""Gamma, Beta and Dirichlet draws driven by an explicit ``torch.Generator``.

``torch.distributions`` cannot take a generator, so these use Marsaglia and Tsang's (2000)
rejection sampler, vectorised (every round redraws only the rejected entries), with the
``Gamma(a) = Gamma(a + 1) * U ** (1 / a)`` boost for ``a < 1``. Draws happen on the generator's
device; the same seed gives the same values on the same device.
"""

from __future__ import annotations

import math

import torch


def sample_gamma(alpha: float, shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
    """``Gamma(alpha, 1)`` draws (float64, on the generator's device)."""
    if alpha <= 0:
        raise ValueError(f"gamma shape must be > 0, got {alpha}")
    device = generator.device
    a = alpha + 1.0 if alpha < 1.0 else alpha
    d = a - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    count = math.prod(shape)

    def propose(size: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``size`` proposals ``v`` and whether each is accepted."""
        z = torch.randn(size, generator=generator, device=device, dtype=torch.float64)
        u = torch.rand(size, generator=generator, device=device, dtype=torch.float64)
        v = (c * z).add_(1.0).pow_(3)
        log_v = torch.log(v.clamp_min(1e-300))
        return v, (v > 0) & (torch.log(u) < 0.5 * z * z + d - d * v + d * log_v)

    v, ok = propose(count)
    if bool(ok.all()):  # the usual case: no proposal rejected
        out = d * v
    else:
        out = torch.empty(count, dtype=torch.float64, device=device)
        todo = torch.arange(count, device=device)
        while todo.numel():
            out[todo[ok]] = d * v[ok]
            todo = todo[~ok]
            if todo.numel():
                v, ok = propose(todo.numel())
    if alpha < 1.0:
        u = torch.rand(count, generator=generator, device=device, dtype=torch.float64)
        out = out * u.pow(1.0 / alpha)
    return out.view(shape)


def sample_beta(
    alpha: float, beta: float, shape: tuple[int, ...], generator: torch.Generator
) -> torch.Tensor:
    """``Beta(alpha, beta)`` draws as ``X / (X + Y)`` of two gammas (float32)."""
    x = sample_gamma(alpha, shape, generator)
    y = sample_gamma(beta, shape, generator)
    total = x + y
    # Both gammas underflow to 0 only for tiny shapes; split evenly then.
    return torch.where(total > 0, x / total.clamp_min(1e-300), 0.5).float()


def sample_dirichlet(alpha: float, shape: tuple[int, ...], k: int, generator: torch.Generator):
    """Symmetric ``Dirichlet(alpha, ..., alpha)`` draws of ``k`` weights, shape ``shape + (k,)``."""
    return dirichlet_from_gammas(sample_gamma(alpha, tuple(shape) + (k,), generator))


def dirichlet_from_gammas(gammas: torch.Tensor) -> torch.Tensor:
    """Independent ``Gamma(a_i)`` draws along the last dimension, normalised to sum to 1: a
    ``Dirichlet(a_1, ..., a_k)`` draw (float32); its first entry is ``Beta(a_1, a_2)`` for
    k = 2. All-zero rows (gamma underflow at tiny shapes) split evenly."""
    total = gammas.sum(dim=-1, keepdim=True)
    return torch.where(total > 0, gammas / total.clamp_min(1e-300), 1.0 / gammas.shape[-1]).float()


__all__ = ["dirichlet_from_gammas", "sample_beta", "sample_dirichlet", "sample_gamma"]
