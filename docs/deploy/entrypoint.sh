#!/bin/sh
# The image's entry point: the first argument chooses the process (docs/deploy/Containerfile).
# Servers listen on 0.0.0.0 inside the container; publish the ports to the private network only.
set -eu
cd /opt/finestreta/app
command="${1:-http}"
[ "$#" -gt 0 ] && shift
# The container's processes (gunicorn's workers) count into one directory, emptied at start,
# so that /metrics adds them up (ADR 38).
if [ -z "${PROMETHEUS_MULTIPROC_DIR:-}" ]; then
  export PROMETHEUS_MULTIPROC_DIR=/tmp/finestreta-metrics
  rm -rf "$PROMETHEUS_MULTIPROC_DIR" && mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
fi
case "$command" in
  http)
    # Plain HTTP (WSGI); WEB_CONCURRENCY worker processes (gunicorn reads it), 4 threads each.
    export DB_CONN_MAX_AGE="${DB_CONN_MAX_AGE:-60}"
    exec python -m gunicorn finestreta.wsgi:application --bind "0.0.0.0:${PORT:-8000}" \
      --worker-class gthread --threads "${GUNICORN_THREADS:-4}" --timeout 60 \
      --graceful-timeout 30 --keep-alive 15 --max-requests 5000 --max-requests-jitter 500 "$@"
    ;;
  web)
    # WebSockets (ASGI): the options of finestreta/lib/webserver.py. One process per
    # container; never keep database connections here (ADR 37).
    export DB_CONN_MAX_AGE=0
    exec python -m uvicorn finestreta.asgi:application --host 0.0.0.0 --port "${PORT:-8100}" \
      --loop uvloop --http httptools --ws websockets --ws-max-size 66560 \
      --ws-per-message-deflate false --lifespan off --timeout-graceful-shutdown 5 \
      --no-access-log "$@"
    ;;
  worker)
    export DB_CONN_MAX_AGE="${DB_CONN_MAX_AGE:-60}"
    exec python manage.py worker --no-reload --worker-id "${WORKER_ID:-$(hostname)}" "$@"
    ;;
  migrate)
    exec python manage.py migrate --noinput "$@"
    ;;
  manage.py)
    exec python manage.py "$@"
    ;;
  *)
    echo "usage: finestreta http|web|worker|migrate|manage.py COMMAND …" >&2
    exit 64
    ;;
esac
