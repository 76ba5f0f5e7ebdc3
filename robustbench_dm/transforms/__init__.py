"""Training augmentations and corruptions as transforms for any data pipeline, in the style of
torchvision v2: parameters as attributes, a readable ``repr``, arguments checked on
construction, callable on PIL images and uint8 tensors, picklable for ``DataLoader`` workers,
randomness from torch's generator.

``AugMix`` and ``DynamicMixup`` run the same batched functions as the training methods of
:mod:`robustbench_dm.methods`; ``AugmentationViews`` makes the (clean, view_1, view_2) tuples of
JSD training (pair it with :class:`robustbench_dm.losses.JSDLoss`); ``Corrupt`` applies a random
corruption of :mod:`corruptions`.
"""

from robustbench_dm.transforms.corrupt import Corrupt
from robustbench_dm.transforms.mixing import AugMix, DynamicMixup
from robustbench_dm.transforms.views import AugmentationViews

__all__ = ["AugMix", "AugmentationViews", "Corrupt", "DynamicMixup"]
