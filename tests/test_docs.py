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
        for value in namespace.values():  # an emulator a block started (the README's)
            if isinstance(value, Emulator):
                value.close()


def test_the_readme_quick_start_runs_with_its_emulator_lines_dropped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # "Drop these two lines to use the real APIs" left keys and urls undefined.
    lines = blocks(ROOT / "README.md")[0].splitlines()
    first = next(n for n, line in enumerate(lines) if "drop these two lines" in line)
    del lines[first : first + 2]
    with Emulator() as emulator:  # standing in for the real APIs: the environment's keys
        for name, value in emulator.environ().items():
            monkeypatch.setenv(name, value)
        exec(
            compile("\n".join(lines), "README.md (block 1, dropped)", "exec", dont_inherit=True), {}
        )
        assert emulator.requests[-1].body["model"] == "claude-sonnet-5"


def test_every_relative_link_resolves() -> None:
    link = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
    for page in PAGES:
        for target in link.findall(page.read_text(encoding="utf-8")):
            if "://" in target:
                continue
            assert (page.parent / target).resolve().exists(), f"{page.name}: broken link {target}"


@pytest.mark.parametrize("page", ["README.md", "docs/index.md"])
def test_the_keys_line_names_every_provider(page: str) -> None:
    # They named four providers of eight.
    from steer_common.routing import API_KEY_ENV

    text = (ROOT / page).read_text(encoding="utf-8")
    assert [v for v in API_KEY_ENV.values() if f"`{v}`" not in text] == []


def test_the_command_line_and_the_hints_name_every_provider(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from steer_common.errors import UnknownModelError
    from steer_common.providers import PROVIDERS
    from steer_common.routing import route_model
    from steer_sync.cli import main

    with pytest.raises(SystemExit):
        main(["--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    for name in ("OpenAI", "Anthropic", "Gemini", "Vertex AI", "Azure", "Bedrock", "xAI"):
        assert name in help_text
    assert "steer batch" in help_text
    with pytest.raises(UnknownModelError) as caught:
        route_model("llama-3")
    assert [p for p in PROVIDERS if f"{p}/" not in str(caught.value)] == []


def test_install_hints_name_a_command_that_works() -> None:
    # 'steer-llm-sdk[otel]' names a package no index serves yet.
    for page in [*PAGES, *ROOT.glob("steer_*/**/*.py")]:
        text = page.read_text(encoding="utf-8")
        assert "install 'steer-llm-sdk[" not in text and 'install "steer-llm-sdk[' not in text, page


#: Pages whose every block runs pasted alone (a reader copies one).
SELF_CONTAINED = ["docs/agents.md"]


@pytest.mark.parametrize("page", SELF_CONTAINED)
def test_each_block_runs_alone(page: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # The agents page's second and third blocks used names of its first.
    monkeypatch.chdir(ROOT)
    for number, source in enumerate(blocks(ROOT / page), 1):
        namespace: dict[str, object] = {"__name__": f"alone_{number}"}
        exec(
            compile(source, f"{page} (block {number}, alone)", "exec", dont_inherit=True), namespace
        )
