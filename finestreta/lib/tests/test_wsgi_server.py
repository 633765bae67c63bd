"""The WSGI entry point under gunicorn, as production runs it for plain pages (ADR 37): DEBUG off,
behind a proxy's headers, the collected static files through WhiteNoise, the security headers
and CSP, the CSRF and session cookies, and the client's address from X-Forwarded-For."""

from __future__ import annotations

import http.client
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

import pytest
from axes.models import AccessAttempt

from tests.processes import ROOT, child_env, free_port, stop, wait_until

PROXY = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9", "Host": "127.0.0.1"}


def fetch(
    port: int, path: str, *, method: str = "GET", body: str | None = None, **headers: str
) -> tuple[int, http.client.HTTPMessage, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        connection.request(method, path, body=body, headers={**PROXY, **headers})
        response = connection.getresponse()
        return response.status, response.headers, response.read().decode(errors="replace")
    finally:
        connection.close()


@pytest.fixture
def gunicorn(personas, tmp_path: Path) -> Iterator[int]:  # type: ignore[no-untyped-def]
    env = child_env(
        DEBUG="0",
        FINESTRETA_TESTING="0",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="127.0.0.1",
        STATIC_ROOT=str(tmp_path / "static"),
    )
    collect = [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"]
    subprocess.run(collect, cwd=ROOT, env=env, check=True, timeout=120)  # noqa: S603
    port = free_port()
    process = subprocess.Popen(  # noqa: S603 - a fixed argv of our own server
        [sys.executable, "-m", "gunicorn", "finestreta.wsgi:application"]
        + ["--bind", f"127.0.0.1:{port}", "--workers", "1", "--worker-class", "gthread"]
        + ["--threads", "2"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:

        def answers() -> bool:
            try:
                return fetch(port, "/healthz")[0] == 200
            except OSError:
                return False

        assert wait_until(answers, timeout=40), "gunicorn did not start"
        yield port
    finally:
        stop(process)


@pytest.mark.django_db(transaction=True)
def test_gunicorn_serves_the_plain_pages_with_static_files_csp_sessions_and_the_client_address(
    gunicorn: int, personas
) -> None:
    org, service = personas.org_a.slug, personas.service_a.slug
    for path in ["/", f"/{org}/", f"/{org}/book/", f"/{org}/services/{service}/", "/healthz"]:
        status, headers, _ = fetch(gunicorn, path)
        assert status == 200, path
    status, headers, page = fetch(gunicorn, "/")
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert "max-age=31536000" in headers["Strict-Transport-Security"]
    assert headers["X-Frame-Options"] == "DENY"

    # The collected, hashed static files, served by WhiteNoise with a long cache.
    stylesheet = re.search(r'href="(/static/[^"]+\.[0-9a-f]{12}\.css)"', page)
    assert stylesheet, "no hashed stylesheet on the page"
    status, headers, _ = fetch(gunicorn, stylesheet.group(1))
    assert status == 200
    assert "immutable" in headers["Cache-Control"]

    # Without the proxy's X-Forwarded-Proto, plain HTTP is sent to HTTPS.
    connection = http.client.HTTPConnection("127.0.0.1", gunicorn, timeout=20)
    connection.request("GET", "/", headers={"Host": "127.0.0.1"})
    response = connection.getresponse()
    assert response.status == 301
    assert response.headers["Location"].startswith("https://")
    connection.close()

    # A form post: the CSRF cookie (__Host-, Secure) and token from the login page are accepted;
    # the failed attempt is recorded against the forwarded client's address, not the proxy's.
    status, headers, page = fetch(gunicorn, "/accounts/login/")
    assert status == 200
    cookies = SimpleCookie()
    for value in headers.get_all("Set-Cookie") or []:
        cookies.load(value)
    csrf = cookies["__Host-finestreta-csrf"]
    assert csrf["secure"]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token
    form = {"csrfmiddlewaretoken": token.group(1), "username": "nobody", "password": "wrong"}
    status, headers, page = fetch(
        gunicorn,
        "/accounts/login/",
        method="POST",
        body=urlencode(form),
        **{
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"__Host-finestreta-csrf={csrf.value}",
            "Referer": "https://127.0.0.1/accounts/login/",
        },
    )
    assert status == 200  # the form again, with its error: not 403 (CSRF)
    attempt = AccessAttempt.objects.get(username="nobody")
    assert attempt.ip_address == "203.0.113.9"
