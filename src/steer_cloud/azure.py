"""Azure's Entra ID (azure-identity, the ``[azure]`` extra): ``Authorization: Bearer``
with a token for the Cognitive Services scope, from the given ``TokenCredential`` or
``DefaultAzureCredential()``, renewed five minutes before it expires."""

from __future__ import annotations

import threading
import time
from typing import Any

from steer_common.errors import MissingAPIKeyError
from steer_common.extras import install
from steer_common.request import HTTPRequest

__all__ = ["SCOPE", "EntraToken"]

#: The scope Azure OpenAI takes Entra ID tokens for.
SCOPE = "https://cognitiveservices.azure.com/.default"
#: A token this close to its expiry is renewed.
RENEW_BEFORE = 300.0

_HELP = (
    "pass api_keys={'azure': <a key, a token callable or an azure-identity credential>}, "
    f"set AZURE_OPENAI_API_KEY, or {install('azure')} and sign in "
    "(DefaultAzureCredential: environment, workload or managed identity, az login)"
)


class EntraToken:
    """An authorizer (see :mod:`steer_cloud`) holding one token at a time."""

    def __init__(self, credential: Any = None) -> None:
        self._credential = credential
        self._token: Any = None
        self._lock = threading.Lock()

    def __call__(self, request: HTTPRequest) -> dict[str, str]:
        with self._lock:
            token = self._token
            if token is None or token.expires_on - RENEW_BEFORE < time.time():
                token = self._token = self._fetch()
            return {"authorization": f"Bearer {token.token}"}

    def _fetch(self) -> Any:
        credential = self._get_credential()
        try:
            from azure.core.exceptions import ClientAuthenticationError  # noqa: PLC0415
        except ImportError:  # a credential of the caller's, without azure-core: its own errors
            return credential.get_token(SCOPE)
        try:
            return credential.get_token(SCOPE)
        except ClientAuthenticationError as exc:  # CredentialUnavailableError among them
            first_line = (
                str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            )
            raise MissingAPIKeyError(
                f"no credential for azure: {type(credential).__name__} found none "
                f"({first_line}); {_HELP}",
                provider="azure",
                env_var="AZURE_OPENAI_API_KEY",
            ) from exc

    def _get_credential(self) -> Any:
        if self._credential is None:
            try:
                from azure.identity import DefaultAzureCredential  # noqa: PLC0415 - an extra
            except ImportError:
                raise MissingAPIKeyError(
                    f"no credential for azure: azure-identity is not installed; {_HELP}",
                    provider="azure",
                    env_var="AZURE_OPENAI_API_KEY",
                ) from None
            self._credential = DefaultAzureCredential()
        return self._credential
