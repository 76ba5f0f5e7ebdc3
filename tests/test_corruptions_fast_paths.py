"""The fast paths of the corruption kernels against straightforward reference computations.

* spatter's chamfer distance: a line-by-line port of OpenCV's float32 two-pass
  ``distanceTransform(DIST_L2, 5)`` loop;
* defocus_blur: float32 pass plus float64 recomputation near integers, and the exact
  single-weight path, against ``scipy.ndimage.correlate`` in float64 (mode 'mirror' is
  BORDER_REFLECT_101) with HR's uint8 truncation;
* pixelate on the CPU (row passes on transposed planes, upscale as a gather): against Pillow's
  own two BOX resizes on interleaved images, every shape.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage as ndi
import torch
from PIL import Image

from corruptions._chamfer import CHAMFER, chamfer_distance
from corruptions.defocus import DEFOCUS_BLUR, _kernel, defocus_blur
from corruptions.pixelate import _numpy_pixelate, box_resize


def _opencv_distance_5x5(edges: np.ndarray) -> np.ndarray:
    """OpenCV's two raster passes (mask 5, float32 sums, border = far) over one H x W map."""
    h, w = edges.shape
    hv, diag, knight = (np.float32(v) for v in CHAMFER)
    big = np.float32(1e9)
    d = np.full((h + 4, w + 4), big, dtype=np.float32)
    d[2:-2, 2:-2] = np.where(edges, np.float32(0), big)
    forward = [(-2, -1, knight), (-2, 1, knight), (-1, -2, knight), (-1, -1, diag), (-1, 0, hv),
               (-1, 1, diag), (-1, 2, knight), (0, -1, hv)]
    backward = [(-dy, -dx, c) for dy, dx, c in forward]
    for mask, ys, xs in ((forward, range(2, h + 2), range(2, w + 2)),
                         (backward, range(h + 1, 1, -1), range(w + 1, 1, -1))):
        for y in ys:
            for x in xs:
                best = d[y, x]
                for dy, dx, c in mask:
                    best = min(best, np.float32(d[y + dy, x + dx] + c))
                d[y, x] = best
    return d[2:-2, 2:-2]


def test_chamfer_distance_matches_opencv_two_pass():
    rng = np.random.default_rng(3)
    edges = rng.random((3, 1, 19, 23)) < 0.03
    edges[2] = False
    edges[2, 0, 9, 0] = True  # one edge pixel on the border
    ours = chamfer_distance(torch.from_numpy(edges), 20).numpy()
    for out, e in zip(ours, edges):
        want = np.minimum(_opencv_distance_5x5(e[0]), 20)
        np.testing.assert_array_equal(out[0], want)


