"""Training methods behind one interface (the plug-in point).

``Method`` owns how a batch is augmented and how the loss is computed; built-ins: ``standard``,
``mixup``, ``cutmix``, ``autoaugment_star``, ``random_autoaugment_star``, ``augmix``, ``dynmix``.
Third-party methods register through the entry-point group ``robustbench_dm.methods`` or load as
``"some.module:ClassName"``.
"""

from robustbench_dm.methods.base import Check, LossOutput, Method
from robustbench_dm.methods.registry import (
    ENTRY_POINT_GROUP,
    create_method,
    list_methods,
    load_method,
    register_method,
)
from robustbench_dm.methods import (  # noqa: E402  (built-ins register on import)
    augmix,
    autoaugment_star,
    cutmix,
    dynmix,
    mixup,
    random_autoaugment_star,
    standard,
)
from robustbench_dm.methods.dynmix import dynmix_mix
from robustbench_dm.methods.jsd import JSDMethod, js_divergence, jsd_loss

__all__ = [
    "Check",
    "ENTRY_POINT_GROUP",
    "JSDMethod",
    "LossOutput",
    "Method",
    "augmix",
    "autoaugment_star",
    "create_method",
    "cutmix",
    "dynmix",
    "dynmix_mix",
    "js_divergence",
    "jsd_loss",
    "list_methods",
    "load_method",
    "mixup",
    "random_autoaugment_star",
    "register_method",
    "standard",
]
