"""Which provider serves a model, with which key, at which base URL.

Rules (DESIGN.md section 2, the official SDKs' conventions):

- an explicit ``provider/model`` prefix always wins, one per provider of the registry
  (``openai/``, ``anthropic/``, ``gemini/``, ``vertex_ai/``, ``azure/``, ``bedrock/``,
  ``xai/``, and ``openai_compatible/`` for any other OpenAI-compatible server); a few
  prefixes also pick one of the provider's APIs (``gemini_interactions/``: Gemini's
  Interactions API, :func:`routed_api`);
- otherwise by name: ``gpt-*``, ``chatgpt-*``, ``o1*``, ``o3*``, ``o4*`` -> OpenAI;
  ``claude-*`` -> Anthropic; ``gemini-*`` -> Gemini; ``grok-*`` -> xAI;
- anything else is an :class:`~steer_common.errors.UnknownModelError` that says how to name
  the provider, never a guess.

Keys come from ``api_keys={...}`` or each provider's variable (``OPENAI_API_KEY``,
``ANTHROPIC_API_KEY``, ``GEMINI_API_KEY``, ``VERTEX_AI_ACCESS_TOKEN``,
``AZURE_OPENAI_API_KEY``, ``AWS_BEARER_TOKEN_BEDROCK``, ``XAI_API_KEY``,
``OPENAI_COMPATIBLE_API_KEY``: :data:`API_KEY_ENV`); base URLs from ``base_urls={...}`` or
each provider's variable (:data:`BASE_URL_ENV`: ``OPENAI_BASE_URL`` with ``/v1``,
``ANTHROPIC_BASE_URL`` without, ``OPENAI_COMPATIBLE_BASE_URL`` required for that provider...).
The environment is passed in (a mapping), so this module reads no global state. A base
URL with ``user:password@`` in it is refused (the key is the only credential sent); a
plain ``http://`` URL on a host that is not loopback gets one warning per origin (the key
would travel in clear).
"""

from __future__ import annotations

import functools
import ipaddress
import logging
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from steer_common.errors import (
    ConfigurationError,
    MissingAPIKeyError,
    UnknownModelError,
    register_secret,
)
from steer_common.providers import PROVIDERS as REGISTRY
from steer_common.secrets import Secret
from steer_common.spec import Route

__all__ = [
    "API_KEY_ENV",
    "BASE_URL_ENV",
    "DEFAULT_BASE_URLS",
    "PROVIDERS",
    "Credentials",
    "Route",
    "resolve_credentials",
    "route_model",
    "routed_api",
]

#: Every provider's name, in the registry's order.
PROVIDERS: tuple[str, ...] = tuple(REGISTRY)
#: The first key variable of each provider (messages name it).
API_KEY_ENV: dict[str, str] = {name: p.key_env[0] for name, p in REGISTRY.items() if p.key_env}
#: The base-URL variable of each provider.
BASE_URL_ENV: dict[str, str] = {name: p.base_url_env for name, p in REGISTRY.items()}
#: The fixed default base URL of each provider that has one.
DEFAULT_BASE_URLS: dict[str, str] = {
    name: p.default_base_url for name, p in REGISTRY.items() if isinstance(p.default_base_url, str)
}

logger = logging.getLogger("steer_common.routing")
# Origins already warned about (copy-on-write: the core takes no locks).
_WARNED: frozenset[str] = frozenset()


def route_model(model: str) -> tuple[str, str]:
    """The provider of a model name and the name to send.

    Raises:
        UnknownModelError: no rule matches and no ``provider/`` prefix was given.
    """
    if not model or not isinstance(model, str):
        raise ConfigurationError("model is required, for example model='gpt-4o-mini'")
    head, sep, rest = model.partition("/")
    if sep and rest:
        for provider in REGISTRY.values():
            if head in provider.prefixes:
                return provider.name, rest
    for provider in REGISTRY.values():
        if model.startswith(provider.model_prefixes):
            return provider.name, model
    prefixes = ", ".join(f"{name}/" for name in REGISTRY)
    raise UnknownModelError(
        f"no provider is known for model {model!r}: prefix it with its provider ({prefixes}), "
        f"for example 'bedrock/{model}', or 'openai_compatible/{model}' for any "
        "OpenAI-compatible server (with OPENAI_COMPATIBLE_BASE_URL set)"
    )


