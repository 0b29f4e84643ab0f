"""The loopback emulator, where it has always been imported from: ``steer_emulator``'s server.

The emulator is a package of its own (:mod:`steer_emulator`: the renderers, the request
checks, the server, the pytest plugin); this module re-exports its server, so
``from steer_sync.emulator import Emulator`` and ``python -m steer_sync.emulator`` keep
working, and like ``steer_emulator`` they load no HTTP client.
"""

from __future__ import annotations

from steer_emulator.server import TOKEN_PATH, Emulator, RecordedRequest, main

__all__ = ["TOKEN_PATH", "Emulator", "RecordedRequest", "main"]

if __name__ == "__main__":
    raise SystemExit(main())
