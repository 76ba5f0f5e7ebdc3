"""Dynamic Mixup and AugMix against their definitions (AUGMENTATIONS.md §1.3, §1.5, §5.3)."""

import numpy as np
import pytest
import torch

from robustbench_dm.methods import create_method, dynmix_mix, jsd_loss
from robustbench_dm.methods import augmix as augmix_module
from robustbench_dm.methods import ops as ops_module
from robustbench_dm.methods.base_transform import base_transform, to_float
from robustbench_dm.methods.dynmix import dynmix_chains, dynmix_views, dynmix_weights


def _batch(n=6, size=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 3, size, size), dtype=torch.uint8, generator=g), torch.arange(n) % 10


class CountingNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(3, 10)
        self.batches = []

    def forward(self, x):
        self.batches.append(x.shape[0])
        return self.lin(x.mean(dim=(2, 3)))


def test_dynmix_mix_equals_the_formula():
    g = torch.Generator().manual_seed(0)
    x1, x2 = torch.rand(5, 3, 4, 4, generator=g), torch.rand(5, 3, 4, 4, generator=g)
    m1, m2 = torch.rand(5, generator=g), torch.rand(5, generator=g)
    a, b = m1.view(-1, 1, 1, 1), m2.view(-1, 1, 1, 1)
    torch.testing.assert_close(dynmix_mix(x1, x2, m1, m2), (a * x1 + b * x2 + a * b * (x1 - x2)).clamp(0, 1))
    torch.testing.assert_close(dynmix_mix(x1, x2, m1, m2, linear_only=True), (a * x1 + b * x2).clamp(0, 1))


