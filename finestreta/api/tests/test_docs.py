"""The OpenAPI 3 schema and a docs page served by the platform itself, under its CSP."""

from __future__ import annotations

import re

from django.test import Client


def test_the_schema_is_openapi_3_and_lists_every_endpoint(client: Client) -> None:
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert set(schema["paths"]) == {
        "/api/v1/{org}/services/",
        "/api/v1/{org}/services/{service}/",
        "/api/v1/{org}/services/{service}/availability/",
        "/api/v1/{org}/offices/",
        "/api/v1/{org}/holds/",
        "/api/v1/{org}/holds/{token}/",
        "/api/v1/{org}/holds/{token}/verification-code/",
        "/api/v1/{org}/bookings/",
        "/api/v1/{org}/appointments/{token}/",
        "/api/v1/{org}/appointments/{token}/reschedule/",
        "/api/v1/{org}/waiting-list/",
    }
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            assert "429" in operation["responses"], f"{method} {path}"
            assert "404" in operation["responses"], f"{method} {path}"


def test_the_docs_page_has_no_inline_script_or_style_and_no_other_host(client: Client) -> None:
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<style" not in html and " style=" not in html
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert scripts and all('src="' in attrs and not body.strip() for attrs, body in scripts)
    for url in re.findall(r'(?:src|href)="([^"]+)"', html):
        assert url.startswith("/"), url
        assert client.get(url).status_code == 200, url
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
