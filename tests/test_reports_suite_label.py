"""A suite recorded with a label (ImageNet-C generated at another resolution) is shown under that
label in every table title, never as ImageNet-C."""

from __future__ import annotations

from reports.build import write_report
from results_fixtures import c_suite_cells, write_results


def test_resized_imagenet_c_tables_carry_the_recorded_label(tmp_path):
    errors = {("clean", 0): 0.2, ("fog", 1): 0.3, ("fog", 2): 0.4}
    label = "ImageNet-C at 384 px (generated)"
    path = write_results(tmp_path / "r.h5", c_suite_cells(errors, 200, num_classes=20),
                         suite="imagenet-c-384px", num_classes=20,
                         metadata={"label": label}, checkpoint={"dataset": "imagenet"})
    doc = write_report([path], tmp_path / "report", n_boot=100)
    titles = [table.title for table in doc.tables]
    assert titles and all(title.startswith(label) for title in titles if ":" in title)
    text = (tmp_path / "report" / "report.md").read_text()
    assert f"## {label}: summary" in text
    assert "## imagenet-c:" not in text
