"""Content parts (steer_common.parts): every part a user sends reaches the provider in its
own shape, or is refused before anything is sent; never dropped (an image sent to Gemini
or Bedrock went out as nothing, an audio part went to Anthropic as it was)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from steer_common.calls import prepare_session
from steer_common.errors import ConfigurationError

PNG = "iVBORw0KGgo="
PDF = "JVBERi0xLjQ="
PARTS: dict[str, Any] = {
    "text": {"type": "text", "text": "Describe these."},
    "image-url": {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
    "image-data": {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
    "audio": {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}},
    "pdf-data": {
        "type": "file",
        "file": {"file_data": f"data:application/pdf;base64,{PDF}", "filename": "a.pdf"},
    },
    "file-id": {"type": "file", "file": {"file_id": "file-abc"}},
}
REFUSED = "refused"
# What each format sends for each part (its API reference), or REFUSED.
EXPECTED: dict[str, dict[str, Any]] = {
    "gemini": {
        "text": {"text": "Describe these."},
        "image-url": REFUSED,
        "image-data": {"inlineData": {"mimeType": "image/png", "data": PNG}},
        "audio": {"inlineData": {"mimeType": "audio/wav", "data": "UklGRg=="}},
        "pdf-data": {"inlineData": {"mimeType": "application/pdf", "data": PDF}},
        "file-id": REFUSED,
    },
    "bedrock": {
        "text": {"text": "Describe these."},
        "image-url": REFUSED,
        "image-data": {"image": {"format": "png", "source": {"bytes": PNG}}},
        "audio": REFUSED,
        "pdf-data": {"document": {"format": "pdf", "name": "a", "source": {"bytes": PDF}}},
        "file-id": REFUSED,
    },
    "anthropic": {
        "text": {"type": "text", "text": "Describe these."},
        "image-url": {
            "type": "image",
            "source": {"type": "url", "url": "https://example.com/cat.png"},
        },
        "image-data": {
            "type": "image",
            "source": {"type": "base64", "media_type": "image/png", "data": PNG},
        },
        "audio": REFUSED,
        "pdf-data": {
            "type": "document",
            "source": {"type": "base64", "media_type": "application/pdf", "data": PDF},
        },
        "file-id": REFUSED,
    },
}
PDF_URL = f"data:application/pdf;base64,{PDF}"
EXPECTED["openai"] = dict(PARTS)  # its own shapes, as given
EXPECTED["openai_responses"] = {
    "text": {"type": "input_text", "text": "Describe these."},
    "image-url": {
        "type": "input_image",
        "image_url": "https://example.com/cat.png",
        "detail": "auto",
    },
    "image-data": {
        "type": "input_image",
        "image_url": f"data:image/png;base64,{PNG}",
        "detail": "auto",
    },
    "audio": REFUSED,
    "pdf-data": {"type": "input_file", "file_data": PDF_URL, "filename": "a.pdf"},
    "file-id": {"type": "input_file", "file_id": "file-abc"},
}
WHO = {
    "gemini": "gemini",
    "bedrock": "bedrock",
    "anthropic": "anthropic",
    "openai": "Chat Completions",
    "openai_responses": "the Responses API",
}
MODELS = {
    "openai": "gpt-4o-mini",
    "openai_responses": "gpt-5-mini",
    "gemini": "gemini-2.5-flash",
    "bedrock": "bedrock/us.amazon.nova-micro-v1:0",
    "anthropic": "claude-sonnet-4-5",
}
KEYS = {"gemini": "k", "bedrock": "k", "anthropic": "k", "openai": "k"}
URLS = {"bedrock": "https://bedrock-runtime.us-east-1.amazonaws.com"}


def body_for(wire: str, part: Any) -> dict[str, Any]:
    messages = [{"role": "user", "content": [part]}]
    api = "responses" if wire == "openai_responses" else "chat"
    session = prepare_session(
        messages, model=MODELS[wire], api_keys=KEYS, base_urls=URLS, openai_api=api
    )
    return json.loads(session.request.body)  # type: ignore[no-any-return]


def sent_part(wire: str, body: dict[str, Any]) -> Any:
    if wire == "gemini":
        return body["contents"][0]["parts"][0]
    if wire == "openai_responses":
        return body["input"][0]["content"][0]
    return body["messages"][0]["content"][0]


@pytest.mark.parametrize("name", sorted(PARTS))
@pytest.mark.parametrize("wire", sorted(EXPECTED))
def test_every_part_is_converted_or_refused(wire: str, name: str) -> None:
    expected = EXPECTED[wire][name]
    if expected == REFUSED:
        with pytest.raises(ConfigurationError, match=f"{WHO[wire]} cannot take"):
            body_for(wire, PARTS[name])
        return
    assert sent_part(wire, body_for(wire, PARTS[name])) == expected


@pytest.mark.parametrize(
    ("wire", "native"),
    [
        ("gemini", {"inlineData": {"mimeType": "image/jpeg", "data": PNG}}),
        ("bedrock", {"image": {"format": "jpeg", "source": {"bytes": PNG}}}),
        (
            "anthropic",
            {
                "type": "image",
                "source": {"type": "base64", "media_type": "image/jpeg", "data": PNG},
            },
        ),
    ],
)
def test_a_providers_own_block_passes_on_its_provider(wire: str, native: Any) -> None:
    assert sent_part(wire, body_for(wire, native)) == native


@pytest.mark.parametrize("wire", ["openai", "openai_responses"])
def test_the_openai_formats_refuse_another_providers_block(wire: str) -> None:
    block = {"inlineData": {"mimeType": "image/png", "data": PNG}}
    with pytest.raises(ConfigurationError, match=f"{WHO[wire]} cannot take a gemini"):
        body_for(wire, block)


def test_a_part_of_no_known_shape_is_refused_not_dropped() -> None:
    with pytest.raises(ConfigurationError, match="no known shape"):
        body_for("gemini", {"type": "imagee_url", "image_url": {"url": "x"}})
    with pytest.raises(ConfigurationError, match="gemini cannot take an anthropic content block"):
        body_for("gemini", {"type": "image", "source": {"type": "base64", "data": PNG}})


def _validate_with_the_official_sdk(wire: str, sent: Any) -> None:
    import pydantic

    if wire == "gemini":
        from google.genai import types

        part = types.Part.model_validate(sent)
        assert part.text is not None or part.inline_data is not None or part.file_data is not None
        return
    if wire == "anthropic":
        from anthropic.types import DocumentBlockParam, ImageBlockParam, TextBlockParam

        param: Any = {"text": TextBlockParam, "image": ImageBlockParam}.get(
            sent["type"], DocumentBlockParam
        )
    elif wire == "openai":
        from openai.types.chat import ChatCompletionContentPartParam as param
    else:
        from openai.types.responses import ResponseInputContentParam as param
    pydantic.TypeAdapter(param).validate_python(sent, strict=False)


@pytest.mark.parametrize(
    ("wire", "name"),
    [
        (wire, name)
        for wire in ("anthropic", "gemini", "openai", "openai_responses")
        for name in sorted(PARTS)
        if EXPECTED[wire][name] != REFUSED  # a refused part sends nothing
    ],
)
def test_every_converted_part_fits_the_official_sdks_types(wire: str, name: str) -> None:
    # google-genai, anthropic and openai ship the request types: each cell fits them.
    _validate_with_the_official_sdk(wire, sent_part(wire, body_for(wire, PARTS[name])))
