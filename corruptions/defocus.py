"""defocus_blur (HR): an anti-aliased disk kernel applied with OpenCV's ``filter2D`` semantics.

``disk(radius, alias_blur)``: a binary disk ``X^2 + Y^2 <= r^2`` on the grid -8..8 (r <= 8) or
-r..r (r > 8), in float32, normalised to sum 1, then blurred like ``cv2.GaussianBlur`` with a
3x3 (r <= 8) or 5x5 (r > 8) Gaussian of sigma ``alias_blur`` and BORDER_REFLECT_101 (not
renormalised). The image is correlated with it per channel, border BORDER_REFLECT_101, and
truncated to uint8 as HR's float64 arithmetic does (see :func:`defocus_blur`). The planes go
through in chunks that stay in cache: a float32 correlation (integer disk sums then a 3 x 3
blur, shifted slices, or an FFT), then the truncation of that chunk.
"""

from __future__ import annotations

from functools import lru_cache

import torch

from corruptions._defocus_sums import (correlate_at, flat_at, flat_under, nonzero,
                                       planes_per_chunk, reflect101_pad, run_sums)
from corruptions.fft import fast_fft_length, irfft2, rfft2
from corruptions.gaussian import pad_indices
from corruptions.presets import scale_length
from corruptions.registry import register_corruption

DEFOCUS_BLUR = {
    "imagenet": ((3, 0.1), (4, 0.5), (6, 0.5), (8, 0.5), (10, 0.5)),
    "tinyimagenet": ((0.5, 0.6), (1, 0.1), (1.5, 0.1), (2.5, 0.01), (3, 0.1)),
    "cifar": ((0.3, 0.4), (0.4, 0.5), (0.5, 0.6), (1, 0.2), (1.5, 0.1)),
}

# Kernel weights at or below this are negligible next to the float64 sums (< 1e-13 in total).
_NEGLIGIBLE = 1e-18
# float32 outputs this close to an integer get the float64 treatment. Measured float32 errors:
# FFT ~1e-4, shifted slices ~2e-5, exact disk sums then a 3 x 3 blur ~3e-5 (at 0..255).
_NEAR_FFT = 5e-4
_NEAR = 2.5e-4
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


@lru_cache(maxsize=32)
def _kernel_spectrum(kernel_key: tuple, k: int, hp: int, wp: int,
                     device: torch.device) -> torch.Tensor:
    """rfft2 of the flipped float32 kernel, zero-padded to hp x wp (cached per kernel, size)."""
    kernel = torch.tensor(kernel_key, dtype=torch.float64).view(k, k)
    flipped = torch.zeros(hp, wp, dtype=torch.float32, device=device)
    flipped[:k, :k] = kernel.flip(0, 1).to(dtype=torch.float32, device=device)
    return rfft2(flipped, (hp, wp))


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


@register_corruption("defocus_blur")
def defocus_blur(images: torch.Tensor, severity: int, preset: str,
                 generator: torch.Generator | None) -> torch.Tensor:
    """HR defocus_blur: filter2D with ``disk(radius, alias_blur)``, truncated like float64 math.

    A float32 pass alone misses the exact bar (the kernels are nearly box filters, so many
    outputs lie within 1e-6 of an integer), so the float64 truncation is recovered cheaply:

    * kernels with one weight ``w0`` above ``_NEGLIGIBLE`` (alias sigma 0.1 or less; the other
      taps add under 1e-13): the sum of the integer pixels under the support is exact (row
      runs), and the output is ``w0 * sum`` in float64;
    * other kernels: a float32 correlation whose error is well under a bound ``e``; outputs
      farther than ``e`` from an integer truncate as float64 would, and so do those near 0
      (sums of non-negative terms). For the others: a window whose pixels under the kernel all
      equal its centre ``p`` gets HR's float64 value there, ``uint8(p * sum(kernel))`` (only
      outputs within ``e`` of that value are tested for flatness, whole planes at once or
      window by window); the rest get their float64 sum computed at that output.

    Works on the 0..255 scale (HR: on x / 255, then x 255; same values to ~1e-13).
    """
    radius, alias_blur = (scale_length(p, preset) for p in DEFOCUS_BLUR[preset][severity - 1])
    kernel = _kernel(radius, alias_blur)
    support = kernel > _NEGLIGIBLE
    weights = kernel[support].unique()
    if weights.numel() == 1:
        mask = _trim(support.to(torch.float32)) > 0
        sums = _correlate_chunks(images, mask, lambda part, h, w: run_sums(part, mask, h, w))
        return sums.to(torch.float64).mul_(float(weights[0])).clamp_(0, 255).to(torch.uint8)
    approximate, bound = _approximation(kernel, radius, alias_blur)
    return _truncate(images, kernel, approximate, bound)


