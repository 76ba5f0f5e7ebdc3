"""A CUDA device emulated on the CPU, so that the code paths taken only on CUDA run in CPU tests.

Within ``fake_cuda(monkeypatch)``, ``torch.cuda.is_available()`` is true and a tensor "on"
``cuda:0`` is a CPU tensor of class :class:`FakeCudaTensor`, whose ``device`` is ``cuda:0``:
code that branches on ``x.device.type == "cuda"``, ``x.is_cuda`` or a generator's device takes
its CUDA branch, and the arithmetic runs on the CPU (a torch function mode sees every call,
moves ``device="cuda"`` to the CPU and marks what it returns). What CUDA refuses is refused here
too, so that a device bug fails on the CPU:

- an operation mixing a device tensor with a CPU tensor of one or more dimensions (CUDA takes CPU
  scalars and 0-dimensional tensors; copies, conversions and indexing take both devices);
- ``.numpy()`` of a device tensor (also ``np.asarray``);
- drawing with a generator of the other device (``torch.rand(..., generator=g)``);
- torchvision's JPEG codec as nvJPEG takes it (:func:`fake_torchvision_jpeg`): decoding on the
  device reads CPU bytes only, encoding device images takes 3-channel images only.

Threads started within run under the emulation too. Streams, events and pinned memory are
no-ops, autocast and the kernels are the CPU's: it emulates the device's contract, not its speed,
precision or rounding.
"""

from __future__ import annotations

import contextlib
import threading
import types

import torch
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_flatten

CUDA = torch.device("cuda", 0)
CPU = torch.device("cpu")
_Tensor = torch.Tensor
# calls that take CPU tensors beside device tensors on CUDA
_MIXING = {_Tensor.copy_, _Tensor.__getitem__, _Tensor.__setitem__, _Tensor.to, _Tensor.cuda,
           _Tensor.cpu, _Tensor.new_tensor, torch.as_tensor, torch.tensor,
           torch._has_compatible_shallow_copy_type, _Tensor.module_load}
_CONVERSIONS = {_Tensor.to, _Tensor.cuda, _Tensor.cpu}
_RealGenerator = torch.Generator


class FakeCudaTensor(torch.Tensor):
    """A CPU tensor that says it is on ``cuda:0``."""

    __torch_function__ = torch._C._disabled_torch_function_impl

    @property
    def device(self) -> torch.device:
        return CUDA

    @property
    def is_cuda(self) -> bool:
        return True

    def __reduce_ex__(self, protocol):  # saved as a plain tensor (a CUDA tensor loads on the CPU)
        with torch._C.DisableTorchFunctionSubclass():
            return self.as_subclass(torch.Tensor).__reduce_ex__(protocol)


class FakeCudaGenerator(_RealGenerator):
    """A CPU generator that says it is on ``cuda:0`` when made for a CUDA device."""

    def __new__(cls, device: str | torch.device = "cpu"):
        generator = super().__new__(cls, "cpu")
        generator.on_cuda = torch.device(device).type == "cuda"
        return generator

    def __init__(self, device: str | torch.device = "cpu") -> None:
        pass

    @property
    def device(self) -> torch.device:
        return CUDA if self.on_cuda else CPU


def on_device(value) -> bool:
    """Whether ``value`` is a tensor on the emulated device."""
    return isinstance(value, FakeCudaTensor)


def _to_device(tensor: torch.Tensor) -> FakeCudaTensor:
    return tensor if on_device(tensor) else tensor.as_subclass(FakeCudaTensor)


def _is_cuda(device) -> bool:
    return device is not None and not isinstance(device, int) and torch.device(device).type == "cuda"


