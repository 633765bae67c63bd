"""Shared by the video benchmarks: rooms made on the throw-away database (an agent signed in and
a citizen's join link each), and the environment of the ASGI server they run against."""

from __future__ import annotations

import datetime as dt
import os
import secrets
from dataclasses import dataclass

import django_setup  # noqa: F401, I001 - first: sets up Django for what follows
from django.conf import settings

from tests.processes import child_env

SECRET = secrets.token_urlsafe(48)
# The session cookie's name with DEBUG off (settings.py): the server runs so, this process not.
SESSION_COOKIE = "__Host-finestreta-session"


@dataclass(frozen=True)
class Room:
    path: str
    token: str
    cookie: str


def seed(rooms: int) -> list[Room]:
    from django.utils import timezone

    from finestreta.appointments.services import join_token
    from finestreta.video.services import get_room
    from tests.factories import AppointmentFactory, MembershipFactory
    from tests.personas import log_in, make_personas

    settings.SECRET_KEY = SECRET  # the server's: its sessions are signed with it
    personas = make_personas()
    made = []
    for _ in range(rooms):
        agent = MembershipFactory(organisation=personas.org_a)
        agent.offices.add(personas.office_a)
        appointment = AppointmentFactory(
            agent=agent,
            service=personas.service_a,
            starts_at=timezone.now() - dt.timedelta(minutes=5),
        )
        room = get_room(appointment)
        session = log_in(agent.user).cookies[settings.SESSION_COOKIE_NAME].value
        made.append(
            Room(
                path=f"/ws/{personas.org_a.slug}/video/{room.public_id}/",
                token=join_token(appointment),
                cookie=f"{SESSION_COOKIE}={session}",
            )
        )
    return made


def test_redis(layer: str) -> str:
    """The Redis URL for the "redis" layer (the test database, emptied first), else ""."""
    if layer != "redis":
        return ""
    import redis

    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    redis.Redis.from_url(url).flushdb()  # the test database only
    return url


def server_env(*, redis_url: str, **extra: str) -> dict[str, str]:
    """A production-like server (DEBUG off) on the benchmark's database; `redis_url` empty:
    the in-memory channel layer."""
    return child_env(
        **extra,
        DEBUG="0",
        SECRET_KEY=SECRET,
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="0",
        BEHIND_TLS_PROXY="0",
        SECURE_HSTS_SECONDS="0",
        LOG_LEVEL="ERROR",
        DB_CONN_MAX_AGE=os.environ.get("DB_CONN_MAX_AGE", "60"),
        REDIS_URL=redis_url,
    )
