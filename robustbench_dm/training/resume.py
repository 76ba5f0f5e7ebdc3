"""Resuming a training run: its checkpoint (read and checked against the config) and the
random number generator states saved in it, one per rank under torchrun."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from robustbench_dm.distributed import DistContext
from robustbench_dm.errors import UserError
from robustbench_dm.training.config import RESUME_FIELDS, TrainConfig

CHECKPOINT_NAME = "last.pt"
_RANK_SEED_STRIDE = 1_000_003


def read_checkpoint(path: Path) -> dict[str, Any]:
    """The checkpoint at ``path`` (loaded on the CPU, weights only) to resume from."""
    if not path.is_file():
        raise UserError(f"resume=True: no checkpoint {path}; expected a previous run's "
                        f"{CHECKPOINT_NAME} in out", params=("resume", "out"))
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise UserError(f"resume=True: {path} is not a readable checkpoint ({err})",
                        params=("resume",)) from None


def check_resumable(checkpoint: dict[str, Any], config: TrainConfig, path: Path) -> None:
    """Raise a ``UserError`` unless ``checkpoint`` was trained with ``config``'s arch and
    :data:`RESUME_FIELDS`."""
    if checkpoint.get("arch") != config.arch:
        raise UserError(f"resume=True: {path} is a checkpoint of architecture "
                        f"{checkpoint.get('arch')!r}, but arch={config.arch!r} was given",
                        params=("resume", "arch"))
    saved = checkpoint.get("config") or {}
    ours = config.to_dict()
    differing = [f"{k}: {saved.get(k)!r} in the checkpoint, {ours[k]!r} now"
                 for k in RESUME_FIELDS if saved.get(k) != ours[k]]
    if differing:
        raise UserError(f"resume=True: {path} was trained with other settings ("
                        + "; ".join(differing) + "); resume with the same settings",
                        params=("resume",))


def rng_state(generator: torch.Generator) -> dict[str, Any]:
    """The states of the method's ``generator``, torch's global RNG and (if any) CUDA's."""
    state = {"method": generator.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _restore_rng(state: dict[str, Any], generator: torch.Generator) -> None:
    generator.set_state(state["method"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def seed_rank(generator: torch.Generator, seed: int, rank: int) -> None:
    """Give rank ``rank > 0`` its own method generator and global RNG stream."""
    generator.manual_seed(seed + _RANK_SEED_STRIDE * rank)
    torch.manual_seed(seed + _RANK_SEED_STRIDE * rank)


def resume_rng(metadata: dict[str, Any], generator: torch.Generator, config: TrainConfig,
               ctx: DistContext, epoch: int) -> None:
    """Restore this rank's RNG state from a checkpoint; with another number of ranks than the
    checkpoint's, ranks past 0 start fresh streams seeded by ``(seed, rank, epoch)``."""
    states = metadata.get("rng_ranks")
    if ctx.distributed and states is not None and len(states) == ctx.world_size:
        _restore_rng(states[ctx.rank], generator)
    elif ctx.main:
        _restore_rng(metadata["rng"], generator)
    else:
        seed_rank(generator, config.seed + epoch, ctx.rank)
