"""Geometric kernels: flips, padded crops and PIL-style affine warps with per-sample matrices.

Affine matrices follow PIL's ``Image.transform(size, AFFINE, data)`` convention: a 2 x 3 matrix
``(a, b, c, d, e, f)`` maps the centre ``(x + 0.5, y + 0.5)`` of each *output* pixel to the input
position ``(a x + b y + c, d x + e y + f)``; positions outside ``[0, W) x [0, H)`` take the fill
value, others are sampled bilinearly with edge clamping, and the result is truncated to uint8.
"""

from __future__ import annotations

import functools

import numpy as np
import torch
import torch.nn.functional as F

# Added before truncation so that values that are integers up to float32 rounding stay integers.
_TRUNCATE_EPS = 1e-3
# Float pixels per grid_sample chunk (about 4 MiB: the chunk's passes stay in cache).
_CHUNK_BYTES = 1 << 22
# Up to this many whole-pixel moves among warps, in images of up to this many pixels, are
# warped with the rest and then overwritten.
_FEW_MOVES, _SMALL_IMAGE = 2, 64 * 64


def hflip_image(images: torch.Tensor) -> torch.Tensor:
    """Mirror left-right (PIL ``FLIP_LEFT_RIGHT``)."""
    return images.flip(-1)


def vflip_image(images: torch.Tensor) -> torch.Tensor:
    """Mirror top-bottom (PIL ``FLIP_TOP_BOTTOM``)."""
    return images.flip(-2)


def crop_padded_image(
    images: torch.Tensor, tops: torch.Tensor, lefts: torch.Tensor, padding: int
) -> torch.Tensor:
    """Zero-pad by ``padding`` on every side, then crop the original size at per-sample offsets
    (``tops``/``lefts`` in ``[0, 2 * padding]``), as torchvision ``RandomCrop(size, padding)``."""
    n, c, h, w = images.shape
    padded = F.pad(images, (padding, padding, padding, padding))
    pw = w + 2 * padding
    device = images.device
    rows = tops.to(device).view(n, 1, 1) + torch.arange(h, device=device).view(1, h, 1)
    cols = lefts.to(device).view(n, 1, 1) + torch.arange(w, device=device).view(1, 1, w)
    index = (rows * pw + cols).view(n, 1, h * w).expand(n, c, h * w)
    return padded.view(n, c, -1).gather(2, index).view(n, c, h, w)


def affine_image(images: torch.Tensor, matrices: torch.Tensor, fill: float = 0.0) -> torch.Tensor:
    """Warp each image with its own PIL-convention affine matrix (``N x 2 x 3``), bilinear.
    ``fill`` is a value in [0, 255].

    Matrices that only move by whole pixels (translations, the identity) are exact copies, as
    in PIL; the others go through ``grid_sample`` in chunks of about ``_CHUNK_BYTES`` of float
    pixels, so that each chunk's passes stay in cache."""
    n = images.shape[0]
    params = matrices.to(device=images.device, dtype=torch.float32).reshape(n, 6)
    fill_byte = int(np.float32(fill) + np.float32(_TRUNCATE_EPS))  # as the warp's truncation
    moves: dict[tuple[int, int], list[int]] = {}
    warped: list[int] = []
    for i, (a, b, c, d, e, f) in enumerate(params.tolist()):
        if a == 1 and b == 0 and d == 0 and e == 1 and c == int(c) and f == int(f):
            moves.setdefault((int(c), int(f)), []).append(i)
        else:
            warped.append(i)
    if not moves:
        return _warp_into(torch.empty_like(images), images, params, fill_byte)
    if len(moves) == 1 and not warped:
        return _shift_into(torch.empty_like(images), images, *next(iter(moves)), fill_byte)
    moved = [(i, dx, dy) for (dx, dy), ids in moves.items() for i in ids]
    if len(moved) <= _FEW_MOVES and images[0, 0].numel() <= _SMALL_IMAGE:
        # small images: warp all, then write the few moves over (cheaper than gathering)
        out = _warp_into(torch.empty_like(images), images, params, fill_byte)
        for i, dx, dy in moved:
            _shift_into(out[i], images[i], dx, dy, fill_byte)
        return out
    out = torch.empty_like(images)
    for (dx, dy), ids in moves.items():
        idx = torch.tensor(ids, device=images.device)
        sub = images.index_select(0, idx)
        out.index_copy_(0, idx, _shift_into(torch.empty_like(sub), sub, dx, dy, fill_byte))
    if warped:
        idx = torch.tensor(warped, device=images.device)
        sub = images.index_select(0, idx)
        out.index_copy_(0, idx, _warp_into(torch.empty_like(sub), sub, params[idx], fill_byte))
    return out


def _shift_into(
    out: torch.Tensor, images: torch.Tensor, dx: int, dy: int, fill_byte: int
) -> torch.Tensor:
    """``out[y, x] = images[y + dy, x + dx]`` where that is inside the image, else the fill."""
    h, w = images.shape[-2:]
    out.fill_(fill_byte)
    if abs(dx) < w and abs(dy) < h:
        out[..., max(0, -dy) : h - max(0, dy), max(0, -dx) : w - max(0, dx)] = images[
            ..., max(0, dy) : h - max(0, -dy), max(0, dx) : w - max(0, -dx)
        ]
    return out


