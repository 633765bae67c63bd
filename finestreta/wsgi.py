"""WSGI entry point (plain pages may be served by WSGI workers in production)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "finestreta.settings")
application = get_wsgi_application()

from finestreta.lib.webserver import settle  # noqa: E402

settle()
