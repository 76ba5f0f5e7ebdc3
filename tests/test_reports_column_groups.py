"""`column_groups`: the group header row the HTML and LaTeX tables both draw from."""

from reports.html import table_html
from reports.latex import table_tex
from reports.table_model import Col, Row, Table, column_groups


def _columns(groups: list[str]) -> list[Col]:
    return [Col(f"k{i}", f"h{i}", group) for i, group in enumerate(groups)]


def test_runs_of_equal_groups_become_spans_in_order():
    columns = _columns(["", "Noise", "Noise", "Blur", "", "", "Noise"])
    assert column_groups(columns) == [("", 1), ("Noise", 2), ("Blur", 1), ("", 2), ("Noise", 1)]
    assert column_groups([]) == []


def test_html_and_latex_draw_the_same_spans():
    table = Table("t", "T", "caption", _columns(["Noise", "Noise", "Noise", "Blur", "Blur"]),
                  [Row("m", {f"k{i}": 0.1 * i for i in range(5)})])
    html = table_html(table)
    assert '<th class="group" colspan="3">Noise</th>' in html
    assert '<th class="group" colspan="2">Blur</th>' in html
    tex = table_tex(table)
    assert r"\multicolumn{3}{c}{Noise}" in tex and r"\multicolumn{2}{c}{Blur}" in tex
    assert r"\cmidrule(lr){2-4} \cmidrule(lr){5-6}" in tex
