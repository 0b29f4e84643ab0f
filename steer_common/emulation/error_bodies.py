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
"""

from __future__ import annotations

from steer_common.emulation._wire import dumps

__all__ = ["error_body", "error_type_for", "in_band_defaults"]

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


def error_type_for(wire_format: str, status: int) -> str:
    """The provider's error type string for an HTTP status."""
    if wire_format == "anthropic":
        return _ANTHROPIC.get(status, ("api_error", ""))[0]
    return _OPENAI.get(status, _OPENAI_SERVER)[0]


def error_body(
    wire_format: str,
    status: int,
    message: str | None = None,
    *,
    error_type: str | None = None,
    request_id: str = "req_011CEmulatorRequest0000",
) -> bytes:
    """The JSON body a provider sends with an HTTP error status.

    Args:
        wire_format: ``openai``, ``openai_responses``, ``anthropic``, ``xai`` or
            ``openai_compatible``.
        status: the HTTP status.
        message: the error message (default: the provider's usual words for the status).
        error_type: the provider error type (default: the one the provider uses for the
            status).
        request_id: Anthropic puts the request id in the body.

    Returns:
        The UTF-8 JSON body.
    """
    if wire_format == "anthropic":
        kind, default = _ANTHROPIC.get(status, ("api_error", "Internal server error"))
        return dumps(
            {
                "type": "error",
                "error": {"type": error_type or kind, "message": message or default},
                "request_id": request_id,
            }
        ).encode()
    if wire_format == "xai":
        status_text = _XAI_CODES.get(status, "Internal error")
        return dumps({"code": status_text, "error": message or status_text}).encode()
    kind, code, default = _OPENAI.get(status, _OPENAI_SERVER)
    if error_type is not None:
        kind, code = error_type, None
    return dumps(
        {"error": {"message": message or default, "type": kind, "param": None, "code": code}}
    ).encode()


def in_band_defaults(wire_format: str) -> tuple[str, str]:
    """``(error_type, message)`` of an injected in-band error when the script names none.

    Anthropic's is the overload it sends after HTTP 200 (the streaming form of 529); the
    OpenAI formats send a server error.
    """
    if wire_format == "anthropic":
        return "overloaded_error", "Overloaded"
    return _OPENAI_SERVER[0], _OPENAI_SERVER[2]
