"""What follows a call whose attempts are spent: the same reply continued, another model,
or the error.

The session retries what a new attempt can mend while nothing reached the consumer, and
picks up a stream the provider keeps (:class:`~steer_common.providers.base.Resumption`).
When that is not enough, :func:`sequel` decides, free of I/O, what the call does next:

- **Before any content reached the consumer**, a failure that another provider may not
  share (a dropped connection, a timeout, an overload, a 5xx, a 429 that outlasts the
  retries or the ``total_timeout``) moves on to the next of the call's ``fallbacks=``, and
  the reply starts there afresh. A bad request, a refused key, a content refusal or an
  in-band verdict on the request does not, unless ``StreamingOptions.fallback_on`` names
  its class.
- **After content** (a reply shown in part), the reply is *continued*, never restarted:
  the text shown goes back as a trailing assistant message that the model continues (a
  prefill), and only what follows is handed on. With ``resume="continue"`` the same model
  continues first, as long as each try brings new text; then the next fallback, if its
  wire format continues an assistant turn (``WireFormat.prefill``: Anthropic's Messages,
  Bedrock's Anthropic models). The other formats answer an assistant message rather than
  continue it, so there the error stands with its partial response.
- A reply cut **inside a tool call or after reasoning** is not continued: a tool call's
  arguments cannot be prefilled, and a reasoning block must go back signed and whole.
  Nor is a reply in JSON mode (its text must parse as one document, which a continuation
  checks only in part). The error stands with its partial response.

Each continuation is a new generation, billed again: the response's ``usage`` and
``cost_usd`` add up every session, and its ``attempts`` say which model each one asked.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from steer_common.errors import (
    APIError,
    InternalServerError,
    OverloadedError,
    RateLimitError,
    SteerError,
    TotalTimeoutError,
)
from steer_common.models.response import Attempt, StreamResponse
from steer_common.retry import RETRYABLE_FAILURES
from steer_common.usage import sum_cost, sum_usage

__all__ = ["Chain", "Sequel", "merged", "sequel", "transient"]

_PROVIDERS_TROUBLE = (InternalServerError, OverloadedError, RateLimitError)


@dataclass(frozen=True)
class Chain:
    """How a call's next session is made (:func:`steer_common.calls.open_session` builds
    it; the session asks it once :func:`sequel` decided).

    Attributes:
        model: the call's first model, as it routes (``"claude-sonnet-5"``).
        fallbacks: the models to try after it, in order.
        open: the session that asks ``model`` (continuing ``prefill``, the text shown,
            when given): the same call otherwise.
        prefills: whether a model's wire format continues an assistant turn.
    """

    model: str
    fallbacks: Sequence[str]
    open: Callable[[str, str | None], Any]
    prefills: Callable[[str], bool]


class Sequel(NamedTuple):
    """The next session of a call.

    Attributes:
        model: the model to ask (``None``: the same one).
        prefill: the text already shown, for the model to continue (``None``: a new reply).
    """

    model: str | None
    prefill: str | None


def merged(responses: Sequence[StreamResponse]) -> StreamResponse:
    """The call's response from its sessions' (each failed one's partial response, then
    the last): the last one's reply, every attempt (each naming its model), the usage and
    the cost added up."""
    last = responses[-1]
    if len(responses) == 1:
        return last
    response = last.model_copy()
    attempts: list[Attempt] = []
    for part in responses:  # each session's usage on its last attempt, provenance and all
        if part.attempts:
            ended = part.attempts[-1].model_copy(update={"usage": part.usage})
            attempts += [*part.attempts[:-1], ended]
    response.attempts = [a.model_copy(update={"number": n}) for n, a in enumerate(attempts, 1)]
    response.usage = sum_usage([r.usage for r in responses])
    response.cost_usd = sum_cost([r.cost_usd for r in responses])
    response.cost_breakdown = {"sessions": [r.cost_breakdown for r in responses]}
    response.metrics = last.metrics.model_copy(
        update={
            "attempts": len(attempts),
            "time_to_first_token": next(
                (r.metrics.time_to_first_token for r in responses if r.metrics.time_to_first_token),
                None,
            ),
        }
    )
    return response


def transient(error: SteerError, fallback_on: Sequence[str] = ()) -> bool:
    """Another provider, or a new generation, may well not fail the same way: the kinds
    a retry mends, a provider's own trouble (5xx, overload, 429), or a class the caller
    named. The end of ``total_timeout`` is never one: the call's time is spent."""
    if type(error).__name__ in fallback_on:
        return True
    if isinstance(error, TotalTimeoutError):
        return False
    if isinstance(error, APIError):
        # The provider's own trouble, retryable or not: a quota spent (429
        # insufficient_quota) is no reason to think another provider's is.
        return error.retryable or isinstance(error, _PROVIDERS_TROUBLE)
    return isinstance(error, RETRYABLE_FAILURES)


def sequel(
    error: SteerError,
    *,
    partial: StreamResponse | None,
    shown: bool,
    progressed: bool,
    resume: str,
    fallbacks: Sequence[str],
    prefills: Callable[[str | None], bool],
    fallback_on: Sequence[str] = (),
    continuable: bool = True,
) -> Sequel | None:
    """What the call does after ``error`` ended a session (see the module docstring), or
    ``None``: the error stands.

    Args:
        error: why the session failed, its retries spent.
        partial: what the call has shown so far (the whole text, across sessions).
        shown: content has reached the consumer.
        progressed: the failed session itself handed on content.
        resume: ``StreamingOptions.resume``.
        fallbacks: the models still to try, in order.
        prefills: whether a model's wire format continues an assistant turn (``None``:
            the current model).
        fallback_on: error class names the caller also falls back on.
        continuable: the reply may be continued (``False`` when its text must parse as
            one JSON document: a continuation's own parser would see only its part).
    """
    if not transient(error, fallback_on):
        return None
    if not shown:
        return Sequel(fallbacks[0], None) if fallbacks else None
    if not continuable or partial is None or partial.tool_calls or partial.reasoning:
        return None  # JSON, or cut inside a tool call or after reasoning
    if not partial.text.strip():
        return None  # nothing to continue (an empty prefill is refused)
    if resume == "continue" and progressed and prefills(None):
        return Sequel(None, partial.text)
    if fallbacks and prefills(fallbacks[0]):
        return Sequel(fallbacks[0], partial.text)
    return None
