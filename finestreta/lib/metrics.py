"""Prometheus metrics (docs/operations.md, "Metrics"; ADR 38).

Two kinds:
- counted by the process as things happen: HTTP requests and their durations, WebSocket
  connections open, task failures and booking conflicts. With several processes on a host, set
  PROMETHEUS_MULTIPROC_DIR (a directory of their own, emptied when the host's processes start)
  and every process writes its figures there; `/metrics` on any of them adds them all up.
- read from the database when `/metrics` is scraped: calls in progress, queue lengths and the
  longest wait, the outbox's and the webhooks' backlog, tasks waiting, task workers alive. They
  are the same whichever process answers.

Labels are bounded: a route is its URL pattern (never the address asked for, which may hold a
token), an organisation its slug.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.db.models import Count, Min, Q
from django.utils import timezone
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import REGISTRY, Collector

REQUESTS = Counter(
    "finestreta_http_requests",
    "HTTP requests answered, by method, route (URL pattern) and status.",
    ["method", "route", "status"],
)
REQUEST_SECONDS = Histogram(
    "finestreta_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
WEBSOCKETS = Gauge(
    "finestreta_websocket_connections",
    "WebSocket connections open now, by kind (video, lobby, desk).",
    ["kind"],
    multiprocess_mode="livesum",
)
WEBSOCKETS_OPENED = Counter(
    "finestreta_websocket_connections_opened",
    "WebSocket connections accepted, by kind.",
    ["kind"],
)
TASK_FAILURES = Counter(
    "finestreta_task_failures",
    "Background work that failed: a task of the task queue, or a round of a worker's loop.",
    ["task"],
)
BOOKING_CONFLICTS = Counter(
    "finestreta_booking_conflicts",
    "Bookings and moves that met a time already taken: `offered` when the time was no longer "
    "offered, `race` when another booking won it at the database.",
    ["stage"],
)

UNMATCHED = "(unmatched)"  # requests answered before or without URL resolution


def route_of(resolver_match: object | None) -> str:
    """The URL pattern that answered ("<slug:org>/book/"), or UNMATCHED."""
    route = getattr(resolver_match, "route", None)
    return route if route else UNMATCHED


class DatabaseCollector(Collector):
    """The figures read from the database at each scrape (a few grouped counts)."""

    def collect(self) -> Iterator[Metric]:
        now = timezone.now()
        yield from self._calls()
        yield from self._queues(now)
        yield from self._backlogs(now)
        yield from self._workers(now)

    def _calls(self) -> Iterator[Metric]:
        from finestreta.video.models import Room

        calls = GaugeMetricFamily(
            "finestreta_calls_in_progress",
            "Video calls open with the citizen admitted, by organisation.",
            labels=["organisation"],
        )
        rows = (
            Room.objects.filter(state=Room.State.OPEN, citizen_admitted_at__isnull=False)
            .values("organisation__slug")
            .annotate(n=Count("pk"))
        )
        for row in rows:
            calls.add_metric([row["organisation__slug"]], row["n"])
        yield calls

    def _queues(self, now: dt.datetime) -> Iterator[Metric]:
        from finestreta.queueing.models import QueueEntry

        length = GaugeMetricFamily(
            "finestreta_queue_length",
            "Citizens in the virtual queue not yet attended (waiting or offered), by "
            "organisation and procedure.",
            labels=["organisation", "service"],
        )
        longest = GaugeMetricFamily(
            "finestreta_queue_longest_wait_seconds",
            "How long the first citizen in the queue has waited, by organisation and procedure.",
            labels=["organisation", "service"],
        )
        rows = (
            QueueEntry.objects.filter(
                state__in=[QueueEntry.State.WAITING, QueueEntry.State.OFFERED]
            )
            .values("organisation__slug", "service__slug")
            .annotate(n=Count("pk"), first=Min("joined_at"))
        )
        for row in rows:
            labels = [row["organisation__slug"], row["service__slug"]]
            length.add_metric(labels, row["n"])
            longest.add_metric(labels, max(0.0, (now - row["first"]).total_seconds()))
        yield length
        yield longest

    def _backlogs(self, now: dt.datetime) -> Iterator[Metric]:
        from django_tasks_db.models import DBTaskResult

        from finestreta.integrations.models import Delivery
        from finestreta.notifications.models import Message

        outbox = GaugeMetricFamily(
            "finestreta_outbox_backlog",
            "Messages due and not sent yet (queued or being sent), by channel.",
            labels=["channel"],
        )
        for channel in Message.Channel.values:
            outbox.add_metric([channel], 0)
        rows = (
            Message.objects.filter(status__in=[Message.Status.QUEUED, Message.Status.SENDING])
            .filter(Q(send_after__isnull=True) | Q(send_after__lte=now))
            .values("channel")
            .annotate(n=Count("pk"))
        )
        for row in rows:
            outbox.add_metric([row["channel"]], row["n"])
        yield outbox
        webhooks = GaugeMetricFamily(
            "finestreta_webhook_backlog",
            "Webhook deliveries due and not delivered yet (queued or being sent).",
        )
        webhooks.add_metric(
            [],
            Delivery.objects.filter(
                status__in=[Delivery.Status.QUEUED, Delivery.Status.SENDING], due_at__lte=now
            ).count(),
        )
        yield webhooks
        tasks = GaugeMetricFamily(
            "finestreta_tasks_waiting", "Tasks of the task queue waiting for a worker."
        )
        tasks.add_metric([], DBTaskResult.objects.ready().count())
        yield tasks

    def _workers(self, now: dt.datetime) -> Iterator[Metric]:
        from finestreta.lib.models import WorkerHeartbeat

        alive = GaugeMetricFamily(
            "finestreta_task_workers_alive",
            "Task workers whose heartbeat is recent (within WORKER_STALE_SECONDS).",
        )
        cutoff = now - dt.timedelta(seconds=settings.WORKER_STALE_SECONDS)
        alive.add_metric([], WorkerHeartbeat.objects.filter(last_seen__gte=cutoff).count())
        yield alive


LIVE_GAUGE_FILE = re.compile(r"gauge_live\w+_(\d+)\.db")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def forget_dead_processes(directory: Path) -> None:
    """Drop the live gauges (WebSocket connections open) of this host's processes that died
    without saying so (killed, crashed): their sockets are gone. Counters stay, as Prometheus
    expects of a counter."""
    for path in directory.glob("gauge_live*_*.db"):
        found = LIVE_GAUGE_FILE.fullmatch(path.name)
        if found and not _alive(int(found.group(1))):
            multiprocess.mark_process_dead(int(found.group(1)), str(directory))


def exposition() -> tuple[bytes, str]:
    """The text of `/metrics` and its content type: this process's counts (or, in multiprocess
    mode, every process's of this host) and the database's figures."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        forget_dead_processes(Path(directory))
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    databases = CollectorRegistry()
    databases.register(DatabaseCollector())
    return generate_latest(registry) + generate_latest(databases), CONTENT_TYPE_LATEST


def websocket_kind(path: str) -> str:
    """A WebSocket's kind from its address (/ws/<org>/video/lobby/ is "lobby",
    /ws/<org>/video/<room>/ "video", /ws/<org>/desk/ "desk"): a bounded label."""
    parts = [part for part in path.split("/") if part]
    if len(parts) >= 3 and parts[0] == "ws":
        if parts[2] == "video":
            return "lobby" if parts[3:4] == ["lobby"] else "video"
        if parts[2] == "desk":
            return "desk"
    return "other"
