"""How to install an optional extra, in one place for every message and hint.

The package is not on an index yet, so an install by its name (``steer-llm-sdk[otel]``)
names a package nobody serves: the hint is the command that works from a checkout.
Change :data:`INSTALL` when the package is published.
"""

from __future__ import annotations

__all__ = ["INSTALL", "install"]

#: The install command of an extra, ``{extra}`` its name.
INSTALL = "pip install -e '.[{extra}]'"


def install(extra: str) -> str:
    """The command that installs ``extra`` (``"pip install -e '.[otel]'"``)."""
    return INSTALL.format(extra=extra)
