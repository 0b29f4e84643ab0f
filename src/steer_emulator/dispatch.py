"""The emulator server's decisions, free of I/O: route, auth, which reply, when to send.

The server (:mod:`steer_emulator.server`) reads a request, asks this module what to do, and does it:

- :func:`wire_format_for`: which wire format a ``POST`` path (and model) speaks;
  :func:`path_model`: the model a path names (Gemini's); :func:`streams`: whether the
  request asks for a stream (``"stream": true``, or the endpoint's ``alt=sse``);
- :func:`authorized`: whether the request carries a key the way its provider expects;
- :class:`ReplySource`: the reply for a request (a test's queued script first, else
  :func:`~steer_emulator.reply_for_request`), served with its fault (an HTTP
  error status instead, an in-band error, a truncation) ``fail_times`` times per
  conversation and then clean, so a retry succeeds; an Anthropic request that ends with
  an assistant message (a prefill) is the same conversation continued, and only the rest
  of the reply streams (a prefill that ends with whitespace gets the API's 400); an
  Anthropic prompt prefix marked with ``cache_control`` is written to a cache the first
  time it is seen and read from it after that, so the usage reports
  ``cache_creation_input_tokens``, then ``cache_read_input_tokens`` (the real API caches
  only prefixes of 1,024 tokens or more, 2,048 on Haiku models; the emulator caches any);
- :func:`schedule`: the rendered events interleaved with the waits the script asks for
  (``event_delay``, ``pause_after_events``), as :class:`Step` objects.
"""

from __future__ import annotations

import collections
import functools
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple
from urllib.parse import unquote

from steer_common.providers import FORMATS, get_format
from steer_emulator.derive import fit_to_request, reply_for_request
from steer_emulator.formats import emulation
from steer_emulator.script import ScriptedReply

__all__ = [
    "ReplySource",
    "Step",
    "authorized",
    "missing_query",
    "path_model",
    "schedule",
    "sigv4_shaped",
    "streams",
    "wire_format_for",
]


def wire_format_for(path: str, model: str = "") -> str | None:
    """The wire format of a ``POST`` to ``path`` (query string removed), else ``None``.

    Each format is served at its record's prefix plus its endpoint path
    (``/v1/messages``, ``/v1/responses``, ``/v1/chat/completions``, ``/xai/v1/...``,
    ``/compat/v1/...``, ``/v1beta/models/{model}:streamGenerateContent``); where formats
    share an endpoint, a model name one of them claims picks it (``grok*`` and ``xai/...``
    for xAI, ``openai_compatible/...``), else the one whose prefix matches.
    """
    path = path.rstrip("/")
    for wire in FORMATS.values():
        if any(_endpoint(template).fullmatch(path) for template, _ in emulation(wire.name).paths):
            return wire.name
    shared = [w for w in FORMATS.values() if _endpoint(w.path).search(path)]
    if not shared:
        return None
    for wire in shared:
        claims = emulation(wire.name).claims
        if claims and model.startswith(claims):
            return wire.name
    for wire in shared:
        if _endpoint(emulation(wire.name).prefix + wire.path).fullmatch(path):
            return wire.name
    prefixes = {w.name: emulation(w.name).prefix for w in shared}
    prefixed = [w for w in shared if prefixes[w.name] and path.startswith(prefixes[w.name])]
    return (prefixed or shared)[0].name


def path_model(wire_format: str, path: str) -> str | None:
    """The model named in the path, for a format whose endpoint names it (Gemini's
    ``models/{model}:streamGenerateContent``), unquoted; else ``None``."""
    wire = get_format(wire_format)
    path = path.rstrip("/")
    match = _endpoint(wire.path).search(path)
    for template, _ in emulation(wire_format).paths:
        match = _endpoint(template).fullmatch(path) or match
    return unquote(match.group("model")) if match and "model" in match.groupdict() else None


def missing_query(wire_format: str, path: str, query: str) -> str | None:
    """The query parameter an endpoint requires that the request lacks (Azure's
    ``api-version`` on its deployment URLs), else ``None``."""
    given = {pair.partition("=")[0] for pair in query.split("&") if pair}
    for template, required in emulation(wire_format).paths:
        if _endpoint(template).fullmatch(path.rstrip("/")):
            return next((name for name in required if name not in given), None)
    return None


