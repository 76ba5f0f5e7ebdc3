"""AugMix operations: level scaling as the reference ``augmentations.py`` (PIL), per-sample dispatch."""

import numpy as np
import pytest
import torch
from PIL import Image, ImageOps

from robustbench_dm.methods.dynmix import DYNMIX_OPS
from robustbench_dm.methods.ops import AUGMIX_OPS, apply_ops, sample_levels

SIZE = 32


# The reference operations of google-research/augmix augmentations.py with the level given and
# the random sign fixed (IMAGE_SIZE = 32).
def _int(level, maxval):
    return int(level * maxval / 10)


def _float(level, maxval):
    return float(level) * maxval / 10.


REFERENCE = {
    "autocontrast": lambda im, lv, s: ImageOps.autocontrast(im),
    "equalize": lambda im, lv, s: ImageOps.equalize(im),
    "posterize": lambda im, lv, s: ImageOps.posterize(im, 4 - _int(lv, 4)),
    "rotate": lambda im, lv, s: im.rotate(s * _int(lv, 30), resample=Image.BILINEAR),
    "solarize": lambda im, lv, s: ImageOps.solarize(im, 256 - _int(lv, 256)),
    "shear_x": lambda im, lv, s: im.transform((SIZE, SIZE), Image.AFFINE, (1, s * _float(lv, 0.3), 0, 0, 1, 0), resample=Image.BILINEAR),
    "shear_y": lambda im, lv, s: im.transform((SIZE, SIZE), Image.AFFINE, (1, 0, 0, s * _float(lv, 0.3), 1, 0), resample=Image.BILINEAR),
    "translate_x": lambda im, lv, s: im.transform((SIZE, SIZE), Image.AFFINE, (1, 0, s * _int(lv, SIZE / 3), 0, 1, 0), resample=Image.BILINEAR),
    "translate_y": lambda im, lv, s: im.transform((SIZE, SIZE), Image.AFFINE, (1, 0, 0, 0, 1, s * _int(lv, SIZE / 3)), resample=Image.BILINEAR),
}


def _images(n, seed=0):
    x = torch.from_numpy(np.random.default_rng(seed).integers(0, 256, (n, 3, SIZE, SIZE)))
    return torch.nn.functional.avg_pool2d(x.float(), 3, 1, 1).round().to(torch.uint8)


def test_augmix_op_list_is_the_reference_nine():
    assert [op.name for op in AUGMIX_OPS] == list(REFERENCE)
    assert [op.name for op in DYNMIX_OPS["cifar"]] == ["hflip", "vflip", *REFERENCE]
    assert [op.name for op in DYNMIX_OPS["imagenet"]] == ["hflip", "vflip", *REFERENCE, "downscale"]


@pytest.mark.parametrize("k", range(len(AUGMIX_OPS)))
def test_each_op_matches_the_reference_at_sampled_levels(k):
    n = 12
    images = _images(n, k)
    levels = sample_levels(n, 3.0, torch.Generator().manual_seed(k))
    levels[0], levels[1] = 0.1, 2.9999
    signs = torch.tensor([1.0, -1.0] * (n // 2), dtype=torch.float64)
    ours = apply_ops(images, torch.full((n,), k), levels, signs, AUGMIX_OPS).numpy().astype(int)
    ref_fn = REFERENCE[AUGMIX_OPS[k].name]
    for i in range(n):
        pil = Image.fromarray(images[i].permute(1, 2, 0).numpy())
        ref = np.asarray(ref_fn(pil, float(levels[i]), float(signs[i]))).transpose(2, 0, 1).astype(int)
        diff = np.abs(ours[i] - ref)
        assert diff.max() <= 1 and (diff > 0).mean() < 0.01, (AUGMIX_OPS[k].name, float(levels[i]))


def test_mixed_dispatch_equals_per_image_application_and_minus_one_skips():
    n = 40
    images = _images(n, 1)
    g = torch.Generator().manual_seed(5)
    ops = DYNMIX_OPS["imagenet"]
    ids = torch.randint(-1, len(ops), (n,), generator=g)
    levels = sample_levels(n, 3.0, g)
    signs = torch.where(torch.rand(n, generator=g) < 0.5, 1.0, -1.0).double()
    together = apply_ops(images, ids, levels, signs, ops)
    for i in range(n):
        alone = apply_ops(images[i:i + 1], ids[i:i + 1], levels[i:i + 1], signs[i:i + 1], ops)
        assert torch.equal(together[i], alone[0])
        if ids[i] < 0:
            assert torch.equal(together[i], images[i])
