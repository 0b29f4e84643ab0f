"""The content parts users send, read once into one neutral shape, for every format to
render its own way or refuse: nothing a user sends is dropped in silence.

A message's ``content`` may be a list of parts, in the shapes users know from the
OpenAI SDK (and the other SDKs' own):

- text: ``{"type": "text", "text": ...}`` (``input_text`` too);
- an image: ``{"type": "image_url", "image_url": {"url": ...}}`` with an https URL or a
  ``data:<media type>;base64,...`` URL, or ``{"file_id": ...}`` (xAI's); Responses'
  ``input_image`` too;
- audio: ``{"type": "input_audio", "input_audio": {"data": <base64>, "format": "wav"}}``;
- a file or PDF: ``{"type": "file", "file": {"file_data": <data URL>, "filename": ...}}``
  (plain base64 too: its media type is the filename's), ``{"file_id": ...}``, or a URL
  (xAI's ``{"url": ...}``, Responses' ``file_url``); Responses' ``input_file`` too;
- a provider's own block, kept for that provider: Anthropic's ``image``/``document``
  blocks, Gemini's ``inlineData``/``fileData`` parts, Converse's ``image``/``document``
  blocks (a dict with no ``type``).

:func:`read_part` says which; a format that cannot send one raises
:class:`~steer_common.errors.ConfigurationError` naming the part and the provider before
anything is sent (:func:`refusal`). A URL is never fetched to make bytes of it.
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from typing import Any, Literal

from steer_common.errors import ConfigurationError

__all__ = ["Part", "foreign", "read_part", "refusal"]

Kind = Literal["text", "image", "audio", "file", "native"]


@dataclass(frozen=True, slots=True)
class Part:
    """One content part, provider-neutral.

    Attributes:
        kind: ``text``, ``image``, ``audio``, ``file``, or ``native`` (a provider's own).
        text: the text of a ``text`` part.
        url: an image's or file's URL (never fetched).
        data: base64 bytes (an image, audio or file given inline).
        media_type: ``image/png``, ``audio/wav``, ``application/pdf``...
        file_id: a file the provider already holds (its Files API id).
        filename: a file's name, where given.
        native: the provider a ``native`` part belongs to: ``anthropic``, ``gemini``,
            ``bedrock``.
        raw: the part as given.
    """

    kind: Kind
    raw: Any
    text: str | None = None
    url: str | None = None
    data: str | None = None
    media_type: str | None = None
    file_id: str | None = None
    filename: str | None = None
    native: str | None = None

    @property
    def name(self) -> str:
        """The part in words, for an error message: ``an image (image/png, inline)``."""
        where = "by URL" if self.url else "a file id" if self.file_id else "inline"
        media = f"{self.media_type}, " if self.media_type else ""
        if self.kind == "native":
            native = self.native or "provider's"
            return f"{'an' if native[0] in 'aeiou' else 'a'} {native} content block"
        article = "an" if self.kind in ("image", "audio") else "a"
        return f"{article} {self.kind} part ({media}{where})"

    @property
    def where(self) -> str:
        """The part's kind and how it is given, as the docs' table rows name them:
        ``text``, ``image-url``, ``image-data``, ``image-id``, ``audio``, ``file-data``,
        ``file-id``, ``file-url``, ``native``."""
        if self.kind in ("text", "audio", "native"):
            return self.kind
        return f"{self.kind}-{'url' if self.url else 'id' if self.file_id else 'data'}"


def _data_url(url: str) -> tuple[str, str] | None:
    """``(media type, base64)`` of a ``data:...;base64,...`` URL."""
    if url.startswith("data:") and ";base64," in url:
        media_type, data = url[5:].split(";base64,", 1)
        return media_type or "application/octet-stream", data
    return None


def _located(kind: Kind, raw: Any, url: str, **extra: Any) -> Part:
    inline = _data_url(url)
    if inline is not None:
        return Part(kind, raw, data=inline[1], media_type=inline[0], **extra)
    return Part(kind, raw, url=url, **extra)


def read_part(part: Any) -> Part:
    """What a content part is (see the module docstring).

    Raises:
        ConfigurationError: a part of no known shape (a typo in its ``type``, say).
    """
    if isinstance(part, str):
        return Part("text", part, text=part)
    if not isinstance(part, dict):
        raise ConfigurationError(f"a content part must be a dict or a string, not {part!r}")
    kind = part.get("type")
    if kind in ("text", "input_text") and isinstance(part.get("text"), str):
        return Part("text", part, text=part["text"])
    if kind in ("image_url", "input_image"):
        image = part.get("image_url")
        url = image.get("url") if isinstance(image, dict) else image
        if isinstance(url, str) and url:
            return _located("image", part, url)
        file_id = image.get("file_id") if isinstance(image, dict) else part.get("file_id")
        if isinstance(file_id, str):
            return Part("image", part, file_id=file_id)
    if kind == "input_audio":
        audio = part.get("input_audio") or {}
        data, fmt = audio.get("data"), audio.get("format")
        if isinstance(data, str) and isinstance(fmt, str):
            return Part("audio", part, data=data, media_type=f"audio/{fmt}")
    if kind in ("file", "input_file"):
        file = part.get("file") if kind == "file" else part
        if isinstance(file, dict):
            filename = file.get("filename")
            if isinstance(file.get("file_id"), str):
                return Part("file", part, file_id=file["file_id"], filename=filename)
            data = file.get("file_data")
            if isinstance(data, str) and _data_url(data) is None:  # plain base64
                media = mimetypes.guess_type(filename)[0] if isinstance(filename, str) else None
                return Part("file", part, data=data, media_type=media, filename=filename)
            if isinstance(data, str):
                return _located("file", part, data, filename=filename)
            url = file.get("file_url") or file.get("url")  # Responses' name, xAI's
            if isinstance(url, str):
                return Part("file", part, url=url, filename=filename)
    native = _native(part)
    if native is not None:
        return Part("native", part, native=native)
    raise ConfigurationError(
        f"a content part of no known shape: {str(part)[:200]} (text, image_url, input_audio, "
        "file, or a provider's own block)"
    )


def foreign(part: Any, provider: str) -> Part | None:
    """The part, if it is another provider's own block (which ``provider`` cannot take);
    ``None`` for anything else (the format's own shapes, text, the neutral parts)."""
    native = _native(part) if isinstance(part, dict) else None
    return None if native in (None, provider) else Part("native", part, native=native)


def _native(part: dict[str, Any]) -> str | None:
    """The provider whose own block ``part`` is (``None``: none's)."""
    kind = part.get("type")
    if kind in ("image", "document") and isinstance(part.get("source"), dict):
        return "anthropic"
    if kind is None and ("inlineData" in part or "fileData" in part):
        return "gemini"
    if kind is None and ("image" in part or "document" in part or "video" in part):
        return "bedrock"
    return None


def refusal(part: Part, provider: str, why: str = "") -> ConfigurationError:
    """The ``ConfigurationError`` of a part ``provider`` cannot take (to raise)."""
    return ConfigurationError(
        f"{provider} cannot take {part.name}{': ' + why if why else ''} "
        "(docs/providers.md lists what each provider takes)"
    )
