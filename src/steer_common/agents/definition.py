"""What an agent is: a model, prompt templates, tools, a final format and a step budget.

:class:`Tool` wraps a plain Python function (or a coroutine function). Its JSON schema is
derived from the type hints and the docstring through pydantic (the ``Args:`` section
describes the parameters), or given explicitly. Arguments the model sends are validated
before the call; what fails validation goes back to the model as the tool's result, so
the model can correct itself.

:class:`AgentDefinition` holds the rest. Its prompts are templates with ``{variables}``,
filled by :meth:`AgentDefinition.messages` (``{{name}}`` for a literal ``{name}``; other
braces, a JSON example say, are left as they are); a missing variable is a
ConfigurationError that names it.
"""

from __future__ import annotations

import inspect
import json
import re
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from steer_common.errors import ConfigurationError

__all__ = ["AgentDefinition", "Tool", "ToolArgumentsError", "tool"]


class ToolArgumentsError(ValueError):
    """The model's arguments for a tool do not validate; the message goes back to the model."""


@dataclass(frozen=True)
class Tool:
    """A function the model may call.

    Attributes:
        name: the name the model calls it by.
        description: what it does, for the model.
        parameters: the JSON schema of its arguments (an object).
        function: the Python callable (plain or coroutine function), or ``None`` for a tool
            whose calls you handle yourself.
        model: the pydantic model that validates the arguments (derived tools only).
    """

    name: str
    description: str = ""
    parameters: dict[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})
    function: Callable[..., Any] | None = None
    model: type[BaseModel] | None = None

    @classmethod
    def from_function(
        cls,
        function: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        parameters: dict[str, Any] | None = None,
    ) -> Tool:
        """A tool from ``function``: its schema from the type hints and docstring (or
        ``parameters``, an explicit JSON schema, which is then checked for required
        properties only)."""
        summary, documented = _parse_docstring(inspect.getdoc(function) or "")
        model = None
        if parameters is None:
            model = _arguments_model(function, documented)
            parameters = _clean_schema(model.model_json_schema())
        return cls(
            name=name or function.__name__,
            description=description if description is not None else summary,
            parameters=parameters,
            function=function,
            model=model,
        )

    @property
    def is_coroutine(self) -> bool:
        return inspect.iscoroutinefunction(self.function)

    @property
    def spec(self) -> dict[str, Any]:
        """The tool as the clients' ``tools=`` argument takes it."""
        return {"name": self.name, "description": self.description, "parameters": self.parameters}

    def validate(self, arguments: Any) -> dict[str, Any]:
        """The keyword arguments to call the function with.

        Raises:
            ToolArgumentsError: the arguments do not validate (the message says why).
        """
        if not isinstance(arguments, dict):
            raise ToolArgumentsError(
                f"arguments for {self.name} must be a JSON object, got {arguments!r}"
            )
        if self.model is not None:
            try:
                instance = self.model.model_validate(arguments)
            except ValidationError as exc:
                problems = "; ".join(
                    f"{'.'.join(map(str, e['loc'])) or 'arguments'}: {e['msg']}"
                    for e in exc.errors()
                )
                raise ToolArgumentsError(f"invalid arguments for {self.name}: {problems}") from None
            return {name: getattr(instance, name) for name in type(instance).model_fields}
        missing = [k for k in self.parameters.get("required", ()) if k not in arguments]
        if missing:
            raise ToolArgumentsError(
                f"invalid arguments for {self.name}: missing {', '.join(missing)}"
            )
        return dict(arguments)


def tool(function: Callable[..., Any] | None = None, *, name: str | None = None) -> Any:
    """Decorator form of :meth:`Tool.from_function`: ``@tool`` or ``@tool(name=...)``."""
    if function is None:
        return lambda f: Tool.from_function(f, name=name)
    return Tool.from_function(function, name=name)


