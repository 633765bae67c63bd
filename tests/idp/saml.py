"""A real SAML 2.0 identity provider for tests: Debian's SimpleSAMLphp in a subprocess.

The staff single sign-on of the Generalitat (GICAR) is a Shibboleth SAML 2.0 IdP; these tests talk
to a real, independent IdP implementation rather than to a mock written by the same hands as the SP.

Needs the Debian packages `simplesamlphp php-xml php-cli` (php-xml is a missing dependency of
simplesamlphp: without it every page fails yet answers 200, so the start-up check looks at the
content type of the metadata). Usage::

    users = [SamlUser("anna", "secret", {"uid": ["anna"], "mail": ["anna@gencat.example"]})]
    with run_saml_idp(users=users, service_providers=[]) as idp:
        idp.add_service_provider(SamlServiceProvider(entity_id, acs_url, slo_url))
        ...  # follow the SP's redirect to idp.sso_url with a requests.Session, then:
        acs_url, saml_response, relay_state = idp_login(session, response, "anna", "secret")

The IdP signs both the Response and the Assertion (RSA-SHA256), puts attributes under their plain
names (`uid`, `mail`, ...) with the basic name format, and issues a persistent NameID whose value
is the user's `uid`. Its assertions are back-dated 30 s and live 300 s.
"""

from __future__ import annotations

import datetime
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urljoin

from tests.processes import free_port

if TYPE_CHECKING:
    import requests

SIMPLESAMLPHP_WWW = Path("/usr/share/simplesamlphp/www")
METADATA_CONTENT_TYPE = "application/samlmetadata+xml"

NAMEID_PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
NAMEFORMAT_BASIC = "urn:oasis:names:tc:SAML:2.0:attrname-format:basic"
BINDING_HTTP_POST = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
BINDING_HTTP_REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"

AUTH_SOURCE = "staff-userpass"


@dataclass(frozen=True)
class SamlUser:
    """A user of the IdP. `attributes` must hold a single `uid` value: it is the NameID."""

    username: str
    password: str
    attributes: dict[str, list[str]]

    def __post_init__(self) -> None:
        if ":" in self.username or not self.username:
            raise ValueError(f"SimpleSAMLphp usernames cannot be empty or contain ':': {self!r}")
        if len(self.attributes.get("uid", [])) != 1:
            raise ValueError(f"{self.username}: exactly one 'uid' value is needed (the NameID)")


@dataclass(frozen=True)
class SamlServiceProvider:
    entity_id: str
    acs_url: str
    slo_url: str | None = None


class IdpLoginRefused(AssertionError):
    """The IdP did not answer the login form with a SAMLResponse (e.g. a wrong password)."""

    def __init__(self, message: str, response: requests.Response) -> None:
        super().__init__(message)
        self.response = response


class SamlIdp:
    """A running SimpleSAMLphp IdP (see `run_saml_idp`)."""

    def __init__(
        self,
        *,
        base_url: str,
        port: int,
        certificate_pem: str,
        metadata_dir: Path,
        log_files: list[Path],
    ) -> None:
        self.base_url = base_url
        self.port = port
        self.metadata_url = f"{base_url}/saml2/idp/metadata.php"
        self.entity_id = self.metadata_url
        self.sso_url = f"{base_url}/saml2/idp/SSOService.php"
        self.slo_url = f"{base_url}/saml2/idp/SingleLogoutService.php"
        self.certificate_pem = certificate_pem
        self.certificate_b64 = "".join(
            line for line in certificate_pem.strip().splitlines() if not line.startswith("-----")
        )
        self._metadata_dir = metadata_dir
        self._log_files = log_files
        self._service_providers: dict[str, SamlServiceProvider] = {}

    @property
    def service_providers(self) -> tuple[SamlServiceProvider, ...]:
        return tuple(self._service_providers.values())

    def add_service_provider(self, sp: SamlServiceProvider) -> None:
        """Trust `sp` (or replace its entity ID's entry), from the next request on."""
        self._service_providers[sp.entity_id] = sp
        _write_php(
            self._metadata_dir / "saml20-sp-remote.php",
            "\n".join(
                f"$metadata[{_php(entry.entity_id)}] = {_php(_sp_remote_entry(entry))};"
                for entry in self._service_providers.values()
            ),
        )

    def metadata_xml(self) -> str:
        with urllib.request.urlopen(self.metadata_url, timeout=10) as response:  # noqa: S310
            return response.read().decode()

    def logs(self) -> str:
        """The PHP server's request log and SimpleSAMLphp's own log, for failure messages."""
        parts = []
        for path in self._log_files:
            text = path.read_text(errors="replace") if path.exists() else "(none)"
            parts.append(f"--- {path.name} ---\n{text[-20_000:]}")
        return "\n".join(parts)


