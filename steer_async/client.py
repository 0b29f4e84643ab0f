"""The asyncio client: ``async for chunk in client.stream(...)``, safe to share between tasks.

The twin of ``steer_sync/client.py``: same names, same order, line for line where the
I/O allows. Every decision is the core's (:mod:`steer_common.session`); :func:`_drive`
performs the commands the session flow yields, nothing else.
"""

from __future__ import annotations

import asyncio
import os
import warnings
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from typing import Any

from steer_async.transport import HttpxTransport, TransportResponse
from steer_common.calls import OpenAIAPI, prepare_session, resolve_input
from steer_common.errors import SteerError
from steer_common.models.events import TEXT_DELTA, StreamEvent
from steer_common.models.response import StreamResponse
from steer_common.models.streaming import StreamingOptions
from steer_common.session import (
    Await,
    Compute,
    Connect,
    Deliver,
    Read,
    ReadAll,
    Sleep,
    StreamSession,
)

__all__ = ["SteerLLMClient"]

Messages = Sequence[Mapping[str, Any]]


class SteerLLMClient:
    """Streams replies from OpenAI, Anthropic, xAI and OpenAI-compatible servers.

    Args:
        api_keys: keys by provider (``"openai"``, ``"anthropic"``, ``"xai"``,
            ``"openai_compatible"``); missing ones come from ``OPENAI_API_KEY``,
            ``ANTHROPIC_API_KEY``, ``XAI_API_KEY``, ``OPENAI_COMPATIBLE_API_KEY``.
        base_urls: base URLs by provider; missing ones come from ``OPENAI_BASE_URL``,
            ``ANTHROPIC_BASE_URL``, ``XAI_BASE_URL``, ``OPENAI_COMPATIBLE_BASE_URL``, then
            the official defaults.
        openai_api: ``"chat"`` (Chat Completions, the default) or ``"responses"`` for
            OpenAI models; each call may override it.
        streaming_options: the default options of every call.
        max_connections: pooled connections kept per host.
        http_client: your own ``httpx.AsyncClient`` to send with (proxies, certificates,
            mounted adapters); used as it is, never closed by the client.

    One client is meant to be shared: by every task of an event loop, and reused for
    every call (its connections are pooled). Use it from one event loop.
    """

    def __init__(
        self,
        api_keys: Mapping[str, str | None] | None = None,
        base_urls: Mapping[str, str | None] | None = None,
        *,
        openai_api: OpenAIAPI = "chat",
        streaming_options: StreamingOptions | None = None,
        max_connections: int = 64,
        http_client: Any = None,
    ) -> None:
        self._api_keys = dict(api_keys or {})
        self._base_urls = dict(base_urls or {})
        self._openai_api: OpenAIAPI = openai_api
        self._options = streaming_options
        self._transport = HttpxTransport(max_connections=max_connections, client=http_client)

    def __repr__(self) -> str:
        return f"SteerLLMClient(openai_api={self._openai_api!r})"

    # -- public API ---------------------------------------------------------------------

    def stream(
        self,
        prompt_or_messages: str | Messages | None = None,
        model: str | None = None,
        *,
        prompt: str | None = None,
        messages: Messages | None = None,
        streaming_options: StreamingOptions | None = None,
        response_format: Any = None,
        tools: Sequence[Any] | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        openai_api: OpenAIAPI | None = None,
        return_usage: bool = False,
        **extras: Any,
    ) -> Any:
        """Stream the reply's text: an async iterator of ``str`` chunks.

        The text is kept only for the partial response of an error: with
        ``preserve_partial_response=False`` (and no ``on_complete``) memory stays flat.
        ``return_usage=True`` is deprecated: it returns an awaitable of what
        :meth:`stream_with_usage` returns.

        Raises:
            SteerError: see docs/errors.md; errors after the first chunk carry
                ``partial_response``.
        """
        if return_usage:
            warnings.warn(
                "stream(..., return_usage=True) is deprecated; use stream_with_usage(...)",
                DeprecationWarning,
                stacklevel=2,
            )
            return self.stream_with_usage(
                prompt_or_messages, model, prompt=prompt, messages=messages,
                streaming_options=streaming_options, response_format=response_format,
                tools=tools, temperature=temperature, max_tokens=max_tokens,
                openai_api=openai_api, **extras,
            )  # fmt: skip
        session = self._session(
            prompt_or_messages, model, prompt, messages, streaming_options, response_format,
            tools, temperature, max_tokens, openai_api, extras, keep_text=False,
        )  # fmt: skip
        return _drive(self._transport, session, text_only=True)

    async def stream_with_usage(
        self,
        prompt_or_messages: str | Messages | None = None,
        model: str | None = None,
        *,
        prompt: str | None = None,
        messages: Messages | None = None,
        streaming_options: StreamingOptions | None = None,
        response_format: Any = None,
        tools: Sequence[Any] | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        openai_api: OpenAIAPI | None = None,
        **extras: Any,
    ) -> StreamResponse:
        """Stream the reply to its end; return the :class:`StreamResponse`.

        The response has ``get_text()``, ``get_json()``, ``usage``, ``cost_usd``,
        ``finish_reason``, ``tool_calls``, ``reasoning`` and ``metrics``.
        """
        session = self._session(
            prompt_or_messages, model, prompt, messages, streaming_options, response_format,
            tools, temperature, max_tokens, openai_api, extras, keep_text=True,
        )  # fmt: skip
        async for _ in _drive(self._transport, session):
            pass
        assert session.response is not None
        return session.response

    def stream_events(
        self,
        prompt_or_messages: str | Messages | None = None,
        model: str | None = None,
        *,
        prompt: str | None = None,
        messages: Messages | None = None,
        streaming_options: StreamingOptions | None = None,
        response_format: Any = None,
        tools: Sequence[Any] | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        openai_api: OpenAIAPI | None = None,
        **extras: Any,
    ) -> AsyncIterator[StreamEvent]:
        """Stream normalized :class:`StreamEvent` objects (docs/streaming-events.md)."""
        session = self._session(
            prompt_or_messages, model, prompt, messages, streaming_options, response_format,
            tools, temperature, max_tokens, openai_api, extras, keep_text=True,
        )  # fmt: skip
        return _drive(self._transport, session)

    async def aclose(self) -> None:
        """Close the pooled connections."""
        await self._transport.aclose()

    async def close(self) -> None:
        """Same as :meth:`aclose` (the name the blocking client uses)."""
        await self.aclose()

    async def __aenter__(self) -> SteerLLMClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # -- internals ----------------------------------------------------------------------

    def _session(
        self,
        prompt_or_messages: str | Messages | None,
        model: str | None,
        prompt: str | None,
        messages: Messages | None,
        streaming_options: StreamingOptions | None,
        response_format: Any,
        tools: Sequence[Any] | None,
        temperature: float | None,
        max_tokens: int | None,
        openai_api: OpenAIAPI | None,
        extras: Mapping[str, Any],
        *,
        keep_text: bool,
    ) -> StreamSession:
        return prepare_session(
            resolve_input(prompt_or_messages, prompt, messages),
            model=model,
            api_keys=self._api_keys,
            base_urls=self._base_urls,
            environ=os.environ,
            openai_api=openai_api or self._openai_api,
            streaming_options=streaming_options or self._options,
            response_format=response_format,
            tools=tools,
            temperature=temperature,
            max_tokens=max_tokens,
            extras=extras,
            keep_text=keep_text,
        )


