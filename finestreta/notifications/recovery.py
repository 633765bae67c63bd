"""Recovery after a dead worker, run by every task worker beside its heartbeat (ADR 15).

A worker killed mid-send leaves its message claimed ("sending") and its django-tasks-db task
"running": nothing would ever send it. A queued message can also lose its task (the process died
between the commit and the enqueue, or the task itself failed). Every NOTIFICATIONS_SWEEP_SECONDS
each worker:

1. re-queues messages claimed longer than the claim timeout ago (`services.requeue_stale`; they
   are resent with the same idempotency key, so the relay or gateway drops a copy it accepted);
2. marks delivery tasks that have been "running" longer than the claim timeout as failed (their
   worker is gone: no delivery takes that long, the SMTP and SMS timeouts are far shorter);
3. re-enqueues due, queued messages older than LOST_AFTER that have no pending task (none ready,
   none running within the claim timeout).

All three are safe to run from several workers at once and to run twice: a message is only ever
sent by the worker whose conditional claim moved it from "queued" to "sending", so an extra task
finds nothing to do.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.db.models import Q
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult, DBTaskResultQuerySet

from finestreta.notifications import services
from finestreta.notifications.models import Message
from finestreta.notifications.tasks import deliver_message

logger = logging.getLogger(__name__)

# A queued message younger than this is never "lost": its task is enqueued just after the commit.
LOST_AFTER = dt.timedelta(minutes=1)
# Looked at per sweep, oldest first: a huge backlog is worked through over several sweeps.
LOST_BATCH = 500


@dataclass(frozen=True)
class Swept:
    stale_claims: int
    dead_tasks: int
    lost_tasks: int


def sweep(*, now: dt.datetime) -> Swept:
    stale_claims = services.requeue_stale(now=now)
    dead_tasks = fail_dead_tasks(now=now)
    lost_tasks = requeue_lost(now=now)
    if stale_claims or dead_tasks or lost_tasks:
        logger.warning(
            "recovered messages: %s stale claims, %s dead delivery tasks, %s lost tasks",
            stale_claims,
            dead_tasks,
            lost_tasks,
        )
    return Swept(stale_claims, dead_tasks, lost_tasks)


def _delivery_tasks() -> DBTaskResultQuerySet:
    return DBTaskResult.objects.filter(task_path=deliver_message.module_path)


def fail_dead_tasks(*, now: dt.datetime) -> int:
    """Delivery tasks left "running" by a dead worker: failed, so nothing counts them as pending
    (their message, if it was claimed, comes back through `requeue_stale`)."""
    return (
        _delivery_tasks()
        .filter(status=TaskResultStatus.RUNNING, started_at__lt=now - services.STALE_CLAIM)
        .update(
            status=TaskResultStatus.FAILED,
            finished_at=now,
            exception_class_path="finestreta.notifications.recovery.WorkerLost",
            traceback="The worker running this task stopped without finishing it.",
        )
    )


def requeue_lost(*, now: dt.datetime) -> int:
    """Queued messages, due, older than LOST_AFTER, with no pending delivery task: enqueued again.

    Cheap: one indexed query on (status, created_at) for at most LOST_BATCH candidates, and one
    on the pending tasks for just those ids (ready ones sit in django-tasks-db's partial index).
    """
    grace = min(LOST_AFTER, services.STALE_CLAIM)
    candidates = list(
        Message.objects.filter(status=Message.Status.QUEUED, created_at__lt=now - grace)
        .filter(Q(send_after__isnull=True) | Q(send_after__lte=now - grace))
        .order_by("created_at")
        .values_list("pk", flat=True)[:LOST_BATCH]
    )
    if not candidates:
        return 0
    pending = (
        _delivery_tasks()
        .filter(
            Q(status=TaskResultStatus.READY)
            | Q(status=TaskResultStatus.RUNNING, started_at__gte=now - services.STALE_CLAIM)
        )
        .filter(args_kwargs__args__0__in=candidates)
        .values_list("args_kwargs", flat=True)
    )
    with_task = {arguments["args"][0] for arguments in pending}
    lost = [pk for pk in candidates if pk not in with_task]
    for pk in lost:
        deliver_message.enqueue(pk)
    return len(lost)
