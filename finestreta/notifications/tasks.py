"""Background tasks of the notifications app: they take ids and call a service."""

from __future__ import annotations

from django.utils import timezone
from django_tasks import task

from finestreta.notifications import services


@task()
def deliver_message(message_id: int) -> str:
    return services.deliver(message_id=message_id, now=timezone.now())
