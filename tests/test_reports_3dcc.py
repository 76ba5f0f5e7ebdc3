"""The ImageNet-3DCC vs ImageNet-C table and figure (the paper's Figure 4) from known numbers."""

import json

import pytest
from results_fixtures import c_suite_cells, write_results

from reports import write_report

THREE_D = ("near_focus", "far_focus", "fog_3d", "flash", "color_quant", "low_light",
           "xy_motion_blur", "z_motion_blur", "iso_noise", "bit_error", "h265_abr", "h265_crf")
TWO_D = ("gaussian_noise", "shot_noise", "impulse_noise", "defocus_blur", "glass_blur",
         "motion_blur", "zoom_blur", "snow", "frost", "fog", "brightness", "contrast",
         "elastic_transform", "pixelate", "jpeg_compression")


def _errors(names, offset):
    return {(c, s): min(0.95, offset + 0.01 * i + 0.02 * s) for i, c in enumerate(names)
            for s in range(1, 6)}


def test_3dcc_beside_imagenet_c(tmp_path):
    files, expected = {}, {}
    for k, (label, offset) in enumerate((("model-a", 0.30), ("model-b", 0.20))):
        for suite, names, shift in (("imagenet-c", TWO_D, 0.0), ("imagenet-3dcc", THREE_D, 0.05)):
            errors = _errors(names, offset + shift)
            path = write_results(tmp_path / label / suite / "results.h5",
                                 c_suite_cells(errors, 200, num_classes=1000, seed=k),
                                 suite=suite, num_classes=1000,
                                 checkpoint={"sha256": str(k) * 64})
            files[str(path)] = label
            expected[(label, suite)] = sum(round(e * 200) / 200 for e in errors.values()) / len(errors)
    doc = write_report(list(files), tmp_path / "report", names=files, reference="none", n_boot=200)
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    rows = {r["label"]: r for r in report["tables"]["imagenet-3dcc_vs_imagenet-c"]["rows"]}
    for label in ("model-a", "model-b"):
        values = rows[label]["values"]
        assert values["c_mean_error"] == pytest.approx(expected[(label, "imagenet-c")])
        assert values["3d_mean_error"] == pytest.approx(expected[(label, "imagenet-3dcc")])
        # ImageNet-C gets the AlexNet-normalised mCE; 3DCC has no published AlexNet table.
        assert "c_mce" in values and "3d_mce" not in values
    assert any("3dcc" in p.filename.lower() for p in doc.plots)
