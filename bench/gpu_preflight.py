"""Pre-flight of bench/gpu_session.sh: what this machine has, before lease time goes to a step that cannot run.

    python bench/gpu_preflight.py [MODULE ...]

Prints the Python, torch and torchvision versions, the CUDA device, whether torchvision's nvJPEG
codec works there (one small image encoded on the CPU, decoded on the device, encoded on the
device and decoded again), and whether each MODULE imports. The last line is
``missing: NAME ...`` (nothing after the colon when every module imports), which the session
script reads to skip, with a message, each step that needs a missing module. Exit status 1 when
torch sees no CUDA device (nothing of the session can run).
"""

from __future__ import annotations

import importlib
import platform
import sys


def missing_modules(names: list[str]) -> list[str]:
    """Those of ``names`` that do not import here (any error on import counts)."""
    missing = []
    for name in names:
        try:
            importlib.import_module(name)
        except Exception as err:  # noqa: BLE001 - a broken install is as missing as an absent one
            print(f"module {name}: cannot import ({type(err).__name__}: {str(err).splitlines()[0][:100]})")
            missing.append(name)
    return missing


def nvjpeg_status(device) -> str:
    """``ok`` when torchvision encodes and decodes JPEG on ``device``, else why not."""
    import torch

    from corruptions.codec import decode_jpeg, encode_jpeg, has_device_jpeg

    if not has_device_jpeg():
        return "not available (this torchvision has no encode_jpeg/decode_jpeg): CPU decoding only"
    image = torch.arange(3 * 16 * 16, dtype=torch.uint8).reshape(3, 16, 16)
    try:
        data = encode_jpeg([image], quality=90)
        decoded = decode_jpeg(data, rgb=True, device=device)
        again = encode_jpeg(decoded, quality=90)
        back = decode_jpeg([again[0].cpu()], rgb=True, device=device)[0]
        torch.cuda.synchronize(device)
    except Exception as err:  # noqa: BLE001 - reported, the steps fall back or say so
        return f"failed ({type(err).__name__}: {str(err).splitlines()[0][:120]})"
    if decoded[0].device.type != "cuda" or back.shape != image.shape:
        return f"unexpected result: {decoded[0].device}, shape {tuple(back.shape)}"
    return "ok (decode and encode on the device)"


def main() -> int:
    print(f"python {platform.python_version()} at {sys.executable}")
    missing = missing_modules(list(dict.fromkeys(["torch", *sys.argv[1:]])))
    if "torch" in missing:
        print("missing: " + " ".join(missing))
        return 1
    import torch

    cuda = torch.cuda.is_available()
    try:
        import torchvision

        vision = torchvision.__version__
    except ImportError:
        vision = "missing"
    print(f"torch {torch.__version__} (CUDA {torch.version.cuda}), torchvision {vision}")
    if not cuda:
        print("no CUDA device visible to torch: no step of the session can run")
    else:
        device = torch.device("cuda")
        print(f"device {torch.cuda.get_device_name(device)}, "
              f"{torch.cuda.get_device_properties(device).total_memory / 2 ** 30:.0f} GiB")
        if vision != "missing":
            print(f"nvJPEG through torchvision: {nvjpeg_status(device)}")
    print("missing: " + " ".join(missing))
    return 0 if cuda else 1


if __name__ == "__main__":
    sys.exit(main())
