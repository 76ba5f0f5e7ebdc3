"""skimage/scipy-compatible Gaussian filter on batched N x C x H x W float tensors.

Matches ``skimage.filters.gaussian(x, sigma, channel_axis=-1)`` (which calls
``scipy.ndimage.gaussian_filter``): a separable kernel of radius ``int(truncate * sigma + 0.5)``
with weights ``exp(-x^2 / (2 sigma^2))`` normalised to sum 1, and scipy's boundary modes.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

def gaussian_kernel1d(sigma: float, truncate: float = 4.0, *, dtype=torch.float64,
                      device=None) -> torch.Tensor:
    """scipy's 1-D Gaussian weights: radius ``int(truncate * sigma + 0.5)``, normalised to 1."""
    radius = int(truncate * float(sigma) + 0.5)
    x = torch.arange(-radius, radius + 1, dtype=torch.float64)
    w = torch.exp(-0.5 / float(sigma) ** 2 * x * x)
    return (w / w.sum()).to(dtype=dtype, device=device)


def pad_indices(n: int, radius: int, mode: str, device=None) -> torch.Tensor:
    """Source indices of a length-``n`` axis padded by ``radius`` per scipy boundary ``mode``.

    ``nearest``: a a | a b c | c c; ``reflect``: b a | a b c | c b; ``mirror``: c b | a b c | b a;
    ``wrap``: b c | a b c | a b. (``constant`` is handled by zero padding.)
    """
    idx = torch.arange(-radius, n + radius, device=device)
    if mode == "nearest":
        return idx.clamp(0, n - 1)
    if mode == "wrap":
        return idx % n
    if mode == "reflect":
        idx = idx % (2 * n)
        return torch.where(idx >= n, 2 * n - 1 - idx, idx)
    if mode == "mirror":
        if n == 1:
            return torch.zeros_like(idx)
        idx = idx.abs() % (2 * n - 2)
        return torch.where(idx >= n, 2 * n - 2 - idx, idx)
    raise ValueError(f"unknown boundary mode {mode!r}")


def _pad_axis(x: torch.Tensor, radius: int, axis: int, mode: str) -> torch.Tensor:
    """Pad dim ``axis`` (-1 or -2) of ``x`` by ``radius`` on both sides per scipy ``mode``."""
    if mode == "constant":
        return F.pad(x, (radius, radius, 0, 0) if axis == -1 else (0, 0, radius, radius))
    if mode == "nearest" and radius < x.shape[axis]:
        return F.pad(x, (radius, radius, 0, 0) if axis == -1 else (0, 0, radius, radius),
                     mode="replicate")
    return x.index_select(x.ndim + axis, pad_indices(x.shape[axis], radius, mode, x.device))


def gaussian_filter(x: torch.Tensor, sigma: float, mode: str = "nearest",
                    truncate: float = 4.0) -> torch.Tensor:
    """Blur each channel of a float N x C x H x W tensor like ``scipy.ndimage.gaussian_filter``.

    ``sigma`` is the same on both spatial axes (channels are independent, as skimage's
    ``channel_axis``). ``mode`` is a scipy boundary mode: ``nearest`` (skimage's default),
    ``reflect``, ``mirror``, ``wrap`` or ``constant`` (zero). The output has ``x``'s dtype.
    """
    if mode not in ("nearest", "reflect", "mirror", "wrap", "constant"):
        raise ValueError(f"unknown boundary mode {mode!r}")
    if not x.is_floating_point() or x.ndim != 4:
        raise ValueError(f"expected a float N x C x H x W tensor, got {x.dtype} {tuple(x.shape)}")
    if sigma <= 0:
        return x.clone()
    n, c, h, w = x.shape
    weights = gaussian_kernel1d(sigma, truncate, dtype=x.dtype, device=x.device)
    radius = (weights.numel() - 1) // 2
    y = x.reshape(n * c, 1, h, w)
    y = F.conv2d(_pad_axis(y, radius, -2, mode), weights.view(1, 1, -1, 1))
    y = F.conv2d(_pad_axis(y, radius, -1, mode), weights.view(1, 1, 1, -1))
    return y.reshape(n, c, h, w)
