"""Generated suites (fmnist-c, fmnist-p, cifar10-c generate=True): seeded and batch-independent.

The corruption kernels are written by other areas; these tests install stand-in kernels that
follow the registry contract (random draws from the given generator, shaped like the batch), so
they check the suite machinery whatever is registered. One test uses the real kernels when some
are registered.
"""

from __future__ import annotations

import pytest
import torch

import corruptions.registry as registry
from formats import write_cifar_pickle, write_fashion_mnist_idx
from robustbench_dm.errors import UserError
from robustbench_dm.suites import get_suite, load_clean
from robustbench_dm.suites.generated import GeneratedSuite


def fake_corruption(images, severity, preset, generator):
    assert preset in ("cifar", "imagenet")
    noise = torch.randint(0, 20 * severity, images.shape, generator=generator, device=images.device)
    return (images.int() + noise).clamp(0, 255).to(torch.uint8)


def fake_sequence(images, difficulty, preset, generator):
    frames = [images.int() + t * difficulty + torch.randint(0, 9, images.shape, generator=generator)
              for t in range(4)]
    return torch.stack(frames, 1).clamp(0, 255).to(torch.uint8)


@pytest.fixture
def kernels(monkeypatch):
    for name in ("brightness", "fog"):
        monkeypatch.setitem(registry._CORRUPTIONS, name, fake_corruption)
    for name in ("gaussian_noise", "rotate"):
        monkeypatch.setitem(registry._SEQUENCES, name, fake_sequence)


@pytest.fixture
def fmnist(tmp_path):
    return write_fashion_mnist_idx(tmp_path / "fm", 37)


def _all(suite, name, level, batch_size):
    return [torch.cat(parts) for parts in zip(*suite.iter_cell(name, level, batch_size))]


def test_same_seed_same_bytes_independent_of_batch_size_and_limit(kernels, fmnist, monkeypatch):
    monkeypatch.setattr(GeneratedSuite, "__init__", _small_chunks(GeneratedSuite.__init__))
    suite = get_suite("fmnist-c", fmnist, corruptions="brightness,fog", seed=3)
    ref = _all(suite, "fog", 2, 37)
    for batch_size in (1, 5, 16, 100):
        out = _all(get_suite("fmnist-c", fmnist, corruptions="brightness,fog", seed=3), "fog", 2, batch_size)
        assert all(torch.equal(a, b) for a, b in zip(ref, out))
    limited = _all(get_suite("fmnist-c", fmnist, corruptions="fog", seed=3, limit=13), "fog", 2, 4)
    assert torch.equal(limited[0], ref[0][:13]) and limited[2].tolist() == list(range(13))
    other_seed = _all(get_suite("fmnist-c", fmnist, corruptions="fog", seed=4), "fog", 2, 8)
    assert not torch.equal(other_seed[0], ref[0])
    assert not torch.equal(_all(suite, "fog", 3, 8)[0], ref[0])
    assert not torch.equal(_all(suite, "brightness", 2, 8)[0], ref[0])


def _small_chunks(init):
    def wrapped(self, *args, **kwargs):
        init(self, *args, **kwargs)
        self.chunk_size = 8  # several chunks on a tiny set: chunk boundaries fall inside batches
    return wrapped


def test_fmnist_c_cells_clean_and_metadata(kernels, fmnist):
    suite = get_suite("fmnist-c", fmnist, corruptions=["brightness"], severities=[1, 5], seed=7)
    assert suite.kind == "c" and suite.num_classes == 10
    assert suite.cells() == [("clean", 0), ("brightness", 1), ("brightness", 5)]
    clean, labels, index = _all(suite, "clean", 0, 10)
    ref_images, ref_labels = load_clean("fashion-mnist", fmnist)
    assert torch.equal(clean, ref_images) and torch.equal(labels, ref_labels)
    corrupted = _all(suite, "brightness", 5, 10)
    assert corrupted[0].shape == (37, 3, 32, 32) and torch.equal(corrupted[2], index)
    assert (corrupted[0].int() >= clean.int()).all() and not torch.equal(corrupted[0], clean)
    meta = suite.metadata()
    assert meta["seed"] == 7 and meta["generated"] is True
    assert meta["generator"]["preset"] == "cifar" and meta["generator"]["version"]
    assert meta["subset"] == {"limit": None, "corruptions": ["brightness"], "severities": [1, 5], "complete": False}


def test_fmnist_p_noise_difficulties_differ_other_perturbations_do_not(kernels, fmnist):
    suite = get_suite("fmnist-p", fmnist, corruptions="gaussian_noise,rotate", severities=[1, 2])
    assert suite.kind == "p" and suite.cells() == [("gaussian_noise", 1), ("gaussian_noise", 2),
                                                   ("rotate", 1), ("rotate", 2)]
    videos, labels, index = _all(suite, "gaussian_noise", 2, 16)
    assert videos.shape == (37, 4, 3, 32, 32) and videos.dtype == torch.uint8
    assert not torch.equal(videos, _all(suite, "gaussian_noise", 1, 16)[0])
    assert torch.equal(_all(suite, "rotate", 2, 16)[0], _all(suite, "rotate", 1, 5)[0])


def test_cifar10_c_generate_from_pickle(kernels, tmp_path):
    write_cifar_pickle(tmp_path, 12, seed=1)
    suite = get_suite("cifar10-c", None, generate=True, clean_root=tmp_path, corruptions="fog", seed=1)
    assert suite.cells()[0] == ("clean", 0) and suite.metadata()["source"]["dataset"] == "cifar10"
    assert _all(suite, "fog", 1, 5)[0].shape == (12, 3, 32, 32)
    with pytest.raises(UserError, match="clean_root"):
        get_suite("cifar10-c", None, generate=True)


def test_unregistered_corruption_is_a_clear_error(fmnist, monkeypatch):
    monkeypatch.delitem(registry._CORRUPTIONS, "pixelate", raising=False)
    with pytest.raises(UserError, match="cannot generate 'pixelate'"):
        get_suite("fmnist-c", fmnist, corruptions="pixelate")
    with pytest.raises(UserError, match="seed"):
        get_suite("fmnist-c", fmnist, corruptions="pixelate", seed="x")
    with pytest.raises(UserError, match="data root"):
        get_suite("fmnist-c", None)


@pytest.mark.skipif(not registry.registered_corruptions(), reason="no corruption kernels registered yet")
def test_real_kernels_are_deterministic(fmnist):
    name = registry.registered_corruptions()[0]
    a = _all(get_suite("fmnist-c", fmnist, corruptions=name, severities=[3], seed=5), name, 3, 7)[0]
    b = _all(get_suite("fmnist-c", fmnist, corruptions=name, severities=[3], seed=5), name, 3, 37)[0]
    assert a.shape == (37, 3, 32, 32) and torch.equal(a, b)
