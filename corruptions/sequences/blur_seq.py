"""Blur sequences: motion blur sweeping its angle, zoom blur accumulating, gaussian blur growing.

The frames do not depend on the difficulty (it is a comparison stride at evaluation time).

* motion_blur: the ImageMagick motion blur (port in :mod:`corruptions.motion`, float64,
  quantised like ImageMagick's 16-bit result read as 8 bit) of every frame at its own angle.
  CIFAR-10-P: radius 6, sigma 1.8, angles (i - 20) 9 for i = 0..20 (21 frames); ImageNet-P:
  radius 10, sigma 3, angles (i - 30) 4 for i = 0..30.
* zoom_blur: frame 0 is the image; frame i is the float32 running mean of the image and its
  PIL-bilinear affine zooms by 1 + 0.004 j (j = 1..i), truncated like ``ToPILImage``.
* gaussian_blur: ``uint8(255 gaussian(x, sigma_i))`` (skimage, mode 'nearest') with CIFAR-10-P
  sigma_i = .3 + .015 i, truncate 7, and ImageNet-P sigma_i = .25 + .035 i, truncate 6; all
  31 blurs as two batched window products with zero-padded kernels of the largest radius.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from corruptions.gaussian import gaussian_kernel1d, pad_indices
from corruptions.motion import motion_blur_batch
from corruptions.sequences.frames import register_kernel
from corruptions.sequences.noise_seq import with_clean_first
from corruptions.sequences.warp import pil_affine, pil_affine_matrices

# (radius, sigma, angles in degrees per frame)
MOTION_BLUR = {
    "imagenet": (10, 3, tuple(float((i - 30) * 4) for i in range(31))),
    "tinyimagenet": (10, 3, tuple(float((i - 30) * 4) for i in range(31))),
    "cifar": (6, 1.8, tuple(float((i - 20) * 9) for i in range(21))),
}
ZOOM_BLUR = {preset: tuple(1 + 0.004 * i for i in range(1, 31))
             for preset in ("imagenet", "tinyimagenet", "cifar")}
# (sigmas per frame, truncate)
GAUSSIAN_BLUR = {
    "imagenet": (tuple(0.25 + 0.035 * i for i in range(31)), 6.0),
    "tinyimagenet": (tuple(0.25 + 0.035 * i for i in range(31)), 6.0),
    "cifar": (tuple(0.3 + 0.015 * i for i in range(31)), 7.0),
}


def imagemagick_8bit(x: torch.Tensor) -> torch.Tensor:
    """ImageMagick's Q16 result read back as 8 bit: ``floor(round(257 x) / 257)`` (0..255 scale).

    Matches the reference sequences bit for bit given a float64 blur (plain truncation leaves
    ~0.3 % of the values one grey level low).
    """
    return torch.floor(torch.round(x.clamp(0, 255) * 257) / 257)


@register_kernel("motion_blur")
def motion_blur(images: torch.Tensor, difficulty: int, preset: str,
                generator: torch.Generator | None = None) -> torch.Tensor:
    """Motion blur at a sweeping angle (deterministic; difficulty ignored)."""
    radius, sigma, angles = MOTION_BLUR[preset]
    n, c, h, w = images.shape
    t = len(angles)
    x = images.to(torch.float64)[:, None].expand(n, t, c, h, w).reshape(n * t, c, h, w)
    per_frame = torch.tensor(angles, dtype=torch.float64, device=images.device).repeat(n)
    out = imagemagick_8bit(motion_blur_batch(x, radius, sigma, per_frame))
    return out.to(torch.uint8).reshape(n, t, c, h, w)


@register_kernel("zoom_blur")
def zoom_blur(images: torch.Tensor, difficulty: int, preset: str,
              generator: torch.Generator | None = None) -> torch.Tensor:
    """Clean frame, then running means of growing zooms (deterministic; difficulty ignored)."""
    _, _, h, w = images.shape
    zooms = pil_affine(images, pil_affine_matrices(h, w, scale=ZOOM_BLUR[preset],
                                                   device=images.device), "bilinear")
    total = images.to(torch.float32).div(255)
    frames = []
    for i in range(zooms.shape[1]):  # float32 running sum in the reference's order
        total = total + zooms[:, i].to(torch.float32).div(255)
        frames.append((total / (i + 2)).mul(255).to(torch.uint8))
    return with_clean_first(images, torch.stack(frames, 1))


def gaussian_blur_frames(x: torch.Tensor, sigmas, truncate: float) -> torch.Tensor:
    """skimage ``gaussian(x, sigma)`` (mode 'nearest') of float N x C x H x W for every sigma.

    Returns N x T x C x H x W in ``x``'s dtype. Each axis is one batched product of the
    edge-padded sliding windows with the bank of T kernels (each zero-padded to the largest
    radius), which is fast in float64 where grouped convolutions are not.
    """
    n, c, h, w = x.shape
    kernels = [gaussian_kernel1d(s, truncate, dtype=x.dtype, device=x.device) for s in sigmas]
    radius = max((k.numel() - 1) // 2 for k in kernels)
    bank = torch.stack([F.pad(k, (radius - (k.numel() - 1) // 2,) * 2) for k in kernels])
    size = 2 * radius + 1
    y = x.index_select(2, pad_indices(h, radius, "nearest", x.device))
    y = torch.einsum("nchwk,tk->ntchw", y.unfold(2, size, 1), bank)
    y = y.index_select(4, pad_indices(w, radius, "nearest", x.device))
    return torch.einsum("ntchwk,tk->ntchw", y.unfold(4, size, 1), bank)


@register_kernel("gaussian_blur")
def gaussian_blur(images: torch.Tensor, difficulty: int, preset: str,
                  generator: torch.Generator | None = None) -> torch.Tensor:
    """Gaussian blur of growing sigma (deterministic; difficulty ignored)."""
    sigmas, truncate = GAUSSIAN_BLUR[preset]
    blurred = gaussian_blur_frames(images.to(torch.float64) / 255.0, sigmas, truncate)
    return (blurred * 255).clamp(0, 255).to(torch.uint8)