def _defocus_reference(images: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    x = images.astype(np.float64)
    out = np.stack([[ndi.correlate(plane, kernel, mode="mirror") for plane in img] for img in x])
    return np.uint8(np.clip(out, 0, 255))


@pytest.mark.parametrize("preset,size", [("imagenet", 72), ("tinyimagenet", 64), ("cifar", 32)])
def test_defocus_fast_paths_match_float64(preset, size):
    gen = torch.Generator().manual_seed(size)
    noise = torch.randint(0, 256, (2, 3, size, size), generator=gen, dtype=torch.uint8)
    # piecewise-flat images: outputs sit within 1e-7 of integers, where float32 alone errs
    flat = (torch.randint(0, 4, (2, 3, size // 8, size // 8), generator=gen) * 80).to(torch.uint8)
    flat = flat.repeat_interleave(8, 2).repeat_interleave(8, 3)
    images = torch.cat([noise, flat])
    for severity, (radius, alias) in enumerate(DEFOCUS_BLUR[preset], 1):
        kernel = _kernel(radius, alias).double().numpy()
        want = _defocus_reference(images.numpy(), kernel)
        ours = defocus_blur(images, severity, preset, None).numpy()
        np.testing.assert_array_equal(ours, want, err_msg=f"{preset} severity {severity}")


@pytest.mark.parametrize("channels,h,w", [(3, 224, 224), (3, 97, 131), (1, 80, 72), (3, 64, 65),
                                          (3, 32, 32)])
def test_pixelate_paths_match_pillow_rgb(channels, h, w):
    """The CPU row passes and the tensor passes used on other devices, both against Pillow."""
    gen = torch.Generator().manual_seed(h * w)
    images = torch.randint(0, 256, (2, channels, h, w), generator=gen, dtype=torch.uint8)
    for factor in (0.95, 0.85, 0.65, 0.6, 0.4, 0.25):
        small = (int(h * factor), int(w * factor))
        for ours in (_numpy_pixelate(images, small),
                     box_resize(box_resize(images, *small), h, w)):
            for img, out in zip(images, ours):
                pixels = img.permute(1, 2, 0).numpy()
                pil = Image.fromarray(pixels[..., 0] if channels == 1 else pixels)
                want = np.asarray(pil.resize(small[::-1], Image.BOX).resize((w, h), Image.BOX))
                got = out.permute(1, 2, 0).numpy()
                np.testing.assert_array_equal(got[..., 0] if channels == 1 else got, want)


# ------------------------------------------------------------ spatter: strips, Canny, hysteresis

@pytest.mark.parametrize("limit", [20, 5])
def test_chamfer_distance_strips_match_opencv_two_pass(limit):
    """150 rows run as overlapping strips (2 at limit 20, 5 at limit 5), exact once truncated."""
    rng = np.random.default_rng(limit)
    edges = rng.random((3, 1, 150, 29)) < 0.004
    edges[2] = False
    edges[2, 0, 75, 3] = True  # on a strip boundary
    edges[2, 0, 149, 28] = True  # bottom corner
    ours = chamfer_distance(torch.from_numpy(edges), limit).numpy()
    for out, e in zip(ours, edges):
        want = np.minimum(_opencv_distance_5x5(e[0]), np.float32(limit))
        np.testing.assert_array_equal(out[0], want)


def test_canny_matches_opencv():
    cv2 = pytest.importorskip("cv2")
    from corruptions._canny import canny_candidates, hysteresis

    def canny(layer):  # cv2.Canny(layer, 50, 150) as the spatter kernel composes it
        return hysteresis(*canny_candidates(layer, 50, 150))

    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, (2, 37, 53), dtype=np.uint8)
    blobs = ((rng.random((2, 37, 53)) < 0.3) * 200).astype(np.uint8)
    # smooth ramps: magnitudes between the thresholds, weak edges joined to strong ones or not
    smooth = np.clip(ndi.gaussian_filter(rng.random((2, 37, 53)), (0, 1.5, 1.5)) * 900 - 300,
                     0, 255).astype(np.uint8)
    layers = np.concatenate([noise, blobs, smooth])
    ours = canny(torch.from_numpy(layers)[:, None])[:, 0].numpy()
    want = np.stack([cv2.Canny(layer, 50, 150) > 0 for layer in layers])
    assert want[4:].any() and not want[4:].all()
    np.testing.assert_array_equal(ours, want)


def test_hysteresis_rounds_and_fallback_match_connected_components():
    from corruptions._canny import HYSTERESIS_ROUNDS, hysteresis, label_hysteresis

    rng = np.random.default_rng(1)
    candidate = torch.from_numpy(rng.random((3, 1, 40, 47)) < 0.25)
    strong = candidate & torch.from_numpy(rng.random((3, 1, 40, 47)) < 0.1)
    kept = hysteresis(candidate, strong)
    assert torch.equal(kept, label_hysteresis(candidate, strong))
    assert (candidate & ~strong & kept).any() and (candidate & ~kept).any()
    # a weak chain longer than the rounds, strong at one end: the connected components decide
    chain = torch.zeros(1, 1, 5, HYSTERESIS_ROUNDS + 9, dtype=torch.bool)
    chain[0, 0, 2] = True
    end = torch.zeros_like(chain)
    end[0, 0, 2, 0] = True
    assert torch.equal(hysteresis(chain, end), chain)
