"""The worker's sweep: what a dead worker left behind is picked up again, and nothing else is."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from finestreta.notifications.models import Message
from finestreta.notifications.recovery import sweep
from finestreta.notifications.services import deliver_due
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


def test_a_sweep_requeues_stale_claims_only_and_a_dispatcher_then_sends_them(db: None) -> None:
    now = timezone.now()
    hour_ago = now - dt.timedelta(hours=1)
    stale = message(1, status=Message.Status.SENDING, claimed_at=hour_ago, claim="dead")
    busy = message(2, status=Message.Status.SENDING, claimed_at=now, claim="alive")
    later = message(3, send_after=now + dt.timedelta(hours=2))

    assert sweep(now=now) == 1
    stale.refresh_from_db()
    assert (stale.status, stale.claim) == (Message.Status.QUEUED, "")
    busy.refresh_from_db()
    assert busy.status == Message.Status.SENDING  # its worker is still at it
    # A second sweep (another worker, a moment later) finds nothing left to do.
    assert sweep(now=now) == 0

    assert deliver_due(now=now) == 1
    assert Message.objects.get(pk=stale.pk).status == Message.Status.DELIVERED
    assert Message.objects.get(pk=later.pk).status == Message.Status.QUEUED


def test_the_dead_worker_s_late_answer_does_not_overwrite_the_new_claim(db: None) -> None:
    """A worker that was only slow, not dead, records its outcome after its claim was recovered
    and taken by another dispatcher: its write matches nothing (the claim token changed)."""
    from finestreta.notifications.delivery import _record

    now = timezone.now()
    slow = message(1, status=Message.Status.SENDING, claimed_at=now, claim="slow")
    Message.objects.filter(pk=slow.pk).update(claim="fresh")
    _record(slow, status=Message.Status.FAILED, last_error="late")
    slow.refresh_from_db()
    assert (slow.status, slow.claim, slow.last_error) == (Message.Status.SENDING, "fresh", "")
