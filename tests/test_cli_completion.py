"""Shell completion completes suite, corruption, method and architecture names (click's bash
protocol, as the completion script the README installs calls it)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from cli import main


def complete(words: str) -> list[str]:
    """The completions bash would get for the command line ``words`` (cursor at its end)."""
    parts = words.split(" ")
    env = {"_ROBUST_EVAL_COMPLETE": "bash_complete", "COMP_WORDS": words,
           "COMP_CWORD": str(len(parts) - 1)}
    result = CliRunner().invoke(main, [], env=env, prog_name="robust-eval")
    assert result.exit_code == 0, result.output
    return [line.split(",", 1)[1] for line in result.output.splitlines() if "," in line]


@pytest.mark.parametrize("words, expected, absent", [
    ("robust-eval score m.pt --suite cifar1", {"cifar10-c", "cifar100-c"}, "imagenet-c"),
    ("robust-eval make-suite imagenet-", {"imagenet-c", "imagenet-p"}, "cifar10-c"),
    ("robust-eval download tiny", {"tinyimagenet-c"}, "cifar10-c"),
    ("robust-eval score m.pt --corruptions fog,gaussian_", {"fog,gaussian_noise", "fog,gaussian_blur"},
     "gaussian_noise"),
    ("robust-eval train --method dyn", {"dynmix"}, "augmix"),
    ("robust-eval train --method x --arch wrn", {"wrn40_2"}, "resnet50"),
])
def test_names_complete(words, expected, absent):
    got = set(complete(words))
    assert expected <= got, got
    assert absent not in got


def test_list_still_completes_its_choices():
    assert "suites" in complete("robust-eval list su")
