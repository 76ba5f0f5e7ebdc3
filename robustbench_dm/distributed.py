"""Process groups under ``torchrun``: setup from its environment, rank helpers, gathers.

``torchrun --nproc-per-node N`` starts N copies of a command with ``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT`` set. :func:`process_group` joins the group
those variables describe (gloo on the CPU, NCCL on CUDA; each rank on ``cuda:LOCAL_RANK``), or
uses a group the caller already initialised, or runs as one process when there is neither.
The training loop and ``score`` call it; methods and models never set distribution up.

Everything here is plain ``torch.distributed``: no home-made transport.
"""

from __future__ import annotations

import atexit
import contextlib
import os
from dataclasses import dataclass
from typing import Any, Iterator, Mapping

import numpy as np
import torch
import torch.distributed as dist

from robustbench_dm.errors import UserError

_ENV = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


@dataclass(frozen=True)
class DistContext:
    """Where this process stands: ``rank`` of ``world_size`` (1 when not distributed)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def distributed(self) -> bool:
        """Whether more than one process takes part."""
        return self.world_size > 1

    @property
    def main(self) -> bool:
        """Whether this is rank 0, the only rank that writes files and prints."""
        return self.rank == 0


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise UserError(f"environment variable {name}={value!r}; expected an integer "
                        "(as torchrun sets it)") from None


def env_world_size() -> int:
    """``WORLD_SIZE`` from the environment (1 when unset)."""
    return _env_int("WORLD_SIZE", 1)


def is_main() -> bool:
    """Whether this process is rank 0 (of the current group, else of ``RANK`` in the env)."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank() == 0
    return _env_int("RANK", 0) == 0


def rank_device(device: torch.device, local_rank: int, world_size: int) -> torch.device:
    """The device of one rank: a bare ``cuda`` becomes ``cuda:LOCAL_RANK`` when distributed."""
    if device.type == "cuda" and device.index is None and world_size > 1:
        return torch.device("cuda", local_rank)
    return device


@contextlib.contextmanager
def process_group(device: torch.device | str) -> Iterator[tuple[DistContext, torch.device]]:
    """Yield ``(context, device of this rank)``, joining the torchrun group if there is one.

    An already initialised default group is used as is (and left open). Otherwise, when
    ``WORLD_SIZE > 1``, the group is created from the environment (``env://``) with NCCL for
    CUDA devices and gloo for the CPU, kept for later calls in the same process (a second
    rendezvous on the same port can meet the first one's store while it is torn down), and
    destroyed when the process exits.
    """
    device = torch.device(device)
    if dist.is_available() and dist.is_initialized():
        local = _env_int("LOCAL_RANK", dist.get_rank())
        ctx = DistContext(dist.get_rank(), dist.get_world_size(), local)
        yield ctx, rank_device(device, local, ctx.world_size)
        return
    world = env_world_size()
    if world <= 1:
        yield DistContext(), device
        return
    missing = [name for name in _ENV if name not in os.environ]
    if missing:
        raise UserError(f"WORLD_SIZE={world} but {', '.join(missing)} unset: launch with "
                        "torchrun --nproc-per-node N ... (it sets them)")
    if not dist.is_available():
        raise UserError("WORLD_SIZE > 1 but this torch build has no torch.distributed")
    ctx = DistContext(_env_int("RANK", 0), world, _env_int("LOCAL_RANK", 0))
    device = rank_device(device, ctx.local_rank, world)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    backend = "nccl" if device.type == "cuda" else "gloo"
    if device.type == "cuda":
        dist.init_process_group(backend, device_id=device)
    else:
        dist.init_process_group(backend)
    atexit.register(_destroy_group)
    yield ctx, device


def _destroy_group() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def split_range(n: int, rank: int, world_size: int, unit: int = 1) -> tuple[int, int]:
    """The contiguous share ``[lo, hi)`` of ``n`` items that ``rank`` takes: nothing is padded
    or repeated, and the shares in rank order are ``range(n)``. The cuts fall on multiples of
    ``unit`` (blocks read or made whole go to one rank); share sizes differ by at most one unit."""
    blocks = -(-n // unit)
    return min(blocks * rank // world_size * unit, n), min(blocks * (rank + 1) // world_size * unit, n)


def gather_arrays(arrays: Mapping[str, np.ndarray], ctx: DistContext) -> dict[str, np.ndarray] | None:
    """Concatenate every rank's ``arrays`` (same keys, possibly empty dicts) on rank 0, in rank
    order; other ranks get ``None``. With one process, ``arrays`` comes back unchanged."""
    if not ctx.distributed:
        return dict(arrays)
    parts: list[Any] | None = [None] * ctx.world_size if ctx.main else None
    dist.gather_object(dict(arrays), parts, dst=0)
    if not ctx.main:
        return None
    keys = [key for part in parts for key in part]
    return {key: np.concatenate([part[key] for part in parts if key in part])
            for key in dict.fromkeys(keys)}


def broadcast(value: Any, ctx: DistContext) -> Any:
    """Rank 0's ``value`` on every rank (picklable objects)."""
    if not ctx.distributed:
        return value
    box = [value if ctx.main else None]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def gather(value: Any, ctx: DistContext) -> list[Any] | None:
    """Every rank's ``value`` as a list in rank order on rank 0 (``None`` elsewhere)."""
    if not ctx.distributed:
        return [value]
    parts: list[Any] | None = [None] * ctx.world_size if ctx.main else None
    dist.gather_object(value, parts, dst=0)
    return parts


def all_reduce_sum(tensor: torch.Tensor, ctx: DistContext) -> torch.Tensor:
    """The sum of ``tensor`` over all ranks (in place; returned for chaining)."""
    if ctx.distributed:
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


def barrier(ctx: DistContext) -> None:
    """Wait until every rank got here."""
    if ctx.distributed:
        dist.barrier()
