"""While PostgreSQL cannot be reached, people get a 503 with Retry-After in their language —
the API its error shape, a page a plain page — never a 500 with a traceback (lib.unavailable).
The database is made unreachable by refusing every new cursor, as a lost server does; the fault
test that really stops PostgreSQL is tests/production/test_faults.py (`make soak`)."""

from __future__ import annotations

import json
from unittest import mock

import pytest
from django.db import OperationalError
from django.db.backends.base.base import BaseDatabaseWrapper
from django.test import Client, RequestFactory

from finestreta.lib import unavailable


@pytest.fixture
def database_down(db):  # type: ignore[no-untyped-def]
    """Undone in this fixture's own teardown, before the test database's rollback needs a
    cursor (monkeypatch's could come after it)."""

    def refuse(self):  # type: ignore[no-untyped-def]
        raise OperationalError("connection refused (the test's outage)")

    with mock.patch.object(BaseDatabaseWrapper, "ensure_connection", refuse):
        yield


def test_the_api_answers_503_unavailable_with_retry_after_while_the_database_is_down(
    personas, database_down
) -> None:  # type: ignore[no-untyped-def]
    response = Client(raise_request_exception=False).get(
        f"/api/v1/{personas.org_a.slug}/services/", HTTP_ACCEPT_LANGUAGE="es"
    )
    assert response.status_code == 503 and response["Retry-After"] == "5"
    body = json.loads(response.content)
    assert body["error"]["code"] == "unavailable"
    assert body["error"]["message"].startswith("No hemos podido atender su petición")


@pytest.mark.parametrize(
    ("language", "title"),
    [
        ("ca", "El servei no està disponible ara mateix"),
        ("es", "El servicio no está disponible ahora mismo"),
        ("oc", "Eth servici non ei disponible ara"),
        ("en", "Service unavailable for a moment"),
    ],
)
def test_a_page_answers_a_plain_503_in_the_person_s_language_while_the_database_is_down(
    personas, database_down, language, title
) -> None:  # type: ignore[no-untyped-def]
    response = Client(raise_request_exception=False).get(
        f"/{personas.org_a.slug}/", HTTP_ACCEPT_LANGUAGE=language
    )
    page = response.content.decode()
    assert response.status_code == 503 and response["Content-Language"] == language
    assert f"<h1>{title}</h1>" in page and f'lang="{language}"' in page
    assert "Traceback" not in page and "OperationalError" not in page


def test_an_outage_raised_in_a_middleware_gets_the_503_from_the_500_handler() -> None:
    request = RequestFactory().get("/org-a/staff/")
    try:
        raise OperationalError("server closed the connection unexpectedly")
    except OperationalError:
        response = unavailable.handler500(request)
    assert response.status_code == 503 and response["Retry-After"] == "5"


def test_any_other_error_still_gets_the_usual_500_page() -> None:
    request = RequestFactory().get("/org-a/")
    try:
        raise ValueError("a bug")
    except ValueError:
        response = unavailable.handler500(request)
    assert response.status_code == 500
