"""The paper's CIFAR architectures: parameter counts (AUGMENTATIONS.md section 4, counted from
the AugMix reference definitions), 32 px forward shapes, reference state-dict key names."""

from __future__ import annotations

import pytest
import torch

from robustbench_dm.models import build_network, create_model
from training_fixtures import one_thread

_one_thread = pytest.fixture(autouse=True, scope="module")(one_thread)

# (arch, CIFAR-10 params, CIFAR-100 params): the reference table
PARAMS = [
    ("allconvnet", 1_409_674, 1_427_044),
    ("densenet_bc_100_12", 769_162, 800_032),
    ("densenet40_12", 1_059_298, 1_100_428),
    ("wrn40_2", 2_243_546, 2_255_156),
    ("resnext29_32x4d", 4_775_754, 4_868_004),
    ("resnext29_4x32d", 6_807_882, 6_900_132),
    ("resnet18_cifar", 11_173_962, 11_220_132),  # kuangliu/pytorch-cifar ResNet18
]


def _count(net: torch.nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


@pytest.mark.parametrize("arch, cifar10, cifar100", PARAMS)
def test_parameter_counts_match_the_references(arch, cifar10, cifar100):
    assert _count(build_network(arch, 10)) == cifar10
    assert _count(build_network(arch, 100)) == cifar100


@pytest.mark.parametrize("arch", [p[0] for p in PARAMS])
def test_forward_on_32px_uint8_through_the_normalising_wrapper(arch):
    torch.manual_seed(0)
    model = create_model(arch, 10, ((0.5,) * 3, (0.5,) * 3)).eval()
    with torch.no_grad():
        logits = model(torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8))
        single = model(torch.rand(1, 3, 32, 32))
    assert logits.shape == (2, 10) and single.shape == (1, 10)
    assert torch.isfinite(logits).all()


@pytest.mark.parametrize("arch, keys", [
    ("wrn40_2", ["conv1.weight", "block1.layer.0.convShortcut.weight",
                 "block3.layer.5.bn2.running_var", "bn1.weight", "fc.bias"]),
    ("resnext29_32x4d", ["conv_1_3x3.weight", "stage_1.0.downsample.0.weight",
                         "stage_3.2.conv_conv.weight", "classifier.weight"]),
    ("densenet_bc_100_12", ["conv1.weight", "dense1.15.conv2.weight", "trans2.conv1.weight",
                            "bn1.running_mean", "fc.weight"]),
    ("allconvnet", ["features.0.weight", "features.1.running_mean", "features.22.weight",
                    "features.28.bias",
                    "classifier.weight"]),
])
def test_state_dict_keys_follow_the_reference_so_released_weights_load(arch, keys):
    assert set(keys) <= set(build_network(arch, 10).state_dict())


def test_allconvnet_shape_details():
    """3x3 conv without padding 8 -> 6 px, the two 1x1 convs with padding 1 -> 10 px."""
    net = build_network("allconvnet", 10).eval()
    sizes = []
    x = torch.zeros(1, 3, 32, 32)
    for layer in net.features:
        x = layer(x)
        if isinstance(layer, torch.nn.Conv2d):
            sizes.append(x.shape[-1])
    assert sizes == [32, 32, 32, 16, 16, 16, 6, 8, 10]
    assert x.shape[-1] == 1


def test_allconvnet_activation_is_the_sigmoid_gelu():
    from robustbench_dm.models.allconv import SigmoidGELU

    x = torch.linspace(-4, 4, 9)
    assert torch.allclose(SigmoidGELU()(x), x / (1 + torch.exp(-1.702 * x)))
