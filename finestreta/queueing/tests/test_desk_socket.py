"""The desk's live socket through the whole ASGI stack (origin check, session, routing) with the
in-memory channel layer: staff of the organisation hear "changed" when a citizen arrives, an
offer is made or a desk changes; a change whose event never reached this process is caught by
the socket's own check; strangers and other tenants' staff are refused."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client
from django.utils import timezone

from finestreta.accounts.models import Membership
from finestreta.asgi import application
from finestreta.queueing import services
from finestreta.queueing.models import QueueEntry
from tests.personas import log_in

pytestmark = pytest.mark.django_db(transaction=True)


def cookie(user) -> bytes:  # type: ignore[no-untyped-def]
    client: Client = log_in(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}".encode()


def connect(org: str, user: bytes | None) -> WebsocketCommunicator:
    headers = [(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")]
    if user is not None:
        headers.append((b"cookie", user))
    return WebsocketCommunicator(application, f"/ws/{org}/desk/", headers=headers)


def run(scenario: Callable[[], Awaitable[Any]]) -> Any:
    return async_to_sync(scenario)()


async def opened(org: str, user: bytes | None) -> WebsocketCommunicator:
    socket = connect(org, user)
    connected, _ = await socket.connect()
    assert connected
    assert (await socket.receive_json_from(timeout=5))["type"] == "welcome"
    return socket


async def changed(socket: WebsocketCommunicator, timeout: float = 5) -> bool:
    """True when the socket says "changed" within `timeout` (waiting without a timeout error:
    the test communicator cancels the application when one expires)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if not await socket.receive_nothing(timeout=0.05, interval=0.01):
            if (await socket.receive_json_from())["type"] == "changed":
                return True
    return False


def test_the_desk_hears_of_a_new_citizen_an_offer_and_a_colleague_s_pause(personas) -> None:
    agent = Membership.objects.get(user=personas.agent_a)
    agent.services.add(personas.service_a)
    colleague = Membership.objects.get(user=personas.supervisor_a)
    mine, theirs = cookie(personas.agent_a), cookie(personas.agent_b)
    org = personas.org_a.slug

    @database_sync_to_async
    def arrive() -> QueueEntry:
        return services.enter_queue(
            organisation=personas.org_a,
            service=personas.service_a,
            channel="video",
            name="Joana",
            phone="+34612345678",
            now=timezone.now(),
        )

    @database_sync_to_async
    def available_and_routed() -> int:
        services.set_desk_status(membership=agent, state="available", now=timezone.now())
        return len(services.route(organisation=personas.org_a, now=timezone.now()))

    @database_sync_to_async
    def pause(member: Membership) -> None:
        services.set_desk_status(
            membership=member, state="paused", reason="break", now=timezone.now()
        )

    async def scenario() -> None:
        desk = await opened(org, mine)
        stranger = await opened(personas.org_b.slug, theirs)
        await arrive()
        assert await changed(desk)
        assert await available_and_routed() == 1
        assert await changed(desk)
        await pause(colleague)
        assert await changed(desk)
        # Nothing of organisation A reaches organisation B's desks.
        assert not await changed(stranger, timeout=0.5)
        await desk.disconnect()
        await stranger.disconnect()

    run(scenario)
    entry = QueueEntry.objects.get()
    assert entry.state == QueueEntry.State.OFFERED and entry.offered_to == agent
    fragment = log_in(personas.agent_a).get(f"/{org}/staff/desk/live/").content.decode()
    assert 'id="accept-offer"' in fragment and "Joana" in fragment


def test_a_change_whose_event_never_came_shows_within_the_socket_s_own_check(
    personas, settings
) -> None:
    """As when the embedded default's worker (another process, its own in-memory channel
    layer) makes an offer: no event reaches the web process, the fingerprint does."""
    settings.QUEUE_DESK_CHECK_SECONDS = 1
    mine = cookie(personas.agent_a)

    @database_sync_to_async
    def arrive_silently() -> None:
        QueueEntry.objects.create(
            organisation=personas.org_a,
            service=personas.service_a,
            channel="video",
            name="Sense avís",
            joined_at=timezone.now(),
        )

    async def scenario() -> None:
        desk = await opened(personas.org_a.slug, mine)
        assert not await changed(desk, timeout=1.5)  # nothing changed: nothing said
        await arrive_silently()
        assert await changed(desk, timeout=4)
        await desk.disconnect()

    run(scenario)


def test_strangers_and_other_tenants_staff_are_refused(personas) -> None:
    theirs = cookie(personas.agent_b)

    async def refused(user: bytes | None) -> tuple[str, int]:
        socket = connect(personas.org_a.slug, user)
        connected, _ = await socket.connect()
        assert connected
        answer = await socket.receive_json_from(timeout=5)
        closed = await socket.receive_output(timeout=5)
        await socket.disconnect()
        return answer["code"], closed["code"]

    async def scenario() -> None:
        assert await refused(None) == ("not_allowed", 4401)
        assert await refused(theirs) == ("not_allowed", 4403)

    run(scenario)
