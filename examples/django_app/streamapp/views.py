"""Two streaming views, each right under either kind of server.

``/stream`` is written for WSGI (``runserver``, gunicorn): a blocking view over the
blocking client. ``/astream`` is written for ASGI (uvicorn, daphne): an async view over the
asyncio client. Each also works under the other kind of server: Django would otherwise
buffer the whole reply, since a WSGI server cannot iterate an async iterator as it goes,
and an ASGI server reads a sync iterator to its end first ("StreamingHttpResponse must
consume synchronous iterators"). So each view hands Django the kind of iterator its server
streams: it looks at the request (``ASGIRequest`` under ASGI).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, StreamingHttpResponse

import steer_async
import steer_sync

MODEL = "gpt-4o-mini"
TEXT = "text/plain; charset=utf-8"

# One client per process, shared by every request thread: it is thread-safe and pools
# its connections. Keys and base URLs come from the environment (OPENAI_API_KEY, ...).
client = steer_sync.SteerLLMClient()
# And one asyncio client, shared by every task (it keeps a connection pool per event loop).
async_client = steer_async.SteerLLMClient()


def _blocking(question: str) -> Iterator[str]:
    # Django closes this iterator when the browser goes away: that closes the upstream
    # connection at once, and the provider stops generating (and billing).
    return iter(client.stream(question, model=MODEL))


async def _async(question: str) -> AsyncIterator[str]:
    async with async_client.stream(question, model=MODEL) as chunks:
        async for chunk in chunks:
            yield chunk


def _streamed(request: HttpRequest, question: str) -> StreamingHttpResponse:
    chunks = _async(question) if isinstance(request, ASGIRequest) else _blocking(question)
    return StreamingHttpResponse(chunks, content_type=TEXT)


def stream(request: HttpRequest) -> StreamingHttpResponse:
    """The reply's text, chunk by chunk, as the model writes it (a blocking view)."""
    return _streamed(request, request.GET.get("q", "Say hello"))


async def astream(request: HttpRequest) -> StreamingHttpResponse:
    """The same, as an async view."""
    return _streamed(request, request.GET.get("q", "Say hello"))
