"""OWASP ASVS 4.0.3 level 2, V3 (session management), requirement by requirement.

Each test names its requirement. Requirements proved elsewhere, not repeated here:

- 3.2.1, a new session key at login: test_sessions.py::test_login_gives_a_new_session_id
- 3.3.1, the session ends at logout: test_access.py::test_logout_is_post_only_and_ends_the_session
  (here: that it ends on the server, so the old cookie is worth nothing)
- 3.3.2, idle and absolute timeouts: test_sessions.py::test_an_idle_session_ends,
  ::test_a_session_ends_after_the_absolute_limit_even_when_active and
  ::test_an_organisation_can_set_stricter_limits_but_not_laxer_ones
- 3.3.4, seeing one's sessions and ending one or all others:
  test_sessions.py::test_a_person_sees_their_sessions_and_ends_another_one,
  ::test_ending_all_other_sessions_keeps_this_one, ::test_nobody_can_end_someone_elses_session
- 3.3.3 for single sign-on, the provider's session ends too: tests/sso (test_oidc_login.py,
  test_saml_login.py)
- 2.2.1, throttled logins and codes: test_login_throttling.py and
  test_second_factor.py::test_a_wrong_code_is_refused_and_slows_down_the_next_attempts
"""

from __future__ import annotations

import json

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.test import Client, override_settings
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from finestreta.accounts.models import StaffSession
from finestreta.accounts.tests.test_second_factor import code_for
from finestreta.lib.tests.test_settings import GOOD_SECRET, SETUP, run_python
from tests.personas import PASSWORD, Personas, log_in

LOGIN = reverse("accounts:login")
LOGOUT = reverse("accounts:logout")
SECOND_FACTOR = reverse("accounts:second-factor")
NEW_PASSWORD = "a quite different passphrase, 2026"  # noqa: S105 - test accounts only
COOKIE_SETTINGS = [
    f"{kind}_COOKIE_{flag}"
    for kind in ("SESSION", "CSRF")
    for flag in ("NAME", "SECURE", "HTTPONLY", "SAMESITE")
]


def production_cookie_settings() -> dict[str, object]:
    """The cookie settings of a production process (DEBUG=0), read from a real one."""
    code = SETUP + (
        "import json; from django.conf import settings as s;"
        f"print(json.dumps({{name: getattr(s, name) for name in {COOKIE_SETTINGS!r}}}))"
    )
    result = run_python(code, DEBUG="0", SECRET_KEY=GOOD_SECRET, ALLOWED_HOSTS="testserver")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def session_alive(client: Client) -> bool:
    """Whether the client's session still signs it in (the second-factor page answers any
    signed-in person, and sends anyone else to the login page)."""
    return client.get(SECOND_FACTOR).status_code == 200


def replaying(session_key: str) -> Client:
    """A fresh client presenting an old session cookie."""
    from django.conf import settings

    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = session_key
    return client


def dashboard(personas: Personas) -> str:
    return reverse("accounts:dashboard", args=[personas.org_a.slug])


def test_session_and_csrf_cookies_are_secure_httponly_and_same_site_in_production(
    personas: Personas,
) -> None:
    """ASVS 3.4.1 (Secure), 3.4.2 (HttpOnly), 3.4.3 (SameSite) and 3.4.4 (the __Host- prefix):
    the cookies actually sent by the login page and by a login, with production's settings."""
    production = production_cookie_settings()
    assert str(production["SESSION_COOKIE_NAME"]).startswith("__Host-")
    assert str(production["CSRF_COOKIE_NAME"]).startswith("__Host-")
    with override_settings(**production):
        client = Client()
        page = client.get(LOGIN, secure=True)
        signed_in = client.post(LOGIN, {"username": "platform", "password": PASSWORD}, secure=True)
        assert signed_in.status_code == 302
        for response, name in (
            (page, production["CSRF_COOKIE_NAME"]),
            (signed_in, production["SESSION_COOKIE_NAME"]),
        ):
            cookie = response.cookies[str(name)]
            assert cookie["secure"] is True, name
            assert cookie["httponly"] is True, name
            assert cookie["samesite"] == "Lax", name
            assert cookie["path"] == "/" and not cookie["domain"], name  # what __Host- requires


