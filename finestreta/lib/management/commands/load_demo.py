"""`manage.py load_demo`: create or refresh the demo organisations, offices, services and staff,
with their working weeks and a few appointments."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from finestreta.accounts.demo import DEMO_PASSWORD
from finestreta.lib.demo_data import load_demo_data


class Command(BaseCommand):
    help = (
        "Load the demo data (Generalitat de Catalunya and Ajuntament de Vilanova i la Geltrú, "
        "with offices, services, demo staff, their schedules and a few appointments). "
        "Idempotent; only allowed while DEBUG is on."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError(
                "Refusing to load the demo data: DEBUG is off. Demo accounts share a public "
                "password and must only exist on development machines."
            )
        summary = load_demo_data()
        from django.utils import timezone

        from finestreta.reports.services import refresh_figures_due

        refresh_figures_due(now=timezone.now())  # the dashboard's daily roll-up of the history
        self.stdout.write(self.style.SUCCESS("Demo data loaded:"))
        self.stdout.write(f"  organisations:  {summary.organisations}")
        self.stdout.write(f"  offices:        {summary.offices}")
        self.stdout.write(f"  opening hours:  {summary.opening_hours}")
        self.stdout.write(f"  closed days:    {summary.closed_days}")
        self.stdout.write(f"  services:       {summary.services}")
        self.stdout.write(f"  users:          {summary.users}")
        self.stdout.write(f"  memberships:    {summary.memberships}")
        self.stdout.write(f"  work patterns:  {summary.working_patterns}")
        self.stdout.write(f"  absences:       {summary.absences}")
        self.stdout.write(f"  appointments:   {summary.appointments}")
        self.stdout.write(
            f"  history:        {summary.past_appointments} past appointments, "
            f"{summary.survey_answers} survey answers"
        )
        self.stdout.write(
            f"  webhooks:       {summary.webhook_subscriptions} subscriptions, "
            "to the development receiver (/dev/webhooks/)"
        )
        self.stdout.write(f"Every demo account's password is {DEMO_PASSWORD!r}.")
