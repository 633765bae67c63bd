"""The backup drill (scripts/backup_drill.py) passes: on a disposable PostgreSQL cluster with WAL
archiving, a point-in-time restore to just before a dropped table brings the table back with every
row acknowledged before the mistake, and a restore to the end of the archive after the primary's
loss misses no more than archive_timeout's worth of writes.

The drill makes its own cluster (the shared PostgreSQL is never touched), so it runs in either pass;
it is in `make soak`, not `make test`: it takes about half a minute.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent

pytestmark = pytest.mark.soak


def test_the_backup_drill_restores_to_before_a_mistake_and_to_the_end_of_the_archive() -> None:
    result = subprocess.run(  # noqa: S603 - a fixed command
        [sys.executable, str(ROOT / "scripts" / "backup_drill.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    lines = {
        line.split("  ")[0]: line for line in output.splitlines() if line.startswith(("A:", "B:"))
    }
    restore_a = lines["A: to just before the mistake"].split()
    assert restore_a[-1] == "back" and restore_a[-4] == "0", output  # nothing lost
    restore_b = lines["B: to the end of the archive"].split()
    assert restore_b[-1] == "gone", output  # replayed to the end: the mistake too
