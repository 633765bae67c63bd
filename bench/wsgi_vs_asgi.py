"""Benchmark: plain pages under WSGI workers (gunicorn) against the ASGI server (uvicorn).

The question (production issue, ADR 37): are plain HTTP pages served faster by gunicorn's WSGI
workers than by uvicorn with the platform's options (finestreta/lib/webserver.py), so that the
WebSockets should have uvicorn and everything else gunicorn?

Starts both on 127.0.0.1 (free ports), side by side, on the same throw-away test database
(created and destroyed here; seeded with the demo data), production-like: DEBUG off, the
collected static files with their manifest, BENCH_WORKERS processes each (2), each server with
the database setting it needs (docs/deploy/environment.md):

- ASGI: `python -m uvicorn finestreta.asgi:application …` (webserver.command) `--workers N`,
  DB_CONN_MAX_AGE=BENCH_ASGI_CONN_MAX_AGE (0). Under ASGI every request runs its sync code in a
  thread of its own, so a connection kept open is never used again: with 60 the first run on
  PostgreSQL leaked them until the server refused new ones ("too many clients", 171 errors);
- WSGI: `gunicorn finestreta.wsgi:application --workers N --worker-class gthread
  --threads BENCH_THREADS` (4), DB_CONN_MAX_AGE=BENCH_WSGI_CONN_MAX_AGE (60, as
  docs/operations.md recommends: each thread keeps its connection).

Then, for each page and each number of concurrent clients (BENCH_CONCURRENCY, "1,4,16"), drives
BENCH_REQUESTS requests (400, after 40 not counted) from that many threads, each with its own
keep-alive connection, to one server and then at once to the other (interleaved, the first one
alternating from row to row, so that both see the same machine), sending the headers nginx
sends (X-Forwarded-Proto: https, X-Forwarded-For). Prints requests per second and p50/p95/p99
for each, the WSGI/ASGI ratios (throughput above 1 and latency below 1 mean WSGI is faster),
and the answers that were not 200 (there must be none).

    .venv/bin/python bench/wsgi_vs_asgi.py            # SQLite in a temporary file
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/finestreta_bench \\
        .venv/bin/python bench/wsgi_vs_asgi.py
"""

from __future__ import annotations

import http.client
import os
import secrets
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import django_setup  # noqa: F401, I001 - first: sets up Django for what follows
from django.db import connection
from figures import percentile

from finestreta.lib import webserver
from tests.processes import ROOT, child_env, free_port, stop, wait_until

WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
THREADS = int(os.environ.get("BENCH_THREADS", "4"))
CONCURRENCY = [int(n) for n in os.environ.get("BENCH_CONCURRENCY", "1,4,16").split(",")]
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "400"))
WARM_UP = REQUESTS // 10
ASGI_CONN_MAX_AGE = os.environ.get("BENCH_ASGI_CONN_MAX_AGE", "0")
WSGI_CONN_MAX_AGE = os.environ.get("BENCH_WSGI_CONN_MAX_AGE", "60")
HEADERS = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7", "Accept": "text/html"}


@dataclass
class Result:
    throughput: float  # requests per second
    latencies: list[float]  # milliseconds
    statuses: Counter[int]

    def p(self, share: float) -> float:
        return percentile(self.latencies, share)


def pages() -> dict[str, str]:
    """The plain pages: the public home, an organisation's home, a service's booking page
    (its first step: how to be attended), and the liveness probe."""
    from finestreta.catalogue.models import Service

    service = (
        Service.objects.filter(organisation__slug="generalitat", is_active=True)
        .order_by("pk")
        .first()
    )
    assert service is not None, "the demo data has no service for Generalitat"
    return {
        "public home": "/",
        "organisation home": "/generalitat/",
        "booking page": f"/generalitat/book/{service.slug}/",
        "/healthz": "/healthz",
    }


