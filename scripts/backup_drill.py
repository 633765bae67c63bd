#!/usr/bin/env python3
"""Backup and point-in-time-restore drill for PostgreSQL (docs/operations.md, "Backups").

It does, on a disposable PostgreSQL cluster of its own (never the one the platform or the tests
use), what docs/operations.md tells an operator to do, and measures it:

1. a primary with WAL archiving (archive_command copying each segment to an archive directory,
   archive_timeout bounding how old the newest unarchived change may be), holding Finestreta's
   schema (`manage.py migrate`) and, unless --quick, the demo's data (`manage.py load_demo`);
2. a base backup (`pg_basebackup`, compressed tar), timed and sized;
3. a writer committing numbered rows, one per transaction, each acknowledged to the client;
4. the operator's mistake: `DROP TABLE appointments_appointment CASCADE` (with --quick, a table of
   bookings made for the drill), noted to the second; the writer goes on, and then the primary
   dies (SIGKILL: its disk is taken as lost);
5. restore A, to the moment before the mistake (recovery_target_time): the table is back, and
   every row acknowledged before that moment is there — nothing lost;
6. restore B, to the end of the archive (a lost disk, no mistake to undo): every acknowledged row
   is counted, and those missing are the data lost — at most archive_timeout's worth.

It prints each restore's recovery time (from an empty directory to accepting writes) and data
lost (rows, and seconds of writes). Exit status 0 when restore A lost nothing and restore B lost
no more than archive_timeout allows; 1 otherwise.

    .venv/bin/python scripts/backup_drill.py [--quick] [--archive-timeout 5] [--keep]

It needs PostgreSQL's server programs (initdb, pg_ctl, pg_basebackup; on Debian in
/usr/lib/postgresql/<version>/bin) and, run as root, the `postgres` account to run them as.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import pwd
import shutil
import signal
import socket
import subprocess  # noqa: S404 - fixed argument lists, no shell
import sys
import tarfile
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
MISTAKE_TABLE = "appointments_appointment"
QUICK_TABLE = "drill_booking"


def server_bin(name: str) -> str:
    """A PostgreSQL server program: on PATH, else Debian's newest versioned directory."""
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
    for directory in reversed(versions):
        if (directory / name).exists():
            return str(directory / name)
    raise SystemExit(f"{name} not found: install PostgreSQL's server programs")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def as_postgres(args: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its programs as the postgres account then."""
    if os.geteuid() != 0:
        return args
    return ["runuser", "-u", "postgres", "--", *args]


def run(args: list[str], **kwargs) -> subprocess.CompletedProcess:  # type: ignore[no-untyped-def]
    return subprocess.run(args, check=True, capture_output=True, text=True, **kwargs)  # noqa: S603


def hand_to_postgres(path: Path) -> None:
    if os.geteuid() == 0:
        account = pwd.getpwnam("postgres")
        for item in [path, *path.rglob("*")]:
            os.chown(item, account.pw_uid, account.pw_gid)


@dataclass
class Cluster:
    directory: Path
    port: int
    sockets: Path

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/finestreta"

    def start(self, *, wait: bool = True) -> None:
        options = f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1"
        args = [server_bin("pg_ctl"), "-D", str(self.directory), "-o", options]
        args += ["-l", str(self.directory.parent / f"{self.directory.name}.log")]
        run(as_postgres([*args, "-w" if wait else "-W", "-t", "300", "start"]))

    def stop(self, mode: str = "fast") -> None:
        run(as_postgres([server_bin("pg_ctl"), "-D", str(self.directory), "-m", mode, "stop"]))

    def kill(self) -> None:
        """SIGKILL the postmaster and its children: the machine is gone."""
        pid = int((self.directory / "postmaster.pid").read_text().split()[0])
        os.kill(pid, signal.SIGKILL)
        for child in _children(pid):
            try:
                os.kill(child, signal.SIGKILL)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.05)

    def connect(self, database: str = "finestreta") -> psycopg.Connection:
        return psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname=database, autocommit=True
        )

    def wait_writable(self, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with self.connect() as conn:
                    row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
                    if row is not None and not row[0]:
                        return
            except psycopg.OperationalError:
                pass
            time.sleep(0.1)
        raise SystemExit(f"the restored server on port {self.port} did not open for writes")


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@dataclass
class Writer:
    """Commits numbered rows, one per transaction, and keeps what the server acknowledged."""

    cluster: Cluster
    acknowledged: list[tuple[int, float]] = field(default_factory=list)  # (n, wall clock)
    stopped: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    error: str = ""

    def start(self) -> None:
        self.thread = threading.Thread(target=self._write, daemon=True)
        self.thread.start()

    def _write(self) -> None:
        n = 0
        try:
            with self.cluster.connect() as conn:
                while not self.stopped.is_set():
                    n += 1
                    conn.execute("INSERT INTO drill_mark (n) VALUES (%s)", (n,))
                    self.acknowledged.append((n, time.time()))
                    time.sleep(0.005)
        except psycopg.Error as error:  # the primary was killed: expected at the end
            self.error = str(error).strip()

    def stop(self) -> None:
        self.stopped.set()
        if self.thread is not None:
            self.thread.join(timeout=30)


def manage(args: list[str], url: str) -> float:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "finestreta.settings",
        "DATABASE_URL": url,
        "FINESTRETA_TESTING": "",
        "DEBUG": "1",
    }
    began = time.monotonic()
    run([sys.executable, str(ROOT / "manage.py"), *args, "-v", "0"], env=env, cwd=ROOT)
    return time.monotonic() - began


@contextmanager
def workspace(keep: bool) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="finestreta-drill-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        if keep:
            print(f"kept: {path}")
        else:
            shutil.rmtree(path, ignore_errors=True)


def make_primary(work: Path, archive_timeout: int) -> Cluster:
    archive = work / "archive"
    archive.mkdir()
    sockets = work / "sockets"
    sockets.mkdir()
    hand_to_postgres(work)
    primary = Cluster(work / "primary", free_port(), sockets)
    run(as_postgres([server_bin("initdb"), "-D", str(primary.directory), "-U", "postgres",
                     "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8"]))  # fmt: skip
    settings = {
        "wal_level": "replica",
        "archive_mode": "on",
        "archive_command": f"test ! -f {archive}/%f && cp %p {archive}/%f",
        "archive_timeout": f"{archive_timeout}s",
        "max_wal_senders": "3",
        "fsync": "on",
        "synchronous_commit": "on",
    }
    with (primary.directory / "postgresql.auto.conf").open("a") as conf:
        for key, value in settings.items():
            conf.write(f"{key} = '{value}'\n")
    primary.start()
    with primary.connect("postgres") as conn:
        conn.execute("CREATE DATABASE finestreta")
    return primary


def base_backup(primary: Cluster, work: Path) -> tuple[Path, float, int]:
    target = work / "base"
    began = time.monotonic()
    run(as_postgres([server_bin("pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary.port),
                     "-U", "postgres", "-D", str(target), "-Ft", "-z", "-X", "stream",
                     "-c", "fast"]))  # fmt: skip
    seconds = time.monotonic() - began
    size = sum(item.stat().st_size for item in target.iterdir())
    return target, seconds, size


def restore(
    base: Path, archive: Path, directory: Path, sockets: Path, target: str | None
) -> tuple[Cluster, float]:
    """From an empty directory to a server open for writes: unpack, replay the archive (to
    `target`, a timestamp, or to its end), promote."""
    began = time.monotonic()
    directory.mkdir(mode=0o700)
    with tarfile.open(base / "base.tar.gz") as tar:
        tar.extractall(directory, filter="data")
    with tarfile.open(base / "pg_wal.tar.gz") as tar:
        tar.extractall(directory / "pg_wal", filter="data")
    with (directory / "postgresql.auto.conf").open("a") as conf:
        conf.write(f"restore_command = 'cp {archive}/%f %p'\n")
        conf.write("archive_mode = 'off'\n")  # the drill's copies do not archive again
        if target is not None:
            conf.write(f"recovery_target_time = '{target}'\n")
            conf.write("recovery_target_inclusive = 'false'\n")
            conf.write("recovery_target_action = 'promote'\n")
    (directory / "recovery.signal").touch()
    hand_to_postgres(directory)
    cluster = Cluster(directory, free_port(), sockets)
    cluster.start(wait=False)
    cluster.wait_writable()
    return cluster, time.monotonic() - began


@dataclass
class Outcome:
    name: str
    seconds: float
    rows_lost: int
    seconds_lost: float
    table_back: bool


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="schema only, no demo data")
    parser.add_argument("--archive-timeout", type=int, default=5, help="seconds (default 5)")
    parser.add_argument(
        "--write-seconds", type=float, default=4.0, help="writes before the mistake"
    )
    parser.add_argument("--keep", action="store_true", help="keep the drill's directory")
    options = parser.parse_args()
    outcomes: list[Outcome] = []
    with workspace(options.keep) as work:
        primary = make_primary(work, options.archive_timeout)
        clusters = [primary]
        try:
            loaded = manage(["migrate", "--noinput"], primary.url)
            table = QUICK_TABLE if options.quick else MISTAKE_TABLE
            with primary.connect() as conn:
                conn.execute("CREATE TABLE drill_mark (n integer PRIMARY KEY)")
                if options.quick:
                    conn.execute(
                        f"CREATE TABLE {QUICK_TABLE} AS "  # noqa: S608 - a constant name
                        "SELECT g AS id, 'booking ' || g AS code FROM generate_series(1, 5000) g"
                    )
            if not options.quick:
                loaded += manage(["load_demo"], primary.url)
            with primary.connect() as conn:
                kept = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608
            print(f"primary: PostgreSQL on port {primary.port}, {table}: {kept} rows "
                  f"(schema and data in {loaded:.1f} s)")  # fmt: skip
            base, backup_seconds, backup_size = base_backup(primary, work)
            print(f"base backup: {backup_seconds:.1f} s, {backup_size / 1e6:.1f} MB compressed")

            writer = Writer(primary)
            writer.start()
            time.sleep(options.write_seconds)
            with primary.connect() as conn:
                # Rows acknowledged before `noted` committed before the server's `before_mistake`.
                noted = time.time()
                before_mistake = conn.execute("SELECT clock_timestamp()").fetchone()[0]
                mistake_at = time.time()
                conn.execute(f"DROP TABLE {table} CASCADE")
            # The application goes on writing; the drop's WAL reaches the archive within
            # archive_timeout; then the machine dies with its newest changes unarchived.
            time.sleep(options.archive_timeout + 2.5)
            primary.kill()
            died_at = time.time()
            writer.stop()
            acknowledged = list(writer.acknowledged)
            archived = len([p for p in (work / "archive").iterdir() if len(p.name) == 24])
            print(f"writes: {len(acknowledged)} rows acknowledged, the table dropped at "
                  f"{before_mistake:%H:%M:%S.%f}, the primary killed {died_at - mistake_at:.1f} s "
                  f"later; {archived} WAL segments archived")  # fmt: skip

            target = before_mistake.isoformat()
            for name, recovery_target, upto in (
                ("A: to just before the mistake", target, noted),
                ("B: to the end of the archive", None, died_at),
            ):
                directory = work / ("restore-a" if recovery_target else "restore-b")
                cluster, seconds = restore(
                    base, work / "archive", directory, work / "sockets", recovery_target
                )
                clusters.append(cluster)
                with cluster.connect() as conn:
                    present = {row[0] for row in conn.execute("SELECT n FROM drill_mark")}
                    back = conn.execute("SELECT to_regclass(%s)", (table,)).fetchone()[0]
                    rows = (
                        conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608
                        if back
                        else 0
                    )
                expected = [(n, at) for n, at in acknowledged if at < upto]
                missing = [(n, at) for n, at in expected if n not in present]
                lost_seconds = (upto - min(at for _n, at in missing)) if missing else 0.0
                outcomes.append(
                    Outcome(name, seconds, len(missing), lost_seconds, bool(back) and rows == kept)
                )
                cluster.stop()
                clusters.remove(cluster)
        finally:
            for cluster in clusters:
                try:
                    cluster.stop("immediate")
                except subprocess.CalledProcessError:
                    pass
    print()
    print(
        f"{'restore':34} {'recovery time':>14} {'rows lost':>10} {'writes lost':>12} {'table':>6}"
    )
    for outcome in outcomes:
        print(
            f"{outcome.name:34} {outcome.seconds:>12.1f} s {outcome.rows_lost:>10} "
            f"{outcome.seconds_lost:>10.1f} s {'back' if outcome.table_back else 'gone':>6}"
        )
    a, b = outcomes
    ok = a.rows_lost == 0 and a.table_back and b.seconds_lost <= options.archive_timeout + 1.5
    print()
    print(
        "drill passed: restore A lost nothing and brought the table back; restore B lost "
        f"{b.seconds_lost:.1f} s of writes (archive_timeout {options.archive_timeout} s)"
        if ok
        else "drill FAILED: see the figures above"
    )
    print(f"at {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
