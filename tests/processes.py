"""Run Finestreta processes (web server, worker) against the test database."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
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
        stop(process, sig=signal.SIGINT, timeout=15)


def stop(process: subprocess.Popen, *, sig: int = signal.SIGTERM, timeout: float = 10) -> None:
    """Ask a child process to stop with `sig` and wait for it; kill it if it does not."""
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=timeout)
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
    # Only UDP listeners (the tests' TURN URLs say transport=udp): a TCP listener on the same
    # number could collide with another test's server. A port taken between the probe and
    # coturn's bind is retried with another one.
    for attempt in range(3):
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
                    "--no-tcp",
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
                if not wait_until(lambda port=port: _stun_answers(port), timeout=15):
                    tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
                    if attempt < 2 and process.poll() is None and "errno=98" in tail:
                        continue  # the port was taken meanwhile: another one (finally stops it)
                    raise RuntimeError(f"coturn did not start on port {port}:\n{tail}")
                yield port
                return
            finally:
                stop(process)


@contextmanager
def clamd(body_signatures: dict[str, bytes], *, stream_max_bytes: int) -> Iterator[dict[str, str]]:
    """A real ClamAV clamd (Debian's clamav-daemon) listening on 127.0.0.1 and on a socket
    file: yields its addresses in VIDEO_CLAMD's forms ({"tcp": "tcp:127.0.0.1:PORT", "unix":
    "unix:PATH"}); stopped and waited for on exit.

    Its signature database is the tests' own, written to a temporary directory: one body
    signature (.ndb, any file type, any offset) per name in `body_signatures`, because the
    official database is downloaded from the network (freshclam), which these machines do not
    reach. The engine is the real one: it unpacks archives, PDF streams and pictures' text as
    it does in production. It takes streams of up to `stream_max_bytes`."""
    import shutil
    import tempfile

    binary = shutil.which("clamd") or shutil.which("clamd", path="/usr/sbin:/usr/local/sbin")
    if binary is None:  # never a skip: `make system-deps` installs it
        raise RuntimeError("ClamAV's clamd is not installed (run `make system-deps`)")
    for attempt in range(3):
        port = free_port()
        with tempfile.TemporaryDirectory(prefix="finestreta-clamd-") as tmp:
            signatures = "".join(
                f"{name}:0:*:{body.hex()}\n" for name, body in body_signatures.items()
            )
            (Path(tmp) / "finestreta-tests.ndb").write_text(signatures)
            socket_path = f"{tmp}/clamd.sock"
            log = Path(tmp) / "clamd.log"
            config = Path(tmp) / "clamd.conf"
            config.write_text(
                "\n".join(
                    [
                        "Foreground yes",
                        f"LocalSocket {socket_path}",
                        f"TCPSocket {port}",
                        "TCPAddr 127.0.0.1",
                        f"DatabaseDirectory {tmp}",
                        f"TemporaryDirectory {tmp}",
                        f"PidFile {tmp}/clamd.pid",
                        f"LogFile {log}",
                        f"StreamMaxLength {stream_max_bytes}",
                        "MaxThreads 4",
                        "",
                    ]
                )
            )
            process = subprocess.Popen(  # noqa: S603 - a fixed argv of a test tool
                [binary, "--config-file", str(config)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.STDOUT,
            )
            try:
                # With its socket file bound, clamd keeps running when the TCP port was taken
                # between the probe and its bind: its log says so, and another port is tried.
                started = wait_until(
                    lambda port=port, process=process, log=log: (
                        process.poll() is not None or _port_taken(log) or _clamd_answers(port)
                    ),
                    timeout=30,
                )
                if not started or not _clamd_answers(port):
                    if attempt < 2 and _port_taken(log):
                        continue  # another port (finally stops this one)
                    tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
                    raise RuntimeError(f"clamd did not start on port {port}:\n{tail}")
                yield {"tcp": f"tcp:127.0.0.1:{port}", "unix": f"unix:{socket_path}"}
                return
            finally:
                stop(process)


def _port_taken(log: Path) -> bool:
    return log.exists() and "Address already in use" in log.read_text(errors="replace")


def _clamd_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"zPING\0")
            return sock.recv(16) == b"PONG\0"
    except OSError:
        return False


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


@dataclass
class Namespace:
    """A network namespace joined to this one by a veth pair: `host_ip` here, `inside_ip` in
    the namespace (a /24 of 10.213.0.0/16 of its own)."""

    name: str
    host_ip: str
    inside_ip: str
    inside_dev: str

    def run(self, *args: str) -> None:
        subprocess.run(["ip", "netns", "exec", self.name, *args], check=True)  # noqa: S603, S607

    def move(self, last_byte: int) -> None:
        """The inside end changes address, as a phone moving from Wi-Fi to mobile data: what
        was bound to the old address (sockets, ICE candidates) is dead."""
        new = self.inside_ip.rsplit(".", 1)[0] + f".{last_byte}"
        # The old one first: deleting a subnet's first address deletes the others with it.
        self.run("ip", "addr", "del", f"{self.inside_ip}/24", "dev", self.inside_dev)
        self.run("ip", "addr", "add", f"{new}/24", "dev", self.inside_dev)
        self.inside_ip = new


@contextmanager
def network_namespace() -> Iterator[Namespace]:
    """Made for one test and removed after it (needs root, as on the CI machines). Traffic stays
    on this machine: nothing routes out of the namespace."""
    if os.geteuid() != 0:
        raise RuntimeError("this test makes a network namespace: it must run as root (as CI does)")
    pid = os.getpid()
    subnet = f"10.213.{pid % 250}"
    name, host_dev, inside_dev = f"fst{pid}", f"fsh{pid}", f"fsn{pid}"

    def ip(*args: str) -> None:
        subprocess.run(["ip", *args], check=True)  # noqa: S603, S607

    ip("netns", "add", name)
    try:
        ip("link", "add", host_dev, "type", "veth", "peer", "name", inside_dev)
        ip("link", "set", inside_dev, "netns", name)
        ip("addr", "add", f"{subnet}.1/24", "dev", host_dev)
        ip("link", "set", host_dev, "up")
        space = Namespace(name, f"{subnet}.1", f"{subnet}.2", inside_dev)
        space.run("ip", "link", "set", "lo", "up")
        space.run("ip", "addr", "add", f"{space.inside_ip}/24", "dev", inside_dev)
        space.run("ip", "link", "set", inside_dev, "up")
        yield space
    finally:
        subprocess.run(["ip", "link", "del", host_dev], check=False, capture_output=True)  # noqa: S603, S607
        subprocess.run(["ip", "netns", "del", name], check=False, capture_output=True)  # noqa: S603, S607
