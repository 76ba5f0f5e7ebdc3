"""Where images come from: released on-disk suites, clean sets and generated suites.

``get_suite(name, data_root, ...)`` opens a registered suite (see ``list_suites()``); every suite
implements the ``Suite`` interface of ``base.py``. ``load_clean`` reads clean test/train sets.
"""

from robustbench_dm.suites.base import Suite
from robustbench_dm.suites.clean import load_clean
from robustbench_dm.suites.clean_imagenet import ImageNetFolder
from robustbench_dm.suites.registry import get_suite, list_suites, register_suite

# Suite modules register themselves on import.
from robustbench_dm.suites import cifar_c, cifar_p, fmnist, image_folder_c, imagenet_p  # noqa: E402,F401  isort: skip

__all__ = ["Suite", "get_suite", "list_suites", "register_suite", "load_clean", "ImageNetFolder"]
