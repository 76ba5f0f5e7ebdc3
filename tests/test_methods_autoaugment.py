"""AutoAugment* and Random AutoAugment*: removed operations never applied."""

import torch

from robustbench_dm.methods import autoaugment_star as aa
from robustbench_dm.methods import create_method
from robustbench_dm.methods import ops as ops_module


def _spy(monkeypatch, module):
    calls = []
    real = ops_module.apply_ops

    def spy(images, op_ids, levels, signs, ops, **kw):
        calls.append(([ops[i].name for i in op_ids.tolist() if i >= 0], op_ids.clone(), levels.clone()))
        return real(images, op_ids, levels, signs, ops, **kw)

    monkeypatch.setattr(module, "apply_ops", spy)
    return calls


def test_star_policy_is_the_full_policy_minus_removed_ops():
    for scale in ("cifar", "imagenet"):
        full, star = aa.AUTOAUGMENT_POLICIES[scale], aa.star_policy(scale)
        assert len(star) == len(full) == 25
        for f, s in zip(full, star):
            assert list(s) == [op for op in f if op[0] not in aa.REMOVED_OPS]
        assert {op[0] for sub in star for op in sub} <= {op.name for op in aa.AUTOAUGMENT_STAR_OPS}
    assert set(aa.REMOVED_OPS) == {"Contrast", "Color", "Brightness", "Sharpness", "Cutout", "Invert"}
    assert not set(aa.REMOVED_OPS) & {op.name for op in aa.AUTOAUGMENT_STAR_OPS}


def test_autoaugment_star_never_applies_a_removed_op(monkeypatch):
    calls = _spy(monkeypatch, aa)
    x = torch.randint(0, 256, (64, 3, 32, 32), dtype=torch.uint8)
    for scale in ("cifar", "imagenet"):
        out = create_method("autoaugment_star", scale=scale).augment(x, None, torch.Generator().manual_seed(0))
        assert out.dtype == torch.float32 and out.shape == x.shape
    used = {name for names, _, _ in calls for name in names}
    assert used and not used & set(aa.REMOVED_OPS)
    assert used <= {"ShearX", "ShearY", "TranslateX", "TranslateY", "Rotate", "Posterize", "Solarize", "AutoContrast", "Equalize"}


def test_random_autoaugment_star_applies_one_to_three_augmix_ops(monkeypatch):
    calls = _spy(monkeypatch, ops_module)  # the chain of random_op_chain
    x = torch.randint(0, 256, (300, 3, 8, 8), dtype=torch.uint8)
    create_method("random_autoaugment_star").augment(x, None, torch.Generator().manual_seed(1))
    applied = torch.stack([(ids >= 0) for _, ids, _ in calls]).sum(0)
    assert applied.min() == 1 and applied.max() == 3
    counts = torch.bincount(applied)[1:] / 300.0
    assert (abs(counts - 1 / 3) < 0.1).all()
    levels = torch.cat([lv for _, _, lv in calls])
    assert levels.min() >= 0.1 and levels.max() <= 3.0
    names = {n for names, _, _ in calls for n in names}
    assert names == {op.name for op in ops_module.AUGMIX_OPS}
