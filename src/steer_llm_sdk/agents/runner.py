"""The guide's ``steer_llm_sdk.agents.runner``: the asyncio ``AgentRunner``."""

from steer_async.agents.runner import AgentRunner

__all__ = ["AgentRunner"]
