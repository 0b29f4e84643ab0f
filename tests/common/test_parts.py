"""Content parts (steer_common.parts): every part a user sends reaches the provider in its
own shape, or is refused before anything is sent; never dropped (an image sent to Gemini
or Bedrock went out as nothing, an audio part went to Anthropic as it was)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from steer_common.calls import prepare_session
from steer_common.errors import ConfigurationError

PNG = "iVBORw0KGgo="
PDF = "JVBERi0xLjQ="
CSV = "YSxiCjEsMgo="
PARTS: dict[str, Any] = {
    "text": {"type": "text", "text": "Describe these."},
    "image-url": {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
    "image-data": {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
    "image-id": {"type": "image_url", "image_url": {"file_id": "file-img"}},  # xAI's
    "audio": {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}},
    "pdf-data": {
        "type": "file",
        "file": {"file_data": f"data:application/pdf;base64,{PDF}", "filename": "a.pdf"},
    },
    "file-id": {"type": "file", "file": {"file_id": "file-abc"}},
    # plain base64, its media type the filename's
    "pdf-base64": {"type": "file", "file": {"file_data": PDF, "filename": "a.pdf"}},
    "csv-data": {
        "type": "file",
        "file": {"file_data": f"data:text/csv;base64,{CSV}", "filename": "a.csv"},
    },
    # a file by URL: xAI's shape (Responses' input_file calls it file_url)
    "file-url": {"type": "file", "file": {"url": "https://example.com/a.pdf"}},
}
REFUSED = "refused"
# What each format sends for each part (its API reference), or REFUSED.
EXPECTED: dict[str, dict[str, Any]] = {
    "gemini": {
        "text": {"text": "Describe these."},
        "image-url": REFUSED,
        "image-data": {"inlineData": {"mimeType": "image/png", "data": PNG}},
        "image-id": REFUSED,
        "audio": {"inlineData": {"mimeType": "audio/wav", "data": "UklGRg=="}},
        "pdf-data": {"inlineData": {"mimeType": "application/pdf", "data": PDF}},
        "file-id": REFUSED,
        "pdf-base64": {"inlineData": {"mimeType": "application/pdf", "data": PDF}},
        "csv-data": {"inlineData": {"mimeType": "text/csv", "data": CSV}},
        "file-url": REFUSED,
    },
    "bedrock": {
        "text": {"text": "Describe these."},
        "image-url": REFUSED,
        "image-data": {"image": {"format": "png", "source": {"bytes": PNG}}},
        "image-id": REFUSED,
        "audio": REFUSED,
        "pdf-data": {"document": {"format": "pdf", "name": "a", "source": {"bytes": PDF}}},
        "file-id": REFUSED,
        "pdf-base64": {"document": {"format": "pdf", "name": "a", "source": {"bytes": PDF}}},
        "csv-data": {"document": {"format": "csv", "name": "a", "source": {"bytes": CSV}}},
        "file-url": REFUSED,
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
        "image-id": REFUSED,
        "audio": REFUSED,
        "pdf-data": {
            "type": "document",
            "source": {"type": "base64", "media_type": "application/pdf", "data": PDF},
        },
        "file-id": REFUSED,
        "pdf-base64": {
            "type": "document",
            "source": {"type": "base64", "media_type": "application/pdf", "data": PDF},
        },
        "csv-data": REFUSED,
        "file-url": {
            "type": "document",
            "source": {"type": "url", "url": "https://example.com/a.pdf"},
        },
    },
}
PDF_URL = f"data:application/pdf;base64,{PDF}"
AS_GIVEN = PARTS  # each sent as given
# The Chat Completions dialects: OpenAI's own shapes, as given, where the dialect takes them.
# OpenAI: docs/guides/file-inputs (Chat takes PDF files only, by file_data or file_id, no
# file URL); Azure's v1 API as OpenAI's; a dated GA api-version (2024-10-21) text and
# image_url only; xAI's ContentPart: text, image_url, text_file, file (file_id or url).
EXPECTED["openai"] = {
    **AS_GIVEN,
    "image-id": REFUSED,
    "csv-data": REFUSED,
    "file-url": REFUSED,
}
EXPECTED["azure"] = EXPECTED["openai"]
EXPECTED["azure_ga"] = {
    **dict.fromkeys(PARTS, REFUSED),
    **{name: AS_GIVEN[name] for name in ("text", "image-url", "image-data")},
}
EXPECTED["xai"] = {
    **AS_GIVEN,
    "audio": REFUSED,
    "pdf-data": REFUSED,
    "pdf-base64": REFUSED,
    "csv-data": REFUSED,
}
EXPECTED["openai_compatible"] = AS_GIVEN  # an unknown server: OpenAI's shapes, as given
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
    "image-id": {"type": "input_image", "file_id": "file-img", "detail": "auto"},
    "audio": REFUSED,
    "pdf-data": {"type": "input_file", "file_data": PDF_URL, "filename": "a.pdf"},
    "file-id": {"type": "input_file", "file_id": "file-abc"},
    "pdf-base64": {"type": "input_file", "file_data": PDF, "filename": "a.pdf"},
    "csv-data": {
        "type": "input_file",
        "file_data": f"data:text/csv;base64,{CSV}",
        "filename": "a.csv",
    },
    "file-url": {"type": "input_file", "file_url": "https://example.com/a.pdf"},
}
WHO = {
    "gemini": "gemini",
    "bedrock": "bedrock",
    "anthropic": "anthropic",
    "openai": "openai Chat Completions",
    "openai_responses": "the Responses API",
    "azure": "azure Chat Completions (v1 API)",
    "azure_ga": "azure Chat Completions (a dated GA api-version)",
    "xai": "xai Chat Completions",
    "openai_compatible": "openai_compatible Chat Completions",
}
# Each format's model, and its base URL where the default will not do.
ROUTES: dict[str, tuple[str, str | None]] = {
    "openai": ("gpt-4o-mini", None),
    "openai_responses": ("gpt-5-mini", None),
    "gemini": ("gemini-2.5-flash", None),
    "bedrock": (
        "bedrock/us.amazon.nova-micro-v1:0",
        "https://bedrock-runtime.us-east-1.amazonaws.com",
    ),
    "anthropic": ("claude-sonnet-4-5", None),
    "azure": ("azure/gpt-4.1-mini", "https://res.openai.azure.com"),
    "azure_ga": ("azure/gpt-4o", "https://res.openai.azure.com/openai?api-version=2024-10-21"),
    "xai": ("grok-4", None),
    "openai_compatible": ("openai_compatible/llava", "http://127.0.0.1:8000/v1"),
}
CHAT = ("openai", "azure", "azure_ga", "xai", "openai_compatible")


def body_for(wire: str, part: Any) -> dict[str, Any]:
    messages = [{"role": "user", "content": [part]}]
    model, base_url = ROUTES[wire]
    provider = model.split("/")[0] if "/" in model else None
    session = prepare_session(
        messages,
        model=model,
        api_keys=dict.fromkeys(("gemini", "bedrock", "anthropic", "openai", "azure", "xai"), "k"),
        base_urls={provider: base_url} if provider and base_url else {},
        openai_api="responses" if wire == "openai_responses" else "chat",
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
        with pytest.raises(ConfigurationError, match=re.escape(f"{WHO[wire]} cannot take")):
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
    elif wire in CHAT:
        from openai.types.chat import ChatCompletionContentPartParam as param
    else:
        from openai.types.responses import ResponseInputContentParam as param
    pydantic.TypeAdapter(param).validate_python(sent, strict=False)


@pytest.mark.parametrize(
    ("wire", "name"),
    [
        (wire, name)
        for wire in ("anthropic", "gemini", "openai_responses", *CHAT)
        for name in sorted(PARTS)
        if EXPECTED[wire][name] != REFUSED  # a refused part sends nothing
        # xAI's shapes (not in openai's types)
        and not (wire in ("xai", "openai_compatible") and name in ("file-url", "image-id"))
    ],
)
def test_every_converted_part_fits_the_official_sdks_types(wire: str, name: str) -> None:
    # google-genai, anthropic and openai ship the request types: each cell fits them.
    _validate_with_the_official_sdk(wire, sent_part(wire, body_for(wire, PARTS[name])))


@pytest.mark.parametrize("wire", CHAT)
def test_the_chat_dialects_refuse_another_providers_block(wire: str) -> None:
    block = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}}
    with pytest.raises(
        ConfigurationError, match=re.escape(f"{WHO[wire]} cannot take an anthropic")
    ):
        body_for(wire, block)


@pytest.mark.parametrize(
    ("wire", "part", "refused"),
    [
        # OpenAI's InputAudio.format is wav or mp3
        (
            "openai",
            {"type": "input_audio", "input_audio": {"data": "ZkxhQw==", "format": "flac"}},
            "it takes audio in mp3, wav only",
        ),
        (
            "openai_compatible",
            {"type": "input_audio", "input_audio": {"data": "ZkxhQw==", "format": "flac"}},
            None,
        ),
        # xAI's own: image_url by Files API id, text_file
        ("xai", {"type": "image_url", "image_url": {"file_id": "file-1"}}, None),
        ("xai", {"type": "text_file", "text_file": {"file_id": "file-1"}}, None),
        (
            "openai",
            {"type": "image_url", "image_url": {"file_id": "file-1"}},
            "it takes text, images by URL, images as bytes, audio, files as bytes, files by id",
        ),
        # a compatible server's own part types go as given; OpenAI knows no such part
        ("openai_compatible", {"type": "video_url", "video_url": {"url": "https://x/v.mp4"}}, None),
        (
            "openai",
            {"type": "video_url", "video_url": {"url": "https://x/v.mp4"}},
            "no known shape",
        ),
        (
            "openai",
            {"type": "imagee_url", "image_url": {"url": "https://x/c.png"}},
            "no known shape",
        ),
    ],
)
def test_what_one_dialect_takes_and_another_refuses(
    wire: str, part: Any, refused: str | None
) -> None:
    if refused is None:
        assert sent_part(wire, body_for(wire, part)) == part
        return
    with pytest.raises(ConfigurationError, match=re.escape(refused)):
        body_for(wire, part)


@pytest.mark.parametrize(
    ("wire", "given", "sent"),
    [
        ("openai", {"type": "input_text", "text": "Hi."}, {"type": "text", "text": "Hi."}),
        (
            "openai",
            {"type": "input_image", "image_url": "https://x/c.png", "detail": "low"},
            {"type": "image_url", "image_url": {"url": "https://x/c.png", "detail": "low"}},
        ),
        (
            "azure",
            {"type": "input_file", "file_data": PDF_URL, "filename": "a.pdf"},
            {"type": "file", "file": {"file_data": PDF_URL, "filename": "a.pdf"}},
        ),
        (
            "xai",
            {"type": "input_file", "file_url": "https://x/a.pdf"},
            {"type": "file", "file": {"url": "https://x/a.pdf"}},
        ),
        (
            "xai",
            {"type": "input_image", "file_id": "file-1"},
            {"type": "image_url", "image_url": {"file_id": "file-1"}},
        ),
    ],
)
def test_the_responses_shapes_go_to_chat_in_chats_shapes(wire: str, given: Any, sent: Any) -> None:
    assert sent_part(wire, body_for(wire, given)) == sent


def test_a_file_as_plain_base64_is_bytes_never_a_url() -> None:
    # file_data without a data: prefix went out as an Anthropic "url" source of base64 text.
    part = {"type": "file", "file": {"file_data": PDF}}  # no filename: no media type
    with pytest.raises(ConfigurationError, match="give its media type"):
        body_for("anthropic", part)
    with pytest.raises(ConfigurationError, match="gemini cannot take a file part \\(inline\\)"):
        body_for("gemini", part)
    assert sent_part("openai", body_for("openai", part)) == part  # the server judges it


@pytest.mark.parametrize("wire", CHAT)
def test_each_chat_dialects_record_says_what_it_takes(wire: str) -> None:
    from steer_common.providers import get_format

    record = get_format("azure" if wire == "azure_ga" else wire)
    assert record.parts is not None
    # the record's rules are the ones its requests are built with: every taken row is sent
    takes = record.parts(_route(wire)).takes
    for name, expected in EXPECTED[wire].items():
        if name in ("pdf-base64", "csv-data"):
            continue  # rows beyond where: a media type decides
        assert (expected != REFUSED) == (_where(name) in takes), (wire, name)


def _route(wire: str) -> Any:
    from steer_common.spec import Route

    model, base_url = ROUTES[wire]
    return Route(wire, model, wire, "k", base_url or "https://api.example")


def _where(name: str) -> str:
    return {"pdf-data": "file-data"}.get(name, name)


# docs/providers.md's content-parts table: its columns and rows, as the tests above name them.
COLUMNS = [
    "openai",
    "azure",
    "azure_ga",
    "xai",
    "openai_compatible",
    "openai_responses",
    "gemini",
    "bedrock",
    "anthropic",
]
ROWS = {
    '"type": "text"': "text",
    "image by URL": "image-url",
    "image as bytes": "image-data",
    "image by file id": "image-id",
    "audio": "audio",
    "a PDF as bytes": "pdf-data",
    "another file as bytes": "csv-data",
    "file by id": "file-id",
    "file by URL": "file-url",
}


def _docs_table() -> dict[str, list[str]]:
    from pathlib import Path

    text = Path(__file__).parents[2].joinpath("docs/providers.md").read_text()
    section = text.split("## Content parts", 1)[1].split("\n## ", 1)[0]
    rows = [line.strip("|").split(" | ") for line in section.splitlines() if line.startswith("| ")]
    return {cells[0].strip(): [c.strip() for c in cells[1:]] for cells in rows[1:]}


@pytest.mark.parametrize("label", sorted(ROWS))
def test_the_docs_table_says_what_each_format_does(label: str) -> None:
    table = _docs_table()
    (row,) = [cells for name, cells in table.items() if name.lstrip("`{").startswith(label)]
    assert len(row) == len(COLUMNS)
    for wire, cell in zip(COLUMNS, row, strict=True):
        refused = EXPECTED[wire][ROWS[label]] == REFUSED
        assert cell.startswith("refused") == refused, (label, wire, cell)
        if wire in CHAT and not refused:
            given = EXPECTED[wire][ROWS[label]] == PARTS[ROWS[label]]
            assert cell.startswith("as given") == given, (label, wire, cell)
