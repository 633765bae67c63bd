"""What staff do from the call page and the appointment: invite a colleague or a guest (whose link
is shown once and opens the guest's call page), transfer the call, revoke an invitation, and send
the citizen the link again."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib.messages import get_messages

from finestreta.accounts.models import Membership
from finestreta.appointments.models import Appointment
from finestreta.notifications.models import Message
from finestreta.video import services
from finestreta.video.models import Invitation, Room
from tests.factories import AppointmentFactory, MembershipFactory
from tests.personas import log_in


@pytest.fixture
def room(personas) -> Room:  # type: ignore[no-untyped-def]
    appointment = AppointmentFactory(
        agent=Membership.objects.get(user=personas.agent_a),
        service=personas.service_a,
        starts_at=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=10),
        phone="+34612345678",
    )
    return services.get_room(appointment)


def texts(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_a_guest_s_link_is_shown_once_and_opens_their_call_page(personas, room) -> None:
    agent = log_in(personas.agent_a)
    response = agent.post(
        f"/org-a/staff/video/{room.public_id}/invite/",
        {"guest-name": "Anna Puig", "guest-kind": "interpreter"},
    )
    assert response.status_code == 302
    (shown,) = texts(response)
    link = re.search(r"https?://\S+/guest/\S+/", shown)
    assert link is not None
    path = "/" + link.group(0).split("/", 3)[3]
    page = agent.get(path)  # anyone with the link: the guest has no account
    assert page.status_code == 200
    assert b'data-role="guest"' in page.content and b"Anna Puig" in page.content
    # The room page never shows the link again.
    assert link.group(0).encode() not in agent.get(f"/org-a/staff/video/{room.public_id}/").content
    assert agent.get(path.replace("/guest/", "/guest/x")).status_code == 404


def test_a_colleague_is_invited_or_takes_the_call_over_and_a_revoked_invitation_stops(
    personas, room
) -> None:
    colleague = MembershipFactory(organisation=personas.org_a)
    agent = log_in(personas.agent_a)
    url = f"/org-a/staff/video/{room.public_id}/invite/"
    response = agent.post(
        url, {"colleague-membership": colleague.pk, "colleague-kind": "supervisor"}
    )
    assert response.status_code == 302 and "can now join" in texts(response)[0]
    invitation = Invitation.objects.get(membership=colleague)
    assert log_in(colleague.user).get(f"/org-a/staff/video/{room.public_id}/").status_code == 200

    revoke = f"/org-a/staff/video/{room.public_id}/invitations/{invitation.pk}/revoke/"
    assert agent.post(revoke).status_code == 302
    assert log_in(colleague.user).get(f"/org-a/staff/video/{room.public_id}/").status_code == 404

    response = agent.post(url, {"colleague-membership": colleague.pk, "colleague-kind": "transfer"})
    assert "is now" in texts(response)[-1]
    assert Appointment.objects.get(pk=room.appointment_id).agent == colleague

    # Another organisation's member is not among the choices.
    outsider = Membership.objects.get(user=personas.agent_b)
    response = log_in(colleague.user).post(
        url, {"colleague-membership": outsider.pk, "colleague-kind": "specialist"}
    )
    assert response.status_code == 302
    assert not Invitation.objects.filter(membership=outsider).exists()


def test_staff_send_the_link_again_and_strangers_cannot(personas, room) -> None:
    code = room.appointment.code
    agent = log_in(personas.agent_a)
    response = agent.post(f"/org-a/staff/appointments/{code}/video/send-link/")
    assert response.status_code == 302
    assert Message.objects.filter(kind="video_join_link").count() == 2  # e-mail and SMS
    assert (
        log_in(personas.agent_b).post(f"/org-a/staff/appointments/{code}/video/send-link/")
    ).status_code == 404
