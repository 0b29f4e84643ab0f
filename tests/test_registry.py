"""The registry of wire formats is the one place a format is described: the docs show it
as it is, and every format has what every part of the library needs."""

from __future__ import annotations

from pathlib import Path

import pytest

from steer_common.parser import StreamParser
from steer_common.providers import FORMATS, format_for, markdown_table
from steer_emulator import ScriptedReply, render
from steer_emulator.formats import EMULATIONS

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("page", ["docs/architecture/adding-a-provider.md", "docs/providers.md"])
def test_the_docs_show_the_registry(page: str) -> None:
    assert markdown_table() in (ROOT / page).read_text(encoding="utf-8")


def test_the_emulator_speaks_every_format_of_the_registry() -> None:
    """The emulator's table has a record for every registered format, and no other."""
    assert EMULATIONS.keys() == FORMATS.keys()


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_every_format_renders_what_it_parses(name: str) -> None:
    wire = FORMATS[name]
    parser = StreamParser(name)
    for event in render(name, ScriptedReply(text="Hello there", chunk_chars=4)):
        parser.feed(event)
    parser.close()
    assert parser.response.text == "Hello there" and parser.provider == wire.provider


def test_each_provider_has_its_formats() -> None:
    assert format_for("openai").name == "openai"
    assert format_for("openai", "responses").name == "openai_responses"
    assert {w.provider for w in FORMATS.values()} == {
        "openai",
        "anthropic",
        "xai",
        "openai_compatible",
        "gemini",
        "vertex_ai",
        "azure",
        "bedrock",
    }
    assert format_for("vertex_ai").name == "vertex_ai"
    assert format_for("azure", "responses").name == "azure_responses"
