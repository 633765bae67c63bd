"""The SAML IdP harness: a real SimpleSAMLphp, exercised by python3-saml without Django."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from onelogin.saml2.auth import OneLogin_Saml2_Auth
from onelogin.saml2.logout_response import OneLogin_Saml2_Logout_Response
from onelogin.saml2.response import OneLogin_Saml2_Response
from onelogin.saml2.settings import OneLogin_Saml2_Settings
from onelogin.saml2.xml_utils import OneLogin_Saml2_XML

from tests.idp.saml import (
    METADATA_CONTENT_TYPE,
    NAMEID_PERSISTENT,
    IdpLoginRefused,
    SamlIdp,
    SamlServiceProvider,
    SamlUser,
    idp_login,
    run_saml_idp,
    saml_post_form,
)

MD = "{urn:oasis:names:tc:SAML:2.0:metadata}"
DS = "{http://www.w3.org/2000/09/xmldsig#}"
SAML = "{urn:oasis:names:tc:SAML:2.0:assertion}"
REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"

ANNA = SamlUser(
    "anna",
    "correct horse",
    {
        "uid": ["anna"],
        "mail": ["anna@gencat.example"],
        "displayName": ["Anna Puig"],
        "givenName": ["Anna"],
        "sn": ["Puig"],
        "groups": ["agents", "supervisors"],
    },
)

# The SP is never contacted: python3-saml checks the Destination against this "current URL".
SP_HOST = "finestreta.test"
SP = SamlServiceProvider(
    entity_id=f"https://{SP_HOST}/saml/metadata/",
    acs_url=f"https://{SP_HOST}/saml/acs/",
    slo_url=f"https://{SP_HOST}/saml/sls/",
)


@pytest.fixture(scope="module")
def idp() -> Iterator[SamlIdp]:
    with run_saml_idp(users=[ANNA], service_providers=[SP]) as running:
        yield running


def sp_settings(idp: SamlIdp, sp: SamlServiceProvider = SP) -> dict:
    return {
        "strict": True,
        "debug": False,
        "sp": {
            "entityId": sp.entity_id,
            "assertionConsumerService": {"url": sp.acs_url},
            "singleLogoutService": {"url": sp.slo_url},
            "NameIDFormat": NAMEID_PERSISTENT,
        },
        "idp": {
            "entityId": idp.entity_id,
            "singleSignOnService": {"url": idp.sso_url},
            "singleLogoutService": {"url": idp.slo_url},
            "x509cert": idp.certificate_b64,
        },
        "security": {
            "wantAssertionsSigned": True,
            "wantMessagesSigned": True,
            "wantNameId": True,
            "requestedAuthnContext": False,
            "rejectDeprecatedAlgorithm": True,
        },
    }


def request_data(url: str, *, get_data: dict | None = None, post_data: dict | None = None) -> dict:
    """The request dict python3-saml wants, for a request that arrived at `url`."""
    parts = urlsplit(url)
    return {
        "https": "on" if parts.scheme == "https" else "off",
        "http_host": parts.netloc,
        "script_name": parts.path,
        "get_data": get_data or {},
        "post_data": post_data or {},
    }


def start_login(idp: SamlIdp, sp: SamlServiceProvider = SP) -> tuple[requests.Session, str, str]:
    """SP-initiated login: the AuthnRequest redirect, followed to the IdP's login page."""
    auth = OneLogin_Saml2_Auth(request_data(sp.acs_url), sp_settings(idp, sp))
    redirect_url = auth.login(return_to="/staff/queue/")
    assert redirect_url.startswith(idp.sso_url + "?SAMLRequest=")
    session = requests.Session()
    login_page = session.get(redirect_url, timeout=10)
    assert login_page.status_code == 200
    return session, auth.get_last_request_id(), login_page


def test_the_metadata_is_served_as_saml_metadata_with_its_entity_id_certificate_and_endpoints(
    idp: SamlIdp,
):
    answer = requests.get(idp.metadata_url, timeout=10)
    assert answer.headers["Content-Type"].startswith(METADATA_CONTENT_TYPE)
    assert answer.text == idp.metadata_xml()

    root = OneLogin_Saml2_XML.to_etree(answer.text)
    assert root.get("entityID") == idp.entity_id == idp.metadata_url
    descriptor = root.find(f"{MD}IDPSSODescriptor")
    assert descriptor is not None
    signing = descriptor.find(f"{MD}KeyDescriptor[@use='signing']//{DS}X509Certificate")
    assert signing is not None and signing.text == idp.certificate_b64
    assert idp.certificate_pem.startswith("-----BEGIN CERTIFICATE-----")
    assert [
        (e.get("Binding"), e.get("Location")) for e in descriptor.iter(f"{MD}SingleSignOnService")
    ] == [(REDIRECT, idp.sso_url)]
    assert [
        (e.get("Binding"), e.get("Location")) for e in descriptor.iter(f"{MD}SingleLogoutService")
    ] == [(REDIRECT, idp.slo_url)]
    assert [e.text for e in descriptor.iter(f"{MD}NameIDFormat")] == [NAMEID_PERSISTENT]


