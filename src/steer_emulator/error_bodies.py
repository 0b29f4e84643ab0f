"""Provider-shaped errors for the emulator: HTTP error bodies and in-band error defaults.

HTTP error bodies, as each provider sends them (JSON, not SSE):

- OpenAI (Chat and Responses) and OpenAI-compatible servers:
  ``{"error": {"message", "type", "param", "code"}}``; a bad key is type
  ``invalid_request_error`` with code ``invalid_api_key``, a rate limit type ``requests``
  with code ``rate_limit_exceeded``.
- Anthropic: ``{"type": "error", "error": {"type", "message"}, "request_id": "req_..."}``
  with the documented error types (``authentication_error``, ``rate_limit_error``,
  ``overloaded_error`` for 529, ...).
- xAI: ``{"code": "<status text>", "error": "<message>"}`` (its error is a string; the
  issue reports quoting ``400 "Incorrect API key provided: ..."`` show it).
- Google (the Gemini API and Vertex AI): ``{"error": {"code", "message", "status"}}`` with
  the gRPC status name (``gemini/http-404-model-not-found``).
- Bedrock: ``{"message": ...}``, the error type in the ``x-amzn-ErrorType`` header.

Each format's record in :data:`steer_emulator.formats.EMULATIONS` names its body;
:func:`steer_emulator.formats.error_body` gives a format's.
"""

from __future__ import annotations

from steer_emulator._wire import dumps

__all__ = [
    "ANTHROPIC_IN_BAND",
    "AZURE_PROMPT_FILTERED",
    "GOOGLE_STATUS",
    "OPENAI_IN_BAND",
    "anthropic_error_body",
    "azure_error_body",
    "bedrock_error_body",
    "bedrock_error_headers",
    "google_error_body",
    "openai_error_body",
    "xai_error_body",
]

_OPENAI: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "Invalid request."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    403: ("request_forbidden", "unsupported_country_region_territory", "Forbidden."),
    404: ("invalid_request_error", "model_not_found", "The model does not exist."),
    409: ("invalid_request_error", "conflict", "Conflict."),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached for requests."),
}
_OPENAI_SERVER = (
    "server_error",
    None,
    "The server had an error while processing your request. Sorry about that!",
)

_ANTHROPIC: dict[int, tuple[str, str]] = {
    400: ("invalid_request_error", "Invalid request."),
    401: ("authentication_error", "invalid x-api-key"),
    403: (
        "permission_error",
        "Your API key does not have permission to use the specified resource.",
    ),
    404: ("not_found_error", "The requested resource could not be found."),
    413: ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
    429: ("rate_limit_error", "This request would exceed your rate limit."),
    500: ("api_error", "Internal server error"),
    504: ("timeout_error", "Request timed out"),
    529: ("overloaded_error", "Overloaded"),
}

_XAI_CODES = {
    400: "Client specified an invalid argument",
    401: "Unauthenticated",
    403: "The caller does not have permission to execute the specified operation",
    404: "Some requested entity was not found",
    429: "Some resource has been exhausted",
}


#: HTTP status -> (gRPC status name, the Google APIs' usual message).
GOOGLE_STATUS: dict[int, tuple[str, str]] = {
    400: ("INVALID_ARGUMENT", "Request contains an invalid argument."),
    401: (
        "UNAUTHENTICATED",
        "Request had invalid authentication credentials. Expected OAuth 2 access token, "
        "login cookie or other valid authentication credential.",
    ),
    403: ("PERMISSION_DENIED", "The caller does not have permission"),
    404: ("NOT_FOUND", "Requested entity was not found."),
    409: ("ABORTED", "The operation was aborted."),
    429: ("RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota)."),
    500: (
        "INTERNAL",
        "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting",
    ),
    503: ("UNAVAILABLE", "The model is overloaded. Please try again later."),
    504: ("DEADLINE_EXCEEDED", "Deadline expired before operation could complete."),
}


def anthropic_error_body(
    status: int,
    message: str | None = None,
    error_type: str | None = None,
    request_id: str = "req_011CEmulatorRequest0000",
) -> bytes:
    """Anthropic's ``{"type": "error", "error": {...}, "request_id"}``."""
    kind, default = _ANTHROPIC.get(status, ("api_error", "Internal server error"))
    return dumps(
        {
            "type": "error",
            "error": {"type": error_type or kind, "message": message or default},
            "request_id": request_id,
        }
    ).encode()


