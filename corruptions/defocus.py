"""defocus_blur (HR): an anti-aliased disk kernel applied with OpenCV's ``filter2D`` semantics.

``disk(radius, alias_blur)``: a binary disk ``X^2 + Y^2 <= r^2`` on the grid -8..8 (r <= 8) or
-r..r (r > 8), in float32, normalised to sum 1, then blurred like ``cv2.GaussianBlur`` with a
3x3 (r <= 8) or 5x5 (r > 8) Gaussian of sigma ``alias_blur`` and BORDER_REFLECT_101 (not
renormalised). The image is correlated with it per channel, border BORDER_REFLECT_101, via FFT
for large kernels; the uint8 truncation is that of HR's float64 arithmetic (see
:func:`defocus_blur`).
"""

from __future__ import annotations

from functools import lru_cache

import torch
import torch.nn.functional as F

from corruptions.gaussian import pad_indices
from corruptions.registry import register_corruption

DEFOCUS_BLUR = {
    "imagenet": ((3, 0.1), (4, 0.5), (6, 0.5), (8, 0.5), (10, 0.5)),
    "tinyimagenet": ((0.5, 0.6), (1, 0.1), (1.5, 0.1), (2.5, 0.01), (3, 0.1)),
    "cifar": ((0.3, 0.4), (0.4, 0.5), (0.5, 0.6), (1, 0.2), (1.5, 0.1)),
}

# Kernel weights at or below this are negligible next to the float64 sums (< 1e-13 in total).
_NEGLIGIBLE = 1e-18
# float32 outputs this close to an integer are recomputed in float64 (float32 error: ~1e-4).
_NEAR = 2e-3
# Windows are tested for flatness when more than 1 in this many outputs need float64.
_FLAT_SHARE = 256
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


def fast_fft_length(n: int) -> int:
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


def reflect101_pad(planes: torch.Tensor, r: int) -> torch.Tensor:
    """Pad M x H x W planes by ``r`` on each side with BORDER_REFLECT_101."""
    h, w = planes.shape[-2:]
    if r < h and r < w:
        return F.pad(planes[:, None], (r, r, r, r), mode="reflect")[:, 0]
    rows = pad_indices(h, r, "mirror", planes.device)
    cols = pad_indices(w, r, "mirror", planes.device)
    return planes.index_select(1, rows).index_select(2, cols)


