"""Published reference rows (``--reference auto|dynmix-paper|augmix-paper|none``), read from the
CSV files in ``reports/data`` (sources in ``reports/data/README.md``). Values are returned as
fractions, like every measured number; rows are marked published.

Rows appear only beside results they can be compared with (:func:`decide`): the suite the paper
measured, every cell it measured, the whole test set (metadata ``subset.complete``, no limit),
and no compatibility warning. Otherwise one line says why they are left out. Beside runs of
a suite generated on the fly, one line says the rows were measured on the released files.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pandas as pd

from reports.coverage import COMPATIBILITY_FLAGS, compatibility, missing_cells, subset_phrase
from reports.load import ScoredRun
from reports.table_model import Col, Row, Table
from robustbench_dm import metrics
from robustbench_dm.errors import UserError

DATA = Path(__file__).parent / "data"
REFERENCES = ("auto", "dynmix-paper", "augmix-paper", "none")
#: papers in the order ``auto`` tries them, and how a sentence names them
PAPERS = {"dynmix-paper": "the Dynamic Mixup paper",
          "augmix-paper": "the AugMix paper and the ImageNet-C/-P leaderboards"}
DYNMIX_SOURCE = ('"A Dynamic Mixup Approach Towards Improved Robustness of Classifiers", '
                 "Table {table}")


@lru_cache(maxsize=None)
def data(name: str) -> pd.DataFrame:
    """One of the packaged CSV files."""
    return pd.read_csv(DATA / name)


def check_reference(reference: str) -> str:
    if reference not in REFERENCES:
        raise UserError(f"--reference {reference!r}: expected one of {', '.join(REFERENCES)}")
    return reference


def measured_suites(paper: str) -> frozenset[str]:
    """The suites ``paper``'s rows were measured on."""
    if paper == "dynmix-paper":
        return frozenset({"imagenet-c", "imagenet-p"} | set(data("dynmix_paper_cifar_c.csv")["dataset"]))
    return frozenset(data("augmix_public.csv")["suite"])


def measured_cells(suite: str) -> list[tuple[str, int]]:
    """The cells the papers measured: 15 corruptions x 5 severities (-C), the ImageNet-P
    perturbations of the paper's Table 4 at difficulty 1 (-P)."""
    if suite.endswith("-p"):
        names = [c[3:-4] for c in data("dynmix_paper_imagenet_p.csv").columns if c.startswith("fr_")]
        return [(n, 1) for n in names]
    return [(n, s) for n in metrics.BENCHMARK_CORRUPTIONS for s in metrics.SEVERITIES]


def decide(reference: str, suite: str, runs: list[ScoredRun]) -> tuple[str | None, str | None]:
    """(the paper whose rows ``suite``'s tables show, or None; the one line saying why rows are
    left out, or None). ``auto``: the first paper in ``PAPERS`` that measured ``suite``."""
    if reference == "none":
        return None, None
    if reference == "auto":
        paper = next((p for p in PAPERS if suite in measured_suites(p)), None)
        if paper is None:
            return None, None
    else:
        paper = reference
        if suite not in measured_suites(paper):
            return None, (f"Published reference rows are left out: {PAPERS[paper]} did not "
                          f"measure {suite}.")
    reasons = []
    wanted = measured_cells(suite)
    for run in runs:
        status, _ = compatibility(run)
        if status in COMPATIBILITY_FLAGS:
            flag = COMPATIBILITY_FLAGS[status]
            reasons.append(f"{run.label} was scored despite {'an' if flag[0] in 'aeiou' else 'a'} {flag}")
        subset = subset_phrase(run)
        if subset:
            reasons.append(f"{run.label} covers a subset of the suite ({subset})")
        missing = missing_cells(run, list(dict.fromkeys(n for n, _ in wanted)),
                                sorted({lvl for _, lvl in wanted}))
        if missing:
            reasons.append(f"{run.label} lacks {len(missing)} of the {len(wanted)} cells "
                           f"{PAPERS[paper]} measured (e.g. {missing[0][0]}/{missing[0][1]})")
    if reasons:
        return None, (f"Published reference rows ({PAPERS[paper]}) are left out: they were "
                      f"measured on the whole {suite}, but {'; '.join(reasons)}.")
    return paper, None


def generated_note(paper: str | None, suite: str, runs: list[ScoredRun], alexnet: bool) -> str | None:
    """The sentence shown wherever ``suite``'s published rows are (summary, table notes) when
    some of ``runs`` were scored on a suite generated on the fly, not on the released files the
    papers measured; ``alexnet``: CE is normalised by the AlexNet table (ImageNet-C). None when
    no rows are shown (``paper`` None) or every run read released files."""
    generated = [r for r in runs if r.metadata.get("generated")]
    if paper is None or not generated:
        return None
    name = str(generated[0].metadata.get("label") or suite).removesuffix(" (generated)")
    labels = [r.label for r in generated]
    who = labels[0] if len(labels) == 1 else f"{', '.join(labels[:-1])} and {labels[-1]}"
    seeds = sorted({str(r.metadata.get("seed", 0)) for r in generated})
    what = "perturbations" if suite.endswith("-p") else "corruptions"
    note = (f"The published rows were measured on the released {name} files; {who} "
            f"{'was' if len(labels) == 1 else 'were'} scored on {name} generated from the clean set "
            f"by this toolkit (seed{'s' * (len(seeds) > 1)} {', '.join(seeds)}): the same {what}, "
            "not the same images.")
    if alexnet:
        note += f" CE is normalised by AlexNet's errors on the released {name} files."
    return note


