"""Tool-using agents on the blocking client: :class:`~steer_sync.agents.runner.AgentRunner`."""

from steer_sync.agents.runner import AgentRunner

__all__ = ["AgentRunner"]
