"""JSON mode, as the reply streams: the reply's JSON and each tool call's arguments followed.

With ``enable_json_stream_handler`` or ``validate_json_incrementally`` on (both in
``JSON_MODE_OPTIONS``), the session hands each content event to a :class:`JSONFollower`:

- the reply text goes through a :class:`~steer_common.json_stream.JSONStream`; its value so
  far is :meth:`JSONFollower.partial` (the session adds it as a ``json_partial`` event
  after each read that changed it, when :meth:`JSONFollower.partial_due`) and its final
  value becomes ``get_json()``;
- with validation, the first character that makes the reply invalid JSON is a
  :class:`~steer_common.errors.JSONModeError` at once; without, a reply that turns out not
  to be JSON is simply no longer followed;
- each tool call's argument fragments go through their own machine, and the delta carries
  ``metadata["partial_arguments"]`` (an invalid argument text is left to the
  :class:`~steer_common.models.response.ToolCall`'s own ``parse_error``): the value as of
  this delta when a new one is due, else the last one again;
- with a pydantic model as ``response_format`` (or as a tool), the partial values are also
  typed (:mod:`steer_common.partial`): :meth:`JSONFollower.partial_output` is an instance of
  the model's partial type, and a tool delta carries ``metadata["partial_model"]``.

Partial values are snapshots (events are values a consumer may keep), and a snapshot copies
the containers still open, a pointer per member: an array that grows with the reply would
make a snapshot per read quadratic. So a new one is due only once the reply has brought at
least one character per :data:`COPIES_PER_CHAR` members of the open containers since the
last: their copies cost at most that many pointers per character of the reply, linear
however wide the arrays grow. A string value being received is copied too (a str cannot
grow in place), so its characters count, :data:`CHARS_PER_MEMBER` to a member: a snapshot
per read of a long essay would copy it again on every read. Below 32 open members per
character read (a few hundred members, or a string of a few thousand characters, for a read
of a few tokens) every read is due.
"""

from __future__ import annotations

from typing import Any

from steer_common.errors import JSONModeError
from steer_common.json_stream import JSONStream
from steer_common.models.events import TEXT_DELTA, TOOL_CALL_DELTA, TOOL_CALL_START, StreamEvent
from steer_common.partial import PartialBuilder

__all__ = ["CHARS_PER_MEMBER", "COPIES_PER_CHAR", "JSONFollower"]

_NONE: Any = object()

#: A partial snapshot is due once the reply brought a character per this many members of the
#: containers still open (what the snapshot copies) since the last one.
COPIES_PER_CHAR = 32
#: Characters of an open string value that cost a snapshot as much as one member (a copy
#: of a character against a pointer and its reference count).
CHARS_PER_MEMBER = 32


def _due(stream: JSONStream, new_chars: int) -> bool:
    """A new snapshot of ``stream`` is due: it is complete, or ``new_chars`` since the last
    one cover its open containers' width (see the module docstring)."""
    stream.parse_held()  # the exact width, and whether it is complete
    width = stream.open_width + stream.open_string // CHARS_PER_MEMBER
    return stream.done or width <= COPIES_PER_CHAR * new_chars


