"""The test OpenID Connect provider works on its own: discovery, a PKCE code flow, logout.

No Finestreta code and no Finestreta database: the relying party here is built by hand.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from collections.abc import Iterator
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.idp.oidc import (
    OidcClient,
    OidcProvider,
    OidcUser,
    callback_url,
    provider_confirm_logout,
    provider_login,
    run_oidc_provider,
)

ADA = OidcUser(
    username="ada",
    password="correct horse battery staple",
    email="ada@example.test",
    first_name="Ada",
    last_name="Lovelace",
    groups=("finestreta-staff", "finestreta-supervisors"),
)
CLIENT = OidcClient(
    client_id="finestreta-test",
    client_secret="s3cret-" + "x" * 20,
    redirect_uris=("http://localhost:8000/oidc/callback/",),
    post_logout_redirect_uris=("http://localhost:8000/signed-out/",),
)


@pytest.fixture(scope="module")
def provider() -> Iterator[OidcProvider]:
    with run_oidc_provider(users=[ADA], clients=[CLIENT]) as running:
        yield running


def b64url_decode(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def authorize_url(
    provider: OidcProvider,
    client: OidcClient,
    *,
    state: str,
    nonce: str,
    challenge: str | None,
    scope: str = "openid profile email groups",
) -> str:
    params = {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": client.redirect_uris[0],
        "scope": scope,
        "state": state,
        "nonce": nonce,
    }
    if challenge is not None:
        params |= {"code_challenge": challenge, "code_challenge_method": "S256"}
    return f"{provider.discovery()['authorization_endpoint']}?{urlencode(params)}"


def sign_in(
    provider: OidcProvider, client: OidcClient, session: requests.Session
) -> tuple[str, str, str]:
    """Run the browser half of the code flow. Returns (code, verifier, nonce)."""
    verifier, challenge = pkce_pair()
    state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    page = session.get(
        authorize_url(provider, client, state=state, nonce=nonce, challenge=challenge), timeout=10
    )
    assert urlsplit(page.url).path == "/accounts/login/"
    redirect = provider_login(session, page, ADA.username, ADA.password)
    callback = callback_url(redirect)
    assert callback.split("?")[0] == client.redirect_uris[0]
    query = parse_qs(urlsplit(callback).query)
    assert query["state"] == [state]
    return query["code"][0], verifier, nonce


def exchange(
    provider: OidcProvider, client: OidcClient, code: str, verifier: str | None
) -> requests.Response:
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": client.redirect_uris[0],
    }
    if verifier is not None:
        data["code_verifier"] = verifier
    return requests.post(
        provider.discovery()["token_endpoint"],
        data=data,
        auth=(client.client_id, client.client_secret),  # client_secret_basic
        timeout=10,
    )


def verified_claims(provider: OidcProvider, id_token: str) -> dict:
    """Check the RS256 signature against the provider's JWKS; return the payload."""
    header_b64, payload_b64, signature_b64 = id_token.split(".")
    header = json.loads(b64url_decode(header_b64))
    assert header["alg"] == "RS256"
    jwks = requests.get(provider.discovery()["jwks_uri"], timeout=10).json()
    [jwk] = [key for key in jwks["keys"] if key["kid"] == header["kid"]]
    public_key = rsa.RSAPublicNumbers(
        e=int.from_bytes(b64url_decode(jwk["e"]), "big"),
        n=int.from_bytes(b64url_decode(jwk["n"]), "big"),
    ).public_key()
    public_key.verify(  # raises InvalidSignature
        b64url_decode(signature_b64),
        f"{header_b64}.{payload_b64}".encode(),
        padding.PKCS1v15(),
        hashes.SHA256(),
    )
    return json.loads(b64url_decode(payload_b64))


def test_the_discovery_document_announces_the_endpoints_and_s256_pkce(
    provider: OidcProvider,
) -> None:
    document = provider.discovery()

    assert document["issuer"] == provider.issuer == f"{provider.base_url}/o"
    assert document["authorization_endpoint"] == provider.authorization_endpoint
    assert document["token_endpoint"] == provider.token_endpoint
    assert document["userinfo_endpoint"] == provider.userinfo_endpoint
    assert document["jwks_uri"] == provider.jwks_uri
    assert document["end_session_endpoint"] == provider.end_session_endpoint
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert "RS256" in document["id_token_signing_alg_values_supported"]
    assert {"openid", "profile", "email", "groups"} <= set(document["scopes_supported"])
    assert {"email", "groups", "preferred_username"} <= set(document["claims_supported"])
    slash = requests.get(provider.discovery_url + "/", timeout=10).json()
    assert slash["issuer"] == provider.issuer


def test_a_pkce_code_flow_gives_a_signed_id_token_with_the_users_claims(
    provider: OidcProvider,
) -> None:
    session = requests.Session()
    code, verifier, nonce = sign_in(provider, CLIENT, session)

    answer = exchange(provider, CLIENT, code, verifier)

    assert answer.status_code == 200, answer.text
    tokens = answer.json()
    claims = verified_claims(provider, tokens["id_token"])
    assert claims["iss"] == provider.issuer
    assert claims["aud"] == CLIENT.client_id
    assert claims["nonce"] == nonce
    assert claims["exp"] > time.time()
    assert claims["email"] == ADA.email
    assert claims["groups"] == sorted(ADA.groups)
    assert claims["preferred_username"] == ADA.username
    assert (claims["given_name"], claims["family_name"]) == (ADA.first_name, ADA.last_name)
    assert claims["name"] == "Ada Lovelace"
    userinfo = requests.get(
        provider.discovery()["userinfo_endpoint"],
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
        timeout=10,
    ).json()
    assert userinfo["sub"] == claims["sub"]
    assert userinfo["email"] == ADA.email
    assert userinfo["groups"] == sorted(ADA.groups)


