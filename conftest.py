from __future__ import annotations

import pytest

from tests.personas import Personas, make_personas


@pytest.fixture
def personas(db: None) -> Personas:
    return make_personas()


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The Redis the multi-process tests use. CI starts it; elsewhere the test fails loudly."""
    import os

    import redis

    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.exceptions.ConnectionError as exc:
        raise RuntimeError(f"Redis is needed for this test and is not reachable at {url}") from exc
    return url
