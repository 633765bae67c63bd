"""The ASGI server's command line, in one place: `manage.py serve`, the tests that start real
server processes and the benchmarks all run the server as production does (ADR 20).

uvicorn on uvloop, with httptools for HTTP and the `websockets` library for WebSockets: on the
signaling benchmark it does the same relay at about half the CPU of daphne. Per-message
compression is off (signaling messages are small; compressing them costs CPU on both sides and
mixes secrets with attacker-chosen text, as in CRIME); frames larger than the signaling
protocol allows are refused by the server before they reach the application.
"""

from __future__ import annotations

import sys

# The largest WebSocket message the server reads: the protocol's 64 KiB (video.consumers) plus
# room for the frame's own overhead. Anything larger closes the socket (1009).
WS_MAX_SIZE = 65 * 1024


def command(host: str, port: int, *, access_log: bool = False) -> list[str]:
    """`python -m uvicorn …` serving finestreta.asgi:application on host:port."""
    argv = [sys.executable, "-m", "uvicorn", "finestreta.asgi:application"]
    argv += ["--host", host, "--port", str(port)]
    argv += ["--loop", "uvloop", "--http", "httptools", "--ws", "websockets"]
    argv += ["--ws-max-size", str(WS_MAX_SIZE), "--ws-per-message-deflate", "false"]
    argv += ["--lifespan", "off", "--timeout-graceful-shutdown", "5"]
    if not access_log:
        argv.append("--no-access-log")
    return argv


def settle() -> None:
    """Called by the ASGI and WSGI entry points once the application is built: import every
    view now rather than on the first request, then keep what start-up made (modules, URL
    patterns, templates' loaders) out of the garbage collector's passes. Those objects live as
    long as the process; without `gc.freeze()` every full pass walks them all and pauses the
    requests of the moment by tens of milliseconds (bench/queue_routing.py measures the same)."""
    import gc

    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - imports the URLconf and every view module
    gc.collect()
    gc.freeze()