async def _drive(
    transport: HttpxTransport, session: StreamSession, *, text_only: bool = False
) -> AsyncGenerator[Any, None]:
    """Perform the commands of the session's flow; yield the events it delivers (or, for
    ``stream()``, only the text of the text deltas: one generator, not two, per event)."""
    flow = session.flow()
    response: TransportResponse | None = None
    try:
        command: Any = next(flow)
        while True:
            kind = type(command)
            reply: Any = None
            try:
                if kind is Read:  # the common command first
                    if command.events:
                        for event in command.events:
                            if not text_only:
                                yield event
                            elif event.type == TEXT_DELTA:
                                yield event.delta
                    reply = await response.read(command.size, command.timeout)  # type: ignore[union-attr]
                elif kind is Deliver:
                    for event in command.events:
                        if not text_only:
                            yield event
                        elif event.type == TEXT_DELTA:
                            yield event.delta
                elif kind is Connect:
                    if response is not None:
                        await response.close()
                    response = None
                    response = await transport.open(command.request, command.timeout)
                    reply = response.head
                elif kind is ReadAll:
                    reply = await response.read_all(command.limit, command.timeout)  # type: ignore[union-attr]
                elif kind is Await:
                    await command.awaitable
                elif kind is Compute:
                    reply = await asyncio.wait_for(
                        asyncio.shield(
                            asyncio.get_running_loop().run_in_executor(None, command.function)
                        ),
                        command.timeout,
                    )
                elif kind is Sleep:
                    if response is not None:
                        await response.close()
                    response = None
                    await asyncio.sleep(command.seconds)
            except SteerError as exc:  # a transport failure, mapped at the edge
                command = flow.throw(exc)
                continue
            except Exception as exc:
                if kind is not Await and kind is not Compute:
                    raise
                command = flow.throw(exc)  # a callback raised, or the work failed or was slow
                continue
            command = flow.send(reply)
    except StopIteration:
        return
    finally:
        flow.close()
        if response is not None:
            await response.close()
