"""The one device resolver: ``"auto"`` (every command's default) is CUDA when torch sees a GPU,
else the CPU; explicit names are checked against what this machine has."""

from __future__ import annotations

import torch

from robustbench_dm.errors import UserError

AUTO = "auto"


def resolve_device(device: str | torch.device | None = AUTO) -> torch.device:
    """``device`` as a ``torch.device``: ``"auto"`` or ``None`` -> ``cuda`` when available, else
    ``cpu``; ``cpu``, ``cuda`` and ``cuda:N`` as given. An unknown name, or CUDA where torch
    sees no GPU (or not GPU N), is a ``UserError`` naming the value."""
    if device is None or device == AUTO:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError):
        raise UserError(f"unknown device {device!r}; expected auto, cpu, cuda or cuda:N") from None
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise UserError(f"device {str(device)!r}: no CUDA GPU is visible to torch here; "
                            "use cpu or auto")
        count = torch.cuda.device_count()
        if resolved.index is not None and resolved.index >= count:
            raise UserError(f"device {str(device)!r}: torch sees {count} CUDA GPU(s) "
                            f"(cuda:0 to cuda:{count - 1})")
    return resolved
