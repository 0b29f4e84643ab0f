"""The views of the example: a chat page over Server-Sent Events, an AI SDK endpoint, and the
two plain-text streams it started with.

- ``GET /``: the chat page (``chat.html``: plain JavaScript, an ``EventSource``, no build).
- ``GET /chat?q=...``: the reply as SSE (``text``, ``reasoning``, ``tool_call_*``, ``usage``,
  ``error``, ``done`` events), through ``stream_response`` of ``steer_sync.web.django`` or
  ``steer_async.web.django``. With ``&id=<stream id>`` (what the page sends) the stream is
  resumable: the generation runs on if the connection drops, and the browser's
  ``EventSource``, which reconnects by itself with ``Last-Event-ID``, gets the rest of it
  exactly once. The streams are kept in the process, or in Redis when the environment
  variable ``STEER_RELAY_REDIS`` holds its URL (several processes behind one address).
- ``POST /api/chat``: the reply in the AI SDK's UI message stream protocol, for a page that
  uses ``useChat`` (``@ai-sdk/react``): it reads the chat's ``messages`` from the body.
- ``GET /stream?q=...`` and ``GET /astream?q=...``: the reply's text, chunk by chunk.

Each works under either kind of server. A WSGI server (``runserver``, gunicorn) cannot
iterate an async iterator as it goes, and an ASGI server (uvicorn, daphne) reads a sync
iterator to its end before sending anything: Django would buffer the whole reply (with a
warning) if a view handed its server the wrong kind. So each view looks at the request
(``ASGIRequest`` under ASGI) and streams over the client its server can iterate: the
blocking client under WSGI, the asyncio client under ASGI.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse

import steer_async
import steer_async.web.django
import steer_async.web.registry
import steer_sync
import steer_sync.web.django
import steer_sync.web.registry

MODEL = "gpt-4o-mini"
TEXT = "text/plain; charset=utf-8"
PAGE = (Path(__file__).parent / "chat.html").read_bytes()

# One client per process, shared by every request thread: it is thread-safe and pools
# its connections. Keys and base URLs come from the environment (OPENAI_API_KEY, ...).
client = steer_sync.SteerLLMClient()
# And one asyncio client, shared by every task (it keeps a connection pool per event loop).
async_client = steer_async.SteerLLMClient()


def _registries() -> tuple[Any, Any]:
    """Where resumable streams are kept: Redis, shared by processes, when
    ``STEER_RELAY_REDIS`` names one; else this process (a blocking and an asyncio one)."""
    url = os.environ.get("STEER_RELAY_REDIS")
    if not url:
        return (
            steer_sync.web.registry.default_registry(),
            steer_async.web.registry.default_registry(),
        )
    # Imported only here: redis (pip install redis) is needed only with STEER_RELAY_REDIS.
    from steer_async.web.redis_registry import (  # noqa: PLC0415
        RedisStreamRegistry as AsyncRedisStreamRegistry,
    )
    from steer_sync.web.redis_registry import RedisStreamRegistry  # noqa: PLC0415

    return RedisStreamRegistry(url), AsyncRedisStreamRegistry(url)


registry, async_registry = _registries()


def _relay(request: HttpRequest, messages: Any, protocol: str) -> StreamingHttpResponse:
    """``messages`` streamed to the browser in ``protocol``, over the client this server
    iterates as it goes. A browser that goes away closes the upstream stream (the provider
    stops generating, and billing); an error reaches the page as an error event."""
    if isinstance(request, ASGIRequest):
        events = async_client.stream_events(messages, model=MODEL)
        return steer_async.web.django.stream_response(events, protocol)
    return steer_sync.web.django.stream_response(
        client.stream_events(messages, model=MODEL), protocol
    )


def page(request: HttpRequest) -> HttpResponse:
    """The chat page."""
    return HttpResponse(PAGE, content_type="text/html; charset=utf-8")


async def chat(request: HttpRequest) -> HttpResponse:
    """The reply to ``q`` as Server-Sent Events (what the chat page reads); resumable under
    the stream id ``id`` when the page sends one. (An async view: under ASGI it awaits the
    asyncio registry; under WSGI, Django runs it in a loop of its own and the blocking
    registry does the work.)"""
    question = request.GET.get("q", "Say hello")
    stream_id = request.GET.get("id")
    if stream_id is None:
        return _relay(request, question, "sse")
    if isinstance(request, ASGIRequest):
        if "Last-Event-ID" in request.headers:  # the EventSource came back
            return await steer_async.web.django.resume_response(
                request, stream_id, registry=async_registry
            )
        events = async_client.stream_events(question, model=MODEL)
        return steer_async.web.django.stream_response(
            events, stream_id=stream_id, registry=async_registry
        )
    if "Last-Event-ID" in request.headers:
        return steer_sync.web.django.resume_response(request, stream_id, registry=registry)
    return steer_sync.web.django.stream_response(
        client.stream_events(question, model=MODEL), stream_id=stream_id, registry=registry
    )


def ai_sdk_chat(request: HttpRequest) -> HttpResponse:
    """The reply to a ``useChat`` conversation in the AI SDK's protocol (``POST``, its
    ``{"messages": [...]}`` body of UI messages)."""
    if request.method != "POST":
        return JsonResponse({"error": "POST the chat's messages"}, status=405)
    try:
        messages = _from_ui_messages(json.loads(request.body)["messages"])
    except (ValueError, KeyError, TypeError) as exc:
        return JsonResponse({"error": f"not a useChat body: {exc}"}, status=400)
    return _relay(request, messages, "ai-sdk")


def _from_ui_messages(ui_messages: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The AI SDK's UI messages (``{"role", "parts": [{"type": "text", "text"}...]}``) as
    the client's messages: the text of each (other parts are the page's business)."""
    messages = []
    for message in ui_messages:
        text = "".join(p.get("text", "") for p in message["parts"] if p.get("type") == "text")
        if message["role"] in ("system", "user", "assistant") and text:
            messages.append({"role": message["role"], "content": text})
    if not messages:
        raise ValueError("no message with text")
    return messages


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