@dataclass(frozen=True)
class AgentDefinition:
    """An agent: what :class:`~steer_sync.agents.runner.AgentRunner` runs.

    Attributes:
        model: the model, as the clients name it (``"gpt-4o-mini"``, ``"claude-sonnet-4-5"``).
        user_prompt: the first user message, a template with ``{variables}``.
        system_prompt: the system message template, if any.
        tools: :class:`Tool` objects or plain functions (made into tools).
        response_format: the final answer's format (``{"type": "json_object"}``, a JSON
            schema, a pydantic model class); the result is then the parsed value.
        max_steps: the most model calls; a model still calling tools after the last one
            ends the run with :class:`~steer_common.errors.MaxStepsError`.
        temperature, max_tokens: sampling parameters of every step.
        extras: provider extras passed through on every step (``thinking=...`` ...).
        tool_errors: ``"report"`` (a tool that raises sends the error to the model as its
            result) or ``"raise"`` (the run ends with a
            :class:`~steer_common.errors.ToolExecutionError`).
        fallbacks: the models each step moves on to when ``model`` fails for good, in
            order (the clients' ``fallbacks=``; docs/errors.md, "Streams that survive").
        name: what the agent is called: ``gen_ai.agent.name`` in OpenTelemetry, and its
            run's span is ``invoke_agent {name}``.
    """

    model: str
    user_prompt: str
    system_prompt: str | None = None
    tools: Sequence[Tool | Callable[..., Any]] = ()
    response_format: Any = None
    max_steps: int = 10
    temperature: float | None = None
    max_tokens: int | None = None
    extras: Mapping[str, Any] = field(default_factory=dict)
    tool_errors: Literal["report", "raise"] = "report"
    name: str | None = None
    fallbacks: Sequence[str] = ()

    def __post_init__(self) -> None:
        tools = tuple(t if isinstance(t, Tool) else Tool.from_function(t) for t in self.tools)
        object.__setattr__(self, "tools", tools)
        names = [t.name for t in tools]
        if len(set(names)) != len(names):
            raise ConfigurationError(f"AgentDefinition: tool names must be unique, got {names}")
        if self.max_steps < 1:
            raise ConfigurationError("AgentDefinition: max_steps must be at least 1")
        if self.tool_errors not in ("report", "raise"):
            raise ConfigurationError("AgentDefinition: tool_errors is 'report' or 'raise'")

    def tool_named(self, name: str | None) -> Tool | None:
        return next((t for t in self.tools if isinstance(t, Tool) and t.name == name), None)

    def messages(self, variables: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """The first messages, with ``variables`` filled into the templates.

        Raises:
            ConfigurationError: a template names a variable that was not given.
        """
        values = dict(variables or {})
        out = []
        if self.system_prompt:
            out.append({"role": "system", "content": _render(self.system_prompt, values)})
        out.append({"role": "user", "content": _render(self.user_prompt, values)})
        return out


# ``{name}`` is a variable; ``{{name}}`` stands for a literal ``{name}``. Other braces (a
# JSON example in a prompt) are text.
_VARIABLE = re.compile(r"\{\{(\w+)\}\}|\{(\w+)\}")


def _render(template: str, values: dict[str, Any]) -> str:
    missing = sorted({m.group(2) for m in _VARIABLE.finditer(template) if m.group(2)} - set(values))
    if missing:
        raise ConfigurationError(
            f"the agent's prompt needs the variable(s) {', '.join(missing)}; "
            f"given: {', '.join(sorted(values)) or 'none'}"
        )
    return _VARIABLE.sub(
        lambda m: "{" + m.group(1) + "}" if m.group(1) else str(values[m.group(2)]), template
    )


_ARG_LINE = re.compile(r"^\s{2,}(\*{0,2}\w+)(?:\s*\([^)]*\))?\s*:\s*(.*)$")


def _parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """The summary paragraph and the ``Args:`` descriptions of a Google-style docstring."""
    summary = doc.split("\n\n", 1)[0].strip().replace("\n", " ")
    described: dict[str, str] = {}
    lines = doc.splitlines()
    inside = False
    current = None
    for line in lines:
        if line.strip() in ("Args:", "Arguments:", "Parameters:"):
            inside = True
            continue
        if inside:
            if line and not line.startswith(" "):
                break  # the next section
            match = _ARG_LINE.match(line)
            if match and len(line) - len(line.lstrip()) <= 4:
                current = match.group(1).lstrip("*")
                described[current] = match.group(2).strip()
            elif current and line.strip():
                described[current] += " " + line.strip()
    return summary, described


def _arguments_model(function: Callable[..., Any], documented: dict[str, str]) -> type[BaseModel]:
    try:
        hints = typing.get_type_hints(function, include_extras=True)
    except Exception as exc:
        raise ConfigurationError(
            f"tool {getattr(function, '__name__', function)!r}: cannot read its type hints: {exc}"
        ) from exc
    fields: dict[str, Any] = {}
    for name, parameter in inspect.signature(function).parameters.items():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            raise ConfigurationError(
                f"tool {function.__name__!r}: *args and **kwargs cannot be described to a "
                "model; give the tool an explicit parameters schema"
            )
        annotation = hints.get(name, Any)
        default = ... if parameter.default is parameter.empty else parameter.default
        fields[name] = (annotation, Field(default, description=documented.get(name)))
    return create_model(
        f"{function.__name__}_arguments", __config__=ConfigDict(extra="forbid"), **fields
    )


def _clean_schema(schema: Any) -> Any:
    """A pydantic schema without the ``title`` keys (noise to a model)."""
    if isinstance(schema, dict):
        return {
            k: _clean_schema(v)
            for k, v in schema.items()
            if not (k == "title" and isinstance(v, str))
        }
    if isinstance(schema, list):
        return [_clean_schema(v) for v in schema]
    return schema


def format_output(value: Any) -> str:
    """A tool's return value as the text the model reads."""
    if isinstance(value, str):
        return value
    if isinstance(value, BaseModel):
        return value.model_dump_json()
    return json.dumps(value, default=str, ensure_ascii=False)
