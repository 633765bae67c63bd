"""Settings come from the environment; production refuses development secrets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from finestreta.lib.env import env_bool, env_int, env_list, env_secret, env_secret_list

ROOT = Path(__file__).resolve().parents[3]
GOOD_SECRET = "x" * 20 + "-a-long-random-production-secret-" + "y" * 20  # noqa: S105


def run_python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "FINESTRETA_TESTING"}
    }
    return subprocess.run(  # noqa: S603
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**base, "DJANGO_SETTINGS_MODULE": "finestreta.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


SETUP = "import django; django.setup(); "


def test_production_refuses_to_start_without_a_secret_key() -> None:
    result = run_python(SETUP, DEBUG="0", ALLOWED_HOSTS="finestreta.example")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_refuses_the_development_secret_key() -> None:
    from finestreta.settings import DEV_SECRET_KEY

    result = run_python(
        SETUP, DEBUG="0", SECRET_KEY=DEV_SECRET_KEY, ALLOWED_HOSTS="finestreta.example"
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_refuses_to_start_without_allowed_hosts() -> None:
    result = run_python(SETUP, DEBUG="0", SECRET_KEY=GOOD_SECRET)
    assert result.returncode != 0
    assert "ALLOWED_HOSTS" in result.stderr


def test_production_reads_the_secret_key_from_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text(GOOD_SECRET + "\n")
    result = run_python(
        SETUP + f"from django.conf import settings; print(settings.SECRET_KEY == {GOOD_SECRET!r})",
        DEBUG="0",
        SECRET_KEY_FILE=str(secret),
        ALLOWED_HOSTS="finestreta.example",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


def test_production_sends_hsts_and_secure_cookie_flags() -> None:
    code = SETUP + (
        "from django.test import Client; from django.test.utils import setup_test_environment;"
        "import json; setup_test_environment();"
        "r = Client().get('/healthz', secure=True, HTTP_HOST='finestreta.example');"
        "from django.conf import settings as s;"
        "print(json.dumps({'status': r.status_code,"
        "'hsts': r.headers.get('Strict-Transport-Security'),"
        "'session_secure': s.SESSION_COOKIE_SECURE, 'csrf_secure': s.CSRF_COOKIE_SECURE,"
        "'session_name': s.SESSION_COOKIE_NAME, 'httponly': s.SESSION_COOKIE_HTTPONLY,"
        "'insecure': Client().get('/healthz', HTTP_HOST='finestreta.example').status_code}))"
    )
    result = run_python(code, DEBUG="0", SECRET_KEY=GOOD_SECRET, ALLOWED_HOSTS="finestreta.example")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout.strip().splitlines()[-1])
    assert data["status"] == 200
    assert data["hsts"].startswith("max-age=31536000")
    assert data["session_secure"] and data["csrf_secure"] and data["httponly"]
    assert data["session_name"].startswith("__Host-")
    # Plain HTTP is redirected to HTTPS, except for the health probes.
    assert data["insecure"] == 200


def test_without_a_database_url_the_embedded_default_is_sqlite_in_wal_mode(tmp_path: Path) -> None:
    db = tmp_path / "embedded.sqlite3"
    code = SETUP + (
        "from django.db import connection; c = connection.cursor();"
        "c.execute('PRAGMA journal_mode'); print(connection.vendor, c.fetchone()[0])"
    )
    result = run_python(code, SQLITE_PATH=str(db), DATABASE_URL="")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["sqlite", "wal"]


def test_a_database_url_selects_postgresql() -> None:
    code = SETUP + "from django.db import connection; print(connection.vendor)"
    result = run_python(code, DATABASE_URL="postgres://u@127.0.0.1:5432/finestreta")
    assert result.stdout.strip() == "postgresql", result.stderr


def test_a_redis_url_selects_the_redis_channel_layer() -> None:
    code = SETUP + (
        "from django.conf import settings; print(settings.CHANNEL_LAYERS['default']['BACKEND'])"
    )
    assert run_python(code, REDIS_URL="redis://127.0.0.1:6379/0").stdout.strip() == (
        "finestreta.lib.channel_layer.LocalFirstPubSubChannelLayer"
    )
    assert run_python(code).stdout.strip() == "channels.layers.InMemoryChannelLayer"


def test_env_helpers_parse_and_refuse_nonsense(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLAG", "yes")
    monkeypatch.setenv("NUMBER", "42")
    monkeypatch.setenv("NAMES", "a, b,,c")
    assert env_bool("FLAG") is True
    assert env_bool("UNSET_FLAG", True) is True
    assert env_int("NUMBER", 1) == 42
    assert env_list("NAMES") == ["a", "b", "c"]
    monkeypatch.setenv("FLAG", "perhaps")
    with pytest.raises(ImproperlyConfigured):
        env_bool("FLAG")
    monkeypatch.setenv("NUMBER", "many")
    with pytest.raises(ImproperlyConfigured):
        env_int("NUMBER", 1)
    monkeypatch.setenv("TOKEN_FILE", "/nonexistent/secret")
    with pytest.raises(ImproperlyConfigured):
        env_secret("TOKEN")


def test_keys_and_the_database_password_can_come_from_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = tmp_path / "keys"
    keys.write_text("newest-key,\nolder-key\n  oldest-key\n", encoding="utf-8")
    monkeypatch.setenv("SOME_KEYS_FILE", str(keys))
    assert env_secret_list("SOME_KEYS") == ["newest-key", "older-key", "oldest-key"]
    password = tmp_path / "password"
    password.write_text("from-the-file\n", encoding="utf-8")
    code = (
        "import django; from django.conf import settings; "
        "print(settings.DATABASES['default']['PASSWORD'], settings.DATABASES['default']['USER'])"
    )
    result = run_python(
        code,
        DATABASE_URL="postgres://finestreta:in-the-url@127.0.0.1:5432/finestreta",
        DATABASE_PASSWORD_FILE=str(password),
    )
    assert result.stdout.split() == ["from-the-file", "finestreta"], result.stderr


def test_every_setting_read_from_the_environment_is_documented() -> None:
    import re

    sources = [ROOT / "finestreta" / "settings.py"]
    used = set()
    for source in sources:
        pattern = r'env_(?:str|bool|int|list|secret)\(\s*"([A-Z_]+)"'
        used |= set(re.findall(pattern, source.read_text()))
    documented = set(re.findall(r"^#?\s*([A-Z_]+)=", (ROOT / "dotenv.example").read_text(), re.M))
    assert used - documented == set()


def test_the_production_configuration_passes_djangos_deployment_checks() -> None:
    result = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={
            **{k: v for k, v in os.environ.items() if k != "FINESTRETA_TESTING"},
            "DEBUG": "0",
            "SECRET_KEY": GOOD_SECRET,
            "ALLOWED_HOSTS": "finestreta.example",
            "VIDEO_FILE_KEYS": "qQv0Qp0tUbxW1Wq2b9dC9Cq6m7X0eYbEJr1b9Rz1s0s=",
            "RECORDING_KEYS": "pS2m0cYv1nF5nFh3yq8rQv6Cq6m7X0eYbEJr1b9Rz1s=",
            "VIDEO_TURN_URLS": "turn:turn.finestreta.example:3478",
            "VIDEO_TURN_SECRET": GOOD_SECRET,
            "IDENTITY_HASH_KEY": GOOD_SECRET,
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_deployment_checks_ask_for_the_file_keys_and_turn() -> None:
    result = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={
            **{k: v for k, v in os.environ.items() if k != "FINESTRETA_TESTING"},
            "DEBUG": "0",
            "SECRET_KEY": GOOD_SECRET,
            "ALLOWED_HOSTS": "finestreta.example",
            "VIDEO_FILE_KEYS": "not-a-key",
            "RECORDING_KEYS": "",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "finestreta.video.E002" in result.stderr + result.stdout
    assert "finestreta.video.W001" in result.stderr + result.stdout
    assert "finestreta.identity.E001" in result.stderr + result.stdout
    assert "finestreta.recordings.E001" in result.stderr + result.stdout
