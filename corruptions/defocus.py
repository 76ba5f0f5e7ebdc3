"""defocus_blur (HR): an anti-aliased disk kernel applied with OpenCV's ``filter2D`` semantics.

``disk(radius, alias_blur)``: a binary disk ``X^2 + Y^2 <= r^2`` on the grid -8..8 (r <= 8) or
-r..r (r > 8), in float32, normalised to sum 1, then blurred like ``cv2.GaussianBlur`` with a
3x3 (r <= 8) or 5x5 (r > 8) Gaussian of sigma ``alias_blur`` and BORDER_REFLECT_101 (not
renormalised). The image (float64 in [0, 1]) is correlated with it per channel, border
BORDER_REFLECT_101, via FFT for large kernels.
"""

from __future__ import annotations

from functools import lru_cache

import torch

from corruptions.gaussian import pad_indices
from corruptions.registry import register_corruption

DEFOCUS_BLUR = {
    "imagenet": ((3, 0.1), (4, 0.5), (6, 0.5), (8, 0.5), (10, 0.5)),
    "tinyimagenet": ((0.5, 0.6), (1, 0.1), (1.5, 0.1), (2.5, 0.01), (3, 0.1)),
    "cifar": ((0.3, 0.4), (0.4, 0.5), (0.5, 0.6), (1, 0.2), (1.5, 0.1)),
}

# Kernels with at least this many taps are applied through an FFT.
_FFT_TAPS = 121
# Values per chunk of the shifted-slice sums on the CPU (keeps the planes in cache).
_CHUNK = 1 << 15


def cv2_gaussian_kernel1d(ksize: int, sigma: float) -> torch.Tensor:
    """``cv2.getGaussianKernel(ksize, sigma)`` for sigma > 0, as float64."""
    x = torch.arange(ksize, dtype=torch.float64) - (ksize - 1) / 2.0
    w = torch.exp(-(x * x) / (2.0 * sigma * sigma))
    return w / w.sum()


def disk(radius: float, alias_blur: float) -> torch.Tensor:
    """HR's anti-aliased disk kernel (float32 square, side 17 or 2r+1)."""
    half = 8 if radius <= 8 else int(radius)
    ksize = 3 if radius <= 8 else 5
    grid = torch.arange(-half, half + 1, dtype=torch.float64)
    inside = (grid[None, :] ** 2 + grid[:, None] ** 2) <= radius ** 2
    kernel = inside.to(torch.float32)
    kernel = kernel / kernel.sum()
    g = cv2_gaussian_kernel1d(ksize, alias_blur).to(torch.float32)
    r = ksize // 2
    side = kernel.shape[0]
    idx = pad_indices(side, r, "mirror")  # BORDER_REFLECT_101
    padded = kernel[idx][:, idx]
    rows = sum(g[i] * padded[i:i + side, :] for i in range(ksize))
    return sum(g[i] * rows[:, i:i + side] for i in range(ksize))


def _trim(kernel: torch.Tensor) -> torch.Tensor:
    """Drop all-zero outer rings of a square odd kernel (exact: they contribute nothing)."""
    while kernel.shape[0] > 1 and bool((kernel[0] == 0).all() & (kernel[-1] == 0).all()
                                       & (kernel[:, 0] == 0).all() & (kernel[:, -1] == 0).all()):
        kernel = kernel[1:-1, 1:-1]
    return kernel


def _fast_length(n: int) -> int:
    """The smallest 2-3-5-smooth length >= n (fast FFT sizes)."""
    while True:
        m = n
        for p in (2, 3, 5):
            while m % p == 0:
                m //= p
        if m == 1:
            return n
        n += 1


