"""Run the background-task worker (django-tasks-db's db_worker) with a heartbeat for /readyz, the
notifications dispatcher that sends due messages in batches (notifications.delivery), a sweeper
that recovers the messages of a worker that died mid-batch (notifications.recovery), the
integrators' webhooks dispatcher (integrations.delivery), the virtual queue's loop (lapsed
offers back to the queue, offers for free agents), and, once a day, the retention purge."""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone
from django_tasks_db.management.commands.db_worker import Command as DBWorkerCommand

from finestreta.lib.metrics import TASK_FAILURES
from finestreta.lib.models import WorkerHeartbeat

logger = logging.getLogger(__name__)


def beat(worker_id: str, started_at: Any) -> None:
    WorkerHeartbeat.objects.update_or_create(
        worker_id=worker_id[:64],
        defaults={
            "hostname": socket.gethostname()[:255],
            "pid": os.getpid(),
            "started_at": started_at,
            "last_seen": timezone.now(),
        },
    )


def dispatch() -> None:
    """Send every message due now, a batch at a time."""
    from finestreta.notifications.services import BATCH_SIZE, deliver_due

    while deliver_due(now=timezone.now()) >= BATCH_SIZE:
        pass


def deliver_webhooks() -> None:
    """Send every webhook delivery due now, a batch at a time."""
    from finestreta.integrations.services import deliver_due as deliver_due_webhooks

    while deliver_due_webhooks(now=timezone.now()) >= settings.WEBHOOKS_BATCH_SIZE:
        pass


def route_queues() -> None:
    from finestreta.queueing.services import route_everywhere

    route_everywhere(now=timezone.now())


def sweep() -> None:
    """Re-queue what dead workers left behind, close the recordings and forget the video
    participants of a server that died, mark the video citizens who never came, delete the
    recordings past their procedure's retention period, and, when the last one is
    RETENTION_PURGE_HOURS old, run the retention purge (all safe from several workers at once:
    one of them starts the purge, see privacy.purge.purge_if_due), and bring the dashboard's
    daily roll-up up to date."""
    from finestreta.integrations.services import requeue_stale as recover_webhooks
    from finestreta.notifications.recovery import sweep as recover_messages
    from finestreta.privacy.services import purge_if_due
    from finestreta.recordings.services import close_silent, purge_expired
    from finestreta.reports.services import refresh_figures_due
    from finestreta.video.services import forget_stale, mark_no_shows

    now = timezone.now()
    recover_messages(now=now)
    recover_webhooks(now=now)
    close_silent(now=now)
    forget_stale(now=now)
    mark_no_shows(now=now)
    purge_expired(now=now)
    report = purge_if_due(now=now)
    if report is not None:
        for line in report.failed:
            logger.error("the retention purge of %s stopped: %s", line.organisation, line.error)
    refresh_figures_due(now=now)


class Command(DBWorkerCommand):
    help = (
        "Run the task worker, reporting a heartbeat that /readyz reads, sending due messages "
        "and re-queueing messages left behind by dead workers."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        worker_id = options["worker_id"]
        started_at = timezone.now()
        stop = threading.Event()
        beat(worker_id, started_at)

        def loop() -> None:
            while not stop.wait(settings.WORKER_HEARTBEAT_SECONDS):
                try:
                    close_old_connections()
                    beat(worker_id, started_at)
                except Exception:  # noqa: BLE001,S112 - a missed beat is retried next time  # nosec B112
                    continue
            connection.close()

        def every(seconds: float, work: Callable[[], object], failed: str) -> Callable[[], None]:
            """A loop that does `work` at once, then every `seconds`, until the worker stops.
            A round that fails is logged and counted (metric finestreta_task_failures)."""

            def run() -> None:
                while True:
                    try:
                        close_old_connections()
                        work()
                    except Exception:  # retried next time round
                        logger.exception(failed)
                        TASK_FAILURES.labels(f"worker.{work.__name__}").inc()
                    if stop.wait(seconds):
                        break
                connection.close()

            return run

        loops = {
            # Once at start (a restarted worker recovers at once), then every few seconds.
            "sweeper": every(
                settings.NOTIFICATIONS_SWEEP_SECONDS, sweep, "the sweep for lost messages failed"
            ),
            # The batch's claim is recovered after the claim timeout should this fail.
            "dispatcher": every(
                settings.NOTIFICATIONS_POLL_SECONDS, dispatch, "sending due messages failed"
            ),
            # The same for the integrators' webhooks (recovered by the sweeper as well).
            "webhooks": every(
                settings.NOTIFICATIONS_POLL_SECONDS, deliver_webhooks, "sending webhooks failed"
            ),
            # Lapsed offers back to the queue, and offers for agents left without one.
            "queue": every(settings.QUEUE_POLL_SECONDS, route_queues, "routing the queue failed"),
        }
        thread = threading.Thread(target=loop, name="heartbeat", daemon=True)
        thread.start()
        for name, target in loops.items():
            threading.Thread(target=target, name=name, daemon=True).start()
        try:
            super().handle(*args, **options)
        finally:
            stop.set()
            WorkerHeartbeat.objects.filter(worker_id=worker_id[:64]).delete()
