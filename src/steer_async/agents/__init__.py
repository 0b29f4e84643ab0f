"""Tool-using agents on the asyncio client: :class:`~steer_async.agents.runner.AgentRunner`."""

from steer_async.agents.runner import AgentRunner

__all__ = ["AgentRunner"]
