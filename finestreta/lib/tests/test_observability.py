"""Structured logs with request and call ids, and the Prometheus metrics (ADR 38)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest
from asgiref.sync import async_to_sync
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.utils import timezone
from django_tasks import task
from prometheus_client.parser import text_string_to_metric_families
from pytest_django.fixtures import Settings

from finestreta.appointments import booking
from finestreta.appointments.common import SlotTaken
from finestreta.lib import logs, metrics
from finestreta.lib.asgi_observability import ObservedWebSockets
from finestreta.lib.models import WorkerHeartbeat
from finestreta.notifications.models import Message
from finestreta.queueing.models import QueueEntry
from finestreta.video.models import Room
from tests.factories import AppointmentFactory
from tests.personas import Personas

NOW = dt.datetime(2026, 12, 7, 10, 0, tzinfo=dt.UTC)


def scrape(client: Client, **extra: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """/metrics read as Prometheus reads it: {(sample name, labels): value}."""
    answer = client.get("/metrics", **extra)
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.content.decode())
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float:  # type: ignore[type-arg]
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


# --- Logs -----------------------------------------------------------------------------------


def test_every_response_has_a_request_id_and_its_log_line_carries_it_with_the_route(
    client: Client, personas: Personas, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="finestreta.requests"):
        answer = client.get(f"/{personas.org_a.slug}/")

    request_id = answer["X-Request-Id"]
    assert len(request_id) == 32
    (line,) = [r for r in caplog.records if r.name == "finestreta.requests"]
    assert line.request_id == request_id  # type: ignore[attr-defined]
    assert line.route == "<slug:org>/"  # type: ignore[attr-defined]
    assert line.status == 200  # type: ignore[attr-defined]
    assert line.organisation == personas.org_a.slug  # type: ignore[attr-defined]


def test_a_sane_request_id_from_the_proxy_is_kept_and_a_forged_one_is_replaced(
    client: Client, personas: Personas
) -> None:
    kept = client.get("/healthz", headers={"x-request-id": "0123456789abcdef0123456789abcdef"})
    forged = client.get("/healthz", headers={"x-request-id": 'x" forged\nline'})

    assert kept["X-Request-Id"] == "0123456789abcdef0123456789abcdef"
    assert forged["X-Request-Id"] != 'x" forged\nline'
    assert logs.SANE_ID.fullmatch(forged["X-Request-Id"])


def test_a_secret_in_the_address_never_reaches_the_request_log(
    client: Client, personas: Personas, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="finestreta.requests"):
        client.get(f"/{personas.org_a.slug}/video/SECRETJOINTOKEN123/")

    lines = [r for r in caplog.records if r.name == "finestreta.requests"]
    assert lines
    assert all("SECRETJOINTOKEN123" not in r.getMessage() for r in lines)
    assert all("SECRETJOINTOKEN123" not in str(r.__dict__) for r in lines)


def test_the_json_format_is_one_object_per_line_with_time_level_logger_message_and_ids() -> None:
    formatter = logs.JsonFormatter()
    record = logging.LogRecord(
        "finestreta.video", logging.WARNING, __file__, 1, "a %s", ("b",), None
    )
    tokens = logs.bind(request_id="r" * 32, call_id="ROOM123456", organisation="org-a")
    try:
        logs.ContextFilter().filter(record)
    finally:
        logs.unbind(tokens)
    line = formatter.format(record)

    assert "\n" not in line
    parsed = json.loads(line)
    assert parsed["level"] == "WARNING"
    assert parsed["logger"] == "finestreta.video"
    assert parsed["message"] == "a b"
    assert parsed["request_id"] == "r" * 32
    assert parsed["call_id"] == "ROOM123456"
    assert parsed["organisation"] == "org-a"
    assert dt.datetime.fromisoformat(parsed["time"]).tzinfo is not None
    assert logs.request_id.get() == ""  # unbound again


def test_production_logs_are_json_and_go_through_one_handler_with_uvicorns() -> None:
    config = logs.configuration(log_format="json", level="INFO")

    assert config["formatters"]["default"] == {"()": "finestreta.lib.logs.JsonFormatter"}
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        assert config["loggers"][name]["handlers"] == ["console"]
    assert config["handlers"]["console"]["filters"] == ["context"]


class _Talker(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        await self.accept()
        logging.getLogger("finestreta.video").warning("inside the call")


def test_a_video_websocket_is_counted_while_open_and_its_lines_carry_the_call_id(
    caplog: pytest.LogCaptureFixture, db: None
) -> None:
    app = ObservedWebSockets(_Talker.as_asgi())
    gauge = metrics.WEBSOCKETS.labels("video")

    async def run() -> tuple[float, float]:
        communicator = WebsocketCommunicator(app, "/ws/org-a/video/ROOMPUBLICID/")
        connected, _code = await communicator.connect()
        assert connected
        during = gauge._value.get()
        await communicator.disconnect()
        return during, gauge._value.get()

    before = gauge._value.get()
    with caplog.at_level(logging.INFO):
        during, after = async_to_sync(run)()

    assert (during, after) == (before + 1, before)
    inside = next(r for r in caplog.records if r.getMessage() == "inside the call")
    assert inside.call_id == "ROOMPUBLICID"  # type: ignore[attr-defined]
    assert inside.organisation == "org-a"  # type: ignore[attr-defined]


def test_the_platforms_websockets_go_through_the_observing_middleware() -> None:
    from finestreta.asgi import application

    assert isinstance(application.application_mapping["websocket"], ObservedWebSockets)


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/ws/gencat/video/lobby/", "lobby"),
        ("/ws/gencat/video/AbC123/", "video"),
        ("/ws/gencat/desk/", "desk"),
        ("/ws/else/", "other"),
    ],
)
def test_a_websockets_kind_comes_from_its_address(path: str, kind: str) -> None:
    assert metrics.websocket_kind(path) == kind


# --- /metrics -------------------------------------------------------------------------------


def test_metrics_are_not_found_outside_the_monitoring_networks_without_the_token(
    client: Client, settings: Settings, db: None
) -> None:
    outside = {"REMOTE_ADDR": "203.0.113.5"}
    settings.METRICS_TOKEN = "s3cret-token-for-prometheus"

    assert client.get("/metrics", **outside).status_code == 404
    assert (
        client.get("/metrics", headers={"authorization": "Bearer wrong"}, **outside).status_code
        == 404
    )
    allowed = client.get(
        "/metrics", headers={"authorization": "Bearer s3cret-token-for-prometheus"}, **outside
    )
    assert allowed.status_code == 200
    settings.METRICS_ALLOWED_NETWORKS = ["203.0.113.0/24"]
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", **outside).status_code == 200
    assert client.get("/metrics").status_code == 404  # loopback is no longer listed


def test_requests_are_counted_by_route_and_status(client: Client, personas: Personas) -> None:
    before = scrape(client)
    client.get(f"/{personas.org_a.slug}/")
    client.get(f"/{personas.org_b.slug}/")
    client.get("/no-such-organisation/")
    after = scrape(client)

    route = {"method": "GET", "route": "<slug:org>/"}
    ok = value(after, "finestreta_http_requests_total", **route, status="200") - value(
        before, "finestreta_http_requests_total", **route, status="200"
    )
    assert ok == 2
    assert value(after, "finestreta_http_requests_total", **route, status="404") >= 1
    assert value(after, "finestreta_http_request_duration_seconds_count", **route) >= 3


def test_the_database_figures_show_calls_queues_backlogs_and_workers(
    client: Client, personas: Personas
) -> None:
    now = timezone.now()
    org = personas.org_a.slug
    appointment = AppointmentFactory(agent=personas.membership(personas.agent_a))
    Room.objects.create(
        organisation=personas.org_a,
        appointment=appointment,
        public_id="ROOMINPROGRESS",
        citizen_admitted_at=now,
    )
    for minutes in (3, 9):
        QueueEntry.objects.create(
            organisation=personas.org_a,
            service=personas.service_a,
            channel=QueueEntry.Channel.VIDEO,
            name="Pere",
            joined_at=now - dt.timedelta(minutes=minutes),
        )
    for n, send_after in enumerate(
        [None, now - dt.timedelta(minutes=1), now + dt.timedelta(hours=1)]
    ):
        Message.objects.create(
            organisation=personas.org_a,
            kind="reminder",
            channel="sms",
            recipient="+34600000000",
            language="ca",
            body="Recordatori",
            dedup_key=f"metrics-{n}",
            send_after=send_after,
        )
    WorkerHeartbeat.objects.create(worker_id="w1", started_at=now, last_seen=now)

    samples = scrape(client)

    assert value(samples, "finestreta_calls_in_progress", organisation=org) == 1
    queue = {"organisation": org, "service": personas.service_a.slug}
    assert value(samples, "finestreta_queue_length", **queue) == 2
    assert 9 * 60 <= value(samples, "finestreta_queue_longest_wait_seconds", **queue) < 10 * 60
    assert value(samples, "finestreta_outbox_backlog", channel="sms") == 2  # not the later one
    assert value(samples, "finestreta_outbox_backlog", channel="email") == 0
    assert value(samples, "finestreta_task_workers_alive") == 1
    assert ("finestreta_webhook_backlog", ()) in samples
    assert ("finestreta_tasks_waiting", ()) in samples


def test_a_booking_that_meets_a_time_no_longer_offered_is_counted_as_a_conflict(
    client: Client, personas: Personas
) -> None:
    before = value(scrape(client), "finestreta_booking_conflicts_total", stage="offered")

    with pytest.raises(SlotTaken):
        booking.hold_slot(
            service=personas.service_a,
            channel="video",
            start=timezone.now() + dt.timedelta(days=2),
            now=timezone.now(),
        )

    after = value(scrape(client), "finestreta_booking_conflicts_total", stage="offered")
    assert after == before + 1


@task()
def _failing_task() -> None:
    raise RuntimeError("this task fails on purpose")


def test_a_task_that_raises_is_counted_as_a_task_failure(
    client: Client, settings: Settings, db: None
) -> None:
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    name = f"{__name__}._failing_task"
    before = value(scrape(client), "finestreta_task_failures_total", task=name)

    _failing_task.enqueue()

    assert value(scrape(client), "finestreta_task_failures_total", task=name) == before + 1


CHILD = """
from finestreta.lib import metrics
metrics.TASK_FAILURES.labels("worker.dispatch").inc()
metrics.BOOKING_CONFLICTS.labels("race").inc(2)
metrics.WEBSOCKETS.labels("video").inc()  # and the process ends without closing it
"""


def test_in_multiprocess_mode_any_process_reports_the_counts_of_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db: None
) -> None:
    """Two real processes count into the host's directory; the exposition adds them up, and
    forgets the connections of processes that are gone."""
    for _process in range(2):
        subprocess.run(  # noqa: S603 - our own interpreter and code
            [sys.executable, "-c", CHILD],
            env={"PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"},
            cwd=Path(__file__).resolve().parents[3],
            check=True,
        )
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    assert len(list(tmp_path.glob("gauge_live*"))) == 2

    body, _content_type = metrics.exposition()

    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body.decode())
        for s in family.samples
    }
    assert samples[("finestreta_task_failures_total", (("task", "worker.dispatch"),))] == 2
    assert samples[("finestreta_booking_conflicts_total", (("stage", "race"),))] == 4
    assert ("finestreta_outbox_backlog", (("channel", "sms"),)) in samples
    assert samples.get(("finestreta_websocket_connections", (("kind", "video"),)), 0) == 0
    assert not list(tmp_path.glob("gauge_live*"))
