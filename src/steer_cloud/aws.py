"""AWS's credential chain and SigV4 (botocore, the ``[bedrock]`` extra): each request is
signed for the ``bedrock`` service with credentials from the given boto3 ``Session`` or
botocore ``Credentials``, else botocore's own chain (environment, shared files, SSO,
container and instance roles); botocore refreshes temporary ones. The signing is
botocore's, on the request the core built, without sending anything."""

from __future__ import annotations

import os
import re
import threading
from typing import Any

from steer_common.errors import ConfigurationError, MissingAPIKeyError
from steer_common.extras import install
from steer_common.request import HTTPRequest

__all__ = ["SERVICE", "SigV4", "region_of"]

#: The service name Bedrock's runtime endpoints are signed for.
SERVICE = "bedrock"

_HOST_REGION = re.compile(r"^bedrock-runtime(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com")

_HELP = (
    "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or a profile, SSO, or a role), pass "
    "api_keys={'bedrock': <a boto3 Session or botocore Credentials>}, or use a Bedrock API "
    "key (AWS_BEARER_TOKEN_BEDROCK)"
)


def region_of(base_url: str) -> str | None:
    """The region of a Bedrock runtime URL (``https://bedrock-runtime.<region>.amazonaws.com``)."""
    host = base_url.split("://", 1)[-1].split("/", 1)[0]
    match = _HOST_REGION.match(host)
    return match.group(1) if match else None


def _region(session: Any) -> str | None:
    """The region as the AWS SDKs find it: one set on the session, ``AWS_REGION``,
    ``AWS_DEFAULT_REGION``, then the profile's. (botocore's own ``region`` setting skips
    ``AWS_REGION``, which the other SDKs, Lambda and ECS set.)"""
    region: str | None = session.get_config_variable("region", methods=("instance",))
    return region or os.environ.get("AWS_REGION") or session.get_config_variable("region")


class SigV4:
    """An authorizer (see :mod:`steer_cloud`): the SigV4 headers for one request."""

    def __init__(self, region: str | None, given: Any = None) -> None:
        self._region = region
        self._given = given
        self._credentials: Any = None
        self._lock = threading.Lock()

    def __call__(self, request: HTTPRequest) -> dict[str, str]:
        try:
            from botocore.auth import SigV4Auth  # noqa: PLC0415 - an optional extra
            from botocore.awsrequest import AWSRequest  # noqa: PLC0415
        except ImportError:
            raise MissingAPIKeyError(
                f"no credential for bedrock: botocore is not installed ({install('bedrock')}); "
                f"{_HELP}",
                provider="bedrock",
                env_var="AWS_ACCESS_KEY_ID",
            ) from None
        credentials, region = self._resolve()
        signed = AWSRequest(
            method=request.method,
            url=request.url,
            data=request.body,
            headers={"content-type": request.headers.get("content-type", "application/json")},
        )
        SigV4Auth(credentials.get_frozen_credentials(), SERVICE, region).add_auth(signed)
        return {name.lower(): value for name, value in signed.headers.items()}

    def _resolve(self) -> tuple[Any, str]:
        with self._lock:
            if self._credentials is None:
                given = self._given
                if hasattr(given, "get_credentials"):  # a boto3 or botocore Session
                    session = getattr(given, "_session", given)
                    credentials = given.get_credentials()
                else:
                    import botocore.session  # noqa: PLC0415

                    session = botocore.session.get_session()
                    credentials = given if given is not None else session.get_credentials()
                if credentials is None:
                    raise MissingAPIKeyError(
                        f"no credential for bedrock: botocore found none; {_HELP}",
                        provider="bedrock",
                        env_var="AWS_ACCESS_KEY_ID",
                    )
                if self._region is None:
                    self._region = _region(session)
                self._credentials = credentials
            if not self._region:
                raise ConfigurationError(
                    "bedrock needs a region: set AWS_REGION (or AWS_DEFAULT_REGION, or a "
                    "profile's region), or a base URL "
                    "https://bedrock-runtime.<region>.amazonaws.com",
                    provider="bedrock",
                )
            return self._credentials, self._region
