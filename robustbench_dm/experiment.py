"""A method comparison: train several runs, score each on several suites, resumably.

Used by ``robust-eval demo`` and ``bench/reproduce.py``. Every step is resumable: a finished
training run (its checkpoint reached the planned epoch) is reused, an unfinished one continues
with ``resume``; scoring resumes cell by cell from each ``results.h5``. The report is written
by the caller (``reports`` sits above this package).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch

from robustbench_dm.atomic import write_text_atomic
from robustbench_dm.errors import UserError
from robustbench_dm.models import load_model
from robustbench_dm.outdir import check_writable, lock_folder
from robustbench_dm.scoring import score
from robustbench_dm.suites import get_suite
from robustbench_dm.suites.make_suite import make_suite
from robustbench_dm.training import resolve_config, train
from robustbench_dm.training.resume import CHECKPOINT_NAME


@dataclass(frozen=True)
class RunSpec:
    """One training run: a method (with options) and a seed, under a unique label."""

    label: str
    method: str
    seed: int = 1
    method_options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SuiteSpec:
    """One suite every run is scored on (``get_suite(name, data_root, **options)``).

    ``generate_from`` names a clean dataset (e.g. ``fashion-mnist``): the suite is then written
    once with ``make_suite`` (seeded by ``options["seed"]``, resumable) under
    ``OUT/data/<name>`` and every run is scored on those same files, instead of corrupting the
    clean set again for each run.
    """

    name: str
    data_root: str | None = None
    limit: int | None = None
    options: dict[str, Any] = field(default_factory=dict)
    generate_from: str | None = None


@dataclass(frozen=True)
class Experiment:
    """Shared settings of a comparison: data, architecture, schedule, suites, output folder."""

    out: str
    dataset: str
    data_root: str
    arch: str
    runs: tuple[RunSpec, ...]
    suites: tuple[SuiteSpec, ...]
    epochs: int
    batch_size: int | None = None
    lr: float | None = None
    train_limit: int | None = None
    device: str = "auto"
    score_batch_size: int = 500


@dataclass(frozen=True)
class RunOutcome:
    """Where a run's checkpoint and results files are, and its last training-log row."""

    label: str
    checkpoint: Path
    results: dict[str, Path]
    train_row: dict[str, Any]
    seconds: float


def _finished_epoch(checkpoint: Path) -> int | None:
    if not checkpoint.exists():
        return None
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    return int(state["epoch"])


def _train_run(exp: Experiment, run: RunSpec, log: Callable[[str], None]) -> dict[str, Any]:
    out = Path(exp.out) / "runs" / run.label
    config = resolve_config(
        run.method, exp.arch, exp.dataset, exp.data_root, str(out), epochs=exp.epochs,
        batch_size=exp.batch_size, lr=exp.lr, seed=run.seed, device=exp.device,
        limit=exp.train_limit, method_options=run.method_options)
    done = _finished_epoch(out / CHECKPOINT_NAME)
    if done is not None and done >= exp.epochs:
        log(f"[{run.label}] training already finished ({done} epochs): reusing {out}")
        return _last_log_row(out)
    if done is not None:
        log(f"[{run.label}] resuming training at epoch {done + 1}/{exp.epochs}")
    else:
        log(f"[{run.label}] training {exp.arch} with {run.method} for {exp.epochs} epochs")

    def on_epoch(row: dict[str, Any]) -> None:
        log(f"[{run.label}]   epoch {row['epoch']}/{exp.epochs}: loss {row['loss']:.3f}, "
            f"train acc {row['train_acc']:.3f}, test acc {row['test_acc']:.3f}, "
            f"{row['images_per_s']:.0f} images/s")

    return train(config, resume=done is not None, on_epoch=on_epoch)


def _last_log_row(out: Path) -> dict[str, Any]:
    lines = (out / "log.csv").read_text().splitlines()
    header, last = lines[0].split(","), lines[-1].split(",")
    return {k: float(v) for k, v in zip(header, last)}


def _materialize(exp: Experiment, spec: SuiteSpec, log: Callable[[str], None]) -> SuiteSpec:
    """Write a generated suite once (or finish writing it) and point the spec at the files."""
    if spec.generate_from is None:
        return spec
    folder = Path(exp.out) / "data" / spec.name
    options = dict(spec.options)
    seed = int(options.pop("seed", 0))
    log(f"generating {spec.name} from {spec.generate_from} (seed {seed}"
        + (f", first {spec.limit} images" if spec.limit else "") + f") in {folder}")
    started = time.perf_counter()
    done = make_suite(spec.name, spec.generate_from, spec.data_root, folder, seed=seed,
                      limit=spec.limit, progress=None)
    if done["written"]:
        log(f"  wrote {len(done['written'])} files in {time.perf_counter() - started:.0f} s")
    if spec.name.endswith("-c"):
        options["clean_root"] = spec.data_root
    return SuiteSpec(spec.name, str(folder), spec.limit, options)


def run_experiment(exp: Experiment, log: Callable[[str], None] = print) -> list[RunOutcome]:
    """Train every run of ``exp`` and score it on every suite; returns one outcome per run.
    ``exp.out`` is checked before any work and locked while the experiment writes into it;
    paths are recorded as ``exp.out`` gives them (a relative folder stays relative)."""
    labels = [run.label for run in exp.runs]
    if len(set(labels)) != len(labels):
        raise UserError(f"run labels must be unique, got {labels}")
    root = check_writable(exp.out, what="out")
    with lock_folder(root):
        suites = [_materialize(exp, spec, log) for spec in exp.suites]
        outcomes = [_train_and_score(exp, run, suites, log) for run in exp.runs]
        write_text_atomic(root / "experiment.json", json.dumps({
            "runs": [{"label": o.label, "checkpoint": str(o.checkpoint),
                      "results": {k: str(v) for k, v in o.results.items()}} for o in outcomes],
        }, indent=2) + "\n")
    return outcomes


def _train_and_score(exp: Experiment, run: RunSpec, suites: list[SuiteSpec],
                     log: Callable[[str], None]) -> RunOutcome:
    root = Path(exp.out)
    started = time.perf_counter()
    row = _train_run(exp, run, log)
    checkpoint = root / "runs" / run.label / CHECKPOINT_NAME
    model, info = load_model(checkpoint)
    results = {}
    for spec in suites:
        suite = get_suite(spec.name, spec.data_root, limit=spec.limit, **spec.options)
        out = root / "scores" / run.label / spec.name
        log(f"[{run.label}] scoring on {spec.name}"
            + (f" (first {spec.limit} images per cell)" if spec.limit else ""))
        score(model, suite, out_dir=out, batch_size=exp.score_batch_size,
              device=exp.device, checkpoint_info=info, progress=None)
        results[spec.name] = out / "results.h5"
    return RunOutcome(run.label, checkpoint, results, row, time.perf_counter() - started)
