"""Benchmark: `robust-eval report` for 10 models x 3 suites, and the vectorised bootstrap against a
straightforward per-replicate loop (resample images, recompute cell errors, call metrics.mce).

    python bench/report.py [--models 10] [--n 2000] [--boot 1000]

Writes results files in the HDF5 layout to a temp folder (not timed), then times each stage of
the report and prints a table and the bootstrap speed-up ratio.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from reports import bootstrap, plots  # noqa: E402
from reports.analysis import analyse  # noqa: E402
from reports.build import make_document, write_outputs  # noqa: E402
from reports.load import load_runs  # noqa: E402
from reports.measures import ALEXNET, measures_for  # noqa: E402
from results_fixtures import c_suite_cells, p_cell, write_results  # noqa: E402
from robustbench_dm import metrics  # noqa: E402
from robustbench_dm.suites.cifar_p import CIFAR_P_TEST  # noqa: E402

CORRUPTIONS = metrics.BENCHMARK_CORRUPTIONS


def make_files(root: Path, models: int, n_images: int) -> list[Path]:
    rng = np.random.default_rng(0)
    files = []
    for model in range(models):
        shift = 0.01 * model
        errors = {("clean", 0): 0.05 + shift}
        errors.update({(c, s): min(0.95, 0.1 + 0.06 * s + shift) for c in CORRUPTIONS
                       for s in metrics.SEVERITIES})
        checkpoint = {"method": f"method{model}", "arch": "wrn40_2", "sha256": f"{model:064d}"}
        files.append(write_results(root / f"c10_{model}.h5",
                                   c_suite_cells(errors, n_images, seed=model),
                                   suite="cifar10-c", checkpoint=checkpoint))
        files.append(write_results(root / f"inc_{model}.h5",
                                   c_suite_cells(errors, n_images // 2, num_classes=1000, seed=model),
                                   suite="imagenet-c", num_classes=1000, checkpoint=checkpoint))
        cells = {}
        for name in CIFAR_P_TEST:
            preds = (rng.uniform(size=(n_images // 4, 31)) < 0.05 + 0.01 * model).astype(np.int64)
            cells[(name, 1)] = p_cell(preds)
        files.append(write_results(root / f"p_{model}.h5", cells, kind="p", suite="cifar10-p",
                                   checkpoint=checkpoint))
    return files


def naive_bootstrap_mce(run, n_boot: int, seed: int = 0) -> np.ndarray:
    """Reference: per replicate, resample image ids, recompute every cell error, call mce."""
    rng = np.random.default_rng(seed)
    ids = bootstrap.image_ids(run)
    out = np.empty(n_boot)
    for replicate in range(n_boot):
        draw = rng.choice(ids, size=ids.shape[0], replace=True)
        counts = np.bincount(np.searchsorted(ids, draw), minlength=ids.shape[0])
        per = {}
        for corruption in CORRUPTIONS:
            per[corruption] = []
            for severity in metrics.SEVERITIES:
                cell = run.cells[(corruption, severity)]
                weights = counts[np.searchsorted(ids, cell.index)]
                mean = (weights * cell.values["error"]).sum() / weights.sum()
                per[corruption].append(float(mean))
        out[replicate] = metrics.mce(per)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=10)
    parser.add_argument("--n", type=int, default=2000, help="images per CIFAR cell")
    parser.add_argument("--boot", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        files = make_files(root, args.models, args.n)
        stages = []
        report_start = time.perf_counter()
        runs = load_runs(files)
        stages.append(("load + per-image scores", time.perf_counter() - report_start))
        start = time.perf_counter()
        analysis = analyse(runs, n_boot=args.boot)
        stages.append((f"analyse ({args.boot} bootstrap replicates)", time.perf_counter() - start))
        start = time.perf_counter()
        plots.gallery("cifar")
        plots.gallery("imagenet")
        stages.append(("gallery (corruption kernels, cached after)", time.perf_counter() - start))
        start = time.perf_counter()
        doc = make_document(analysis, "dynmix-paper")
        stages.append((f"tables + {len(doc.plots)} plots", time.perf_counter() - start))
        start = time.perf_counter()
        out = root / "out"
        out.mkdir()
        write_outputs(analysis, doc, out)
        stages.append(("writers (png + svg, html, md, csv, tex, json)", time.perf_counter() - start))
        total = time.perf_counter() - report_start

        run = next(r for r in runs if r.suite == "imagenet-c")
        ms = {run.label: [m for m in measures_for(run, ALEXNET) if m.key == "mce"]}
        start = time.perf_counter()
        bootstrap.replicates([run], ms, n_boot=args.boot)
        ours = (time.perf_counter() - start) / args.boot
        naive_n = max(20, args.boot // 20)
        start = time.perf_counter()
        naive_bootstrap_mce(run, naive_n)
        naive = (time.perf_counter() - start) / naive_n

    print(f"report for {args.models} models x 3 suites (cifar10-c {args.n} img/cell, imagenet-c "
          f"{args.n // 2} img/cell, cifar10-p {args.n // 4} videos/cell x 10)")
    print(f"{'stage':48s} {'seconds':>8s}")
    for name, sec in stages:
        print(f"{name:48s} {sec:8.2f}")
    print(f"{'total':48s} {total:8.2f}")
    print()
    print(f"bootstrap of mCE, one model, {run.cells[('fog', 1)].n} images x 75 cells:")
    print(f"  vectorised (ours): {1e3 * ours:8.3f} ms/replicate")
    print(f"  per-replicate loop + metrics.mce (reference): {1e3 * naive:8.3f} ms/replicate")
    print(f"  ratio reference/ours: {naive / ours:.1f}x")


if __name__ == "__main__":
    main()