@lru_cache(maxsize=32)
def _kernel_spectrum(kernel_key: tuple, k: int, hp: int, wp: int, dtype: torch.dtype,
                     device: torch.device) -> torch.Tensor:
    """rfft2 of the flipped kernel, zero-padded to hp x wp (cached per kernel and size)."""
    kernel = torch.tensor(kernel_key, dtype=torch.float64).view(k, k)
    flipped = torch.zeros(hp, wp, dtype=dtype, device=device)
    flipped[:k, :k] = kernel.flip(0, 1).to(dtype=dtype, device=device)
    return torch.fft.rfft2(flipped)


def _tap_groups(kernel: torch.Tensor) -> list[tuple[float, list[tuple[int, int]]]]:
    """Kernel taps grouped by equal weight: [(weight, [(row, col), ...]), ...], zeros dropped."""
    groups: dict[float, list[tuple[int, int]]] = {}
    for (i, j), value in zip(torch.cartesian_prod(torch.arange(kernel.shape[0]),
                                                  torch.arange(kernel.shape[1])).tolist(),
                             kernel.flatten().tolist()):
        if value != 0.0:
            groups.setdefault(value, []).append((i, j))
    return list(groups.items())


def _sum_taps(padded: torch.Tensor, groups, h: int, w: int) -> torch.Tensor:
    """Correlation of M x (h + 2r) x (w + 2r) planes as weighted sums of shifted slices."""
    out = torch.zeros(padded.shape[0], h, w, dtype=padded.dtype, device=padded.device)
    for weight, taps in groups:
        i, j = taps[0]
        group = padded[:, i:i + h, j:j + w]
        if len(taps) > 1:
            group = group.clone()
            for i, j in taps[1:]:
                group += padded[:, i:i + h, j:j + w]
        out.add_(group, alpha=weight)
    return out


def filter2d_reflect101(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """``cv2.filter2D`` (correlation, centred anchor, BORDER_REFLECT_101) of every channel.

    Small kernels sum shifted slices, taps of equal weight first (their sum is exact for
    integer-valued inputs); large ones multiply spectra (the kernel's is cached) at a fast FFT
    length.
    """
    n, c, h, w = x.shape
    k = kernel.shape[0]
    r = k // 2
    rows = pad_indices(h, r, "mirror", x.device)
    cols = pad_indices(w, r, "mirror", x.device)
    padded = x.reshape(n * c, h, w).index_select(1, rows).index_select(2, cols)
    if k * k < _FFT_TAPS:
        groups = _tap_groups(kernel)
        step = max(1, _CHUNK // (h * w)) if x.device.type == "cpu" else n * c
        out = torch.cat([_sum_taps(part, groups, h, w) for part in padded.split(step)])
        return out.reshape(n, c, h, w)
    hp, wp = padded.shape[-2:]
    lh, lw = _fast_length(hp), _fast_length(wp)
    spectrum = _kernel_spectrum(tuple(kernel.flatten().tolist()), k, lh, lw, x.dtype, x.device)
    out = torch.fft.irfft2(torch.fft.rfft2(padded, s=(lh, lw)) * spectrum, s=(lh, lw))
    return out[:, k - 1:k - 1 + h, k - 1:k - 1 + w].reshape(n, c, h, w)


@register_corruption("defocus_blur")
def defocus_blur(images: torch.Tensor, severity: int, preset: str,
                 generator: torch.Generator | None) -> torch.Tensor:
    """HR defocus_blur: filter2D with ``disk(radius, alias_blur)`` in float64 (float32 misses the
    exact bar: the kernels are nearly box filters, so many outputs lie within 1e-6 of an integer).

    Works on the 0..255 scale (HR: on x / 255, then x 255; same values to ~1e-13).
    """
    radius, alias_blur = DEFOCUS_BLUR[preset][severity - 1]
    kernel = _kernel(radius, alias_blur)
    x = filter2d_reflect101(images.to(torch.float64), kernel)
    return x.clamp_(0, 255).to(torch.uint8)


@lru_cache(maxsize=32)
def _kernel(radius: float, alias_blur: float) -> torch.Tensor:
    return _trim(disk(radius, alias_blur))
