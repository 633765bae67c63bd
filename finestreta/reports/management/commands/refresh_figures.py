"""`manage.py refresh_figures`: rebuild the dashboard's daily roll-up (reports.rollup)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from finestreta.reports.services import refresh_figures
from finestreta.tenants.models import Organisation


class Command(BaseCommand):
    help = (
        "Recompute the dashboard's daily figures from the appointments, from --since (default: "
        "35 days ago) to yesterday, for every organisation or the one given. The workers do the "
        "last 35 days by themselves every ten minutes; use this after correcting older days."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--since", help="first day to recompute, as YYYY-MM-DD")
        parser.add_argument("--organisation", help="the organisation's short name (slug)")

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        try:
            since = dt.date.fromisoformat(options["since"]) if options["since"] else None
        except ValueError as exc:
            raise CommandError("--since must be a date as YYYY-MM-DD, e.g. 2026-01-31") from exc
        organisations = Organisation.objects.all()
        if options["organisation"]:
            organisations = organisations.filter(slug=options["organisation"])
            if not organisations.exists():
                raise CommandError(f"No organisation {options['organisation']!r}.")
        for organisation in organisations:
            today = timezone.localdate(now)
            start = since or today - dt.timedelta(days=35)
            written = refresh_figures(organisation, start, today, now=now)
            self.stdout.write(f"{organisation.slug}: {written} rows of daily figures")