def routed_api(model: str) -> str | None:
    """The API a model name's prefix picks (``gemini_interactions/gemini-2.5-flash``:
    ``"interactions"``), else ``None``: the provider's own rule, or the call's."""
    head, sep, rest = model.partition("/")
    if sep and rest:
        for provider in REGISTRY.values():
            for prefix, api in provider.api_prefixes:
                if head == prefix:
                    return api
    return None


class Credentials(NamedTuple):
    """How a call is authorized (:func:`resolve_credentials`).

    Attributes:
        key: the key, or ``""`` when a token or a chain authorizes the call instead.
        base_url: the base URL, without a trailing slash.
        token: a callable the user gave that returns a token, called before each attempt.
        chain: the cloud credential chain to use (the provider's ``credential``).
        given: what the user gave for the chain (an azure-identity credential), else ``None``.
    """

    key: str
    base_url: str
    token: Callable[[], str] | None = None
    chain: str | None = None
    given: Any = None


def resolve_credentials(
    provider: str,
    *,
    api_keys: Mapping[str, Any] | None,
    base_urls: Mapping[str, str | None] | None,
    environ: Mapping[str, str],
) -> Credentials:
    """The key and base URL for a provider: explicit values, then the environment, then
    the provider's own defaults (its cloud credential chain, when it has one).

    A key may be a callable that returns one (a token provider: OAuth tokens expire), or,
    for a provider with a cloud credential chain, a credential object of its SDK (a
    google-auth ``Credentials``, an azure-identity credential, a boto3 ``Session``);
    either is used before each attempt, not now.

    Raises:
        MissingAPIKeyError: no key; the message names the environment variable to set.
        ConfigurationError: no base URL where the provider needs one.
    """
    spec = REGISTRY[provider]
    key: Any = (api_keys or {}).get(provider)
    if not key:
        key = next((environ[name] for name in spec.key_env if environ.get(name)), None)
    base = (base_urls or {}).get(provider) or environ.get(spec.base_url_env)
    if not base:
        default = spec.default_base_url
        base = default(environ) if callable(default) else default
    if not base:
        raise ConfigurationError(
            f"{provider} needs a base URL: {spec.base_url_help or 'set ' + spec.base_url_env}",
            provider=provider,
        )
    _check_base_url(provider, base, keyed=bool(key) or spec.credential is not None)
    base = base.rstrip("/")
    if key and not isinstance(key, str) and not callable(key) and spec.credential is not None:
        return Credentials("", base, chain=spec.credential, given=key)
    if callable(key):
        return Credentials("", base, token=key)
    if not key and spec.credential is not None:
        return Credentials("", base, chain=spec.credential)
    if not key and not spec.key_optional:
        env = spec.key_env[0] if spec.key_env else "the key"
        raise MissingAPIKeyError(
            f"no API key for {provider}: set {env} or pass api_keys={{'{provider}': ...}}",
            provider=provider,
            env_var=env,
        )
    return Credentials(Secret(key or ""), base)


@functools.lru_cache(maxsize=256)  # a URL that passed passes again: checked once
def _check_base_url(provider: str, base: str, *, keyed: bool) -> None:
    """Refuse credentials in a base URL; warn, once, about a key sent in clear.

    Raises:
        ConfigurationError: ``user:password@`` in the URL (the message leaves them out).
    """
    parts = urlsplit(base)
    if parts.username is not None or parts.password is not None:
        register_secret(parts.password)  # scrubbed from any message that quotes it later
        register_secret(parts.username)
        shown = base.replace(parts.netloc, "***@" + parts.netloc.rpartition("@")[2], 1)
        raise ConfigurationError(
            f"the base URL for {provider} has credentials in it ({shown}): they would be "
            f"sent as well as the key, or instead of it. Give the key in api_keys or "
            f"{API_KEY_ENV[provider]}, and the URL without user:password@",
            provider=provider,
        )
    host = parts.hostname or ""
    if parts.scheme == "http" and keyed and not _loopback(host):
        origin = f"http://{parts.netloc}"
        global _WARNED
        if origin not in _WARNED:
            _WARNED = _WARNED | {origin}
            logger.warning(
                "%s: the base URL %s is plain http and not loopback: the API key travels "
                "unencrypted (use https)",
                provider,
                origin,
            )


@functools.lru_cache(maxsize=256)
def _loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
