"""Dependencies a library can live with: ranges in the package metadata (never exact pins), the
exact tested pair only in constraints.txt, and an install that keeps the torch already there."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]


def _requirements() -> dict[str, Requirement]:
    reqs = [Requirement(r) for r in metadata.requires("robustbench_dm") or []]
    return {r.name: r for r in reqs if r.marker is None}


def test_no_dependency_is_pinned_exactly():
    pinned = [str(r) for r in _requirements().values()
              if any(spec.operator in ("==", "===") for spec in r.specifier)]
    assert not pinned, pinned


@pytest.mark.parametrize("name, inside, outside", [
    ("torch", ["2.11.0", "2.12.1", "2.14.1", "2.99"], ["2.10.0", "3.0.0"]),
    ("torchvision", ["0.26.0", "0.29.1"], ["0.25.0", "1.0.0"]),
])
def test_torch_ranges_hold_other_versions(name, inside, outside):
    spec = _requirements()[name].specifier
    assert all(spec.contains(Version(v)) for v in inside), spec
    assert not any(spec.contains(Version(v)) for v in outside), spec


def test_constraints_pin_the_tested_pair_inside_the_ranges():
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            req = Requirement(line)
            pins[req.name] = next(iter(req.specifier)).version
    assert set(pins) >= {"torch", "torchvision"}
    declared = _requirements()
    for name in ("torch", "torchvision"):
        assert declared[name].specifier.contains(Version(pins[name])), (name, pins[name])
    assert "constraints.txt" in (ROOT / ".ci" / "run").read_text()


@pytest.mark.slow
def test_reinstalling_keeps_the_installed_torch(tmp_path):
    """pip's resolver, asked to install the toolkit into this environment, installs the toolkit
    alone: the torch and torchvision already here satisfy the ranges and stay."""
    report = tmp_path / "report.json"
    subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--no-build-isolation",
                    "--no-index", "-e", str(ROOT), "--report", str(report), "-q"],
                   check=True, capture_output=True)
    names = [item["metadata"]["name"] for item in json.loads(report.read_text())["install"]]
    assert names == ["robustbench_dm"], names
