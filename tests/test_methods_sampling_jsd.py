"""Generator-driven Beta/Dirichlet draws (vs scipy) and the JS consistency loss (vs its formula)."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy import stats

from robustbench_dm.losses import JSDLoss
from robustbench_dm.methods import js_divergence, jsd_loss
from robustbench_dm.methods.sampling import sample_beta, sample_dirichlet, sample_gamma


@pytest.mark.parametrize("alpha", [0.2, 1.0, 3.0])
def test_beta_draws_follow_scipy_beta(alpha):
    draws = sample_beta(alpha, alpha, (4000,), torch.Generator().manual_seed(0)).numpy()
    assert stats.kstest(draws, stats.beta(alpha, alpha).cdf).pvalue > 1e-3


def test_gamma_draws_follow_scipy_gamma():
    draws = sample_gamma(0.5, (4000,), torch.Generator().manual_seed(1)).numpy()
    assert stats.kstest(draws, stats.gamma(0.5).cdf).pvalue > 1e-3


def test_dirichlet_weights_are_convex_with_uniform_marginals():
    w = sample_dirichlet(1.0, (3000,), 3, torch.Generator().manual_seed(2))
    assert w.shape == (3000, 3)
    torch.testing.assert_close(w.sum(-1), torch.ones(3000))
    # Dirichlet(1, 1, 1) marginal is Beta(1, 2)
    assert stats.kstest(w[:, 0].numpy(), stats.beta(1, 2).cdf).pvalue > 1e-3


def test_same_seed_same_draws():
    a = sample_beta(1.0, 1.0, (50,), torch.Generator().manual_seed(3))
    b = sample_beta(1.0, 1.0, (50,), torch.Generator().manual_seed(3))
    assert torch.equal(a, b)


def _js_numpy(ps):
    ps = [np.asarray(p, dtype=np.float64) for p in ps]
    m = np.clip(np.mean(ps, axis=0), 1e-7, 1)
    kl = [np.sum(np.where(p > 0, p * (np.log(np.where(p > 0, p, 1)) - np.log(m)), 0), axis=1).mean() for p in ps]
    return float(np.mean(kl))


def test_js_divergence_equals_formula_on_known_distributions():
    p = torch.tensor([[0.5, 0.5, 0.0], [0.9, 0.05, 0.05]])
    q = torch.tensor([[0.0, 0.5, 0.5], [0.1, 0.8, 0.1]])
    r = torch.tensor([[1 / 3, 1 / 3, 1 / 3], [0.2, 0.2, 0.6]])
    assert float(js_divergence([p, q, r])) == pytest.approx(_js_numpy([p, q, r]), rel=1e-5)
    # two disjoint distributions: JS = log 2
    a, b = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.0]])
    assert float(js_divergence([a, b])) == pytest.approx(np.log(2), rel=1e-5)


def test_js_divergence_zero_for_identical_distributions():
    p = torch.softmax(torch.randn(8, 10, generator=torch.Generator().manual_seed(0)), 1)
    assert float(js_divergence([p, p.clone(), p.clone()])) == pytest.approx(0.0, abs=1e-6)


# the trainer's loss, and the public JSDLoss on the parts or on one [clean; aug1; aug2] tensor
JSD_LOSSES = {
    "jsd_loss": lambda logits, targets: jsd_loss(list(logits.unbind(0)), targets, 12.0),
    "JSDLoss parts": lambda logits, targets: JSDLoss()(list(logits.unbind(0)), targets),
    "JSDLoss concatenated": lambda logits, targets: JSDLoss(lam=12.0)(logits.flatten(0, 1), targets),
}


@pytest.mark.parametrize("loss_fn", JSD_LOSSES.values(), ids=JSD_LOSSES.keys())
def test_jsd_loss_equals_augmix_reference_code_with_gradients(loss_fn):
    g = torch.Generator().manual_seed(4)
    logits = torch.randn(3, 6, 5, generator=g, requires_grad=True)
    targets = torch.randint(0, 5, (6,), generator=g)
    ours = loss_fn(logits, targets)
    (grad_ours,) = torch.autograd.grad(ours, logits)
    # google-research/augmix cifar.py train(), verbatim
    logits_clean, logits_aug1, logits_aug2 = logits.unbind(0)
    loss = F.cross_entropy(logits_clean, targets)
    p_clean, p_aug1, p_aug2 = F.softmax(logits_clean, dim=1), F.softmax(logits_aug1, dim=1), F.softmax(logits_aug2, dim=1)
    p_mixture = torch.clamp((p_clean + p_aug1 + p_aug2) / 3., 1e-7, 1).log()
    loss += 12 * (F.kl_div(p_mixture, p_clean, reduction='batchmean') +
                  F.kl_div(p_mixture, p_aug1, reduction='batchmean') +
                  F.kl_div(p_mixture, p_aug2, reduction='batchmean')) / 3.
    (grad_ref,) = torch.autograd.grad(loss, logits)
    torch.testing.assert_close(ours, loss)
    torch.testing.assert_close(grad_ours, grad_ref)
