"""robustbench_dm: corruption-robustness evaluation and robust training.

Sub-packages: ``metrics`` (pure metric functions), ``suites`` (where images come from),
``models`` (architectures, checkpoints, normalisation), ``methods`` (training methods),
``training`` (the training loop), ``scoring`` (model x suite -> Results).
"""

__version__ = "0.1.0"

# Public names imported on first use, so that ``import robustbench_dm`` stays light:
# name -> module that defines it (a module maps to itself).
_LAZY = {
    "evaluate": "robustbench_dm.evaluation",
    "load_model": "robustbench_dm.evaluation",
    "report": "robustbench_dm.evaluation",
    "Evaluation": "robustbench_dm.evaluation",
    "transforms": "robustbench_dm.transforms",
    "losses": "robustbench_dm.losses",
    "AugMix": "robustbench_dm.transforms",
    "AugmentationViews": "robustbench_dm.transforms",
    "Corrupt": "robustbench_dm.transforms",
    "DynamicMixup": "robustbench_dm.transforms",
    "JSDLoss": "robustbench_dm.losses",
}


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'robustbench_dm' has no attribute {name!r}")
    import importlib

    module = importlib.import_module(_LAZY[name])
    return module if module.__name__.endswith("." + name) else getattr(module, name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
