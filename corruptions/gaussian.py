"""skimage/scipy-compatible Gaussian filter on batched N x C x H x W float tensors.

Matches ``skimage.filters.gaussian(x, sigma, channel_axis=-1)`` (which calls
``scipy.ndimage.gaussian_filter``): a separable kernel of radius ``int(truncate * sigma + 0.5)``
with weights ``exp(-x^2 / (2 sigma^2))`` normalised to sum 1, and scipy's boundary modes.

Each 1-D pass is a matrix product: the correlation along an axis of length n, boundary mode
included, is one n x n banded matrix (built once per size, sigma, mode, dtype and device), and
the pass multiplies every row (or column) of the batch by it. Long axes are cut into blocks
that only read the band of input rows they need.
"""

from __future__ import annotations

from functools import lru_cache

import torch

# Axes up to this length are one dense matrix; longer ones are split into blocks of this size.
_BLOCK = 64


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


def correlation_matrix(n: int, weights: torch.Tensor, mode: str) -> torch.Tensor:
    """The n x n float64 matrix of a 1-D correlation with odd-length ``weights`` and scipy ``mode``.

    ``(A @ v)[i] = sum_t weights[t] * padded(v)[i + t]``; taps landing on the same source index
    (boundary folding) are summed; ``constant`` drops taps outside the axis.
    """
    radius = (weights.numel() - 1) // 2
    rows = torch.arange(n).repeat_interleave(weights.numel())
    taps = torch.arange(weights.numel()).repeat(n)
    if mode == "constant":
        cols = rows + taps - radius
        keep = (cols >= 0) & (cols < n)
        rows, taps, cols = rows[keep], taps[keep], cols[keep]
    else:
        cols = pad_indices(n, radius, mode)[rows + taps]
    matrix = torch.zeros(n, n, dtype=torch.float64)
    return matrix.index_put_((rows, cols), weights.to(torch.float64)[taps], accumulate=True)


@lru_cache(maxsize=256)
def _blocks(n: int, sigma: float, truncate: float, mode: str, dtype: torch.dtype,
            device: torch.device) -> tuple[tuple[int, int, int, int, torch.Tensor], ...]:
    """(out_lo, out_hi, in_lo, in_hi, block matrix) covering the n outputs of one pass."""
    matrix = correlation_matrix(n, gaussian_kernel1d(sigma, truncate), mode)
    size = n if n <= _BLOCK else _BLOCK
    out = []
    for lo in range(0, n, size):
        hi = min(lo + size, n)
        used = matrix[lo:hi].ne(0).any(0).nonzero().flatten()
        in_lo, in_hi = (int(used.min()), int(used.max()) + 1) if used.numel() else (0, 1)
        out.append((lo, hi, in_lo, in_hi,
                    matrix[lo:hi, in_lo:in_hi].to(dtype=dtype, device=device).contiguous()))
    return tuple(out)


def _pass_rows(y: torch.Tensor, blocks) -> torch.Tensor:
    """Correlate dim -2 of an M x H x W tensor."""
    return torch.cat([torch.matmul(a, y[:, i0:i1]) for _, _, i0, i1, a in blocks], 1)


def _pass_cols(y: torch.Tensor, blocks) -> torch.Tensor:
    """Correlate dim -1 of an M x H x W tensor."""
    flat = y.reshape(-1, y.shape[-1])
    out = torch.cat([flat[:, i0:i1] @ a.T for _, _, i0, i1, a in blocks], 1)
    return out.reshape(y.shape)


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
    key = (float(sigma), float(truncate), mode, x.dtype, x.device)
    y = _pass_rows(x.reshape(n * c, h, w), _blocks(h, *key))
    return _pass_cols(y, _blocks(w, *key)).reshape(n, c, h, w)