@functools.lru_cache(maxsize=16)
def _pixel_grid(h: int, w: int, device: torch.device) -> tuple[torch.Tensor, ...]:
    """Pixel-centre coordinates ``x + 0.5`` (1 x 1 x W) and ``y + 0.5`` (1 x H x 1), and the
    scale ``(2 / W, 2 / H)`` to grid_sample's coordinates, float32."""
    xs = (torch.arange(w, device=device, dtype=torch.float32) + 0.5).view(1, 1, w)
    ys = (torch.arange(h, device=device, dtype=torch.float32) + 0.5).view(1, h, 1)
    scale = torch.tensor([2.0 / w, 2.0 / h], device=device, dtype=torch.float32)
    return xs, ys, scale


def _warp_into(
    out: torch.Tensor, images: torch.Tensor, params: torch.Tensor, fill_byte: int
) -> torch.Tensor:
    """Bilinear ``grid_sample`` warp of uint8 ``images`` by ``params`` (``N x 6``) into ``out``."""
    n, c, h, w = images.shape
    xs, ys, scale = _pixel_grid(h, w, images.device)
    per_chunk = max(1, _CHUNK_BYTES // (c * h * w * 4))
    for start in range(0, n, per_chunk):
        chunk = slice(start, start + per_chunk)
        a, b, cc, d, e, f = params[chunk].view(-1, 6, 1, 1).unbind(1)
        sx = a * xs + (b * ys + cc)  # N x H x W input positions
        sy = d * xs + (e * ys + f)
        inside = ((sx >= 0) & (sx < w) & (sy >= 0) & (sy < h)).unsqueeze(1)
        grid = torch.stack([sx, sy], dim=-1).mul_(scale).sub_(1.0)  # grid_sample's [-1, 1]
        warped = F.grid_sample(
            images[chunk].float(), grid, mode="bilinear", padding_mode="border",
            align_corners=False,
        )
        # values are >= 0, so the uint8 conversion truncates like PIL; the fill goes in by
        # arithmetic (a multiply by a broadcast mask is far faster than masked_fill_ on CPU)
        target = out[chunk].copy_(warped.add_(_TRUNCATE_EPS)).mul_(inside)
        if fill_byte:
            target.add_((~inside).to(torch.uint8).mul_(fill_byte))
    return out


def _matrices(a, b, c, d, e, f) -> torch.Tensor:
    return torch.stack([a, b, c, d, e, f], dim=-1).view(-1, 2, 3)


def _identity_with(values: torch.Tensor, entry: int) -> torch.Tensor:
    """Identity matrices (``N x 2 x 3``, float32) with entry ``entry`` (0..5 row-major) set to
    ``values``."""
    values = values.reshape(-1)
    identity = _IDENTITY if values.device.type == "cpu" else _IDENTITY.to(values.device)
    out = identity.expand(values.shape[0], 6).clone()
    out[:, entry] = values
    return out.view(-1, 2, 3)


_IDENTITY = torch.tensor([[1.0, 0.0, 0.0, 0.0, 1.0, 0.0]])


def rotate_matrices(degrees: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Matrices of PIL ``Image.rotate(degrees)`` (counter-clockwise about the image centre,
    same canvas size) for per-sample angles."""
    angle = -torch.deg2rad(degrees.double())
    cos, sin = torch.cos(angle), torch.sin(angle)
    cx, cy = width / 2.0, height / 2.0
    neg_sin = -sin
    c = cos * -cx + sin * -cy + cx
    f = neg_sin * -cx + cos * -cy + cy
    return _matrices(cos, sin, c, neg_sin, cos, f).float()


def shear_x_matrices(shear: torch.Tensor) -> torch.Tensor:
    """PIL affine ``(1, s, 0, 0, 1, 0)`` per sample."""
    return _identity_with(shear, 1)


def shear_y_matrices(shear: torch.Tensor) -> torch.Tensor:
    """PIL affine ``(1, 0, 0, s, 1, 0)`` per sample."""
    return _identity_with(shear, 3)


def translate_x_matrices(pixels: torch.Tensor) -> torch.Tensor:
    """PIL affine ``(1, 0, t, 0, 1, 0)`` per sample (content moves left by ``t``)."""
    return _identity_with(pixels, 2)


def translate_y_matrices(pixels: torch.Tensor) -> torch.Tensor:
    """PIL affine ``(1, 0, 0, 0, 1, t)`` per sample (content moves up by ``t``)."""
    return _identity_with(pixels, 5)


__all__ = [
    "affine_image",
    "crop_padded_image",
    "hflip_image",
    "rotate_matrices",
    "shear_x_matrices",
    "shear_y_matrices",
    "translate_x_matrices",
    "translate_y_matrices",
    "vflip_image",
]