def xai_error_body(status: int, message: str | None = None, error_type: str | None = None) -> bytes:
    """xAI's ``{"code": "<status text>", "error": "<message>"}``."""
    status_text = _XAI_CODES.get(status, "Internal error")
    return dumps({"code": status_text, "error": message or status_text}).encode()


def openai_error_body(
    status: int, message: str | None = None, error_type: str | None = None
) -> bytes:
    """OpenAI's ``{"error": {"message", "type", "param", "code"}}`` (Chat, Responses and
    compatible servers)."""
    kind, code, default = _OPENAI.get(status, _OPENAI_SERVER)
    if error_type is not None:
        kind, code = error_type, None
    return dumps(
        {"error": {"message": message or default, "type": kind, "param": None, "code": code}}
    ).encode()


#: The filter results of a prompt Azure refused.
AZURE_PROMPT_FILTERED = {
    "hate": {"filtered": False, "severity": "safe"},
    "jailbreak": {"filtered": False, "detected": False},
    "self_harm": {"filtered": False, "severity": "safe"},
    "sexual": {"filtered": False, "severity": "safe"},
    "violence": {"filtered": True, "severity": "high"},
}


def azure_error_body(
    status: int, message: str | None = None, error_type: str | None = None
) -> bytes:
    """Azure OpenAI's: OpenAI's shape; a refused prompt (``error_type="content_filter"``)
    is a 400 with ``code: content_filter`` and the filter results in ``innererror``."""
    if error_type != "content_filter":
        return openai_error_body(status, message, error_type)
    error = {
        "message": message
        or "The response was filtered due to the prompt triggering Azure OpenAI's content "
        "management policy. Please modify your prompt and retry.",
        "type": None,
        "param": "prompt",
        "code": "content_filter",
        "status": 400,
        "innererror": {
            "code": "ResponsibleAIPolicyViolation",
            "content_filter_result": AZURE_PROMPT_FILTERED,
        },
    }
    return dumps({"error": error}).encode()


def google_error_body(
    status: int, message: str | None = None, error_type: str | None = None
) -> bytes:
    """Google's ``{"error": {"code", "message", "status"}}``."""
    name, default = GOOGLE_STATUS.get(status, ("INTERNAL", GOOGLE_STATUS[500][1]))
    error = {"code": status, "message": message or default, "status": error_type or name}
    return dumps({"error": error}).encode()


#: An injected in-band error's ``(error_type, message)`` when the script names none: the
#: overload Anthropic sends after HTTP 200 (the streaming form of 529)...
ANTHROPIC_IN_BAND = ("overloaded_error", "Overloaded")
#: ... and the server error the OpenAI formats send.
OPENAI_IN_BAND = (_OPENAI_SERVER[0], _OPENAI_SERVER[2])


def bedrock_error_body(
    status: int, message: str | None = None, error_type: str | None = None
) -> bytes:
    """Bedrock's ``{"message": ...}`` (the type travels in ``x-amzn-ErrorType``)."""
    return dumps(
        {"message": message or _BEDROCK_MESSAGES.get(status, "Internal server error")}
    ).encode()


_BEDROCK_MESSAGES = {
    400: "The provided request is not valid.",
    401: "The security token included in the request is invalid.",
    403: "You don't have access to the model with the specified model ID.",
    404: "The provided model identifier is invalid.",
    429: "Too many requests, please wait before trying again.",
    500: "The server encountered an internal error while processing the request.",
    503: "Bedrock is unable to process your request.",
}


_BEDROCK_TYPES = {
    400: "ValidationException",
    401: "UnrecognizedClientException",
    403: "AccessDeniedException",
    404: "ResourceNotFoundException",
    429: "ThrottlingException",
    500: "InternalServerException",
    503: "ServiceUnavailableException",
}


def bedrock_error_headers(status: int, error_type: str | None) -> dict[str, str]:
    """The ``x-amzn-ErrorType`` header of an error reply."""
    return {"x-amzn-errortype": error_type or _BEDROCK_TYPES.get(status, "InternalServerException")}
