"""The load tests' smoke run (production issue): bench/load.py's four scenarios at the tiny
size, as a process of its own (it brings up PostgreSQL's database, two web processes, a worker
and an SMTP server itself, and drops them again). Only the correctness invariants are asserted —
no errors, one winner per popular time, every reminder accepted exactly once — never a timing:
figures are the bench's to print, as ratios against a baseline of the same run.

Marked `soak`: run with `-m soak` on PostgreSQL (the bench's database lives on the server of
DATABASE_URL); about a minute and a half.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import pytest

pytestmark = pytest.mark.soak

ROOT = Path(__file__).resolve().parent.parent.parent


def test_the_load_scenarios_keep_their_invariants_at_a_tiny_size(
    redis_url: str, tmp_path: Path
) -> None:
    url = urlparse(os.environ.get("DATABASE_URL", ""))
    if not url.scheme.startswith("postgres"):
        pytest.skip("the load tests run on PostgreSQL: set DATABASE_URL=postgres://…")
    figures = tmp_path / "load.json"
    env = {
        **os.environ,
        "LOAD_DATABASE_URL": urlunparse(url._replace(path="/postgres")),
        "LOAD_REDIS_URL": redis_url,
    }
    run = subprocess.run(
        [
            sys.executable,
            "bench/load.py",
            "--size",
            "tiny",
            "--database",
            f"finestreta_load_smoke_{os.getpid()}",
            "--json",
            str(figures),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert figures.exists(), run.stdout[-3000:] + run.stderr[-3000:]
    result = json.loads(figures.read_text())
    by_name = {s["name"].split(":")[0].split(" (")[0]: s for s in result["scenarios"]}
    for scenario in result["scenarios"]:
        assert scenario["errors"] == {}, scenario
        assert scenario["baseline"] is None or scenario["baseline"]["errors"] == {}, scenario
        assert scenario["operations"] > 0, scenario
    storm = by_name["booking storm"]["checks"]
    assert storm["answers_201_per_time"] == [1] and storm["booked_per_time"] == [1], storm
    assert storm["double_bookings"] == 0
    burst = by_name["reminder burst"]["checks"]
    assert burst["accepted"] == burst["reminders"] > 0, burst
    assert burst["copies"] == 0 and burst["undelivered"] == 0, burst
    assert result["ok"] and run.returncode == 0, run.stdout[-3000:]
