"""The code paths taken only on CUDA, run on the CPU under an emulated device (tests/fake_cuda.py):
what bench/gpu_session.sh runs on a GPU lease must not fail there for a device mismatch, a
``.numpy()`` of a device tensor, a generator of the wrong device or a misuse of nvJPEG.

The emulated device computes on the CPU, so each CUDA branch is checked against the CPU branch
(deterministic kernels to the same bars as the device tests, which these tests run as they are),
not against a GPU's rounding, speed or random streams.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import corruption_reference as ref
import corruptions
import corruptions.codec as codec
import test_corruptions_devices as device_tests
import test_corruptions_resolution as resolution_tests
import test_sequences as sequence_tests
from fake_cuda import FakeCudaTensor, fake_cuda, on_device
from formats import write_imagenet_c_folder
from imagenet_fixtures import TinyNet, cells_of, write_photo_folder
from robustbench_dm.scoring import score
from robustbench_dm.suites import get_suite
from robustbench_dm.suites.folders import decode_batch, decode_on_device
from robustbench_dm.suites.released_jpeg import ReleasedSave
from robustbench_dm.training import resolve_config, train
from training_fixtures import write_fashion_mnist

BENCH = Path(__file__).resolve().parent.parent / "bench"
CUDA = torch.device("cuda")
RANDOM = [n for n in corruptions.CORRUPTIONS + corruptions.EXTRA if n not in device_tests.DETERMINISTIC]
SLOW_RANDOM = ("shot_noise",)  # its alias tables take ~40 s to build under the emulation


@pytest.fixture
def cuda(monkeypatch):
    with fake_cuda(monkeypatch):
        yield CUDA


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    return write_photo_folder(tmp_path_factory.mktemp("imagenet") / "val")


def _jpegs(n: int = 3, size: int = 48) -> list[torch.Tensor]:
    rng = np.random.default_rng(size)
    blocks = rng.integers(0, 256, (n, 3, size // 8, size // 8)).astype(np.uint8)
    images = torch.from_numpy(np.ascontiguousarray(blocks.repeat(8, 2).repeat(8, 3)))
    return codec.encode_jpeg(list(images), quality=90)


# --------------------------------------------------------------------------- the emulation


def test_the_emulated_device_refuses_what_cuda_refuses(cuda):
    x = torch.arange(12, dtype=torch.float32).reshape(3, 4).to(cuda)
    assert x.device.type == "cuda" and x.is_cuda and isinstance(x, FakeCudaTensor)
    assert on_device(x * 2) and on_device(torch.zeros(2, device=cuda)) and not on_device(x.cpu())
    assert on_device(x + torch.tensor(1.0))  # CPU scalars are fine
    assert on_device(x[torch.tensor([0, 2])])  # and CPU indices of a device tensor
    with pytest.raises(RuntimeError, match="indices"):
        torch.ones(3)[torch.tensor([0, 2]).to(cuda)]
    with pytest.raises(RuntimeError, match="same device"):
        x + torch.ones(4)
    with pytest.raises(TypeError, match="numpy"):
        x.numpy()
    with pytest.raises(RuntimeError, match="generator"):
        torch.rand(3, device=cuda, generator=torch.Generator().manual_seed(0))
    assert on_device(torch.rand(3, device=cuda, generator=torch.Generator(device=cuda).manual_seed(0)))
    net = torch.nn.Linear(4, 2).to(cuda)
    assert net.weight.device.type == "cuda" and on_device(net(x))
    with pytest.raises(RuntimeError, match="same device"):
        torch.nn.Linear(4, 2)(x)
    with pytest.raises(RuntimeError, match="must be on CPU"):
        codec.decode_jpeg([d.to(cuda) for d in _jpegs()], device=cuda)


# --------------------------------------------------------------------------- corruption kernels


@pytest.mark.parametrize("size", ref.SIZES)
@pytest.mark.parametrize("name", device_tests.DETERMINISTIC)
def test_deterministic_kernels_device_branch(name, size, cuda):
    device_tests.test_deterministic_kernels_on_device(name, size, "cuda")


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW_RANDOM else n
                                  for n in RANDOM])
def test_random_kernels_device_branch(name, cuda):
    device_tests.test_random_kernels_on_device(name, 32, "cuda")


@pytest.mark.parametrize("name", corruptions.PERTURBATIONS)
def test_sequences_device_branch(name, cuda):
    sequence_tests.test_devices_agree(name)


@pytest.mark.parametrize("name", [n if n in ("pixelate", "motion_blur") else pytest.param(n, marks=pytest.mark.slow)
                                  for n in resolution_tests.SPATIAL])
def test_scaled_kernels_device_branch(name, cuda):
    resolution_tests.test_scaled_kernels_on_the_device(name)


# --------------------------------------------------------------------------- nvJPEG


def test_device_decoding_waits_for_the_kernels_queued_before_it(cuda, monkeypatch):
    """torchvision's nvJPEG decoder writes on a stream of its own (pytorch/vision#9606): the
    caller's stream must be idle before it is handed that stream's memory."""
    events = []

    class Stream:
        def synchronize(self):
            events.append("synchronize")

    read_mode, decode, encode = codec.torchvision_jpeg()

    def logged_decode(*args, **kwargs):
        events.append("decode")
        return decode(*args, **kwargs)
    monkeypatch.setattr(torch.cuda, "current_stream", lambda device=None: Stream())
    monkeypatch.setattr(codec, "torchvision_jpeg", lambda: (read_mode, logged_decode, encode))
    images = codec.decode_jpeg(_jpegs(), rgb=True, device=cuda)
    assert events == ["synchronize", "decode"] and all(on_device(i) for i in images)
    codec.decode_jpeg(_jpegs(), rgb=True)
    assert events == ["synchronize", "decode", "decode"]  # the CPU has nothing to wait for


def test_device_decoding_gives_the_cpu_pixels(cuda):
    data = _jpegs()
    on_gpu = codec.decode_jpeg(data, rgb=True, device=cuda)
    assert all(on_device(i) for i in on_gpu)
    for gpu, cpu in zip(on_gpu, codec.decode_jpeg(data, rgb=True)):
        assert torch.equal(gpu.cpu(), cpu)
    encoded = codec.encode_jpeg(on_gpu, quality=85)  # nvJPEG encodes device images
    assert all(on_device(e) for e in encoded)


def test_folder_batches_decode_on_the_device_or_fall_back_to_pil(tmp_path, cuda, monkeypatch):
    paths = []
    for i, data in enumerate(_jpegs(4)):
        paths.append(tmp_path / f"{i}.JPEG")
        paths[-1].write_bytes(data.numpy().tobytes())
    expected = decode_batch(paths, "none", (48, 48))
    batch = decode_on_device(paths, "none", (48, 48), cuda, torch.cuda.Stream(cuda))
    assert on_device(batch) and torch.equal(batch.cpu(), expected)

    def refuse(*args, **kwargs):
        raise RuntimeError("nvJPEG cannot read this file")
    read_mode, _, encode = codec.torchvision_jpeg()
    monkeypatch.setattr(codec, "torchvision_jpeg", lambda: (read_mode, refuse, encode))
    assert torch.equal(decode_on_device(paths, "none", (48, 48), cuda, torch.cuda.Stream(cuda)), expected)


@pytest.mark.parametrize("fast", [False, True])
def test_released_jpeg_round_trip_on_the_device(fast, cuda):
    images = torch.from_numpy(np.random.default_rng(1).integers(0, 256, (3, 3, 40, 40), dtype=np.uint8))
    expected = ReleasedSave(fast=fast, threads=2).submit(images)()
    saved = ReleasedSave(fast=fast, threads=2).submit(images.to(cuda))()
    assert on_device(saved) and torch.equal(saved.cpu(), expected)
    assert len(ReleasedSave(fast=fast, threads=2).encode(images.to(cuda))) == 3


# --------------------------------------------------------------------------- score pipelines


def _score(suite, tmp_path: Path, name: str, device, **options) -> dict:
    torch.manual_seed(0)
    score(TinyNet(3), suite, out_dir=tmp_path / name, batch_size=2, device=device, progress=False,
          workers=2, checkpoint_info={"path": "tiny", "sha256": "0" * 64}, **options)
    return cells_of(tmp_path / name / "results.h5")


def _assert_same_predictions(cells: dict, expected: dict) -> None:
    assert sorted(cells) == sorted(expected)
    for cell, arrays in expected.items():
        for key in ("labels", "index", "topk"):
            assert np.array_equal(cells[cell][key], arrays[key]), (cell, key)
        np.testing.assert_allclose(cells[cell]["topk_prob"], arrays["topk_prob"], atol=1e-5)


def test_score_decodes_a_jpeg_folder_with_nvjpeg_on_the_device(tmp_path, cuda):
    root = write_imagenet_c_folder(tmp_path / "ImageNet-C", ("gaussian_noise", "contrast"),
                                   wnids=("n01440764", "n01443537", "n01484850"), severities=(2,),
                                   size=64)
    picked = {"corruptions": ["gaussian_noise", "contrast"], "severities": [2]}
    expected = _score(get_suite("imagenet-c", root, **picked), tmp_path, "cpu", "cpu")
    cells = _score(get_suite("imagenet-c", root, **picked), tmp_path, "gpu", cuda, gpu_decode=True)
    _assert_same_predictions(cells, expected)


@pytest.mark.parametrize("options", [{}, {"fast_jpeg": True}, {"clean_decoder": "nvjpeg"}])
def test_imagenet_c_on_the_fly_on_the_device(options, photos, tmp_path, cuda):
    """The clean set held on the device, corrupted there, the JPEG save read back by nvJPEG;
    with the emulated device's CPU draws the images are the CPU's (except the nvJPEG clean
    decoder's own resize)."""
    picked = {"corruptions": ["gaussian_noise", "pixelate"], "severities": [3]}
    expected = _score(get_suite("imagenet-c", generate=True, clean_root=photos, **picked, **options),
                      tmp_path, "cpu", "cpu") if "clean_decoder" not in options else None
    cells = _score(get_suite("imagenet-c", generate=True, clean_root=photos, device=cuda, **picked, **options),
                   tmp_path, "gpu", cuda)
    assert sorted(cells) == ["clean/0", "gaussian_noise/3", "pixelate/3"]
    if expected is not None:
        _assert_same_predictions(cells, expected)


@pytest.mark.slow
def test_imagenet_p_on_the_fly_on_the_device(tmp_path, cuda):
    """Sequences made on the device, encoded by x264 on the CPU and read back to the device."""
    six = {f"n{i:08d}": (name,) for i, name in enumerate(("astronaut", "coffee", "chelsea", "rocket",
                                                          "camera", "cat"))}
    clean = write_photo_folder(tmp_path / "val", six)
    suite = get_suite("imagenet-p", generate=True, clean_root=clean, corruptions=["gaussian_noise"], device=cuda)
    torch.manual_seed(0)
    score(TinyNet(6), suite, out_dir=tmp_path / "p", batch_size=64, device=cuda, progress=False,
          checkpoint_info={"path": "tiny", "sha256": "0" * 64})
    cells = cells_of(tmp_path / "p" / "results.h5")
    assert list(cells) == ["gaussian_noise/1"] and cells["gaussian_noise/1"]["topk"].shape[:1] == (6,)


# --------------------------------------------------------------------------- training


class Interrupted(Exception):
    pass


def _stop_after_first_epoch(row: dict) -> None:
    raise Interrupted


@pytest.mark.parametrize("method", ["dynmix", "standard"] + [
    pytest.param(m, marks=pytest.mark.slow)
    for m in ("augmix", "autoaugment_star", "random_autoaugment_star", "mixup", "cutmix")])
def test_training_loop_and_its_resume_on_the_device(method, tmp_path, cuda):
    """bfloat16 autocast and channels_last (the CUDA defaults), the device's generator and
    random state saved with the checkpoint and restored on resume."""
    data = write_fashion_mnist(tmp_path / "fmnist", n_train=32, n_test=16)
    config = resolve_config(method, "small_cnn", "fashion-mnist", str(data), str(tmp_path / "run"),
                            epochs=2, batch_size=16, device="cuda")
    assert config.amp and config.channels_last
    with pytest.raises(Interrupted):
        train(config, on_epoch=_stop_after_first_epoch, progress=False)
    row = train(config, resume=True, progress=False)
    assert int(row["epoch"]) == 2 and np.isfinite(float(row["loss"]))


# --------------------------------------------------------------------------- the session's benches


def _bench(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_gpu_preflight_on_the_device(cuda, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["gpu_preflight.py", "numpy", "no_such_module_here"])
    assert _bench("gpu_preflight").main() == 0
    out = capsys.readouterr().out
    assert "device fake CUDA, 80 GiB" in out and "nvJPEG through torchvision: ok" in out
    assert out.splitlines()[-1] == "missing: no_such_module_here"


def test_gpu_preflight_without_a_device(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["gpu_preflight.py"])
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert _bench("gpu_preflight").main() == 1
    assert "no CUDA device" in capsys.readouterr().out


def test_corruption_speed_bench_on_the_device(cuda, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["corruption_speed.py", "--device", "cuda", "--sizes", "32", "--batch", "4",
                                      "--quick", "--only", "gaussian_noise,pixelate,jpeg_compression"])
    monkeypatch.setattr(sys, "path", list(sys.path))  # the script takes its own folder off sys.path
    monkeypatch.setattr(torch, "set_num_threads", lambda threads: None)  # keep this process's
    _bench("corruption_speed").main()
    out = capsys.readouterr().out
    assert "(4 images, cuda," in out and "pixelate" in out and "jpeg_compression" in out


def test_train_gpu_step_on_the_device(cuda):
    times = _bench("train_gpu").bench(cuda, batch=4, steps=1, warmup=0, amp=True, arch="small_cnn")
    assert sorted(times) == ["augment", "model", "step"]


def test_gpu_score_bench_on_the_device(cuda, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["gpu_score.py", "--images", "4", "--classes", "2", "--batch-size", "2",
                                      "--corruptions", "gaussian_noise,contrast", "--device", "cuda"])
    bench = _bench("gpu_score")
    monkeypatch.setattr(bench, "create_model", lambda arch, classes, normalization: TinyNet(classes))
    bench.main()
    out = capsys.readouterr().out
    assert "decode': 'nvjpeg'" in out and "top-1 agreement nvJPEG vs PIL decoding: 1.0000" in out


def test_gpu_imagenet_c_bench_on_the_device(cuda, monkeypatch, capsys):
    monkeypatch.setattr(torch, "compile", lambda model, **options: model)  # no compiler for the emulation
    monkeypatch.setattr(sys, "argv", ["gpu_imagenet_c.py", "--quick", "--device", "cuda"])
    bench = _bench("gpu_imagenet_c")
    monkeypatch.setattr(bench, "create_model", lambda arch, classes, normalization: TinyNet(classes))
    bench.main()
    out = capsys.readouterr().out
    assert "clean decode + resize/crop (nvJPEG)" in out and "failed" not in out
    assert "CUDA graphs (compile reduce-overhead), batch 512" in out
