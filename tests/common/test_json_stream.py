"""The incremental JSON machine: any split, the same value; errors at the right offset."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from steer_common import json_stream as json_stream_module
from steer_common.errors import JSONModeError
from steer_common.json_stream import JSONStream

json_documents = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**12), 10**12)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=30,
)


#: The machine's modes: every character checked as it arrives; text held back and parsed
#: in batches (the default size, and a tiny one so that batches end everywhere).
MODES = [{}, {"hold": True}, {"hold": True, "hold_chars": 6}]


def parse(pieces: list[str], mode: dict[str, Any] | None = None) -> Any:
    return parse_reporting(pieces, mode)[0]


def parse_reporting(
    pieces: list[str], mode: dict[str, Any] | None = None
) -> tuple[Any, list[tuple[tuple[Any, ...], Any]]]:
    """The value, and every (path, value) that feed() and close() reported, in order."""
    stream = JSONStream(**(mode or {}))
    reported = []
    for piece in pieces:
        reported += stream.feed(piece)
    reported += stream.close()
    return stream.value, reported


@pytest.mark.parametrize("mode", MODES)
@settings(max_examples=300, deadline=None)
@given(json_documents, st.data(), st.sampled_from([None, 2, 0]))
def test_any_split_gives_the_same_value(
    mode: dict[str, Any], value: Any, data: st.DataObject, indent: int | None
) -> None:
    text = json.dumps(value, indent=indent, ensure_ascii=data.draw(st.booleans()))
    cuts = data.draw(st.lists(st.integers(0, len(text)), max_size=30))
    pieces = [text[a:b] for a, b in _pairs(cuts, len(text))]
    value, reported = parse_reporting(pieces, mode)
    assert value == json.loads(text)
    # Held-back members are reported later, but all of them, in order, whatever the mode.
    assert reported == parse_reporting([text])[1]


def _pairs(cuts: list[int], n: int) -> list[tuple[int, int]]:
    points = sorted({0, n, *(min(max(c, 0), n) for c in cuts)})
    return list(itertools.pairwise(points))


@pytest.mark.parametrize("mode", MODES)
@settings(max_examples=200, deadline=None)
@given(json_documents, st.data())
def test_partial_values_only_grow_toward_the_final_value(
    mode: dict[str, Any], value: Any, data: st.DataObject
) -> None:
    text = json.dumps(
        value, indent=data.draw(st.sampled_from([None, 1])), ensure_ascii=data.draw(st.booleans())
    )
    cuts = data.draw(st.lists(st.integers(0, len(text)), max_size=20))
    stream = JSONStream(**mode)
    eager = JSONStream()
    final = json.loads(text)
    for a, b in _pairs(cuts, len(text)):
        stream.feed(text[a:b])
        eager.feed(text[a:b])
        partial = stream.partial()
        assert _grows_toward(partial, final)
        # Held-back text is in the partial value too: it is the same in every mode, types
        # (1 and 1.0 and True) and key order included.
        assert partial == eager.partial()
        assert json.dumps(partial) == json.dumps(eager.partial())
    stream.close()
    assert stream.value == final


@pytest.mark.parametrize("mode", MODES)
@settings(max_examples=200, deadline=None)
@given(json_documents, st.data())
def test_a_live_partial_is_the_snapshot_without_the_copies(
    mode: dict[str, Any], value: Any, data: st.DataObject
) -> None:
    text = json.dumps(value, ensure_ascii=data.draw(st.booleans()))
    cuts = data.draw(st.lists(st.integers(0, len(text)), max_size=20))
    stream = JSONStream(**mode)
    snapshots: list[tuple[Any, str]] = []
    for a, b in _pairs(cuts, len(text)):
        stream.feed(text[a:b])
        snapshot = stream.partial()
        live = stream.partial(live=True)
        # The same value, types and key order included, asked in either order.
        assert json.dumps(live) == json.dumps(snapshot) == json.dumps(stream.partial())
        snapshots.append((snapshot, json.dumps(snapshot)))
    stream.close()
    assert stream.partial(live=True) == stream.value == json.loads(text)
    # Later feeds left every snapshot as it was handed out.
    assert all(json.dumps(snapshot) == dumped for snapshot, dumped in snapshots)


def test_a_live_partial_grows_in_place() -> None:
    # (With hold=True a container this short is held back and read from its text, a new
    # value each time, until the machine opens it.)
    stream = JSONStream()
    stream.feed('{"items": [1, {"name": "ha')
    live = stream.partial(live=True)
    snapshot = stream.partial()
    assert live == snapshot == {"items": [1, {"name": "ha"}]}
    stream.feed('l"}, 2, "abc')
    assert stream.partial(live=True) is live
    assert live == {"items": [1, {"name": "hal"}, 2, "abc"]}
    assert snapshot == {"items": [1, {"name": "ha"}]}  # the snapshot was left alone
    stream.feed('d"]}')
    stream.close()
    assert stream.value is live
    assert live == {"items": [1, {"name": "hal"}, 2, "abcd"]}


def test_a_live_partial_does_not_copy_the_open_containers() -> None:
    # What keeps a partial after every fragment linear: the records array that grows with
    # the reply is the same list in every live partial (never copied), and it is the
    # final value's. A snapshot is a new list each time.
    records = ",".join(json.dumps({"id": k, "name": "x" * 20}) for k in range(500))
    text = '{"title": "t", "records": [' + records + "]}"
    pieces = [text[k : k + 50] for k in range(0, len(text), 50)]
    for live in (True, False):
        stream = JSONStream(hold=True)
        seen = []
        for piece in pieces[:-1]:
            stream.feed(piece)
            value = stream.partial(live=live)
            if "records" in value:
                seen.append(value["records"])
        stream.feed(pieces[-1])
        stream.close()
        assert len(seen) > 400
        distinct = {id(records) for records in seen}
        if live:
            # Once opened, that is (short containers are held back and read from their
            # text, a new value each time, for up to hold_chars / 2 characters).
            assert {id(records) for records in seen[20:]} == {id(stream.value["records"])}
        else:
            assert len(distinct) == len(seen)
        assert stream.value == json.loads(text)


@pytest.mark.parametrize("mode", MODES)
def test_a_partial_after_every_piece_decodes_a_long_string_once(
    mode: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A long string value being received (an essay in a structured reply): each run of
    # it is decoded once, not the whole string again on every partial(). (The partial
    # str itself is a new copy each time: a str cannot grow in place.)
    essay = 'caf\u00e9 "quoted" \U0001f600 word\n' * 400
    text = json.dumps({"essay": essay})  # escapes, and surrogate pairs (\ud83d\ude00)
    decoded = 0
    scanstring = json_stream_module._scanstring

    def counting(s: str, end: int) -> tuple[str, int]:
        nonlocal decoded
        decoded += len(s)
        return scanstring(s, end)  # type: ignore[no-any-return]

    monkeypatch.setattr(json_stream_module, "_scanstring", counting)
    stream = JSONStream(**mode)
    for k in range(0, len(text), 7):  # cuts everywhere: inside escapes and pairs too
        stream.feed(text[k : k + 7])
        partial = stream.partial()
        assert essay.startswith(partial.get("essay", ""))
    stream.close()
    assert stream.value == {"essay": essay}
    assert decoded < 3 * len(text)  # over 1,000 times the text when each partial decoded it all


def _grows_toward(partial: Any, final: Any) -> bool:
    if partial is None:
        return True
    if isinstance(final, dict):
        return isinstance(partial, dict) and all(
            k in final and _grows_toward(v, final[k]) for k, v in partial.items()
        )
    if isinstance(final, list):
        return (
            isinstance(partial, list)
            and len(partial) <= len(final)
            and all(_grows_toward(p, f) for p, f in zip(partial[:-1], final, strict=False))
            and (not partial or _grows_toward(partial[-1], final[len(partial) - 1]))
        )
    if isinstance(final, str):
        return isinstance(partial, str) and final.startswith(partial)
    return bool(partial == final)


@pytest.mark.parametrize(
    ("text", "offset"),
    [
        ('{"a":1,}', 7),
        ("[1 2]", 3),
        ('{"a" 1}', 5),
        ("[01]", 2),
        ("[1.e5]", 3),
        ('"\\x"', 2),
        ("[NaN]", 1),
        ('{"a":tru}', 8),
        ("[1]x", 3),
        ('{"a":"b\n"}', 7),
        ("]", 0),
        ('{"a":[1}', 7),
    ],
)
@pytest.mark.parametrize("mode", MODES)
def test_the_first_invalid_character_is_reported(
    text: str, offset: int, mode: dict[str, Any]
) -> None:
    for pieces in ([text], list(text)):
        with pytest.raises(JSONModeError) as info:
            parse(pieces, mode)
        assert info.value.position == offset, pieces
        assert info.value.snippet


@pytest.mark.parametrize("hold_chars", [16, 1024])
@pytest.mark.parametrize(
    "record",
    [
        '{"id": 40, "tags": ["a" "b"]}',
        '{"id": 40, "tags": ["a\\u12zz"]}',
        '{"id": 40, "tags": ["a\x01"]}',
        '{"id": 40, "ok": tru, "tags": []}',
        '{"id": 40, "tags": ["a"}}',
        '{"id": 40 "tags": []}',
    ],
)
def test_held_text_is_checked_within_hold_chars_of_arriving(hold_chars: int, record: str) -> None:
    good = '{"records": [' + ",".join(f'{{"id": {k}, "tags": ["a", "b"]}}' for k in range(40))
    bad = good + ", " + record + " " * 2 * hold_chars
    with pytest.raises(JSONModeError) as eager:
        parse([bad])
    offset = eager.value.position
    assert offset is not None and offset > len(good)
    stream = JSONStream(hold=True, hold_chars=hold_chars)
    for fed, char in enumerate(bad):
        try:
            stream.feed(char)
        except JSONModeError as exc:
            assert exc.position == offset  # the exact character, found late
            assert offset <= fed < offset + hold_chars
            break
    else:
        pytest.fail("the invalid character was never reported")


def test_partial_values_see_held_text_even_when_strings_hold_brackets() -> None:
    # Brackets inside the strings of held-back text: partial() parses the queue first, so
    # the value is exact, and every member is still reported once, in order.
    stream = JSONStream(hold=True)
    reported = stream.feed('[{"a": "}}}"}, {"b": "{{{')
    assert stream.partial() == [{"a": "}}}"}, {"b": "{{{"}]
    reported += stream.feed('"}, {"c": [1, ')
    assert stream.partial() == [{"a": "}}}"}, {"b": "{{{"}, {"c": [1]}]
    reported += stream.feed("2]}]")
    assert stream.partial() == [{"a": "}}}"}, {"b": "{{{"}, {"c": [1, 2]}]
    reported += stream.close()
    assert reported == [*(((k,), v) for k, v in enumerate(stream.value)), ((), stream.value)]


def test_incomplete_documents_fail_at_close() -> None:
    stream = JSONStream()
    stream.feed('{"a": [1, 2')
    with pytest.raises(JSONModeError, match="ended early"):
        stream.close()
    with pytest.raises(JSONModeError, match="no JSON value"):
        JSONStream().close()


@pytest.mark.parametrize("mode", MODES)
def test_depth_and_size_are_bounded(mode: dict[str, Any]) -> None:
    with pytest.raises(JSONModeError, match="deeper than 5"):
        parse(["[" * 6], {**mode, "max_depth": 5})
    with pytest.raises(JSONModeError, match="exceeds 10 characters"):
        JSONStream(max_size=10, **mode).feed('"' + "x" * 20 + '"')
    stream = JSONStream(max_size=10, **mode)
    with pytest.raises(JSONModeError, match="exceeds 10 characters") as info:
        for char in '"' + "x" * 20 + '"':
            stream.feed(char)
    assert info.value.position == 10  # the first character past the limit
    assert stream.position <= 10


def test_members_of_the_root_are_reported_as_they_complete() -> None:
    stream = JSONStream()
    assert stream.feed('{"a": 1, "b": [tr') == [(("a",), 1)]
    assert stream.feed('ue], "c"') == [(("b",), [True])]
    assert stream.feed(': "x"}') == [(("c",), "x"), ((), {"a": 1, "b": [True], "c": "x"})]


@settings(max_examples=300, deadline=None)
@given(json_documents, st.data())
def test_a_single_character_corruption_is_reported_where_the_text_stops_being_json(
    value: Any, data: st.DataObject
) -> None:
    text = json.dumps(value)
    k = data.draw(st.integers(0, len(text) - 1))
    replacement = data.draw(st.sampled_from([*list('{}[]:,"\\ x0-.eEtfn\x01'), "é"]))
    corrupted = text[:k] + replacement + text[k + 1 :]
    try:
        expected: Any = json.loads(corrupted)
    except ValueError:
        expected = None
    stream = JSONStream()
    try:
        for ch in corrupted:  # one character at a time: the error comes at the right feed
            stream.feed(ch)
        stream.close()
    except JSONModeError as exc:
        assert expected is None, "valid JSON was rejected"
        position = exc.position
        assert position is not None and position >= k  # everything before k was valid
        # The reported character is the first that cannot continue: the text before it
        # is still a valid prefix, and with it it is not (a number is judged when it
        # ends, so its error may come at close(), at the same offset).
        prefix = JSONStream()
        if position < len(corrupted):
            for ch in corrupted[:position]:
                prefix.feed(ch)
            with pytest.raises(JSONModeError) as again:
                prefix.feed(corrupted[position])
                prefix.close()
            assert again.value.position == position
        return
    assert (expected is not None and stream.value == expected) or json.loads(
        corrupted
    ) == stream.value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[1, 2", [1]),  # a number at the end may go on
        ("[1, 2 ", [1, 2]),  # ... not once something follows it
        ('{"a": 1.5e', {}),
        ('{"a": -', {}),
        ("[true, fals", [True]),
        ("[true", [True]),  # a literal is whole once its last letter came
        ('{"k1', {}),  # a key is never shown
        ('{"k": "v 12', {"k": "v 12"}),  # a string ending in digits is a string
        ('{"k": "x\\u00e', {"k": "x"}),  # an escape cut short
        ('{"k": "x\\ud83d', {"k": "x"}),  # half of a surrogate pair
        ('[{"a": [1, {"b": "c', [{"a": [1, {"b": "c"}]}]),
        ("[1.0, -0.0, 10E2", [1.0, -0.0]),
    ],
)
def test_a_held_container_shows_what_the_machine_would(text: str, expected: Any) -> None:
    held = JSONStream(hold=True)
    held.feed(text)
    walked = JSONStream()
    walked.feed(text)
    assert held.partial() == walked.partial() == expected
    assert json.dumps(held.partial()) == json.dumps(expected)


def test_an_invalid_held_container_is_walked_and_fails_at_its_character() -> None:
    stream = JSONStream(hold=True)
    stream.feed('[{"a": 1}, {"b": 2')
    assert stream.partial() == [{"a": 1}, {}]  # the 2 may go on
    stream.feed(" x")  # no closing bracket: held on, unchecked until it is parsed
    # The partial value stops before the bad character, as the walk's would.
    assert stream.partial() == [{"a": 1}, {"b": 2}]
    with pytest.raises(JSONModeError) as caught:
        stream.close()
    assert caught.value.position == 19  # the x
