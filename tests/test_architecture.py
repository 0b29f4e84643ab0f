"""The core's shape, held: no import cycle among its modules, no import hidden in a function
to dodge one, and the parser alone loads a small part of it and nothing of the emulator."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent


def test_no_import_cycle_among_the_cores_modules() -> None:
    graph = grimp.build_graph("steer_common", exclude_type_checking_imports=True)
    cycles = {
        tuple(sorted((module, imported)))
        for module in graph.modules
        for imported in graph.find_modules_directly_imported_by(module)
        if imported.startswith("steer_common")
        and graph.chain_exists(importer=imported, imported=module)
    }
    assert sorted(cycles) == []


def test_no_import_of_the_core_hidden_in_a_function() -> None:
    hidden = []
    for path in sorted((ROOT / "src" / "steer_common").rglob("*.py")):
        for function in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(function):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                    "steer_common"
                ):
                    hidden.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert hidden == []


def test_the_parser_alone_loads_a_small_core_and_no_emulator() -> None:
    code = (
        "import sys, steer_common.parser; "
        "print(sorted(m for m in sys.modules if m.startswith(('steer_common', 'steer_emulator'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = eval(out.stdout)  # a list of module names
    assert not [m for m in loaded if m.startswith("steer_emulator")]
    assert len(loaded) <= 30, loaded


def test_the_three_streaming_things_have_names_of_their_own_and_the_old_paths_stay() -> None:
    # "streaming" named the options, the event pipeline and the driver: now options,
    # pipeline and driver, the old import paths aliases of them.
    import steer_async.driver
    import steer_async.streaming
    import steer_common.models.streaming
    import steer_common.options
    import steer_common.pipeline
    import steer_common.streaming.processor
    import steer_sync.driver
    import steer_sync.streaming

    assert steer_common.models.streaming.StreamingOptions is steer_common.options.StreamingOptions
    assert steer_common.streaming.processor.EventProcessor is steer_common.pipeline.EventProcessor
    assert steer_sync.streaming.StreamingHelper is steer_sync.driver.StreamingHelper
    assert steer_async.streaming.StreamingHelper is steer_async.driver.StreamingHelper
