"""Failure tests with real processes: a worker killed with SIGKILL in the middle of a batch, and
an SMTP relay restarted in the middle of a batch. In both, every message arrives exactly once.

The SMTP server started here behaves like a deduplicating relay keyed on Message-ID (as a
provider that honours idempotency keys does): it records every arrival, then waits a little before
answering 250 — so a kill usually lands after the relay has the message and before the worker
hears so — and counts a message whose Message-ID it already has as a duplicate, which it drops.
A resent message carries the same Message-ID (derived from its idempotency key), so at most one
in-flight message per dead worker (or per relay stop) shows up as a dropped duplicate, never as a
second delivery to the citizen.
"""

from __future__ import annotations

import asyncio
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from email.parser import BytesHeaderParser

import pytest
from aiosmtpd.controller import Controller
from django.db import transaction

from finestreta.notifications.models import Message
from finestreta.notifications.services import BATCH_SIZE, queue_message
from tests.factories import OrganisationFactory
from tests.processes import child_env, free_port, running, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


class DedupRelay:
    """aiosmtpd handler: a slow relay that delivers each Message-ID once and drops copies."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.arrivals: list[tuple[str, str]] = []  # (Message-ID, recipient), copies included
        self.delivered: dict[str, str] = {}  # Message-ID → recipient, the first arrival only
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def] # noqa: N802
        message_id = str(BytesHeaderParser().parsebytes(envelope.content)["Message-ID"])
        with self.lock:
            self.arrivals.append((message_id, envelope.rcpt_tos[0]))
            self.delivered.setdefault(message_id, envelope.rcpt_tos[0])
        await asyncio.sleep(self.delay)
        return "250 OK"

    def check_exactly_once(self, recipients: set[str], *, max_duplicates: int) -> int:
        """Every message arrived, each was delivered once, and every copy carried the id of the
        first: the relay dropped it. Returns the number of dropped copies."""
        with self.lock:
            arrivals = list(self.arrivals)
            delivered = dict(self.delivered)
        assert set(delivered.values()) == recipients, "a message never arrived"
        assert len(delivered) == len(recipients), "one message arrived under two ids"
        per_recipient = Counter(recipient for _id, recipient in arrivals)
        for recipient, count in per_recipient.items():
            if count > 1:
                ids = {message_id for message_id, to in arrivals if to == recipient}
                assert len(ids) == 1, f"copies for {recipient} carried different ids: {ids}"
        duplicates = len(arrivals) - len(delivered)
        print(f"{len(delivered)} delivered once; {duplicates} copies dropped by Message-ID")
        assert duplicates <= max_duplicates
        return duplicates


@contextmanager
def smtp_server(relay: object, port: int) -> Iterator[Controller]:
    controller = Controller(relay, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield controller
    finally:
        controller.stop()


def queue_batch(count: int) -> set[str]:
    organisation = OrganisationFactory()
    recipients = {f"persona{n}@example.org" for n in range(count)}
    with transaction.atomic():
        for n, recipient in enumerate(sorted(recipients)):
            queue_message(
                organisation=organisation,
                kind="verification_code",
                channel="email",
                recipient=recipient,
                language="ca",
                context={"code": f"{n:06d}"},
                dedup_key=f"batch:{n}",
            )
    return recipients


def worker_env(port: int, **extra: str) -> dict[str, str]:
    return child_env(
        NOTIFICATIONS_EMAIL="smtp",
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(port),
        EMAIL_TIMEOUT="1",
        LOG_LEVEL="WARNING",
        **extra,
    )


def worker_args(worker_id: str) -> list[str]:
    return ["worker", "--no-reload", "--no-startup-delay", "--worker-id", worker_id]


def drain(process: subprocess.Popen) -> list[str]:
    """Read the child's output in the background: a full pipe would stall it."""
    lines: list[str] = []
    assert process.stdout is not None
    threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True).start()
    return lines


def all_settled() -> bool:
    return not Message.objects.exclude(status__in=Message.TERMINAL).exists()


def test_a_worker_killed_mid_batch_loses_and_doubles_nothing() -> None:
    started = time.monotonic()
    recipients = queue_batch(300)
    relay = DedupRelay(delay=0.02)
    port = free_port()
    with smtp_server(relay, port):
        with running(worker_args("doomed"), env=worker_env(port)) as doomed:
            log = drain(doomed)
            # Half-way through a batch (110 is not a multiple of the batch size), watched
            # closely: the kill lands a message or two later, well before the batch ends.
            mid_batch = 5 * BATCH_SIZE + BATCH_SIZE // 2
            assert wait_until(
                lambda: len(relay.arrivals) >= mid_batch, timeout=30, interval=0.005
            ), "".join(log)
            doomed.kill()  # SIGKILL: no clean-up, the batch it had claimed stays "sending"
            doomed.wait()
        arrived_before = len(relay.delivered)
        assert arrived_before < len(recipients), "the kill came too late to be mid-batch"
        # Each outcome was recorded as the relay answered: what stays claimed is the rest of the
        # dead worker's batch, of which at most one message (the one in flight) reached the relay.
        claimed = Message.objects.filter(status=Message.Status.SENDING)
        assert 0 < claimed.count() <= BATCH_SIZE
        assert len(relay.delivered) - Message.objects.filter(status="delivered").count() <= 1
        # The new worker recovers the dead one's claim after the (short) claim timeout.
        env = worker_env(
            port, NOTIFICATIONS_CLAIM_TIMEOUT_SECONDS="3", NOTIFICATIONS_SWEEP_SECONDS="1"
        )
        with running(worker_args("successor"), env=env) as successor:
            log = drain(successor)
            assert wait_until(all_settled, timeout=40), "".join(log)
    duplicates = relay.check_exactly_once(recipients, max_duplicates=1)
    print(f"killed after {arrived_before} of {len(recipients)}; {duplicates} duplicates")
    assert Message.objects.filter(status=Message.Status.DELIVERED).count() == len(recipients)
    assert time.monotonic() - started < 60


def test_an_smtp_relay_restarted_mid_batch_gets_every_message_once() -> None:
    started = time.monotonic()
    recipients = queue_batch(200)
    relay = DedupRelay(delay=0.01)
    port = free_port()
    # Retries after 0.6, 3, 9 … seconds instead of 1, 5, 15 … minutes.
    env = worker_env(
        port,
        NOTIFICATIONS_RETRY_SCALE="100",
        NOTIFICATIONS_CLAIM_TIMEOUT_SECONDS="3",
        NOTIFICATIONS_SWEEP_SECONDS="1",
    )
    with running(worker_args("steady"), env=env) as worker:
        log = drain(worker)
        with smtp_server(relay, port):
            assert wait_until(lambda: len(relay.arrivals) >= 50, timeout=30), "".join(log)
        # The relay is down: what is sent now fails and goes back in the queue, for later.
        assert wait_until(
            lambda: Message.objects.filter(
                status=Message.Status.QUEUED, attempts__gte=1, last_error__gt=""
            ).exists(),
            timeout=10,
        ), "".join(log)
        down_for = 1.5
        time.sleep(down_for)
        with smtp_server(relay, port):  # the same port, the same relay (its memory of ids)
            assert wait_until(all_settled, timeout=40), "".join(log)
    relay.check_exactly_once(recipients, max_duplicates=1)
    delivered = Message.objects.filter(status=Message.Status.DELIVERED)
    assert delivered.count() == len(recipients)
    retried = delivered.filter(attempts__gte=2).count()
    print(f"{retried} messages were delivered on a later attempt")
    assert retried > 0
    assert time.monotonic() - started < 60