def test_an_sp_initiated_login_returns_a_signed_response_that_python3_saml_accepts(idp: SamlIdp):
    session, request_id, login_page = start_login(idp)

    acs_url, saml_response, relay_state = idp_login(session, login_page, "anna", "correct horse")

    assert acs_url == SP.acs_url
    assert relay_state == "/staff/queue/"
    root = OneLogin_Saml2_XML.to_etree(base64.b64decode(saml_response))
    assertion = root.find(f"{SAML}Assertion")
    assert assertion is not None, "the assertion is not encrypted"
    assert root.find(f"{DS}Signature") is not None, "the Response is signed"
    assert assertion.find(f"{DS}Signature") is not None, "the Assertion is signed"
    response = OneLogin_Saml2_Response(
        OneLogin_Saml2_Settings(sp_settings(idp), sp_validation_only=True), saml_response
    )
    data = request_data(acs_url, post_data={"SAMLResponse": saml_response})
    assert response.is_valid(data, request_id=request_id), response.get_error()
    assert response.get_nameid() == "anna"
    assert response.get_nameid_format() == NAMEID_PERSISTENT
    assert response.get_issuers() == [idp.entity_id]
    assert response.get_attributes() == ANNA.attributes


def test_the_response_no_longer_validates_once_an_attribute_is_tampered_with(idp: SamlIdp):
    session, request_id, login_page = start_login(idp)
    acs_url, saml_response, _ = idp_login(session, login_page, "anna", "correct horse")

    xml = base64.b64decode(saml_response).decode()
    assert ">supervisors<" in xml
    forged = base64.b64encode(xml.replace(">supervisors<", ">administrators<").encode()).decode()
    response = OneLogin_Saml2_Response(
        OneLogin_Saml2_Settings(sp_settings(idp), sp_validation_only=True), forged
    )

    assert not response.is_valid(request_data(acs_url), request_id=request_id)
    assert "signature" in response.get_error().lower()


def test_a_wrong_password_is_refused_by_the_idp_which_shows_its_login_form_again(idp: SamlIdp):
    session, _, login_page = start_login(idp)

    with pytest.raises(IdpLoginRefused) as refused:
        idp_login(session, login_page, "anna", "wrong horse")

    page = refused.value.response.text
    assert 'name="password"' in page
    assert "SAMLResponse" not in page


def test_a_service_provider_added_after_start_gets_single_sign_on_and_single_logout(idp: SamlIdp):
    late = SamlServiceProvider(
        entity_id="https://late.finestreta.test/saml/metadata/",
        acs_url="https://late.finestreta.test/saml/acs/",
        slo_url="https://late.finestreta.test/saml/sls/",
    )
    idp.add_service_provider(late)
    settings = sp_settings(idp, late)
    session, request_id, login_page = start_login(idp, late)
    acs_url, saml_response, _ = idp_login(session, login_page, "anna", "correct horse")
    assert acs_url == late.acs_url
    response = OneLogin_Saml2_Response(
        OneLogin_Saml2_Settings(settings, sp_validation_only=True), saml_response
    )
    assert response.is_valid(request_data(acs_url), request_id=request_id), response.get_error()

    # While the IdP's session lasts, the next AuthnRequest is answered at once, without a password.
    auth = OneLogin_Saml2_Auth(request_data(late.acs_url), settings)
    posted = saml_post_form(session.get(auth.login(), timeout=10))
    assert posted is not None
    again = OneLogin_Saml2_Response(
        OneLogin_Saml2_Settings(settings, sp_validation_only=True), posted[1]
    )
    assert again.is_valid(request_data(late.acs_url), request_id=auth.get_last_request_id())
    assert again.get_nameid() == "anna"

    # SP-initiated single logout: the IdP answers at the SP's SLO URL with a signed LogoutResponse.
    auth = OneLogin_Saml2_Auth(request_data(late.slo_url), settings)
    url = auth.logout(
        name_id=response.get_nameid(),
        name_id_format=response.get_nameid_format(),
        session_index=response.get_session_index(),
    )
    logout_id = auth.get_last_request_id()
    for _ in range(5):
        answer = session.get(url, allow_redirects=False, timeout=10)
        assert answer.status_code in (302, 303), answer.text[:2000]
        url = answer.headers["Location"]
        if not url.startswith(idp.base_url):
            break
    assert url.startswith(late.slo_url + "?")
    query = dict(parse_qsl(urlsplit(url).query))
    assert {"SAMLResponse", "SigAlg", "Signature"} <= query.keys()
    logout = OneLogin_Saml2_Logout_Response(
        OneLogin_Saml2_Settings(settings, sp_validation_only=True), query["SAMLResponse"]
    )
    assert logout.is_valid(request_data(late.slo_url, get_data=query), request_id=logout_id), (
        logout.get_error()
    )

    # The IdP's session is gone: a new login asks for the password again.
    login_page = session.get(
        OneLogin_Saml2_Auth(request_data(late.acs_url), settings).login(), timeout=10
    )
    assert saml_post_form(login_page) is None
    assert 'name="password"' in login_page.text
