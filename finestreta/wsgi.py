"""WSGI entry point: the plain pages in production (gunicorn; ADR 37). WebSockets need the ASGI
one (finestreta.asgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "finestreta.settings")

from finestreta.lib.forwarded import ForwardedClientMiddleware  # noqa: E402
from finestreta.lib.webserver import settle  # noqa: E402

# REMOTE_ADDR becomes the client's address behind a trusted proxy, as uvicorn does for ASGI.
application = ForwardedClientMiddleware(get_wsgi_application())

settle()
