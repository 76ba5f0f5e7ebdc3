"""motion_blur: ImageMagick's ``MotionBlurImage`` as ported to numpy by imagecorruptions (HEAD).

The kernel has ``2 * radius + 1`` taps weighted by a one-sided Gaussian ``exp(-i^2 / 2 sigma^2)``
(normalised over the taps); tap ``i`` reads the pixel at offset
``(-ceil(i w sin a / hypot - 0.5), -ceil(i w cos a / hypot - 0.5))`` rows/columns (ImageMagick's
double-precision formula, see ``motion_kernel``), clamped to the image edge; the
taps stop at the first one whose offset leaves the image (imagecorruptions' "motion exceeded
image borders" break; remaining weight is dropped, not renormalised). The angle of each image is
drawn from U(-45, 45) degrees; the result is quantised like ImageMagick's 16-bit pipeline
(``imagemagick_uint8``).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from corruptions.fft import fast_fft_length, irfft2, rfft2
from corruptions.noise import resolve_generator
from corruptions.presets import scale_count, scale_length
from corruptions.registry import register_corruption

# ImageMagick (radius, sigma) per severity (HR make_*_c.py).
MOTION_BLUR = {
    "imagenet": ((10, 3), (15, 5), (15, 8), (15, 12), (20, 15)),
    "tinyimagenet": ((10, 1), (10, 1.5), (10, 2), (10, 2.5), (12, 3)),
    "cifar": ((6, 1), (6, 1.5), (6, 2), (8, 2), (9, 2.5)),
}

# Above this many (taps x pixels) per image the blur runs as an FFT convolution.
_FFT_THRESHOLD = 16 * 64 * 64


def motion_kernel(radius: int, sigma: float, angles_deg: torch.Tensor, height: int, width: int
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-image taps of the motion blur: (weights N x T float64, dy N x T, dx N x T int64).

    Offsets follow ImageMagick's MotionBlurImage in double precision: with w = 2 radius + 1,
    a = pi angle / 180, (px, py) = (w sin a, w cos a) from libm and hyp = hypot(px, py), tap i
    reads ``(dy, dx) = (-ceil(i px / hyp - 0.5), -ceil(i py / hyp - 0.5))`` (this decides the
    exact half-pixel ties, e.g. at -30 and -150 degrees). Taps from the first one that leaves an
    ``height`` x ``width`` image on get weight 0 and offset (0, 0).
    """
    taps = 2 * int(radius) + 1
    device = angles_deg.device
    i = torch.arange(taps, dtype=torch.float64, device=device)
    k = torch.exp(-(i ** 2) / (2.0 * float(sigma) ** 2))
    k = k / k.sum()
    points = []
    for angle in angles_deg.to(torch.float64).tolist():
        a = math.pi * angle / 180.0
        px, py = taps * math.sin(a), taps * math.cos(a)
        points.append((px, py, math.hypot(px, py)))
    px, py, hyp = torch.tensor(points, dtype=torch.float64, device=device).reshape(-1, 3).unbind(1)
    dy = -torch.ceil(i * px[:, None] / hyp[:, None] - 0.5).long()
    dx = -torch.ceil(i * py[:, None] / hyp[:, None] - 0.5).long()
    inside = ((dy.abs() < height) & (dx.abs() < width)).long().cumprod(1).bool()
    return k * inside, dy * inside, dx * inside


