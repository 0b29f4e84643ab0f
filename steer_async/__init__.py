"""steer_async: the asyncio front end of steer-llm-sdk (httpx), the twin of ``steer_sync``."""

from steer_common._version import __version__

__all__ = ["__version__"]
