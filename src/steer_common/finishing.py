"""Finishing a response: its metrics, attempts and request id, the usage a provider did not
report, estimated with each number's provenance, and its cost (beside
:mod:`steer_common.usage`, the normalized dictionary the providers build).

Estimates come from a tiktoken encoding when one is at hand (loaded off the event loop,
through a ``Compute`` command, and given up after :data:`ENCODING_LOAD_TIMEOUT`), else
from characters by the provider's measured ratio (:func:`steer_common.tokens.estimate_chars`).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from functools import partial
from typing import TYPE_CHECKING, Any

from steer_common.commands import Compute
from steer_common.cost import cost_of
from steer_common.tokens import (
    count_with_encoding,
    encoding_file,
    encoding_for,
    estimate_chars,
    load_encoding,
    loaded_encoding,
)
from steer_common.usage import make_usage

if TYPE_CHECKING:
    from steer_common.http import ResponseHead
    from steer_common.models.response import Attempt, StreamMetrics, StreamResponse
    from steer_common.options import StreamingOptions
    from steer_common.parser import StreamParser

__all__ = [
    "ENCODING_LOAD_TIMEOUT",
    "REPORTED",
    "complete_usage",
    "fill_usage",
    "finish_response",
    "request_text",
]


# -- estimates for what was not reported ----------------------------------------------------

REPORTED = "reported"


def fill_usage(
    usage: dict[str, Any] | None,
    *,
    complete: bool,
    provider: str | None,
    prompt_text: str,
    completion_text: str | None,
    completion_chars: int,
    encoding: Any = None,
    encoding_name: str | None = None,
) -> dict[str, Any]:
    """The usage with every number present and its ``provenance`` said.

    Reported numbers win. What is missing is estimated: with ``encoding`` (a tiktoken
    encoding) when given and the text is at hand, else from characters. A stream cut
    short keeps its reported prompt count; its completion count is the larger of what was
    reported (Anthropic reports a placeholder at the start) and the estimate of what came.

    ``provenance`` maps ``prompt_tokens`` and ``completion_tokens`` to ``"reported"``,
    ``"estimated:tiktoken:<encoding>"`` or ``"estimated:character"``.
    """

    def estimate(text: str | None, chars: int) -> tuple[int, str]:
        if encoding is not None and text is not None:
            return count_with_encoding(encoding, text), f"estimated:tiktoken:{encoding_name}"
        return estimate_chars(chars, provider), "estimated:character"

    if usage and complete:
        return {
            **usage,
            "provenance": dict.fromkeys(("prompt_tokens", "completion_tokens"), REPORTED),
        }
    completion, completion_source = estimate(completion_text, completion_chars)
    if not usage:
        prompt, prompt_source = estimate(prompt_text, len(prompt_text))
        filled = make_usage(prompt, completion, raw=None)
    else:
        prompt, prompt_source = usage["prompt_tokens"], REPORTED
        if usage["completion_tokens"] >= completion:
            completion, completion_source = usage["completion_tokens"], REPORTED
        filled = {
            **usage,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }
    filled["provenance"] = {"prompt_tokens": prompt_source, "completion_tokens": completion_source}
    return filled


def request_text(body: Any) -> str:
    """The text of a request body that counts as prompt: messages, system, tools."""
    parts: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str):
            parts.append(value)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    if isinstance(body, dict):
        for key in ("system", "instructions", "messages", "input", "tools"):
            walk(body.get(key))
    return "\n".join(parts)


#: The longest wait for a tiktoken encoding to load before estimating from characters.
ENCODING_LOAD_TIMEOUT = 5.0


def complete_usage(
    response: StreamResponse,
    *,
    model: str | None,
    aggregator: str,
    text_chars: int,
    reply: Callable[[], str] | None,
    prompt: Callable[[], Any],
) -> Generator[Compute, Any, dict[str, Any]]:
    """The response's usage with nothing missing and each number's provenance (a flow
    step: loading a tiktoken encoding is asked of the front end as a ``Compute``, so it
    never blocks an event loop, and is given up after :data:`ENCODING_LOAD_TIMEOUT`).

    Args:
        response: the stream's response so far.
        model: the model asked for (its encoding when the response names none).
        aggregator: ``StreamingOptions.aggregator_type``.
        text_chars: the characters of reply text (counted even when the text is not kept).
        reply: gives the reply text, when needed (``None``: not kept, estimated from its
            length).
        prompt: gives the request body (its text is the prompt's estimate), when needed.
    """
    usage = response.usage
    if usage and response.complete:  # all reported: nothing to estimate
        return fill_usage(
            usage,
            complete=True,
            provider=response.provider,
            prompt_text="",
            completion_text=None,
            completion_chars=0,
        )
    encoding = name = None
    if aggregator != "character":
        name = encoding_for(response.model or model, response.provider)
        encoding = loaded_encoding(name)
        if encoding is None and encoding_file(name) is not None:
            try:
                encoding = yield Compute(partial(load_encoding, name), ENCODING_LOAD_TIMEOUT)
            except Exception:  # too slow, or unreadable: characters it is
                encoding = None
    arguments = "".join(call.arguments_raw for call in response.tool_calls)
    reasoning = response.reasoning or ""
    text = None if reply is None else reply()
    return fill_usage(
        usage,
        complete=response.complete,
        provider=response.provider,
        prompt_text="" if usage else request_text(prompt()),
        completion_text=None if text is None else text + reasoning + arguments,
        completion_chars=text_chars + len(reasoning) + len(arguments),
        encoding=encoding,
        encoding_name=name,
    )


def finish_response(
    parser: StreamParser,
    *,
    metrics: StreamMetrics,
    attempts: list[Attempt],
    head: ResponseHead | None,
    options: StreamingOptions,
    model: str | None,
    text_kept: bool,
    prompt: Callable[[], Any],
    response_format: Any,
    join_text: bool = True,
) -> Generator[Compute, Any, StreamResponse]:
    """The response of what ``parser`` read, finished: the call's ``metrics`` (made for
    this response: the counts of the last attempt's events, its bytes and duration) and
    ``attempts``, the request id of ``head``, the usage completed (when
    ``enable_usage_aggregation``), the cost priced again when estimates changed the numbers
    (a flow step, as :func:`complete_usage`). ``join_text=False``: the response's ``text``
    is left empty for the caller to fill from ``parser.accumulator.text`` when it is read
    (joining a long reply's text costs a copy of it, which ``stream()`` rarely needs)."""
    accumulator = parser.accumulator
    # An attempt is never changed once recorded: the response's list shares them.
    extra = {} if head is None else {"request_id": head.request_id}
    response = accumulator.result(text=join_text, metrics=metrics, attempts=attempts, **extra)
    if response_format is not None:
        response._response_format = response_format
    priced = response.usage  # what the accumulator already priced
    if options.enable_usage_aggregation:
        response.usage = yield from complete_usage(
            response,
            model=model,
            aggregator=options.aggregator_type,
            text_chars=accumulator.text_chars,
            reply=(lambda: accumulator.text) if text_kept else None,
            prompt=prompt,
        )
    usage = response.usage
    estimated = (
        usage
        and usage is not priced
        and any(source != REPORTED for source in usage.get("provenance", {}).values())
    )
    if usage and (response.cost_usd is None or estimated):
        # Priced again only when it must be: estimates changed the numbers, or the
        # reported model name has no price and the one asked for may.
        response.cost_usd, response.cost_breakdown = cost_of(
            usage, response.model, response.provider, fallback_model=model
        )
    return response
