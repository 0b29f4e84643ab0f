"""The incremental JSON machine: any split, the same value; errors at the right offset."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


def parse(pieces: list[str]) -> Any:
    stream = JSONStream()
    for piece in pieces:
        stream.feed(piece)
    stream.close()
    return stream.value


@settings(max_examples=300, deadline=None)
@given(json_documents, st.data(), st.sampled_from([None, 2, 0]))
def test_any_split_gives_the_same_value(
    value: Any, data: st.DataObject, indent: int | None
) -> None:
    text = json.dumps(value, indent=indent, ensure_ascii=data.draw(st.booleans()))
    cuts = data.draw(st.lists(st.integers(0, len(text)), max_size=30))
    assert parse([text[a:b] for a, b in _pairs(cuts, len(text))]) == json.loads(text)


def _pairs(cuts: list[int], n: int) -> list[tuple[int, int]]:
    points = sorted({0, n, *(min(max(c, 0), n) for c in cuts)})
    return list(itertools.pairwise(points))


@settings(max_examples=200, deadline=None)
@given(json_documents, st.data())
def test_partial_values_only_grow_toward_the_final_value(value: Any, data: st.DataObject) -> None:
    text = json.dumps(value)
    cuts = data.draw(st.lists(st.integers(0, len(text)), max_size=20))
    stream = JSONStream()
    final = json.loads(text)
    for a, b in _pairs(cuts, len(text)):
        stream.feed(text[a:b])
        assert _grows_toward(stream.partial(), final)
    stream.close()
    assert stream.value == final


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
        ('"\\x"', 1),
        ("[NaN]", 1),
        ('{"a":tru}', 8),
        ("[1]x", 3),
        ('{"a":"b\n"}', 7),
        ("]", 0),
        ('{"a":[1}', 7),
    ],
)
def test_the_first_invalid_character_is_reported(text: str, offset: int) -> None:
    for pieces in ([text], list(text)):
        with pytest.raises(JSONModeError) as info:
            parse(pieces)
        assert info.value.position == offset, pieces
        assert info.value.snippet


def test_incomplete_documents_fail_at_close() -> None:
    stream = JSONStream()
    stream.feed('{"a": [1, 2')
    with pytest.raises(JSONModeError, match="ended early"):
        stream.close()
    with pytest.raises(JSONModeError, match="no JSON value"):
        JSONStream().close()


def test_depth_and_size_are_bounded() -> None:
    with pytest.raises(JSONModeError, match="deeper than 5"):
        JSONStream(max_depth=5).feed("[" * 6)
    with pytest.raises(JSONModeError, match="exceeds 10 characters"):
        JSONStream(max_size=10).feed('"' + "x" * 20 + '"')


def test_members_of_the_root_are_reported_as_they_complete() -> None:
    stream = JSONStream()
    assert stream.feed('{"a": 1, "b": [tr') == [(("a",), 1)]
    assert stream.feed('ue], "c"') == [(("b",), [True])]
    assert stream.feed(': "x"}') == [(("c",), "x"), ((), {"a": 1, "b": [True], "c": "x"})]
