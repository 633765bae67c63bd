"""The client's address behind trusted proxies, for the WSGI workers (finestreta.lib.forwarded)."""

from __future__ import annotations

from typing import Any

import pytest

from finestreta.lib.forwarded import ForwardedClientMiddleware, TrustedProxies


def remote_addr(environ: dict[str, Any], trusted: str | None = None) -> str:
    seen: dict[str, str] = {}

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen["addr"] = environ["REMOTE_ADDR"]
        return []

    ForwardedClientMiddleware(app, trusted)(environ, lambda *args: None)
    return seen["addr"]


def test_it_takes_the_client_from_a_trusted_proxy() -> None:
    environ = {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "203.0.113.9"}
    assert remote_addr(environ) == "203.0.113.9"


def test_it_ignores_the_header_from_a_peer_that_is_not_a_proxy() -> None:
    environ = {"REMOTE_ADDR": "198.51.100.4", "HTTP_X_FORWARDED_FOR": "203.0.113.9"}
    assert remote_addr(environ) == "198.51.100.4"


def test_it_never_takes_what_the_client_wrote_before_the_proxys_entry() -> None:
    # The client sent "X-Forwarded-For: 10.0.0.1"; the proxy appended the address it saw.
    environ = {"REMOTE_ADDR": "10.1.2.3", "HTTP_X_FORWARDED_FOR": "10.0.0.1, 203.0.113.9"}
    assert remote_addr(environ, "10.1.0.0/16") == "203.0.113.9"


def test_it_skips_a_chain_of_trusted_proxies() -> None:
    environ = {"REMOTE_ADDR": "10.1.2.3", "HTTP_X_FORWARDED_FOR": "203.0.113.9, 10.1.9.9"}
    assert remote_addr(environ, "10.1.0.0/16") == "203.0.113.9"


def test_it_leaves_a_request_without_the_header_alone() -> None:
    assert remote_addr({"REMOTE_ADDR": "127.0.0.1"}) == "127.0.0.1"


def test_it_reads_the_servers_trust_list_and_ipv6(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "2001:db8::1, 192.0.2.0/24")
    environ = {"REMOTE_ADDR": "2001:db8::1", "HTTP_X_FORWARDED_FOR": "2001:db8:1::5"}
    assert remote_addr(environ) == "2001:db8:1::5"
    environ = {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "203.0.113.9"}
    assert remote_addr(environ) == "127.0.0.1"  # loopback is no longer trusted


def test_a_star_trusts_every_peer_and_a_malformed_entry_stops_the_start() -> None:
    assert TrustedProxies("*").client("198.51.100.4", "203.0.113.9") == "203.0.113.9"
    with pytest.raises(ValueError):
        TrustedProxies("127.0.0.1, not-an-address")