def streams(wire_format: str, query: str, body: Mapping[str, Any]) -> bool:
    """The request asks for a stream: ``"stream": true`` in the body, or, for a format
    that streams by its endpoint, the endpoint's query (Gemini's ``alt=sse``)."""
    wire = get_format(wire_format)
    if wire.stream_flag:
        return body.get("stream") is True
    wanted = wire.path.partition("?")[2]
    return not wanted or all(pair in query.split("&") for pair in wanted.split("&"))


@functools.lru_cache(maxsize=64)
def _endpoint(template: str) -> re.Pattern[str]:
    """A path template (query left out) as a pattern: ``{model}`` is one path segment."""
    path = template.partition("?")[0]
    pattern = re.escape(path).replace(re.escape("{model}"), "(?P<model>[^/]+)")
    return re.compile(pattern + "$")


def authorized(wire_format: str, headers: Mapping[str, str]) -> bool:
    """The request carries a key in a header its format takes one in (``headers`` have
    lowercased names): ``Authorization: Bearer <key>``, or Anthropic's ``x-api-key``. A
    format whose key is optional (keyless local servers) needs none."""
    wire = get_format(wire_format)
    if wire.key_optional:
        return True
    for name in wire.key_headers:
        value = headers.get(name, "").strip()
        if name == "authorization":
            if value[:7].lower() == "bearer " and value[7:].strip():
                return True
            if emulation(wire_format).signed and sigv4_shaped(value, headers):
                return True
        elif value:
            return True
    return False


#: A SigV4 ``Authorization`` header: the algorithm, a credential scope, the signed
#: headers, a 64-hex-digit signature.
_SIGV4 = re.compile(
    r"AWS4-HMAC-SHA256 Credential=[^/\s,]+/\d{8}/[a-z0-9-]+/[a-z0-9-]+/aws4_request, ?"
    r"SignedHeaders=[a-z0-9;-]+, ?Signature=[0-9a-f]{64}"
)


def sigv4_shaped(value: str, headers: Mapping[str, str]) -> bool:
    """``value`` has a SigV4 signature's shape, and the headers it signs were sent (with
    ``x-amz-date``). The signature itself is not checked: the emulator knows no secret."""
    match = _SIGV4.fullmatch(value)
    if match is None or "x-amz-date" not in headers:
        return False
    signed = value.split("SignedHeaders=", 1)[1].split(",", 1)[0].split(";")
    return "host" in signed and all(name in headers for name in signed)


class Step(NamedTuple):
    """One thing the server does: send ``data``, or (``data`` is ``None``) wait ``seconds``.

    While waiting, a keep-alive goes out every ``keepalive_every`` seconds, when set.
    """

    data: bytes | None
    seconds: float = 0.0
    keepalive_every: float | None = None


def schedule(reply: ScriptedReply, events: list[bytes]) -> list[Step]:
    """The events of ``reply`` with its waits: ``event_delay`` between events, and the
    ``pause_after_events`` pause (with keep-alives) after that many events."""
    steps: list[Step] = []
    for n, event in enumerate(events):
        if n == reply.pause_after_events:
            steps.append(Step(None, reply.pause_seconds, reply.keepalive_every))
        elif n and reply.event_delay:
            steps.append(Step(None, reply.event_delay))
        steps.append(Step(event))
    pause_at = reply.pause_after_events
    if pause_at is not None and pause_at >= len(events):
        steps.append(Step(None, reply.pause_seconds, reply.keepalive_every))
    return steps


@dataclass
class _Queued:
    script: ScriptedReply
    failed: int = 0


