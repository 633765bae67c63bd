"""Helpers for single-sign-on tests: a requests session against the live test server."""

from __future__ import annotations

import re

import requests

CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def post_with_csrf(  # type: ignore[no-untyped-def]
    session: requests.Session,
    base_url: str,
    page_path: str,
    action: str,
    data: dict | None = None,
    *,
    expect: str | None = None,
    **kwargs,
) -> requests.Response:
    """Open `page_path` (checking it shows `expect`), then post its form's CSRF token to `action`."""
    page = session.get(f"{base_url}{page_path}")
    page.raise_for_status()
    match = CSRF.search(page.text)
    assert match, f"{page_path} has no CSRF token"
    if expect is not None:
        assert expect in page.text, f"{page_path} does not show {expect!r}"
    return session.post(
        f"{base_url}{action}",
        data={"csrfmiddlewaretoken": match.group(1), **(data or {})},
        headers={"Referer": f"{base_url}{page_path}"},
        **kwargs,
    )


def start_sso(
    session: requests.Session, base_url: str, login_url: str, next_url: str = "/accounts/staff/"
) -> requests.Response:
    """Open the staff login page and press the organisation's sign-on button."""
    return post_with_csrf(
        session, base_url, "/accounts/login/", login_url, {"next": next_url}, expect=login_url
    )
