"""Benchmark: reminders through the whole notifications pipeline, against sending them directly.

Targets (notifications issue): 10,000 reminders through the pipeline (outbox → worker → local
SMTP server and SMS gateway) at ≥ 0.5× the throughput of sending the same messages straight to
the same servers from one loop; p95 from due time to accepted by the server ≤ 60 s at that load.

On a throw-away test database (created and destroyed here) it writes BENCH_MESSAGES reminders
(default 10,000; every BENCH_SMS_EVERY-th one an SMS, default every second) as outbox rows,
all due at one instant, and starts BENCH_WORKERS real worker processes
(`manage.py worker`, default 2) before that instant. The receiving side runs in a separate process:
an aiosmtpd SMTP server and an HTTP SMS gateway (the documented JSON contract), both recording
when they accepted each message and dropping a copy by Message-ID / Idempotency-Key.

1. pipeline: from the due instant until the last message is accepted; p50/p95/max from due time
   to accepted, per message;
2. baseline: the same messages, through the same gateway classes (one SMTP session and one
   keep-alive HTTP session for the whole run: the fastest a plain loop can go), from one loop in
   this process, with no database and no queue.

Prints both throughputs, the ratio and the latencies, and checks that every message was accepted
exactly once and every row was delivered.

    .venv/bin/python bench/notifications.py
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/finestreta_bench \\
        .venv/bin/python bench/notifications.py
    BENCH_MESSAGES=1000 .venv/bin/python bench/notifications.py   # a quick run
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import multiprocessing
import os
import secrets
import statistics
import threading
import time
from email.parser import BytesHeaderParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.connection import Connection
from typing import Any

import django_setup  # noqa: F401, I001 - first: sets up Django for what follows
from django.conf import settings
from django.db import connection, transaction
from figures import percentile

from tests.processes import child_env, free_port, running, wait_until

MESSAGES = int(os.environ.get("BENCH_MESSAGES", "10000"))
SMS_EVERY = int(os.environ.get("BENCH_SMS_EVERY", "2"))  # 0: e-mail only
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
TIMEOUT = max(120.0, MESSAGES / 20)  # the pipeline phase stops waiting after this (seconds)
API_KEY = "bench-key"


# --- The receiving side (its own process) ------------------------------------------------------


class Accepted:
    """When each message id was first accepted; copies are counted and dropped."""

    def __init__(self) -> None:
        self.first: dict[str, float] = {}
        self.arrivals = 0
        self.lock = threading.Lock()

    def record(self, key: str) -> None:
        now = time.time()
        with self.lock:
            self.arrivals += 1
            self.first.setdefault(key, now)


def serve(smtp_port: int, sms_port: int, commands: Connection) -> None:
    import logging

    from aiosmtpd.controller import Controller

    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every command
    accepted = Accepted()

    class Relay:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802
            accepted.record(str(BytesHeaderParser().parsebytes(envelope.content)["Message-ID"]))
            return "250 OK"

    class Gateway(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body leave in two writes: without this, a kept-alive connection waits for
        # the client's delayed ACK (40 ms) on every answer, as no real gateway's server does.
        disable_nagle_algorithm = True

        def do_POST(self) -> None:  # noqa: N802 - http.server's hook name
            json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if self.headers.get("Authorization") != f"Bearer {API_KEY}":
                self.send_response(401)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            key = self.headers["Idempotency-Key"]
            accepted.record(key)
            body = json.dumps({"id": f"sms-{key}", "status": "accepted"}).encode()
            self.send_response(202)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    asyncio.set_event_loop(asyncio.new_event_loop())
    controller = Controller(Relay(), hostname="127.0.0.1", port=smtp_port)
    controller.start()
    http = ThreadingHTTPServer(("127.0.0.1", sms_port), Gateway)
    http.daemon_threads = True
    threading.Thread(target=http.serve_forever, daemon=True).start()
    commands.send("ready")
    while True:
        command = commands.recv()
        if command == "stop":
            break
        with accepted.lock:
            commands.send((dict(accepted.first), accepted.arrivals))
            if command == "reset":
                accepted.first.clear()
                accepted.arrivals = 0
    http.shutdown()
    controller.stop()


# --- The sending side ------------------------------------------------------------------------


def seed(sms_url: str, due_placeholder: dt.datetime) -> list[int]:
    from finestreta.notifications.models import Message, MessagingSettings
    from finestreta.notifications.services import render
    from finestreta.tenants.models import Organisation

    org = Organisation.objects.create(slug="bench", name="Ajuntament de Bench", name_ca="Bench")
    MessagingSettings.objects.create(
        organisation=org,
        sms_gateway_url=sms_url,
        sms_api_key=API_KEY,
        sms_sender="Bench",
        quiet_from=dt.time(0),
        quiet_until=dt.time(0),  # no quiet hours: the run may be at night
    )
    texts = {
        channel: render(
            kind="verification_code",
            channel=channel,
            language="ca",
            organisation=org,
            context={"code": "123456"},
        )
        for channel in ("email", "sms")
    }
    rows = []
    for n in range(MESSAGES):
        channel = "sms" if SMS_EVERY and n % SMS_EVERY == SMS_EVERY - 1 else "email"
        subject, body, html = texts[channel]
        rows.append(
            Message(
                organisation=org,
                kind="reminder",
                channel=channel,
                recipient=f"+3461{n:07d}" if channel == "sms" else f"persona{n}@example.org",
                language="ca",
                subject=subject,
                body=body,
                html=html,
                dedup_key=f"reminder:{n}",
                send_after=due_placeholder,
            )
        )
    with transaction.atomic():
        created = Message.objects.bulk_create(rows, batch_size=1000)
    return [message.pk for message in created]


def make_due(now: dt.datetime) -> None:
    """Every reminder falls due at `now` (one statement)."""
    from finestreta.notifications.models import Message

    Message.objects.update(send_after=now)


def pipeline(smtp_port: int, commands: Connection) -> tuple[float, list[float]]:
    from django.db.models import Count

    from finestreta.lib.models import WorkerHeartbeat
    from finestreta.notifications.models import Message

    env = child_env(
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(48),
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="0",
        BEHIND_TLS_PROXY="0",
        SECURE_HSTS_SECONDS="0",
        LOG_LEVEL="ERROR",
        DB_CONN_MAX_AGE=os.environ.get("DB_CONN_MAX_AGE", "60"),
        NOTIFICATIONS_EMAIL="smtp",
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(smtp_port),
        EMAIL_TIMEOUT="10",
        NOTIFICATIONS_SMS_TIMEOUT="10",
    )
    args = ["worker", "--no-reload", "--no-startup-delay", "--verbosity", "0", "--interval", "0.1"]
    processes: list[Any] = []
    logs: list[str] = []
    try:
        for n in range(WORKERS):
            context = running([*args, "--worker-id", f"bench-{n}"], env=env)
            process = context.__enter__()
            processes.append((context, process))
            assert process.stdout is not None
            threading.Thread(target=lambda p=process: logs.extend(p.stdout), daemon=True).start()
        if not wait_until(lambda: WorkerHeartbeat.objects.count() == WORKERS, timeout=60):
            raise SystemExit("the workers did not start:\n" + "".join(logs[-40:]))
        due = time.time()
        make_due(dt.datetime.fromtimestamp(due, tz=dt.UTC))
        connection.close()

        def done() -> bool:
            return not Message.objects.exclude(status__in=Message.TERMINAL).exists()

        if not wait_until(done, timeout=TIMEOUT, interval=0.5):
            left = Message.objects.values("status").annotate(n=Count("pk"))
            print("the pipeline did not finish in time:", list(left), "".join(logs[-40:]))
    finally:
        for context, _process in reversed(processes):
            context.__exit__(None, None, None)
    commands.send("reset")
    first, arrivals = commands.recv()
    statuses = dict(
        Message.objects.values_list("status").annotate(n=Count("pk")).values_list("status", "n")
    )
    print(f"pipeline: rows by status {statuses}; {arrivals} arrivals, {len(first)} distinct")
    assert statuses == {Message.Status.DELIVERED: MESSAGES}, statuses
    assert len(first) == MESSAGES, "a message was not accepted"
    latencies = [accepted - due for accepted in first.values()]
    return MESSAGES / max(latencies), latencies


def baseline(smtp_port: int, sms_url: str, commands: Connection) -> float:
    from finestreta.notifications.gateways import Outgoing, SmsHttpGateway, SmtpEmail
    from finestreta.notifications.models import Message

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", smtp_port, 10
    email = SmtpEmail()
    sms = SmsHttpGateway(
        url=sms_url, api_key=API_KEY, sender="Bench", callback_url="http://127.0.0.1/", timeout=10
    )
    outgoing = [
        Outgoing(
            channel=m.channel,
            recipient=m.recipient,
            subject=m.subject,
            body=m.body,
            html=m.html,
            sender_name=m.organisation.name,
            reply_to="",
            idempotency_key=f"baseline-{m.pk}",
        )
        for m in Message.objects.select_related("organisation").order_by("pk")
    ]
    connection.close()
    started = time.monotonic()
    for message in outgoing:
        (sms if message.channel == "sms" else email).send(message)
    email.close()
    sms.close()
    elapsed = time.monotonic() - started
    commands.send("reset")
    first, _arrivals = commands.recv()
    assert len(first) == MESSAGES, "the baseline lost a message"
    return MESSAGES / elapsed


def main() -> None:
    if connection.vendor != "postgresql":
        print("Note: production runs PostgreSQL; this run uses", connection.vendor)
    smtp_port, sms_port = free_port(), free_port()
    sms_url = f"http://127.0.0.1:{sms_port}/v1/messages"
    ours, theirs = multiprocessing.get_context("fork").Pipe()
    server = multiprocessing.get_context("fork").Process(
        target=serve, args=(smtp_port, sms_port, theirs), daemon=True
    )
    server.start()
    assert ours.poll(30) and ours.recv() == "ready"
    database = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        started = time.monotonic()
        seed(sms_url, dt.datetime(2100, 1, 1, tzinfo=dt.UTC))
        sms_count = MESSAGES // SMS_EVERY if SMS_EVERY else 0
        print(
            f"{connection.vendor}, {MESSAGES} reminders ({MESSAGES - sms_count} e-mails, "
            f"{sms_count} SMS) queued in {time.monotonic() - started:.1f} s; "
            f"{WORKERS} worker processes"
        )
        connection.close()
        rate, latencies = pipeline(smtp_port, ours)
        direct = baseline(smtp_port, sms_url, ours)
        print(f"pipeline (outbox → workers → servers): {rate:.0f} messages/s")
        print(f"baseline (one loop straight to the servers): {direct:.0f} messages/s")
        print(f"ratio pipeline / baseline: {rate / direct:.2f}×  (target ≥ 0.5×)")
        print(
            f"due → accepted: p50 {statistics.median(latencies):.1f} s, "
            f"p95 {percentile(latencies, 0.95):.1f} s (target ≤ 60 s), "
            f"max {max(latencies):.1f} s"
        )
    finally:
        ours.send("stop")
        server.join(10)
        connection.close()
        connection.creation.destroy_test_db(database, verbosity=0)


if __name__ == "__main__":
    main()
