"""Model registry, the normalisation wrapper and small_cnn."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from robustbench_dm.errors import UserError
from robustbench_dm.models import (
    NORMALIZATIONS,
    Normalized,
    build_network,
    create_model,
    list_models,
    register_model,
)


@register_model("test_linear_probe")
def _linear(num_classes: int) -> nn.Module:
    """Flatten + linear layer (test only)."""
    return nn.Sequential(nn.Flatten(), nn.Linear(3 * 4 * 4, num_classes))


def test_registered_model_is_wrapped_with_its_normalisation():
    model = create_model("test_linear_probe", 7, ((0.1, 0.2, 0.3), (0.5, 0.25, 2.0)))
    assert isinstance(model, Normalized)
    x = torch.rand(2, 3, 4, 4)
    mean = torch.tensor([0.1, 0.2, 0.3]).view(1, 3, 1, 1)
    std = torch.tensor([0.5, 0.25, 2.0]).view(1, 3, 1, 1)
    torch.testing.assert_close(model(x), model.net((x - mean) / std))
    assert model.normalization == {"mean": [0.1, 0.2, 0.3], "std": [0.5, 0.25, 2.0]}
    assert ("test_linear_probe", "Flatten + linear layer (test only).") in list_models()


def test_uint8_input_is_scaled_to_unit_interval():
    model = create_model("test_linear_probe", 3, NORMALIZATIONS["cifar"])
    images = torch.randint(0, 256, (4, 3, 4, 4), dtype=torch.uint8)
    torch.testing.assert_close(model(images), model(images.float() / 255))


def test_named_normalisations_follow_the_references():
    assert NORMALIZATIONS["cifar"] == ((0.5,) * 3, (0.5,) * 3)
    assert NORMALIZATIONS["imagenet"] == ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
    assert NORMALIZATIONS["none"] is None
    x = torch.rand(1, 3, 4, 4)
    identity = create_model("test_linear_probe", 2, None)
    torch.testing.assert_close(identity(x), identity.net(x))


@pytest.mark.parametrize("name,classes", [("resnet18", 10), ("alexnet", 1000)])
def test_torchvision_architectures_by_name_without_weights(name, classes):
    net = build_network(name, classes)
    head = [m for m in net.modules() if isinstance(m, nn.Linear)][-1]
    assert head.out_features == classes
    assert any(n == name for n, _ in list_models())


def test_unknown_architecture_is_a_user_error():
    with pytest.raises(UserError, match="unknown architecture 'resnet5o'"):
        create_model("resnet5o", 10)


def test_small_cnn_is_small_and_takes_32px_images():
    model = create_model("small_cnn", 10, NORMALIZATIONS["cifar"]).eval()
    params = sum(p.numel() for p in model.parameters())
    assert 50_000 <= params <= 300_000
    assert model(torch.rand(5, 3, 32, 32)).shape == (5, 10)


def test_paper_architectures_register_through_the_registry():
    names = {n for n, _ in list_models()}
    assert {"small_cnn", "wrn40_2", "resnet18_cifar"} <= names
