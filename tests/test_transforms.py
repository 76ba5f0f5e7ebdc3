"""``robustbench_dm.transforms``: the per-image transforms draw from the same distribution as
the batched training methods (statistical tests that detect a changed parameter), take PIL
images and uint8 tensors, validate eagerly, and work in DataLoader workers."""

import pickle

import numpy as np
import pytest
import torch
from PIL import Image
from scipy import stats
from torch.utils.data import DataLoader, Dataset

import corruptions
from robustbench_dm.errors import UserError
from robustbench_dm.methods import create_method
from robustbench_dm.methods.augmix import augmix_views
from robustbench_dm.methods.dynmix import dynmix_views
from robustbench_dm.transforms import AugmentationViews, AugMix, Corrupt, DynamicMixup

DRAWS = 500


def _image(size=8, seed=0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (3, size, size), dtype=torch.uint8, generator=g)


def _per_image(transform, image, draws=DRAWS) -> torch.Tensor:
    return torch.stack([transform(image) for _ in range(draws)])


def _method_batch(name, image, draws=DRAWS, seed=1, **options) -> torch.Tensor:
    """The training method's augmentation of ``draws`` copies of ``image`` in one batch (the
    base transform, crop and flip, left out: the transforms do not include it)."""
    method = create_method(name, jsd=False, **options)
    method.base_transform = lambda images, generator: images
    batch = image.expand(draws, -1, -1, -1).contiguous()
    return method.augment(batch, torch.zeros(draws, dtype=torch.long), torch.Generator().manual_seed(seed))


def _features(draws: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    """Scalar features of each draw (rows): mean, spread, distance to the clean image, and
    left-right and top-bottom balance (moved by the geometric operations)."""
    x = draws.double().flatten(2)
    clean = image.double().div(255).flatten(1)
    d = draws.double()
    h, w = d.shape[-2] // 2, d.shape[-1] // 2
    return torch.stack([
        x.mean((1, 2)),
        x.std((1, 2)),
        (x - clean).abs().mean((1, 2)),
        d[..., :w].mean((1, 2, 3)) - d[..., w:].mean((1, 2, 3)),
        d[..., :h, :].mean((1, 2, 3)) - d[..., h:, :].mean((1, 2, 3)),
    ], dim=1)


def _p_value(a: torch.Tensor, b: torch.Tensor, image: torch.Tensor) -> float:
    """The smallest two-sample Kolmogorov-Smirnov p-value over the features of two sets of
    independent draws (each feature is i.i.d. across draws, so the test is exact)."""
    fa, fb = _features(a, image), _features(b, image)
    return min(stats.ks_2samp(fa[:, k].numpy(), fb[:, k].numpy()).pvalue for k in range(fa.shape[1]))


CASES = [
    ("augmix", lambda **o: AugMix(**o), {}, {"severity": 1.0}),
    ("augmix", lambda **o: AugMix(**o), {"width": 1}, {"width": 3}),
    ("dynmix", lambda **o: DynamicMixup(**o), {}, {"weights": "independent"}),
    ("dynmix", lambda **o: DynamicMixup(**o), {"severity": 1.0}, {"severity": 3.0}),
]


@pytest.mark.parametrize("method,make,options,changed", CASES)
def test_transform_draws_from_the_batched_method_distribution(method, make, options, changed):
    image = _image()
    torch.manual_seed(0)
    ours = _per_image(make(**options), image)
    assert _p_value(ours, _method_batch(method, image, **options), image) > 1e-3
    # the same test tells a changed parameter apart: it can fail
    assert _p_value(ours, _method_batch(method, image, **{**options, **changed}), image) < 1e-6


def test_transform_is_the_batched_function_on_a_batch_of_one():
    image = _image(16)
    out = AugMix(severity=2.0, generator=torch.Generator().manual_seed(5))(image)
    expected = augmix_views(image[None], 1, torch.Generator().manual_seed(5), severity=2.0)[0]
    assert torch.equal(out, expected)
    out = DynamicMixup(scale="imagenet", generator=torch.Generator().manual_seed(5))(image)
    expected = dynmix_views(image[None], 1, torch.Generator().manual_seed(5), scale="imagenet", severity=1.0)[0]
    assert torch.equal(out, expected)


@pytest.mark.parametrize("transform", [AugMix(), DynamicMixup()])
def test_pil_and_tensor_inputs_give_the_same_values(transform):
    image = _image(32)
    pil = Image.fromarray(image.permute(1, 2, 0).numpy())
    torch.manual_seed(3)
    a = transform(image)
    torch.manual_seed(3)
    b = transform(pil)
    assert a.dtype == torch.float32 and a.shape == (3, 32, 32) and torch.equal(a, b)
    assert 0 <= a.min() and a.max() <= 1
    grey = transform(Image.fromarray(image[0].numpy()))
    assert grey.shape == (1, 32, 32)
    batch = transform(image.expand(4, -1, -1, -1))
    assert batch.shape == (4, 3, 32, 32) and not torch.equal(batch[0], batch[1])


def test_global_seed_reproduces_and_draws_differ():
    image = _image(32)
    torch.manual_seed(7)
    a = [AugMix()(image) for _ in range(2)]
    torch.manual_seed(7)
    b = [AugMix()(image) for _ in range(2)]
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) and not torch.equal(a[0], a[1])


