"""From the public arguments of a streaming call to a :class:`~steer_common.session.StreamSession`.

The public methods (``stream``, ``stream_with_usage``, ``stream_events`` of both clients)
build one frozen :class:`StreamCall` at the edge, from their arguments, and pass it whole;
the client's own configuration is one frozen :class:`ClientSettings`. :func:`open_session`
turns the two into a session: it checks the arguments, routes the model, resolves the key
and base URL, builds the request and creates the session. The clients add only I/O.
:func:`prepare_session` does the same from keyword arguments, for code that drives the
core itself (docs/bring-your-own-transport.md).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Concatenate, Literal, ParamSpec, TypeVar

from pydantic import ValidationError

from steer_common.errors import ConfigurationError, MissingAPIKeyError
from steer_common.models.response import ResumePoint
from steer_common.names import closest, did_you_mean
from steer_common.options import DEFAULT_OPTIONS, StreamingOptions, coerce_options
from steer_common.providers import PROVIDERS, format_for, get_format
from steer_common.providers.base import WireFormat
from steer_common.request import build_request, prepare_call
from steer_common.routing import (
    API_KEY_ENV,
    Credentials,
    Route,
    resolve_credentials,
    route_model,
    routed_api,
)
from steer_common.secrets import Secret
from steer_common.session import Consumer, StreamSession
from steer_common.spec import Authorizer, CredentialChain
from steer_common.survival import Chain

__all__ = [
    "CALL_ARGUMENTS",
    "ClientSettings",
    "OpenAIAPI",
    "StreamCall",
    "check_extras",
    "open_session",
    "prepare_session",
]

#: Which OpenAI streaming API serves ``gpt-*``/``o*`` models: Chat Completions or Responses.
OpenAIAPI = Literal["chat", "responses"]

Messages = Sequence[Mapping[str, Any]]


#: The arguments of the public call methods (``stream``, ``stream_with_usage``, ...).
CALL_ARGUMENTS = (
    "prompt",
    "messages",
    "model",
    "streaming_options",
    "response_format",
    "tools",
    "temperature",
    "max_tokens",
    "openai_api",
    "system",
    "stop",
    "timeout",
    "max_retries",
    "resume",
    "fallbacks",
    "return_usage",
)
#: Settings of the client, not of a call, with what other SDKs call them.
_CLIENT_SETTINGS = {
    "api_keys": "api_keys",
    "api_key": "api_keys",
    "base_urls": "base_urls",
    "base_url": "base_urls",
    "api_base": "base_urls",
    "deployments": "deployments",
    "max_connections": "max_connections",
    "http_client": "http_client",
    "transport": "transport",
}
#: What other SDKs take per call, and where it goes here.
_ELSEWHERE = {
    "request_timeout": "a timeout is a StreamingOptions field: streaming_options="
    "{'total_timeout': ...}",
    "num_retries": "retries are a StreamingOptions field: streaming_options="
    "{'max_reconnect_attempts': ...}",
    "stream": "every call streams; drop stream=",
}


#: Provider body fields that a near miss would take for a call argument.
_PROVIDER_FIELDS = frozenset({"stream_options", "background", "store"})


def check_extras(extras: Mapping[str, Any]) -> None:
    """Refuse the keyword arguments that would reach the request body by mistake: a
    ``StreamingOptions`` field, a client setting, another SDK's per-call setting, or a
    near miss of a call argument or an option. Anything else is a provider extra and goes
    into the body as it is (docs/providers.md).

    Raises:
        ConfigurationError: naming the argument and where it belongs.
    """
    options = StreamingOptions.model_fields
    for name in extras:
        if name in _PROVIDER_FIELDS:
            continue
        if name in options:
            hint = f"it is a StreamingOptions field: streaming_options={{{name!r}: ...}}"
        elif name in _CLIENT_SETTINGS:
            hint = f"it is a setting of the client: SteerLLMClient({_CLIENT_SETTINGS[name]}=...)"
        elif name in _ELSEWHERE:
            hint = _ELSEWHERE[name]
        elif (near := closest(name, CALL_ARGUMENTS)) is not None:
            hint = f"did you mean {near}=...?"
        elif (near := closest(name, options)) is not None:
            hint = f"did you mean streaming_options={{{near!r}: ...}}?"
        else:
            continue
        raise ConfigurationError(f"{name}=... would be sent to the provider as is: {hint}")


_S = TypeVar("_S")
_R = TypeVar("_R")
_P = ParamSpec("_P")


def takes_call(
    of: Callable[_P, StreamCall],
) -> Callable[[Callable[[_S, StreamCall], _R]], Callable[Concatenate[_S, _P], _R]]:
    """A public method's parameters are those of ``of`` (:meth:`StreamCall.of`), written
    once: the method receives the :class:`StreamCall` they build. Type checkers and
    ``inspect.signature`` see ``of``'s parameters, after ``self``::

        @takes_call(StreamCall.of)
        def stream_events(self, call: StreamCall) -> Iterator[StreamEvent]: ...
    """
    parameters = list(inspect.signature(of).parameters.values())

    def decorate(method: Callable[[_S, StreamCall], _R]) -> Callable[Concatenate[_S, _P], _R]:
        def public(self: _S, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
            return method(self, of(*args, **kwargs))

        if inspect.iscoroutinefunction(method):  # stays a coroutine function to inspect

            async def public_async(self: _S, /, *args: _P.args, **kwargs: _P.kwargs) -> Any:
                return await method(self, of(*args, **kwargs))

            public = public_async  # type: ignore[assignment]
        functools.update_wrapper(public, method, updated=())
        del public.__wrapped__  # type: ignore[attr-defined]  # the signature is of's, below
        self_parameter = inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)
        public.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [self_parameter, *parameters],
            return_annotation=inspect.signature(method).return_annotation,
        )
        return public

    return decorate


@dataclass(frozen=True, slots=True)
class StreamCall:
    """One call, as a public method received it (see the clients' ``stream_with_usage``).

    Build it with :meth:`of`, which takes the methods' own arguments and checks that
    exactly one input was given.
    """

    input: str | Messages
    model: str | None
    streaming_options: StreamingOptions | Mapping[str, Any] | None = None
    response_format: Any = None
    tools: Sequence[Any] | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    openai_api: OpenAIAPI | None = None
    extras: Mapping[str, Any] = field(default_factory=dict)
    #: The OpenTelemetry context of the call's span (an agent run's); ``None``: the current.
    trace_parent: Any = None
    #: ``stream(..., return_usage=True)``: deprecated, the whole response instead.
    return_usage: bool = False
    #: A system prompt, whichever the provider (``system=``).
    system: str | None = None
    #: Stop sequences, whichever the provider (``stop=``).
    stop: str | Sequence[str] | None = None
    #: openai-python's ``timeout=`` and ``max_retries=``: shorthands for options.
    timeout: float | None = None
    max_retries: int | None = None
    #: A kept stream to pick up (``resume=partial_response.resume``), instead of a prompt.
    resume: ResumePoint | None = None
    #: The models to try, in order, when the model fails for good (``fallbacks=``).
    fallbacks: tuple[str, ...] = ()

    @classmethod
    def of(
        cls,
        prompt_or_messages: str | Messages | None = None,
        model: str | None = None,
        *,
        prompt: str | None = None,
        messages: Messages | None = None,
        streaming_options: StreamingOptions | Mapping[str, Any] | None = None,
        response_format: Any = None,
        tools: Sequence[Any] | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        openai_api: OpenAIAPI | None = None,
        system: str | None = None,
        stop: str | Sequence[str] | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        resume: ResumePoint | Mapping[str, Any] | str | None = None,
        fallbacks: Sequence[str] | None = None,
        return_usage: bool = False,
        **extras: Any,
    ) -> StreamCall:
        """The call for a public method's arguments: the one place the parameters of
        ``stream``, ``stream_with_usage``, ``stream_events`` and ``stream_output`` (both
        clients') are written (:func:`takes_call` gives them to each method).

        Args:
            prompt_or_messages: the prompt (``str``) or the messages (a list of
                ``{"role": ..., "content": ...}``), positionally.
            model: the model (``"gpt-4o-mini"``, ``"claude-sonnet-5"``, ``"openai/..."``);
                the client's ``model=`` when not given.
            prompt: the prompt, by name.
            messages: the messages, by name.
            streaming_options: this call's :class:`StreamingOptions` (or a dict of its
                fields), instead of the client's.
            response_format: JSON mode: ``{"type": "json_object"}``, a JSON schema, or a
                pydantic model class (``get_json()`` then validates against it).
            tools: the tools the model may call (pydantic models, functions or JSON
                schemas: docs/agents.md).
            temperature: the sampling temperature.
            max_tokens: the most output tokens.
            openai_api: ``"chat"`` or ``"responses"`` for OpenAI models, this call only.
            system: a system prompt, sent where each provider takes one (a leading system
                message, Anthropic's and Bedrock's ``system``, Gemini's
                ``systemInstruction``).
            stop: a stop sequence or a list of them, sent as each provider names them
                (``stop``, ``stop_sequences``, ``stopSequences``); OpenAI's Responses API
                takes none, so there it is refused.
            timeout: as openai-python's: the most seconds of each wait, the connection
                and response head (``connection_timeout``) and each silence between
                events (``read_timeout``); ``total_timeout`` bounds the whole call.
            max_retries: as openai-python's: retries after the first attempt
                (``max_reconnect_attempts``).
            resume: a kept stream to pick up, in this process or another: the
                ``resume`` of a partial response (a :class:`ResumePoint`, or its dict or
                JSON); its events are streamed again from the start, those handed on
                before build the response without being handed on again. Instead of a
                prompt: the model and provider are the point's.
            fallbacks: models to try, in order, when ``model`` fails for good: before
                any content, on a failure another provider may not share (an outage, an
                overload, a 429 past the retries); after content, the next one continues
                the text shown where its format continues an assistant turn
                (docs/errors.md, "Streams that survive").
            return_usage: deprecated, ``stream()`` only: return what ``stream_with_usage``
                returns.
            extras: provider extras, sent in the request body as they are (``top_p=``,
                ``thinking=``...); a keyword that looks like a mistake is refused
                (:func:`check_extras`).

        Raises:
            ConfigurationError: no input, or more than one (positional, ``prompt=``,
                ``messages=``); a keyword that is not a provider extra.
        """
        given = [v for v in (prompt_or_messages, prompt, messages) if v is not None]
        point = None if resume is None else _resume_point(resume)
        if point is not None:
            if given or model is not None or fallbacks:
                raise ConfigurationError(
                    "resume= picks up a kept stream with its own prompt and model: pass "
                    "no prompt, messages, model or fallbacks with it"
                )
            # The request is never sent (its URL and credentials are): no prompt of its own.
            given = [f"(picking up {point.response_id})"]
        if len(given) != 1:
            raise ConfigurationError(
                "pass exactly one of a prompt or messages (positionally, prompt=... or "
                "messages=...)"
            )
        if extras:
            check_extras(extras)
        if fallbacks is not None and (
            isinstance(fallbacks, str) or not all(isinstance(m, str) and m for m in fallbacks)
        ):
            raise ConfigurationError(
                f"fallbacks= takes a list of model names, not {fallbacks!r}: "
                "fallbacks=['gpt-5-mini', 'gemini-2.5-flash']"
            )
        return cls(
            given[0],
            model,
            streaming_options,
            response_format,
            tools,
            temperature,
            max_tokens,
            openai_api,
            extras,
            return_usage=return_usage,
            system=system,
            stop=stop,
            timeout=timeout,
            max_retries=max_retries,
            resume=point,
            fallbacks=tuple(fallbacks or ()),
        )


def _resume_point(given: ResumePoint | Mapping[str, Any] | str | None) -> ResumePoint | None:
    """``resume=`` as a :class:`ResumePoint` (from itself, its dict or its JSON).

    Raises:
        ConfigurationError: it is not one.
    """
    if given is None or isinstance(given, ResumePoint):
        return given
    try:
        if isinstance(given, str):
            return ResumePoint.model_validate_json(given)
        return ResumePoint.model_validate(given)
    except ValidationError as exc:
        raise ConfigurationError(
            f"resume= takes the resume of a partial response (a ResumePoint, its dict or "
            f"its JSON): {exc.errors()[0]['msg']}"
        ) from None


@dataclass(frozen=True, slots=True)
class ClientSettings:
    """A client's configuration: keys and base URLs by provider (missing ones come from
    the environment), the OpenAI API to use, the default options of every call."""

    api_keys: Mapping[str, Any] = field(default_factory=dict)
    base_urls: Mapping[str, str | None] = field(default_factory=dict)
    openai_api: OpenAIAPI = "chat"
    streaming_options: StreamingOptions | None = None
    credentials: CredentialChain | None = None
    deployments: Mapping[str, str] = field(default_factory=dict)
    #: The model of calls that name none.
    model: str | None = None

    def __post_init__(self) -> None:
        for argument, given in (("api_keys", self.api_keys), ("base_urls", self.base_urls)):
            for name in given:
                if name not in PROVIDERS:
                    raise ConfigurationError(
                        f"{argument}: no provider is called {name!r}"
                        f"{did_you_mean(name, PROVIDERS)} (the providers are: "
                        f"{', '.join(PROVIDERS)})"
                    )

    def __repr__(self) -> str:  # the keys stay out of reprs
        return f"ClientSettings(openai_api={self.openai_api!r}, providers={sorted(self.api_keys)})"

    @classmethod
    def of(
        cls,
        api_keys: Mapping[str, Any] | None,
        base_urls: Mapping[str, str | None] | None,
        openai_api: OpenAIAPI,
        streaming_options: StreamingOptions | Mapping[str, Any] | None,
        deployments: Mapping[str, str] | None,
        credentials: CredentialChain | None,
        model: str | None = None,
    ) -> ClientSettings:
        """The settings of a client's constructor arguments (both front ends').

        String keys are held as :class:`~steer_common.secrets.Secret` so that no repr shows
        them (a traceback's locals, a debugger's dump); token callables and cloud
        credential objects are kept as they are.
        """
        return cls(
            {p: Secret(k) if isinstance(k, str) else k for p, k in (api_keys or {}).items()},
            dict(base_urls or {}),
            openai_api,
            coerce_options(streaming_options),
            credentials=credentials,
            deployments=dict(deployments or {}),
            model=model,
        )


def open_session(
    call: StreamCall,
    settings: ClientSettings,
    *,
    environ: Mapping[str, str],
    consumer: Consumer = "events",
    chained: bool = False,
) -> StreamSession:
    """The session for ``call`` made with ``settings`` (see the module docstring);
    ``chained``: a later session of a call (a fallback, a continuation), which makes no
    chain of its own.

    ``environ`` is where keys and base URLs not given are looked up (the front ends pass
    ``os.environ``; the core reads nothing by itself).

    Raises:
        ConfigurationError: an unknown model, a missing key, malformed arguments.
    """
    point = call.resume
    model = point.model if point is not None else call.model or settings.model
    if model is None:
        raise ConfigurationError(
            "model is required, for example model='gpt-4o-mini' (per call, or the client's "
            "SteerLLMClient(model=...))"
        )
    if call.return_usage and consumer != "response":
        raise ConfigurationError(
            "return_usage=True is stream()'s (deprecated): use stream_with_usage() for the "
            "whole response"
        )
    openai_api = call.openai_api or settings.openai_api
    if openai_api not in ("chat", "responses"):
        raise ConfigurationError(f"openai_api must be 'chat' or 'responses', not {openai_api!r}")
    provider, name = route_model(model)
    found = resolve_credentials(
        provider, api_keys=settings.api_keys, base_urls=settings.base_urls, environ=environ
    )
    if point is not None:
        wire = get_format(point.wire_format)
        if wire.resumption is None:
            raise ConfigurationError(f"resume=: {point.wire_format} keeps no stream to pick up")
        if wire.provider != provider or point.provider != provider:
            raise ConfigurationError(
                f"resume=: the point's model {point.model!r} routes to {provider}, but its "
                f"stream is {point.provider}'s ({point.wire_format}): not a point this "
                "library made"
            )
    else:
        wire = _wire_format(model, provider, name, openai_api)
    route = Route(provider, name, wire.name, found.key, found.base_url)
    authorize = _authorizer(found, route, settings.credentials)
    spec = prepare_call(
        call.input,
        model=name,
        temperature=call.temperature,
        max_tokens=call.max_tokens,
        response_format=call.response_format,
        tools=call.tools,
        extras=call.extras,
        system=call.system,
        stop=call.stop,
    )
    options = coerce_options(call.streaming_options) or settings.streaming_options
    options = _shorthands(options or DEFAULT_OPTIONS, call)
    request = build_request(route, spec, compression=options.enable_compression)
    chain = None
    if not chained and point is None and (call.fallbacks or options.resume == "continue"):
        chain = _chain(call, settings, environ, consumer, model)
    return StreamSession(
        request,
        wire_format=wire.name,
        options=options,
        consumer=consumer,
        response_format=spec.response_format.model if spec.response_format else None,
        model=settings.deployments.get(name, name),  # for prices and token estimates
        authorize=authorize,
        spec=spec,
        trace_parent=call.trace_parent,
        resume=point,
        chain=chain,
    )


def _chain(
    call: StreamCall,
    settings: ClientSettings,
    environ: Mapping[str, str],
    consumer: Consumer,
    model: str,
) -> Chain:
    """How ``call`` goes on after its model fails for good (:mod:`steer_common.survival`).

    Raises:
        ConfigurationError: a fallback that cannot be called (an unknown model, no key):
            said now, not in the middle of a stream.
    """

    def wire_of(name: str) -> WireFormat:
        provider, routed = route_model(name)
        return _wire_format(name, provider, routed, call.openai_api or settings.openai_api)

    def open_next(name: str, prefill: str | None) -> StreamSession:
        following = dataclasses.replace(
            call, model=name, input=_prefilled(call.input, prefill), fallbacks=()
        )
        return open_session(following, settings, environ=environ, consumer=consumer, chained=True)

    first = wire_of(model)
    for fallback in call.fallbacks:
        wire = wire_of(fallback)
        if call.extras and wire.build_body is not first.build_body:
            raise ConfigurationError(
                f"fallbacks=: {fallback} speaks {wire.title}, not {first.title}, and the "
                f"provider extras ({', '.join(sorted(call.extras))}) are sent as they are: "
                "they would reach a provider that does not take them; use fallbacks of the "
                "same format, or no extras"
            )
        open_next(fallback, None)  # its key, its route, the input it takes: said now

    return Chain(model, call.fallbacks, open_next, lambda name: wire_of(name).prefill)


def _wire_format(model: str, provider: str, name: str, openai_api: OpenAIAPI) -> WireFormat:
    """The wire format of ``model`` (routed to ``provider`` as ``name``): the API its
    prefix picks (``gemini_interactions/``), else the one its name needs (Bedrock's
    Anthropic models), else the call's ``openai_api``."""
    api_for = PROVIDERS[provider].api_for
    api = routed_api(model) or (api_for(name) if api_for else openai_api)
    return format_for(provider, api)


