"""Run Finestreta processes (web server, worker) against the test database."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse, urlunparse

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a child process that uses the current (test) database."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "finestreta.settings",
        "CHANNEL_PREFIX": settings.CHANNEL_PREFIX,  # this run's, apart from any other's
        **extra,
    }
    db = settings.DATABASES["default"]
    if connection.vendor == "sqlite":
        env["DATABASE_URL"] = ""
        env["SQLITE_PATH"] = str(db["NAME"])
    else:
        parts = urlparse(os.environ["DATABASE_URL"])
        env["DATABASE_URL"] = urlunparse(parts._replace(path="/" + str(db["NAME"])))
    return env


@contextmanager
def running(args: list[str], *, env: dict[str, str] | None = None) -> Iterator[subprocess.Popen]:
    """Start `python manage.py <args>`; on exit interrupt it (like Ctrl-C) and wait."""
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env or child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(2)  # SIGINT
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_until(predicate, *, timeout: float = 20, interval: float = 0.2) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


@contextmanager
def coturn(secret: str, *, realm: str = "finestreta.test") -> Iterator[int]:
    """A real TURN server (Debian's coturn) on 127.0.0.1 with TURN REST credentials
    (`use-auth-secret`): yields its UDP port; stopped and waited for on exit. Relayed traffic
    stays on this machine (relay address 127.0.0.1, loopback peers allowed) within a small port
    range of its own."""
    import shutil
    import tempfile

    binary = shutil.which("turnserver")
    if binary is None:  # never a skip: `make system-deps` installs it
        raise RuntimeError("coturn is not installed (run `make system-deps`)")
    port = free_udp_port()
    relay = 20000 + (port % 400) * 100  # 100 relay ports of its own, apart from other runs
    with tempfile.TemporaryDirectory(prefix="finestreta-coturn-") as tmp:
        log = Path(tmp) / "turn.log"
        process = subprocess.Popen(  # noqa: S603 - a fixed argv of a test tool
            [
                binary,
                "-n",
                "--listening-ip=127.0.0.1",
                "--relay-ip=127.0.0.1",
                f"--listening-port={port}",
                "--use-auth-secret",
                f"--static-auth-secret={secret}",
                f"--realm={realm}",
                "--no-cli",
                "--no-tls",
                "--no-dtls",
                "--no-tcp-relay",
                f"--db={tmp}/turndb",
                f"--pidfile={tmp}/turn.pid",
                "--allow-loopback-peers",
                f"--min-port={relay}",
                f"--max-port={relay + 99}",
                f"--log-file={log}",
                "--simple-log",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        try:
            if not wait_until(lambda: _stun_answers(port), timeout=15):
                tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
                raise RuntimeError(f"coturn did not start on port {port}:\n{tail}")
            yield port
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stun_answers(port: int) -> bool:
    """A STUN Binding request (RFC 5389) gets an answer from 127.0.0.1:port."""
    request = b"\x00\x01\x00\x00\x21\x12\xa4\x42" + os.urandom(12)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.5)
        try:
            sock.sendto(request, ("127.0.0.1", port))
            answer = sock.recv(2048)
        except OSError:
            return False
    return answer[:2] == b"\x01\x01" and answer[8:20] == request[8:20]
