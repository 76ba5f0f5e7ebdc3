"""Mixup, CutMix and the base transform against their definitions, randomness pinned."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from robustbench_dm.methods import create_method
from robustbench_dm.methods.base_transform import base_transform, to_float
from robustbench_dm.methods.cutmix import cutmix_box


def _constant_images(n=8, size=16):
    """Image i is the constant 10 * i + 5, so every pixel tells which image it came from."""
    return (torch.arange(n) * 10 + 5).view(n, 1, 1, 1).expand(n, 3, size, size).to(torch.uint8).clone()


def _no_base(method):
    method.base_transform = lambda images, generator: images
    return method


def test_base_transform_crops_and_flips_like_torchvision():
    x = torch.randint(1, 256, (64, 3, 32, 32), dtype=torch.uint8)
    out = base_transform(x, "cifar", torch.Generator().manual_seed(0))
    padded = F.pad(x, (4, 4, 4, 4))
    for i in range(64):
        windows = [padded[i, :, t:t + 32, x:x + 32] for t in range(9) for x in range(9)]
        assert any(torch.equal(out[i], w) or torch.equal(out[i], w.flip(-1)) for w in windows)
    flipped = base_transform(x, "imagenet", torch.Generator().manual_seed(0))
    same = [torch.equal(flipped[i], x[i]) for i in range(64)]
    assert all(s or torch.equal(flipped[i], x[i].flip(-1)) for i, s in enumerate(same))
    assert 10 < sum(same) < 54


def test_mixup_is_the_convex_combination_with_its_targets():
    x, y = _constant_images(), torch.arange(8)
    for seed in range(5):
        m = _no_base(create_method("mixup"))
        batch = m.augment(x, y, torch.Generator().manual_seed(seed))
        lam, partner = batch.lam, batch.partner_targets
        assert 0 <= lam <= 1 and sorted(partner.tolist()) == list(range(8))
        expected = lam * to_float(x) + (1 - lam) * to_float(x)[partner]
        torch.testing.assert_close(batch.images, expected)
        logits = torch.randn(8, 8, generator=torch.Generator().manual_seed(seed))
        soft = lam * F.one_hot(y, 8) + (1 - lam) * F.one_hot(partner, 8)
        out = m.loss(lambda inp: logits, x, y, torch.Generator().manual_seed(seed))
        torch.testing.assert_close(out.loss, -(soft * logits.log_softmax(1)).sum(1).mean())


def test_mixup_alpha_controls_lambda_distribution():
    lams = [_no_base(create_method("mixup", scale="imagenet")).augment(
        _constant_images(2), torch.arange(2), torch.Generator().manual_seed(s)).lam for s in range(300)]
    # Beta(0.2, 0.2) puts most mass near 0 and 1
    assert np.mean([min(lam, 1 - lam) < 0.1 for lam in lams]) > 0.5


def test_cutmix_lambda_is_one_minus_box_area():
    x, y = _constant_images(size=20), torch.arange(8)
    applied = 0
    for seed in range(40):
        batch = _no_base(create_method("cutmix", prob=1.0)).augment(x, y, torch.Generator().manual_seed(seed))
        pasted = (batch.images != to_float(x))[:, 0]  # pixels taken from the partner
        moved = batch.partner_targets != y
        area = pasted[moved.nonzero()[0, 0]].sum().item() if moved.any() else None
        if area:
            applied += 1
            assert batch.lam == pytest.approx(1 - area / 400)
            expected = to_float(x)[batch.partner_targets]
            assert torch.equal(batch.images[pasted.unsqueeze(1).expand_as(batch.images)],
                               expected[pasted.unsqueeze(1).expand_as(batch.images)])
    assert applied > 20


def test_cutmix_box_is_clipped():
    assert cutmix_box(0.75, 32, 32, 0, 0) == (0, 8, 0, 8)  # half of the 16 px box leaves the image
    assert cutmix_box(0.0, 32, 32, 16, 16) == (0, 32, 0, 32)


def test_cutmix_probability_zero_never_mixes():
    x, y = _constant_images(), torch.arange(8)
    batch = _no_base(create_method("cutmix", prob=0.0)).augment(x, y, torch.Generator().manual_seed(0))
    assert batch.lam == 1.0 and torch.equal(batch.images, to_float(x))
