"""Cloud credential chains, shared by both front ends: Google's application default
credentials (google-auth), Azure's Entra ID (azure-identity), AWS's credential chain and
SigV4 signatures (botocore).

The core names a chain (a provider's ``credential``) and asks for an authorizer before
each attempt; :func:`authorizer` builds one here, without I/O. Calling it may do I/O (a
token refresh, an instance-metadata lookup), so the session flow asks its front end to
run it off the event loop, within a time limit (a ``Compute`` command). Each cloud SDK is
an optional extra, imported on first use: ``vertex``, ``azure``, ``bedrock``
(``pip install -e '.[vertex]'`` from a checkout). Without it, a call that needs the
chain fails with a :class:`~steer_common.errors.MissingAPIKeyError` that names the extra
and the other ways to give a credential.

One authorizer is kept per chain, region and given credential, so its token cache is
shared by every call and both clients.
"""

from __future__ import annotations

import threading
from typing import Any

from steer_common.errors import ConfigurationError
from steer_common.spec import Authorizer, Route

__all__ = ["authorizer", "forget"]

_SHARED: dict[tuple[str, str, int], Authorizer] = {}
_LOCK = threading.Lock()


def authorizer(chain: str, route: Route, given: Any = None) -> Authorizer:
    """The authorizer of ``chain`` for ``route`` (a :data:`~steer_common.spec.CredentialChain`).

    Args:
        chain: ``"google"``, ``"azure"`` or ``"aws"``.
        route: where the call goes (the AWS region is read from its base URL).
        given: the credential object the user passed in ``api_keys`` (a google-auth
            ``Credentials``, an azure-identity ``TokenCredential``, a boto3 ``Session`` or
            botocore ``Credentials``), else ``None``: the SDK's default chain.

    Raises:
        ConfigurationError: an unknown chain.
    """
    if chain == "aws":
        from steer_cloud.aws import SigV4, region_of  # noqa: PLC0415 - imported on use

        region = region_of(route.base_url)
        key = (chain, region or "", id(given))
        make: Any = lambda: SigV4(region, given)  # noqa: E731
    elif chain == "google":
        from steer_cloud.google import GoogleToken  # noqa: PLC0415

        key, make = (chain, "", id(given)), lambda: GoogleToken(given)
    elif chain == "azure":
        from steer_cloud.azure import EntraToken  # noqa: PLC0415

        key, make = (chain, "", id(given)), lambda: EntraToken(given)
    else:
        raise ConfigurationError(f"unknown credential chain {chain!r}")
    with _LOCK:
        found = _SHARED.get(key)
        if found is None:
            found = _SHARED[key] = make()
        return found


def forget() -> None:
    """Drop every authorizer and the credentials it holds: the next call finds them again
    (after credentials were rotated or the environment changed)."""
    with _LOCK:
        _SHARED.clear()
