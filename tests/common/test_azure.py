"""Azure OpenAI and the compatible servers' shapes, socket-free: Azure's URLs and keys
(research/wire-formats-more.md section 2), its filter results and refusals, and the
Chat Completions rules every dialect follows (content part lists, usage in a vendor
extension, reasoning under other names)."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from steer_common import StreamParser
from steer_common.calls import prepare_session
from steer_common.errors import ContentFilterError, MissingAPIKeyError, RateLimitError
from steer_common.http import ResponseHead, error_from_response
from steer_emulator.error_bodies import AZURE_PROMPT_FILTERED, azure_error_body

ENDPOINT = "https://contoso.openai.azure.com"


def session(model: str = "azure/prod-chat", **kwargs: Any) -> Any:
    environ = kwargs.pop(
        "environ", {"AZURE_OPENAI_API_KEY": "azure-key", "AZURE_OPENAI_ENDPOINT": ENDPOINT}
    )
    return prepare_session(kwargs.pop("input", "hi"), model=model, environ=environ, **kwargs)


def chat(*chunks: dict[str, Any], wire_format: str = "azure") -> Any:
    parser = StreamParser(wire_format)
    body = b"".join(f"data: {json.dumps(c)}\n\n".encode() for c in chunks) + b"data: [DONE]\n\n"
    parser.feed(body)
    parser.close()
    return parser.response


# -- URLs and keys ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("base_url", "openai_api", "url"),
    [
        (ENDPOINT, "chat", f"{ENDPOINT}/openai/v1/chat/completions"),
        (f"{ENDPOINT}/openai/v1", "responses", f"{ENDPOINT}/openai/v1/responses"),
        (
            f"{ENDPOINT}/openai?api-version=2024-10-21",
            "chat",
            f"{ENDPOINT}/openai/deployments/prod-chat/chat/completions?api-version=2024-10-21",
        ),
        (
            f"{ENDPOINT}/openai?api-version=2025-03-01-preview",
            "responses",
            f"{ENDPOINT}/openai/responses?api-version=2025-03-01-preview",
        ),
        (  # the portal's target URI pasted whole: the deployment comes from the model name
            f"{ENDPOINT}/openai/deployments/other/chat/completions?api-version=2024-06-01",
            "chat",
            f"{ENDPOINT}/openai/deployments/prod-chat/chat/completions?api-version=2024-06-01",
        ),
    ],
)
def test_the_url_follows_the_base_url(base_url: str, openai_api: str, url: str) -> None:
    request = session(base_urls={"azure": base_url}, openai_api=openai_api).request
    assert request.url == url
    body = request.json()
    assert body["model"] == "prod-chat" and body["stream"] is True


def test_the_endpoint_and_api_version_come_from_the_environment() -> None:
    environ = {
        "AZURE_OPENAI_API_KEY": "azure-key",
        "AZURE_OPENAI_ENDPOINT": ENDPOINT + "/",
        "OPENAI_API_VERSION": "2024-10-21",  # the variable openai.AzureOpenAI reads
    }
    request = session(environ=environ).request
    assert request.url == (
        f"{ENDPOINT}/openai/deployments/prod-chat/chat/completions?api-version=2024-10-21"
    )
    assert request.headers["api-key"] == "azure-key"
    assert "authorization" not in request.headers


def test_a_token_callable_sends_an_entra_id_bearer_token() -> None:
    made = session(
        api_keys={"azure": lambda: "entra-token"}, environ={"AZURE_OPENAI_ENDPOINT": ENDPOINT}
    )
    assert "api-key" not in made.request.headers
    assert made._authorize(made.request) == {"authorization": "Bearer entra-token"}


def test_without_a_key_the_message_names_every_way_to_give_one() -> None:
    with pytest.raises(MissingAPIKeyError, match="AZURE_OPENAI_API_KEY"):
        session(environ={"AZURE_OPENAI_ENDPOINT": ENDPOINT})


def test_reasoning_models_get_max_completion_tokens() -> None:
    body = session(max_tokens=64).request.json()
    assert body["max_completion_tokens"] == 64 and "max_tokens" not in body


def test_gpt_names_still_go_to_openai() -> None:
    environ = {"OPENAI_API_KEY": "sk-test", "AZURE_OPENAI_API_KEY": "azure-key"}
    request = session("gpt-4o-mini", environ=environ).request
    assert request.url == "https://api.openai.com/v1/chat/completions"


# -- filters ---------------------------------------------------------------------------------

FILTERED = {
    "hate": {"filtered": False, "severity": "safe"},
    "violence": {"filtered": True, "severity": "medium"},
}


def test_an_output_filter_is_a_finish_reason_with_its_results_kept() -> None:
    response = chat(
        {"id": "", "model": "", "choices": [], "prompt_filter_results": [{"prompt_index": 0}]},
        {
            "id": "chatcmpl-1",
            "model": "gpt-4o-2024-11-20",
            "choices": [
                {"index": 0, "delta": {"content": "Here is"}, "content_filter_results": {}}
            ],
        },
        {
            "id": "chatcmpl-1",
            "model": "gpt-4o-2024-11-20",
            "choices": [
                {
                    "index": 0,
                    "delta": {},
                    "finish_reason": "content_filter",
                    "content_filter_results": FILTERED,
                }
            ],
        },
    )
    assert response.complete and response.error is None
    assert response.text == "Here is"
    assert response.finish_reason == "content_filter"
    assert response.model == "gpt-4o-2024-11-20" and response.response_id == "chatcmpl-1"
    assert response.provider_data == {
        "prompt_filter_results": [{"prompt_index": 0}],
        "content_filter_results": [{"content_filter_results": FILTERED}],
    }


def test_a_refused_prompt_is_a_content_filter_error_with_the_results() -> None:
    head = ResponseHead(400, {"content-type": "application/json", "apim-request-id": "req-9"})
    error = error_from_response("azure", head, azure_error_body(400, error_type="content_filter"))
    assert isinstance(error, ContentFilterError) and not error.retryable
    assert error.filter_results == AZURE_PROMPT_FILTERED
    assert error.code == "content_filter" and error.request_id == "req-9"
    assert "content management policy" in str(error)


def test_azures_rate_limit_is_typed_and_retried() -> None:
    body = json.dumps({"error": {"code": "429", "message": "Requests have exceeded the limit"}})
    head = ResponseHead(429, {"content-type": "application/json", "retry-after": "3"})
    error = error_from_response("azure", head, body.encode())
    assert isinstance(error, RateLimitError) and error.retryable and error.retry_after == 3.0


# -- the compatible servers' shapes (every Chat Completions dialect) ------------------------


def test_content_as_a_list_of_typed_parts_is_read_by_part_type() -> None:
    # Mistral (magistral): thinking parts, then text parts, in delta.content.
    response = chat(
        {
            "id": "m1",
            "model": "magistral-medium-2509",
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "content": [
                            {"type": "thinking", "thinking": [{"type": "text", "text": "Add "}]}
                        ]
                    },
                }
            ],
        },
        {
            "id": "m1",
            "model": "magistral-medium-2509",
            "choices": [
                {"index": 0, "delta": {"content": [{"type": "thinking", "thinking": "them."}]}}
            ],
        },
        {
            "id": "m1",
            "model": "magistral-medium-2509",
            "choices": [
                {
                    "index": 0,
                    "delta": {"content": [{"type": "text", "text": "2 + 2 = 4"}]},
                    "finish_reason": "stop",
                }
            ],
        },
        wire_format="openai_compatible",
    )
    assert response.reasoning == "Add them."
    assert response.text == "2 + 2 = 4"
    assert "unread_content" not in response.provider_data


def test_an_unknown_part_is_kept_and_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
    caplog.set_level(logging.WARNING, logger="steer_common.providers")
    response = chat(
        {"id": "m2", "model": "m", "choices": [{"index": 0, "delta": {"content": [image]}}]},
        {"id": "m2", "model": "m", "choices": [{"index": 0, "delta": {"content": [image]}}]},
        {
            "id": "m2",
            "model": "m",
            "choices": [{"index": 0, "delta": {"content": "done"}, "finish_reason": "stop"}],
        },
        wire_format="openai_compatible",
    )
    assert response.text == "done"
    assert response.provider_data["unread_content"] == [image, image]
    warnings = [r for r in caplog.records if "image_url" in r.getMessage()]
    assert len(warnings) == 1


def test_usage_only_in_groqs_extension_is_reported() -> None:
    usage = {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17}
    response = chat(
        {
            "id": "g1",
            "model": "llama-3.3-70b-versatile",
            "choices": [{"index": 0, "delta": {"content": "Hi"}}],
        },
        {
            "id": "g1",
            "model": "llama-3.3-70b-versatile",
            "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
            "x_groq": {"id": "req_01", "usage": usage},
        },
        wire_format="openai_compatible",
    )
    assert response.usage != {}
    assert (response.usage["prompt_tokens"], response.usage["completion_tokens"]) == (12, 5)
    assert response.usage["raw"] == usage


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
@pytest.mark.parametrize("wire_format", ["openai_compatible", "azure"])
def test_reasoning_under_either_name_is_reasoning(field: str, wire_format: str) -> None:
    response = chat(
        {"id": "r", "model": "deepseek-r1", "choices": [{"index": 0, "delta": {field: "Hmm."}}]},
        {
            "id": "r",
            "model": "deepseek-r1",
            "choices": [{"index": 0, "delta": {"content": "Yes."}, "finish_reason": "stop"}],
        },
        wire_format=wire_format,
    )
    assert (response.reasoning, response.text) == ("Hmm.", "Yes.")
