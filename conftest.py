from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.conf import settings

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


@pytest.fixture(scope="session", autouse=True)
def compiled_catalogues() -> Iterator[None]:
    """Serve the current .po catalogues, compiled into a temporary folder.

    Django only offers a language it finds a compiled catalogue for (Aranese has none of its own),
    so every test sees exactly the committed translations, whether or not `make setup` has
    compiled them in place, and no stale .mo file can hide a change.
    """
    import tempfile
    from pathlib import Path

    import polib
    from django.conf import settings
    from django.test import override_settings

    with tempfile.TemporaryDirectory(prefix="finestreta-locale-") as tmp:
        paths = []
        for index, locale_dir in enumerate(settings.LOCALE_PATHS):
            target = Path(tmp) / str(index)
            for po in Path(locale_dir).glob("*/LC_MESSAGES/*.po"):
                mo = target / po.relative_to(locale_dir).with_suffix(".mo")
                mo.parent.mkdir(parents=True, exist_ok=True)
                polib.pofile(str(po)).save_as_mofile(str(mo))
            paths.append(str(target))
        # override_settings clears Django's translation caches on enable and disable.
        with override_settings(LOCALE_PATHS=paths):
            yield


@pytest.fixture
def many_connections() -> Iterator[None]:
    """For a test that opens about fifty database connections at once: one such test at a time
    across the pytest-xdist workers (PostgreSQL allows 100 connections in all)."""
    import fcntl
    import tempfile
    from pathlib import Path

    from django.conf import settings

    db = settings.DATABASES["default"]
    server = f"{db.get('HOST') or 'local'}-{db.get('PORT') or ''}".replace("/", "_")
    with open(Path(tempfile.gettempdir()) / f"finestreta-connections-{server}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@pytest.fixture(autouse=True)
def _default_language() -> Iterator[None]:
    """Each test starts in the default language: a test client request activates the
    language it asked for in this thread, and it would otherwise stay for the next test."""
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)
