"""Run the background-task worker (django-tasks-db's db_worker) with a heartbeat for /readyz."""

from __future__ import annotations

import os
import socket
import threading
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone
from django_tasks_db.management.commands.db_worker import Command as DBWorkerCommand

from finestreta.lib.models import WorkerHeartbeat


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


class Command(DBWorkerCommand):
    help = "Run the task worker, reporting a heartbeat that /readyz reads."

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
                except Exception:  # noqa: BLE001,S112 - a missed beat is retried next time
                    continue
            connection.close()

        thread = threading.Thread(target=loop, name="heartbeat", daemon=True)
        thread.start()
        try:
            super().handle(*args, **options)
        finally:
            stop.set()
            WorkerHeartbeat.objects.filter(worker_id=worker_id[:64]).delete()
