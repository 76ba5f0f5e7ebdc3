"""Render report.html in headless Chromium: every image decodes, nothing overflows 1280 px."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from reports.build import write_report
from results_fixtures import c_suite_cells, write_results

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"

pytestmark = pytest.mark.skipif(
    CHROMIUM is None or DRIVER is None,
    reason="Chromium and chromedriver are not installed (Debian packages chromium, chromium-driver)")

OVERFLOW_JS = """
const limit = document.documentElement.clientWidth;
const bad = [];
for (const el of document.querySelectorAll('body *')) {
  const r = el.getBoundingClientRect();
  if (r.width > 0 && r.right > limit + 0.5) bad.push(el.tagName + '#' + el.id + ' right=' + r.right);
}
return [limit, document.documentElement.scrollWidth, bad.slice(0, 10)];
"""


@pytest.mark.slow
def test_report_renders_in_chromium(tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    names = ("gaussian_noise", "shot_noise", "impulse_noise", "defocus_blur", "glass_blur",
             "motion_blur", "zoom_blur", "snow", "frost", "fog", "brightness", "contrast",
             "elastic_transform", "pixelate", "jpeg_compression", "speckle_noise", "spatter")
    files = []
    for i, label in enumerate(("Standard with a rather long descriptive label", "AugMix", "DynMix")):
        errors = {("clean", 0): 0.05 + 0.01 * i}
        errors.update({(n, s): 0.1 + 0.04 * s - 0.02 * i for n in names for s in range(1, 6)})
        files.append(write_results(tmp_path / label[:6] / "results.h5",
                                   c_suite_cells(errors, 200, seed=i), suite="cifar10-c",
                                   checkpoint={"method": label, "arch": "wrn40_2",
                                               "sha256": str(i) * 64}))
    out = tmp_path / "report"
    write_report(files, out, n_boot=200)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run",
                "--window-size=1280,900", "--hide-scrollbars"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    try:
        driver.set_window_size(1280, 900)
        driver.get((out / "report.html").as_uri())
        images = driver.execute_script(
            "return Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.alt]);")
        assert len(images) >= 5
        assert all(complete and width > 0 for complete, width, _ in images), images
        limit, scroll_width, bad = driver.execute_script(OVERFLOW_JS)
        assert limit >= 1200
        assert scroll_width <= limit and not bad, (scroll_width, limit, bad)
        ARTIFACTS.mkdir(exist_ok=True)
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(1280, min(int(height), 8000))
        driver.save_screenshot(str(ARTIFACTS / "report.png"))
    finally:
        driver.quit()
