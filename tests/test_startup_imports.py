"""Start-up cost: the score command's modules do not import torchvision (about a second of CPU per
process, paid again by every rank under torchrun); it is imported on first JPEG or resize use."""

from __future__ import annotations

import subprocess
import sys

CHECK = ("import sys, cli.scoring, robustbench_dm.evaluation, robustbench_dm.scoring.score, "
         "robustbench_dm.suites, robustbench_dm.distributed; "
         "print(sorted(m for m in sys.modules if m.split('.')[0] == 'torchvision'))")


def test_score_modules_do_not_import_torchvision():
    done = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stdout


def test_jpeg_codec_imports_it_on_first_use():
    code = ("import sys, torch; from corruptions.codec import encode_jpeg, has_device_jpeg; "
            "before = 'torchvision' in sys.modules; "
            "encode_jpeg([torch.zeros(3, 8, 8, dtype=torch.uint8)], quality=85); "
            "has_device_jpeg(); print(before, 'torchvision' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "True"], done.stdout
