"""The random operation chains of Dynamic Mixup and Random AutoAugment* are byte-identical to
the outputs recorded in tests/data/methods/op_chains.pt (written by the two separate chain
functions at commit 5d4a5f1, before they became one), including what the generator draws next."""

from pathlib import Path

import pytest
import torch

from robustbench_dm.methods.dynmix import dynmix_chains
from robustbench_dm.methods.random_autoaugment_star import random_ops

RECORDS = torch.load(Path(__file__).parent / "data" / "methods" / "op_chains.pt", weights_only=True)


def _run(record, generator):
    kwargs = record["kwargs"]
    if record["path"].startswith("dynmix"):
        return dynmix_chains(record["images"], generator, **kwargs)
    return random_ops(record["images"], kwargs["severity"], generator, kwargs["fill"])


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: f"{r['path']}-seed{r['seed']}")
def test_chain_outputs_and_generator_state_are_the_recorded_ones(record):
    g = torch.Generator().manual_seed(record["seed"])
    out = _run(record, g)
    assert out.dtype == torch.uint8 and torch.equal(out, record["output"])
    assert torch.equal(torch.randint(0, 2**31, (4,), generator=g), record["generator_after"])
