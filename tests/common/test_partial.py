"""Typed partials (steer_common.partial) over every split point: every partial validates
against the partial type, fields only appear and grow, the last is the model's own instance
equal to the document validated whole, and invalid JSON still fails at its first bad
character."""

from __future__ import annotations

import itertools
import json
from enum import Enum
from typing import Literal
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field

from steer_common import partial as partial_module
from steer_common.errors import JSONModeError
from steer_common.following import CHARS_PER_MEMBER, COPIES_PER_CHAR, JSONFollower
from steer_common.json_stream import JSONStream
from steer_common.models.events import TEXT_DELTA, TOOL_CALL_DELTA, TOOL_CALL_START, StreamEvent
from steer_common.partial import PartialBuilder, partial_model


class Colour(str, Enum):
    RED = "red"
    GREEN = "green"


class Leaf(BaseModel):
    label: str
    weight: float | None = None
    colour: Colour = Colour.RED


class Branch(BaseModel):
    name: str
    leaves: list[Leaf]
    tags: dict[str, int] = {}
    kind: Literal["oak", "ash", "elm"]
    note: str | None = None


class Tree(BaseModel):
    id: int
    title: str = Field(alias="Title")
    branches: list[Branch]
    root: Leaf | None = None
    flags: list[bool] = []


texts = st.text(
    st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12
)  # accents, CJK, emoji: cut inside their \\u escapes when ASCII-escaped
leaves = st.builds(
    Leaf,
    label=texts,
    weight=st.none() | st.floats(allow_nan=False, allow_infinity=False, width=32),
    colour=st.sampled_from(Colour),
)
branches = st.builds(
    Branch,
    name=texts,
    leaves=st.lists(leaves, max_size=3),
    tags=st.dictionaries(texts, st.integers(-(10**6), 10**6), max_size=3),
    kind=st.sampled_from(["oak", "ash", "elm"]),
    note=st.none() | texts,
)
trees = st.builds(
    Tree,
    id=st.integers(-(10**9), 10**9),
    Title=texts,
    branches=st.lists(branches, max_size=3),
    root=st.none() | leaves,
    flags=st.lists(st.booleans(), max_size=4),
)


def pieces(document: str, cuts: list[int]) -> list[str]:
    points = sorted({c % (len(document) + 1) for c in cuts})
    bounds = [0, *points, len(document)]
    return [document[a:b] for a, b in itertools.pairwise(bounds) if b > a]


def set_fields(value: BaseModel) -> dict[str, object]:
    return {name: getattr(value, name) for name in value.model_fields_set}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tree=trees, cuts=st.lists(st.integers(0, 10_000), max_size=40), ascii_only=st.booleans())
def test_every_partial_validates_and_the_last_is_the_whole(
    tree: Tree, cuts: list[int], ascii_only: bool
) -> None:
    document = json.dumps(tree.model_dump(mode="json", by_alias=True), ensure_ascii=ascii_only)
    follower = JSONFollower("test", validate=True, model=Tree)
    partial = partial_model(Tree)
    seen = []
    for piece in pieces(document, cuts):
        assert follower.feed(StreamEvent(TEXT_DELTA, piece)) is None
        output, complete = follower.partial_output(follower.partial())
        if complete:
            assert output == Tree.model_validate_json(document) == tree
            assert type(output) is Tree
        elif output is not None:
            assert type(output) is partial
            # A valid instance of the partial type: it survives a round trip through it.
            assert partial.model_validate(output.model_dump(by_alias=True)) == output
            seen.append(output)
    value, error = follower.close(text=True)
    assert error is None and Tree.model_validate(value) == tree
    # Fields only appear: each partial's fields are a subset of the next one's.
    for earlier, later in itertools.pairwise(seen):
        assert earlier.model_fields_set <= later.model_fields_set
    # What arrived agrees with the document: whole scalars, strings as prefixes.
    for output in seen:
        if output.id is not None:
            assert output.id == tree.id
        if output.title is not None:
            assert tree.title.startswith(output.title)
        for got, want in zip(output.branches or [], tree.branches, strict=False):
            if got.kind is not None:
                assert got.kind == want.kind  # a Literal only once it is whole
            if got.name is not None:
                assert want.name.startswith(got.name)