def filter2d_reflect101(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """``cv2.filter2D`` (correlation, centred anchor, BORDER_REFLECT_101) of every channel.

    Small kernels sum shifted slices, taps of equal weight first (their sum is exact for
    integer-valued inputs); large ones multiply spectra (the kernel's is cached) at a fast FFT
    length.
    """
    n, c, h, w = x.shape
    k = kernel.shape[0]
    r = k // 2
    padded = reflect101_pad(x.reshape(n * c, h, w), r)
    if k * k < _FFT_TAPS:
        groups = _tap_groups(kernel)
        step = max(1, _CHUNK // (h * w)) if x.device.type == "cpu" else n * c
        out = torch.cat([_sum_taps(part, groups, h, w) for part in padded.split(step)])
        return out.reshape(n, c, h, w)
    hp, wp = padded.shape[-2:]
    lh, lw = fast_fft_length(hp), fast_fft_length(wp)
    spectrum = _kernel_spectrum(tuple(kernel.flatten().tolist()), k, lh, lw, x.dtype, x.device)
    out = torch.fft.irfft2(torch.fft.rfft2(padded, s=(lh, lw)) * spectrum, s=(lh, lw))
    return out[:, k - 1:k - 1 + h, k - 1:k - 1 + w].reshape(n, c, h, w)


@register_corruption("defocus_blur")
def defocus_blur(images: torch.Tensor, severity: int, preset: str,
                 generator: torch.Generator | None) -> torch.Tensor:
    """HR defocus_blur: filter2D with ``disk(radius, alias_blur)``, truncated like float64 math.

    A float32 pass alone misses the exact bar (the kernels are nearly box filters, so many
    outputs lie within 1e-6 of an integer), so the float64 result is recovered cheaply:

    * kernels with one weight ``w0`` above ``_NEGLIGIBLE`` (alias sigma 0.1 or less; the other
      taps add under 1e-13): the float32 sum of the integer pixels under the support is exact,
      and the output is ``w0 * sum`` in float64;
    * other kernels: a float32 pass, then float64 sums only at the outputs whose float32 value
      lies within ``_NEAR`` of an integer (where truncation could differ).

    Works on the 0..255 scale (HR: on x / 255, then x 255; same values to ~1e-13).
    """
    radius, alias_blur = DEFOCUS_BLUR[preset][severity - 1]
    kernel = _kernel(radius, alias_blur)
    support = kernel > _NEGLIGIBLE
    weights = kernel[support].unique()
    x = images.to(torch.float32)
    if weights.numel() == 1:
        sums = filter2d_reflect101(x, support.to(torch.float32)).round_()
        out = sums.to(torch.float64).mul_(float(weights[0]))
        return out.clamp_(0, 255).to(torch.uint8)
    approx = filter2d_reflect101(x, kernel)
    out = approx.clamp(0, 255).to(torch.uint8)
    near = ((approx - approx.round()).abs() < _NEAR).flatten().nonzero()[:, 0]
    if not near.numel():
        return out
    n, c, h, w = x.shape
    k = kernel.shape[0]
    padded = reflect101_pad(x.reshape(n * c, h, w), k // 2)
    exact = torch.empty(near.shape, dtype=torch.float64, device=x.device)
    rest = torch.ones_like(near, dtype=torch.bool)
    if near.numel() * _FLAT_SHARE >= x.numel():
        # Mostly flat image regions: there the output is the pixel value times the kernel sum.
        rest = ~_flat_windows(padded, k).flatten()[near]
        exact[~rest] = x.flatten()[near[~rest]].to(torch.float64) * kernel.double().sum()
    exact[rest] = _correlate_at(padded, kernel, near[rest], h, w)
    out.view(-1)[near] = exact.clamp_(0, 255).to(torch.uint8)
    return out


def _all_along(flags: torch.Tensor, length: int, dim: int) -> torch.Tensor:
    """``out[j] = flags[j:j + length].all()`` along ``dim`` (length >= 1), by doubling spans."""
    span = 1
    while span < length:
        step = min(span, length - span)
        size = flags.shape[dim] - step
        flags = flags.narrow(dim, 0, size) & flags.narrow(dim, step, size)
        span += step
    return flags


def _flat_windows(padded: torch.Tensor, k: int) -> torch.Tensor:
    """Whether each k x k window of M x (H + k - 1) x (W + k - 1) planes is constant (M x H x W):
    every row constant along its k pixels, and the first column constant along its k rows."""
    w = padded.shape[-1] - k + 1
    rows = _all_along(padded[:, :, 1:] == padded[:, :, :-1], k - 1, 2)
    first_column = _all_along(padded[:, 1:, :w] == padded[:, :-1, :w], k - 1, 1)
    return _all_along(rows, k, 1) & first_column


def _correlate_at(padded: torch.Tensor, kernel: torch.Tensor, flat_index: torch.Tensor,
                  h: int, w: int, chunk: int = 4096) -> torch.Tensor:
    """float64 correlation of the reflect-padded M x (h + k - 1) x (w + k - 1) planes with
    ``kernel`` at the given flat indices of the M x h x w output only."""
    k = kernel.shape[0]
    padded = padded.flatten()
    hp, wp = h + k - 1, w + k - 1
    taps = kernel.flatten().nonzero()[:, 0]
    offsets = (taps // k) * wp + taps % k
    weights = kernel.flatten()[taps].to(torch.float64)
    plane, pixel = flat_index // (h * w), flat_index % (h * w)
    base = plane * (hp * wp) + (pixel // w) * wp + pixel % w
    return torch.cat([padded[part[:, None] + offsets].to(torch.float64) @ weights
                      for part in base.split(chunk)])


@lru_cache(maxsize=32)
def _kernel(radius: float, alias_blur: float) -> torch.Tensor:
    return _trim(disk(radius, alias_blur))