def drive(port: int, path: str, clients: int) -> Result:
    """REQUESTS requests for `path` from `clients` threads, one keep-alive connection each."""
    remaining = iter(range(-WARM_UP, REQUESTS))
    lock = threading.Lock()
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    spans: list[float] = []  # when counted requests started and ended

    def loop() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            while True:
                with lock:
                    n = next(remaining, None)
                if n is None:
                    return
                started = time.perf_counter()
                try:
                    conn.request("GET", path, headers=HEADERS)
                    response = conn.getresponse()
                    response.read()
                    status = response.status
                    if response.getheader("Connection", "").lower() == "close":
                        conn.close()
                except (http.client.HTTPException, OSError):
                    conn.close()
                    status = 0
                ended = time.perf_counter()
                if n >= 0:
                    with lock:
                        latencies.append((ended - started) * 1000)
                        statuses[status] += 1
                        spans.extend((started, ended))
        finally:
            conn.close()

    threads = [threading.Thread(target=loop) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Result(len(latencies) / (max(spans) - min(spans)), latencies, statuses)


@contextmanager
def server(name: str, argv: list[str], env: dict[str, str], port: int) -> Iterator[None]:
    log = open(f"{django_setup.TMP}/{name}.log", "w+")  # noqa: SIM115 - closed below
    process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603

    def answers() -> bool:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            return conn.getresponse().status == 200
        except OSError:
            return False

    try:
        if not wait_until(answers, timeout=60):
            log.seek(0)
            raise SystemExit(f"{name} did not start:\n{log.read()[-3000:]}")
        yield
    finally:
        stop(process, timeout=15)
        log.close()


def production_env(conn_max_age: str) -> dict[str, str]:
    static_root = f"{django_setup.TMP}/static"
    env = child_env(
        DEBUG="0",
        FINESTRETA_TESTING="0",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="127.0.0.1",
        STATIC_ROOT=static_root,
        DB_CONN_MAX_AGE=conn_max_age,
        LOG_LEVEL="WARNING",
        PYTHONDONTWRITEBYTECODE="1",
    )
    env.pop("REDIS_URL", None)  # plain pages only: the in-memory layer of each process will do
    return env


def collect_static(env: dict[str, str]) -> None:
    subprocess.run(  # noqa: S603 - our own command
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )


def ratio(wsgi: float, asgi: float) -> str:
    return f"{wsgi / asgi:.2f}×" if asgi else "—"


def main() -> None:
    from finestreta.lib.demo_data import load_demo_data

    database = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        load_demo_data()
        targets = pages()
        connection.close()  # the servers use the database from here on
        asgi_env, wsgi_env = production_env(ASGI_CONN_MAX_AGE), production_env(WSGI_CONN_MAX_AGE)
        collect_static(asgi_env)
        asgi_port, wsgi_port = free_port(), free_port()
        asgi = [*webserver.command("127.0.0.1", asgi_port), "--workers", str(WORKERS)]
        wsgi = [sys.executable, "-m", "gunicorn", "finestreta.wsgi:application"]
        wsgi += ["--bind", f"127.0.0.1:{wsgi_port}", "--workers", str(WORKERS)]
        wsgi += ["--worker-class", "gthread", "--threads", str(THREADS)]
        with (
            server("uvicorn", asgi, asgi_env, asgi_port),
            server("gunicorn", wsgi, wsgi_env, wsgi_port),
        ):
            print(
                f"{connection.vendor}, {WORKERS} processes each (gunicorn gthread × {THREADS} "
                f"threads), DB_CONN_MAX_AGE {ASGI_CONN_MAX_AGE} (ASGI) and {WSGI_CONN_MAX_AGE} "
                f"(WSGI), {REQUESTS} requests per row, "
                f"{os.cpu_count()} cores shared with the client"
            )
            print(
                f"{'page':<18} {'clients':>7} | {'ASGI req/s':>10} {'p50':>6} {'p95':>6} "
                f"{'p99':>6} | {'WSGI req/s':>10} {'p50':>6} {'p95':>6} {'p99':>6} | "
                f"{'W/A req/s':>9} {'W/A p50':>7} {'W/A p99':>7} | not 200 (A, W)"
            )
            bad: Counter[int] = Counter()
            row = 0
            for name, path in targets.items():
                for clients in CONCURRENCY:
                    if row % 2 == 0:
                        a = drive(asgi_port, path, clients)
                        w = drive(wsgi_port, path, clients)
                    else:
                        w = drive(wsgi_port, path, clients)
                        a = drive(asgi_port, path, clients)
                    row += 1
                    errors = []
                    for result in (a, w):
                        wrong = {s: c for s, c in result.statuses.items() if s != 200}
                        bad.update(wrong)
                        errors.append(sum(wrong.values()))
                    print(
                        f"{name:<18} {clients:>7} | {a.throughput:>10.0f} {a.p(0.5):>6.1f} "
                        f"{a.p(0.95):>6.1f} {a.p(0.99):>6.1f} | {w.throughput:>10.0f} "
                        f"{w.p(0.5):>6.1f} {w.p(0.95):>6.1f} {w.p(0.99):>6.1f} | "
                        f"{ratio(w.throughput, a.throughput):>9} "
                        f"{ratio(w.p(0.5), a.p(0.5)):>7} {ratio(w.p(0.99), a.p(0.99)):>7} | "
                        f"{errors[0]}, {errors[1]}",
                        flush=True,
                    )
            print("latencies in ms; W/A = WSGI / ASGI")
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = %s",
                        [connection.settings_dict["NAME"]],
                    )
                    print(f"connections to the database at the end: {cursor.fetchone()[0]}")
                connection.close()
        assert not bad, f"answers other than 200: {dict(bad)}"
    finally:
        connection.close()
        connection.creation.destroy_test_db(database, verbosity=0)


if __name__ == "__main__":
    main()
