"""Batched kernels against PIL's reference semantics (ImageOps exact, affine within tolerance)."""

import numpy as np
import pytest
import torch
from PIL import Image, ImageOps

from robustbench_dm.methods import functional as K


def _images(seed=0, n=12, size=32):
    rng = np.random.default_rng(seed)
    imgs = rng.integers(0, 256, (n, 3, size, size), dtype=np.uint8)
    imgs[1] = imgs[1] // 4 + 60  # narrow range
    imgs[2, 0] = 7  # constant channel
    imgs[3, 1, :4] = 3  # one dominant value
    imgs[4] = np.where(imgs[4] > 128, 250, 10)  # two values
    return imgs


def _smooth(seed=0, n=8, size=32):
    x = torch.from_numpy(np.random.default_rng(seed).integers(0, 256, (n, 3, size, size)))
    x = torch.nn.functional.avg_pool2d(x.float(), 3, 1, 1, count_include_pad=False)
    return x.round().to(torch.uint8).numpy()


def _pil(imgs, fn):
    out = [np.asarray(fn(Image.fromarray(a.transpose(1, 2, 0)))).transpose(2, 0, 1) for a in imgs]
    return np.stack(out)


def test_autocontrast_equals_pil():
    imgs = _images()
    np.testing.assert_array_equal(
        K.autocontrast_image(torch.from_numpy(imgs)).numpy(), _pil(imgs, ImageOps.autocontrast)
    )


def test_equalize_equals_pil():
    imgs = _images(1)
    np.testing.assert_array_equal(
        K.equalize_image(torch.from_numpy(imgs)).numpy(), _pil(imgs, ImageOps.equalize)
    )


def test_posterize_per_sample_bits_equal_pil():
    imgs = _images(2, n=8)
    bits = torch.arange(1, 9)
    ours = K.posterize_image(torch.from_numpy(imgs), bits).numpy()
    for i, b in enumerate(bits.tolist()):
        np.testing.assert_array_equal(ours[i], _pil(imgs[i : i + 1], lambda im: ImageOps.posterize(im, b))[0])


def test_solarize_per_sample_threshold_equals_pil():
    imgs = _images(3, n=6)
    thresholds = torch.tensor([0, 1, 128, 180, 254, 256])
    ours = K.solarize_image(torch.from_numpy(imgs), thresholds).numpy()
    for i, t in enumerate(thresholds.tolist()):
        np.testing.assert_array_equal(ours[i], _pil(imgs[i : i + 1], lambda im: ImageOps.solarize(im, t))[0])


def test_flips_equal_pil():
    imgs = _images(4, n=5)
    t = torch.from_numpy(imgs)
    np.testing.assert_array_equal(
        K.hflip_image(t).numpy(), _pil(imgs, lambda im: im.transpose(Image.Transpose.FLIP_LEFT_RIGHT))
    )
    np.testing.assert_array_equal(
        K.vflip_image(t).numpy(), _pil(imgs, lambda im: im.transpose(Image.Transpose.FLIP_TOP_BOTTOM))
    )


AFFINE_CASES = [
    ("rotate", 8.0, lambda v, s: K.rotate_matrices(torch.tensor([v]), s, s), lambda im, v, s: im.rotate(v, resample=Image.BILINEAR)),
    ("rotate", -5.0, lambda v, s: K.rotate_matrices(torch.tensor([v]), s, s), lambda im, v, s: im.rotate(v, resample=Image.BILINEAR)),
    ("shear_x", 0.09, lambda v, s: K.shear_x_matrices(torch.tensor([v])), lambda im, v, s: im.transform((s, s), Image.AFFINE, (1, v, 0, 0, 1, 0), resample=Image.BILINEAR)),
    ("shear_y", -0.27, lambda v, s: K.shear_y_matrices(torch.tensor([v])), lambda im, v, s: im.transform((s, s), Image.AFFINE, (1, 0, 0, v, 1, 0), resample=Image.BILINEAR)),
    ("translate_x", 3.0, lambda v, s: K.translate_x_matrices(torch.tensor([v])), lambda im, v, s: im.transform((s, s), Image.AFFINE, (1, 0, v, 0, 1, 0), resample=Image.BILINEAR)),
    ("translate_y", -9.0, lambda v, s: K.translate_y_matrices(torch.tensor([v])), lambda im, v, s: im.transform((s, s), Image.AFFINE, (1, 0, 0, 0, 1, v), resample=Image.BILINEAR)),
]