class ReplySource:
    """Which reply each request gets (not thread-safe: the server holds a lock around it).

    Scripts from :meth:`enqueue` come first, in order, whatever the request; then every
    request gets :func:`~steer_emulator.reply_for_request`. A script with a fault
    (``status``, an in-band error, a truncation) gets it ``fail_times`` times (per queued
    script, or per conversation for derived ones), then streams clean.
    """

    def __init__(self) -> None:
        self._queue: collections.deque[_Queued] = collections.deque()
        self._failures: dict[str, int] = {}
        self._cached: set[str] = set()  # the prompt prefixes in the cache
        self._served = 0

    def enqueue(self, script: ScriptedReply) -> None:
        """Force the next reply."""
        self._queue.append(_Queued(script))

    def reset(self) -> None:
        """Forget queued scripts, failure counts and the cache."""
        self._queue.clear()
        self._failures.clear()
        self._cached.clear()

    def next(self, wire_format: str, body: dict[str, Any], now: int) -> tuple[ScriptedReply, bool]:
        """The script for a request, and ``True`` when its HTTP error status is the answer.

        A script's fault is served ``fail_times`` times, then the script streams clean.
        ``now`` (Unix time) stamps the reply; each streamed reply gets its own id seed, as
        a real server gives each response fresh ids, unless the script fixes ``seed``.

        Raises:
            ValueError: a malformed directive in the request.
        """
        self._served += 1
        if _prefill(wire_format, body).rstrip() != _prefill(wire_format, body):
            # As the Messages API does: a prefill may not end with whitespace.
            message = "messages: final assistant content cannot end with trailing whitespace"
            return ScriptedReply(status=400, error_message=message), True
        faulty = False
        if self._queue:
            entry = self._queue[0]
            script = fit_to_request(entry.script, wire_format, body)
            if script.has_fault and entry.failed < script.fail_times:
                entry.failed += 1
                faulty = True
            else:
                self._queue.popleft()
        else:
            script = reply_for_request(wire_format, body)
            if script.has_fault:
                key = _conversation_key(wire_format, body)
                failed = self._failures.get(key, 0)
                if failed < script.fail_times:
                    self._failures[key] = failed + 1
                    faulty = True
        prefill = _prefill(wire_format, body)
        if prefill and script.text.startswith(prefill):
            # Anthropic continues a trailing assistant message: only the rest streams (its
            # faults, a cut after so many characters, count from there).
            script = script.replace(text=script.text[len(prefill) :], deltas=None)
        if not faulty:
            script = self._cache(wire_format, body, script.without_faults())
        elif script.status is not None:
            return script, True
        return self._stamped(script, now), False

    def _cache(
        self, wire_format: str, body: dict[str, Any], script: ScriptedReply
    ) -> ScriptedReply:
        """The script with its prompt cache use, unless it sets its own."""
        if script.cached_tokens or script.cache_write_tokens:
            return script
        prefix = _cache_prefix(wire_format, body)
        if prefix is None:
            return script
        key = hashlib.sha256(prefix.encode()).hexdigest()
        tokens = len(prefix) // 4 + 1
        prompt = max(script.prompt_tokens or 0, tokens)
        if key in self._cached:
            return script.replace(cached_tokens=tokens, prompt_tokens=prompt)
        self._cached.add(key)
        return script.replace(cache_write_tokens=tokens, prompt_tokens=prompt)

    def _stamped(self, script: ScriptedReply, now: int) -> ScriptedReply:
        if script.seed is not None:
            return script
        return script.replace(seed=f"reply-{self._served}", created=now)


def _prefill(wire_format: str, body: dict[str, Any]) -> str:
    """The prefill the request's format continues, or ``""``."""
    read = emulation(wire_format).prefill
    return "" if read is None else read(body)


def _cache_prefix(wire_format: str, body: dict[str, Any]) -> str | None:
    read = emulation(wire_format).cache_prefix
    return None if read is None else read(body)


def _conversation_key(wire_format: str, body: dict[str, Any]) -> str:
    if _prefill(wire_format, body):
        # A continuation (prefill) is the same conversation: its fault was served already.
        body = {**body, "messages": body["messages"][:-1]}
    keys = ("model", "messages", "input", "system", "instructions", "contents")
    conversation = [body.get(k) for k in keys]
    encoded = json.dumps([wire_format, conversation], sort_keys=True, default=str)
    return hashlib.sha256(encoded.encode()).hexdigest()
