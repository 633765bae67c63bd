"""Helpers for single-sign-on tests: a requests session against the live test server."""

from __future__ import annotations

import re

import requests

CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def start_sso(
    session: requests.Session, base_url: str, login_url: str, next_url: str = "/accounts/staff/"
) -> requests.Response:
    """Open the staff login page and press the organisation's sign-on button."""
    page = session.get(f"{base_url}/accounts/login/")
    page.raise_for_status()
    match = CSRF.search(page.text)
    assert match, "the login page has no CSRF token"
    assert login_url in page.text, "the login page does not offer this identity provider"
    return session.post(
        f"{base_url}{login_url}",
        data={"csrfmiddlewaretoken": match.group(1), "next": next_url},
        headers={"Referer": f"{base_url}/accounts/login/"},
    )


def post_with_csrf(
    session: requests.Session,
    base_url: str,
    page_path: str,
    action: str,
    data: dict | None = None,
    **kwargs,
) -> requests.Response:  # type: ignore[no-untyped-def]
    page = session.get(f"{base_url}{page_path}")
    match = CSRF.search(page.text)
    assert match, f"{page_path} has no CSRF token"
    return session.post(
        f"{base_url}{action}",
        data={"csrfmiddlewaretoken": match.group(1), **(data or {})},
        headers={"Referer": f"{base_url}{page_path}"},
        **kwargs,
    )