@pytest.mark.parametrize("size", [32, 64])
@pytest.mark.parametrize("name,value,matrix,pil", AFFINE_CASES)
def test_affine_ops_match_pil_bilinear(size, name, value, matrix, pil):
    imgs = _smooth(5, n=4, size=size)
    mats = matrix(value, size).expand(len(imgs), 2, 3)
    ours = K.affine_image(torch.from_numpy(imgs), mats).numpy().astype(int)
    ref = _pil(imgs, lambda im: pil(im, value, size)).astype(int)
    diff = np.abs(ours - ref)
    assert diff.max() <= 1, name
    assert (diff > 0).mean() < 0.01, name


def test_affine_per_sample_matrices_in_one_call():
    imgs = torch.from_numpy(_smooth(6, n=3))
    mats = torch.cat([K.rotate_matrices(torch.tensor([5.0]), 32, 32), K.shear_x_matrices(torch.tensor([0.1])), K.translate_y_matrices(torch.tensor([2.0]))])
    together = K.affine_image(imgs, mats)
    for i in range(3):
        assert torch.equal(together[i], K.affine_image(imgs[i : i + 1], mats[i : i + 1])[0])


def test_affine_fill_value_outside():
    imgs = torch.full((1, 3, 8, 8), 200, dtype=torch.uint8)
    out = K.affine_image(imgs, K.translate_x_matrices(torch.tensor([3.0])), fill=128)
    assert (out[..., -3:] == 128).all() and (out[..., :-3] == 200).all()


def test_crop_padded_matches_numpy_pad_and_slice():
    imgs = _images(7, n=5)
    tops, lefts = torch.tensor([0, 8, 4, 2, 7]), torch.tensor([8, 0, 4, 6, 1])
    ours = K.crop_padded_image(torch.from_numpy(imgs), tops, lefts, 4).numpy()
    padded = np.pad(imgs, ((0, 0), (0, 0), (4, 4), (4, 4)))
    for i in range(5):
        t, x = int(tops[i]), int(lefts[i])
        np.testing.assert_array_equal(ours[i], padded[i, :, t : t + 32, x : x + 32])


def test_downscale_close_to_pil_resize_round_trip():
    imgs = _smooth(8, n=3, size=64)
    factors = torch.tensor([0.95, 0.9, 0.75])
    ours = K.downscale_image(torch.from_numpy(imgs), factors).numpy().astype(int)
    for i, f in enumerate(factors.tolist()):
        small = round(f * 64)
        ref = _pil(imgs[i : i + 1], lambda im: im.resize((small, small), Image.BILINEAR).resize((64, 64), Image.BILINEAR))[0]
        assert np.abs(ours[i] - ref.astype(int)).mean() < 1.5
    assert not np.array_equal(ours[2], imgs[2])


def test_downscale_factor_one_is_identity():
    imgs = torch.from_numpy(_smooth(9, n=2))
    assert torch.equal(K.downscale_image(imgs, torch.ones(2)), imgs)


@pytest.mark.parametrize("size", [40, 100, 224])
def test_whole_pixel_moves_are_exact_copies_at_any_size(size):
    x = torch.from_numpy(_images(9, n=5, size=size)[:2])
    moves = torch.tensor([0.0, 7.0, -5.0, float(size)])
    out = K.affine_image(x.repeat(4, 1, 1, 1), K.translate_x_matrices(moves.repeat_interleave(2)), fill=9)
    for k, t in enumerate(int(v) for v in moves):
        expected = torch.full_like(x, 9)
        if t >= 0:
            expected[..., : size - t] = x[..., t:]
        else:
            expected[..., -t:] = x[..., : size + t]
        assert torch.equal(out[2 * k : 2 * k + 2], expected), t
    identity = K.rotate_matrices(torch.zeros(2), size, size)
    assert torch.equal(K.affine_image(x, identity), x)
    # a few moves among warps (warped with the rest, then written over) are exact too
    rotations = K.rotate_matrices(torch.tensor([5.0, -5.0]), size, size)
    mixed = K.affine_image(x.repeat(2, 1, 1, 1), torch.cat([rotations, identity]))
    assert torch.equal(mixed[2:], x) and torch.equal(mixed[:2], K.affine_image(x, rotations))


def test_affine_chunks_give_the_same_bytes(monkeypatch):
    from robustbench_dm.methods.functional import geometry

    imgs = torch.from_numpy(_smooth(10, n=5))
    mats = K.rotate_matrices(torch.tensor([5.0, -3.0, 7.0, 1.0, -8.0]), 32, 32)
    whole = K.affine_image(imgs, mats)
    monkeypatch.setattr(geometry, "_CHUNK_BYTES", 2 * 3 * 32 * 32 * 4)
    assert torch.equal(K.affine_image(imgs, mats), whole)
