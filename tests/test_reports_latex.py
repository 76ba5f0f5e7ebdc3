"""tables.tex compiles with pdflatex in a minimal document, whatever the model names hold."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest
from results_fixtures import c_suite_cells, p_cell, write_results

from corruptions import CORRUPTIONS
from reports.analysis import analyse
from reports.latex import escape, label_key, write_latex
from reports.load import load_runs
from reports.paper_tables import build_tables

PDFLATEX = shutil.which("pdflatex")
NASTY = ("A_b 50% & #1", "B {x} ~^$\\ <a|b>", "Déjà vu ± 1 × 2 — “quoted” → ∞")


def test_escape_specials_and_marks():
    assert escape("a_b%c&d#e$f") == r"a\_b\%c\&d\#e\$f"
    assert escape("{x}~^\\") == r"\{x\}\~{}\^{}\textbackslash{}"
    assert escape("1.0–2.0 ± 0.5") == r"1.0--2.0 $\pm$ 0.5"
    assert escape("é→∞") == "é??"
    assert label_key("corruptions_imagenet-c/x y") == "corruptions_imagenet-c-x-y"


@pytest.fixture(scope="module")
def tables_tex(tmp_path_factory):
    root = tmp_path_factory.mktemp("latex")
    files, names = [], {}
    for i, label in enumerate(NASTY):
        errors = {("clean", 0): 0.24 - 0.02 * i}
        errors.update({(n, s): round(0.3 + 0.08 * s - 0.02 * i, 2)
                       for n in CORRUPTIONS for s in range(1, 6)})
        path = write_results(root / f"in{i}" / "results.h5",
                             c_suite_cells(errors, 100, num_classes=1000, seed=i),
                             suite="imagenet-c", num_classes=1000,
                             checkpoint={"arch": "resnet_50", "method": f"m_{i}&",
                                         "dataset": "imagenet", "sha256": str(i) * 64})
        files.append(path)
        names[str(path)] = label
    preds = np.zeros((20, 31), dtype=np.int64)
    preds[:10, 1::2] = 1
    files.append(write_results(root / "p" / "results.h5", {("rotate", 1): p_cell(preds)},
                               kind="p", suite="cifar10-p"))
    analysis = analyse(load_runs(files, names), n_boot=100)
    path = root / "tables.tex"
    write_latex(build_tables(analysis, "dynmix-paper"), path)
    return path


def _compile(folder, preamble: str) -> tuple[int, str]:
    (folder / "doc.tex").write_text(
        "\\documentclass{article}\n" + preamble + "\\begin{document}\n\\input{tables.tex}\n"
        "\\end{document}\n", encoding="utf-8")
    result = subprocess.run([PDFLATEX, "-interaction=nonstopmode", "-halt-on-error", "doc.tex"],
                            cwd=folder, capture_output=True, text=True, errors="replace",
                            check=False, timeout=300)
    return result.returncode, (folder / "doc.log").read_text(errors="replace")


@pytest.mark.skipif(PDFLATEX is None, reason="pdflatex is not installed (Debian texlive-latex-base "
                                             "and texlive-latex-recommended)")
@pytest.mark.parametrize("preamble", ["\\usepackage{booktabs}\n",
                                      "\\usepackage{booktabs}\n\\usepackage{graphicx}\n"])
def test_tables_tex_compiles(tables_tex, tmp_path, preamble):
    shutil.copy(tables_tex, tmp_path / "tables.tex")
    code, log = _compile(tmp_path, preamble)
    assert code == 0, log[-3000:]
    assert (tmp_path / "doc.pdf").stat().st_size > 1000
    assert "Missing character" not in log
    tex = tables_tex.read_text(encoding="utf-8")
    assert r"\label{tab:corruptions_imagenet-c}" in tex
    assert r"A\_b 50\% \& \#1" in tex
    if "graphicx" in preamble:            # wide tables are scaled to the line
        assert "Overfull \\hbox" not in log, log
