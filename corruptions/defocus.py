"""defocus_blur (HR): an anti-aliased disk kernel applied with OpenCV's ``filter2D`` semantics.

``disk(radius, alias_blur)``: a binary disk ``X^2 + Y^2 <= r^2`` on the grid -8..8 (r <= 8) or
-r..r (r > 8), in float32, normalised to sum 1, then blurred like ``cv2.GaussianBlur`` with a
3x3 (r <= 8) or 5x5 (r > 8) Gaussian of sigma ``alias_blur`` and BORDER_REFLECT_101 (not
renormalised). The image (float64 in [0, 1]) is correlated with it per channel, border
BORDER_REFLECT_101, via FFT for large kernels.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from corruptions.gaussian import pad_indices
from corruptions.registry import register_corruption

DEFOCUS_BLUR = {
    "imagenet": ((3, 0.1), (4, 0.5), (6, 0.5), (8, 0.5), (10, 0.5)),
    "tinyimagenet": ((0.5, 0.6), (1, 0.1), (1.5, 0.1), (2.5, 0.01), (3, 0.1)),
    "cifar": ((0.3, 0.4), (0.4, 0.5), (0.5, 0.6), (1, 0.2), (1.5, 0.1)),
}

# Kernels with at least this many taps are applied through an FFT.
_FFT_TAPS = 121


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


def filter2d_reflect101(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """``cv2.filter2D`` (correlation, centred anchor, BORDER_REFLECT_101) of every channel."""
    n, c, h, w = x.shape
    k = kernel.shape[0]
    r = k // 2
    rows = pad_indices(h, r, "mirror", x.device)
    cols = pad_indices(w, r, "mirror", x.device)
    padded = x.reshape(n * c, 1, h, w).index_select(2, rows).index_select(3, cols)
    kernel = kernel.to(device=x.device, dtype=x.dtype)
    if k * k < _FFT_TAPS:
        out = F.conv2d(padded, kernel[None, None])
    else:
        hp, wp = padded.shape[-2:]
        flipped = torch.zeros(hp, wp, dtype=x.dtype, device=x.device)
        flipped[:k, :k] = kernel.flip(0, 1)
        spectrum = torch.fft.rfft2(padded) * torch.fft.rfft2(flipped)
        out = torch.fft.irfft2(spectrum, s=(hp, wp))[..., k - 1:, k - 1:]
    return out.reshape(n, c, h, w)


@register_corruption("defocus_blur")
def defocus_blur(images: torch.Tensor, severity: int, preset: str,
                 generator: torch.Generator | None) -> torch.Tensor:
    """HR defocus_blur: filter2D with ``disk(radius, alias_blur)`` in float64 (float32 misses the exact bar)."""
    radius, alias_blur = DEFOCUS_BLUR[preset][severity - 1]
    kernel = _trim(disk(radius, alias_blur))
    x = filter2d_reflect101(images.to(torch.float64) / 255.0, kernel)
    return (x.clamp(0, 1) * 255).to(torch.uint8)