def _prefilled(given: str | Messages, prefill: str | None) -> str | Messages:
    """The call's input with the text shown as a trailing assistant message, without its
    trailing whitespace (which Anthropic refuses; the reply starts with it again). A call
    that ended with a prefill of its own has the text shown added to it: the model had
    continued that one."""
    if prefill is None:
        return given
    messages = [{"role": "user", "content": given}] if isinstance(given, str) else list(given)
    last = messages[-1] if messages else None
    if (
        last is not None
        and last.get("role") == "assistant"
        and isinstance(last.get("content"), str)
    ):
        prefill = last["content"] + prefill
        messages = messages[:-1]
    return [*messages, {"role": "assistant", "content": prefill.rstrip()}]


def _shorthands(options: StreamingOptions, call: StreamCall) -> StreamingOptions:
    """``options`` with a call's ``timeout=`` and ``max_retries=`` in them.

    Raises:
        ConfigurationError: a value the options refuse (a negative timeout...).
    """
    changes: dict[str, Any] = {}
    if call.timeout is not None:
        changes["connection_timeout"] = changes["read_timeout"] = call.timeout
    if call.max_retries is not None:
        changes["max_reconnect_attempts"] = call.max_retries
    return options.replace(**changes) if changes else options


def _authorizer(
    found: Credentials, route: Route, chains: CredentialChain | None
) -> Authorizer | None:
    """What authorizes the call when no fixed key does: the user's token callable (its
    token sent as the format's ``token_headers`` say), or the provider's cloud chain."""
    token = found.token
    if token is not None:
        wire = get_format(route.wire_format)
        headers = wire.token_headers or wire.auth_headers
        return lambda request: headers(token())
    if found.chain is None:
        return None
    if chains is None:
        variable = API_KEY_ENV.get(route.provider)
        raise MissingAPIKeyError(
            f"no key for {route.provider}: pass api_keys={{'{route.provider}': ...}} (a key "
            "or a token callable)"
            + (f" or set {variable}" if variable else "")
            + "; its cloud credential chain is used by the clients only",
            provider=route.provider,
        )
    return chains(found.chain, route, found.given)


