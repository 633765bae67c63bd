"""`make run`'s process manager: web server and worker come up together and stop on Ctrl-C."""

from __future__ import annotations

import datetime as dt
import json
import urllib.request

import pytest
from django.utils import timezone

from finestreta.accounts.models import Membership
from finestreta.appointments.models import Appointment
from finestreta.lib.demo_schedules import CALL_NOW
from finestreta.lib.models import WorkerHeartbeat
from finestreta.video.services import join_path
from tests.factories import AppointmentFactory
from tests.processes import child_env, free_port, running, wait_until


def get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback only
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())
    except OSError:
        return 0, {}


@pytest.mark.django_db(transaction=True)
def test_serve_starts_the_web_server_and_a_worker_and_stops_both_on_ctrl_c(personas) -> None:
    # The demo's video call of the next minutes (as load_demo makes it; test_demo_data checks
    # that it does): `serve` prints its join link and the agent's waiting room.
    AppointmentFactory(
        code=CALL_NOW,
        agent=Membership.objects.get(user=personas.agent_a),
        service=personas.service_a,
        channel="video",
        starts_at=timezone.now() + dt.timedelta(minutes=10),
    )
    port = free_port()
    env = child_env(DEBUG="1", WORKER_HEARTBEAT_SECONDS="1")
    with running(["serve", "--port", str(port)], env=env) as serve:
        ready = wait_until(lambda: get(f"http://127.0.0.1:{port}/readyz")[0] == 200, timeout=40)
        assert ready, get(f"http://127.0.0.1:{port}/readyz")
        # The demo's call of the next minutes: its join link opens the check page now.
        call = Appointment.objects.get(code=CALL_NOW)
        link = f"http://127.0.0.1:{port}{join_path(call)}"
        with urllib.request.urlopen(link, timeout=10) as response:  # noqa: S310 - loopback only
            assert response.status == 200
            assert 'id="check-devices"' in response.read().decode()
    output = serve.stdout.read() if serve.stdout else ""
    assert serve.returncode == 0, output
    assert f"http://127.0.0.1:{port}/" in output
    assert "agent-girona" in output  # the demo logins are printed
    assert f"http://127.0.0.1:{port}/generalitat/book/" in output
    assert f"http://127.0.0.1:{port}/dev/outbox/" in output
    assert f"Citizen's join link: {link}" in output
    lobby = f"http://127.0.0.1:{port}/{personas.org_a.slug}/staff/video/"
    assert f"{lobby} (log in as {personas.agent_a.username}" in output
    assert "Stopped." in output
    assert get(f"http://127.0.0.1:{port}/healthz")[0] == 0  # nothing listens any more
    # The worker removed its heartbeat: it stopped cleanly too.
    assert not WorkerHeartbeat.objects.filter(worker_id=f"make-run-{port}").exists()
