"""Names the user typed, checked against the names that exist: "did you mean" hints.

A misspelt name is refused with the nearest real one (``open_ai`` → ``openai``,
``streaming_option`` → ``streaming_options``) rather than ignored: an unknown provider in
``base_urls`` sent the call to the real host, an unknown keyword went into the request
body. Case, ``_`` and ``-`` do not count towards the distance.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["closest", "did_you_mean"]


def _plain(name: str) -> str:
    return name.lower().replace("_", "").replace("-", "")


def closest(name: str, known: Iterable[str], cutoff: float = 0.8) -> str | None:
    """The known name nearest ``name`` (``None``: none is near): equal once case, ``_``
    and ``-`` are ignored, else by :func:`difflib.get_close_matches`."""
    by_plain = {_plain(k): k for k in known}
    plain = _plain(name)
    if plain in by_plain:
        return by_plain[plain]
    found = difflib.get_close_matches(plain, list(by_plain), n=1, cutoff=cutoff)
    return by_plain[found[0]] if found else None


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """``" (did you mean 'x'?)"``, or ``""`` when no known name is near ``name``."""
    match = closest(name, known)
    return f" (did you mean {match!r}?)" if match is not None else ""
