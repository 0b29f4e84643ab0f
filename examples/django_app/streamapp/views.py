"""Two streaming views: blocking (WSGI) and async (ASGI), each over one shared client."""

from __future__ import annotations

from collections.abc import AsyncIterator

from django.http import HttpRequest, StreamingHttpResponse

import steer_async
import steer_sync

MODEL = "gpt-4o-mini"

# One client per process, shared by every request thread: it is thread-safe and pools
# its connections. Keys and base URLs come from the environment (OPENAI_API_KEY, ...).
client = steer_sync.SteerLLMClient()


def stream(request: HttpRequest) -> StreamingHttpResponse:
    """The reply's text, chunk by chunk, as the model writes it."""
    question = request.GET.get("q", "Say hello")
    # Django closes this generator when the client goes away; closing it closes the
    # upstream connection at once.
    chunks = client.stream(question, model=MODEL)
    return StreamingHttpResponse(chunks, content_type="text/plain; charset=utf-8")


_async_client: steer_async.SteerLLMClient | None = None


def _shared_async_client() -> steer_async.SteerLLMClient:
    # An httpx client belongs to one event loop: create it on the server's loop.
    global _async_client
    if _async_client is None:
        _async_client = steer_async.SteerLLMClient()
    return _async_client


async def astream(request: HttpRequest) -> StreamingHttpResponse:
    """The same, for an ASGI server, with the async client."""
    question = request.GET.get("q", "Say hello")

    async def chunks() -> AsyncIterator[str]:
        async for chunk in _shared_async_client().stream(question, model=MODEL):
            yield chunk

    return StreamingHttpResponse(chunks(), content_type="text/plain; charset=utf-8")
