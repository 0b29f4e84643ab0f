"""The guide's ``steer_llm_sdk.agents``: definitions from ``steer_common.agents``, the asyncio
runner from ``steer_async.agents``."""

from steer_async.agents.runner import AgentRunner
from steer_common.agents import AgentDefinition, AgentEvent, AgentResult, Tool, tool

__all__ = ["AgentDefinition", "AgentEvent", "AgentResult", "AgentRunner", "Tool", "tool"]
