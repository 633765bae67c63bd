"""The video pages through Django's test client: the citizen's check before the call and the
call page (by the join link: wrong links, too early, too late, an ended call), the staff's
waiting room, call page and the way in from an appointment (reach and tenant isolation), and the
links to them from the manage page and the staff's appointment page; the files panel (not for
guests), the invitations on the staff's call page, the link sent again and the staff menu.

What runs in the browser (the checks, the call itself) is in tests/browser/test_video.py."""

from __future__ import annotations

import datetime as dt
import json
import re
import wave
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.urls import reverse

from finestreta.accounts.models import Membership
from finestreta.accounts.services import StaffContext
from finestreta.appointments.models import Appointment
from finestreta.appointments.services import join_token, manage_token
from finestreta.video import invitations, services
from finestreta.video.models import Invitation, Presence, Role, Room
from tests.factories import AppointmentFactory, MembershipFactory, OfficeFactory
from tests.personas import Personas, log_in

START = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)  # 10:00 in Madrid
DURING = START - dt.timedelta(minutes=10)


@pytest.fixture(autouse=True)
def clock() -> Iterator[None]:
    with time_machine.travel(DURING, tick=False):
        yield


@pytest.fixture
def appointment(personas: Personas) -> Appointment:
    return AppointmentFactory(
        agent=Membership.objects.get(user=personas.agent_a),
        service=personas.service_a,
        starts_at=START,
        phone="+34612345678",
    )


def precall(item: Appointment, token: str | None = None) -> str:
    return f"/{item.organisation.slug}/video/{token or join_token(item)}/"


def text(response) -> str:  # type: ignore[no-untyped-def]
    return response.content.decode()


def in_person_after(item: Appointment, personas: Personas) -> Appointment:
    return AppointmentFactory(
        agent=item.agent,
        service=personas.service_a,
        office=personas.office_a,
        channel="in_person",
        starts_at=START + dt.timedelta(hours=2),
    )


# --- The citizen's pages ----------------------------------------------------------------------


def test_the_check_page_shows_the_appointment_in_local_time_and_the_checks(
    client: Client, appointment: Appointment
) -> None:
    response = client.get(precall(appointment))

    assert response.status_code == 200
    page = text(response)
    room = Room.objects.get(appointment=appointment)
    assert personas_service_name(appointment) in page
    assert "10:00" in page  # 09:00 UTC is 10:00 in Madrid in December
    for check in ("check-camera", "check-microphone", "check-signaling", "mic-level"):
        assert f'id="{check}"' in page
    assert f'data-socket="/ws/org-a/video/{room.public_id}/"' in page
    assert f'href="/org-a/video/{join_token(appointment)}/call/"' in page
    assert "The waiting room is open until" in page
    # Every failure's advice is on the page, hidden until the script shows it.
    for help_id in ("denied", "in-use", "no-camera", "no-microphone", "network", "unsupported"):
        assert re.search(rf'id="help-{help_id}" hidden', page), help_id
    # Without TURN configured there is no relay check.
    assert 'id="check-relay"' not in page
    assert response["Cache-Control"].startswith("max-age=0")


def personas_service_name(item: Appointment) -> str:
    return str(item.service.name)


