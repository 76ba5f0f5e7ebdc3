"""Every suite reads its shares with random access: over N ranks each chunk, file, row or video
is read or made exactly once, and the shares put together are ``iter_cell``'s output."""

from __future__ import annotations

from collections import Counter

import pytest
import torch

from formats import WNIDS, write_cifar_c, write_cifar_p, write_imagenet_c_folder, write_imagenet_p
from robustbench_dm.suites import folders, get_suite, imagenet_p
from training_fixtures import write_fashion_mnist

WNIDS_P = [f"n0{i}000000" for i in range(5)]  # ImageNet-P ranks 5 classes


class CountingRows:
    """An array whose row slices are counted (row -> times read)."""

    def __init__(self, array, counts: Counter):
        self.array, self.counts = array, counts
        self.shape, self.dtype = array.shape, array.dtype

    def __len__(self):
        return len(self.array)

    def __getitem__(self, item):
        assert isinstance(item, slice) and item.step is None
        self.counts.update(range(*item.indices(len(self.array))))
        return self.array[item]


def _count_rows(suite, counts: Counter, keys) -> None:
    for key in keys:
        suite.arrays[key] = CountingRows(suite.arrays[key], counts)


def _count_made_chunks(suite, counts: Counter, monkeypatch) -> None:
    make = suite._make

    def counted(name, level, chunk, images):
        counts[(name, level, chunk)] += 1
        return make(name, level, chunk, images)

    monkeypatch.setattr(suite, "_make", counted)


def _count_decoded(module, function: str, counts: Counter, monkeypatch) -> None:
    original = getattr(module, function)

    def counted(path, *args):
        counts[path] += 1
        return original(path, *args)

    monkeypatch.setattr(module, function, counted)


@pytest.fixture(scope="module")
def roots(tmp_path_factory):
    root = tmp_path_factory.mktemp("suite-shares")
    return {
        "npy-c": write_cifar_c(root / "c10", 11, ("fog", "snow")),
        "folder-c": write_imagenet_c_folder(root / "in-c", ("fog",), WNIDS, per_class=3,
                                            severities=(1, 2), size=24),
        "fmnist": write_fashion_mnist(root / "fm", n_train=4, n_test=11),
        "npy-p": write_cifar_p(root / "c10p", 7, ("gaussian_noise", "rotate"), frames=3),
        "imagenet-p": write_imagenet_p(root / "in-p", ("gaussian_noise",), WNIDS_P, 1, frames=3, size=16),
    }


def _open(kind: str, roots, counts: Counter, monkeypatch):
    """The suite of ``kind`` and the items a whole read of each of its cells must count."""
    if kind == "npy-c":
        suite = get_suite("cifar10-c", roots[kind], corruptions="fog,snow", severities="2,5")
        _count_rows(suite, counts, ["fog", "snow"])
        return suite, lambda name, level, n: [(level - 1) * suite.n + i for i in range(n)]
    if kind == "npy-p":
        suite = get_suite("cifar10-p", roots[kind], corruptions="gaussian_noise,rotate")
        _count_rows(suite, counts, list(suite.arrays))
        return suite, lambda name, level, n: list(range(n))
    if kind in ("generated-c", "generated-p"):
        name = "fmnist-c" if kind == "generated-c" else "fmnist-p"
        suite = get_suite(name, roots["fmnist"], corruptions="brightness" if kind == "generated-c" else "rotate",
                          severities="2" if kind == "generated-c" else None, limit=10)
        suite.chunk_size = 3  # 4 chunks per cell, the last cut by limit
        _count_made_chunks(suite, counts, monkeypatch)
        return suite, lambda name, level, n: [(name, level, k) for k in range(4)]
    if kind == "folder-c":
        suite = get_suite("imagenet-c", roots[kind], corruptions="fog", severities="1,2")
        _count_decoded(folders, "decode", counts, monkeypatch)
        return suite, _read_once(suite, counts)
    suite = get_suite("imagenet-p", roots[kind], corruptions="gaussian_noise")
    _count_decoded(imagenet_p, "decode_video", counts, monkeypatch)
    return suite, _read_once(suite, counts)


def _read_once(suite, counts: Counter):
    """The files each cell of ``suite`` decodes when read whole (each must be decoded once)."""
    files = {}
    for cell in suite.cells():
        list(suite.iter_cell(*cell, 4))
        files[cell] = list(counts)
        counts.clear()
    return lambda name, level, n: files[(name, level)]


def _concat(batches):
    images, labels, index = zip(*batches)
    return torch.cat(images), torch.cat(labels), torch.cat(index)


@pytest.mark.parametrize("kind", ["npy-c", "folder-c", "generated-c", "generated-p", "npy-p", "imagenet-p"])
@pytest.mark.parametrize("world", [1, 2, 3])
def test_every_item_is_read_once_across_ranks_and_the_shares_are_the_cell(roots, kind, world, monkeypatch):
    counts: Counter = Counter()
    suite, expected_items = _open(kind, roots, counts, monkeypatch)
    for cell in suite.cells():
        n = suite.cell_size(*cell)
        whole = _concat(suite.iter_cell(*cell, 2))
        counts.clear()
        bounds = [suite.share_bounds(*cell, rank, world) for rank in range(world)]
        assert [lo for lo, _ in bounds[1:]] == [hi for _, hi in bounds[:-1]] and bounds[-1][1] == n
        shares = [list(suite.iter_share(*cell, lo, hi, 2)) for lo, hi in bounds]
        expected = expected_items(*cell, n)
        assert expected and len(expected) == len(set(expected))
        assert counts == Counter(expected), f"{kind} {cell} over {world} ranks"
        assert all(len(labels) <= 2 for share in shares for _, labels, _ in share)
        got = _concat([batch for share in shares for batch in share])
        for a, b in zip(whole, got):
            assert torch.equal(a, b)
        assert torch.equal(got[2], torch.arange(n))


def test_a_share_is_checked_before_anything_is_read(roots):
    suite = get_suite("cifar10-c", roots["npy-c"], corruptions="fog", severities="1")
    with pytest.raises(ValueError, match=r"share \[3, 12\) outside cell fog/1 of 11"):
        suite.iter_share("fog", 1, 3, 12, 2)
    assert list(suite.iter_share("fog", 1, 5, 5, 2)) == []
