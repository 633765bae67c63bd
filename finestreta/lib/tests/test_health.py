from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from finestreta.lib import health
from finestreta.lib.models import WorkerHeartbeat


def beat(seconds_ago: int) -> None:
    now = timezone.now()
    WorkerHeartbeat.objects.create(
        worker_id="w1", started_at=now, last_seen=now - dt.timedelta(seconds=seconds_ago)
    )


def test_healthz_answers_without_touching_the_database(client: Client) -> None:
    # No django_db mark: pytest-django raises if the view touches the database.
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_is_unavailable_when_no_worker_has_reported(client: Client) -> None:
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["channel_layer"] == "ok"
    assert "worker" in body["checks"]["worker"]


@pytest.mark.django_db
def test_readyz_is_ready_with_a_recent_worker_heartbeat(client: Client) -> None:
    beat(seconds_ago=5)
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "channel_layer": "ok", "worker": "ok"},
    }


@pytest.mark.django_db
def test_readyz_ignores_a_stale_worker_heartbeat(client: Client, settings) -> None:
    beat(seconds_ago=settings.WORKER_STALE_SECONDS + 5)
    assert client.get("/readyz").status_code == 503


def readyz_with_layer(client: Client, settings, url: str) -> tuple[int, dict]:
    """/readyz with the production channel layer on the Redis at `url`."""
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "finestreta.lib.channel_layer.LocalFirstPubSubChannelLayer",
            "CONFIG": {"hosts": [url], "prefix": "readyz-test."},
        }
    }
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    try:
        response = client.get("/readyz")
    finally:
        channel_layers.backends.clear()
    return response.status_code, response.json()


@pytest.mark.django_db
def test_readyz_reports_an_unreachable_channel_layer(client: Client, settings) -> None:
    beat(seconds_ago=1)
    # Nothing listens on port 1: the connection is refused at once.
    status, body = readyz_with_layer(client, settings, "redis://127.0.0.1:1/0")
    assert status == 503
    assert "channel layer" in body["checks"]["channel_layer"]


@pytest.mark.django_db
def test_readyz_asks_the_redis_of_the_channel_layer_without_leaving_anything_behind(
    client: Client, settings, redis_url: str
) -> None:
    import redis

    beat(seconds_ago=1)
    watcher = redis.Redis.from_url(redis_url)
    before = watcher.pubsub_numsub("readyz-test.")  # nothing subscribes between probes
    for _ in range(3):
        status, body = readyz_with_layer(client, settings, redis_url)
        assert (status, body["checks"]["channel_layer"]) == (200, "ok")
    assert len(watcher.pubsub_channels("readyz-test.*")) == 0
    assert before == watcher.pubsub_numsub("readyz-test.")


@pytest.mark.django_db
def test_readyz_refuses_other_methods(client: Client) -> None:
    assert client.post("/readyz").status_code == 405


def test_the_redis_channel_layer_round_trips_a_message(settings, redis_url: str) -> None:
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [redis_url]},
        }
    }
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    try:
        assert health.check_channel_layer() is None
    finally:
        channel_layers.backends.clear()