def test_augmentation_views_clean_and_independent_views():
    image = _image(32)
    clean, v1, v2 = AugmentationViews(AugMix())(image)
    assert torch.equal(clean, image.float() / 255)
    assert v1.shape == v2.shape == clean.shape and not torch.equal(v1, v2)
    views = AugmentationViews(DynamicMixup(generator=torch.Generator().manual_seed(2)), views=3)(image)
    assert len(views) == 4
    # the views are the batched function's view-major output
    expected = dynmix_views(image[None], 3, torch.Generator().manual_seed(2))
    assert torch.equal(torch.stack(views[1:]), expected)
    # any callable works; PIL and uint8 outputs become float in [0, 1]
    flipped = AugmentationViews(lambda im: im.transpose(Image.Transpose.FLIP_LEFT_RIGHT), views=1)
    clean, view = flipped(Image.fromarray(image.permute(1, 2, 0).numpy()))
    assert torch.equal(view, clean.flip(-1))


def test_corrupt_transform_draws_names_and_severities_uniformly():
    image = _image(32).numpy().transpose(1, 2, 0).copy()
    names, severities = ("brightness", "contrast", "pixelate"), (1, 5)
    transform = Corrupt(names, severities, preset="cifar", generator=torch.Generator().manual_seed(0))
    candidates = {(n, s): corruptions.corrupt(image, n, s, preset="cifar") for n in names for s in severities}
    counts = dict.fromkeys(candidates, 0)
    for _ in range(300):
        out = transform(image)
        assert isinstance(out, np.ndarray) and out.shape == image.shape
        counts[next(k for k, v in candidates.items() if np.array_equal(v, out))] += 1
    assert all(30 <= c <= 70 for c in counts.values()), counts  # 50 expected each
    pil = Corrupt("noise")(Image.fromarray(image))
    assert isinstance(pil, Image.Image) and pil.size == (32, 32)
    chw = Corrupt(["fog"], [3])(torch.from_numpy(image).permute(2, 0, 1))
    assert chw.shape == (3, 32, 32) and chw.dtype == torch.uint8


def test_corrupt_transform_uses_the_generator_for_the_corruption_too():
    image = _image(32)
    a = Corrupt(["gaussian_noise"], [3], generator=torch.Generator().manual_seed(4))(image)
    gen = torch.Generator().manual_seed(4)
    torch.randint(0, 1, (), generator=gen), torch.randint(0, 1, (), generator=gen)
    assert torch.equal(a, corruptions.corrupt(image, "gaussian_noise", 3, generator=gen))


def test_repr_attributes_and_eager_validation():
    assert repr(AugMix(severity=1)) == "AugMix(severity=1.0, width=3, depth=-1, alpha=1.0, fill=0.0)"
    assert DynamicMixup(scale="imagenet").severity == 1.0 and DynamicMixup().severity == 3.0
    assert repr(Corrupt(["fog"], [2])) == "Corrupt(names=('fog',), severities=(2,), preset='auto')"
    assert "views=2" in repr(AugmentationViews(AugMix()))
    with pytest.raises(UserError, match="severity=20"):
        AugMix(severity=20)
    with pytest.raises(UserError, match="width=0"):
        AugMix(width=0)
    with pytest.raises(UserError, match="weights='both'"):
        DynamicMixup(weights="both")
    with pytest.raises(UserError, match="scale 'svhn'"):
        DynamicMixup(scale="svhn")
    with pytest.raises(UserError, match="names must be corruption names"):
        Corrupt(["rain"])
    with pytest.raises(UserError, match="neither a list of corruption names nor a subset"):
        Corrupt("rain")
    with pytest.raises(UserError, match="severities must be integers in 1..5"):
        Corrupt(severities=[0])
    with pytest.raises(UserError, match="preset must be auto or one of"):
        Corrupt(preset="mnist")
    with pytest.raises(UserError, match="views must be an integer >= 1"):
        AugmentationViews(AugMix(), views=0)
    with pytest.raises(UserError, match="generator must be a torch.Generator"):
        AugMix(generator=3)
    with pytest.raises(UserError, match="expected a PIL image or a uint8"):
        AugMix()(torch.zeros(3, 8, 8))
    with pytest.raises(UserError, match="mode RGB or L"):
        AugMix()(Image.new("RGBA", (8, 8)))


class _Images(Dataset):
    def __init__(self, transform):
        self.images = [_image(16)] * 8  # one image: only the draws tell items apart
        self.transform = transform

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return self.transform(self.images[i]), i


@pytest.mark.parametrize("transform", [AugmentationViews(AugMix()), AugmentationViews(DynamicMixup())])
def test_dataloader_workers_are_seeded_apart_and_reproducible(transform):
    pickle.loads(pickle.dumps(transform))  # what spawn-started workers need

    def run():
        loader = DataLoader(_Images(transform), batch_size=1, num_workers=2,
                            generator=torch.Generator().manual_seed(11))
        return [views for views, _ in loader]

    first, second = run(), run()
    assert all(torch.equal(a, b) for x, y in zip(first, second) for a, b in zip(x, y))
    # items 0 and 1 are the first draws of workers 0 and 1: different worker seeds
    assert len({float(batch[1].sum()) for batch in first}) == len(first)


def test_package_exports_lazily():
    import subprocess
    import sys

    import robustbench_dm
    from robustbench_dm import losses, transforms

    assert robustbench_dm.AugMix is AugMix and robustbench_dm.JSDLoss is losses.JSDLoss
    assert robustbench_dm.transforms is transforms and "Corrupt" in dir(robustbench_dm)
    code = "import sys, robustbench_dm; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
