"""steer_sync: the blocking front end of steer-llm-sdk (requests/urllib3, thread-safe).

The client arrives with the clients issue; until then ``python -m steer_sync`` replays a
bundled recorded stream through the sans-IO core to show what it produces.
"""

from steer_common._version import __version__

__all__ = ["__version__"]
