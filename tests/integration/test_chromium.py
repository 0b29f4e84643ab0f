"""Headless Chromium reads the example's chat page while its stream is cut mid-way.

The example project (examples/django_app) runs in processes of its own, under a WSGI server
and under uvicorn (ASGI), against the emulator, which writes a reply slowly enough that
the generation is still running when the browser comes back. Between the browser and the
app sits a loopback proxy that cuts the page's first ``/chat`` connection after a few
frames; the page's ``EventSource`` reconnects by itself with ``Last-Event-ID``. The page
must then show the whole reply exactly once, and one generation must have run.

Two processes sharing a redis-server: the reconnect goes to the other process (a WSGI one
and an ASGI one, so the blocking and the asyncio Redis stores read each other's frames).

Chromium is Debian's ``chromium`` driven through ``chromium-driver`` (Selenium); .ci/run
installs them. Missing, the tests skip outside CI and fail in CI.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from steer_emulator import Emulator
from tests.environment import missing
from tests.servers import RedisServer, free_port, require, stop, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "examples" / "django_app"

# 60 pieces of 6 characters, one every 0.1 s: about 6 s, so the generation still runs when
# the browser reconnects (Chromium waits about 3 s before it does).
REPLY = " ".join(f"word{n:02d}" for n in range(52)) + "."
QUESTION = (
    "q [[emulator:" + json.dumps({"text": REPLY, "chunk_chars": 6, "event_delay": 0.1}) + "]]"
)
CUT_AFTER = 5  # frames of the first /chat response before the proxy cuts it

WSGI_SERVER = """
import sys
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server
from streamapp.wsgi import application

class Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True

class Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass

make_server("127.0.0.1", int(sys.argv[1]), application, Server, Quiet).serve_forever()
"""


# -- the app's processes -------------------------------------------------------------------


@dataclass
class App:
    kind: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path


def start_app(kind: str, environ: dict[str, str], logs: Path) -> App:
    port = free_port()
    env = {
        **os.environ,
        **environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(APP)]),
        "DJANGO_SETTINGS_MODULE": "streamapp.settings",
    }
    if kind == "wsgi":
        command = [sys.executable, "-c", WSGI_SERVER, str(port)]
    else:
        command = [sys.executable, "-m", "uvicorn", "streamapp.asgi:application",
                   "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
                   "--lifespan", "off"]  # fmt: skip
    log = logs / f"{kind}-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=APP, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, process)
    except BaseException:
        stop(process)
        raise
    return App(kind, port, process, log)


# -- the proxy that cuts -------------------------------------------------------------------


@dataclass
class Seen:
    backend: int
    path: str
    last_event_id: str | None
    frames: int = 0
    cut: bool = False


@dataclass
class CuttingProxy:
    """One request per connection (``Connection: close`` both ways). ``/chat`` requests go
    to the backends in turn, the rest to the first; the first ``/chat`` response is cut
    after ``cut_after`` frames (in the middle of the next one)."""

    backends: list[int]
    cut_after: int
    seen: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self._lock = threading.Lock()
        self._chats = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self.listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        with client:
            head = b""
            while b"\r\n\r\n" not in head:
                piece = client.recv(65536)
                if not piece:
                    return
                head += piece
            lines = head.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
            path = lines[0].split()[1]
            headers = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:])}
            with self._lock:
                chat = path.startswith("/chat")
                number = self._chats if chat else -1
                self._chats += chat
                backend = self.backends[number % len(self.backends)] if chat else self.backends[0]
                seen = Seen(backend, path, headers.get("last-event-id"))
                self.seen.append(seen)
            kept = [
                h for h in lines[1:] if not h.lower().startswith(("connection:", "keep-alive:"))
            ]
            request = "\r\n".join([lines[0], *kept, "Connection: close", "", ""]).encode("latin-1")
            with socket.create_connection(("127.0.0.1", backend)) as upstream:
                upstream.sendall(request)
                self._pipe(upstream, client, seen, cut=number == 0)

    def _pipe(self, upstream: socket.socket, client: socket.socket, seen: Seen, cut: bool) -> None:
        head = b""
        while b"\r\n\r\n" not in head:  # the response head, whatever the reads
            piece = upstream.recv(65536)
            if not piece:
                client.sendall(head)
                return
            head += piece
        head, _, data = head.partition(b"\r\n\r\n")
        kept = [h for h in head.split(b"\r\n") if not h.lower().startswith(b"connection:")]
        client.sendall(b"\r\n".join([*kept, b"Connection: close"]) + b"\r\n\r\n")
        while True:
            if cut:
                ends = [i for i in range(len(data)) if data.startswith(b"\n\n", i)]
                if seen.frames + len(ends) >= self.cut_after:
                    last = ends[self.cut_after - seen.frames - 1]
                    client.sendall(data[: last + 2 + 8])  # and 8 bytes of the next frame
                    seen.frames, seen.cut = self.cut_after, True
                    return  # both sockets close: the connection is lost mid-frame
                seen.frames += len(ends)
            client.sendall(data)
            data = upstream.recv(65536)
            if not data:
                return


# -- the browser ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    binary = require("chromium", "the browser of the browser tests")
    driver_path = require("chromedriver", "Debian's chromium-driver, which drives it")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        missing("selenium (the test extra)")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    profile = tempfile.mkdtemp(prefix="steer-chromium-")
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                 f"--user-data-dir={profile}"):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    try:
        yield driver
    finally:
        driver.quit()


def ask(driver: Any, address: str) -> str:
    """Load the chat page, ask QUESTION, answer the reply the page shows once it is done."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(f"http://{address}/")
    driver.find_element(By.ID, "q").send_keys(QUESTION)
    driver.find_element(By.TAG_NAME, "button").click()
    done = "return !!document.querySelector('#log p.reply') && !document.getElementById('reply')"
    WebDriverWait(driver, 60).until(lambda d: d.execute_script(done))
    errors = driver.execute_script(
        "return [...document.querySelectorAll('#log p.error')].map(p => p.textContent)"
    )
    assert errors == []
    text: str = driver.execute_script("return document.querySelector('#log p.reply').textContent")
    return text


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator() as emulator:
        yield emulator