def test_the_groups_claim_needs_the_groups_scope(provider: OidcProvider) -> None:
    session = requests.Session()
    verifier, challenge = pkce_pair()
    page = session.get(
        authorize_url(
            provider, CLIENT, state="s", nonce="n", challenge=challenge, scope="openid email"
        ),
        timeout=10,
    )
    redirect = provider_login(session, page, ADA.username, ADA.password)
    code = parse_qs(urlsplit(callback_url(redirect)).query)["code"][0]

    claims = verified_claims(
        provider, exchange(provider, CLIENT, code, verifier).json()["id_token"]
    )

    assert claims["email"] == ADA.email
    assert "groups" not in claims
    assert "preferred_username" not in claims


def test_a_code_exchange_without_the_code_verifier_is_refused(provider: OidcProvider) -> None:
    code, verifier, _ = sign_in(provider, CLIENT, requests.Session())

    refused = exchange(provider, CLIENT, code, None)

    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_request"
    assert "id_token" not in refused.json()


def test_a_code_exchange_with_a_wrong_client_secret_is_refused(provider: OidcProvider) -> None:
    code, verifier, _ = sign_in(provider, CLIENT, requests.Session())
    impostor = OidcClient(CLIENT.client_id, "wrong", CLIENT.redirect_uris)

    refused = exchange(provider, impostor, code, verifier)

    assert refused.status_code == 401
    assert refused.json()["error"] == "invalid_client"


def test_an_authorization_request_without_a_code_challenge_is_refused(
    provider: OidcProvider,
) -> None:
    session = requests.Session()
    page = session.get(
        authorize_url(provider, CLIENT, state="st", nonce="n", challenge=None), timeout=10
    )

    redirect = provider_login(session, page, ADA.username, ADA.password)

    query = parse_qs(urlsplit(callback_url(redirect)).query)
    assert query["error"] == ["invalid_request"]
    assert "code" not in query


def test_a_wrong_password_does_not_leave_the_provider(provider: OidcProvider) -> None:
    session = requests.Session()
    _, challenge = pkce_pair()
    page = session.get(
        authorize_url(provider, CLIENT, state="st", nonce="n", challenge=challenge), timeout=10
    )

    answer = provider_login(session, page, ADA.username, "not the password")

    assert answer.status_code == 200
    assert answer.url.startswith(provider.login_url)
    assert "Wrong user name or password" in answer.text


def test_a_client_added_while_the_provider_runs_can_sign_in(provider: OidcProvider) -> None:
    late = OidcClient(
        client_id="late-client",
        client_secret="another-secret",
        redirect_uris=("http://localhost:8765/callback/",),
    )
    provider.add_client(late)

    code, verifier, _ = sign_in(provider, late, requests.Session())

    answer = exchange(provider, late, code, verifier)
    assert answer.status_code == 200, answer.text
    assert verified_claims(provider, answer.json()["id_token"])["aud"] == late.client_id


def test_logout_with_an_id_token_hint_ends_the_provider_session_and_returns_to_the_client(
    provider: OidcProvider,
) -> None:
    session = requests.Session()
    code, verifier, _ = sign_in(provider, CLIENT, session)
    id_token = exchange(provider, CLIENT, code, verifier).json()["id_token"]

    answer = session.get(
        provider.discovery()["end_session_endpoint"],
        params={
            "id_token_hint": id_token,
            "post_logout_redirect_uri": CLIENT.post_logout_redirect_uris[0],
            "state": "bye",
        },
        allow_redirects=False,
        timeout=10,
    )

    assert callback_url(answer) == f"{CLIENT.post_logout_redirect_uris[0]}?state=bye"
    _, challenge = pkce_pair()
    again = session.get(
        authorize_url(provider, CLIENT, state="s", nonce="n", challenge=challenge), timeout=10
    )
    assert urlsplit(again.url).path == "/accounts/login/"


def test_logout_with_only_the_client_id_asks_the_signed_in_user_first(
    provider: OidcProvider,
) -> None:
    session = requests.Session()
    sign_in(provider, CLIENT, session)

    prompt = session.get(
        provider.end_session_endpoint,
        params={
            "client_id": CLIENT.client_id,
            "post_logout_redirect_uri": CLIENT.post_logout_redirect_uris[0],
        },
        allow_redirects=False,
        timeout=10,
    )
    assert prompt.status_code == 200
    assert "Confirm Logout" in prompt.text

    answer = provider_confirm_logout(session, prompt)

    assert callback_url(answer) == CLIENT.post_logout_redirect_uris[0]
    signed_out = session.get(
        provider.end_session_endpoint,
        params={
            "client_id": CLIENT.client_id,
            "post_logout_redirect_uri": CLIENT.post_logout_redirect_uris[0],
        },
        allow_redirects=False,
        timeout=10,
    )
    assert callback_url(signed_out) == CLIENT.post_logout_redirect_uris[0]


def test_logout_refuses_an_unregistered_post_logout_redirect_uri(provider: OidcProvider) -> None:
    answer = requests.get(
        provider.end_session_endpoint,
        params={"client_id": CLIENT.client_id, "post_logout_redirect_uri": "http://evil.test/"},
        allow_redirects=False,
        timeout=10,
    )

    assert answer.status_code == 400
