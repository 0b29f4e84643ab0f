"""Google's application default credentials (google-auth, the ``[vertex]`` extra):
``Authorization: Bearer`` with an OAuth token for the ``cloud-platform`` scope, refreshed
when it expires."""

from __future__ import annotations

import threading
from typing import Any

from steer_common.errors import MissingAPIKeyError
from steer_common.extras import install
from steer_common.request import HTTPRequest

__all__ = ["SCOPE", "GoogleToken"]

#: The OAuth scope Vertex AI takes.
SCOPE = "https://www.googleapis.com/auth/cloud-platform"

_HELP = (
    "pass api_keys={'vertex_ai': <a token, a token callable or google-auth Credentials>}, "
    f"set VERTEX_AI_ACCESS_TOKEN, or {install('vertex')} and set up application "
    "default credentials (gcloud auth application-default login, or "
    "GOOGLE_APPLICATION_CREDENTIALS)"
)


class GoogleToken:
    """An authorizer (see :mod:`steer_cloud`): google-auth credentials, the given ones or
    ``google.auth.default()``, refreshed under a lock when they are not valid."""

    def __init__(self, credentials: Any = None) -> None:
        self._credentials = credentials
        self._lock = threading.Lock()

    def __call__(self, request: HTTPRequest) -> dict[str, str]:
        try:
            import google.auth  # noqa: PLC0415 - an optional extra
            import google.auth.exceptions  # noqa: PLC0415
            import google.auth.transport.requests  # noqa: PLC0415
        except ImportError:
            raise MissingAPIKeyError(
                f"no credential for vertex_ai: google-auth is not installed; {_HELP}",
                provider="vertex_ai",
                env_var="VERTEX_AI_ACCESS_TOKEN",
            ) from None
        with self._lock:
            credentials = self._credentials
            try:
                if credentials is None:
                    credentials, _ = google.auth.default(scopes=[SCOPE])
                    self._credentials = credentials
                if not credentials.valid:
                    credentials.refresh(google.auth.transport.requests.Request())
            except google.auth.exceptions.DefaultCredentialsError as exc:
                raise MissingAPIKeyError(
                    f"no credential for vertex_ai: {exc}; {_HELP}",
                    provider="vertex_ai",
                    env_var="VERTEX_AI_ACCESS_TOKEN",
                ) from None
            return {"authorization": f"Bearer {credentials.token}"}
