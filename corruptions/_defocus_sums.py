"""Exact sums and flatness tests over the windows of reflect-padded uint8 planes, the parts of
:func:`corruptions.defocus.defocus_blur` that recover HR's float64 truncation: integer sums
under a disk (row runs), float64 correlation at chosen outputs, and whether a window is flat.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from corruptions.chunks import items_per_chunk
from corruptions.gaussian import pad_indices

# Values per chunk of planes on the CPU (a few 224 px planes: stays in cache).
_CHUNK = 1 << 18
# Windows gathered at a time where outputs are checked or summed one by one.
_WINDOWS = 1024


def reflect101_pad(planes: torch.Tensor, r: int) -> torch.Tensor:
    """Pad M x H x W planes by ``r`` on each side with BORDER_REFLECT_101."""
    h, w = planes.shape[-2:]
    if r < h and r < w:
        return F.pad(planes[:, None], (r, r, r, r), mode="reflect")[:, 0]
    rows = pad_indices(h, r, "mirror", planes.device)
    cols = pad_indices(w, r, "mirror", planes.device)
    return planes.index_select(1, rows).index_select(2, cols)


def planes_per_chunk(images: torch.Tensor) -> int:
    """How many H x W planes one chunk holds (:func:`items_per_chunk`, ``_CHUNK`` values)."""
    n, c, h, w = images.shape
    return items_per_chunk(n * c, h * w, _CHUNK, images.device)


def nonzero(mask: torch.Tensor) -> torch.Tensor:
    """Flat indices of the True entries (numpy's ``flatnonzero`` on the CPU: 3x faster there)."""
    if mask.device.type == "cpu":
        return torch.from_numpy(np.flatnonzero(mask.numpy()))
    return mask.flatten().nonzero()[:, 0]


def run_sums(padded: torch.Tensor, mask: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """Sums under a centred, symmetric, row-convex boolean ``mask`` (k x k, k odd) of uint8
    M x (h + k - 1) x (w + k - 1) planes, in integers (M x h x w).

    Each mask row is a run of half-width ``a``: horizontal run sums for every half-width are
    built by widening (two adds per step), then the rows are summed vertically, one add per mask
    row. int16 when the largest sum fits (half the memory traffic of float32), else int32.
    """
    half_widths = [int(row.sum()) // 2 for row in mask]
    dtype = torch.int16 if 255 * int(mask.sum()) <= torch.iinfo(torch.int16).max else torch.int32
    padded = padded.to(dtype)
    r = len(half_widths) // 2
    runs = {0: padded[:, :, r:r + w]}
    current = runs[0]
    for a in range(1, max(half_widths) + 1):
        current = current + padded[:, :, r - a:r - a + w]
        current += padded[:, :, r + a:r + a + w]
        runs[a] = current
    out = runs[half_widths[0]][:, 0:h].clone()
    for dy in range(1, len(half_widths)):
        out += runs[half_widths[dy]][:, dy:dy + h]
    return out


def flat_under(padded: torch.Tensor, mask: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """Whether every pixel under the centred, symmetric, row-convex ``mask`` (k x k) equals the
    centre pixel, for M x (h + k - 1) x (w + k - 1) padded planes (M x h x w bool).

    Row runs are flat when every neighbour pair along them is equal (widened two pairs a step);
    the window is flat when all its row runs are, and the centre column is constant along the
    mask's height. The vertical steps combine 8 flags at once (bytes of int64 words) when ``w``
    is a multiple of 8.
    """
    half_widths = [int(row.sum()) // 2 for row in mask]
    r = len(half_widths) // 2
    pairs = padded[:, :, 1:] == padded[:, :, :-1]  # pairs[..., j]: columns j and j + 1 equal
    words = (lambda flags: flags.view(torch.int64)) if w % 8 == 0 else (lambda flags: flags)
    runs, current = {}, None
    for a in range(1, max(half_widths) + 1):
        step = pairs[:, :, r - a:r - a + w] & pairs[:, :, r + a - 1:r + a - 1 + w]
        current = step if current is None else current & step
        runs[a] = words(current)
    column = words(padded[:, 1:, r:r + w] == padded[:, :-1, r:r + w])
    flat = column[:, 0:h].clone()
    for dy in range(1, len(half_widths) - 1):
        flat &= column[:, dy:dy + h]
    for dy, a in enumerate(half_widths):
        if a:
            flat &= runs[a][:, dy:dy + h]
    return flat.view(torch.bool)


def _windows_at(padded: torch.Tensor, k: int, flat_index: torch.Tensor, h: int, w: int,
                chunk: int = _WINDOWS):
    """The k x k windows of M x (h + k - 1) x (w + k - 1) planes at flat indices of the M x h x w
    output, as (count, k * k) arrays a chunk at a time: a strided view gathered with numpy on the
    CPU (10x faster there than torch indexing), torch elsewhere."""
    m, hp, wp = padded.shape
    plane, pixel = flat_index // (h * w), flat_index % (h * w)
    index = (plane, pixel // w, pixel % w)
    shape, strides = (m, h, w, k, k), (hp * wp, wp, 1, wp, 1)
    if padded.device.type == "cpu":
        windows = np.lib.stride_tricks.as_strided(
            padded.contiguous().numpy(), shape, [s * padded.element_size() for s in strides])
        index = [i.numpy() for i in index]
    else:
        windows = padded.contiguous().as_strided(shape, strides)
    for start in range(0, len(flat_index), chunk):
        yield windows[tuple(i[start:start + chunk] for i in index)].reshape(-1, k * k)


def correlate_at(padded: torch.Tensor, kernel: torch.Tensor, flat_index: torch.Tensor,
                  h: int, w: int) -> torch.Tensor:
    """float64 correlation of the reflect-padded M x (h + k - 1) x (w + k - 1) planes with
    ``kernel`` at the given flat indices of the M x h x w output only."""
    weights = kernel.to(device=padded.device, dtype=torch.float64).flatten()
    if padded.device.type == "cpu":
        weights = weights.numpy()
        return torch.from_numpy(np.concatenate(
            [part @ weights for part in _windows_at(padded, kernel.shape[0], flat_index, h, w)]))
    return torch.cat([part.to(torch.float64) @ weights
                      for part in _windows_at(padded, kernel.shape[0], flat_index, h, w)])


def flat_at(padded: torch.Tensor, taps: torch.Tensor, flat_index: torch.Tensor,
             centre: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """Whether every pixel at the flat kernel positions ``taps`` of the k x k windows at the
    given flat indices of the M x h x w output equals ``centre`` there."""
    k = padded.shape[-1] - w + 1
    if padded.device.type == "cpu":
        taps, centre = taps.numpy(), centre.numpy()
    out = [(part[:, taps] == centre[i:i + len(part), None]).all(1)
           for i, part in zip(range(0, len(centre), _WINDOWS), _windows_at(padded, k, flat_index, h, w))]
    return torch.from_numpy(np.concatenate(out)) if padded.device.type == "cpu" else torch.cat(out)
