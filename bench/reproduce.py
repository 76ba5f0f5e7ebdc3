"""Reproduce a method comparison like the Dynamic Mixup paper's Table 1, measured here.

Trains every built-in method (and the Dynamic Mixup ablations of the paper's Table 5) with one
architecture and one schedule, for several seeds; scores each checkpoint on the -C and -P suites;
writes the comparison report (bootstrap intervals, published CIFAR-10-C rows marked as such where
the whole suite was scored) and the report's per-method tables of mean ± sd over seeds.

    python bench/reproduce.py --profile cpu --out runs/reproduce-cpu      # ~1 h on 2 CPU cores
    python bench/reproduce.py --profile gpu --out runs/reproduce-gpu      # one GPU
    python bench/reproduce.py --profile gpu --dataset cifar10 --data-root DIR/cifar-10-batches-py

Re-running resumes: finished trainings and scored cells are reused. See docs/reproduce.md.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reports import write_report  # noqa: E402
from reports.markdown import table_md  # noqa: E402
from robustbench_dm.demo import find_fashion_mnist  # noqa: E402
from robustbench_dm.experiment import Experiment, RunSpec, SuiteSpec, run_experiment  # noqa: E402

#: (label, method, options): the paper's methods and its Table 5 ablations.
METHODS = (
    ("standard", "standard", {}),
    ("mixup", "mixup", {}),
    ("cutmix", "cutmix", {}),
    ("autoaugment_star", "autoaugment_star", {}),
    ("random_autoaugment_star", "random_autoaugment_star", {}),
    ("augmix", "augmix", {}),
    ("dynmix", "dynmix", {}),
    ("dynmix_no_jsd", "dynmix", {"jsd": False}),
    ("dynmix_linear_only", "dynmix", {"linear_only": True}),
    ("dynmix_single_sample_jsd", "dynmix", {"single_sample_jsd": True}),
)

#: Schedules. ``cpu``: small CNN on Fashion-MNIST, about an hour on 2 cores.
#: ``gpu``: the paper's recipe (lr 0.1 cosine, batch 128, wd 5e-4) with WRN-40-2.
PROFILES = {
    "cpu": dict(arch="small_cnn", epochs=2, train_limit=10000, score_limit=1000, p_limit=200,
                batch_size=128, device="cpu"),
    "gpu": dict(arch="wrn40_2", epochs=10, train_limit=None, score_limit=None, p_limit=1000,
                batch_size=128, device="cuda"),
}


def _suites(dataset: str, data_root: Path, c_root: str | None, p_root: str | None,
            score_limit: int | None, p_limit: int | None) -> tuple[SuiteSpec, ...]:
    if dataset == "fashion-mnist":
        return (SuiteSpec("fmnist-c", str(data_root), score_limit, {"seed": 0},
                          generate_from="fashion-mnist"),
                SuiteSpec("fmnist-p", str(data_root), p_limit, {"seed": 0},
                          generate_from="fashion-mnist"))
    if c_root:
        suites = [SuiteSpec(f"{dataset}-c", c_root, score_limit, {"clean_root": str(data_root)})]
    else:
        suites = [SuiteSpec(f"{dataset}-c", str(data_root), score_limit, {"seed": 0},
                            generate_from=dataset)]
    if p_root:
        suites.append(SuiteSpec(f"{dataset}-p", p_root, p_limit, {"clean_root": str(data_root)}))
    return tuple(suites)


def seed_tables(doc) -> str:
    """The report's mean ± standard deviation over seeds tables (``reports.seeds``: intervals
    and paired comparisons resample seeds and images), as Markdown."""
    tables = [t for t in doc.tables if t.key.startswith("seeds_")]
    return "\n\n".join(f"**{t.title}**\n\n{table_md(t)}" for t in tables) or (
        "(no recipe has several seeds)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profile", choices=sorted(PROFILES), default="cpu")
    parser.add_argument("--out", default=None)
    parser.add_argument("--dataset", default="fashion-mnist",
                        choices=["fashion-mnist", "cifar10", "cifar100"])
    parser.add_argument("--data-root", default=None,
                        help="Clean training/test data (default: Fashion-MNIST lookup).")
    parser.add_argument("--c-root", default=None, help="CIFAR-10-C folder (else generated).")
    parser.add_argument("--p-root", default=None, help="CIFAR-10-P folder (optional).")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--methods", nargs="+", default=[m[0] for m in METHODS],
                        choices=[m[0] for m in METHODS])
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--arch", default=None)
    parser.add_argument("--train-limit", type=int, default=None)
    parser.add_argument("--score-limit", type=int, default=None)
    parser.add_argument("--device", default=None)
    args = parser.parse_args()

    profile = dict(PROFILES[args.profile])
    for key in ("epochs", "arch", "train_limit", "score_limit", "device"):
        if getattr(args, key) is not None:
            profile[key] = getattr(args, key)
    out = Path(args.out or f"runs/reproduce-{args.profile}")
    if args.dataset == "fashion-mnist":
        data_root = find_fashion_mnist(args.data_root)
    elif args.data_root is None:
        parser.error("--data-root is required for CIFAR (the cifar-10-batches-py folder)")
    else:
        data_root = Path(args.data_root)
    suites = _suites(args.dataset, data_root, args.c_root, args.p_root,
                     profile["score_limit"], profile["p_limit"])
    wanted = [m for m in METHODS if m[0] in args.methods]
    runs = tuple(RunSpec(f"{label}-s{seed}", method, seed, options)
                 for label, method, options in wanted for seed in args.seeds)
    exp = Experiment(out=str(out), dataset=args.dataset, data_root=str(data_root),
                     arch=profile["arch"], runs=runs, suites=suites, epochs=profile["epochs"],
                     batch_size=profile["batch_size"], train_limit=profile["train_limit"],
                     device=profile["device"])
    started = time.perf_counter()
    outcomes = run_experiment(exp)
    files = {str(p): o.label for o in outcomes for p in o.results.values()}
    doc = write_report(list(files), out / "report", names=files)
    table = seed_tables(doc)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, cwd=Path(__file__).parent).stdout.strip() or "unknown"
    text = (f"# Method comparison, profile `{args.profile}`\n\n"
            f"Command: `python bench/reproduce.py {' '.join(sys.argv[1:])}`  \n"
            f"Commit: `{commit}`; seeds {args.seeds}; arch {profile['arch']}; dataset "
            f"{args.dataset}; {profile['epochs']} epochs on "
            f"{profile['train_limit'] or 'all'} training images; -C cells "
            f"{profile['score_limit'] or 'all'} images, -P {profile['p_limit']} videos.  \n"
            f"Wall time: {(time.perf_counter() - started) / 60:.1f} min (this run; finished "
            f"work is reused on a re-run).\n\n"
            f"Mean ± standard deviation over seeds, 95% intervals resampling seeds and images "
            f"(per-seed rows and the paired comparisons are in report/report.md).\n\n"
            f"{table}\n")
    (out / "table.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
