"""The two clients have the same public surface, apart from ``async``.

Same public methods, same parameters (names, kinds, defaults, in order); the asyncio
client's coroutines are the blocking client's methods awaited, and where the blocking
client returns an iterator the asyncio client returns an async iterator. The one
difference by design: ``aclose`` (the asyncio client also answers to ``close``).
"""

from __future__ import annotations

import inspect

import steer_async
import steer_sync


def public(cls: type) -> dict[str, object]:
    return {
        name: member
        for name, member in vars(cls).items()
        if not name.startswith("_") and callable(member)
    }


def test_the_same_public_methods() -> None:
    sync_methods = set(public(steer_sync.SteerLLMClient))
    async_methods = set(public(steer_async.SteerLLMClient))
    assert async_methods - sync_methods == {"aclose"}
    assert sync_methods - async_methods == set()


def test_the_same_parameters() -> None:
    sync_methods = public(steer_sync.SteerLLMClient)
    async_methods = public(steer_async.SteerLLMClient)
    for name in [*sync_methods, "__init__"]:
        sync_sig = inspect.signature(getattr(steer_sync.SteerLLMClient, name))
        async_sig = inspect.signature(getattr(steer_async.SteerLLMClient, name))
        assert [(p.name, p.kind, p.default) for p in sync_sig.parameters.values()] == [
            (p.name, p.kind, p.default) for p in async_sig.parameters.values()
        ], name
    assert set(sync_methods) <= set(async_methods)


def test_awaited_where_blocking_blocks() -> None:
    sync_cls, async_cls = steer_sync.SteerLLMClient, steer_async.SteerLLMClient
    for name in ("stream_with_usage", "close", "aclose", "__aenter__", "__aexit__"):
        assert inspect.iscoroutinefunction(getattr(async_cls, name)), name
    for name in ("stream", "stream_events"):
        # Iterators on both sides (plain methods returning an iterator / async iterator).
        assert not inspect.iscoroutinefunction(getattr(async_cls, name)), name
        assert not inspect.iscoroutinefunction(getattr(sync_cls, name)), name
    assert hasattr(sync_cls, "__enter__") and hasattr(async_cls, "__aenter__")


def test_both_front_ends_export_the_same_names() -> None:
    assert steer_sync.__all__ == steer_async.__all__
    for name in steer_sync.__all__:
        if name != "SteerLLMClient":
            assert getattr(steer_sync, name) is getattr(steer_async, name), name


def test_the_runners_have_the_same_surface() -> None:
    from steer_async.agents.runner import AgentRunner as AsyncRunner
    from steer_sync.agents.runner import AgentRunner as SyncRunner

    sync_methods, async_methods = public(SyncRunner), public(AsyncRunner)
    assert set(async_methods) - set(sync_methods) == {"aclose"}
    assert set(sync_methods) <= set(async_methods)
    for name in [*sync_methods, "__init__"]:
        sync_sig = inspect.signature(getattr(SyncRunner, name))
        async_sig = inspect.signature(getattr(AsyncRunner, name))
        assert [(p.name, p.kind, p.default) for p in sync_sig.parameters.values()] == [
            (p.name, p.kind, p.default) for p in async_sig.parameters.values()
        ], name
    for name in ("run", "close", "aclose", "__aenter__", "__aexit__"):
        assert inspect.iscoroutinefunction(getattr(AsyncRunner, name)), name
    assert not inspect.iscoroutinefunction(AsyncRunner.stream)
    assert hasattr(SyncRunner, "__enter__") and hasattr(AsyncRunner, "__aenter__")


def test_the_runners_drive_the_loop_and_touch_nothing_private_of_the_client() -> None:
    from pathlib import Path

    for twin in ("steer_sync", "steer_async"):
        source = (
            Path(__file__).resolve().parents[2] / "src" / twin / "agents" / "runner.py"
        ).read_text()
        assert "client._" not in source, twin
        assert "loop.flow()" in source, twin
