"""Queues shared between organisations (ADR 25): a partner's chosen agents are offered the host's
citizens for the shared procedures only, and only while an agreement both have approved is in
force; accepting makes a host appointment that the partner's agent reaches while — and only
while — they serve it (the call page and socket under their own organisation's address; nothing
else of the host's); the host's outcomes close it; the agreement is made in the administration,
each side approving its part, and nobody else sees it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from channels.testing import WebsocketCommunicator
from django.urls import reverse

from finestreta.accounts.models import Membership
from finestreta.appointments.services import join_token
from finestreta.asgi import application
from finestreta.catalogue.models import OutcomeCode
from finestreta.privacy.models import AuditEvent
from finestreta.queueing import desk, services, sharing
from finestreta.queueing.models import QueueEntry, SharingAgreement
from finestreta.queueing.tests.test_offers import walk_in
from finestreta.video.models import Room
from finestreta.video.tests.test_signaling import cookie, run
from tests.factories import MembershipFactory, OrganisationFactory, ServiceFactory, UserFactory
from tests.personas import log_in

NOW = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)
State = QueueEntry.State


def helper(personas, *, chosen: bool = True) -> Membership:  # type: ignore[no-untyped-def]
    """An agent of org B, available at their desk."""
    member = MembershipFactory(organisation=personas.org_b, languages=["ca", "es"])
    member.services.set([personas.service_b])
    services.set_desk_status(membership=member, state="available", now=NOW - dt.timedelta(hours=1))
    return member


def agreement(personas, agents: list[Membership], **overrides: Any) -> SharingAgreement:  # type: ignore[no-untyped-def]
    fields: dict[str, Any] = {
        "host": personas.org_a,
        "partner": personas.org_b,
        "reference": "Conveni 2026/14",
        "starts_on": dt.date(2026, 11, 1),
        "host_approved_at": NOW - dt.timedelta(days=30),
        "partner_approved_at": NOW - dt.timedelta(days=29),
        **overrides,
    }
    made = SharingAgreement.objects.create(**fields)
    made.services.set([personas.service_a])
    made.agents.set(agents)
    return made


@pytest.mark.django_db
def test_a_partner_s_chosen_agent_is_offered_the_host_s_citizens_of_shared_procedures_only(
    personas,
) -> None:
    member = helper(personas)
    agreement(personas, [member])
    unshared = ServiceFactory(organisation=personas.org_a, offers_video=True)
    walk_in(personas, "Not shared", service=unshared, at=NOW - dt.timedelta(minutes=9))
    shared = walk_in(personas, "Shared", at=NOW - dt.timedelta(minutes=5))

    offered = services.offer_next(membership=member, now=NOW)

    assert offered is not None and offered.pk == shared.pk
    # The desk lists the host's waiting citizens of the shared procedure, not the others.
    view = desk.desk_view(membership=member, now=NOW)
    assert [line.entry.pk for line in view.waiting] == [shared.pk]


@pytest.mark.django_db
def test_the_host_s_round_of_offers_includes_the_partner_s_chosen_agents_only(personas) -> None:
    chosen, other = helper(personas), helper(personas)
    agreement(personas, [chosen])
    entry = walk_in(personas, "Shared")

    made = services.route(organisation=personas.org_a, now=NOW)

    assert [(e.pk, e.offered_to_id) for e in made] == [(entry.pk, chosen.pk)]
    assert services.offer_next(membership=other, now=NOW) is None


@pytest.mark.parametrize(
    "terms",
    [
        {"partner_approved_at": None},
        {"host_approved_at": None},
        {"starts_on": dt.date(2026, 12, 2)},
        {"ends_on": dt.date(2026, 11, 30)},
        {"revoked_at": NOW - dt.timedelta(hours=2)},
    ],
    ids=["partner-not-approved", "host-not-approved", "not-yet", "ended", "revoked"],
)
@pytest.mark.django_db
def test_nothing_is_shared_unless_both_approved_and_the_agreement_is_in_force(
    personas, terms
) -> None:  # type: ignore[no-untyped-def]
    member = helper(personas)
    agreement(personas, [member], **terms)
    walk_in(personas, "Shared")

    assert services.offer_next(membership=member, now=NOW) is None
    assert services.route(organisation=personas.org_a, now=NOW) == []
    assert sharing.skills_of(member.pk, NOW) == sharing.NONE


@pytest.mark.django_db
def test_the_partner_s_agent_reaches_the_host_s_call_while_serving_it_and_nothing_else(
    personas, time_machine
) -> None:  # type: ignore[no-untyped-def]
    time_machine.move_to(NOW, tick=False)  # the pages' clock: the offer is fresh
    user = UserFactory(username="helper-b")
    member = helper(personas)
    Membership.objects.filter(pk=member.pk).update(user=user)
    member.refresh_from_db()
    colleague = UserFactory(username="colleague-b")
    MembershipFactory(user=colleague, organisation=personas.org_b)
    agreement(personas, [member])
    entry = walk_in(personas, "Laia Ferrer")
    assert services.offer_next(membership=member, now=NOW).pk == entry.pk
    client = log_in(user)

    response = client.post(reverse("staff-queue:accept", args=["org-b", entry.pk]))

    entry.refresh_from_db()
    appointment = entry.appointment
    assert appointment is not None
    assert (appointment.organisation_id, appointment.agent_id) == (personas.org_a.pk, member.pk)
    room = Room.objects.get(appointment=appointment)
    assert room.organisation_id == personas.org_a.pk
    page = reverse("staff-video:room", args=["org-b", room.public_id])
    assert response["Location"] == page
    shown = client.get(page)
    assert shown.status_code == 200
    assert "Organisme A" in shown.content.decode()
    assert f"/ws/org-b/video/{room.public_id}/" in shown.content.decode()
    viewed = AuditEvent.objects.filter(action=AuditEvent.Action.PERSONAL_DATA_VIEWED).last()
    assert viewed is not None and viewed.organisation_id == personas.org_a.pk
    # Nothing else of the host's: its appointment pages, under either address.
    for path in (
        reverse("staff-appointments:detail", args=["org-b", appointment.code]),
        reverse("staff-appointments:detail", args=["org-a", appointment.code]),
        reverse("staff-video:room", args=["org-a", room.public_id]),
        reverse("staff-queue:desk", args=["org-a"]),
    ):
        assert client.get(path).status_code in (403, 404), path
    # A colleague of the partner who is not serving it does not reach the call.
    assert log_in(colleague).get(page).status_code == 404
    # Nor can the helper invite anyone into the host's call.
    invite = client.post(
        reverse("staff-video:invite", args=["org-b", room.public_id]),
        {"guest-name": "Intèrpret", "guest-kind": "interpreter"},
    )
    assert invite.status_code == 302
    assert not room.invitations.exists()

    # Finished: the host's outcomes only; then the call is out of reach.
    theirs = OutcomeCode.objects.create(organisation=personas.org_b, code="b", label="B")
    ours = OutcomeCode.objects.create(organisation=personas.org_a, code="a", label="A")
    with pytest.raises(services.QueueError) as refused:
        services.finish_call(membership=member, entry_id=entry.pk, now=NOW, outcome=theirs)
    assert refused.value.code == "bad_outcome"
    assert [o.pk for o in desk.desk_view(membership=member, now=NOW).outcomes] == [ours.pk]
    services.finish_call(membership=member, entry_id=entry.pk, now=NOW, outcome=ours)
    assert client.get(page).status_code == 404


@pytest.mark.django_db(transaction=True)
def test_the_call_socket_lets_the_serving_helper_in_under_their_address_and_nobody_else(
    personas, time_machine
) -> None:  # type: ignore[no-untyped-def]
    time_machine.move_to(NOW, tick=True)
    user, other = UserFactory(username="helper-b"), UserFactory(username="colleague-b")
    member = MembershipFactory(user=user, organisation=personas.org_b)
    MembershipFactory(user=other, organisation=personas.org_b)
    services.set_desk_status(membership=member, state="available", now=NOW)
    agreement(personas, [member])
    entry = walk_in(personas, "Laia Ferrer", email="laia@example.org")
    services.offer_next(membership=member, now=NOW)
    taken = services.accept_offer(membership=member, entry_id=entry.pk, now=NOW)
    assert taken.appointment is not None
    room = Room.objects.get(appointment=taken.appointment)
    token = join_token(taken.appointment)
    helper_cookie, other_cookie = cookie(user), cookie(other)
    via_b = f"/ws/org-b/video/{room.public_id}/"

    async def hello(path: str, user_cookie: bytes | None, **extra: str) -> dict:
        headers = [(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")]
        if user_cookie:
            headers.append((b"cookie", user_cookie))
        socket = WebsocketCommunicator(application, path, headers=headers)
        connected, _ = await socket.connect()
        assert connected
        await socket.send_json_to({"type": "hello", "v": 1, **extra})
        answer = await socket.receive_json_from(timeout=5)
        await socket.disconnect()
        return answer

    async def scenario() -> None:
        welcome = await hello(via_b, helper_cookie)
        assert (welcome["type"], welcome["role"], welcome["state"]) == (
            "welcome",
            "staff",
            "admitted",
        )
        assert (await hello(via_b, other_cookie))["type"] == "error"
        refused = await hello(via_b, None, token=token)  # a citizen's link, at the wrong address
        assert (refused["type"], refused["code"]) == ("error", "no_room")
        citizen = await hello(f"/ws/org-a/video/{room.public_id}/", None, token=token)
        assert citizen["type"] == "welcome" and citizen["role"] == "citizen"

    run(scenario)


# --- The agreement in the administration ---------------------------------------------------


def _add_form(personas, **extra: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return {
        "host": personas.org_a.pk,
        "partner": personas.org_b.pk,
        "services": [personas.service_a.pk],
        "reference": "Conveni 2026/14",
        "starts_on": "2026-11-01",
        "ends_on": "",
        **extra,
    }


@pytest.mark.django_db
def test_the_host_proposes_the_partner_chooses_its_agents_and_both_approve(personas) -> None:
    member = helper(personas)
    host, partner = log_in(personas.admin_a), log_in(personas.admin_b)

    added = host.post(reverse("admin:queueing_sharingagreement_add"), _add_form(personas))

    assert added.status_code == 302, added.content.decode()[:2000]
    made = SharingAgreement.objects.get()
    assert made.host_approved_by == personas.admin_a and made.partner_approved_at is None
    assert not SharingAgreement.objects.filter(sharing.in_force(dt.datetime.now(dt.UTC))).exists()

    change = reverse("admin:queueing_sharingagreement_change", args=[made.pk])
    page = partner.get(change)
    assert page.status_code == 200
    # The partner cannot change what the host shares: it is shown, not editable.
    assert 'name="services"' not in page.content.decode()
    approved = partner.post(change, {"agents": [member.pk], "_save": "Save"})
    assert approved.status_code == 302, approved.content.decode()[:2000]
    made.refresh_from_db()
    assert made.partner_approved_by == personas.admin_b
    assert list(made.agents.all()) == [member]
    assert SharingAgreement.objects.filter(sharing.in_force(dt.datetime.now(dt.UTC))).exists()

    # The host shares another procedure: the partner must approve again.
    more = ServiceFactory(organisation=personas.org_a)
    form = _add_form(personas, services=[personas.service_a.pk, more.pk])
    del form["host"], form["partner"]
    host.post(change, {**form, "_save": "Save"})
    made.refresh_from_db()
    assert made.partner_approved_at is None and made.host_approved_at is not None


@pytest.mark.django_db
def test_agreements_are_seen_only_by_their_two_organisations_and_hold_only_their_own_parts(
    personas,
) -> None:
    member = helper(personas)
    made = agreement(personas, [member])
    third = OrganisationFactory(slug="org-c")
    stranger = UserFactory(username="admin-c")
    MembershipFactory(user=stranger, organisation=third, org_admin=True)
    client = log_in(stranger)

    listed = client.get(reverse("admin:queueing_sharingagreement_changelist"))
    assert "Conveni 2026/14" not in listed.content.decode()
    change = reverse("admin:queueing_sharingagreement_change", args=[made.pk])
    assert client.get(change).status_code in (302, 403, 404)

    # The host cannot share another organisation's procedure, nor an agreement with itself.
    host = log_in(personas.admin_a)
    refused = host.post(
        reverse("admin:queueing_sharingagreement_add"),
        _add_form(personas, partner=personas.org_a.pk, services=[personas.service_b.pk]),
    )
    assert refused.status_code == 200
    assert SharingAgreement.objects.count() == 1
