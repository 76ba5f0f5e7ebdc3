"""The random operation chains of Dynamic Mixup and Random AutoAugment* are one function
(:func:`robustbench_dm.methods.ops.random_op_chain`) whose outputs are byte-identical to those
recorded in tests/data/methods/op_chains.pt, written by the two separate chain functions at
commit 5d4a5f1 before they became one, including what the generator draws next."""

from pathlib import Path

import pytest
import torch

from robustbench_dm.methods.base_transform import to_float
from robustbench_dm.methods.dynmix import DYNMIX_OPS, dynmix_chains
from robustbench_dm.methods.ops import AUGMIX_OPS, random_op_chain
from robustbench_dm.methods.random_autoaugment_star import RandomAutoAugmentStar

RECORDS = torch.load(Path(__file__).parent / "data" / "methods" / "op_chains.pt", weights_only=True)
IDS = [f"{r['path']}-seed{r['seed']}" for r in RECORDS]


def _check(record, run):
    g = torch.Generator().manual_seed(record["seed"])
    out = run(record["images"], g)
    assert out.dtype == torch.uint8 and torch.equal(out, record["output"])
    assert torch.equal(torch.randint(0, 2**31, (4,), generator=g), record["generator_after"])


@pytest.mark.parametrize("record", RECORDS, ids=IDS)
def test_random_op_chain_gives_the_recorded_bytes(record):
    kw = dict(record["kwargs"])
    if record["path"].startswith("dynmix"):
        ops, max_ops = DYNMIX_OPS[kw.pop("scale")], 2
    else:
        ops, max_ops = AUGMIX_OPS, 3
    _check(record, lambda images, g: random_op_chain(images, ops, max_ops, g, **kw))


@pytest.mark.parametrize("record", [r for r in RECORDS if r["path"].startswith("dynmix")],
                         ids=[i for i in IDS if i.startswith("dynmix")])
def test_dynmix_chains_give_the_recorded_bytes(record):
    _check(record, lambda images, g: dynmix_chains(images, g, **record["kwargs"]))


def test_random_autoaugment_star_augments_with_the_recorded_chain(monkeypatch):
    """The method's chain after its base transform is the recorded one (base transform replaced
    by the identity so the recorded inputs reach the chain)."""
    for record in (r for r in RECORDS if r["path"] == "random_autoaugment_star"):
        method = RandomAutoAugmentStar(**record["kwargs"])
        monkeypatch.setattr(method, "base_transform", lambda images, generator: images)
        g = torch.Generator().manual_seed(record["seed"])
        out = method.augment(record["images"], None, g)
        torch.testing.assert_close(out, to_float(record["output"]), rtol=0, atol=0)
        assert torch.equal(torch.randint(0, 2**31, (4,), generator=g), record["generator_after"])