def corruption_rows(reference: str, suite: str) -> list[Row]:
    """ImageNet-C rows in AlexNet-normalised CE units (clean error, CE per corruption, mCE)."""
    if suite != "imagenet-c":
        return []
    if reference == "dynmix-paper":
        return _dynmix_rows("dynmix_paper_imagenet_c.csv", "ce_",
                            {"clean_error": "clean_error_pct", "mce": "mce_pct"}, table=3)
    return _augmix_rows(reference, suite, ("clean_error", "mce"))


def summary_rows(reference: str, suite: str) -> list[Row]:
    """Mean corruption error rows for CIFAR-10-C / CIFAR-100-C (the paper's mean over its four
    architectures; per architecture in `method_architecture_table`), and AugMix figures."""
    if reference == "dynmix-paper":
        table = data("dynmix_paper_cifar_c.csv")
        table = table[(table["dataset"] == suite) & (table["architecture"] == "Mean")]
        return [Row(f"{r['method']} (mean of 4 architectures)",
                    {"mean_error": r["mean_corruption_error_pct"] / 100, "method": r["method"]},
                    published=True, source=DYNMIX_SOURCE.format(table=r["table"]))
                for r in table.to_dict("records")]
    return _augmix_rows(reference, suite, ("clean_error", "mean_error", "mce"))


def perturbation_rows(reference: str, suite: str) -> list[Row]:
    """ImageNet-P rows in AlexNet-normalised flip rate units (FR per perturbation, mFR)."""
    if suite != "imagenet-p":
        return []
    if reference == "dynmix-paper":
        return _dynmix_rows("dynmix_paper_imagenet_p.csv", "fr_", {"mfr": "mfr_pct"}, table=4)
    return _augmix_rows(reference, suite, ("mfr", "mt5d"))


def _dynmix_rows(filename: str, prefix: str, aggregates: dict[str, str], *, table: int
                 ) -> list[Row]:
    """One row per method and architecture of a Dynamic Mixup paper table: every column
    ``{prefix}NAME_pct`` as the value of NAME, then each of ``aggregates`` (key -> column);
    percent in the file, fractions in the row."""
    rows = []
    for rec in data(filename).to_dict("records"):
        values = {k[len(prefix):-len("_pct")]: v / 100 for k, v in rec.items()
                  if k.startswith(prefix)}
        values.update({key: rec[column] / 100 for key, column in aggregates.items()})
        rows.append(Row(f"{rec['method']} ({rec['architecture']})", values, published=True,
                        source=DYNMIX_SOURCE.format(table=table)))
    return rows


def _augmix_rows(reference: str, suite: str, metrics: tuple[str, ...]) -> list[Row]:
    if reference != "augmix-paper":
        return []
    table = data("augmix_public.csv")
    table = table[(table["suite"] == suite) & table["metric"].isin(metrics)]
    rows: dict[str, Row] = {}
    for rec in table.to_dict("records"):
        label = f"{rec['method']} ({rec['architecture']})"
        row = rows.setdefault(label, Row(label, {"architecture": rec["architecture"],
                                                 "method": rec["method"]}, published=True))
        row.values[rec["metric"]] = rec["value_pct"] / 100
        row.source = "; ".join(dict.fromkeys(filter(None, [*row.source.split("; "), rec["source"]])))
    return list(rows.values())


def ablation_table(reference: str, suites: list[str]) -> Table | None:
    """The Dynamic Mixup paper's Table 5 (WideResNet ablations), when a CIFAR-C suite is shown."""
    if reference != "dynmix-paper" or not {"cifar10-c", "cifar100-c"}.intersection(suites):
        return None
    rows = [Row(r["variant"], {"architecture": r["architecture"],
                               "cifar10-c": r["cifar10_c_error_pct"] / 100,
                               "cifar100-c": r["cifar100_c_error_pct"] / 100},
                published=True, source=DYNMIX_SOURCE.format(table=5))
            for r in data("dynmix_paper_ablation.csv").to_dict("records")]
    return Table("published_ablation", "Published ablations (Dynamic Mixup paper, Table 5)",
                 "Mean corruption error (%) of WideResNet variants; published, not measured here.",
                 [Col("architecture", "Arch.", kind="text"),
                  Col("cifar10-c", "CIFAR-10-C"), Col("cifar100-c", "CIFAR-100-C")],
                 rows, row_header="Variant")


def method_architecture_table(reference: str, suite: str) -> Table | None:
    """The paper's Table 1 / 2 layout: methods x architectures, for CIFAR-10-C / CIFAR-100-C."""
    if reference != "dynmix-paper":
        return None
    table = data("dynmix_paper_cifar_c.csv")
    table = table[table["dataset"] == suite]
    if table.empty:
        return None
    archs = list(dict.fromkeys(table["architecture"]))
    rows = []
    for method, part in table.groupby("method", sort=False):
        values = {a: v / 100 for a, v in zip(part["architecture"], part["mean_corruption_error_pct"])}
        rows.append(Row(method, values, published=True,
                        source=DYNMIX_SOURCE.format(table=int(part["table"].iloc[0]))))
    number = int(table["table"].iloc[0])
    return Table(f"published_methods_{suite}",
                 f"Published {suite.upper()} errors by method and architecture "
                 f"(Dynamic Mixup paper, Table {number})",
                 "Mean corruption error (%), 15 corruptions x 5 severities; "
                 "published, not measured here.",
                 [Col(a, a) for a in archs], rows, row_header="Method")
