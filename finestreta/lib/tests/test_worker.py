"""A real worker process: it reports a heartbeat, runs tasks, and stops cleanly on Ctrl-C."""

from __future__ import annotations

import pytest
from django.test import Client
from django_tasks import TaskResultStatus

from finestreta.lib.models import WorkerHeartbeat
from finestreta.lib.tasks import echo
from tests.processes import child_env, running, wait_until


@pytest.mark.django_db(transaction=True)
def test_a_running_worker_makes_readyz_ready_runs_tasks_and_stops_cleanly(client: Client) -> None:
    assert client.get("/readyz").status_code == 503
    env = child_env(WORKER_HEARTBEAT_SECONDS="1")
    with running(
        ["worker", "--no-reload", "--worker-id", "test-worker", "--interval", "0.2"], env=env
    ) as worker:
        assert wait_until(lambda: client.get("/readyz").status_code == 200), worker.stdout
        result = echo.enqueue("hola")
        assert wait_until(lambda: result.refresh() or result.status == TaskResultStatus.SUCCESSFUL)
        assert result.return_value == "hola"
    assert worker.returncode == 0
    assert not WorkerHeartbeat.objects.filter(worker_id="test-worker").exists()
    assert client.get("/readyz").status_code == 503
