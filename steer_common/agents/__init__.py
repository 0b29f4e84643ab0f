"""Tool-using agents: the definitions and the loop, free of I/O.

``steer_sync.agents.runner.AgentRunner`` and ``steer_async.agents.runner.AgentRunner``
drive :class:`AgentLoop` with a client; docs/agents.md shows them at work.
"""

from steer_common.agents.definition import AgentDefinition, Tool, ToolArgumentsError, tool
from steer_common.agents.loop import (
    AgentEvent,
    AgentLoop,
    AgentResult,
    AgentStep,
    PreparedCall,
    ToolResult,
    sum_usage,
)

__all__ = [
    "AgentDefinition",
    "AgentEvent",
    "AgentLoop",
    "AgentResult",
    "AgentStep",
    "PreparedCall",
    "Tool",
    "ToolArgumentsError",
    "ToolResult",
    "sum_usage",
    "tool",
]
