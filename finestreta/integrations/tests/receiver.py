"""A real webhook receiver for the tests: an HTTP server (the standard library's, in a thread) on
127.0.0.1 that records every request and checks its signature the way docs/api.md tells
integrators to, and answers as scripted (then 200). It can be stopped and started again on the
same port, to play a receiver that is down for a while."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.processes import free_port

REPLAY_WINDOW = 300  # seconds, as documented


def verify(secret: str, headers: dict[str, str], body: bytes, *, now: float | None = None) -> bool:
    """The documented check: HMAC-SHA256 of "<timestamp>.<body>", compared in constant time,
    with a timestamp within the replay window."""
    timestamp = headers.get("finestreta-timestamp", "")
    given = headers.get("finestreta-signature", "")
    if not timestamp.isdigit() or not given.startswith("v1="):
        return False
    if abs((now if now is not None else time.time()) - int(timestamp)) > REPLAY_WINDOW:
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return hmac.compare_digest(expected.hexdigest(), given.removeprefix("v1="))


@dataclass
class Received:
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def event_id(self) -> str:
        return self.headers["finestreta-event-id"]


@dataclass
class Answer:
    status: int = 200
    body: bytes = b"ok"
    delay: float = 0.0


@dataclass
class Receiver:
    port: int = field(default_factory=free_port)
    received: list[Received] = field(default_factory=list)
    answers: list[Answer] = field(default_factory=list)
    # Answered once the scripted answers are used up.
    default: Answer = field(default_factory=Answer)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/finestreta"

    def start(self) -> Receiver:
        server = ThreadingHTTPServer(("127.0.0.1", self.port), _handler(self))
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.server = server
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def event_ids(self) -> list[str]:
        return [request.event_id for request in self.received]


def _handler(state: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's hook name
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            headers = {name.lower(): value for name, value in self.headers.items()}
            state.received.append(Received(self.path, headers, body))
            answer = state.answers.pop(0) if state.answers else state.default
            time.sleep(answer.delay)
            self.send_response(answer.status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass  # quiet test output

    return Handler
