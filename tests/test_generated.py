"""The blocking client's generated twins are what ``scripts/unasync.py`` makes of their
asyncio sources: a change to one side only cannot land."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("unasync", ROOT / "scripts" / "unasync.py")
assert _spec is not None and _spec.loader is not None
unasync = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(unasync)


@pytest.mark.parametrize("target", sorted(unasync.FILES))
def test_the_generated_file_is_current(target: str) -> None:
    text = (ROOT / target).read_text(encoding="utf-8")
    assert text.startswith(f"# Generated from {unasync.FILES[target]} by scripts/unasync.py")
    assert text == unasync.generate(target), f"{target} is stale: run python scripts/unasync.py"


def test_a_phrase_that_no_longer_matches_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    target = "src/steer_sync/client.py"
    monkeypatch.setitem(unasync.PHRASES, target, [("words nobody wrote", "other words")])
    with pytest.raises(ValueError, match="words nobody wrote"):
        unasync.generate(target)
