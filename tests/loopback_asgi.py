"""`python -m tests.loopback_asgi ARGS`: uvicorn with ARGS, in a process where aioice offers only
127.0.0.1 (tests.webrtc.use_loopback) — for a server whose own WebRTC peer (the call recorder)
must connect to the tests' peers on this machine. Tests only; the application has no such
switch."""

from __future__ import annotations

import sys

import uvicorn.main

from tests.webrtc import use_loopback

if __name__ == "__main__":
    use_loopback()
    sys.argv[0] = "uvicorn"
    uvicorn.main.main()