def _conversion(func, args, kwargs):
    """``Tensor.to`` / ``cuda`` / ``cpu``: a copy on the target device (as CUDA makes one)."""
    self = args[0]
    if func is _Tensor.cpu:
        target, rest = False, {}
    elif func is _Tensor.cuda:
        target, rest = True, {k: v for k, v in kwargs.items() if k == "memory_format"}
    elif args[1:] and isinstance(args[1], torch.Tensor):  # x.to(other, ...)
        other = args[1]
        target, rest = on_device(other), {"dtype": other.dtype}
    else:
        device, dtype, _, memory_format = torch._C._nn._parse_to(*args[1:], **kwargs)
        target = on_device(self) if device is None else device.type == "cuda"
        rest = {k: v for k, v in (("dtype", dtype), ("memory_format", memory_format)) if v is not None}
    out = _Tensor.to(self, **rest)
    if target:
        return _to_device(out.clone() if out is self and not on_device(self) else out)
    if on_device(self):
        return (out.clone() if out is self else out).as_subclass(torch.Tensor)
    return out


def _call(func, args, kwargs):
    """``func`` on the CPU, its tensors marked as on the device when the call runs there."""
    if func is _Tensor.pin_memory:
        return args[0].clone()
    if func is _Tensor.is_pinned:
        return False
    if func in (_Tensor.numpy, _Tensor.__array__) and on_device(args[0]):
        raise TypeError("can't convert cuda:0 device type tensor to numpy. Use Tensor.cpu() to "
                        "copy the tensor to host memory first. (fake CUDA)")
    if func in _CONVERSIONS:
        return _conversion(func, args, kwargs)
    if func is _Tensor.__format__:  # format(x, ".2f") of a 0-d tensor, as for plain tensors
        return format(args[0].as_subclass(torch.Tensor), *args[1:])
    leaves = tree_flatten((args, kwargs))[0]
    inputs_on_device = any(on_device(a) for a in leaves)
    target = inputs_on_device
    kwargs = dict(kwargs)
    if kwargs.get("device") is not None:
        target = _is_cuda(kwargs["device"])
        kwargs["device"] = CPU
    generator = kwargs.get("generator")
    if generator is not None and getattr(generator, "on_cuda", False) != target:
        raise RuntimeError(f"Expected a '{'cuda' if target else 'cpu'}' device type for generator "
                           f"but found '{generator.device.type}' (fake CUDA: {func.__name__})")
    if inputs_on_device and func not in _MIXING:
        for a in leaves:
            if isinstance(a, torch.Tensor) and not on_device(a) and a.dim() > 0:
                raise RuntimeError("Expected all tensors to be on the same device, but found at "
                                   f"least two devices, cuda:0 and cpu! (fake CUDA: {func.__name__})")
    if func in (_Tensor.__getitem__, _Tensor.__setitem__) and not on_device(args[0]) and inputs_on_device:
        raise RuntimeError("indices should be either on cpu or on the same device as the indexed "
                           "tensor (cpu) (fake CUDA)")
    with torch._C.DisableTorchFunctionSubclass():
        out = func(*args, **kwargs)
    return _mark(out, {id(a) for a in leaves}) if target else out


def _mark(value, inputs: set[int]):
    """``value`` with its new tensors marked as on the device (``inputs``: ids of the call's
    own tensors, returned as they are: in place or out=)."""
    if isinstance(value, torch.Tensor):
        return value if id(value) in inputs else _to_device(value)
    if type(value) in (list, tuple):
        return type(value)(_mark(v, inputs) for v in value)
    if isinstance(value, tuple) and type(value).__module__ == "torch.return_types":
        return type(value)([_mark(v, inputs) for v in value])
    return value