@settings(max_examples=100, deadline=None)
@given(tree=trees, at=st.integers(0, 10_000), cuts=st.lists(st.integers(0, 10_000), max_size=20))
def test_invalid_json_still_fails_at_its_first_bad_character(
    tree: Tree, at: int, cuts: list[int]
) -> None:
    document = json.dumps(tree.model_dump(mode="json", by_alias=True))
    position = at % len(document)
    # A structural character where it cannot be: outside strings, '}' after a ',' or ':'
    # is always wrong; find such a spot at or after ``position``.
    bad = None
    for i in range(position, len(document)):
        if document[i] in ",:" and _outside_string(document, i):
            bad = i + 1
            break
    if bad is None:
        return
    broken = document[:bad] + "}" + document[bad:]
    follower = JSONFollower("test", validate=True, model=Tree)
    failure = None
    for piece in pieces(broken, cuts):
        failure = follower.feed(StreamEvent(TEXT_DELTA, piece))
        if failure is not None:
            break
        follower.partial_output(follower.partial())
    if failure is None:
        _, failure = follower.close(text=True)
    assert isinstance(failure, JSONModeError)
    assert failure.position == bad  # the inserted '}', wherever the pieces were cut


def _outside_string(text: str, i: int) -> bool:
    inside, escaped = False, False
    for c in text[:i]:
        if escaped:
            escaped = False
        elif c == "\\":
            escaped = True
        elif c == '"':
            inside = not inside
    return not inside


def test_closed_containers_are_built_once_and_shared() -> None:
    builder = PartialBuilder(Tree)
    # Checked as it arrives (no hold): what closed is committed, and shared from then on.
    stream = JSONStream()
    stream.feed('{"id": 1, "Title": "t", "branches": [{"name": "a", "leaves": [], "kind": "oak"}, ')
    first = builder.build(stream.partial())
    stream.feed('{"name": "b", "le')
    second = builder.build(stream.partial())
    assert first is not None and second is not None
    assert first.branches is not None and second.branches is not None
    assert second.branches[0] is first.branches[0]  # the closed branch: the same instance
    assert second.branches[1].name == "b" and second.branches[1].leaves is None


def test_a_self_referencing_model_keeps_its_own_type_where_it_recurs() -> None:
    class Node(BaseModel):
        name: str
        children: list[Node] = []

    Node.model_rebuild()
    builder = PartialBuilder(Node)
    value = builder.build({"name": "root", "children": [{"name": "leaf", "children": []}]})
    assert value is not None and value.name == "root"
    assert value.children == [Node(name="leaf")]


@pytest.mark.parametrize("bad", [[], "text", 3])
def test_a_value_of_the_wrong_shape_gives_no_partial(bad: object) -> None:
    assert PartialBuilder(Tree).build(bad) is None


class Numbers(BaseModel):
    xs: list[int]


def test_tool_arguments_of_a_wide_array_stay_linear() -> None:
    # Every tool delta carries partial arguments (and the typed ones); a new snapshot is
    # made once the arguments brought a character per COPIES_PER_CHAR open members since
    # the last (else the last one again), so the copies stay linear in the arguments.
    arguments = {"xs": [7] * 1500}
    text = json.dumps(arguments, separators=(",", ":"))
    follower = JSONFollower("test", validate=False, tool_models={"numbers": Numbers})
    follower.feed(StreamEvent(TOOL_CALL_START, index=0, name="numbers"))
    deltas = []
    for k in range(0, len(text), 3):
        delta = StreamEvent(TOOL_CALL_DELTA, text[k : k + 3], index=0)
        assert follower.feed(delta) is None
        assert delta.metadata is not None
        deltas.append(delta.metadata)
    values = [d["partial_arguments"] for d in deltas]
    assert values[-1] == arguments
    assert deltas[-1]["partial_model"] == partial_model(Numbers)(xs=[7] * 1500)
    made = {id(v): len(v.get("xs", [])) for v in values if v}  # each snapshot once
    del made[id(values[-1])]  # the complete value itself, not a copy
    assert sum(made.values()) <= COPIES_PER_CHAR * len(text)
    assert len(made) > 100
    # The one repeated is the last one made: the arguments only ever grow.
    widths = [len(v.get("xs", [])) for v in values if v]
    assert all(later >= earlier for earlier, later in itertools.pairwise(widths))
    # The typed arguments are those of the same snapshot.
    for d in deltas:
        if d["partial_model"] is not None:
            assert len(d["partial_model"].xs or []) == len(d["partial_arguments"].get("xs", []))


