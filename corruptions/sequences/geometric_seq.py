"""Geometric sequences: translate, rotate, scale, shear (PIL affine) and tilt (cv2 perspective).

The frames do not depend on the difficulty (it is a comparison stride at evaluation time).
Each sequence is one batched warp over all frames (:mod:`corruptions.sequences.warp`),
reproducing torchvision's ``F.affine`` on PIL images (centre (W/2, H/2), fill 0) and
``cv2.warpPerspective`` (bilinear, constant border 0).

* translate: x shift i - 7 px for i = 0..15 (CIFAR-10-P) or i - 20 for i = 0..40 (ImageNet-P),
  nearest.
* rotate: i - 15 degrees; shear: x shear i - 15 degrees; bilinear, i = 0..30.
* scale: (2 i + 70) / 100 (CIFAR-10-P) or (2.5 i + 40) / 100 (ImageNet-P), bilinear.
* tilt: a 3-D rotation by the same angle about the x and y axes, 0.75 (i - 15) degrees
  (CIFAR-10-P) or i - 15 degrees (ImageNet-P), projected with focal length sqrt(W^2 + H^2).

ImageNet-P applies these warps to the Resize(256) image and then takes the centre 224 crop, so
content beyond the crop slides into view; from a 224 px input that content does not exist and
those areas are 0 here (and tilt's focal length comes from the input size). zoom_blur (blur_seq)
only magnifies and is unaffected, as are all non-geometric sequences.
"""

from __future__ import annotations

import math

import torch

from corruptions.sequences.frames import register_kernel
from corruptions.sequences.warp import cv_warp_perspective, pil_affine, pil_affine_matrices

TRANSLATE = {
    "imagenet": tuple(float(i - 20) for i in range(41)),
    "tinyimagenet": tuple(float(i - 20) for i in range(41)),
    "cifar": tuple(float(i - 7) for i in range(16)),
}
ROTATE = {preset: tuple(float(i - 15) for i in range(31))
          for preset in ("imagenet", "tinyimagenet", "cifar")}
SHEAR = {preset: tuple(float(i - 15) for i in range(31))
         for preset in ("imagenet", "tinyimagenet", "cifar")}
SCALE = {
    "imagenet": tuple((i * 2.5 + 40) / 100.0 for i in range(31)),
    "tinyimagenet": tuple((i * 2.5 + 40) / 100.0 for i in range(31)),
    "cifar": tuple((i * 2 + 70) / 100.0 for i in range(31)),
}
TILT = {
    "imagenet": tuple(float(i - 15) for i in range(31)),
    "tinyimagenet": tuple(float(i - 15) for i in range(31)),
    "cifar": tuple(0.75 * (i - 15) for i in range(31)),
}


def _affine(images: torch.Tensor, interpolation: str, **params) -> torch.Tensor:
    _, _, h, w = images.shape
    return pil_affine(images, pil_affine_matrices(h, w, device=images.device, **params),
                      interpolation)


@register_kernel("translate")
def translate(images: torch.Tensor, difficulty: int, preset: str,
              generator: torch.Generator | None = None) -> torch.Tensor:
    """Horizontal shift sweep, nearest, fill 0 (deterministic; difficulty ignored)."""
    return _affine(images, "nearest", translate=(TRANSLATE[preset], 0.0))


@register_kernel("rotate")
def rotate(images: torch.Tensor, difficulty: int, preset: str,
           generator: torch.Generator | None = None) -> torch.Tensor:
    """Rotation sweep -15..15 degrees, bilinear (deterministic; difficulty ignored)."""
    return _affine(images, "bilinear", angle=ROTATE[preset])


@register_kernel("shear")
def shear(images: torch.Tensor, difficulty: int, preset: str,
          generator: torch.Generator | None = None) -> torch.Tensor:
    """Shear sweep -15..15 degrees, bilinear (deterministic; difficulty ignored)."""
    return _affine(images, "bilinear", shear=SHEAR[preset])


@register_kernel("scale")
def scale(images: torch.Tensor, difficulty: int, preset: str,
          generator: torch.Generator | None = None) -> torch.Tensor:
    """Zoom out/in sweep about the centre, bilinear (deterministic; difficulty ignored)."""
    return _affine(images, "bilinear", scale=SCALE[preset])


def tilt_matrices(height: int, width: int, degrees, device=None) -> torch.Tensor:
    """Source-to-destination perspective matrices (T x 3 x 3, float64) of the tilt sequence.

    Centre the pixel grid, rotate by ``degrees`` about the y axis and then the x axis, push the
    plane to depth f = sqrt(W^2 + H^2) and project with focal length f about the centre.
    """
    a = torch.deg2rad(torch.as_tensor(degrees, dtype=torch.float64, device=device))
    t = a.numel()
    f = math.sqrt(width ** 2 + height ** 2)
    eye4 = torch.eye(4, dtype=torch.float64, device=device)
    cos, sin = torch.cos(a), torch.sin(a)
    rx = eye4.repeat(t, 1, 1)
    rx[:, 1, 1], rx[:, 1, 2], rx[:, 2, 1], rx[:, 2, 2] = cos, -sin, sin, cos
    ry = eye4.repeat(t, 1, 1)
    ry[:, 0, 0], ry[:, 0, 2], ry[:, 2, 0], ry[:, 2, 2] = cos, -sin, sin, cos
    centre = torch.tensor([[1, 0, -width / 2], [0, 1, -height / 2], [0, 0, 1], [0, 0, 1]],
                          dtype=torch.float64, device=device)
    depth = eye4.clone()
    depth[2, 3] = f
    project = torch.tensor([[f, 0, width / 2, 0], [0, f, height / 2, 0], [0, 0, 1, 0]],
                           dtype=torch.float64, device=device)
    return project @ depth @ rx @ ry @ centre


@register_kernel("tilt")
def tilt(images: torch.Tensor, difficulty: int, preset: str,
         generator: torch.Generator | None = None) -> torch.Tensor:
    """Perspective tilt sweep (deterministic; difficulty ignored)."""
    _, _, h, w = images.shape
    return cv_warp_perspective(images, tilt_matrices(h, w, TILT[preset], images.device))
