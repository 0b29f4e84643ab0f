"""Which provider serves a model, with which key, at which base URL.

Rules (DESIGN.md section 2, the official SDKs' conventions):

- an explicit ``provider/model`` prefix always wins: ``openai/``, ``anthropic/``, ``xai/``,
  and ``openai_compatible/`` for any other OpenAI-compatible server;
- otherwise by name: ``gpt-*``, ``chatgpt-*``, ``o1*``, ``o3*``, ``o4*`` -> OpenAI;
  ``claude-*`` -> Anthropic; ``grok-*`` -> xAI;
- anything else is an :class:`~steer_common.errors.UnknownModelError` that says how to name
  the provider, never a guess.

Keys come from ``api_keys={...}`` or ``OPENAI_API_KEY`` / ``ANTHROPIC_API_KEY`` /
``XAI_API_KEY`` / ``OPENAI_COMPATIBLE_API_KEY``; base URLs from ``base_urls={...}`` or
``OPENAI_BASE_URL`` (with ``/v1``), ``ANTHROPIC_BASE_URL`` (without), ``XAI_BASE_URL`` (with
``/v1``) and ``OPENAI_COMPATIBLE_BASE_URL`` (with ``/v1``; required for that provider).
The environment is passed in (a mapping), so this module reads no global state. A base
URL with ``user:password@`` in it is refused (the key is the only credential sent); a
plain ``http://`` URL on a host that is not loopback gets one warning per origin (the key
would travel in clear).
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from steer_common.errors import (
    ConfigurationError,
    MissingAPIKeyError,
    UnknownModelError,
    register_secret,
)
from steer_common.secrets import Secret

__all__ = [
    "API_KEY_ENV",
    "BASE_URL_ENV",
    "DEFAULT_BASE_URLS",
    "PROVIDERS",
    "Route",
    "resolve_credentials",
    "route_model",
]

Provider = Literal["openai", "anthropic", "xai", "openai_compatible"]
PROVIDERS: tuple[Provider, ...] = ("openai", "anthropic", "xai", "openai_compatible")

API_KEY_ENV: dict[str, str] = {
    "openai": "OPENAI_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
    "xai": "XAI_API_KEY",
    "openai_compatible": "OPENAI_COMPATIBLE_API_KEY",
}
BASE_URL_ENV: dict[str, str] = {
    "openai": "OPENAI_BASE_URL",
    "anthropic": "ANTHROPIC_BASE_URL",
    "xai": "XAI_BASE_URL",
    "openai_compatible": "OPENAI_COMPATIBLE_BASE_URL",
}
DEFAULT_BASE_URLS: dict[str, str] = {
    "openai": "https://api.openai.com/v1",
    "anthropic": "https://api.anthropic.com",
    "xai": "https://api.x.ai/v1",
}

logger = logging.getLogger("steer_common.routing")
# Origins already warned about (copy-on-write: the core takes no locks).
_WARNED: frozenset[str] = frozenset()

_PREFIXES: tuple[tuple[str, Provider], ...] = (
    ("gpt-", "openai"),
    ("chatgpt-", "openai"),
    ("o1", "openai"),
    ("o3", "openai"),
    ("o4", "openai"),
    ("claude-", "anthropic"),
    ("grok-", "xai"),
)


@dataclass(frozen=True, slots=True)
class Route:
    """Where one call goes.

    Attributes:
        provider: ``openai``, ``anthropic``, ``xai`` or ``openai_compatible``.
        model: the model name to send (without any ``provider/`` prefix).
        wire_format: the :class:`~steer_common.StreamParser` format of the reply.
        api_key: the key (never printed: errors redact it).
        base_url: the base URL, without a trailing slash.
    """

    provider: Provider
    model: str
    wire_format: str
    api_key: str
    base_url: str

    def __repr__(self) -> str:  # the key stays out of reprs and logs
        return (
            f"Route(provider={self.provider!r}, model={self.model!r}, "
            f"wire_format={self.wire_format!r}, base_url={self.base_url!r})"
        )


def route_model(model: str) -> tuple[Provider, str]:
    """The provider of a model name and the name to send.

    Raises:
        UnknownModelError: no rule matches and no ``provider/`` prefix was given.
    """
    if not model or not isinstance(model, str):
        raise ConfigurationError("model is required, for example model='gpt-4o-mini'")
    head, sep, rest = model.partition("/")
    for provider_name in PROVIDERS:
        if sep and head == provider_name and rest:
            return provider_name, rest
    for prefix, provider in _PREFIXES:
        if model.startswith(prefix):
            return provider, model
    raise UnknownModelError(
        f"no provider is known for model {model!r}: prefix it with the provider, for "
        f"example 'openai/{model}', 'anthropic/{model}', 'xai/{model}' or "
        f"'openai_compatible/{model}' (with OPENAI_COMPATIBLE_BASE_URL set)"
    )


def resolve_credentials(
    provider: Provider,
    *,
    api_keys: Mapping[str, str | None] | None,
    base_urls: Mapping[str, str | None] | None,
    environ: Mapping[str, str],
) -> tuple[str, str]:
    """The API key and base URL for a provider: explicit values, then the environment.

    Raises:
        MissingAPIKeyError: no key; the message names the environment variable to set.
        ConfigurationError: ``openai_compatible`` without a base URL.
    """
    key = (api_keys or {}).get(provider) or environ.get(API_KEY_ENV[provider])
    base = (base_urls or {}).get(provider) or environ.get(BASE_URL_ENV[provider])
    if base:
        _check_base_url(provider, base, keyed=bool(key))
    if not base:
        if provider not in DEFAULT_BASE_URLS:
            raise ConfigurationError(
                f"{provider} needs a base URL: pass base_urls={{'{provider}': 'https://host/v1'}} "
                f"or set {BASE_URL_ENV[provider]}",
                provider=provider,
            )
        base = DEFAULT_BASE_URLS[provider]
    if not key and provider == "openai_compatible":
        key = ""  # local servers (vLLM, llama.cpp, Ollama) often take no key at all
    elif not key:
        env = API_KEY_ENV[provider]
        raise MissingAPIKeyError(
            f"no API key for {provider}: set {env} or pass api_keys={{'{provider}': ...}}",
            provider=provider,
            env_var=env,
        )
    return Secret(key or ""), base.rstrip("/")


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


def _loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
