"""The safetensors format, read and written without running code (and without the package).

A file is an 8-byte little-endian header length N, N bytes of JSON header, then the raw
little-endian tensor bytes. The header maps each tensor name to ``{"dtype", "shape",
"data_offsets": [begin, end]}`` (offsets into the data section) and may hold
``"__metadata__"``: a flat ``{str: str}`` dict. Files written here load with
``safetensors.torch.load_file`` and files it writes load here.
"""

from __future__ import annotations

import json
import math
import os
import struct
from collections.abc import Mapping
from pathlib import Path

import torch

from robustbench_dm.atomic import write_atomic
from robustbench_dm.errors import UserError

SUFFIX = ".safetensors"
_MAX_HEADER = 100 << 20  # the safetensors package's own limit

DTYPES: dict[str, torch.dtype] = {
    "F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
    "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8,
    "U8": torch.uint8, "BOOL": torch.bool,
}
_NAMES = {dtype: name for name, dtype in DTYPES.items()}


def is_safetensors(path: str | os.PathLike) -> bool:
    """Whether ``path`` looks like a safetensors file (header length, then a JSON object)."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            head = f.read(9)
        size = path.stat().st_size
    except OSError:
        return False
    if len(head) < 9:
        return False
    (length,) = struct.unpack("<Q", head[:8])
    return head[8:9] == b"{" and 0 < length <= min(size - 8, _MAX_HEADER)


def save_safetensors(path: str | os.PathLike, tensors: Mapping[str, torch.Tensor],
                     metadata: Mapping[str, str] | None = None) -> Path:
    """Write ``tensors`` (and string ``metadata``) to ``path`` atomically."""
    header: dict = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    blobs, offset = [], 0
    for name, tensor in tensors.items():
        if tensor.dtype not in _NAMES:
            raise ValueError(f"tensor {name!r} has dtype {tensor.dtype}, which safetensors "
                             f"cannot hold; expected one of {sorted(_NAMES.values())}")
        flat = tensor.detach().to("cpu").contiguous().reshape(-1)
        data = flat.view(torch.uint8).numpy().tobytes() if flat.numel() else b""
        header[name] = {"dtype": _NAMES[tensor.dtype], "shape": list(tensor.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # data starts 8-byte aligned, as the package writes it

    def write(f) -> None:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for data in blobs:
            f.write(data)

    return write_atomic(path, write, binary=True)


def read_safetensors(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """``(tensors, metadata)`` of the safetensors file ``path``; a malformed file raises
    ``UserError`` naming it."""
    path = Path(path)
    raw = path.read_bytes()
    bad = f"{path} is not a valid safetensors file"
    if len(raw) < 8:
        raise UserError(f"{bad}: too short")
    (length,) = struct.unpack("<Q", raw[:8])
    if length > min(len(raw) - 8, _MAX_HEADER):
        raise UserError(f"{bad}: header length {length} exceeds the file")
    try:
        header = json.loads(raw[8:8 + length])
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise UserError(f"{bad}: header is not JSON ({err})") from None
    if not isinstance(header, dict):
        raise UserError(f"{bad}: header is not a JSON object")
    metadata = header.pop("__metadata__", None) or {}
    data = memoryview(raw)[8 + length:]
    tensors = {}
    for name, entry in header.items():
        try:
            dtype = DTYPES[entry["dtype"]]
            shape = [int(s) for s in entry["shape"]]
            begin, end = (int(v) for v in entry["data_offsets"])
        except (KeyError, TypeError, ValueError):
            raise UserError(f"{bad}: tensor {name!r} has an unreadable entry {entry!r}") from None
        if not 0 <= begin <= end <= len(data) or end - begin != math.prod(shape) * dtype.itemsize:
            raise UserError(f"{bad}: tensor {name!r} ({entry['dtype']} {shape}) does not fit "
                            f"its data offsets [{begin}, {end}]")
        buffer = bytearray(data[begin:end])
        flat = torch.frombuffer(buffer, dtype=torch.uint8) if buffer else torch.empty(0, dtype=torch.uint8)
        tensors[name] = flat.view(dtype).reshape(shape)
    return tensors, {str(k): str(v) for k, v in metadata.items()}
