"""Token estimates for the usage a provider did not report, offline, with their provenance.

Two methods:

- ``tiktoken``: the model's own encoding for OpenAI models (``o200k_base`` for gpt-4o and
  later, ``cl100k_base`` for gpt-4 and gpt-3.5); ``cl100k_base`` as the stand-in for other
  providers' models (their tokenizers are not public). An encoding is used only when its
  file is already on this machine (tiktoken's cache: ``TIKTOKEN_CACHE_DIR``, else
  ``DATA_GYM_CACHE_DIR``, else ``<tmp>/data-gym-cache``): the library never downloads
  one. Loading a file is CPU work of up to a second, so the session asks its front end to
  run it (:class:`~steer_common.session.Compute`: in a worker thread, with a time limit),
  and the encoding is kept for the life of the process. Where no file is found, the
  estimate falls back to characters, says so in the provenance and logs it once.
- ``character``: characters divided by a per-provider ratio measured on the recorded
  streams in ``tests/fixtures/sse`` against the usage they report
  (``tests/common/test_tokens.py`` measures it again and states the error).
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import tempfile
from collections.abc import Mapping
from typing import Any

from steer_common.providers import PROVIDERS

__all__ = [
    "DEFAULT_CHARS_PER_TOKEN",
    "count_with_encoding",
    "encoding_file",
    "encoding_for",
    "estimate_chars",
    "load_encoding",
    "loaded_encoding",
]

logger = logging.getLogger("steer_common.tokens")

#: Characters per output token when a provider's own ratio is not known: the pool of every
#: recorded plain-text reply (27 replies, 5,519 characters / 1,415 tokens). Each provider's
#: record has its own ratio (``Provider.chars_per_token``), measured on the recorded
#: replies in tests/fixtures/sse against the tokens the provider reported for them
#: (tests/common/test_tokens.py measures again and states the error per recording).
DEFAULT_CHARS_PER_TOKEN = 3.9

_URL = "https://openaipublic.blob.core.windows.net/encodings/{}.tiktoken"
# Encodings loaded in this process (copy-on-write: no locks in the core).
_LOADED: Mapping[str, Any] = {}
_WARNED: frozenset[str] = frozenset()


def estimate_chars(chars: int, provider: str | None) -> int:
    """Tokens for ``chars`` characters by the provider's measured ratio (0 for none)."""
    if chars <= 0:
        return 0
    spec = PROVIDERS.get(provider or "")
    return math.ceil(chars / (DEFAULT_CHARS_PER_TOKEN if spec is None else spec.chars_per_token))


def encoding_for(model: str | None, provider: str | None) -> str:
    """The tiktoken encoding to count ``model``'s tokens with (see the module docstring)."""
    if provider == "openai" and model:
        from tiktoken.model import encoding_name_for_model  # noqa: PLC0415 - lazy, light

        try:
            return encoding_name_for_model(model)
        except KeyError:
            return "o200k_base"  # every OpenAI model since gpt-4o
    return "cl100k_base"


def encoding_file(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """Where tiktoken keeps ``name``'s file, if it is on this machine (no network)."""
    env = os.environ if environ is None else environ
    cache_dir = env.get("TIKTOKEN_CACHE_DIR") or env.get("DATA_GYM_CACHE_DIR")
    if cache_dir is None:
        cache_dir = os.path.join(tempfile.gettempdir(), "data-gym-cache")
    path = os.path.join(cache_dir, hashlib.sha1(_URL.format(name).encode()).hexdigest())
    return path if os.path.isfile(path) else None


def loaded_encoding(name: str) -> Any:
    """The encoding if this process has loaded it already, else ``None`` (never blocks)."""
    return _LOADED.get(name)


def load_encoding(name: str) -> Any:
    """Load ``name`` from this machine's tiktoken cache; ``None`` when it is not there.

    Blocking CPU work (up to a second for ``o200k_base``): front ends run it in a worker
    thread. Never downloads. Logs once per encoding when it falls back.
    """
    global _LOADED, _WARNED
    encoding = _LOADED.get(name)
    if encoding is not None:
        return encoding
    if encoding_file(name) is None:
        if name not in _WARNED:
            _WARNED = _WARNED | {name}
            logger.warning(
                "tiktoken encoding %s is not on this machine (set TIKTOKEN_CACHE_DIR to a "
                "directory holding it); token estimates use characters instead",
                name,
            )
        return None
    import tiktoken  # noqa: PLC0415 - only when an estimate is needed

    encoding = tiktoken.get_encoding(name)  # reads the cached file: no network
    _LOADED = {**_LOADED, name: encoding}
    return encoding


def count_with_encoding(encoding: Any, text: str) -> int:
    """Tokens of ``text`` (special-token text counts as ordinary text)."""
    return len(encoding.encode(text, disallowed_special=()))