def motion_blur_batch(x: torch.Tensor, radius: int, sigma: float, angles_deg: torch.Tensor
                      ) -> torch.Tensor:
    """Motion-blur each image of a float N x C x H x W tensor at its own angle (degrees).

    ``out[n, :, h, w] = sum_i k_i * x[n, :, clamp(h - dy_ni), clamp(w - dx_ni)]`` (edge pixels
    repeat). Same dtype and value scale as ``x``; ``angles_deg`` has N entries.
    """
    n, c, h, w = x.shape
    weights, dy, dx = motion_kernel(radius, sigma, angles_deg.to(x.device), h, w)
    # Edge-replicating pad just wide enough for every offset (p_in = p_out - d).
    top, bottom = int(dy.max().clamp(min=0)), int((-dy).max().clamp(min=0))
    left, right = int(dx.max().clamp(min=0)), int((-dx).max().clamp(min=0))
    padded = F.pad(x, (left, right, top, bottom), mode="replicate")
    weights = weights.to(x.dtype)
    if weights.shape[1] * h * w > _FFT_THRESHOLD:
        return _blur_fft(padded, weights, dy, dx, h, w, top, left)
    return _blur_gather(padded, weights, dy, dx, h, w, top, left)


def _blur_gather(padded, weights, dy, dx, h, w, top, left):
    n, c, hp, wp = padded.shape
    flat = padded.reshape(n, c, hp * wp)
    rows = torch.arange(h, device=padded.device)[:, None] * wp
    grid = (rows + torch.arange(w, device=padded.device)[None, :]).reshape(1, -1)
    out = torch.zeros(n, c, h * w, dtype=padded.dtype, device=padded.device)
    for t in range(weights.shape[1]):
        start = (top - dy[:, t]) * wp + (left - dx[:, t])
        index = (grid + start[:, None])[:, None, :].expand(n, c, h * w)
        out += weights[:, t, None, None] * flat.gather(2, index)
    return out.reshape(n, c, h, w)


def _blur_fft(padded, weights, dy, dx, h, w, top, left):
    n, c, hp, wp = padded.shape
    # A fast (2-3-5-smooth) FFT size; every kept output reads inside ``padded``, so the larger
    # circle wraps nothing into them.
    lh, lw = fast_fft_length(hp), fast_fft_length(wp)
    kernel = torch.zeros(n, lh, lw, dtype=padded.dtype, device=padded.device)
    rows = torch.arange(n, device=padded.device)[:, None].expand_as(dy)
    # Circular convolution: out[p] = sum_i k_i * padded[p - (dy_i, dx_i)].
    kernel.index_put_((rows, dy % lh, dx % lw), weights, accumulate=True)
    spectrum = rfft2(padded, (lh, lw)) * rfft2(kernel, (lh, lw))[:, None]
    out = irfft2(spectrum, (lh, lw))
    return out[..., top:top + h, left:left + w]


def random_angles(n: int, low: float, high: float, generator: torch.Generator,
                  device: torch.device) -> torch.Tensor:
    """N angles in degrees from U(low, high), drawn from ``generator``."""
    u = torch.rand(n, generator=generator, device=device, dtype=torch.float64)
    return low + (high - low) * u


@register_corruption("motion_blur")
def motion_blur(images: torch.Tensor, severity: int, preset: str,
                generator: torch.Generator | None) -> torch.Tensor:
    """HR motion_blur: per-image angle U(-45, 45), ImageMagick (radius, sigma) of the preset."""
    radius, sigma = MOTION_BLUR[preset][severity - 1]
    radius, sigma = scale_count(radius, preset), scale_length(sigma, preset)
    generator = resolve_generator(generator, images.device)
    angles = random_angles(images.shape[0], -45.0, 45.0, generator, images.device)
    out = motion_blur_batch(images.to(torch.float32), radius, sigma, angles)
    return imagemagick_uint8(out)


def imagemagick_uint8(x: torch.Tensor) -> torch.Tensor:
    """8-bit output of ImageMagick Q16 for a float result ``x`` on the 0..255 scale.

    ImageMagick stores ``round(257 x)`` as a 16-bit quantum and the 8-bit PNG keeps
    ``quantum // 257``; with this, HR's motion_blur outputs are reproduced bit for bit at their
    own angles (plain ``np.uint8`` truncation, as imagecorruptions does, misses ~1 % by one).
    """
    quantum = torch.floor(x.clamp(0, 255) * 257.0 + 0.5)
    return torch.div(quantum, 257, rounding_mode="floor").to(torch.uint8)