def run_cut_stream(
    chromium: Any, emulator: Emulator, kinds: list[str], tmp_path: Path, redis: str | None
) -> CuttingProxy:
    environ = emulator.environ()
    if redis is not None:
        environ["STEER_RELAY_REDIS"] = redis
    apps = []
    try:
        for kind in kinds:
            apps.append(start_app(kind, environ, tmp_path))
        proxy = CuttingProxy([app.port for app in apps], cut_after=CUT_AFTER)
        try:
            shown = ask(chromium, f"127.0.0.1:{proxy.port}")
        finally:
            proxy.close()
    except BaseException:
        for app in apps:
            print(app.log.read_text(errors="replace")[-3000:])
        raise
    finally:
        for app in apps:
            stop(app.process)
    # What the page displayed after the cut: the whole reply, once.
    assert shown == REPLY
    chats = [s for s in proxy.seen if s.path.startswith("/chat")]
    assert chats[0].cut and chats[0].last_event_id is None
    # EventSource came back by itself with the id of the last whole frame before the cut.
    assert chats[1].last_event_id == str(CUT_AFTER)
    assert len(chats) == 2  # and stopped at "done": no third request
    # One generation: the reconnect did not ask the model again.
    assert len([r for r in emulator.requests if r.path.endswith("/chat/completions")]) == 1
    return proxy


@pytest.mark.parametrize("kind", ["wsgi", "asgi"])
def test_the_page_shows_the_whole_reply_once_after_a_cut(
    chromium: Any, emulator: Emulator, kind: str, tmp_path: Path
) -> None:
    run_cut_stream(chromium, emulator, [kind], tmp_path, redis=None)


def test_the_reconnect_is_served_by_another_process_sharing_redis(
    chromium: Any, emulator: Emulator, redis_server: RedisServer, tmp_path: Path
) -> None:
    # A WSGI process runs the generation (the blocking Redis store writes); the browser
    # comes back to an ASGI process (the asyncio store reads).
    proxy = run_cut_stream(chromium, emulator, ["wsgi", "asgi"], tmp_path, redis=redis_server.url)
    first, again = (s for s in proxy.seen if s.path.startswith("/chat"))
    assert first.backend != again.backend
