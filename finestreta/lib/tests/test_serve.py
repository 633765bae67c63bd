"""`make run`'s process manager: web server and worker come up together and stop on Ctrl-C."""

from __future__ import annotations

import json
import urllib.request

import pytest

from finestreta.appointments.models import Appointment
from finestreta.lib.demo_data import load_demo_data
from finestreta.lib.demo_schedules import CALL_NOW
from finestreta.lib.models import WorkerHeartbeat
from finestreta.video.services import join_path
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
def test_serve_starts_the_web_server_and_a_worker_and_stops_both_on_ctrl_c() -> None:
    load_demo_data()
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
    assert f"http://127.0.0.1:{port}/generalitat/staff/video/ (log in as agent-backoffice" in output
    assert "Stopped." in output
    assert get(f"http://127.0.0.1:{port}/healthz")[0] == 0  # nothing listens any more
    # The worker removed its heartbeat: it stopped cleanly too.
    assert not WorkerHeartbeat.objects.filter(worker_id=f"make-run-{port}").exists()
