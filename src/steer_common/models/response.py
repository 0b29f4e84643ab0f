"""What a finished (or failed) stream leaves you: :class:`StreamResponse` and :class:`ToolCall`.

These are pydantic models: one is built per stream (or per tool call), never per delta.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from steer_common.errors import JSONModeError
from steer_common.metadata import RateLimit

__all__ = ["Attempt", "ResumePoint", "StreamMetrics", "StreamResponse", "ToolCall"]

_NO_JSON: Any = object()  # get_json() has no value from the stream: parse the text


class ToolCall(BaseModel):
    """One tool call the model made.

    Attributes:
        id: the id a tool result must quote (``call_...`` for OpenAI and xAI, the Responses
            ``call_id``, ``toolu_...`` for Anthropic).
        name: the tool's name.
        arguments: the parsed arguments (``{}`` when the model sent none), or ``None`` when
            they were not valid JSON; then ``parse_error`` says why.
        arguments_raw: the argument text exactly as it streamed.
        index: the key the stream used for this call (see ``StreamEvent.index``).
        item_id: the Responses output item id (``fc_...``), which is not the ``call_id``.
        parse_error: why ``arguments`` is ``None``, else ``None``.
        complete: ``False`` for a call the stream was cut inside (on a ``partial_response``).
        signature: the provider's opaque signature of the call, which must go back with it
            (Gemini's ``thoughtSignature``), else ``None``.
    """

    model_config = ConfigDict(frozen=True)

    id: str | None = None
    name: str | None = None
    arguments: Any = None
    arguments_raw: str = ""
    index: int | None = None
    item_id: str | None = None
    parse_error: str | None = None
    complete: bool = True
    signature: str | None = None


class StreamMetrics(BaseModel):
    """Timing and volume of one stream (filled in by the clients; the parser alone counts)."""

    time_to_first_byte: float | None = None
    time_to_first_token: float | None = None
    duration: float | None = None
    events: int = 0
    deltas: int = 0
    bytes: int = 0
    attempts: int = 1

    @property
    def deltas_per_second(self) -> float | None:
        """Deltas per second of streaming, when the duration is known."""
        if not self.duration:
            return None
        return self.deltas / self.duration


class Attempt(BaseModel):
    """One attempt of a call: what it got, how long it took, how it ended.

    Attributes:
        number: 1 for the first attempt, 2 for the first retry, ...
        status: the HTTP status of its response head (``None``: no head arrived).
        duration: seconds from sending the request to the attempt's end.
        error: ``"RateLimitError: ..."``, how it failed (``None``: it succeeded).
        wait: the seconds waited after it, before the next attempt (``None``: the last).
        text: the text it streamed before it failed, kept with
            ``preserve_partial_response`` (a retry starts the reply again: this is what the
            failed attempt had said).
        request_id: the provider's id of its HTTP request (``x-request-id``...), when
            its head arrived: one per attempt, for a support ticket.
        model: the model it asked (a call with ``fallbacks=`` may ask several).
        provider: the provider it asked.
        usage: on a call that went on to another session (a fallback, a continuation),
            the usage of the session this attempt ended, with its provenance: the
            response's ``usage`` adds them up.
    """

    number: int
    status: int | None = None
    duration: float = 0.0
    error: str | None = None
    wait: float | None = None
    text: str = ""
    request_id: str | None = None
    model: str | None = None
    provider: str | None = None
    usage: dict[str, Any] | None = None


class ResumePoint(BaseModel):
    """Where a stream the provider keeps can be picked up again, in this process or in
    another (``stream(resume=...)``): plain JSON, to be stored with a job.

    Attributes:
        provider: who keeps it.
        wire_format: its :class:`~steer_common.StreamParser` format.
        model: the model, as a call routes it (``"openai/gpt-5-mini"``).
        response_id: the id of the kept response.
        sequence_number: the last event handed on, where the format numbers its events
            (OpenAI's Responses), or the count of events handed on, where its events carry
            no id (``None``: none yet).
        event_id: the last event handed on, where the format names its events with an
            opaque id (Gemini's Interactions; ``None``: none yet).
    """

    provider: str
    wire_format: str
    model: str
    response_id: str
    sequence_number: int | None = None
    event_id: str | None = None

    @property
    def cursor(self) -> int | str | None:
        """The last event handed on, whichever way the format marks it."""
        return self.sequence_number if self.sequence_number is not None else self.event_id


class StreamResponse(BaseModel):
    """The reply of one stream: text, reasoning, tool calls, usage, cost, finish, timing.

    ``complete`` is ``True`` only when the provider's terminal signal arrived; a
    ``partial_response`` on an error has it ``False``. ``response_id`` is the id the
    provider gave the reply (``chatcmpl-...``, ``msg_...``); ``request_id`` the id of the
    HTTP request that brought it (``x-request-id`` / ``request-id``), for support tickets.
    ``attempts`` has one :class:`Attempt` per try, so the retries that happened can be seen.
    ``headers`` are the response's headers (names in any case; credential-like ones
    ``[REDACTED]``), ``rate_limit`` the provider's limits after this response, normalized
    (:class:`~steer_common.metadata.RateLimit`, the headers as sent in ``raw``);
    ``service_tier`` and ``system_fingerprint`` what the provider said of the serving.
    ``provider_data`` keeps what a provider sends beside the reply and nothing else
    carries: Gemini's grounding, citation and safety metadata and its raw finish reason,
    Azure's content-filter results.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    text: str = ""
    reasoning: str | None = None
    reasoning_blocks: list[dict[str, Any]] = Field(default_factory=list)
    refusal: str | None = None
    tool_calls: list[ToolCall] = Field(default_factory=list)
    #: The normalized usage (steer_common.usage), estimated where not reported; empty
    #: when nothing is known (a stream that reported none, with usage aggregation off).
    usage: dict[str, Any] = Field(default_factory=dict)
    cost_usd: float | None = None
    cost_breakdown: dict[str, Any] | None = None
    finish_reason: str | None = None
    native_finish_reason: str | None = None
    model: str | None = None
    provider: str | None = None
    response_id: str | None = None
    request_id: str | None = None
    headers: dict[str, str] | None = None
    rate_limit: RateLimit | None = None
    service_tier: str | None = None
    system_fingerprint: str | None = None
    complete: bool = False
    error: dict[str, Any] | None = None
    metrics: StreamMetrics = Field(default_factory=StreamMetrics)
    attempts: list[Attempt] = Field(default_factory=list)
    provider_data: dict[str, Any] = Field(default_factory=dict)
    #: On the partial response of a stream the provider keeps: where to pick it up again
    #: (``stream(resume=partial.resume)``, in any process).
    resume: ResumePoint | None = None

    _response_format: Any = PrivateAttr(default=None)
    _json: Any = PrivateAttr(default_factory=lambda: _NO_JSON)  # a factory: defaults are copied

    def get_text(self) -> str:
        """The reply text, all deltas joined."""
        return self.text

    def get_json(self) -> Any:
        """The reply parsed as JSON (a validated pydantic instance when one was asked for).

        Raises:
            JSONModeError: the text is not valid JSON, or does not validate.
        """
        value = self._json
        if value is not _NO_JSON:
            return self._validated(value)
        try:
            value = json.loads(self.text)
        except json.JSONDecodeError as exc:
            lo = max(exc.pos - 20, 0)
            raise JSONModeError(
                f"the reply is not valid JSON: {exc.msg} at offset {exc.pos}",
                position=exc.pos,
                snippet=self.text[lo : exc.pos + 20],
                provider=self.provider,
                partial_response=self,
            ) from None
        return self._validated(value)

    def _validated(self, value: Any) -> Any:
        fmt = self._response_format
        if isinstance(fmt, type) and issubclass(fmt, BaseModel):
            try:
                return fmt.model_validate(value)
            except ValidationError as exc:
                raise JSONModeError(
                    f"the reply is JSON but does not match {fmt.__name__}: {exc}",
                    provider=self.provider,
                    partial_response=self,
                ) from exc
        return value
