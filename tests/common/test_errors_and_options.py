"""The error tree, its typing of provider failures, secret redaction; options and presets."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from steer_common import errors
from steer_common.errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    InternalServerError,
    NotFoundError,
    OverloadedError,
    RateLimitError,
    ReadTimeoutError,
    SteerError,
    register_secret,
)
from steer_common.options import (
    HIGH_THROUGHPUT_OPTIONS,
    JSON_MODE_OPTIONS,
    LOW_LATENCY_OPTIONS,
    StreamingOptions,
)
from steer_common.providers.base import api_error


def test_every_public_error_derives_from_steer_error() -> None:
    for name in errors.__all__:
        value = getattr(errors, name)
        if isinstance(value, type):
            assert issubclass(value, SteerError), name


def test_the_tree_in_the_docstring_names_every_error_class() -> None:
    doc = errors.__doc__ or ""
    for name in errors.__all__:
        if isinstance(getattr(errors, name), type):
            assert name in doc, name


def test_builtin_bases_let_callers_catch_broadly() -> None:
    assert issubclass(ConfigurationError, ValueError)
    assert issubclass(ReadTimeoutError, TimeoutError)


@pytest.mark.parametrize(
    ("status", "error_type", "cls", "retryable"),
    [
        (400, None, BadRequestError, False),
        (401, None, AuthenticationError, False),
        (404, "not_found_error", NotFoundError, False),
        (413, "request_too_large", BadRequestError, False),
        (422, None, BadRequestError, False),
        (429, "rate_limit_error", RateLimitError, True),
        (429, "insufficient_quota", RateLimitError, False),
        (500, None, InternalServerError, True),
        (503, None, InternalServerError, True),
        (529, "overloaded_error", OverloadedError, True),
        (408, None, APIError, True),
        (None, "overloaded_error", OverloadedError, True),
        (None, "api_error", InternalServerError, True),
        (None, "something_new", APIError, False),
    ],
)
def test_provider_failures_are_typed(
    status: int | None, error_type: str | None, cls: type[APIError], retryable: bool
) -> None:
    error = api_error("anthropic", "boom", status=status, error_type=error_type)
    assert type(error) is cls
    assert error.retryable is retryable
    assert error.status_code == status
    assert "boom" in str(error)


def test_api_keys_never_appear_in_messages_or_reprs() -> None:
    key = "test-key-0123456789abcdefXYZ"
    register_secret(key)
    error = api_error("openai", f"Incorrect API key provided: {key}", status=401)
    assert key not in str(error) and key not in repr(error)
    assert "[REDACTED]" in str(error)
    # Key-shaped tokens are scrubbed even when never registered.
    shaped = "sk-ant-api03-abcdefghijklmnopqrstuvwxyz"
    assert shaped not in str(SteerError(f"proxy echoed {shaped}"))


def test_options_defaults_suit_slow_reasoning_models() -> None:
    options = StreamingOptions()
    assert options.read_timeout is not None and options.read_timeout >= 300
    assert options.total_timeout is None
    assert options.max_event_size >= 8 * 1024 * 1024


def test_options_are_immutable_and_replace_validates() -> None:
    with pytest.raises(ValidationError):
        JSON_MODE_OPTIONS.read_timeout = 1.0  # type: ignore[misc]
    changed = JSON_MODE_OPTIONS.replace(read_timeout=5.0)
    assert changed.read_timeout == 5.0 and changed.validate_json_incrementally
    assert JSON_MODE_OPTIONS.read_timeout == 600.0
    with pytest.raises(ConfigurationError, match="chunk_size"):
        StreamingOptions().replace(chunk_size=0)
    with pytest.raises(ConfigurationError, match="no_such_field: no such option"):
        StreamingOptions(no_such_field=1)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"read_timeout": "soon"}, "read_timeout: Input should be a valid number"),
        ({"max_reconnect_attempts": -1}, "max_reconnect_attempts: Input should be greater"),
        ({"bufer_size": 10}, "bufer_size: no such option"),
        ({"aggregator_type": "exact"}, "aggregator_type: Input should be 'auto'"),
    ],
)
def test_a_bad_option_is_a_configuration_error_naming_the_field(
    fields: dict[str, object], named: str
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        StreamingOptions(**fields)  # type: ignore[arg-type]
    assert isinstance(caught.value, ValueError)  # what code catching ValueError expects
    assert named in str(caught.value)
    assert caught.value.__cause__ is None  # no pydantic traceback chained under it


def test_options_given_as_a_dict() -> None:
    from steer_common.options import coerce_options

    options = coerce_options({"read_timeout": 5, "buffer_size": 64})
    assert isinstance(options, StreamingOptions)
    assert (options.read_timeout, options.buffer_size) == (5.0, 64)
    assert coerce_options({"streaming": True}) == StreamingOptions()  # the guide's own key
    assert coerce_options(None) is None and coerce_options(JSON_MODE_OPTIONS) is JSON_MODE_OPTIONS
    with pytest.raises(ConfigurationError, match="streaming cannot be turned off"):
        coerce_options({"streaming": False})
    with pytest.raises(ConfigurationError, match="not list"):
        coerce_options([("read_timeout", 5)])  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="read_timeout"):
        coerce_options({"read_timeout": -1})


def test_the_guides_fields_all_exist() -> None:
    fields = set(StreamingOptions.model_fields)
    assert {
        "enable_usage_aggregation",
        "aggregator_type",
        "enable_json_stream_handler",
        "validate_json_incrementally",
        "connection_timeout",
        "read_timeout",
        "total_timeout",
        "retry_on_connection_error",
        "max_reconnect_attempts",
        "reconnect_delay",
        "preserve_partial_response",
        "chunk_size",
        "buffer_size",
        "enable_compression",
        "on_start",
        "on_delta",
        "on_usage",
        "on_complete",
        "on_error",
    } <= fields
    for name in fields:
        assert StreamingOptions.model_fields[name].description or name.startswith("on_"), name


def test_presets_differ_where_documented() -> None:
    assert (
        JSON_MODE_OPTIONS.enable_json_stream_handler
        and JSON_MODE_OPTIONS.validate_json_incrementally
    )
    assert HIGH_THROUGHPUT_OPTIONS.chunk_size > LOW_LATENCY_OPTIONS.chunk_size
    assert HIGH_THROUGHPUT_OPTIONS.buffer_size > 0 and LOW_LATENCY_OPTIONS.buffer_size == 0


def test_callbacks_accept_functions_and_coroutine_functions() -> None:
    async def on_delta(text: str) -> None: ...

    options = StreamingOptions(on_delta=on_delta, on_start=print)
    assert options.on_delta is on_delta
