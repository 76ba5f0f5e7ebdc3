"""How many images (or planes) one pass of a batched kernel takes at a time."""

from __future__ import annotations

import torch


def items_per_chunk(count: int, values_per_item: int, budget: int, device: torch.device) -> int:
    """About ``budget`` values per chunk on the CPU, so a pass's temporaries stay in cache;
    all ``count`` items at once on other devices, where each pass is one kernel launch."""
    if device.type == "cpu":
        return max(1, budget // values_per_item)
    return max(count, 1)
