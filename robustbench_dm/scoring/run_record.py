"""What a results file records about the run that made it: the suite, the checkpoint, the
package versions, the seed, the fast-path settings and the checkpoint/suite compatibility."""

from __future__ import annotations

import json
import platform
from importlib import metadata as importlib_metadata
from typing import Any, Mapping

from robustbench_dm.scoring.fast_path import FastPath
from robustbench_dm.scoring.results import SCHEMA
from robustbench_dm.suites.families import Compatibility

_CHECKPOINT_FIELDS = ("path", "sha256", "format", "arch", "num_classes", "normalization",
                      "method", "method_options", "dataset", "epoch", "seed", "recipe")
_VERSIONED = ("robustbench_dm", "torch", "torchvision", "numpy", "h5py")


def package_versions() -> dict[str, str]:
    """Versions of Python and the packages that shape a result."""
    versions = {"python": platform.python_version()}
    for name in _VERSIONED:
        try:
            versions[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            versions[name] = "unknown"
    return versions


def _json_roundtrip(value: Any) -> Any:
    return json.loads(json.dumps(value, sort_keys=True, default=str))


def run_attrs(suite, info: Mapping[str, Any], seed: int, fast: FastPath,
              compatibility: Compatibility) -> dict[str, Any]:
    """The results file's attributes for scoring ``suite`` with the checkpoint ``info``
    (:func:`robustbench_dm.models.load_model`'s), as JSON-safe values."""
    return {
        "schema": SCHEMA,
        "kind": suite.kind,
        "suite": suite.name,
        "num_classes": int(suite.num_classes),
        "metadata": _json_roundtrip(suite.metadata()),
        "checkpoint": _json_roundtrip({k: info.get(k) for k in _CHECKPOINT_FIELDS}),
        "versions": package_versions(),
        "seed": int(seed),
        "settings": fast.settings(),
        "compatibility": compatibility.to_attr(),
    }
