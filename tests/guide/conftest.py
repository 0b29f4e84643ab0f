"""A notebook for the user's guide: its examples run in order, in one namespace, with
top-level ``await`` (as IPython and Jupyter run them), against the emulator, reached the
way a reader's code reaches a provider: through the environment variables."""

from __future__ import annotations

import ast
import asyncio
import contextlib
import io
from collections.abc import Iterator
from typing import Any

import pytest

from steer_sync.emulator import Emulator


class Notebook:
    """Cells run in order in one namespace on one event loop; each returns what it printed.

    ``sections`` maps each guide section, in the guide's order, to its cells: the reader's
    own (names the guide leaves undefined) and the guide's code blocks, as written.
    """

    def __init__(self, sections: dict[str, list[str]]) -> None:
        self.sections = sections
        self.namespace: dict[str, Any] = {"__name__": "__main__"}
        self.loop = asyncio.new_event_loop()
        self.ran: dict[str, str] = {}

    def cell(self, source: str) -> str:
        """Run one cell; what it printed."""
        code = compile(source, "<guide>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            result = eval(code, self.namespace)
            if asyncio.iscoroutine(result):
                self.loop.run_until_complete(result)
        return out.getvalue()

    def section(self, name: str) -> str:
        """Run the guide up to and including ``name`` (each section once); what ``name``
        printed."""
        for title, cells in self.sections.items():
            if title not in self.ran:
                self.ran[title] = "".join(self.cell(source) for source in cells)
            if title == name:
                return self.ran[title]
        raise KeyError(name)

    def __getitem__(self, name: str) -> Any:
        return self.namespace[name]

    def close(self) -> None:
        client = self.namespace.get("client")
        if client is not None:
            self.loop.run_until_complete(client.aclose())
        runner = self.namespace.get("runner")
        if runner is not None:
            self.loop.run_until_complete(runner.aclose())
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.close()


@pytest.fixture(scope="module")
def guide_emulator() -> Iterator[Emulator]:
    """The emulator, and the environment pointing every provider at it (as after
    ``os.environ.update(emulator.environ())``), for the whole guide."""
    with Emulator(lifetime=600) as emulator, pytest.MonkeyPatch.context() as patch:
        for name, value in emulator.environ().items():
            patch.setenv(name, value)
        yield emulator
