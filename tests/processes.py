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
