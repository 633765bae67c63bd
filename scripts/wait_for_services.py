"""Check (and optionally wait for) the services the test suite uses. Exit 0 when all answer."""

from __future__ import annotations

import argparse
import sys
import time
from urllib.parse import urlparse


def postgres_ok(url: str) -> bool:
    import psycopg

    parts = urlparse(url)
    try:
        with psycopg.connect(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 5432,
            user=parts.username or "postgres",
            password=parts.password or None,
            dbname="postgres",
            connect_timeout=3,
        ) as conn:
            conn.execute("SELECT 1")
    except Exception:  # noqa: BLE001
        return False
    return True


def redis_ok(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=3).ping())
    except Exception:  # noqa: BLE001
        return False


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--postgres")
    parser.add_argument("--redis")
    parser.add_argument("--wait", type=float, default=0, help="seconds to keep trying")
    args = parser.parse_args()
    deadline = time.monotonic() + args.wait
    while True:
        missing = []
        if args.postgres and not postgres_ok(args.postgres):
            missing.append("postgres")
        if args.redis and not redis_ok(args.redis):
            missing.append("redis")
        if not missing or time.monotonic() >= deadline:
            break
        time.sleep(0.5)
    if missing:
        print("unreachable: " + ", ".join(missing), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
