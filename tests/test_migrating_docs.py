"""Every ```python block of docs/migrating.md runs, each on its own, in a scratch folder."""

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parent.parent / "docs" / "migrating.md"
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def _blocks() -> list[tuple[str, int, str]]:
    """(section heading, line number, code) of every python block."""
    text = DOC.read_text()
    blocks = []
    for match in _BLOCK.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        headings = re.findall(r"^## (.+)$", text[: match.start()], re.M)
        blocks.append((headings[-1] if headings else "(top)", line, match.group(1)))
    return blocks


BLOCKS = _blocks()


def test_one_section_per_library_with_snippets():
    sections = {section for section, _, _ in BLOCKS}
    assert {"imagecorruptions", "torchvision AugMix"} <= sections
    training = [code for _, _, code in BLOCKS if "resnet18" in code]
    assert training and all(s in training[0] for s in ("DynamicMixup", "JSDLoss", "backward"))


@pytest.mark.parametrize(
    "code", [code for _, _, code in BLOCKS], ids=[f"{s}:line{n}" for s, n, _ in BLOCKS]
)
def test_snippet_runs(code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    exec(compile(code, str(DOC), "exec"), {"__name__": "__migrating__"})
