"""Tool-using agents: the definitions and the loop, free of I/O.

``steer_sync.agents.runner.AgentRunner`` and ``steer_async.agents.runner.AgentRunner``
drive :meth:`AgentLoop.flow` with a client; docs/agents.md shows them at work.
"""

from steer_common.agents.definition import AgentDefinition, Tool, ToolArgumentsError, tool
from steer_common.agents.loop import (
    DEFAULT_MAX_CONCURRENT_TOOLS,
    AgentCommand,
    AgentEvent,
    AgentFlow,
    AgentLoop,
    AgentResult,
    AgentStep,
    Deliver,
    NextResult,
    PreparedCall,
    StartTools,
    StopTools,
    StreamStep,
    ToolResult,
    sum_usage,
)

__all__ = [
    "DEFAULT_MAX_CONCURRENT_TOOLS",
    "AgentCommand",
    "AgentDefinition",
    "AgentEvent",
    "AgentFlow",
    "AgentLoop",
    "AgentResult",
    "AgentStep",
    "Deliver",
    "NextResult",
    "PreparedCall",
    "StartTools",
    "StopTools",
    "StreamStep",
    "Tool",
    "ToolArgumentsError",
    "ToolResult",
    "sum_usage",
    "tool",
]
