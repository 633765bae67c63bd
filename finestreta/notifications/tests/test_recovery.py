"""The worker's sweep: what a dead worker left behind is picked up again, and nothing else is."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from finestreta.notifications.models import Message
from finestreta.notifications.recovery import sweep
from finestreta.notifications.tasks import deliver_message
from tests.factories import OrganisationFactory


def message(n: int, **fields: object) -> Message:
    return Message.objects.create(
        organisation=OrganisationFactory(),
        kind="verification_code",
        channel="email",
        recipient=f"p{n}@example.org",
        language="ca",
        body="text",
        dedup_key=f"recovery:{n}",
        **fields,
    )


def tasks_for(pk: int) -> DBTaskResult:
    return DBTaskResult.objects.filter(
        task_path=deliver_message.module_path, args_kwargs__args__0=pk
    )


def test_a_sweep_requeues_lost_and_stale_messages_and_leaves_the_rest(
    db: None, django_capture_on_commit_callbacks
) -> None:
    now = timezone.now()
    hour_ago = now - dt.timedelta(hours=1)
    lost = message(1)
    with_task = message(2)
    young = message(3)
    later = message(4, send_after=now + dt.timedelta(hours=2))
    stale = message(5, status=Message.Status.SENDING, claimed_at=hour_ago)
    orphan = message(6)  # its task was claimed by a worker that died before claiming it
    Message.objects.filter(pk__in=[lost.pk, with_task.pk, later.pk, orphan.pk]).update(
        created_at=hour_ago
    )
    deliver_message.enqueue(with_task.pk)
    dead = deliver_message.enqueue(orphan.pk)
    DBTaskResult.objects.filter(pk=dead.id).update(
        status=TaskResultStatus.RUNNING, started_at=hour_ago
    )

    with django_capture_on_commit_callbacks(execute=True):  # the worker sweeps in autocommit
        swept = sweep(now=now)

    assert (swept.stale_claims, swept.dead_tasks, swept.lost_tasks) == (1, 1, 2)
    assert DBTaskResult.objects.get(pk=dead.id).status == TaskResultStatus.FAILED
    for requeued in (lost, stale, orphan):
        assert tasks_for(requeued.pk).filter(status=TaskResultStatus.READY).count() == 1
    assert tasks_for(with_task.pk).count() == 1
    assert not tasks_for(young.pk).exists()
    assert not tasks_for(later.pk).exists()
    assert Message.objects.get(pk=stale.pk).status == Message.Status.QUEUED
    # A second sweep (another worker, a moment later) finds nothing left to do.
    assert sweep(now=now) == type(swept)(0, 0, 0)
