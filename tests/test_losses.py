"""``robustbench_dm.losses.JSDLoss``: the trainer's JSD loss for any loop (its equality with the
AugMix reference code is tested in test_methods_sampling_jsd.py)."""

import pytest
import torch

from robustbench_dm.errors import UserError
from robustbench_dm.losses import JSDLoss
from robustbench_dm.methods import create_method, jsd_loss


def _logits(batch=4, classes=10, seed=0):
    return torch.randn(3 * batch, classes, generator=torch.Generator().manual_seed(seed))


def test_concatenated_logits_split_three_ways_clean_first():
    logits, targets = _logits(), torch.arange(4)
    expected = jsd_loss(logits.chunk(3), targets, 5.0)
    torch.testing.assert_close(JSDLoss(lam=5.0)(logits, targets), expected)
    # timm's convention: targets for all 3B rows, the first B used
    torch.testing.assert_close(JSDLoss(lam=5.0)(logits, targets.repeat(3)), expected)
    swapped = torch.cat([logits[4:8], logits[:4], logits[8:]])
    assert not torch.allclose(JSDLoss(lam=5.0)(swapped, targets), expected)


def test_lam_zero_is_cross_entropy_on_clean_and_splits_two():
    logits, targets = _logits(seed=1), torch.arange(4) % 3
    torch.testing.assert_close(
        JSDLoss(lam=0.0)(logits, targets), torch.nn.functional.cross_entropy(logits[:4], targets)
    )
    two = logits[:8]
    torch.testing.assert_close(JSDLoss(splits=2)(two, targets), jsd_loss(two.chunk(2), targets, 12.0))


def test_equals_the_trainer_loss_on_the_method_inputs():
    """The AugMix method's loss is JSDLoss on the logits of its (clean; view1; view2) batch."""
    images = torch.randint(0, 256, (4, 3, 16, 16), dtype=torch.uint8)
    targets = torch.arange(4)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 16 * 16, 10))
    method = create_method("augmix")
    trainer = method.loss(model, images, targets, torch.Generator().manual_seed(2)).loss
    inputs = method.augment(images, targets, torch.Generator().manual_seed(2))
    torch.testing.assert_close(JSDLoss()(model(inputs), targets), trainer)


def test_gradients_flow_and_repr():
    logits = _logits(seed=3).requires_grad_()
    JSDLoss()(logits, torch.arange(4)).backward()
    assert logits.grad is not None and logits.grad[4:].abs().sum() > 0  # JS term reaches views
    assert repr(JSDLoss(lam=6)) == "JSDLoss(lam=6.0, splits=3)"


def test_clear_errors():
    with pytest.raises(UserError, match="lam must be a number >= 0"):
        JSDLoss(lam=-1)
    with pytest.raises(UserError, match="splits must be an integer >= 2"):
        JSDLoss(splits=1)
    with pytest.raises(UserError, match=r"logits of shape \(10, 10\): expected 3 \* B rows"):
        JSDLoss()(torch.zeros(10, 10), torch.zeros(3, dtype=torch.long))
    with pytest.raises(UserError, match="targets has 5 labels; expected 4"):
        JSDLoss()(_logits(), torch.zeros(5, dtype=torch.long))
    with pytest.raises(UserError, match="expected 3 logit tensors of one shape"):
        JSDLoss()([torch.zeros(2, 3), torch.zeros(2, 3)], torch.zeros(2, dtype=torch.long))
