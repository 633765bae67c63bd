"""Run a real OpenID Connect provider (django-oauth-toolkit) in a second process, for SSO tests.

    with run_oidc_provider(users=[OidcUser(...)], clients=[OidcClient(...)]) as provider:
        provider.discovery_url       # http://127.0.0.1:<port>/o/.well-known/openid-configuration
        provider.add_client(OidcClient(...))   # e.g. once the live server's port is known
        page = session.get(relying_party_login_url)            # lands on the provider's login form
        redirect = provider_login(session, page, "ada", "pw")  # 302 back to the RP's callback
        session.get(redirect.headers["Location"])              # finish the login at the RP

The provider is the tiny Django project in `tests/idp/oidc_provider/`, with its own settings and
a SQLite database in a temporary folder: it never sees Finestreta's settings or database.
Clients are confidential, authorization-code, RS256, consent skipped; PKCE (S256) is required.
Redirect URIs on http://127.0.0.1 match on any port (RFC 8252 loopback rule); others (e.g.
http://localhost:8000/…) must match exactly, port included.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from html import unescape
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.processes import free_port, stop

ROOT = Path(__file__).resolve().parents[2]
SETTINGS_MODULE = "tests.idp.oidc_provider.settings"
START_TIMEOUT = 20.0


@dataclass(frozen=True)
class OidcUser:
    username: str
    password: str
    email: str
    first_name: str
    last_name: str
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class OidcClient:
    client_id: str
    client_secret: str
    redirect_uris: tuple[str, ...]
    post_logout_redirect_uris: tuple[str, ...] = ()


class OidcProviderError(RuntimeError):
    pass


@dataclass(frozen=True)
class OidcProvider:
    base_url: str  # http://127.0.0.1:<port>
    env: dict[str, str]
    log_path: Path

    @property
    def issuer(self) -> str:
        return f"{self.base_url}/o"

    @property
    def discovery_url(self) -> str:
        # DOT serves it with and without the trailing slash; the spec's form has none.
        return f"{self.issuer}/.well-known/openid-configuration"

    @property
    def authorization_endpoint(self) -> str:
        return f"{self.issuer}/authorize/"

    @property
    def token_endpoint(self) -> str:
        return f"{self.issuer}/token/"

    @property
    def userinfo_endpoint(self) -> str:
        return f"{self.issuer}/userinfo/"

    @property
    def jwks_uri(self) -> str:
        return f"{self.issuer}/.well-known/jwks.json"

    @property
    def end_session_endpoint(self) -> str:
        return f"{self.issuer}/logout/"

    @property
    def login_url(self) -> str:
        return f"{self.base_url}/accounts/login/"

    def discovery(self) -> dict:
        return requests.get(self.discovery_url, timeout=10).json()

    def add_client(self, client: OidcClient) -> None:
        """Register another client (or update one with the same client_id) while running."""
        _bootstrap(self.env, {"migrate": False, "clients": [_client_spec(client)]})

    def add_user(self, user: OidcUser) -> None:
        """Create another user (or update one with the same username) while running."""
        _bootstrap(self.env, {"migrate": False, "users": [_user_spec(user)]})

    def server_output(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextmanager
def run_oidc_provider(
    *, users: Iterable[OidcUser] = (), clients: Iterable[OidcClient] = ()
) -> Iterator[OidcProvider]:
    """Start a provider with these users and clients; stop it and delete its files on exit."""
    with tempfile.TemporaryDirectory(prefix="finestreta-oidc-") as tmp:
        folder = Path(tmp)
        base_env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": SETTINGS_MODULE,
            "OIDC_PROVIDER_DB": str(folder / "provider.sqlite3"),
            "OIDC_PROVIDER_RSA_KEY": _rsa_private_key_pem(),
            "PYTHONUNBUFFERED": "1",
        }
        spec = {
            "migrate": True,
            "users": [_user_spec(user) for user in users],
            "clients": [_client_spec(client) for client in clients],
        }
        _bootstrap(base_env, spec)

        for attempt in range(3):
            port = free_port()
            base_url = f"http://127.0.0.1:{port}"
            env = {**base_env, "OIDC_PROVIDER_ISSUER": f"{base_url}/o"}
            provider = OidcProvider(
                base_url=base_url, env=env, log_path=folder / f"server{attempt}.log"
            )
            with provider.log_path.open("wb") as log:
                process = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "django",
                        "runserver",
                        f"127.0.0.1:{port}",
                        "--noreload",
                        "--skip-checks",
                    ],
                    cwd=ROOT,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            try:
                if _wait_until_serving(process, provider):
                    yield provider
                    return
                output = provider.server_output()
                if "already in use" not in output:
                    raise OidcProviderError(
                        f"The OIDC provider did not serve {provider.discovery_url} within "
                        f"{START_TIMEOUT:.0f} s. Its output:\n{output}"
                    )
            finally:
                stop(process)
        raise OidcProviderError("The OIDC provider found no free port in three attempts.")


def provider_login(
    session: requests.Session,
    response: requests.Response,
    username: str,
    password: str,
    *,
    follow: bool = False,
) -> requests.Response:
    """Sign in on the provider's login page that `response` shows (or redirects to).

    Submits the form with its CSRF token, then follows the provider's own redirects (to the
    authorization endpoint and on). Returns the first redirect that leaves the provider, whose
    `Location` is the relying party's callback with `code` and `state` (see `callback_url`),
    or, with follow=True, the relying party's final response after following it. When the
    provider does not let the user go (wrong password…), returns the provider's page as is.
    """
    response = _follow_redirects(session, response, stay_on=None)
    form = _login_form(response)
    provider = _origin(response.url)
    submitted = session.post(
        response.url,
        data={**form, "username": username, "password": password},
        allow_redirects=False,
        timeout=10,
    )
    leaving = _follow_redirects(session, submitted, stay_on=provider)
    if follow and leaving.is_redirect:
        return session.get(callback_url(leaving), timeout=30)
    return leaving


def provider_confirm_logout(
    session: requests.Session, response: requests.Response
) -> requests.Response:
    """Accept the provider's "Confirm Logout" form (shown when RP-initiated logout came without
    an id_token_hint of the signed-in user). Returns the redirect to post_logout_redirect_uri."""
    fields = _hidden_fields(response.text)
    if "client_id" not in fields and "id_token_hint" not in fields:
        raise OidcProviderError(f"Not the provider's logout confirmation:\n{response.text[:2000]}")
    return session.post(
        response.url, data={**fields, "allow": "Logout"}, allow_redirects=False, timeout=10
    )


def callback_url(response: requests.Response) -> str:
    """The absolute URL a redirect response points to."""
    if not response.is_redirect:
        raise OidcProviderError(
            f"Expected a redirect, got {response.status_code} at {response.url}:\n"
            f"{response.text[:2000]}"
        )
    return urljoin(response.url, response.headers["Location"])


# --- internals ---------------------------------------------------------------------------------


def _user_spec(user: OidcUser) -> dict:
    return {**asdict(user), "groups": list(user.groups)}


def _client_spec(client: OidcClient) -> dict:
    return {
        **asdict(client),
        "redirect_uris": list(client.redirect_uris),
        "post_logout_redirect_uris": list(client.post_logout_redirect_uris),
    }


def _bootstrap(env: dict[str, str], spec: dict) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tests.idp.oidc_provider.bootstrap"],
        cwd=ROOT,
        env=env,
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        timeout=60,
    )
    if result.returncode != 0:
        raise OidcProviderError(
            f"Bootstrapping the OIDC provider failed ({result.returncode}):\n"
            f"{result.stdout}{result.stderr}"
        )


def _rsa_private_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    ).decode()


def _wait_until_serving(process: subprocess.Popen, provider: OidcProvider) -> bool:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(provider.discovery_url, timeout=2) as answer:
                if answer.status == 200 and json.load(answer).get("issuer") == provider.issuer:
                    return True
        except (OSError, urllib.error.URLError, ValueError):
            pass
        time.sleep(0.1)
    return False


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _follow_redirects(
    session: requests.Session, response: requests.Response, *, stay_on: str | None
) -> requests.Response:
    """Follow redirects one by one; stop before one that leaves `stay_on` (an origin)."""
    for _ in range(20):
        if not response.is_redirect:
            return response
        target = callback_url(response)
        if stay_on is not None and _origin(target) != stay_on:
            return response
        response = session.get(target, allow_redirects=False, timeout=10)
    raise OidcProviderError(f"Too many redirects, last at {response.url}")


def _hidden_fields(html: str) -> dict[str, str]:
    fields = {}
    for tag in re.findall(r"<input\b[^>]*>", html, flags=re.IGNORECASE):
        attributes = dict(
            (name.lower(), unescape(value))
            for name, value in re.findall(r'([\w-]+)="([^"]*)"', tag)
        )
        if attributes.get("type", "").lower() == "hidden" and "name" in attributes:
            fields[attributes["name"]] = attributes.get("value", "")
    return fields


def _login_form(response: requests.Response) -> dict[str, str]:
    fields = _hidden_fields(response.text)
    if "csrfmiddlewaretoken" not in fields or 'name="password"' not in response.text:
        raise OidcProviderError(
            f"Expected the provider's login form, got {response.status_code} at {response.url}:\n"
            f"{response.text[:2000]}"
        )
    return fields
