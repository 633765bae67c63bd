"""Check the audit log's hash chains (ADR 31): every chain, or one organisation's.

Prints one line per chain — what was checked, its last event (number and seal, worth keeping
outside the platform: a chain cut short at its end is only seen against such a copy) — and
exits with status 1 if any chain has a problem.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from finestreta.privacy import services
from finestreta.tenants.models import Organisation


class Command(BaseCommand):
    help = "Check that the audit log is intact (its hash chains); exit 1 on any problem."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--organisation", metavar="SLUG", help="Check only this organisation's chain."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        organisation = None
        if options["organisation"]:
            organisation = Organisation.objects.filter(slug=options["organisation"]).first()
            if organisation is None:
                raise CommandError(
                    _("There is no organisation %(slug)s.") % {"slug": options["organisation"]}
                )
        verification = services.verify_audit_log(organisation)
        for chain in verification.chains:
            name = chain.organisation_slug or _("platform")
            line = _("%(chain)s: %(result)s Last event: number %(position)s, seal %(seal)s.") % {
                "chain": name,
                "result": services.describe_chain(chain),
                "position": chain.head.position,
                "seal": chain.head.hash,
            }
            if chain.starts_after:
                line += " " + _("Checked from the checkpoint after number %(position)s.") % {
                    "position": chain.starts_after
                }
            style = self.style.SUCCESS if chain.ok else self.style.ERROR
            self.stdout.write(style(line))
        if not verification.chains:
            self.stdout.write(_("The audit log has no events yet."))
        problems = sum(not chain.ok for chain in verification.chains)
        if problems:
            raise CommandError(
                ngettext(
                    "The audit log is not intact: %(count)s chain has a problem.",
                    "The audit log is not intact: %(count)s chains have a problem.",
                    problems,
                )
                % {"count": problems}
            )
