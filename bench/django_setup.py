"""Imported first by every benchmark: the project on the path, throw-away SQLite files in a
temporary folder (PostgreSQL when DATABASE_URL says so; the benchmarks create and destroy their
own test database either way), the test settings, and Django set up."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TMP = tempfile.mkdtemp(prefix="finestreta-bench-")
os.environ.setdefault("SQLITE_PATH", str(Path(TMP) / "bench.sqlite3"))
os.environ.setdefault("SQLITE_TEST_PATH", str(Path(TMP) / "bench-test.sqlite3"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "finestreta.settings")
os.environ["FINESTRETA_TESTING"] = "1"

import django  # noqa: E402

django.setup()
