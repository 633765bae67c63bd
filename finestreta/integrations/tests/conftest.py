from __future__ import annotations

from collections.abc import Iterator

import pytest

from finestreta.integrations.models import Subscription
from finestreta.integrations.services import SUBSCRIBABLE, new_secret
from finestreta.integrations.tests.receiver import Receiver
from tests.personas import Personas

EVERY_EVENT = [value for value, _label in SUBSCRIBABLE]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    started = Receiver().start()
    yield started
    started.stop()


def subscribe(organisation, url: str, events=None, **fields) -> Subscription:  # type: ignore[no-untyped-def]
    return Subscription.objects.create(
        organisation=organisation,
        url=url,
        secret=new_secret(),
        event_types=list(EVERY_EVENT if events is None else events),
        **fields,
    )


@pytest.fixture
def subscription(personas: Personas, receiver: Receiver) -> Subscription:
    """Organisation A's integrator, subscribed to every event, at the test's receiver."""
    return subscribe(personas.org_a, receiver.url)
