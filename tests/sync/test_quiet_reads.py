"""Reads the blocking transport may give up (``Read.quiet``: the browser relay's heartbeats
on the reading thread), over real loopback sockets, plain and TLS: a read with nothing in
``quiet`` seconds answers ``None`` and takes nothing from the socket, so the body then
reads on whole, in each framing, and the connection still goes back to the pool; the read
timeout still raises; and the relay sends heartbeats with no thread of its own, and closes
the upstream at once when the browser leaves a silent stream."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

import steer_sync
from steer_common.errors import StreamTimeoutError
from steer_common.relay import encoder
from steer_common.request import HTTPRequest
from steer_sync.transport import RequestsTransport
from steer_sync.web.registry import StreamRegistry
from steer_sync.web.relay import relay
from tests.faultserver import FaultServer, Play, head

EVENT_1 = b'data: {"n": 1}\n\n'
EVENT_2 = b'data: {"n": 2}\n\n'


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 that is its own authority, and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "steer test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture(params=["http", "https"])
def served(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[FaultServer, RequestsTransport]]:
    """A fault server, plain or TLS, and a transport that trusts it."""
    if request.param == "http":
        with FaultServer() as server:
            transport = RequestsTransport()
            yield server, transport
            transport.close()
        return
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):  # they would override `verify`
        monkeypatch.delenv(name, raising=False)
    cert, key = self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    session = requests.Session()
    session.verify = str(cert)
    with FaultServer(tls=context) as server:
        yield server, RequestsTransport(session=session)
    session.close()


def get(server: FaultServer) -> HTTPRequest:
    return HTTPRequest("GET", server.base_url + "/stream", {}, b"")


def framed(framing: str, parts: list[bytes], pause: float, *, head_alone: bool) -> Play:
    """``parts`` as a body in ``framing``, a pause before each part (and before the first
    only when ``head_alone``: the head then arrives with no body bytes behind it)."""
    body = b"".join(parts)
    if framing == "chunked":
        top = head()
    elif framing == "length":
        top = head(headers={"content-length": str(len(body))}, chunked=False)
    else:  # the body ends when the connection closes
        top = head(headers={"connection": "close"}, chunked=False)
    steps: list[tuple[object, ...]] = []
    for i, part in enumerate(parts):
        if i or head_alone:
            steps.append(("sleep", pause))
        data = b"%x\r\n%s\r\n" % (len(part), part) if framing == "chunked" else part
        steps.append(("send", top + data if i == 0 and not head_alone else data))
        if i == 0 and head_alone:
            steps.insert(0, ("send", top))
    steps.append(("send", b"0\r\n\r\n") if framing == "chunked" else ("close",))
    if framing == "length":
        steps.pop()  # the length says where the body ends: the connection stays
    return Play(steps)


def read_all(response: object, quiet: float, timeout: float = 10.0) -> tuple[bytes, int]:
    """The body, and how many reads gave up."""
    got, quiets = b"", 0
    while True:
        data = response.read(65536, timeout, quiet)  # type: ignore[attr-defined]
        if data is None:
            quiets += 1
            continue
        if not data:
            return got, quiets
        got += data


@pytest.mark.parametrize("framing", ["chunked", "length", "close"])
@pytest.mark.parametrize("head_alone", [False, True], ids=["head+body", "head-alone"])
def test_a_quiet_read_takes_nothing_and_the_body_reads_on_whole(
    served: tuple[FaultServer, RequestsTransport], framing: str, head_alone: bool
) -> None:
    server, transport = served
    server.queue(framed(framing, [EVENT_1, EVENT_2], 0.35, head_alone=head_alone))
    response = transport.open(get(server), 5.0)
    body, quiets = read_all(response, quiet=0.05)
    assert body == EVENT_1 + EVENT_2
    assert 2 <= quiets <= 20  # the pause went by in reads given up, every byte kept
    response.close(True)
    if framing != "close":  # the connection, read to the end of its body, is pooled
        server.queue(framed(framing, [EVENT_1], 0.0, head_alone=False))
        again = transport.open(get(server), 5.0)
        assert read_all(again, quiet=1.0)[0] == EVENT_1
        again.close(True)
        assert server.connections == 1
    transport.close()


def test_a_read_timeout_shorter_than_quiet_still_raises(
    served: tuple[FaultServer, RequestsTransport],
) -> None:
    server, transport = served
    server.queue(Play([("send", head()), ("sleep", 3.0)]))
    response = transport.open(get(server), 5.0)
    started = time.monotonic()
    with pytest.raises(StreamTimeoutError):
        response.read(65536, 0.2, 5.0)  # the timeout comes first: an error, not a quiet
    assert time.monotonic() - started < 2.0
    response.close(False)
    transport.close()


def test_without_quiet_a_read_waits_for_data(
    served: tuple[FaultServer, RequestsTransport],
) -> None:
    server, transport = served
    server.queue(framed("chunked", [EVENT_1, EVENT_2], 0.3, head_alone=True))
    response = transport.open(get(server), 5.0)
    assert read_all(response, quiet=None) == (EVENT_1 + EVENT_2, 0)  # type: ignore[arg-type]
    response.close(True)
    transport.close()


# -- the relay, on the reading thread -------------------------------------------------------


def _sse_play(events: list[bytes], silence: float) -> Play:
    """A Chat Completions stream: its first events, then a silence (no keep-alive)."""
    steps: list[tuple[object, ...]] = [("send", head())]
    steps += [("chunk", event) for event in events]
    steps.append(("sleep", silence))
    return Play(steps)


CHUNK = (
    b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m",'
    b'"choices":[{"index":0,"delta":{"content":"%s"},"finish_reason":null}]}\n\n'
)


def test_the_relay_heartbeats_a_silent_stream_from_the_server_thread_and_closes_it_at_once() -> (
    None
):
    with FaultServer() as server:
        server.queue(_sse_play([CHUNK % b"one ", CHUNK % b"two "], silence=30.0))
        client = steer_sync.SteerLLMClient(
            api_keys={"openai": "sk-test"}, base_urls={"openai": server.base_url + "/v1"}
        )
        before = {t.ident for t in threading.enumerate()}
        frames = relay(
            client.stream_events("hi", model="gpt-4o-mini"),
            encoder("sse"),
            heartbeat=0.1,
        )
        got = b""
        for frame in frames:
            got += frame
            if got.count(b": heartbeat\n\n") == 3:
                break
        assert b'"delta":"one "' in got and b'"delta":"two "' in got
        assert got.index(b'"delta":"two "') < got.index(b": heartbeat\n\n")
        # No thread read the stream: the server's thread did, between heartbeats.
        assert not [t for t in threading.enumerate() if t.ident not in before and "relay" in t.name]
        started = time.monotonic()
        frames.close()  # the browser went away, 29 s before the provider's next byte
        assert server.wait_open(0, timeout=5.0)  # the provider's connection closed at once
        assert time.monotonic() - started < 5.0
        client.close()


def test_a_silent_generation_nobody_reads_is_abandoned_while_the_model_is_silent() -> None:
    with FaultServer() as server:
        server.queue(_sse_play([CHUNK % b"one "], silence=30.0))
        client = steer_sync.SteerLLMClient(
            api_keys={"openai": "sk-test"}, base_urls={"openai": server.base_url + "/v1"}
        )
        registry = StreamRegistry(heartbeat=None)
        first = registry.start(
            "s1", client.stream_events("hi", model="gpt-4o-mini"), abandon_after=0.4
        )
        assert b'"delta":"one "' in next(first)  # the text, then the reader leaves
        first.close()  # type: ignore[attr-defined]
        # Stopped while the model is silent (before, only its next event would have
        # stopped it, 30 s on): the provider's connection closes, the billing stops.
        assert server.wait_open(0, timeout=5.0)
        again = registry.resume("s1", "1")
        assert again is not None and b"StreamAbandonedError" in b"".join(again)
        client.close()
