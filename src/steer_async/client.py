"""The asyncio client: ``async for chunk in client.stream(...)``, safe to share between tasks.

The source of ``steer_sync/client.py``, which ``scripts/unasync.py`` generates from this
file: edit this one.

Every decision is the core's (:mod:`steer_common.session`), and the call parameters are
written once (:meth:`steer_common.calls.StreamCall.of`); the
:class:`~steer_async.driver.StreamingHelper` performs the commands the session flow
yields, nothing else.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Mapping
from dataclasses import replace
from typing import Any

from pydantic import BaseModel

from steer_async.batch import Batch
from steer_async.driver import StreamingHelper
from steer_async.transport import TransportName, make_transport
from steer_cloud import authorizer
from steer_common.batch import BatchScheduler
from steer_common.calls import ClientSettings, OpenAIAPI, StreamCall, open_session, takes_call
from steer_common.errors import InvalidStateError
from steer_common.models.events import PARTIAL_OUTPUT, StreamEvent
from steer_common.models.response import StreamResponse
from steer_common.options import StreamingOptions
from steer_common.partial import output_model
from steer_common.session import Consumer, StreamSession

__all__ = ["SteerLLMClient", "TextStream"]


class SteerLLMClient:
    """Streams replies from every provider of the registry (docs/providers.md).

    Args:
        api_keys: keys by provider (``"openai"``, ``"anthropic"``, ``"xai"``,
            ``"openai_compatible"``, ``"gemini"``, ``"vertex_ai"``...; docs/providers.md);
            missing ones come from each provider's environment variable
            (``OPENAI_API_KEY``, ``GEMINI_API_KEY``...). A value may also be a callable that
            returns a token, or a cloud SDK's credential object, used before each attempt;
            with none, a cloud provider's own credential chain is used (``steer_cloud``).
        base_urls: base URLs by provider; missing ones come from each provider's variable
            (``OPENAI_BASE_URL``...), then the official defaults.
        model: the model of the calls (and batch items) that name none.
        openai_api: ``"chat"`` (Chat Completions, the default) or ``"responses"`` for
            OpenAI models; each call may override it.
        streaming_options: the default options of every call.
        deployments: the model each deployment or alias name serves
            (``{"prod-chat": "gpt-4.1-mini"}`` for ``model="azure/prod-chat"``): priced
            and token-counted as that model when the stream names no model with a price.
        max_connections: pooled connections kept per host.
        http_client: your own HTTP client to send with (proxies, certificates, mounted
            adapters): a ``requests.Session`` for the blocking client; an
            ``httpx.AsyncClient``, or an ``aiohttp.ClientSession`` (which chooses the
            aiohttp transport), for the asyncio client. Used as it is, never closed by
            the client.
        transport: the blocking client has one, ``"requests"``; the asyncio client sends
            with ``"httpx"`` (the default) or ``"aiohttp"``: the same behaviour, on
            aiohttp's C parser, faster per event (``pip install -e '.[aiohttp]'``;
            docs/streaming-performance.md). ``None``: the default.

    One client is meant to be shared: by every task of an event loop, and reused for
    every call (its connections are pooled). Use it from one event loop.
    """

    def __init__(
        self,
        api_keys: Mapping[str, Any] | None = None,
        base_urls: Mapping[str, str | None] | None = None,
        *,
        model: str | None = None,
        openai_api: OpenAIAPI = "chat",
        streaming_options: StreamingOptions | Mapping[str, Any] | None = None,
        deployments: Mapping[str, str] | None = None,
        max_connections: int = 64,
        http_client: Any = None,
        transport: TransportName | None = None,
    ) -> None:
        self._settings = ClientSettings.of(
            api_keys,
            base_urls,
            openai_api,
            streaming_options,
            deployments,
            credentials=authorizer,  # the cloud chains: Google, Azure, AWS
            model=model,
        )
        self._transport = make_transport(transport, max_connections, http_client)
        #: The guide's ``StreamingHelper``: drives a session's flow over the transport.
        self.helper = StreamingHelper(self._transport)

    def __repr__(self) -> str:
        return f"SteerLLMClient(openai_api={self._settings.openai_api!r})"

    def __reduce__(self) -> Any:
        # Refused rather than pickled without its keys: a client that unpickles with no
        # keys and no connections would fail later, far from the mistake.
        raise TypeError(
            "a SteerLLMClient cannot be pickled: it holds API keys and open connections. "
            "Make a client in each process (keys and base URLs from the environment)"
        )

    # -- public API: each method takes StreamCall.of's parameters -----------------------

    @takes_call(StreamCall.of)
    def stream(self, call: StreamCall) -> TextStream:
        """Stream the reply's text: a :class:`TextStream` of ``str`` chunks, to iterate
        with ``async for`` (and, to read the response at the end, to hold with
        ``async with``).

        The text is kept only for the partial response of an error: with
        ``preserve_partial_response=False`` (and no ``on_complete``) memory stays flat.
        ``return_usage=True`` is deprecated (and untyped): it returns an awaitable of what
        :meth:`stream_with_usage` returns.

        Raises:
            SteerError: see docs/errors.md; errors after the first chunk carry
                ``partial_response``.
        """
        if call.return_usage:
            warnings.warn(
                "stream(..., return_usage=True) is deprecated; use stream_with_usage(...)",
                DeprecationWarning,
                stacklevel=3,
            )
            return self.helper.response(self.prepare(call, "response"))  # type: ignore[return-value]
        session = self.prepare(call, "text")
        return TextStream(self.helper.text(session), session)

    @takes_call(StreamCall.of)
    async def stream_with_usage(self, call: StreamCall) -> StreamResponse:
        """Stream the reply to its end; return the :class:`StreamResponse`.

        The response has ``get_text()``, ``get_json()``, ``usage``, ``cost_usd``,
        ``finish_reason``, ``tool_calls``, ``reasoning`` and ``metrics``.
        """
        return await self.helper.response(self.prepare(call, "response"))

    @takes_call(StreamCall.of)
    def stream_events(self, call: StreamCall) -> AsyncIterator[StreamEvent]:
        """Stream normalized :class:`StreamEvent` objects (docs/streaming-events.md)."""
        return self.helper.events(self.prepare(call, "events"))

    @takes_call(StreamCall.of)
    def stream_output(self, call: StreamCall) -> AsyncIterator[BaseModel]:
        """Stream the reply as typed partial objects: an instance of
        ``partial_model(response_format)`` each time more of it arrived (``partial_interval``
        and ``partial_chars`` throttle them), then the ``response_format`` instance itself
        (docs/json-mode.md). ``response_format`` is required: a pydantic model class.

        Raises:
            ConfigurationError: ``response_format`` is not a pydantic model class.
            JSONModeError: the complete reply does not follow the model.
        """
        call = replace(call, response_format=output_model(call.response_format))
        session = self.prepare(call, "events")
        return _outputs(self.helper.events(session), session)

    def batch(
        self,
        items: Iterable[Any],
        model: str | None = None,
        *,
        max_concurrency: int = 8,
        requests_per_minute: float | None = None,
        tokens_per_minute: float | None = None,
        max_cost_usd: float | None = None,
        max_requeues: int = 8,
        total: int | None = None,
        **defaults: Any,
    ) -> Batch:
        """Run many calls, each to its end; an async iterator (``async for result in
        client.batch(...)``) of one :class:`~steer_common.batch.BatchResult` per item, in
        the order they finish (docs/batch.md).

        Args:
            items: prompts, or mappings ``{"id": ..., "prompt": ... | "messages": [...],
                "model"?: ..., <call arguments>}``, read one at a time as each is about to
                start (a generator stays a generator). An item without an id gets its index.
            model: the model of items that name none.
            max_concurrency: the most calls at once (fewer while the server answers 429).
            requests_per_minute: a request budget, held across the batch.
            tokens_per_minute: a token budget (prompts estimated before they are sent).
            max_cost_usd: start no new item once the finished ones cost this much.
            max_requeues: times an item refused with 429 goes back to the queue (the
                batch retries 429s itself, after the pause the server asked for).
            total: how many items there are, for the progress (``len(items)`` if it has one).
            defaults: call arguments for every item (``temperature=``, ``max_tokens=``,
                ``streaming_options=``...); an item's own win.

        One item's failure is its result (``result.error``), never raised.

        Raises:
            ConfigurationError: a bad setting (``max_concurrency=0``...).
        """
        model = model or self._settings.model
        if model is not None:
            defaults["model"] = model
        scheduler = BatchScheduler(
            items,
            defaults=defaults,
            max_concurrency=max_concurrency,
            requests_per_minute=requests_per_minute,
            tokens_per_minute=tokens_per_minute,
            max_cost_usd=max_cost_usd,
            max_requeues=max_requeues,
            total=total,
        )
        return Batch(self, scheduler)

    async def aclose(self) -> None:
        """Close the pooled connections. The client can still be used; it reconnects."""
        await self._transport.aclose()

    # unasync: async only (the blocking client's close() is aclose() above, generated)
    async def close(self) -> None:
        """Same as :meth:`aclose` (the name the blocking client uses)."""
        await self.aclose()

    # unasync: end

    async def __aenter__(self) -> SteerLLMClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # -- for drivers: the agent runners, your own orchestration ---------------------------

    def prepare(self, call: StreamCall, consumer: Consumer = "events") -> StreamSession:
        """The session for ``call`` with this client's keys, base URLs and defaults; drive it
        with :attr:`helper` (``helper.events(session)``, ``text``, ``response``).

        Raises:
            ConfigurationError: an unknown model, a missing key, malformed arguments.
        """
        return open_session(call, self._settings, environ=os.environ, consumer=consumer)


class TextStream:
    """What :meth:`SteerLLMClient.stream` returns: the reply's text chunks, then the
    finished response::

        async with client.stream("Tell me a story", model="gpt-4o-mini") as s:
            async for chunk in s:
                print(chunk, end="")
            print(s.response.usage, s.response.cost_usd)

    ``async for chunk in client.stream(...)`` works as well, without the ``with``.
    Leaving the ``with`` block early (or :meth:`aclose`) closes the connection: the
    provider stops the generation, and its billing. Iterate it once.
    """

    __slots__ = ("_chunks", "_session")

    def __init__(self, chunks: AsyncGenerator[str, None], session: StreamSession) -> None:
        self._chunks = chunks
        self._session = session

    def __aiter__(self) -> AsyncGenerator[str, None]:
        return self._chunks  # the chunks themselves: nothing between them and the loop

    async def __anext__(self) -> str:
        return await self._chunks.__anext__()

    async def aclose(self) -> None:
        """Stop: close the connection (and so the generation) if the reply is not over."""
        await self._chunks.aclose()

    async def __aenter__(self) -> TextStream:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    @property
    def response(self) -> StreamResponse:
        """The finished :class:`StreamResponse` (usage, cost, finish reason, metrics);
        after an error, the partial response: what arrived before it.

        Raises:
            InvalidStateError: the stream has not ended yet, or it failed and kept nothing
                (``preserve_partial_response=False``).
        """
        session = self._session
        if session.response is not None:
            return session.response
        failure = session.failure
        if failure is not None and failure.partial_response is not None:
            return failure.partial_response
        raise InvalidStateError(
            "the stream has no response yet: iterate it to its end first"
            if failure is None
            else f"the stream failed ({type(failure).__name__}) and kept nothing of the reply "
            "(preserve_partial_response=False)"
        )


async def _outputs(
    events: AsyncGenerator[StreamEvent, None], session: StreamSession
) -> AsyncGenerator[BaseModel, None]:
    """The values of the ``partial_output`` events; the validated reply if none was complete."""
    complete = False
    try:
        async for event in events:
            if event.type == PARTIAL_OUTPUT:
                complete = event.metadata["complete"]  # type: ignore[index]
                yield event.metadata["value"]  # type: ignore[index]
    finally:
        await events.aclose()
    if not complete and session.response is not None:
        yield session.response.get_json()  # raises JSONModeError when it does not validate