class FakeCudaMode(TorchFunctionMode):
    """Sees every torch call, also the factories that make a tensor ``device="cuda"``."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if func is torch.device:
            return func(*args, **(kwargs or {}))
        return _call(func, args, kwargs or {})


class FakeStream:
    """``torch.cuda.Stream`` / ``Event`` stand-in: everything is already done."""

    def __init__(self, *args, **kwargs) -> None:
        pass

    def synchronize(self) -> None:
        pass

    def wait_stream(self, stream) -> None:
        pass

    def wait_event(self, event) -> None:
        pass

    def record_event(self, event=None):
        return FakeStream()

    def record(self, stream=None) -> None:
        pass

    def query(self) -> bool:
        return True


def fake_torchvision_jpeg():
    """``(ImageReadMode, decode_jpeg, encode_jpeg)`` of torchvision with its CUDA contract
    emulated: device decoding of CPU bytes only, device encoding of 3-channel images only."""
    from torchvision.io import ImageReadMode, decode_jpeg, encode_jpeg

    def decode(data, mode=ImageReadMode.UNCHANGED, device="cpu"):
        single = isinstance(data, torch.Tensor)
        items = [data] if single else list(data)
        if not _is_cuda(device):
            return decode_jpeg(data, mode=mode, device=device)
        if any(on_device(item) for item in items):
            raise RuntimeError("The input tensor must be on CPU when decoding with nvjpeg")
        out = [_to_device(d) for d in decode_jpeg(items, mode=mode)]
        return out[0] if single else out

    def encode(images, quality=75):
        single = isinstance(images, torch.Tensor)
        items = [images] if single else list(images)
        if not any(on_device(i) for i in items):
            return encode_jpeg(images, quality=quality)
        for item in items:
            if not on_device(item):
                raise RuntimeError("All input tensors must be on the same CUDA device when "
                                   "encoding with nvjpeg")
            if item.shape[0] != 3:
                raise RuntimeError(f"The number of channels should be 3, got: {item.shape[0]}")
        cpu = [item.as_subclass(torch.Tensor).contiguous() for item in items]
        out = [_to_device(e) for e in encode_jpeg(cpu, quality=quality)]
        return out[0] if single else out

    return ImageReadMode, decode, encode


@contextlib.contextmanager
def fake_cuda(monkeypatch):
    """Within: one emulated CUDA device (``monkeypatch`` undoes the patches afterwards)."""
    import corruptions.codec

    generators = (FakeCudaGenerator("cuda"),)
    for name, value in {
        "_lazy_init": lambda: None, "is_available": lambda: True, "device_count": lambda: 1,
        "current_device": lambda: 0, "synchronize": lambda device=None: None,
        "get_device_name": lambda device=None: "fake CUDA",
        "mem_get_info": lambda device=None: (80 * 2 ** 30, 80 * 2 ** 30),
        "get_device_properties": lambda device=None: types.SimpleNamespace(
            name="fake CUDA", total_memory=80 * 2 ** 30, multi_processor_count=1),
        "Stream": FakeStream, "Event": FakeStream, "stream": lambda s=None: contextlib.nullcontext(),
        "current_stream": lambda device=None: FakeStream(),
        "default_stream": lambda device=None: FakeStream(),
        "default_generators": generators, "is_bf16_supported": lambda *a, **k: True,
        "get_rng_state_all": lambda: [g.get_state() for g in generators],
        "set_rng_state_all": lambda states: [g.set_state(s) for g, s in zip(generators, states)],
    }.items():
        monkeypatch.setattr(torch.cuda, name, value, raising=False)
    monkeypatch.setattr(torch, "Generator", FakeCudaGenerator)
    monkeypatch.setattr(torch.Tensor, "record_stream", lambda tensor, stream: None)
    run = threading.Thread.run

    def run_emulated(thread) -> None:  # torch function modes are per thread
        with FakeCudaMode():
            run(thread)
    monkeypatch.setattr(threading.Thread, "run", run_emulated)
    monkeypatch.setattr(corruptions.codec, "torchvision_jpeg", fake_torchvision_jpeg)
    swap = torch.__future__.get_swap_module_params_on_conversion()
    torch.__future__.set_swap_module_params_on_conversion(True)  # parameters become device tensors
    try:
        with FakeCudaMode():
            yield
    finally:
        torch.__future__.set_swap_module_params_on_conversion(swap)
