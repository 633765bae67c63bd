"""Schemathesis against the live application (through WSGI, in this process, on the test
database): whatever it sends, no server error, and every answer keeps to the published schema.

Each generated request is sent twice: as generated (mostly unknown organisations: 404s), and
again under organisation A with its bookable service, so that the real work is exercised too.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from finestreta.api.tests.conftest import Bookable
from finestreta.wsgi import application

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


# Loaded once, at collection, from the running application's own /api/schema/ (no database
# needed for that); the requests go to the same WSGI application.
schema = schemathesis.openapi.from_wsgi("/api/schema/", application)


@pytest.fixture(autouse=True)
def connection_kept_open() -> Iterator[None]:
    """Django closes the connection at the start and end of each request; the test client avoids that
    (the test's transaction lives on it), and so must this in-process WSGI client."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@schema.parametrize()
@settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_answers_any_input_within_its_schema_and_without_server_errors(
    case: schemathesis.Case, bookable: Bookable
) -> None:
    case.call_and_validate(checks=CHECKS)
    parameters = case.path_parameters or {}
    case.path_parameters = {**parameters, "org": bookable.personas.org_a.slug}
    if "service" in parameters:
        case.path_parameters["service"] = bookable.service.slug
    if isinstance(case.body, dict) and "service" in case.body:
        case.body = {**case.body, "service": bookable.service.slug}
    case.call_and_validate(checks=CHECKS)
