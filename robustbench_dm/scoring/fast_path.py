"""The GPU fast path of scoring: bfloat16 autocast, channels_last, pinned memory, non-blocking
copies and nvJPEG decoding. Each is a flag: ``None`` means on for CUDA devices and off on the
CPU, where scoring runs exactly as without it.

The flags that can change the numbers (precision, memory format, JPEG decoder) are recorded as
the results file's ``settings`` attribute; resuming into or merging files of other settings is
refused, so one results file never mixes them.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch import nn

from robustbench_dm.errors import UserError

#: ``settings`` of a plain CPU run (and of results files written before the attribute existed)
DEFAULT_SETTINGS: dict[str, Any] = {"precision": "float32", "channels_last": False, "decode": "cpu"}


@dataclass(frozen=True)
class FastPath:
    """Resolved fast-path choices for one scoring run on ``device``."""

    device: torch.device
    bf16: bool = False
    channels_last: bool = False
    gpu_decode: bool = False

    def settings(self) -> dict[str, Any]:
        """The ``settings`` attribute: what shapes the numbers."""
        return {"precision": "bfloat16" if self.bf16 else "float32",
                "channels_last": self.channels_last,
                "decode": "nvjpeg" if self.gpu_decode else "cpu"}

    def prepare(self, model: nn.Module) -> nn.Module:
        """``model`` on the device, in eval mode (and channels_last when chosen)."""
        model = model.to(self.device).eval()
        return model.to(memory_format=torch.channels_last) if self.channels_last else model

    def autocast(self) -> contextlib.AbstractContextManager:
        """bfloat16 CUDA autocast when chosen, else a null context."""
        if self.bf16:
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def stage(self) -> Callable[[tuple], tuple]:
        """What the reader thread does to each ``(data, labels, index)`` batch before the
        model sees it: pin CPU images for a non-blocking copy to the GPU (identity on the CPU)."""
        if self.device.type != "cuda":
            return lambda batch: batch
        return lambda batch: (batch[0].pin_memory() if not batch[0].is_cuda else batch[0],
                              *batch[1:])

    def to_input(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 NCHW (CPU or device) -> float [0, 1] on the device, in the chosen layout."""
        if images.is_cuda:
            images.record_stream(torch.cuda.current_stream(images.device))  # decoded on another stream
        x = images.to(self.device, non_blocking=True).float().div_(255.0)
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x


def resolve_fast_path(device: torch.device, *, bf16: bool | None = None,
                      channels_last: bool | None = None, gpu_decode: bool | None = None,
                      can_gpu_decode: bool = False) -> FastPath:
    """Fill the ``None`` flags (on for CUDA, off for the CPU) and refuse impossible ones.
    ``can_gpu_decode``: whether the suite is a JPEG folder suite fed as stored."""
    cuda = device.type == "cuda"
    if bf16 and not cuda:
        raise UserError("bf16=True needs a CUDA device (bfloat16 autocast); drop it on the CPU",
                        params=("bf16",))
    if gpu_decode and not cuda:
        raise UserError("gpu_decode=True needs a CUDA device (nvJPEG); drop it on the CPU",
                        params=("gpu_decode",))
    if gpu_decode and not can_gpu_decode:
        raise UserError("gpu_decode=True needs a JPEG folder suite (imagenet-c, tinyimagenet-c, "
                        "imagenet-3dcc) with images fed as stored (preprocessing none)",
                        params=("gpu_decode",))
    return FastPath(device=device, bf16=cuda if bf16 is None else bf16,
                    channels_last=cuda if channels_last is None else channels_last,
                    gpu_decode=(cuda and can_gpu_decode) if gpu_decode is None else gpu_decode)