def test_the_second_factor_gives_the_session_a_new_key(client: Client, personas: Personas) -> None:
    """ASVS 3.2.1: a new session key once the second factor is given, so that a key known
    before the full login (one issued after the password alone) is worth nothing after it."""
    device = TOTPDevice.objects.create(user=personas.platform_admin, name="phone", confirmed=True)
    client.post(LOGIN, {"username": "platform", "password": PASSWORD})
    halfway = client.session.session_key
    assert client.post(SECOND_FACTOR, {"code": code_for(device)}).status_code == 302
    verified = client.session.session_key
    assert verified != halfway
    assert client.get("/admin/").status_code == 200
    assert not Session.objects.filter(session_key=halfway).exists()
    # The session stays listed (and can be ended) under its new key.
    assert StaffSession.objects.filter(session_key=verified, user=personas.platform_admin).exists()
    assert not StaffSession.objects.filter(session_key=halfway).exists()
    assert SESSION_KEY not in replaying(halfway).session
    assert replaying(halfway).get("/admin/").status_code == 302


def test_logout_ends_the_session_on_the_server(personas: Personas) -> None:
    """ASVS 3.3.1: logging out invalidates the session on the server, so that the old cookie,
    presented again, signs nobody in."""
    client = log_in(personas.agent_a)
    key = client.session.session_key
    assert client.post(LOGOUT).status_code == 302
    assert not Session.objects.filter(session_key=key).exists()
    assert not StaffSession.objects.filter(session_key=key).exists()
    response = replaying(key).get(dashboard(personas))
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)


def test_logging_out_of_the_administration_ends_the_session_on_the_server_too(
    personas: Personas,
) -> None:
    """ASVS 3.3.1: the administration's own logout ends the session everywhere, and it leaves
    the list of the person's sessions."""
    client = log_in(personas.platform_admin)
    key = client.session.session_key
    assert client.post(reverse("admin:logout")).status_code in {200, 302}
    assert not Session.objects.filter(session_key=key).exists()
    assert not StaffSession.objects.filter(session_key=key).exists()
    assert replaying(key).get("/admin/").status_code == 302


def test_changing_ones_password_ends_every_other_session_and_renews_this_one(
    personas: Personas,
) -> None:
    """ASVS 3.3.3: after a password change every other session of the person ends at once; the
    one they changed it in goes on under a new key (ASVS 3.2.1). Someone else's sessions are
    left alone."""
    here = log_in(personas.platform_admin)
    elsewhere = log_in(personas.platform_admin)
    someone_else = log_in(personas.agent_a)
    before, other = here.session.session_key, elsewhere.session.session_key
    response = here.post(
        reverse("admin:password_change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302, response.context["form"].errors
    after = here.session.session_key
    assert after != before
    assert here.get("/admin/").status_code == 200
    assert StaffSession.objects.filter(session_key=after).exists()
    assert not Session.objects.filter(session_key__in=[before, other]).exists()
    assert not StaffSession.objects.filter(session_key=other).exists()
    assert not session_alive(elsewhere)
    assert session_alive(someone_else)


def test_a_password_set_by_an_administrator_ends_all_of_that_persons_sessions(
    personas: Personas,
) -> None:
    """ASVS 3.3.3: a password set for someone in the administration ends every session of
    theirs; the administrator stays signed in."""
    administrator = log_in(personas.platform_admin)
    laptop, phone = log_in(personas.agent_a), log_in(personas.agent_a)
    # Django's UserAdmin names the page after auth.User whatever the user model is.
    response = administrator.post(
        reverse("admin:auth_user_password_change", args=[personas.agent_a.pk]),
        {"usable_password": "true", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 302, response.context["form"].errors
    assert not StaffSession.objects.filter(user=personas.agent_a).exists()
    assert not session_alive(laptop) and not session_alive(phone)
    assert administrator.get("/admin/").status_code == 200


def test_a_password_changed_outside_a_request_ends_every_session(personas: Personas) -> None:
    """ASVS 3.3.3: `manage.py changepassword` and any other change outside a request."""
    clients = [log_in(personas.agent_a) for _ in range(2)]
    personas.agent_a.set_password(NEW_PASSWORD)
    personas.agent_a.save()
    assert not StaffSession.objects.filter(user=personas.agent_a).exists()
    assert not any(session_alive(client) for client in clients)


def test_saving_a_person_without_changing_the_password_keeps_their_sessions(
    personas: Personas,
) -> None:
    """ASVS 3.3.3, the other way round: only a new password ends sessions."""
    client = log_in(personas.agent_a)
    personas.agent_a.first_name = "Aina"
    personas.agent_a.save()
    assert session_alive(client)
    assert client.get(dashboard(personas)).status_code == 200
