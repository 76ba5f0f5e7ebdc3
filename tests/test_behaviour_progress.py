"""Progress off a terminal: one plain line at least every interval and at the end of each cell
(what, done/total, rate, ETA); a tqdm bar on a terminal; nothing when switched off
(observed case 9: make-suite redirected to a file printed nothing for minutes)."""

from __future__ import annotations

import io

import numpy as np

from robustbench_dm.progress import Progress
from robustbench_dm.scoring import score
from scoring_fixtures import MemorySuite, PixelCodeNet


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


class Tty(io.StringIO):
    def isatty(self):
        return True


def test_plain_lines_every_interval_and_at_every_cell():
    stream, clock = io.StringIO(), Clock()
    with Progress(1000, "score cifar10-c", stream=stream, interval=30, clock=clock) as p:
        p.cell("fog/1")
        clock.now += 10
        p.update(100)  # 10 s: no line yet
        assert stream.getvalue() == ""
        clock.now += 20
        p.update(100)  # 30 s since the start: a line
        clock.now += 5
        p.update(50)
        p.cell_done()
    lines = stream.getvalue().splitlines()
    assert lines == [
        "score cifar10-c: 200/1000 img (20.0%), 6.7 img/s, ETA 0:02:00",
        "score cifar10-c: 250/1000 img (25.0%), 7.1 img/s, ETA 0:01:45 (fog/1 done)",
    ]


def test_a_terminal_gets_a_bar_and_show_false_gets_nothing():
    tty = Tty()
    with Progress(10, "make-suite fmnist-c", stream=tty, interval=0) as p:
        p.update(10)
        p.cell_done()
    assert "10/10" in tty.getvalue() and "ETA" not in tty.getvalue()
    quiet = io.StringIO()
    with Progress(10, "x", stream=quiet, show=False, interval=0) as p:
        p.update(10)
        p.cell_done()
    assert quiet.getvalue() == ""


def test_score_off_a_terminal_prints_a_line_per_cell(tmp_path, capsys):
    labels = np.arange(12) % 4
    suite = MemorySuite("cifar10-c", labels, {("clean", 0): labels, ("fog", 1): labels}, 4)
    score(PixelCodeNet(4), suite, out_dir=tmp_path, batch_size=5)
    err = capsys.readouterr().err.splitlines()
    assert [line.split(" (")[-1] for line in err] == ["clean/0 done)", "fog/1 done)"]
    assert err[-1].startswith("score cifar10-c: 24/24 img (100.0%), ")