def prepare_session(
    prompt_or_messages: str | Messages,
    *,
    model: str | None,
    api_keys: Mapping[str, str | None] | None = None,
    base_urls: Mapping[str, str | None] | None = None,
    environ: Mapping[str, str] | None = None,
    openai_api: OpenAIAPI = "chat",
    streaming_options: StreamingOptions | Mapping[str, Any] | None = None,
    response_format: Any = None,
    tools: Sequence[Any] | None = None,
    temperature: float | None = None,
    max_tokens: int | None = None,
    extras: Mapping[str, Any] | None = None,
    consumer: Consumer = "events",
) -> StreamSession:
    """:func:`open_session` from keyword arguments: ``session.request`` is the HTTP request
    to send, ``session.wire_format`` the :class:`~steer_common.StreamParser` format of the
    reply, and ``session.flow()`` the generator that decides everything else.

    Raises:
        ConfigurationError: an unknown model, a missing key, malformed arguments.
    """
    call = StreamCall.of(
        prompt_or_messages,
        model,
        streaming_options=streaming_options,
        response_format=response_format,
        tools=tools,
        temperature=temperature,
        max_tokens=max_tokens,
        **(extras or {}),
    )
    settings = ClientSettings(api_keys or {}, base_urls or {}, openai_api)
    return open_session(call, settings, environ=environ or {}, consumer=consumer)