def test_tool_arguments_with_a_long_string_stay_linear() -> None:
    # A string being received is copied into every snapshot (a str cannot grow in
    # place): its characters count toward what a snapshot costs, CHARS_PER_MEMBER to a
    # member, so the copies of a long essay stay linear in the arguments too.
    arguments = {"essay": "word " * 20_000}
    text = json.dumps(arguments)
    follower = JSONFollower("test", validate=False)
    follower.feed(StreamEvent(TOOL_CALL_START, index=0, name="write"))
    values = []
    for k in range(0, len(text), 5):
        delta = StreamEvent(TOOL_CALL_DELTA, text[k : k + 5], index=0)
        follower.feed(delta)
        assert delta.metadata is not None
        values.append(delta.metadata["partial_arguments"])
    assert values[-1] == arguments
    made = {id(v): len(v.get("essay", "")) for v in values if v}  # each snapshot once
    assert sum(made.values()) <= CHARS_PER_MEMBER * COPIES_PER_CHAR * len(text)
    # A new one for every delta while the essay is short, thinning out as it grows.
    assert len(made) > 1000
    lengths = [len(v.get("essay", "")) for v in values[:500] if v]
    assert len(set(lengths)) == len(lengths)


class Limited(BaseModel):
    code: str = Field(max_length=5)
    level: int = Field(ge=10)
    count: int = Field(ge=10)
    picks: list[int] = Field(max_length=2)
    tag: str | None = Field(default=None, pattern=r"^[a-z]+$")


def test_the_fields_constraints_hold_for_what_has_arrived() -> None:
    document = json.dumps(
        {"code": "abcdefgh", "level": 7, "count": 123, "picks": [1, 2, 3], "tag": "Ab"}
    )
    builder = PartialBuilder(Limited)
    stream = JSONStream()
    codes, levels, counts, picks, tags = set(), set(), set(), [], set()
    for char in document:
        stream.feed(char)
        value = builder.build(stream.partial())
        assert value is not None
        codes.add(value.code)
        levels.add(value.level)
        counts.add(value.count)
        picks.append(value.picks)
        tags.add(value.tag)
    # A string is shown while it can still be valid and left out once it is too long; a
    # number below the minimum is left out (numbers come whole: 123 never shows as 12);
    # so is a list past its maximum length, and a string that does not match the pattern
    # (the empty string does not either).
    assert codes == {None, "", "a", "ab", "abc", "abcd", "abcde"}
    assert levels == {None} and counts == {None, 123}
    assert [1, 2] in picks and all(p is None or len(p) <= 2 for p in picks)
    assert tags == {None}
    assert value.model_fields_set == {"count"}  # the value after the last character
    with pytest.raises(ValueError, match="at most 5 characters"):
        Limited.model_validate_json(document)


class Badge(str, Enum):
    GOLD = "gold"
    SILVER = "silver"


class Card(BaseModel):
    """Flat enough for its own validator: leaves, a list of leaves, a shallow model."""

    id: int
    name: str = Field(alias="Name")
    badge: Badge
    size: Literal["small", "large"]
    ratio: float | None = None
    tags: list[str] = []
    scores: dict[str, int] = {}
    leaf: Leaf | None = None


class Deck(BaseModel):
    cards: list[Card]
    owner: str | None = None


cards = st.builds(
    Card,
    id=st.integers(-(10**6), 10**6),
    Name=texts,
    badge=st.sampled_from(Badge),
    size=st.sampled_from(["small", "large"]),
    ratio=st.none() | st.floats(allow_nan=False, allow_infinity=False, width=32),
    tags=st.lists(texts, max_size=3),
    scores=st.dictionaries(texts, st.integers(-100, 100), max_size=3),
    leaf=st.none() | leaves,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    deck=st.builds(Deck, cards=st.lists(cards, max_size=4), owner=st.none() | texts),
    cuts=st.lists(st.integers(0, 10_000), max_size=40),
)
def test_a_models_own_validator_builds_what_the_walk_builds(deck: Deck, cuts: list[int]) -> None:
    # A small model whose fields nest at most a list or dict of leaves, or a shallow model
    # (Card, Leaf), is built by its validator in C, falling back to the walk when a field
    # does not validate yet; with that path shut (_SMALL = -1) every partial must be equal,
    # field for field, types and the fields that arrived included.
    document = json.dumps(deck.model_dump(mode="json", by_alias=True))
    fast, walk = PartialBuilder(Deck), PartialBuilder(Deck)
    stream = JSONStream(hold=True)
    for piece in pieces(document, cuts):
        stream.feed(piece)
        value = stream.partial()
        got = fast.build(value)
        with mock.patch.object(partial_module, "_SMALL", -1):
            want = walk.build(value)
        assert _shape(got) == _shape(want)
    stream.close()
    assert _shape(fast.build(stream.value)) == _shape(walk.build(stream.value))


def _shape(value: object) -> object:
    """A value with every model as (its type, the fields that arrived, their values)."""
    if isinstance(value, BaseModel):
        fields = {name: _shape(getattr(value, name)) for name in sorted(value.model_fields_set)}
        return (type(value), fields, _shape(dict(value)))
    if isinstance(value, list):
        return [_shape(v) for v in value]
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    return (type(value), value)
