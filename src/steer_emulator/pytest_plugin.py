"""A pytest plugin for testing your app against the emulator: the ``steer_emulator`` fixture.

Installed with the package (a ``pytest11`` entry point), so any test can ask for it::

    def test_my_view(steer_emulator):
        # OPENAI_API_KEY, OPENAI_BASE_URL, ANTHROPIC_... (every provider) point at a
        # running emulator for this test; clients built with no arguments use it.
        reply = my_app.answer("Say hi")
        assert steer_emulator.requests[-1].body["model"] == "gpt-4o-mini"

The fixture yields the :class:`~steer_emulator.server.Emulator` (``requests``,
``enqueue``, ``base_urls``, ``disconnects``) and stops it after the test. This module
imports nothing but pytest until a test asks for the fixture.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from steer_emulator.server import Emulator

__all__ = ["steer_emulator"]


@pytest.fixture
def steer_emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    """A running emulator, with every provider's key and base URL variables set to it."""
    from steer_emulator.server import Emulator  # noqa: PLC0415 - only when a test asks

    with Emulator() as emulator:
        for name, value in emulator.environ().items():
            monkeypatch.setenv(name, value)
        yield emulator