def _approximation(kernel: torch.Tensor, radius: float, alias_blur: float):
    """The float32 correlation of padded uint8 planes with ``kernel`` (a function of the planes
    and the output size) and a bound well above its error.

    Where the kernel is exactly the 3 x 3 Gaussian blur of the normalised disk (the blur stays
    inside the kernel grid, so no reflected taps), the disk sums come from row runs in integers
    and the blur is a separable 3 x 3 pass. Otherwise small kernels sum shifted slices, taps of
    equal weight first, and large ones multiply spectra (the kernel's cached) at a fast FFT
    length.
    """
    inside = _disk_mask(radius)
    k = kernel.shape[0]
    if radius <= 8 and inside.shape[0] <= 13 and k == inside.shape[0] + 2:
        g = cv2_gaussian_kernel1d(3, alias_blur)
        side, centre = float(g[0]), float(g[1])
        scale = 1.0 / float(inside.sum())

        def blurred_disk(part: torch.Tensor, h: int, w: int) -> torch.Tensor:
            sums = run_sums(part, inside, h + 2, w + 2).to(torch.float32)
            rows = sums[:, :, 1:-1] * (centre * scale)
            rows += (sums[:, :, :-2] + sums[:, :, 2:]) * (side * scale)
            out = rows[:, 1:-1] * centre
            out += (rows[:, :-2] + rows[:, 2:]) * side
            return out
        return blurred_disk, _NEAR
    if k * k < _FFT_TAPS:
        groups = _tap_groups(kernel)
        return (lambda part, h, w: _sum_taps(part.to(torch.float32), groups, h, w)), _NEAR

    key = tuple(kernel.flatten().tolist())

    def fft(part: torch.Tensor, h: int, w: int) -> torch.Tensor:
        hp, wp = part.shape[-2:]
        lh, lw = fast_fft_length(hp), fast_fft_length(wp)
        spectrum = _kernel_spectrum(key, k, lh, lw, part.device)
        out = irfft2(rfft2(part.to(torch.float32), (lh, lw)) * spectrum, (lh, lw))
        return out[:, k - 1:k - 1 + h, k - 1:k - 1 + w]
    return fft, _NEAR_FFT


def _correlate_chunks(images: torch.Tensor, mask: torch.Tensor, correlate) -> torch.Tensor:
    """``correlate(padded planes, h, w)`` over chunks of planes padded for ``mask``, joined."""
    n, c, h, w = images.shape
    padded = reflect101_pad(images.reshape(n * c, h, w), mask.shape[0] // 2)
    return torch.cat([correlate(part, h, w)
                      for part in padded.split(planes_per_chunk(images))]).reshape(n, c, h, w)


def _truncate(images: torch.Tensor, kernel: torch.Tensor, approximate, bound: float) -> torch.Tensor:
    """uint8 truncation of the float64 correlation, chunk by chunk from its float32
    approximation (error under ``bound``); see :func:`defocus_blur`."""
    n, c, h, w = images.shape
    support = kernel != 0
    taps = support.flatten().nonzero()[:, 0].to(images.device)
    planes = images.reshape(n * c, h, w)
    padded = reflect101_pad(planes, kernel.shape[0] // 2)
    out = torch.empty(n * c, h, w, dtype=torch.uint8, device=images.device)
    flat_exact = torch.arange(256, dtype=torch.float64, device=images.device) * kernel.double().sum()
    flat_approx = flat_exact.to(torch.float32)
    flat_values = flat_exact.clamp(0, 255).to(torch.uint8)
    step = planes_per_chunk(images)
    exact = []
    for start in range(0, n * c, step):
        part = padded[start:start + step]
        approx = approximate(part, h, w)
        dest = out[start:start + step].view(-1)
        dest.copy_(approx.clamp(0, 255).to(torch.int16).view(-1))
        near = nonzero(torch.frac(approx + bound) < 2 * bound)
        values = approx.flatten()[near]
        # Sums of non-negative terms below 1 truncate to 0 as they are: only m >= 1 is in doubt.
        doubtful = values > bound
        near, values = near[doubtful], values[doubtful]
        if not near.numel():
            continue
        centre = planes[start:start + step].flatten()[near].long()
        flat = (values - flat_approx[centre]).abs_() < bound
        candidates = flat.nonzero()[:, 0]
        if candidates.numel() * len(taps) > part.numel():  # many: test whole planes
            flat &= flat_under(part, support, h, w).flatten()[near]
        elif candidates.numel():  # few: test their windows tap by tap
            flat[candidates] = flat_at(part, taps, near[candidates], centre[candidates], h, w)
        dest[near] = torch.where(flat, flat_values[centre], dest[near])
        exact.append(near[~flat] + start * h * w)
    rest = torch.cat(exact) if exact else torch.empty(0, dtype=torch.long, device=images.device)
    if rest.numel():
        out.view(-1)[rest] = correlate_at(padded, kernel, rest, h, w).clamp_(0, 255).to(torch.uint8)
    return out.reshape(n, c, h, w)


@lru_cache(maxsize=32)
def _disk_mask(radius: float) -> torch.Tensor:
    """HR's binary disk ``X^2 + Y^2 <= r^2`` trimmed to its bounding square (bool)."""
    half = 8 if radius <= 8 else int(radius)
    grid = torch.arange(-half, half + 1, dtype=torch.float64)
    return _trim((grid[None, :] ** 2 + grid[:, None] ** 2 <= radius ** 2).to(torch.float32)) > 0


@lru_cache(maxsize=32)
def _kernel(radius: float, alias_blur: float) -> torch.Tensor:
    return _trim(disk(radius, alias_blur))
