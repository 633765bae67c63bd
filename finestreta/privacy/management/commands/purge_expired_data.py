"""Remove the data whose retention period is over (ADR 34), in every organisation or one, and
print what was removed; `--dry-run` only counts it. The task workers run the same purge daily.

Exits with status 1 if an organisation's purge stopped on an error (what it removed before is
removed, and printed).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.translation import gettext as _

from finestreta.privacy import services
from finestreta.tenants.models import Organisation


class Command(BaseCommand):
    help = "Remove the data whose retention period is over, and print what was removed."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Only count what would be removed."
        )
        parser.add_argument("--organisation", metavar="SLUG", help="Only this organisation.")

    def handle(self, *args: Any, **options: Any) -> None:
        organisation = None
        if options["organisation"]:
            organisation = Organisation.objects.filter(slug=options["organisation"]).first()
            if organisation is None:
                raise CommandError(
                    _("There is no organisation %(slug)s.") % {"slug": options["organisation"]}
                )
        report = services.purge_expired_data(
            now=timezone.now(), organisation=organisation, dry_run=options["dry_run"]
        )
        if report.dry_run:
            self.stdout.write(_("Dry run: nothing was removed. It would remove:"))
        for line in report.lines():
            self.stdout.write(line)
        if not report.organisations:
            self.stdout.write(_("There are no organisations."))
        if report.failed:
            raise CommandError(
                _("The purge stopped on an error in: %(organisations)s.")
                % {"organisations": ", ".join(line.organisation for line in report.failed)}
            )
