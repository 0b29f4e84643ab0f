"""Every Python code block in README.md and docs/ runs, so the docs cannot drift.

Blocks are taken from fenced ```python sections, in order; the blocks of one page run in
one namespace (a page reads top to bottom), from the repository root. Blocks written for a
real provider (a client built from the environment) run against the emulator: every
provider's key and base URL variables point at one for the page.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from steer_sync.emulator import Emulator

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def blocks(page: Path) -> list[str]:
    return BLOCK.findall(page.read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    "page", [p for p in PAGES if blocks(p)], ids=lambda p: str(p.relative_to(ROOT))
)
def test_code_blocks_run(page: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    emulator = Emulator()
    for name, value in emulator.environ().items():
        monkeypatch.setenv(name, value)
    namespace: dict[str, object] = {"__name__": f"docs_{page.stem}"}
    try:
        for number, source in enumerate(blocks(page), 1):
            # dont_inherit: a block runs as a reader runs it, not under this module's
            # `from __future__ import annotations`.
            name = f"{page.relative_to(ROOT)} (block {number})"
            code = compile(source, name, "exec", dont_inherit=True)
            exec(code, namespace)
    finally:
        emulator.close()


def test_every_relative_link_resolves() -> None:
    link = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
    for page in PAGES:
        for target in link.findall(page.read_text(encoding="utf-8")):
            if "://" in target:
                continue
            assert (page.parent / target).resolve().exists(), f"{page.name}: broken link {target}"