def test_complementary_coefficients_sum_to_one_and_independent_output_is_clamped():
    m1, m2 = dynmix_weights(1000, torch.Generator().manual_seed(1))
    torch.testing.assert_close(m1 + m2, torch.ones(1000))
    coeff1, coeff2 = m1 * (1 + m2), m2 * (1 - m1)
    torch.testing.assert_close(coeff1 + coeff2, torch.ones(1000))
    same = torch.rand(1000, 3, 2, 2, generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(dynmix_mix(same, same, m1, m2), same)  # convex: identity on equal inputs
    i1, i2 = dynmix_weights(1000, torch.Generator().manual_seed(1), weights="independent")
    assert not torch.allclose(i1 + i2, torch.ones(1000))
    ones = torch.ones(1000, 3, 2, 2)
    out = dynmix_mix(ones, ones, i1, i2)
    assert out.max() == 1.0 and ((i1 + i2) > 1).any()  # sums above 1 are clamped


def test_dynmix_views_equal_formula_for_given_chains_and_weights():
    x, _ = _batch()
    views = dynmix_views(x, 2, torch.Generator().manual_seed(3))
    # replay the same generator: chains for [view][chain][n] first, then the weights
    g = torch.Generator().manual_seed(3)
    chains = dynmix_chains(x.repeat(4, 1, 1, 1), g).view(2, 12, 3, 16, 16)
    m1, m2 = dynmix_weights(12, g)
    a, b = m1.view(-1, 1, 1, 1), m2.view(-1, 1, 1, 1)
    x1, x2 = to_float(chains[0]), to_float(chains[1])
    torch.testing.assert_close(views, (a * x1 + b * x2 + a * b * (x1 - x2)).clamp(0, 1))


def test_dynmix_chains_use_depth_one_or_two_with_replacement(monkeypatch):
    calls = []
    real = ops_module.apply_ops
    monkeypatch.setattr(ops_module, "apply_ops", lambda im, ids, lv, s, ops, **kw: (calls.append((ids.clone(), lv.clone())), real(im, ids, lv, s, ops, **kw))[1])
    dynmix_chains(torch.zeros(2000, 3, 4, 4, dtype=torch.uint8), torch.Generator().manual_seed(4))
    (first, lv1), (second, lv2) = calls
    assert (first >= 0).all() and 0.4 < (second >= 0).float().mean() < 0.6
    assert torch.bincount(first, minlength=11).min() > 100  # all 11 ops drawn
    assert lv1.min() >= 0.1 and lv1.max() <= 3.0


def test_dynmix_loss_one_forward_ce_plus_12_js():
    x, y = _batch()
    method = create_method("dynmix")
    net = CountingNet()
    out = method.loss(net, x, y, torch.Generator().manual_seed(5))
    assert net.batches == [18]
    inputs = method.augment(x, y, torch.Generator().manual_seed(5))
    torch.testing.assert_close(inputs[:6], to_float(base_transform(x, "cifar", torch.Generator().manual_seed(5))))
    logits = net.lin(inputs.mean(dim=(2, 3)))
    torch.testing.assert_close(out.loss, jsd_loss(logits.chunk(3), y, 12.0))
    torch.testing.assert_close(out.logits, logits[:6])


@pytest.mark.parametrize("options, batch", [({"jsd": False}, 6), ({"single_sample_jsd": True}, 12)])
def test_dynmix_ablations_change_the_forward_batch(options, batch):
    x, y = _batch()
    net = CountingNet()
    out = create_method("dynmix", **options).loss(net, x, y, torch.Generator().manual_seed(6))
    assert net.batches == [batch] and out.logits.shape == (6, 10)


def test_augmix_views_are_convex_mixtures_of_chains(monkeypatch):
    x, _ = _batch()
    monkeypatch.setattr(augmix_module, "apply_ops", lambda im, *a, **kw: im)
    views = augmix_module.augmix_views(x, 2, torch.Generator().manual_seed(7))
    torch.testing.assert_close(views, to_float(x).repeat(2, 1, 1, 1))  # weights sum to 1


def test_augmix_chain_depth_and_levels(monkeypatch):
    calls = []
    real = augmix_module.apply_ops
    monkeypatch.setattr(augmix_module, "apply_ops", lambda im, ids, lv, s, ops, **kw: (calls.append((ids.clone(), lv.clone())), real(im, ids, lv, s, ops, **kw))[1])
    augmix_module.augmix_views(torch.zeros(1000, 3, 4, 4, dtype=torch.uint8), 1, torch.Generator().manual_seed(8), severity=1.0)
    depth = torch.stack([ids >= 0 for ids, _ in calls]).sum(0)
    assert depth.min() == 1 and depth.max() == 3
    assert (abs(torch.bincount(depth)[1:] / 3000.0 - 1 / 3) < 0.05).all()
    levels = torch.cat([lv for _, lv in calls])
    assert levels.min() >= 0.1 and levels.max() <= 1.0


def test_augmix_loss_and_no_jsd():
    x, y = _batch()
    net = CountingNet()
    method = create_method("augmix")
    out = method.loss(net, x, y, torch.Generator().manual_seed(9))
    inputs = method.augment(x, y, torch.Generator().manual_seed(9))
    logits = net.lin(inputs.mean(dim=(2, 3)))
    torch.testing.assert_close(out.loss, jsd_loss(logits.chunk(3), y, 12.0))
    assert net.batches == [18]
    net.batches.clear()
    create_method("augmix", jsd=False).loss(net, x, y, torch.Generator().manual_seed(9))
    assert net.batches == [6]


@pytest.mark.parametrize("name", ["standard", "mixup", "cutmix", "autoaugment_star", "random_autoaugment_star", "augmix", "dynmix"])
@pytest.mark.parametrize("scale", ["cifar", "imagenet"])
def test_every_method_is_deterministic_and_trains(name, scale):
    x, y = _batch(4, 32)
    net = CountingNet()
    a = create_method(name, scale=scale).loss(net, x, y, torch.Generator().manual_seed(10))
    b = create_method(name, scale=scale).loss(net, x, y, torch.Generator().manual_seed(10))
    assert torch.equal(a.loss, b.loss) and torch.isfinite(a.loss)
    a.loss.backward()
    assert net.lin.weight.grad is not None and a.targets.dtype == torch.int64


def test_augmix_mixing_chunks_give_the_same_bytes(monkeypatch):
    x, _ = _batch(5, 32)
    whole = augmix_module.augmix_views(x, 2, torch.Generator().manual_seed(11))
    monkeypatch.setattr(augmix_module, "_CHUNK_BYTES", 2 * 3 * 32 * 32 * 4)  # two images a chunk
    assert torch.equal(augmix_module.augmix_views(x, 2, torch.Generator().manual_seed(11)), whole)


def test_augmix_weights_are_dirichlet_chains_and_beta_skip(monkeypatch):
    """Chain 0 white, the other chains and the clean image black: each output pixel is
    m * w_0 with m ~ Beta(1, 1) and w_0 ~ Beta(1, 2) (the Dirichlet(1, 1, 1) marginal)."""
    from scipy import stats

    def chains(images, generator, **options):
        out = torch.zeros_like(images)
        out[: len(images) // 3] = 255  # view-major, then chain-major: chain 0 of each view
        return out

    monkeypatch.setattr(augmix_module, "augmix_chains", chains)
    zeros = torch.zeros(2000, 1, 1, 1, dtype=torch.uint8)
    ours = augmix_module.augmix_views(zeros, 1, torch.Generator().manual_seed(12)).flatten()
    rng = np.random.default_rng(0)
    expected = rng.beta(1, 1, 20000) * rng.dirichlet([1, 1, 1], 20000)[:, 0]
    assert stats.ks_2samp(ours.double().numpy(), expected).pvalue > 1e-3
    assert stats.ks_2samp(ours.double().numpy(), rng.beta(1, 1, 20000) / 2).pvalue < 1e-6
