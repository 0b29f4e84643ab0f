"""The cloud credential chains in both clients, over loopback: a token fetched before the
first attempt, cached, sent as the provider takes it; the chains' own errors typed.

Google's chain runs for real: a service-account key made for the test, whose ``token_uri``
is the emulator's OAuth endpoint, so google-auth signs a JWT and refreshes over loopback.
Nothing here may reach a cloud: no instance metadata, no token service.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import steer_cloud
from steer_common.errors import MissingAPIKeyError
from steer_emulator.dispatch import sigv4_shaped
from steer_sync.emulator import TOKEN_PATH, Emulator


@pytest.fixture(autouse=True)
def fresh_chains(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # No real cloud: never the instance metadata services, never a user's own files.
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("NO_GCE_CHECK", "true")
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    steer_cloud.forget()
    yield
    steer_cloud.forget()


def service_account(emu: Emulator, directory: Path) -> Path:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    path = directory / "service-account.json"
    info = {
        "type": "service_account",
        "project_id": "emulator",
        "private_key_id": "test-key-1",
        "private_key": pem,
        "client_email": "steer-test@emulator.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": emu.url + TOKEN_PATH,
    }
    path.write_text(json.dumps(info), encoding="utf-8")
    return path


def vertex_kwargs(emu: Emulator, **api_keys: Any) -> dict[str, Any]:
    return {"api_keys": api_keys, "base_urls": {"vertex_ai": emu.base_urls["vertex_ai"]}}


def test_vertex_takes_a_token_from_application_default_credentials(
    make_runner: Any, emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(service_account(emulator, tmp_path)))
    monkeypatch.delenv("VERTEX_AI_ACCESS_TOKEN", raising=False)
    runner = make_runner(**vertex_kwargs(emulator))
    before = emulator.tokens_issued
    first = runner.response("hello", model="vertex_ai/gemini-2.5-flash")
    sent = emulator.requests[-1].headers["authorization"]
    second = runner.response("again", model="vertex_ai/gemini-2.5-flash")
    assert first.text == "Echo: hello" and second.text == "Echo: again"
    assert sent == f"Bearer ya29.emulator-token-{before + 1}"
    assert emulator.requests[-1].headers["authorization"] == sent  # cached, not fetched again
    assert emulator.tokens_issued == before + 1


def test_vertex_takes_given_google_credentials(make_runner: Any, emulator: Emulator) -> None:
    from google.oauth2.credentials import Credentials

    credentials = Credentials(
        token=None,
        refresh_token="refresh-me",
        token_uri=emulator.url + TOKEN_PATH,
        client_id="c",
        client_secret="s",
    )
    runner = make_runner(**vertex_kwargs(emulator, vertex_ai=credentials))
    response = runner.response("hi", model="vertex_ai/gemini-2.5-flash")
    assert response.text == "Echo: hi"
    assert emulator.requests[-1].headers["authorization"] == f"Bearer {credentials.token}"


def test_a_token_callable_is_asked_before_each_attempt(
    make_runner: Any, emulator: Emulator
) -> None:
    issued: list[str] = []

    def token() -> str:
        issued.append(f"ya29.callable-{len(issued) + 1}")
        return issued[-1]

    runner = make_runner(**vertex_kwargs(emulator, vertex_ai=token))
    # The first attempt is refused (a 503), the retry streams: each got its own token.
    prompt = f'hi {runner.kind} [[emulator:{{"status": 503, "fail_times": 1}}]]'
    response = runner.response(prompt, model="vertex_ai/gemini-2.5-flash")
    assert response.text == f"Echo: hi {runner.kind}" and len(response.attempts) == 2
    assert issued == ["ya29.callable-1", "ya29.callable-2"]
    assert emulator.requests[-1].headers["authorization"] == "Bearer ya29.callable-2"


def test_without_any_google_credential_the_error_says_what_to_set(
    make_runner: Any, emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VERTEX_AI_ACCESS_TOKEN", raising=False)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing.json"))
    runner = make_runner(**vertex_kwargs(emulator))
    with pytest.raises(MissingAPIKeyError) as caught:
        runner.response("hi", model="vertex_ai/gemini-2.5-flash")
    assert "VERTEX_AI_ACCESS_TOKEN" in str(caught.value)
    assert "pip install -e '.[vertex]'" in str(caught.value)


# -- Azure: Entra ID tokens ----------------------------------------------------------------


class Entra:
    """An azure-identity ``TokenCredential`` as azure-core defines one (``get_token``
    returning ``AccessToken``): the shape DefaultAzureCredential and every other
    credential class have, without their token service."""

    def __init__(self) -> None:
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        self.scopes.append(scopes)
        return AccessToken(f"eyJ.entra-{len(self.scopes)}", int(time.time()) + 3600)


def test_azure_takes_an_entra_id_credential(make_runner: Any, emulator: Emulator) -> None:
    credential = Entra()
    kwargs = {"api_keys": {"azure": credential}, "base_urls": emulator.base_urls}
    runner = make_runner(**kwargs)
    first = runner.response("hi", model="azure/prod-chat")
    again = runner.response("again", model="azure/prod-chat")
    assert (first.text, again.text) == ("Echo: hi", "Echo: again")
    headers = emulator.requests[-1].headers
    assert headers["authorization"] == "Bearer eyJ.entra-1" and "api-key" not in headers
    assert credential.scopes == [("https://cognitiveservices.azure.com/.default",)]  # cached


def test_an_azure_credential_that_finds_none_is_a_missing_key_error(
    make_runner: Any, emulator: Emulator
) -> None:
    from azure.identity import CredentialUnavailableError

    class Unavailable(Entra):
        def get_token(self, *scopes: str, **kwargs: Any) -> Any:
            raise CredentialUnavailableError("EnvironmentCredential authentication unavailable")

    runner = make_runner(api_keys={"azure": Unavailable()}, base_urls=emulator.base_urls)
    sent = len(emulator.requests)
    with pytest.raises(MissingAPIKeyError) as caught:
        runner.response("hi", model="azure/prod-chat")
    message = str(caught.value)
    assert "EnvironmentCredential authentication unavailable" in message
    assert "AZURE_OPENAI_API_KEY" in message and "pip install -e '.[azure]'" in message
    assert len(emulator.requests) == sent  # nothing was sent without a credential


# -- Bedrock: SigV4 -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "model", ["amazon.nova-micro-v1:0", "anthropic.claude-haiku-4-5-20251001-v1:0"]
)
def test_bedrock_signs_each_attempt_with_sigv4(
    make_runner: Any, emulator: Emulator, monkeypatch: pytest.MonkeyPatch, model: str
) -> None:
    from botocore.credentials import Credentials

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")  # the emulator's URL names none
    credentials = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG", "session-token")
    runner = make_runner(
        api_keys={"bedrock": credentials},
        base_urls={"bedrock": emulator.base_urls["bedrock"]},
    )
    prompt = f'hi {runner.kind} [[emulator:{{"status": 503, "fail_times": 1}}]]'
    response = runner.response(prompt, model=f"bedrock/{model}")
    assert response.text == f"Echo: hi {runner.kind}" and len(response.attempts) == 2
    first, second = (r.headers for r in emulator.requests[-2:])
    for headers in (first, second):
        value = headers["authorization"]
        assert value.startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
        assert "/us-west-2/bedrock/aws4_request" in value
        assert headers["x-amz-security-token"] == "session-token"
        assert sigv4_shaped(value, headers)  # the signed headers were all sent
    assert response.cost_usd is not None and response.cost_breakdown["provider"] == "aws"


def test_without_any_aws_credential_the_error_says_what_to_set(
    make_runner: Any, emulator: Emulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", "")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", raising=False)
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", raising=False)
    steer_cloud.forget()
    runner = make_runner(api_keys={}, base_urls={"bedrock": emulator.base_urls["bedrock"]})
    sent = len(emulator.requests)
    with pytest.raises(MissingAPIKeyError) as caught:
        runner.response("hi", model="bedrock/amazon.nova-micro-v1:0")
    assert "AWS_BEARER_TOKEN_BEDROCK" in str(caught.value)
    assert len(emulator.requests) == sent


@pytest.mark.parametrize(
    ("environment", "profile", "expected"),
    [
        ({"AWS_REGION": "eu-west-3"}, None, "eu-west-3"),
        ({"AWS_DEFAULT_REGION": "ap-south-1"}, None, "ap-south-1"),
        ({"AWS_REGION": "eu-west-3", "AWS_DEFAULT_REGION": "ap-south-1"}, None, "eu-west-3"),
        ({}, "ca-central-1", "ca-central-1"),
        ({"AWS_REGION": "eu-west-3"}, "ca-central-1", "eu-west-3"),
    ],
    ids=["AWS_REGION", "AWS_DEFAULT_REGION", "both", "profile", "AWS_REGION-over-profile"],
)
def test_bedrock_at_a_custom_endpoint_finds_the_region_as_the_aws_sdks_do(
    make_runner: Any,
    emulator: Emulator,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    environment: dict[str, str],
    profile: str | None,
    expected: str,
) -> None:
    # A VPC endpoint, a proxy or the emulator: the URL names no region, so the signature's
    # comes from the environment. botocore's own setting reads only AWS_DEFAULT_REGION and
    # the profile, so AWS_REGION alone (what Lambda and ECS set) was "needs a region".
    from botocore.credentials import Credentials

    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    config = tmp_path / "config"
    config.write_text(f"[default]\nregion = {profile}\n" if profile else "", encoding="utf-8")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    credentials = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG")
    runner = make_runner(
        api_keys={"bedrock": credentials}, base_urls={"bedrock": emulator.base_urls["bedrock"]}
    )
    response = runner.response("hi", model="bedrock/amazon.nova-micro-v1:0")
    assert response.text == "Echo: hi"
    authorization = emulator.requests[-1].headers["authorization"]
    assert f"/{expected}/bedrock/aws4_request" in authorization


def test_azure_without_a_key_or_its_extra_names_both_at_once(
    make_runner: Any, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No key and no azure-identity: a MissingAPIKeyError before anything is sent, as Vertex
    # and Bedrock give, not an APIConnectionError after 4 attempts ("No module named
    # 'azure'", retried as if the network had failed).
    import sys

    for name in ("azure", "azure.identity", "azure.core", "azure.core.exceptions"):
        monkeypatch.setitem(sys.modules, name, None)  # as if the extra were not installed
    monkeypatch.delenv("AZURE_OPENAI_API_KEY", raising=False)
    runner = make_runner(api_keys={}, base_urls={"azure": emulator.base_urls["azure"]})
    sent = len(emulator.requests)
    started = time.monotonic()
    with pytest.raises(MissingAPIKeyError) as caught:
        runner.response("hi", model="azure/prod")
    assert time.monotonic() - started < 1.0  # no retries, no backoff
    message = str(caught.value)
    assert "azure-identity is not installed" in message and "AZURE_OPENAI_API_KEY" in message
    assert caught.value.env_var == "AZURE_OPENAI_API_KEY"
    assert len(emulator.requests) == sent