@contextmanager
def run_saml_idp(
    *,
    users: Iterable[SamlUser],
    service_providers: Iterable[SamlServiceProvider] = (),
    port: int | None = None,
    hostname: str = "127.0.0.1",
    startup_timeout: float = 15,
) -> Iterator[SamlIdp]:
    """Start SimpleSAMLphp on 127.0.0.1 with `users`, trusting `service_providers`.

    `hostname` is the name the IdP's URLs (and entity ID) use; the server always listens on
    127.0.0.1. Use "localhost" to put the IdP on another *site* than an SP on 127.0.0.1 (ports
    do not count for SameSite), as GICAR is in production.
    """
    if not SIMPLESAMLPHP_WWW.is_dir():
        raise RuntimeError(
            "SimpleSAMLphp is not installed: apt-get install -y simplesamlphp php-xml php-cli"
        )
    users = list(users)
    service_providers = list(service_providers)
    root = Path(tempfile.mkdtemp(prefix="saml-idp-"))
    process: subprocess.Popen[bytes] | None = None
    try:
        # A free port can be taken between choosing and binding it: then try another one.
        for attempt in range(1 if port else 3):
            if attempt:
                shutil.rmtree(root)
                root.mkdir()
            idp, process = _start(root, users, service_providers, port or free_port(), hostname)
            if _wait_until_serving(idp, process, timeout=startup_timeout):
                break
        else:
            raise RuntimeError(f"SimpleSAMLphp's PHP server could not listen\n{idp.logs()}")
        yield idp
    finally:
        if process is not None:
            _stop(process)
        shutil.rmtree(root, ignore_errors=True)