class JSONFollower:
    """Follows one attempt's reply (see the module docstring).

    Args:
        provider: named in error messages.
        validate: fail at the first invalid character (else stop following).
        model: the pydantic model of the reply, for typed partials.
        tool_models: the pydantic model of each tool's arguments, by tool name.
    """

    __slots__ = (
        "_builder",
        "_provider",
        "_reply",
        "_tool_builders",
        "_tool_models",
        "_tool_partials",
        "_tools",
        "_validate",
    )

    def __init__(
        self,
        provider: str,
        *,
        validate: bool,
        model: Any = None,
        tool_models: dict[str, Any] | None = None,
    ) -> None:
        self._provider = provider
        self._validate = validate
        # Validation checks every character as it arrives; following the value only may
        # hold short containers back for the C scanner (faster).
        self._reply: JSONStream | None = JSONStream(hold=not validate)
        self._tools: dict[int, JSONStream] = {}
        self._builder = None if model is None else PartialBuilder(model)
        self._tool_models = tool_models or {}
        self._tool_builders: dict[int, PartialBuilder] = {}
        # By tool call: [characters since the last partial, its value, its typed value].
        self._tool_partials: dict[int, list[Any]] = {}

    @property
    def following(self) -> bool:
        """The reply is still being followed as JSON."""
        return self._reply is not None

    def feed(self, event: StreamEvent) -> JSONModeError | None:
        """Follow one content event; the error that ends the stream, if it brings one."""
        if event.type == TEXT_DELTA:
            stream = self._reply
            if stream is None:
                return None
            try:
                stream.feed(event.delta or "")
            except JSONModeError as exc:
                if self._validate:
                    return self._named(exc)
                self._reply = None  # not JSON after all: stop following it
        elif event.type == TOOL_CALL_DELTA and event.index is not None:
            stream = self._tools.get(event.index)
            if stream is None:
                stream = self._tools[event.index] = JSONStream(hold=True)
            try:
                stream.feed(event.delta or "")
            except JSONModeError:
                return None  # the arguments' own parse error lands on the ToolCall
            last = self._tool_partials.get(event.index)
            if last is None:
                last = self._tool_partials[event.index] = [0, None, None]
            last[0] += len(event.delta or "")
            builder = self._tool_builders.get(event.index)
            if _due(stream, last[0]):
                value = stream.partial()
                last[:] = [0, value, None if builder is None else builder.build(value)]
            metadata = {**(event.metadata or {}), "partial_arguments": last[1]}
            if builder is not None:
                metadata["partial_model"] = last[2]
            event.metadata = metadata
        elif event.type == TOOL_CALL_START and event.index is not None:
            model = self._tool_models.get(event.name or "")
            if model is not None:
                self._tool_builders[event.index] = PartialBuilder(model)
        return None

    def partial(self) -> Any:
        """The reply's JSON value so far."""
        return None if self._reply is None else self._reply.partial()

    def partial_due(self, new_chars: int) -> bool:
        """A new :meth:`partial` of the reply is worth its copies: ``new_chars`` of the
        reply since the last one cover the open containers' width (see the module
        docstring)."""
        return self._reply is not None and _due(self._reply, new_chars)

    @property
    def done(self) -> bool:
        """The reply's JSON value is complete."""
        return self._reply is not None and self._reply.done

    @property
    def typed(self) -> bool:
        """The reply has a model: :meth:`partial_output` gives typed partials."""
        return self._builder is not None and self._reply is not None

    def partial_output(self, value: Any) -> tuple[Any, bool]:
        """The typed partial for the reply's JSON ``value`` so far (from :meth:`partial`),
        and whether it is complete: then it is the model's own instance (``None`` when the
        complete value does not follow the model: ``get_json()`` will say why)."""
        builder, stream = self._builder, self._reply
        assert builder is not None and stream is not None
        if stream.done:
            try:
                return builder.final(value), True
            except ValueError:  # a pydantic ValidationError
                return None, True
        return builder.build(value), False

    def close(self, *, text: bool) -> tuple[Any, JSONModeError | None]:
        """The end of the reply: its JSON value (``_NONE`` when there is none to give: the
        reply was not JSON, or was tool calls only), or the error that fails it.

        ``text`` is false for a reply that was tool calls only: there is no JSON to check.
        """
        stream = self._reply
        if stream is None or not text:
            return _NONE, None
        try:
            stream.close()
        except JSONModeError as exc:
            if self._validate:
                return _NONE, self._named(exc)
            return _NONE, None
        return stream.value, None

    def _named(self, exc: JSONModeError) -> JSONModeError:
        exc.message = f"{self._provider}: the reply is not valid JSON: {exc.message}"
        return exc

    #: What :meth:`close` returns when there is no value.
    NONE = _NONE
