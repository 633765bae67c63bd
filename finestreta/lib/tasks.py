"""Platform-level background tasks."""

from __future__ import annotations

from django_tasks import task


@task()
def echo(value: str) -> str:
    """Return its argument: lets operators and tests prove that a worker runs tasks end to end."""
    return value
