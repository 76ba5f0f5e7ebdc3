"""The Python API in one call: :func:`evaluate` a model in memory, :func:`load_model` a checkpoint
as a module, :func:`report` results from files or memory.

``robust-eval score`` is this module's :func:`evaluate` with ``out`` given; the numbers are the
same because both run :func:`robustbench_dm.scoring.score`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import pandas as pd
import torch
from torch import nn

from robustbench_dm import metrics
from robustbench_dm.errors import UserError
from robustbench_dm.models import Normalized, load_model as _load_checkpoint, resolve_normalization
from robustbench_dm.scoring import Results, score
from robustbench_dm.scoring.memory import MemoryResults
from robustbench_dm.scoring.score import RESULTS_NAME, SUMMARY_NAME
from robustbench_dm.scoring.summary import perturbation_key, write_summary

Normalization = tuple[Sequence[float], Sequence[float]]
_C_COLUMNS = ["suite", "corruption", "severity", "n", "error", "rms_calibration_error"]
_P_COLUMNS = ["suite", "perturbation", "difficulty", "n", "flip_probability", "top5_distance"]


@dataclass
class Evaluation:
    """One model scored on one suite: :attr:`summary` (the ``summary.json`` dict), :attr:`cells`
    (a DataFrame, one row per cell), :meth:`per_image` and :meth:`save`."""

    results: Results
    summary: dict[str, Any] | None
    baseline: Results | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def suite(self) -> str:
        """Name of the scored suite: a registered name, or imagenet-c-<R>px for ImageNet-C made at R px."""
        return self.results.suite

    @property
    def cells(self) -> pd.DataFrame:
        """-C: suite, corruption, severity, n, error, rms_calibration_error (NaN for cells
        smaller than one calibration bin); -P: suite, perturbation, difficulty, n,
        flip_probability, top5_distance."""
        if self.results.kind == "c":
            table = self.results.errors()
            table.insert(0, "suite", self.suite)
            return table[_C_COLUMNS]
        values = self.summary["perturbations"]
        rows = []
        for name, level in self.results.cells():
            value = values[perturbation_key(name, level)]
            rows.append({"suite": self.suite, "perturbation": name, "difficulty": level,
                         "n": self.results.cell(name, level).n,
                         "flip_probability": value["flip_probability"],
                         "top5_distance": value["top5_distance"]})
        return pd.DataFrame(rows, columns=_P_COLUMNS)

    def per_image(self) -> pd.DataFrame:
        """One row per image (per video for -P suites): cell, ``index`` (the image's identity in
        the clean set), label, and prediction, confidence, correct (-C) or the video's
        flip_probability and top5_distance (-P)."""
        frames = [_per_image_c(record) if self.results.kind == "c" else _per_image_p(record)
                  for record in self.results.iter_cells()]
        return pd.concat(frames, ignore_index=True)

    def save(self, out: str | os.PathLike) -> Path:
        """Write ``out/results.h5`` and ``out/summary.json``, exactly the files
        ``robust-eval score`` writes. A folder already holding results is an error."""
        out = Path(out)
        if out.exists() and not out.is_dir():
            raise UserError(f"out {out} exists and is not a folder")
        if isinstance(self.results, MemoryResults):
            self.results.save(out / RESULTS_NAME)
        elif self.results.path.resolve() != (out / RESULTS_NAME).resolve():
            raise UserError(f"these results are already saved in {self.results.path}")
        write_summary(out / SUMMARY_NAME, self.summary)
        return out

    def __repr__(self) -> str:
        head = (f"mCE {self.summary['mce']:.4f}" if self.summary.get("mce") is not None else
                f"mean error {self.summary['mean_error']:.4f}" if "mean_error" in self.summary
                else f"mFP {self.summary['mfp']:.4f}")
        return f"Evaluation(suite={self.suite!r}, cells={len(self.results.cells())}, {head})"


def _per_image_c(record) -> pd.DataFrame:
    return pd.DataFrame({"corruption": record.name, "severity": record.level,
                         "index": record.index, "label": record.labels,
                         "prediction": record.predictions, "confidence": record.confidence,
                         "correct": record.correct})


def _per_image_p(record) -> pd.DataFrame:
    noise = metrics.is_noise_perturbation(record.name)
    flips = metrics.flip_probability_per_video(record.predictions, noise=noise,
                                               difficulty=record.level)
    if record.logits is not None:
        t5d = metrics.top5_distance_per_video(record.logits, noise=noise, difficulty=record.level)
    else:
        t5d = metrics.top5_distance_from_topk_per_video(record.topk, noise=noise,
                                                        difficulty=record.level)
    return pd.DataFrame({"perturbation": record.name, "difficulty": record.level,
                         "index": record.index, "label": record.labels,
                         "flip_probability": flips, "top5_distance": t5d})


def load_model(path: str | os.PathLike | None = None, *, arch: str | None = None,
               normalization: str | Normalization | None = None, unsafe_pickle: bool = False,
               weights: str | os.PathLike | None = None,
               download_weights: bool = False) -> nn.Module:
    """The model in ``path`` (or ``weights``: a state-dict file or torchvision weights such as
    ``"ResNet50_Weights.IMAGENET1K_V2"``, with ``arch`` such as ``"torchvision:resnet50"`` or
    ``"timm:convnext_tiny"``) in eval mode, taking float [0, 1] N x C x H x W input with its
    normalisation inside, loaded with the command line's safety rules (no code runs unless
    ``unsafe_pickle``). What the checkpoint records (dataset, classes, method, sha256...) is
    kept as the module's ``checkpoint_info`` attribute, which :func:`evaluate` checks against
    the suite."""
    model, info = _load_checkpoint(path, arch=arch, normalization=normalization,
                                   unsafe_pickle=unsafe_pickle, weights=weights,
                                   download_weights=download_weights)
    model.eval()
    model.checkpoint_info = info
    return model


def _as_model(model, normalization: Normalization | None, arch: str | None,
              unsafe_pickle: bool, weights: str | os.PathLike | None = None,
              download_weights: bool = False) -> tuple[nn.Module, dict[str, Any]]:
    """A module taking [0, 1] input and its checkpoint info (empty for a bare module)."""
    if isinstance(model, (str, os.PathLike)) or (model is None and weights is not None):
        module = load_model(model, arch=arch, normalization=normalization,
                            unsafe_pickle=unsafe_pickle, weights=weights,
                            download_weights=download_weights)
        return module, dict(module.checkpoint_info)
    if not isinstance(model, nn.Module):
        raise UserError(f"model: expected a torch.nn.Module or a checkpoint path, got "
                        f"{type(model).__name__}")
    info = dict(getattr(model, "checkpoint_info", None) or {})
    if isinstance(normalization, str):
        normalization = resolve_normalization(normalization)
    if normalization is not None:
        mean, std = normalization
        model = Normalized(model, mean, std)
        info["normalization"] = {"mean": list(map(float, mean)), "std": list(map(float, std))}
    return model.eval(), info


def evaluate(model: nn.Module | str | os.PathLike | None, suite, *, data_root=None, clean_root=None,
             limit: int | None = None, corruptions=None, severities=None,
             device: str | torch.device = "auto", batch_size: int | None = None,
             baseline: Results | Evaluation | str | os.PathLike | None = None,
             normalization: Normalization | None = None, progress: bool = True,
             out: str | os.PathLike | None = None, arch: str | None = None,
             unsafe_pickle: bool = False, allow_mismatch: bool = False, seed: int | None = None,
             log: Callable[[str], None] | None = None, weights: str | os.PathLike | None = None,
             download_weights: bool = False, workers: int = 1, shard: str | None = None,
             bf16: bool | None = None, channels_last: bool | None = None,
             gpu_decode: bool | None = None, **options) -> Evaluation:
    """Score ``model`` on ``suite`` (a name such as ``"cifar10-c"`` or an opened Suite).

    ``model`` is any module taking float images in [0, 1] (N x C x H x W), or a checkpoint path
    loaded as :func:`load_model` does (``model=None`` with ``weights=`` and ``arch=`` loads
    those); ``normalization=(mean, std)`` wraps a module that expects normalised input (a name
    of ``NORMALIZATIONS`` works too). Nothing touches the disk unless ``out`` is given (then
    ``out`` receives ``results.h5`` and ``summary.json`` and re-running resumes, as
    ``robust-eval score``).
    ``options`` are suite options (``generate=True``, ``difficulty=2``...). ``batch_size``
    defaults to 256 images (256 frames for -P suites). ``workers``, ``shard`` and the GPU fast
    path (``bf16``, ``channels_last``, ``gpu_decode``) are those of
    :func:`robustbench_dm.scoring.score`; a ``shard`` writes a partial results file into ``out``
    and its evaluation has no summary (``None``) until the parts are merged.
    """
    module, info = _as_model(model, normalization, arch, unsafe_pickle, weights, download_weights)
    opened = _open_suite(suite, data_root=data_root, clean_root=clean_root, limit=limit,
                         corruptions=corruptions, severities=severities, seed=seed,
                         device=device, options=options)
    base = baseline.results if isinstance(baseline, Evaluation) else baseline
    if base is not None and not isinstance(base, Results):
        base = Results.load(base)
    results = score(module, opened, out_dir=out, device=device,
                    batch_size=256 if batch_size is None else batch_size,
                    checkpoint_info=info, progress=None if progress else False, baseline=base,
                    seed=seed or 0, allow_mismatch=allow_mismatch, log=log, workers=workers,
                    shard=shard, bf16=bf16, channels_last=channels_last, gpu_decode=gpu_decode)
    summary = None if "shard" in results.attrs else results.summary(base)
    return Evaluation(results=results, summary=summary, baseline=base, notes=list(results.notes))


def _open_suite(suite, *, data_root, clean_root, limit, corruptions, severities, seed, device,
                options: Mapping[str, Any]):
    if not isinstance(suite, str):
        given = {k: v for k, v in dict(data_root=data_root, clean_root=clean_root, limit=limit,
                                       corruptions=corruptions, severities=severities).items()
                 if v is not None}
        if given or options:
            raise UserError(f"suite: an opened suite takes no {', '.join(sorted(given) or options)}"
                            "; pass the suite's name to open it with them")
        return suite
    from robustbench_dm.suites import get_suite

    extra = dict(options)
    if clean_root is not None:
        extra["clean_root"] = clean_root
    if seed is not None:
        extra["seed"] = seed
    if extra.get("generate"):
        extra.setdefault("device", device)
    return get_suite(suite, data_root, limit=limit, corruptions=corruptions,
                     severities=severities, **extra)


def report(results: Sequence[Evaluation | Results | str | os.PathLike], out: str | os.PathLike, *,
           names: Sequence[str] | Mapping[str, str] | None = None,
           baseline: Evaluation | Results | str | os.PathLike | None = None,
           reference: str = "auto", n_boot: int = 1000, seed: int = 0):
    """Write the comparison report of ``results`` (files, results or evaluations) into ``out``,
    exactly as ``robust-eval report`` does; ``names`` labels them (a list in the same order, or
    a mapping from path to label). Returns the report :class:`reports.document.Document`."""
    from reports.build import write_report

    items = [r.results if isinstance(r, Evaluation) else r for r in results]
    labels = None
    if names is not None and not isinstance(names, Mapping):
        if len(names) != len(items):
            raise UserError(f"names: {len(names)} labels for {len(items)} results")
        labels = list(names)
    elif names is not None:
        labels = [names.get(str(item)) for item in items]
    base = baseline.results if isinstance(baseline, Evaluation) else baseline
    return write_report(items, out, labels=labels, baseline=base, reference=reference,
                        n_boot=n_boot, seed=seed)
