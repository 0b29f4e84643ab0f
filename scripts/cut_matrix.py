"""The fault matrix of resumable streams: every cut point, over loopback, on every client.

For each client (blocking, asyncio on httpx, asyncio on aiohttp), each resumable format
(OpenAI and Azure Responses, Gemini Interactions, in background mode), each way of consuming (``stream()``,
``stream_events()``, ``stream_with_usage()``), a background stream is cut by the emulator
after its k-th event (k over the whole stream; between two events, and inside the next
one), then again at random sets of up to five cuts. What the consumer was handed is
compared with the reply: text, reasoning and tool-call arguments, each exact, duplicated,
or short. Run: ``python scripts/cut_matrix.py`` (about a minute).
"""

from __future__ import annotations

import asyncio
import collections
import json
import random
import sys
from typing import Any

import steer_async
import steer_sync
from steer_emulator import Emulator, ScriptedReply
from steer_emulator.background import keep_events, keep_interaction
from steer_emulator.formats import render

TEXT = "Waves fold over the reef; the gulls argue about nothing at all. " * 2
REASONING = "A short scene by the sea."
CALL = {"id": "call_1", "name": "note", "arguments": {"mood": "calm", "tide": 3}}
MODELS = {
    "openai_responses": "gpt-4o-mini",
    "azure_responses": "azure/prod-responses",
    "gemini_interactions": "gemini_interactions/gemini-2.5-flash",
}
KEEP = {"gemini_interactions": keep_interaction}
CONSUMERS = ("text", "events", "response")


def script(cuts: tuple[int, ...], mid_event: bool) -> ScriptedReply:
    return ScriptedReply(
        text=TEXT,
        reasoning=REASONING,
        tool_calls=[CALL],
        chunk_chars=8,
        cuts=cuts,
        cut_mid_event=mid_event,
    )


def verdict(got: str, want: str) -> str:
    if got == want:
        return "exact"
    if len(got) > len(want):
        return "duplicated"
    return "short" if want.startswith(got) else "wrong"


def seen(consumer: str, items: Any) -> tuple[str, str | None, str | None]:
    """(text, reasoning, arguments) a consumer was handed (``stream()`` hands only text)."""
    if consumer == "text":
        return "".join(items), None, None
    if consumer == "response":
        arguments = items.tool_calls[0].arguments_raw if items.tool_calls else ""
        return items.text, items.reasoning or "", arguments
    pick = collections.defaultdict(str)
    for event in items:
        if event.delta:
            pick[event.type] += event.delta
    return pick["text_delta"], pick["reasoning_delta"], pick["tool_call_delta"]


def run_sync(kwargs: dict[str, Any], consumer: str, model: str) -> Any:
    with steer_sync.SteerLLMClient(**kwargs) as client:
        call = {"model": model, "background": True}
        if consumer == "text":
            return list(client.stream("Tell me about the sea", **call))
        if consumer == "events":
            return list(client.stream_events("Tell me about the sea", **call))
        return client.stream_with_usage("Tell me about the sea", **call)


async def run_async(kwargs: dict[str, Any], consumer: str, model: str) -> Any:
    async with steer_async.SteerLLMClient(**kwargs) as client:
        call = {"model": model, "background": True}
        if consumer == "text":
            return [c async for c in client.stream("Tell me about the sea", **call)]
        if consumer == "events":
            return [e async for e in client.stream_events("Tell me about the sea", **call)]
        return await client.stream_with_usage("Tell me about the sea", **call)


def cases_of(wire_format: str) -> list[tuple[tuple[int, ...], bool]]:
    """Every single cut, between events and inside one, then 60 random sets of cuts."""
    keep = KEEP.get(wire_format, keep_events)
    count = len(keep(render(wire_format, script((), False)))[1])
    rng = random.Random(7)
    cases = [((k,), mid) for k in range(1, count) for mid in (False, True)]
    cases += [
        (tuple(sorted(rng.sample(range(1, count), rng.randint(2, 5)))), rng.random() < 0.5)
        for _ in range(60)
    ]
    return cases


def main() -> int:
    want = (TEXT, REASONING, json.dumps(CALL["arguments"], separators=(",", ":")))
    tally: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    streams = cuts_made = 0
    with Emulator() as emulator:
        base = {
            "api_keys": dict.fromkeys(emulator.base_urls, "k"),
            "base_urls": emulator.base_urls,
            "openai_api": "responses",
            "streaming_options": {"reconnect_delay": 0.0},
        }
        for client in ("sync", "async-httpx", "async-aiohttp"):
            for wire_format, model in MODELS.items():
                for number, (cuts, mid) in enumerate(cases_of(wire_format)):
                    consumer = CONSUMERS[number % 3]
                    emulator.reset()
                    emulator.enqueue(script(cuts, mid))
                    if client == "sync":
                        items = run_sync(base, consumer, model)
                    else:
                        transport = "aiohttp" if client.endswith("aiohttp") else None
                        kwargs = {**base, "transport": transport}
                        items = asyncio.run(run_async(kwargs, consumer, model))
                    gets = sum(r.method == "GET" for r in emulator.requests)
                    cuts_made += gets
                    streams += 1
                    row = f"{client} {wire_format}"
                    for got, expected in zip(seen(consumer, items), want, strict=True):
                        if got is not None:
                            tally[row][verdict(got, expected)] += 1
                    tally[row]["picked up"] += gets
    print("every single cut and 60 random sets, consumers rotating, 3 formats x 3 clients")
    print(f"{streams} streams, {cuts_made} cuts picked up")
    print("parts compared: text (every consumer), reasoning and tool-call arguments (events,")
    print("response); cuts: the streams picked up again (starting_after=N, last_event_id=...)")
    print(f"{'client / format':42} {'exact':>6} {'dup':>5} {'short':>6} {'wrong':>6} {'cuts':>6}")
    bad = 0
    for row, counts in tally.items():
        bad += counts["duplicated"] + counts["short"] + counts["wrong"]
        print(
            f"{row:42} {counts['exact']:>6} {counts['duplicated']:>5} {counts['short']:>6} "
            f"{counts['wrong']:>6} {counts['picked up']:>6}"
        )
    print("every delta exactly once" if bad == 0 else f"{bad} parts not exact")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