def _start(
    root: Path,
    users: list[SamlUser],
    service_providers: list[SamlServiceProvider],
    port: int,
    hostname: str,
) -> tuple[SamlIdp, subprocess.Popen[bytes]]:
    base_url = f"http://{hostname}:{port}"
    dirs = {
        name: root / name
        for name in ("config", "cert", "metadata", "log", "data", "tmp", "sessions")
    }
    for path in dirs.values():
        path.mkdir()
    key_pem, certificate_pem = _self_signed_pair(hostname)
    (dirs["cert"] / "idp.key").write_text(key_pem)
    (dirs["cert"] / "idp.crt").write_text(certificate_pem)
    _write_php(dirs["config"] / "config.php", _config_php(base_url, dirs))
    _write_php(dirs["config"] / "authsources.php", _authsources_php(users))
    _write_php(dirs["metadata"] / "saml20-idp-hosted.php", _idp_hosted_php())

    server_log = root / "php-server.log"
    idp = SamlIdp(
        base_url=base_url,
        port=port,
        certificate_pem=certificate_pem,
        metadata_dir=dirs["metadata"],
        log_files=[server_log, dirs["log"] / "simplesamlphp.log"],
    )
    _write_php(dirs["metadata"] / "saml20-sp-remote.php", "")
    for sp in service_providers:
        idp.add_service_provider(sp)

    with server_log.open("wb") as log:
        process = subprocess.Popen(
            [
                "php",
                "-d",
                "opcache.enable_cli=0",  # saml20-sp-remote.php may change between requests
                "-S",
                f"127.0.0.1:{port}",
                "-t",
                str(SIMPLESAMLPHP_WWW),
            ],
            cwd=root,
            env={**os.environ, "SIMPLESAMLPHP_CONFIG_DIR": str(dirs["config"])},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return idp, process


def idp_login(
    session: requests.Session, response: requests.Response, username: str, password: str
) -> tuple[str, str, str]:
    """Fill in the IdP's login page `response` and return (acs_url, SAMLResponse, RelayState).

    `response` is what following the SP's redirect to the IdP ended on: the login form. Raises
    `IdpLoginRefused` when the IdP does not answer with the auto-submitting form to the SP (for
    instance when the password is wrong: the login form comes back).
    """
    login_form = _find_form(response.text, lambda form: "password" in form.fields)
    if login_form is None:
        hint = (
            " (the IdP already had a session and answered at once: use saml_post_form)"
            if saml_post_form(response)
            else ""
        )
        raise IdpLoginRefused(
            f"No login form at {response.url}{hint}:\n{response.text[:3000]}", response
        )
    data = {**login_form.fields, "username": username, "password": password}
    action = urljoin(response.url, login_form.action or response.url)
    if login_form.method == "get":
        answer = session.get(action, params=data, timeout=10)
    else:
        answer = session.post(action, data=data, timeout=10)
    posted = saml_post_form(answer)
    if posted is None:
        raise IdpLoginRefused(
            f"The IdP refused the login of {username!r} (HTTP {answer.status_code}, {answer.url})",
            answer,
        )
    return posted


def saml_post_form(response: requests.Response) -> tuple[str, str, str] | None:
    """(acs_url, SAMLResponse, RelayState) of the IdP's auto-submitting form, if `response` is one.

    An IdP that still has a session for the browser answers the SP's redirect with this form at
    once, without asking for a password (single sign-on).
    """
    form = _find_form(response.text, lambda form: "SAMLResponse" in form.fields)
    if form is None:
        return None
    return (
        urljoin(response.url, form.action),
        form.fields["SAMLResponse"],
        form.fields.get("RelayState", ""),
    )


# --- HTML forms -------------------------------------------------------------------------------


@dataclass
class _Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[_Form] = []
        self._current: _Form | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "form":
            self._current = _Form(
                action=attributes.get("action", ""),
                method=attributes.get("method", "get").lower(),
            )
            self.forms.append(self._current)
        elif tag == "input" and self._current is not None and attributes.get("name"):
            if attributes.get("type", "text").lower() in {"submit", "button", "image", "reset"}:
                return
            self._current.fields[attributes["name"]] = attributes.get("value", "")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None


def _find_form(html: str, predicate) -> _Form | None:  # type: ignore[no-untyped-def]
    parser = _FormParser()
    parser.feed(html)
    parser.close()
    return next((form for form in parser.forms if predicate(form)), None)


# --- Configuration ----------------------------------------------------------------------------


def _php(value: object) -> str:
    """`value` as a PHP literal."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str | Path):
        text = str(value).replace("\\", "\\\\").replace("'", "\\'")
        return f"'{text}'"
    if isinstance(value, Mapping):
        items = ", ".join(f"{_php(key)} => {_php(item)}" for key, item in value.items())
        return f"[{items}]"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_php(item) for item in value) + "]"
    raise TypeError(f"Cannot write {value!r} as PHP")


def _write_php(path: Path, body: str) -> None:
    """Replace `path` atomically: the running server may read it at any moment."""
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(f"<?php\n{body}\n")
    os.replace(temporary, path)


def _config_php(base_url: str, dirs: dict[str, Path]) -> str:
    config = {
        "baseurlpath": f"{base_url}/",
        "certdir": f"{dirs['cert']}/",
        "loggingdir": f"{dirs['log']}/",
        "datadir": f"{dirs['data']}/",
        "tempdir": str(dirs["tmp"]),
        "metadatadir": f"{dirs['metadata']}/",
        "metadata.sources": [{"type": "flatfile", "directory": str(dirs["metadata"])}],
        "secretsalt": secrets.token_hex(16),
        "auth.adminpassword": secrets.token_hex(16),
        "admin.protectindexpage": True,
        "admin.protectmetadata": False,
        "technicalcontact_name": "Finestreta tests",
        "technicalcontact_email": "tests@finestreta.example",
        "timezone": "UTC",
        "language.default": "en",
        "logging.level": 6,  # SimpleSAML\Logger::INFO
        "logging.handler": "file",
        "logging.logfile": "simplesamlphp.log",
        "showerrors": True,
        "errorreporting": False,
        "enable.saml20-idp": True,
        "enable.shib13-idp": False,
        "enable.adfs-idp": False,
        "module.enable": {"core": True, "saml": True, "exampleauth": True},
        "store.type": "phpsession",
        "session.phpsession.savepath": str(dirs["sessions"]),
        "session.phpsession.cookiename": "SimpleSAML",
        "session.cookie.name": "SimpleSAMLSessionID",
        # Debian's default is true, which breaks SSO over plain HTTP; and SameSite=None is
        # refused by browsers on a cookie that is not Secure.
        "session.cookie.secure": False,
        "session.cookie.samesite": "Lax",
        "session.cookie.lifetime": 0,
    }
    return f"$config = {_php(config)};"


def _authsources_php(users: list[SamlUser]) -> str:
    source: dict[object, object] = {0: "exampleauth:UserPass"}
    for user in users:
        source[f"{user.username}:{user.password}"] = user.attributes
    return f"$config = {_php({'admin': ['core:AdminPassword'], AUTH_SOURCE: source})};"


def _idp_hosted_php() -> str:
    entry = {
        "host": "__DEFAULT__",
        "privatekey": "idp.key",
        "certificate": "idp.crt",
        "auth": AUTH_SOURCE,
        "signature.algorithm": "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
        "NameIDFormat": NAMEID_PERSISTENT,
        # Two routes to the same NameID: the authproc filter serves requests that ask for the
        # persistent format; `simplesaml.nameidattribute` serves the fallback path
        # (requests asking for `unspecified` or for no format at all).
        "simplesaml.nameidattribute": "uid",
        "authproc": {
            10: {"class": "saml:AttributeNameID", "attribute": "uid", "Format": NAMEID_PERSISTENT},
        },
        "attributes.NameFormat": NAMEFORMAT_BASIC,
        "saml20.sign.response": True,
        "saml20.sign.assertion": True,
        "sign.logout": True,
        "SingleLogoutServiceBinding": [BINDING_HTTP_REDIRECT],
    }
    return f"$metadata['__DYNAMIC:1__'] = {_php(entry)};"


def _sp_remote_entry(sp: SamlServiceProvider) -> dict[str, object]:
    entry: dict[str, object] = {
        "AssertionConsumerService": [{"Binding": BINDING_HTTP_POST, "Location": sp.acs_url}],
        "NameIDFormat": NAMEID_PERSISTENT,
        "simplesaml.nameidattribute": "uid",
        "attributes.NameFormat": NAMEFORMAT_BASIC,
        "saml20.sign.response": True,
        "saml20.sign.assertion": True,
        "sign.logout": True,  # LogoutRequest/LogoutResponse (HTTP-Redirect: SigAlg + Signature)
    }
    if sp.slo_url:
        entry["SingleLogoutService"] = [{"Binding": BINDING_HTTP_REDIRECT, "Location": sp.slo_url}]
    return entry


def _self_signed_pair(hostname: str) -> tuple[str, str]:
    """A fresh RSA key and a self-signed certificate for it, both PEM."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, hostname),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Finestreta test IdP"),
        ]
    )
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    return key_pem, certificate.public_bytes(serialization.Encoding.PEM).decode()


# --- The process ------------------------------------------------------------------------------


def _wait_until_serving(idp: SamlIdp, process: subprocess.Popen[bytes], *, timeout: float) -> bool:
    """True once the metadata is served; False if the server could not listen on its port."""
    # Poll 127.0.0.1 itself: `hostname` may be a name that also resolves to an IPv6 address.
    url = f"http://127.0.0.1:{idp.port}/saml2/idp/metadata.php"
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            if "Failed to listen" in idp.logs():
                return False
            raise RuntimeError(
                f"SimpleSAMLphp's PHP server exited with {process.returncode}\n{idp.logs()}"
            )
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310
                content_type = response.headers.get("Content-Type", "")
                if content_type.startswith(METADATA_CONTENT_TYPE):
                    return True
                last = f"HTTP {response.status} {content_type}: {response.read(2000)!r}"
        except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
            last = repr(exc)
        time.sleep(0.1)
    raise RuntimeError(
        f"SimpleSAMLphp did not serve its metadata at {url} within {timeout} s "
        f"(last: {last}). Is php-xml installed?\n{idp.logs()}"
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)  # its own session: the server and any workers
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
