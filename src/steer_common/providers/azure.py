"""Azure OpenAI: OpenAI's Chat Completions and Responses streams, on Azure's URLs.

research/wire-formats-more.md section 2. The bytes are OpenAI's formats with extras, read
by OpenAI's adapters (:mod:`.openai_chat`, :mod:`.openai_responses`): the first chunk of
a Chat stream has an empty ``id``/``model``, ``choices: []`` and
``prompt_filter_results``; every choice carries ``content_filter_results``; both are kept
in ``StreamResponse.provider_data``. ``finish_reason: "content_filter"`` is a finish
reason; a refused prompt is an HTTP 400 with ``code: "content_filter"``, a
:class:`~steer_common.errors.ContentFilterError` carrying the filter results.

URLs, from the base URL (``base_urls={"azure": ...}``, ``AZURE_OPENAI_BASE_URL``, or
``AZURE_OPENAI_ENDPOINT`` with ``AZURE_OPENAI_API_VERSION`` / ``OPENAI_API_VERSION``):

- ``https://<resource>.openai.azure.com`` (or ``.../openai/v1``): the v1 API,
  ``/openai/v1/chat/completions`` and ``/openai/v1/responses``, no ``api-version``; the
  deployment is the body's ``model``;
- a base URL with ``?api-version=...`` (``https://<resource>.openai.azure.com/openai?
  api-version=2024-10-21``): the deployment URL,
  ``/openai/deployments/<deployment>/chat/completions?api-version=...`` (Responses:
  ``/openai/responses?api-version=...``). A deployment URL pasted whole works too: the
  deployment is always the one named in ``azure/<deployment>``.

Keys go in ``api-key`` (``AZURE_OPENAI_API_KEY``); an Entra ID token (a token callable, or
azure-identity's ``DefaultAzureCredential`` with the ``[azure]`` extra) goes in
``Authorization: Bearer``. A deployment's name is not its model: cost is priced by the
model each chunk reports, and ``deployments={"<deployment>": "<model>"}`` on the client
names the model when the stream does not.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from steer_common.providers import openai_chat, openai_responses
from steer_common.providers.base import Provider, WireFormat
from steer_common.providers.openai_chat import ChatCompletionsAdapter, ChatParts
from steer_common.providers.openai_responses import OpenAIResponsesAdapter
from steer_common.spec import Route

__all__ = [
    "FORMAT",
    "PROVIDER",
    "RESPONSES_FORMAT",
    "AzureChatAdapter",
    "AzureResponsesAdapter",
    "content_parts",
    "request_url",
]

#: The ``api-version`` a deployment URL gets when the base URL names none.
DEFAULT_API_VERSION = "2024-10-21"


class AzureChatAdapter(ChatCompletionsAdapter):
    """Chat Completions chunks from Azure (OpenAI's adapter, reported as Azure's)."""

    provider: ClassVar[str] = "azure"


class AzureResponsesAdapter(OpenAIResponsesAdapter):
    """Responses events from Azure (OpenAI's adapter, reported as Azure's)."""

    provider: ClassVar[str] = "azure"


def request_url(route: Route) -> str:
    """The request URL of ``route`` (see the module docstring)."""
    responses = route.wire_format == "azure_responses"
    parts = urlsplit(route.base_url)
    path = parts.path.rstrip("/")
    root = path.split("/openai", 1)[0] + "/openai"
    query = dict(parse_qsl(parts.query))
    if "api-version" not in query and "/deployments/" not in path:
        endpoint = "/responses" if responses else "/chat/completions"
        v1 = path if path.endswith("/openai/v1") else root + "/v1"
        return f"{parts.scheme}://{parts.netloc}{v1}{endpoint}"
    query.setdefault("api-version", DEFAULT_API_VERSION)
    if responses:
        endpoint = "/responses"
    else:
        endpoint = f"/deployments/{quote(route.model, safe='')}/chat/completions"
    return f"{parts.scheme}://{parts.netloc}{root}{endpoint}?{urlencode(query)}"


#: What the v1 API takes (learn.microsoft.com/rest/api/microsoft-foundry/azureopenai/chat,
#: ``ChatCompletionRequestUserMessageContentPart``: ``text``, ``image_url``,
#: ``input_audio``, ``file``): OpenAI's parts, as OpenAI takes them.
V1_PARTS = ChatParts(
    name="azure Chat Completions (v1 API)",
    takes=openai_chat.PARTS.takes,
    file_types=openai_chat.PARTS.file_types,
    audio_formats=openai_chat.PARTS.audio_formats,
)
#: What the dated GA API versions take (2024-10-21's inference.json,
#: ``chatCompletionRequestUserMessageContentPart``: ``text`` and ``image_url`` only).
GA_PARTS = ChatParts(
    name="azure Chat Completions (a dated GA api-version)",
    takes=frozenset(("text", "image-url", "image-data")),
)


def content_parts(route: Route) -> ChatParts:
    """What Azure's Chat Completions takes of the content parts on ``route``: the v1 API's
    (OpenAI's), or a dated GA ``api-version``'s (text and images). A preview version is
    taken to follow the v1 API."""
    parts = urlsplit(route.base_url)
    version = dict(parse_qsl(parts.query)).get("api-version")
    if version is None and "/deployments/" not in parts.path:
        return V1_PARTS
    version = version or DEFAULT_API_VERSION
    return GA_PARTS if version[:1].isdigit() and "preview" not in version else V1_PARTS


def auth_headers(api_key: str) -> dict[str, str]:
    """A key: ``api-key``."""
    return {"api-key": api_key} if api_key else {}


def _base_url(environ: Mapping[str, str]) -> str | None:
    endpoint = environ.get("AZURE_OPENAI_ENDPOINT")
    if not endpoint:
        return None
    version = environ.get("AZURE_OPENAI_API_VERSION") or environ.get("OPENAI_API_VERSION")
    endpoint = endpoint.rstrip("/")
    return f"{endpoint}/openai?api-version={version}" if version else f"{endpoint}/openai/v1"


_COMMON: dict[str, Any] = {
    "provider": "azure",
    "auth_headers": auth_headers,
    "token_headers": openai_chat.auth_headers,
    "auth": "`api-key`, or `Authorization: Bearer` (an Entra ID token)",
    "key_headers": ("api-key", "authorization"),
    "url": request_url,
}

FORMAT = WireFormat(
    name="azure",
    title="Azure OpenAI Chat Completions",
    adapter=AzureChatAdapter,
    path=openai_chat.PATH,
    build_body=openai_chat.body_builder(content_parts),
    usage="as OpenAI's",
    keepalive=openai_chat.FORMAT.keepalive,
    parts=content_parts,
    **_COMMON,
)

RESPONSES_FORMAT = WireFormat(
    name="azure_responses",
    title="Azure OpenAI Responses API",
    api="responses",
    adapter=AzureResponsesAdapter,
    path=openai_responses.PATH,
    build_body=openai_responses.build_body,
    usage="as OpenAI's",
    keepalive=openai_responses.FORMAT.keepalive,
    resumption=openai_responses.RESUMPTION,
    **_COMMON,
)

PROVIDER = Provider(
    name="azure",
    key_env=("AZURE_OPENAI_API_KEY",),
    base_url_env="AZURE_OPENAI_BASE_URL",
    default_base_url=_base_url,
    base_url_help="set AZURE_OPENAI_ENDPOINT (https://<resource>.openai.azure.com), or pass "
    "base_urls={'azure': 'https://<resource>.openai.azure.com'}",
    credential="azure",
    price_id="azure",
    chars_per_token=4.42,  # OpenAI's models: 10 OpenAI and Azure replies, 3,591 / 813
    telemetry_name="azure.ai.openai",
)
