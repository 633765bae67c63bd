"""`make run`: the web server (uvicorn, ASGI) and a task worker side by side; Ctrl-C stops both."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.urls import reverse
from django.utils import timezone

from finestreta.accounts.demo import DEMO_LOGINS, DEMO_PASSWORD
from finestreta.lib import webserver


def metrics_directory(port: int) -> Path:
    """Where the web server and the worker write their metrics, so that /metrics adds both up
    (lib.metrics): emptied at each start, as prometheus_client asks."""
    directory = Path(settings.BASE_DIR) / "var" / f"metrics-{port}"
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    return directory


class Command(BaseCommand):
    help = "Run the web server and a background-task worker until Ctrl-C."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))

    def handle(self, *args: Any, host: str, port: int, **options: Any) -> None:
        python = sys.executable
        env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(metrics_directory(port))}
        children = [
            subprocess.Popen(  # noqa: S603 - fixed argv of our own programs
                webserver.command(host, port, access_log=True), env=env
            ),
            subprocess.Popen(  # noqa: S603 - fixed argv of our own programs
                [python, "manage.py", "worker", "--no-reload", "--worker-id", f"make-run-{port}"],
                env=env,
            ),
        ]
        base = f"http://{host}:{port}"
        self.stdout.write(self.style.SUCCESS(f"\nFinestreta is running at {base}/"))
        self.stdout.write(f"  Public home:      {base}/")
        self.stdout.write(f"  Demo organisation: {base}/generalitat/")
        self.stdout.write(f"  Book (no account): {base}/generalitat/book/")
        self.stdout.write(f"  Integrators' API: {base}/api/docs/")
        self.stdout.write(f"  Staff login:      {base}/accounts/login/")
        self.stdout.write(f"  Administration:   {base}/admin/")
        self.stdout.write(f"  Health:           {base}/healthz  ·  {base}/readyz")
        if settings.DEBUG:
            self.stdout.write(f'  Messages "sent":  {base}/dev/outbox/')
            self.stdout.write(f"  Webhooks received: {base}/dev/webhooks/")
            self.stdout.write(f"  Metrics:          {base}/metrics (from this machine only)")
            self.stdout.write(f"\nDemo logins (password: {DEMO_PASSWORD}):")
            for demo in DEMO_LOGINS:
                self.stdout.write(f"  {demo.username:<18} {demo.role} — {demo.organisation}")
            self._call_now(base)
            self._attention_now(base)
        self.stdout.write("\nPress Ctrl-C to stop the web server and the worker.\n")

        stopping = False

        def stop(signum: int, frame: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            while not stopping and all(child.poll() is None for child in children):
                time.sleep(0.2)
        finally:
            for child in children:
                if child.poll() is None:
                    child.send_signal(signal.SIGINT)
            deadline = time.monotonic() + 10
            for child in children:
                try:
                    child.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()
        names = ["web server", "worker"]
        failed = [name for name, c in zip(names, children, strict=True) if c.returncode]
        if not stopping and failed:
            self.stderr.write(f"A process stopped unexpectedly: {failed}")
            sys.exit(1)
        self.stdout.write("Stopped.")

    def _call_now(self, base: str) -> None:
        """The demo's video appointment of the next minutes: the citizen's link and the agent's
        waiting room, to hold a call from two browser windows."""
        from finestreta.appointments.models import Appointment
        from finestreta.lib.demo_schedules import CALL_NOW
        from finestreta.video.services import join_path

        call = (
            Appointment.objects.select_related("organisation", "agent__user")
            .filter(code=CALL_NOW, status=Appointment.Status.BOOKED)
            .first()
        )
        if call is None:  # no demo data loaded (`make run` loads it)
            return
        starts = timezone.localtime(call.starts_at).strftime("%H:%M")
        self.stdout.write(
            f"\nTry a video call (appointment at {starts}; the waiting room is open):"
        )
        self.stdout.write(f"  Citizen's join link: {base}{join_path(call)}")
        lobby = reverse("staff-video:lobby", args=[call.organisation.slug])
        self.stdout.write(
            f"  Agent's waiting room: {base}{lobby} "
            f"(log in as {call.agent.user.username}, in another browser or a private window)"
        )

    def _attention_now(self, base: str) -> None:
        """The walk-in queue of the demo: the citizen's page and the desk of a back-office agent
        (another office than the citizen offices the service is also given at)."""
        from finestreta.accounts.models import Membership

        agent = (
            Membership.objects.select_related("user", "organisation")
            .filter(offices__slug="backoffice", services__slug="ajuts-subvencions", is_active=True)
            .order_by("user__username")
            .first()
        )
        if agent is None:  # no demo data loaded
            return
        slug = agent.organisation.slug
        self.stdout.write(
            "\nTry attention now (the walk-in queue; the demo's back-office is always open):"
        )
        self.stdout.write(
            f"  Citizen (a phone-sized window will do): {base}"
            + reverse("queue:service", args=[slug])
        )
        self.stdout.write(
            f"  Agent's desk: {base}{reverse('staff-queue:desk', args=[slug])} "
            f"(log in as {agent.user.username}, in another browser or a private window)"
        )
