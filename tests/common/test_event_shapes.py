"""The adapters read their commonest events by shape (``EventShape``, in
``steer_common.providers.base``) instead of parsing their JSON: that must change nothing.

- ``EventShape.match``: whatever text fills a hole, a match gives what ``json.loads`` of the
  whole text gives, hole by hole.
- Per adapter (Chat text and tool-argument chunks, Anthropic text deltas, Responses text
  deltas): a stream of events, most in the shape and the rest near misses of it (another
  key, another order, whitespace, escapes, unicode, lone surrogates, numbers in other
  forms, nulls, broken JSON), fed one event per ``feed``, gives the same events, errors,
  response (usage included) and position as with the shapes off.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from steer_common import StreamParser
from steer_common.errors import SteerError
from steer_common.providers.base import EventShape, hole, learn_shape
from tests.fixtures import STREAMS

# -- texts for the holes -------------------------------------------------------------------

#: Any text: quotes, backslashes, control characters, non-ASCII, and lone surrogates
#: (which reach the JSON only escaped, as ``\ud800``).
texts = st.text(max_size=12) | st.lists(
    st.integers(0xD800, 0xDFFF) | st.integers(0, 0x7F), max_size=4
).map(lambda codes: "".join(map(chr, codes)))


def dumps(value: Any, *, ascii_: bool = False) -> str:
    return json.dumps(value, ensure_ascii=ascii_, separators=(",", ":"))


# -- EventShape alone ----------------------------------------------------------------------

EVENT = {"type": "delta", "text": "a", "pad": "b", "n": 1, "logprobs": [], "z": None}
SHAPE = learn_shape({**EVENT, "text": hole(0), "pad": hole(1), "n": hole(2)}, "ssi", dumps(EVENT))


def test_a_shape_is_learned_from_an_event_it_matches() -> None:
    assert SHAPE is not None
    assert SHAPE.match(dumps(EVENT)) == ["a", "b", 1]
    assert SHAPE.match(dumps({**EVENT, "text": 'x"\\\n', "n": 12})) == ['x"\\\n', "b", 12]
    # Another order of the keys, whitespace, a float: no match.
    assert SHAPE.match(json.dumps(EVENT)) is None
    assert SHAPE.match(dumps({**EVENT, "n": 1.0})) is None
    assert SHAPE.match(dumps(EVENT).replace('"delta"', '"delt\\u0061"')) is None


def test_an_event_not_written_as_json_dumps_writes_it_is_not_learned() -> None:
    data = json.dumps(EVENT)  # spaces after the separators
    assert learn_shape({**EVENT, "text": hole(0)}, "s", data) is None
    assert learn_shape({**EVENT, "pad": hole(0), "text": hole(1)}, "ss", dumps(EVENT)) is None


@settings(max_examples=500, deadline=None)
@given(
    text=st.text(max_size=10),
    pad=st.text(max_size=10),
    number=st.text("-0123456789.eE+ ", max_size=6),
    tail=st.sampled_from(["}", " }", "} ", "}}", " ", "", ",}"]),
)
def test_a_match_gives_what_json_loads_gives(text: str, pad: str, number: str, tail: str) -> None:
    """Any text in the holes (valid JSON or not): a match is what json.loads reads."""
    assert SHAPE is not None
    head, (_, middle, _), (_, before_number, _), _ = SHAPE.head, *SHAPE.holes
    for data in (
        head + text + middle + pad + before_number + number + tail,
        head + dumps(text)[1:] + middle + dumps(pad)[1:] + before_number + number + tail,
        head + dumps(text, ascii_=True)[1:] + middle + pad + '"' + before_number + number + "}",
    ):
        values = SHAPE.match(data)
        if values is not None:
            parsed = json.loads(data)
            assert parsed == {**EVENT, "text": values[0], "pad": values[1], "n": values[2]}
            assert type(parsed["n"]) is int


# -- per adapter: the same results with the shapes on and off ------------------------------


def outcome(wire: str, chunks: list[bytes], *, shapes: bool, shown: int | None = None) -> list[Any]:
    """What a parser makes of ``chunks``, one per ``feed``: events or errors, then the
    response and the position."""
    parser = StreamParser(wire)
    if not shapes:
        parser._adapter._learning = 0  # type: ignore[attr-defined]
    if shown is not None:
        parser.show_after(shown)
    log: list[Any] = []
    for chunk in [*chunks, None]:
        try:
            events = parser.feed(chunk) if chunk is not None else parser.close()
            log.append([event.to_dict() for event in events])
        except SteerError as exc:
            log.append((type(exc).__name__, str(exc), [e.to_dict() for e in exc.events or []]))
    log.append(parser.response.model_dump())
    log.append(parser.position)
    return log


def sse(data: str, name: str | None = None) -> bytes:
    """One server-sent event (a lone surrogate written raw becomes bytes that are not
    UTF-8, which the decoder replaces)."""
    head = f"event: {name}\n" if name else ""
    return f"{head}data: {data}\n\n".encode("utf-8", "surrogatepass")


#: Near misses of a shape, as edits of the JSON text of a hot event (or of its value).
def _spaced(value: dict[str, Any]) -> str:
    return json.dumps(value, ensure_ascii=False)


MISSES: dict[str, Callable[[dict[str, Any]], str]] = {
    "none": dumps,
    "ascii": lambda value: dumps(value, ascii_=True),
    "spaces": _spaced,
    "sorted": lambda value: json.dumps(value, sort_keys=True, separators=(",", ":")),
    "padded": lambda value: dumps(value)[:-1] + "   }",
    "padded-inside": lambda value: dumps(value)[:-2] + " } }",
    "tab": lambda value: dumps(value)[:-1] + "\t}",
    "no-break-space": lambda value: dumps(value)[:-1] + "\xa0}",
    "form-feed": lambda value: dumps(value)[:-1] + "\x0c}",
    "trailing": lambda value: dumps(value) + " ",
    "leading": lambda value: " " + dumps(value),
    "extra-first": lambda value: '{"x":1,' + dumps(value)[1:],
    "extra-last": lambda value: dumps(value)[:-1] + ',"x":null}',
    "duplicate-type": lambda value: dumps(value)[:-1] + ',"type":"other"}',
    "escaped-key": lambda value: dumps(value).replace('"type"', '"typ\\u0065"', 1),
    "slash": lambda value: dumps(value).replace("/", "\\/"),
    "cut": lambda value: dumps(value)[:-3],
    "control": lambda value: dumps(value).replace('":"', '":"\x01', 1),
    "bad-escape": lambda value: dumps(value).replace('":"', '":"\\x', 1),
    "not-an-object": lambda value: dumps([value]),
    "no-type": lambda value: dumps({k: v for k, v in value.items() if k != "type"}),
    "raw-control": lambda value: '":"\x01'.join(dumps(value).rsplit('":"', 1)),
}
#: Values a field of a hot event may hold instead of its usual one.
odd_values = st.sampled_from([None, 0, -1, 1.0, 1e300, True, "", "x", [], {}, 10**30])


class Writer:
    """Writes a stream's hot events: most as json.dumps does, some (a quarter) as one near
    miss does, the same all along the stream (a stream whose hot event is not written as
    json.dumps writes it stops learning shapes, so one kind of miss per stream lets the
    shapes be learned, then missed)."""

    def __init__(self, draw: st.DataObject) -> None:
        self.draw = draw
        self.miss = MISSES[draw.draw(st.sampled_from(sorted(MISSES)))]

    def __call__(self, value: dict[str, Any]) -> str:
        draw = self.draw
        if draw.draw(st.integers(0, 3)):
            return dumps(value)
        if draw.draw(st.integers(0, 4)) == 0:
            value = {**value, draw.draw(st.sampled_from(sorted(value))): draw.draw(odd_values)}
        return self.miss(value)


@settings(max_examples=150, deadline=None)
@given(draw=st.data(), model=texts, message_id=texts, count=st.integers(0, 20))
def test_chat_text_chunks(draw: st.DataObject, model: str, message_id: str, count: int) -> None:
    base = {"id": message_id, "object": "chat.completion.chunk", "created": 1, "model": model}
    if draw.draw(st.booleans()):
        base["system_fingerprint"] = "fp_1"

    def chunk(delta: dict[str, Any], finish: str | None = None, **more: Any) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return {**base, "choices": [choice], "usage": None, **more}

    edited = Writer(draw)
    chunks = [sse(dumps(chunk({"role": "assistant", "content": ""})))]
    for _ in range(count):
        more = {"obfuscation": draw.draw(texts)} if draw.draw(st.integers(0, 4)) else {}
        chunks.append(sse(edited(chunk({"content": draw.draw(texts)}, **more))))
        if draw.draw(st.integers(0, 15)) == 0:
            chunks.append(sse(dumps(chunk({"content": "x"})), "error"))
    if draw.draw(st.booleans()):
        usage = {"prompt_tokens": 1, "completion_tokens": count, "total_tokens": 1 + count}
        chunks += [
            sse(dumps(chunk({}, "stop"))),
            sse(dumps({**base, "choices": [], "usage": usage})),
            sse("[DONE]"),
        ]
    assert outcome("openai", chunks, shapes=True) == outcome("openai", chunks, shapes=False)


@settings(max_examples=150, deadline=None)
@given(draw=st.data(), count=st.integers(0, 20), name=st.sampled_from([None, "", "", "f"]))
def test_chat_tool_argument_chunks(draw: st.DataObject, count: int, name: str | None) -> None:
    base = {"id": "c", "object": "chat.completion.chunk", "model": "m"}

    def chunk(delta: dict[str, Any], finish: str | None = None, **more: Any) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        return {**base, "choices": [choice], "usage": None, **more}

    start = {"index": 0, "id": "call_1", "type": "function"}
    start["function"] = {"name": name, "arguments": ""}
    edited = Writer(draw)
    chunks = [
        sse(dumps(chunk({"role": "assistant", "content": None}))),
        sse(dumps(chunk({"tool_calls": [start]}))),
    ]
    for _ in range(count):
        index = draw.draw(st.sampled_from([0] * 9 + [1]))
        fragment = {"index": index, "function": {"arguments": draw.draw(texts)}}
        if draw.draw(st.integers(0, 9)) == 0:
            fragment["id"] = draw.draw(st.sampled_from(["call_1", "call_2"]))
        more = {"obfuscation": draw.draw(texts)} if draw.draw(st.booleans()) else {}
        chunks.append(sse(edited(chunk({"tool_calls": [fragment]}, **more))))
        if draw.draw(st.integers(0, 5)) == 0:  # the call ends, and may start again
            chunks.append(sse(dumps(chunk({}, "tool_calls"))))
        if draw.draw(st.integers(0, 3)) == 0:  # its first fragment again (names it again)
            chunks.append(sse(dumps(chunk({"tool_calls": [start]}))))
    if draw.draw(st.integers(0, 3)):
        chunks += [sse(dumps(chunk({}, "tool_calls"))), sse("[DONE]")]
    assert outcome("openai", chunks, shapes=True) == outcome("openai", chunks, shapes=False)


@settings(max_examples=150, deadline=None)
@given(draw=st.data(), count=st.integers(0, 20))
def test_anthropic_text_deltas(draw: st.DataObject, count: int) -> None:
    def ev(value: dict[str, Any]) -> bytes:
        return sse(dumps(value), value["type"])

    message = {"id": "msg_1", "model": "claude", "usage": {"input_tokens": 3, "output_tokens": 1}}
    edited = Writer(draw)
    chunks = [ev({"type": "message_start", "message": message})]
    index = 0
    for _ in range(count):
        if draw.draw(st.integers(0, 5)) == 0:  # a new block
            index = draw.draw(st.integers(0, 3))
            block = {"type": "text", "text": ""}
            chunks.append(
                ev({"type": "content_block_start", "index": index, "content_block": block})
            )
        delta = {"type": draw.draw(st.sampled_from(["text_delta"] * 5 + ["thinking_delta"]))}
        delta["text"] = draw.draw(texts)
        value = {"type": "content_block_delta", "index": index, "delta": delta}
        name = draw.draw(st.sampled_from(["content_block_delta"] * 5 + ["error", "ping"]))
        chunks.append(sse(edited(value), name))
    if draw.draw(st.booleans()):
        chunks += [
            ev({"type": "content_block_stop", "index": index}),
            ev({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {}}),
            ev({"type": "message_stop"}),
        ]
    assert outcome("anthropic", chunks, shapes=True) == outcome("anthropic", chunks, shapes=False)


@settings(max_examples=150, deadline=None)
@given(
    draw=st.data(),
    count=st.integers(0, 20),
    shown=st.none() | st.integers(0, 8),
    item_id=texts,
)
def test_responses_text_deltas(
    draw: st.DataObject, count: int, shown: int | None, item_id: str
) -> None:
    number = 0

    def ev(value: dict[str, Any]) -> bytes:
        nonlocal number
        number += 1
        return sse(dumps({**value, "sequence_number": number}), value["type"])

    response = {"id": "resp_1", "model": "gpt", "status": "in_progress", "usage": None}
    edited = Writer(draw)
    chunks = [ev({"type": "response.created", "response": response})]
    for _ in range(count):
        number += draw.draw(st.sampled_from([1, 1, 1, 1, 0, -2, 5]))
        value = {
            "type": "response.output_text.delta",
            "content_index": 0,
            "delta": draw.draw(texts),
            "item_id": draw.draw(st.sampled_from([item_id, item_id, "msg_2"])),
            "logprobs": [],
            "obfuscation": draw.draw(texts),
            "output_index": 0,
            "sequence_number": number,
        }
        if draw.draw(st.integers(0, 5)) == 0:
            del value["obfuscation"]
        name = draw.draw(st.sampled_from(["response.output_text.delta"] * 5 + ["error"]))
        chunks.append(sse(edited(value), name))
    if draw.draw(st.booleans()):
        usage = {"input_tokens": 2, "output_tokens": count, "total_tokens": 2 + count}
        done = {**response, "status": "completed", "usage": usage}
        chunks.append(ev({"type": "response.completed", "response": done}))
    on = outcome("openai_responses", chunks, shapes=True, shown=shown)
    assert on == outcome("openai_responses", chunks, shapes=False, shown=shown)


def _learned(wire: str, chunks: list[bytes], attribute: str) -> EventShape | None:
    parser = StreamParser(wire)
    for chunk in chunks:
        parser.feed(chunk)
    shape: EventShape | None = getattr(parser._adapter, attribute)
    return shape


def test_the_recorded_streams_are_read_by_shape() -> None:
    """The shapes are learned from the providers' own streams (so the tests above test
    something): the recordings' text deltas match them."""
    seen = set()
    for fixture in STREAMS:
        if fixture.name not in (
            "anthropic/text",
            "openai/chat-text-gpt-4.1-nano-long",
            "openai/responses-text",
            "openai/chat-parallel-tool-calls",
        ):
            continue
        events = [part + b"\n\n" for part in fixture.body.split(b"\n\n")[:-1]]
        attribute = "_args_shape" if "tool" in fixture.name else "_text_shape"
        shape = _learned(fixture.wire_format, events[: len(events) // 2], attribute)
        assert shape is not None, fixture.name
        seen.add(fixture.name)
    assert len(seen) == 4


def test_a_delta_named_only_by_its_event_is_not_learned() -> None:
    """A shape fixes the ``type`` an event has: a delta that has none (named by its SSE
    event) is not learned, so the same JSON under another name is not read as a delta."""
    delta = {"type": "text_delta", "text": "a"}
    typed = {"type": "content_block_delta", "index": 0, "delta": delta}
    untyped = {"index": 0, "delta": delta}
    chunks = [
        sse(dumps(typed), "content_block_delta"),
        sse(dumps(untyped), "content_block_delta"),
        sse(dumps(untyped), "error"),
    ]
    assert outcome("anthropic", chunks, shapes=True) == outcome("anthropic", chunks, shapes=False)
    name = "response.output_text.delta"
    chunks = [
        sse(dumps({"type": name, "delta": "a", "sequence_number": 1}), name),
        sse(dumps({"delta": "a", "sequence_number": 2}), name),
        sse(dumps({"delta": "a", "sequence_number": 3}), "error"),
    ]
    on = outcome("openai_responses", chunks, shapes=True)
    assert on == outcome("openai_responses", chunks, shapes=False)


def test_a_call_named_again_loses_its_empty_name_on_its_next_fragment() -> None:
    base = {"id": "c", "model": "m"}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        return sse(
            dumps({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
        )

    start = {"index": 0, "id": "call_1", "function": {"name": "", "arguments": ""}}
    fragment = {"index": 0, "function": {"arguments": "{}"}}
    chunks = [
        chunk({"role": "assistant"}),
        chunk({"tool_calls": [start]}),
        chunk({"tool_calls": [fragment]}),  # learned
        chunk({"tool_calls": [start]}),  # names the call "" again
        chunk({"tool_calls": [fragment]}),  # read by shape
        chunk({}, "tool_calls"),
    ]
    assert outcome("openai", chunks, shapes=True) == outcome("openai", chunks, shapes=False)


def test_a_stream_written_as_an_earlier_one_takes_its_shape(monkeypatch: Any) -> None:
    """A shape is learned once per process for events that do not change between streams
    (Anthropic's text deltas carry no id): the next stream matches the kept shape instead
    of learning it again, and reads exactly as without shapes. Events written otherwise
    (another block index) learn their own."""
    from steer_common.providers import base
    from steer_common.providers.anthropic import AnthropicAdapter

    learned: list[str] = []
    real = base.learn_shape

    def counted(marked: dict[str, Any], kinds: str, data: str) -> EventShape | None:
        learned.append(data)
        return real(marked, kinds, data)

    monkeypatch.setattr(base, "learn_shape", counted)
    monkeypatch.setattr(AnthropicAdapter, "_known", ())

    def stream(index: int, texts: list[str]) -> list[bytes]:
        deltas = [
            {
                "type": "content_block_delta",
                "index": index,
                "delta": {"type": "text_delta", "text": t},
            }
            for t in texts
        ]
        return [sse(dumps(d), "content_block_delta") for d in deltas]

    first = stream(0, ["Hello", " world", "!"])
    assert outcome("anthropic", first, shapes=True) == outcome("anthropic", first, shapes=False)
    assert len(learned) == 1
    second = stream(0, ['"quoted"', " caf\u00e9 \\ ", "\n"])
    assert outcome("anthropic", second, shapes=True) == outcome("anthropic", second, shapes=False)
    assert len(learned) == 1  # the first stream's shape, matched
    assert _learned("anthropic", second, "_text_shape") is AnthropicAdapter._known[0][1]
    other = stream(1, ["a", "b"])
    assert outcome("anthropic", other, shapes=True) == outcome("anthropic", other, shapes=False)
    assert len(learned) == 2 and len(AnthropicAdapter._known) == 2
