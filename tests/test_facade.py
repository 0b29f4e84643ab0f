"""``steer_llm_sdk``: the guide's import paths exist, name the primary packages' objects, and
the facade holds no logic (only a docstring, imports and ``__all__`` in every module)."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest

import steer_llm_sdk

FACADE = Path(steer_llm_sdk.__file__).parent
MODULES = sorted(
    ["steer_llm_sdk"]
    + [m.name for m in pkgutil.walk_packages([str(FACADE)], prefix="steer_llm_sdk.")]
)


@pytest.mark.parametrize("name", MODULES)
def test_a_facade_module_only_imports_and_exports(name: str) -> None:
    module = importlib.import_module(name)
    tree = ast.parse(Path(module.__file__ or "").read_text(encoding="utf-8"))
    body = tree.body
    assert isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant), (
        f"{name} has no docstring"
    )
    for node in body[1:]:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            assert not isinstance(node, ast.ImportFrom) or (node.module or "").startswith(
                ("steer_common", "steer_sync", "steer_async")
            ), f"{name} imports {node.module}"
            continue
        assert isinstance(node, ast.Assign), f"{name} line {node.lineno}: logic in the facade"
        assert [t.id for t in node.targets if isinstance(t, ast.Name)] == ["__all__"]
    assert set(module.__all__) <= set(vars(module)), f"{name}: __all__ names something missing"


def test_the_guides_import_paths_name_the_primary_objects() -> None:
    import steer_async
    import steer_async.streaming  # the driver's old path (steer_async.driver)
    from steer_async.agents.runner import AgentRunner as AsyncRunner
    from steer_common.models import events, streaming
    from steer_common.providers.base import StreamAdapter
    from steer_common.streaming.processor import EventProcessor
    from steer_llm_sdk.agents.runner import AgentRunner
    from steer_llm_sdk.models.events import StreamEvent
    from steer_llm_sdk.models.streaming import (
        HIGH_THROUGHPUT_OPTIONS,
        JSON_MODE_OPTIONS,
        LOW_LATENCY_OPTIONS,
        StreamingOptions,
    )
    from steer_llm_sdk.streaming.processor import EventProcessor as GuideProcessor

    assert steer_llm_sdk.SteerLLMClient is steer_async.SteerLLMClient  # asyncio: the guide awaits
    assert StreamingOptions is streaming.StreamingOptions
    assert (JSON_MODE_OPTIONS, HIGH_THROUGHPUT_OPTIONS, LOW_LATENCY_OPTIONS) == (
        streaming.JSON_MODE_OPTIONS,
        streaming.HIGH_THROUGHPUT_OPTIONS,
        streaming.LOW_LATENCY_OPTIONS,
    )
    assert StreamEvent is events.StreamEvent
    assert GuideProcessor is EventProcessor
    assert AgentRunner is AsyncRunner
    # The guide's three components, under their names.
    assert steer_llm_sdk.StreamingHelper is steer_async.streaming.StreamingHelper
    assert steer_llm_sdk.EventProcessor is EventProcessor
    assert steer_llm_sdk.StreamAdapter is StreamAdapter


def test_every_adapter_is_a_stream_adapter() -> None:
    from steer_common.providers import ADAPTERS

    assert all(issubclass(cls, steer_llm_sdk.StreamAdapter) for cls in ADAPTERS.values())