def test_the_relay_check_gets_short_lived_turn_credentials_named_after_the_room(
    client: Client, appointment: Appointment, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.VIDEO_STUN_URLS = ["stun:turn.example.org:3478"]
    settings.VIDEO_TURN_URLS = ["turn:turn.example.org:3478?transport=udp"]
    settings.VIDEO_TURN_SECRET = "s3cret"

    page = text(client.get(precall(appointment)))

    room = Room.objects.get(appointment=appointment)
    assert 'id="check-relay"' in page
    found = re.search(r'data-turn-servers="([^"]*)"', page)
    assert found is not None
    servers = json.loads(found.group(1).replace("&quot;", '"'))
    assert [s["urls"] for s in servers] == [["turn:turn.example.org:3478?transport=udp"]]
    assert servers[0]["username"].endswith(f":check-{room.public_id}")


def test_the_call_page_carries_what_the_script_needs_and_no_inline_script(
    client: Client, appointment: Appointment
) -> None:
    response = client.get(f"{precall(appointment)}call/")

    assert response.status_code == 200
    page = text(response)
    room = Room.objects.get(appointment=appointment)
    assert 'data-role="citizen"' in page
    assert f'data-token="{join_token(appointment)}"' in page
    assert f'data-room="{room.public_id}"' in page
    assert 'data-window="open"' in page
    assert 'role="log"' in page and 'for="chat-text"' in page
    assert 'id="callback-form"' in page
    assert "Waiting for Organisme A to let you in." in page  # a text for the script
    assert not re.search(r"<script(?![^>]*\bsrc=)", page), "inline script"
    assert " style=" not in page


@pytest.mark.parametrize(
    "token",
    [
        "manage",  # the manage link's token is not a join token
        "T0000000-0000000000000000",
        "nonsense",
    ],
)
def test_a_wrong_link_gets_a_clear_not_found_page(
    client: Client, appointment: Appointment, token: str
) -> None:
    if token == "manage":
        token = manage_token(appointment)
    for path in (precall(appointment, token), f"{precall(appointment, token)}call/"):
        response = client.get(path)
        assert response.status_code == 404
        assert "This link is not valid" in text(response)
        assert "info@org-a.example" in text(response)  # whom to ask


def test_a_link_under_another_organisation_is_not_found(
    client: Client, appointment: Appointment, personas: Personas
) -> None:
    response = client.get(f"/org-b/video/{join_token(appointment)}/")
    assert response.status_code == 404
    assert "Organisme A" not in text(response)
    assert client.get(f"/no-such-org/video/{join_token(appointment)}/").status_code == 404


def test_a_cancelled_or_in_person_appointment_has_no_call(
    client: Client, appointment: Appointment, personas: Personas
) -> None:
    in_person = in_person_after(appointment, personas)
    assert client.get(precall(in_person)).status_code == 404
    appointment.status = Appointment.Status.CANCELLED
    appointment.save()
    assert client.get(precall(appointment)).status_code == 404


def test_too_early_the_page_says_when_the_waiting_room_opens_and_still_offers_the_check(
    client: Client, appointment: Appointment
) -> None:
    with time_machine.travel(START - dt.timedelta(hours=5), tick=False):
        page = text(client.get(precall(appointment)))
        call = text(client.get(f"{precall(appointment)}call/"))

    assert "The waiting room opens on" in page and "at 09:30" in page  # 30 min before 10:00
    assert 'id="check-devices"' in page
    assert 'data-window="early"' in call
    assert "The waiting room opens at 09:30." in call


def test_too_late_the_page_says_the_time_has_passed_and_whom_to_contact(
    client: Client, appointment: Appointment
) -> None:
    with time_machine.travel(appointment.ends_at + dt.timedelta(hours=2, minutes=1), tick=False):
        page = text(client.get(precall(appointment)))
        call = text(client.get(f"{precall(appointment)}call/"))

    assert "The time for this video call has passed." in page
    assert "mailto:info@org-a.example" in page
    assert 'id="check-devices"' not in page
    assert "Go to the waiting room" not in page
    assert 'data-window="late"' in call
    assert re.search(r'id="call-layout" hidden', call)


def test_an_ended_call_says_so(client: Client, appointment: Appointment) -> None:
    room = services.get_room(appointment)
    Room.objects.filter(pk=room.pk).update(state=Room.State.ENDED)

    page = text(client.get(precall(appointment)))
    call = text(client.get(f"{precall(appointment)}call/"))

    assert "This video call has ended." in page
    assert 'id="check-devices"' not in page
    assert 'data-state="ended"' in call


def test_the_manage_page_links_to_the_call_only_for_a_booked_video_appointment(
    client: Client, appointment: Appointment, personas: Personas
) -> None:
    manage = f"/org-a/appointment/{manage_token(appointment)}/"
    page = text(client.get(manage))
    assert f'href="{services.join_path(appointment)}"' in page
    assert "Join the video call" in page

    in_person = in_person_after(appointment, personas)
    page = text(client.get(f"/org-a/appointment/{manage_token(in_person)}/"))
    assert "Join the video call" not in page


# --- Staff -----------------------------------------------------------------------------------


def waiting_in(room: Room, name: str = "Núria Vidal") -> Presence:
    return Presence.objects.create(
        room=room,
        peer=services.new_peer(),
        role=Role.CITIZEN,
        name=name,
        state=Presence.State.WAITING,
        channel_name="test-channel",
        since=DURING,
        last_seen=DURING,
    )


def test_the_lobby_lists_the_people_waiting_within_reach_with_links_to_their_calls(
    personas: Personas, appointment: Appointment
) -> None:
    room = services.get_room(appointment)
    waiting_in(room)
    other_office = OfficeFactory(organisation=personas.org_a)
    stranger = MembershipFactory(organisation=personas.org_a)
    stranger.offices.add(other_office)
    elsewhere = AppointmentFactory(agent=stranger, starts_at=START, name="Pere Roig")
    waiting_in(services.get_room(elsewhere), name="Pere Roig")

    response = log_in(personas.agent_a).get("/org-a/staff/video/")

    assert response.status_code == 200
    page = text(response)
    assert "Núria Vidal" in page
    assert f'href="/org-a/staff/video/{room.public_id}/"' in page
    assert "Pere Roig" not in page  # another office's call, a service agent A does not attend
    assert 'data-socket="/ws/org-a/video/lobby/"' in page
    assert 'id="toggle-sound"' in page and 'role="alert"' in page


def test_the_lobby_is_refused_to_other_tenants_and_sends_strangers_to_log_in(
    client: Client, personas: Personas
) -> None:
    assert log_in(personas.agent_b).get("/org-a/staff/video/").status_code == 404
    response = client.get("/org-a/staff/video/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_the_staff_call_page_within_reach_shows_the_appointment_and_the_staff_controls(
    personas: Personas, appointment: Appointment
) -> None:
    room = services.get_room(appointment)

    response = log_in(personas.agent_a).get(f"/org-a/staff/video/{room.public_id}/")

    assert response.status_code == 200
    page = text(response)
    assert 'data-role="staff"' in page
    assert "data-token" not in page
    assert f'data-detail-url="/org-a/staff/appointments/{appointment.code}/"' in page
    for control in ("end-call", "notice-form", "waiting-people", "callback-list", "chat-form"):
        assert f'id="{control}"' in page
    assert "612 34 56 78" in page


def test_the_staff_call_page_is_not_found_out_of_reach_or_for_another_tenant(
    personas: Personas, appointment: Appointment
) -> None:
    room = services.get_room(appointment)
    other_office = OfficeFactory(organisation=personas.org_a)
    colleague = MembershipFactory(organisation=personas.org_a)
    colleague.offices.add(other_office)
    path = f"/org-a/staff/video/{room.public_id}/"

    assert log_in(colleague.user).get(path).status_code == 404  # no reach, no skill
    assert log_in(personas.agent_b).get(path).status_code == 404  # another organisation
    # Organisation B's own address with A's room: no such room there.
    assert log_in(personas.agent_b).get(f"/org-b/staff/video/{room.public_id}/").status_code == 404
    assert log_in(personas.agent_a).get("/org-a/staff/video/no-such-room/").status_code == 404


def test_after_the_end_the_staff_page_links_to_recording_the_outcome(
    personas: Personas, appointment: Appointment
) -> None:
    room = services.get_room(appointment)
    Room.objects.filter(pk=room.pk).update(state=Room.State.ENDED)

    page = text(log_in(personas.agent_a).get(f"/org-a/staff/video/{room.public_id}/"))

    assert 'data-state="ended"' in page
    panel = re.search(r'<section id="ended-panel"[^>]*>', page)
    assert panel is not None and "hidden" not in panel.group(0)
    assert f'id="record-outcome" href="/org-a/staff/appointments/{appointment.code}/"' in page


def test_from_a_video_appointment_staff_go_to_its_call_made_on_first_use(
    personas: Personas, appointment: Appointment
) -> None:
    client = log_in(personas.agent_a)
    detail = text(client.get(f"/org-a/staff/appointments/{appointment.code}/"))
    assert f'href="/org-a/staff/appointments/{appointment.code}/video/"' in detail

    response = client.get(f"/org-a/staff/appointments/{appointment.code}/video/")

    room = Room.objects.get(appointment=appointment)
    assert response.status_code == 302
    assert response["Location"] == f"/org-a/staff/video/{room.public_id}/"
    again = client.get(f"/org-a/staff/appointments/{appointment.code}/video/")
    assert again["Location"] == response["Location"]
    assert Room.objects.count() == 1


def test_an_in_person_appointment_has_no_call_and_another_tenant_cannot_open_one(
    personas: Personas, appointment: Appointment
) -> None:
    in_person = in_person_after(appointment, personas)
    client = log_in(personas.agent_a)
    assert client.get(f"/org-a/staff/appointments/{in_person.code}/video/").status_code == 404
    detail = text(client.get(f"/org-a/staff/appointments/{in_person.code}/"))
    assert f"/appointments/{in_person.code}/video/" not in detail
    stranger = log_in(personas.admin_b)
    assert stranger.get(f"/org-a/staff/appointments/{appointment.code}/video/").status_code == 404
    assert stranger.get(f"/org-b/staff/appointments/{appointment.code}/video/").status_code == 404
    assert not Room.objects.exists()
    assert client.post(f"/org-a/staff/appointments/{appointment.code}/video/").status_code == 405


# --- The sound ------------------------------------------------------------------------------


def test_the_chime_is_a_short_wav_of_our_own() -> None:
    path = Path(settings.BASE_DIR) / "finestreta/static/finestreta/video/chime.wav"
    with wave.open(str(path)) as chime:
        seconds = chime.getnframes() / chime.getframerate()
        assert chime.getnchannels() == 1
    assert 0.3 < seconds < 2


# --- Files, invitations, the link sent again, the menu -----------------------------------------


def staff_context(user) -> StaffContext:  # type: ignore[no-untyped-def]
    membership = Membership.objects.select_related("organisation", "user").get(user=user)
    return StaffContext(user=user, organisation=membership.organisation, membership=membership)


def invite_a_guest(room: Room, personas: Personas, name: str = "Anna Puig") -> str:
    """A guest invitation made by agent A; the path of its link."""
    invited = invitations.invite_guest(
        staff=staff_context(personas.agent_a), room=room, name=name, kind="interpreter", now=DURING
    )
    return urlparse(invited.link).path


def test_the_citizen_and_staff_call_pages_have_the_files_panel_with_their_own_address(
    personas: Personas, appointment: Appointment
) -> None:
    room = services.get_room(appointment)
    citizen = Client()

    response = citizen.get(f"{precall(appointment)}call/")

    page = text(response)
    assert f'data-files-url="/org-a/video/{join_token(appointment)}/files/"' in page
    assert 'type="file" id="files-input" name="file"' in page
    assert 'accept=".pdf,.jpg,.jpeg,.png,.webp,application/pdf,image/*"' in page
    assert 'for="files-input"' in page
    assert 'id="files-status" class="files-status" role="status"' in page
    assert 'name="csrfmiddlewaretoken"' in page
    assert settings.CSRF_COOKIE_NAME in response.cookies  # the upload's CSRF check needs it
    assert 'data-key="file-shared-by"' in page  # the script's texts

    staff_page = text(log_in(personas.agent_a).get(f"/org-a/staff/video/{room.public_id}/"))
    assert f'data-files-url="/org-a/staff/video/{room.public_id}/files/"' in staff_page
    assert 'id="files-form"' in staff_page


def test_an_invited_guest_gets_the_call_page_without_files(
    client: Client, personas: Personas, appointment: Appointment
) -> None:
    room = services.get_room(appointment)
    path = invite_a_guest(room, personas)

    response = client.get(path)

    assert response.status_code == 200
    page = text(response)
    token = path.rstrip("/").rsplit("/", 1)[-1]
    assert 'data-role="guest"' in page and f'data-guest="{token}"' in page
    assert "Anna Puig" in page
    assert 'id="files"' not in page and "data-files-url" not in page
    assert 'data-key="as-interpreter"' in page  # how the others' tiles name guests
    assert not re.search(r"<script(?![^>]*\bsrc=)", page), "inline script"
    assert " style=" not in page
    assert client.get(path.replace(token, "not-the-token")).status_code == 404


def test_the_staff_call_page_offers_to_invite_a_colleague_or_a_guest(
    personas: Personas, appointment: Appointment
) -> None:
    room = services.get_room(appointment)

    page = text(log_in(personas.agent_a).get(f"/org-a/staff/video/{room.public_id}/"))

    invite = f'action="/org-a/staff/video/{room.public_id}/invite/"'
    assert page.count(invite) == 2
    for field in ("colleague-membership", "colleague-kind", "guest-name", "guest-kind"):
        assert f'name="{field}"' in page, field
    assert str(personas.supervisor_a) in page  # a colleague to choose
    assert str(personas.agent_b) not in page  # never another organisation's staff
    # The guest's name has help text, tied to the field.
    assert 'id="id_guest-name_helptext"' in page
    assert 'aria-describedby="id_guest-name_helptext"' in page
    assert "Nobody has been invited to this call." in page


def invitation_items(page: str) -> dict[int, str]:
    """Each invitation listed: its id → its <li>…</li>."""
    pattern = r'<li class="invitation" data-invitation="(\d+)".*?</li>'
    return {int(found.group(1)): found.group(0) for found in re.finditer(pattern, page, re.S)}


def test_the_invitations_say_as_what_and_whether_they_still_let_anyone_in(
    personas: Personas, appointment: Appointment
) -> None:
    room = services.get_room(appointment)
    invite_a_guest(room, personas, name="Anna Puig")
    invite_a_guest(room, personas, name="Pau Serra")
    invite_a_guest(room, personas, name="Joan Mas")
    live, revoked, expired = Invitation.objects.order_by("pk")
    Invitation.objects.filter(pk=revoked.pk).update(revoked_at=DURING)
    Invitation.objects.filter(pk=expired.pk).update(expires_at=DURING - dt.timedelta(minutes=1))

    page = text(log_in(personas.agent_a).get(f"/org-a/staff/video/{room.public_id}/"))

    items = invitation_items(page)
    assert set(items) == {live.pk, revoked.pk, expired.pk}
    revoke = "/org-a/staff/video/{room}/invitations/{pk}/revoke/"
    assert 'data-state="live"' in items[live.pk] and "Anna Puig" in items[live.pk]
    assert "interpreter" in items[live.pk] and "guest from outside" in items[live.pk]
    assert "Can join until 13:50." in items[live.pk]  # four hours on, in Madrid's time
    assert revoke.format(room=room.public_id, pk=live.pk) in items[live.pk]
    assert f'aria-describedby="invitation-{live.pk}"' in items[live.pk]
    assert 'data-state="revoked"' in items[revoked.pk] and "Revoked" in items[revoked.pk]
    assert 'data-state="expired"' in items[expired.pk] and "Expired" in items[expired.pk]
    for pk in (revoked.pk, expired.pk):
        assert "/revoke/" not in items[pk]


def test_a_guest_link_made_on_the_call_page_is_shown_there_once(
    personas: Personas, appointment: Appointment
) -> None:
    room = services.get_room(appointment)
    client = log_in(personas.agent_a)
    page_path = f"/org-a/staff/video/{room.public_id}/"

    response = client.post(
        f"{page_path}invite/", {"guest-name": "Anna Puig", "guest-kind": "interpreter"}
    )

    assert response.status_code == 302 and response["Location"] == page_path
    page = text(client.get(page_path))
    shown = re.search(r'<div class="messages" role="status">(.*?)</div>', page, re.S)
    assert shown is not None
    link = re.search(r"https?://\S+/guest/[\w-]+/", shown.group(1))
    assert link is not None and "Anna Puig" in shown.group(1)
    assert text(Client().get(urlparse(link.group(0)).path)).count('data-role="guest"') == 1
    assert 'data-state="live"' in page
    assert link.group(0) not in text(client.get(page_path))  # once only


def test_an_ended_call_offers_no_invitations(personas: Personas, appointment: Appointment) -> None:
    room = services.get_room(appointment)
    Room.objects.filter(pk=room.pk).update(state=Room.State.ENDED)

    page = text(log_in(personas.agent_a).get(f"/org-a/staff/video/{room.public_id}/"))

    assert 'id="invite-panel"' not in page
    assert "/invite/" not in page


def test_the_staff_appointment_page_offers_to_send_the_link_again_for_a_booked_video_call_only(
    personas: Personas, appointment: Appointment
) -> None:
    client = log_in(personas.agent_a)
    send = f'action="/org-a/staff/appointments/{appointment.code}/video/send-link/"'

    page = text(client.get(f"/org-a/staff/appointments/{appointment.code}/"))

    form = re.search(rf'<form method="post" {send}.*?</form>', page, re.S)
    assert form is not None
    assert 'name="csrfmiddlewaretoken"' in form.group(0)
    assert "Send the link to the call again" in form.group(0)

    in_person = in_person_after(appointment, personas)
    assert "send-link" not in text(client.get(f"/org-a/staff/appointments/{in_person.code}/"))
    appointment.status = Appointment.Status.CANCELLED
    appointment.save()
    assert "send-link" not in text(client.get(f"/org-a/staff/appointments/{appointment.code}/"))


def test_the_staff_menu_links_to_the_video_waiting_room(
    client: Client, personas: Personas, appointment: Appointment
) -> None:
    staff = log_in(personas.agent_a)
    link = re.compile(
        r'<a href="/org-a/staff/video/"( aria-current="page")?>Video waiting room</a>'
    )

    agenda = link.search(text(staff.get(reverse("staff-appointments:agenda", args=["org-a"]))))
    lobby = link.search(text(staff.get("/org-a/staff/video/")))

    assert agenda is not None and agenda.group(1) is None
    assert lobby is not None and lobby.group(1) is not None
    assert "/org-a/staff/video/" not in text(client.get("/org-a/"))  # not for citizens
