"""Background tasks of the appointments app: they call a service and are safe to run twice."""

from __future__ import annotations

from django.utils import timezone
from django_tasks import task

from finestreta.appointments import services


@task()
def release_expired_holds() -> int:
    """Scheduled for the moment a hold runs out: frees the time (and gives a lapsed
    waiting-list offer back to its person's place in the line)."""
    return services.release_expired_holds(now=timezone.now())
