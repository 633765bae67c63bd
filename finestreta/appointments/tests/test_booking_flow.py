"""The citizen's booking flow, page by page, without JavaScript; and managing from the link."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.cache import cache
from django.urls import reverse
from icalendar import Calendar

from finestreta.accounts.models import Membership
from finestreta.appointments.models import Appointment, WaitingListEntry
from finestreta.appointments.services import Contact, book_appointment, manage_token
from finestreta.catalogue.models import Channel
from finestreta.tenants.models import Municipality
from tests.factories import ServiceFactory, weekly_schedule

MADRID = ZoneInfo("Europe/Madrid")
NOW = dt.datetime(2026, 11, 30, 7, 0, tzinfo=dt.UTC)  # Monday 08:00 in Madrid
TUESDAY_TEN = dt.datetime(2026, 12, 1, 10, 0, tzinfo=MADRID)


@pytest.fixture(autouse=True)
def frozen():  # type: ignore[no-untyped-def]
    cache.clear()
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture(autouse=True)
def english(client):  # type: ignore[no-untyped-def]
    """The texts checked below are the English ones."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


@pytest.fixture
def service(personas):  # type: ignore[no-untyped-def]
    service = ServiceFactory(
        organisation=personas.org_a,
        slug="padro",
        offers_video=True,
        offers_in_person=True,
        duration_minutes=30,
        max_days_ahead=21,
        min_notice_hours=2,
        offices=[personas.office_a],
    )
    agent = Membership.objects.get(user=personas.agent_a)
    agent.services.add(service)
    weekly_schedule(agent, personas.office_a, starts=dt.time(9), ends=dt.time(12))
    for pattern in agent.working_patterns.all():
        pattern.in_person = True
        pattern.save()
    return service


def time_url(service, channel="video", office="any") -> str:  # type: ignore[no-untyped-def]
    url = reverse("appointments:time", args=[service.organisation.slug, service.slug, channel])
    return f"{url}?office={office}"


CONTACT = {
    "name": "Núria Vidal i Puig",
    "email": "nuria@example.org",
    "phone": "612 345 678",
    "language": "ca",
    "municipality": "Girona",
    "id_document": "12345678z",
    "needs": ["needs_captions"],
    "notes": "",
    "on_behalf": "no",
}


def hold(client, service, start=TUESDAY_TEN, channel="video", office="any"):  # type: ignore[no-untyped-def]
    return client.post(time_url(service, channel, office), {"start": start.isoformat()})


def book(client, service, start=TUESDAY_TEN, contact=None):  # type: ignore[no-untyped-def]
    response = hold(client, service, start)
    assert response.status_code == 302, response.content
    details = response["Location"]
    response = client.post(details, contact or CONTACT)
    assert response.status_code == 302, response.context["form"].errors
    review = response["Location"]
    return client.post(review)


def test_the_time_picker_lists_days_with_buttons_and_the_first_available_time(
    client, service
) -> None:
    response = client.get(time_url(service))
    assert response.status_code == 200
    html = response.content.decode()
    # Monday: 08:00 + 2 h notice → first time at 10:00 local.
    first = dt.datetime(2026, 11, 30, 10, 0, tzinfo=MADRID)
    assert f'value="{first.astimezone(dt.UTC).isoformat()}"' in html
    assert "<h3" in html and 'name="start"' in html
    assert response.context["page"].first.start == first
    assert len(response.context["page"].days) == 7


def test_a_citizen_books_in_five_steps_and_lands_on_the_manage_page_with_a_code(
    client, service
) -> None:
    response = book(client, service)
    assert response.status_code == 302
    appointment = Appointment.objects.get()
    assert appointment.status == Appointment.Status.BOOKED
    assert appointment.starts_at == TUESDAY_TEN
    assert appointment.phone == "+34612345678"
    assert appointment.id_document == "12345678Z"
    assert appointment.municipality == Municipality.objects.get(name="Girona")
    assert appointment.needs_captions and not appointment.needs_sign_language
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert page.context["just_booked"]
    assert appointment.code in page.content.decode()
    # Shown once: a reload is the plain manage page.
    assert not client.get(response["Location"]).context["just_booked"]


def test_a_held_time_is_not_offered_to_anyone_else(client, service) -> None:
    hold(client, service)
    other = client.__class__()
    page = other.get(time_url(service))
    starts = [s.start for day in page.context["page"].days for s in day.slots]
    assert TUESDAY_TEN not in starts


def test_taking_a_time_just_taken_shows_the_next_free_times(client, service) -> None:
    book_appointment(service=service, channel=Channel.VIDEO, start=TUESDAY_TEN, now=NOW)
    response = hold(client, service)
    assert response.status_code == 409
    assert "just taken" in response.content.decode() or response.context["alternatives"]
    assert response.context["alternatives"][0].start > TUESDAY_TEN


def test_an_expired_hold_frees_the_time_for_others(client, service) -> None:
    hold(client, service)
    with time_machine.travel(NOW + dt.timedelta(minutes=11), tick=False):
        other = client.__class__()
        assert hold(other, service).status_code == 302
    assert Appointment.objects.filter(status=Appointment.Status.HELD).count() == 1


def test_choosing_another_time_releases_the_hold_at_once(client, service) -> None:
    details = hold(client, service)["Location"]
    pk = int(re.search(r"/hold/(\d+)/", details)[1])
    response = client.post(reverse("appointments:release", args=["org-a", pk]))
    assert response.status_code == 302
    assert not Appointment.objects.exists()


def test_another_browser_cannot_open_someone_elses_hold(client, service) -> None:
    details = hold(client, service)["Location"]
    assert client.__class__().get(details).status_code == 404


def test_the_details_form_explains_each_mistake(client, service) -> None:
    details = hold(client, service)["Location"]
    response = client.post(
        details,
        {
            **CONTACT,
            "email": "",
            "phone": "123",
            "id_document": "12345678A",
            "municipality": "Gerona",
        },
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert set(errors) >= {"phone", "id_document", "municipality"}
    html = response.content.decode()
    assert 'aria-invalid="true"' in html and "error-summary" in html
    assert "Girona" in str(errors["municipality"])  # the suggestion


def test_booking_on_behalf_needs_the_declaration_and_keeps_both_contacts(client, service) -> None:
    details = hold(client, service)["Location"]
    behalf = {
        **CONTACT,
        "email": "",
        "phone": "",
        "on_behalf": "yes",
        "representative_name": "Jordi Serra",
        "representative_relation": "social worker",
        "representative_email": "jordi@example.org",
    }
    response = client.post(details, behalf)
    assert "declaration" in response.context["form"].errors
    response = client.post(details, {**behalf, "declaration": "on"})
    assert response.status_code == 302
    client.post(response["Location"])
    appointment = Appointment.objects.get()
    assert appointment.status == Appointment.Status.BOOKED
    assert appointment.representative_email == "jordi@example.org"
    assert appointment.on_behalf


def test_a_person_cannot_hold_more_upcoming_appointments_than_allowed(client, service) -> None:
    service.organisation.max_active_appointments = 1
    service.organisation.save()
    book(client, service)
    response = book(client, service, start=TUESDAY_TEN + dt.timedelta(hours=1))
    assert response.status_code == 409
    assert "as many upcoming appointments" in response.content.decode()
    assert Appointment.objects.filter(status=Appointment.Status.BOOKED).count() == 1


def test_one_address_cannot_hoard_times(client, service) -> None:
    for hour in range(3):
        assert (
            hold(client, service, TUESDAY_TEN + dt.timedelta(minutes=30 * hour)).status_code == 302
        )
    response = hold(client, service, TUESDAY_TEN + dt.timedelta(hours=2))
    assert response.status_code == 200
    assert "several times at once" in response.content.decode()


def test_too_many_attempts_from_one_address_get_a_clear_429(client, service, settings) -> None:
    settings.BOOKING_RATE_LIMIT = "2/h"
    hold(client, service)
    hold(client, service, TUESDAY_TEN + dt.timedelta(hours=1))
    response = hold(client, service, TUESDAY_TEN + dt.timedelta(minutes=30))
    assert response.status_code == 429
    assert "appointments/too_many.html" in [t.name for t in response.templates]


def test_the_manage_link_offers_a_calendar_file(client, service) -> None:
    book(client, service)
    appointment = Appointment.objects.get()
    token = manage_token(appointment)
    response = client.get(reverse("appointments:ics", args=["org-a", token]))
    assert response["Content-Type"].startswith("text/calendar")
    event = Calendar.from_ical(response.content).walk("VEVENT")[0]
    assert event.decoded("dtstart") == TUESDAY_TEN
    assert appointment.code in str(event.get("description"))


def test_the_citizen_moves_the_appointment_keeping_the_code_and_link(client, service) -> None:
    book(client, service)
    appointment = Appointment.objects.get()
    token = manage_token(appointment)
    later = TUESDAY_TEN + dt.timedelta(days=1)
    response = client.post(
        reverse("appointments:move", args=["org-a", token]), {"start": later.isoformat()}
    )
    assert response.status_code == 302
    appointment.refresh_from_db()
    assert appointment.starts_at == later and appointment.times_rescheduled == 1
    assert client.get(reverse("appointments:manage", args=["org-a", token])).status_code == 200


def test_moving_half_an_hour_later_overlapping_the_current_time_works(client, service) -> None:
    service.buffer_after_minutes = 30  # the appointment at 10:00 keeps the agent until 11:00
    service.save()
    book(client, service)
    appointment = Appointment.objects.get()
    later = TUESDAY_TEN + dt.timedelta(minutes=30)
    response = client.post(
        reverse("appointments:move", args=["org-a", manage_token(appointment)]),
        {"start": later.isoformat()},
    )
    assert response.status_code == 302
    appointment.refresh_from_db()
    assert appointment.starts_at == later


def test_the_citizen_cancels_and_the_time_is_free_again(client, service) -> None:
    book(client, service)
    appointment = Appointment.objects.get()
    token = manage_token(appointment)
    url = reverse("appointments:cancel", args=["org-a", token])
    assert client.get(url).status_code == 200
    response = client.post(url, {"reason": "I found another way"})
    assert response.status_code == 302
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.CANCELLED
    assert appointment.cancelled_by == "citizen"
    page = client.get(time_url(service))
    starts = [s.start for day in page.context["page"].days for s in day.slots]
    assert TUESDAY_TEN in starts


def test_a_tampered_or_foreign_link_is_not_found(client, service, personas) -> None:
    book(client, service)
    token = manage_token(Appointment.objects.get())
    assert (
        client.get(reverse("appointments:manage", args=["org-a", token + "x"])).status_code == 404
    )
    assert client.get(reverse("appointments:manage", args=["org-b", token])).status_code == 404


def test_the_link_expires_a_month_after_the_appointment(client, service) -> None:
    book(client, service)
    token = manage_token(Appointment.objects.get())
    with time_machine.travel(TUESDAY_TEN + dt.timedelta(days=31), tick=False):
        assert client.get(reverse("appointments:manage", args=["org-a", token])).status_code == 404


def test_a_past_appointment_cannot_be_cancelled(client, service) -> None:
    book(client, service)
    token = manage_token(Appointment.objects.get())
    with time_machine.travel(TUESDAY_TEN + dt.timedelta(hours=1), tick=False):
        response = client.post(reverse("appointments:cancel", args=["org-a", token]))
    assert response.status_code == 200
    assert Appointment.objects.get().status == Appointment.Status.BOOKED


def test_a_freed_time_is_offered_to_the_first_on_the_waiting_list(client, service) -> None:
    book(client, service)
    url = reverse("appointments:waiting-list", args=["org-a", "padro", "video"]) + "?office=any"
    response = client.post(
        url,
        {
            "name": "Pau Roca",
            "email": "pau@example.org",
            "phone": "",
            "language": "es",
            "earliest": "2026-12-01",
            "latest": "2026-12-01",
        },
    )
    assert response.status_code == 302
    waiting_url = response["Location"]
    entry = WaitingListEntry.objects.get()
    first = Appointment.objects.get(status=Appointment.Status.BOOKED)
    client.post(reverse("appointments:cancel", args=["org-a", manage_token(first)]), {"reason": ""})
    entry.refresh_from_db()
    assert entry.status == WaitingListEntry.Status.OFFERED
    assert entry.offered.starts_at == TUESDAY_TEN
    page = client.get(waiting_url)
    assert "Book this time" in page.content.decode()
    response = client.post(waiting_url, {"action": "accept"})
    assert response.status_code == 302
    entry.refresh_from_db()
    assert entry.status == WaitingListEntry.Status.BOOKED
    assert entry.offered.status == Appointment.Status.BOOKED
    assert entry.offered.email == "pau@example.org"


def test_the_waiting_list_refuses_dates_beyond_the_booking_window(client, service) -> None:
    url = reverse("appointments:waiting-list", args=["org-a", "padro", "video"]) + "?office=any"
    response = client.post(
        url,
        {
            "name": "Pau Roca",
            "email": "pau@example.org",
            "language": "ca",
            "earliest": "2026-12-01",
            "latest": "2027-06-01",
        },
    )
    assert response.status_code == 200
    assert "latest" in response.context["form"].errors
    assert not WaitingListEntry.objects.exists()


def test_in_person_needs_an_office_that_provides_the_service(client, service, personas) -> None:
    assert client.get(time_url(service, "in_person", "any")).status_code == 404
    assert client.get(time_url(service, "in_person", personas.office_a.slug)).status_code == 200
    assert client.get(time_url(service, "phone")).status_code == 404  # not offered by phone


def test_the_contact_of_a_booking_is_checked_by_the_service_too(service) -> None:
    with pytest.raises(ValueError):
        Contact(name="x", needs=frozenset({"needs_a_pony"}))


def test_a_booking_writes_the_confirmation_to_the_outbox_in_the_citizens_language(
    client, service
) -> None:
    from finestreta.notifications.models import Message

    book(client, service, contact={**CONTACT, "language": "es"})
    appointment = Appointment.objects.get()
    sent = {(m.channel, m.recipient): m for m in Message.objects.filter(kind="booking_confirmed")}
    assert set(sent) == {("email", "nuria@example.org"), ("sms", "+34612345678")}
    email = sent[("email", "nuria@example.org")]
    assert email.language == "es" and appointment.code in email.body
    assert email.attachment_name.endswith(".ics")
    assert "/appointment/" in email.body  # the manage link


def test_a_service_that_asks_for_a_code_books_only_with_the_right_one(client, service) -> None:
    import re as regex

    from finestreta.notifications.models import Message

    service.requires_verification = True
    service.save()
    details = hold(client, service)["Location"]
    review = client.post(details, CONTACT)["Location"]
    page = client.get(review)
    assert "n•••@example.org" in page.content.decode()
    code_message = Message.objects.get(kind="verification_code")
    assert code_message.channel == "email"
    code = regex.search(r"\b(\d{6})\b", code_message.body)[1]
    wrong = "000000" if code != "000000" else "111111"
    response = client.post(review, {"code": wrong})
    assert response.status_code == 409
    assert Appointment.objects.get().status == Appointment.Status.HELD
    response = client.post(review, {"code": code})
    assert response.status_code == 302
    assert Appointment.objects.get().status == Appointment.Status.BOOKED


def test_a_code_cannot_be_guessed_in_many_tries(client, service) -> None:
    from finestreta.notifications.models import Message

    service.requires_verification = True
    service.save()
    details = hold(client, service)["Location"]
    review = client.post(details, CONTACT)["Location"]
    code = re.search(r"\b(\d{6})\b", Message.objects.get(kind="verification_code").body)[1]
    for guess in range(5):
        client.post(review, {"code": f"{(int(code) + guess + 1) % 10**6:06d}"})
    assert client.post(review, {"code": code}).status_code == 409  # the right one, too late
    assert Appointment.objects.get().status == Appointment.Status.HELD


def test_entering_codes_from_one_address_is_limited_with_a_429(client, service, settings) -> None:
    """Guessing across holds, past the per-code attempts: the address is limited too."""
    from finestreta.notifications.models import Message

    settings.BOOKING_RATE_LIMIT = "3/h"
    service.requires_verification = True
    service.save()
    details = hold(client, service)["Location"]
    review = client.post(details, CONTACT)["Location"]
    code = re.search(r"\b(\d{6})\b", Message.objects.get(kind="verification_code").body)[1]
    wrong = "000000" if code != "000000" else "111111"
    assert [client.post(review, {"code": wrong}).status_code for _ in range(3)] == [409] * 3
    refused = client.post(review, {"code": code})  # even the right code waits
    assert refused.status_code == 429
    assert "appointments/too_many.html" in [t.name for t in refused.templates]
    assert Appointment.objects.get().status == Appointment.Status.HELD
    # Counted per address: the same browser from another address books with the right code.
    assert client.post(review, {"code": code}, REMOTE_ADDR="198.51.100.7").status_code == 302
    assert Appointment.objects.get().status == Appointment.Status.BOOKED


def test_changes_through_the_manage_link_are_limited_with_a_429(client, service, settings) -> None:
    book(client, service)
    appointment = Appointment.objects.get()
    token = manage_token(appointment)
    settings.BOOKING_RATE_LIMIT = "2/h"
    move = reverse("appointments:move", args=["org-a", token])
    cancel = reverse("appointments:cancel", args=["org-a", token])
    assert client.post(move, {"start": "not a time"}).status_code != 429
    assert client.post(move, {"start": "not a time"}).status_code != 429
    later = (TUESDAY_TEN + dt.timedelta(days=1)).isoformat()
    assert client.post(move, {"start": later}).status_code == 429
    assert client.post(cancel, {"reason": "no longer needed"}).status_code == 429
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.BOOKED
    assert appointment.starts_at == TUESDAY_TEN
    # Reading the manage page is not a change and stays open.
    assert client.get(reverse("appointments:manage", args=["org-a", token])).status_code == 200


def test_booking_and_cancelling_in_a_loop_is_stopped_for_the_day(client, service) -> None:
    service.organisation.max_active_appointments = 1
    service.organisation.save()
    for attempt in range(2):
        book(client, service, start=TUESDAY_TEN + dt.timedelta(hours=attempt))
        booked = Appointment.objects.get(status=Appointment.Status.BOOKED)
        cancelled = client.post(
            reverse("appointments:cancel", args=["org-a", manage_token(booked)])
        )
        assert cancelled.status_code == 302, cancelled.context["problem"]
    response = book(client, service, start=TUESDAY_TEN + dt.timedelta(minutes=30))
    assert response.status_code == 409
    assert "booked many times today" in response.context["problem"]
    assert not Appointment.objects.filter(status=Appointment.Status.BOOKED).exists()


def test_a_hold_schedules_its_own_release_for_when_it_runs_out(
    client, service, django_capture_on_commit_callbacks
) -> None:
    from django_tasks_db.models import DBTaskResult

    from finestreta.appointments.tasks import release_expired_holds

    with django_capture_on_commit_callbacks(execute=True):
        hold(client, service)
    scheduled = DBTaskResult.objects.get(task_path__endswith="release_expired_holds")
    assert scheduled.run_after == NOW + dt.timedelta(minutes=10)
    assert release_expired_holds.call() == 0  # not yet
    with time_machine.travel(NOW + dt.timedelta(minutes=10), tick=False):
        assert release_expired_holds.call() == 1
    assert not Appointment.objects.exists()


def test_messages_are_plain_text_in_the_citizens_language_with_its_dates(client, service) -> None:
    from finestreta.notifications.models import Message

    service.name_ca = "Alta a l'idCAT Mòbil"
    service.save()
    book(client, service, contact={**CONTACT, "language": "ca"})
    email = Message.objects.get(kind="booking_confirmed", channel="email")
    assert "Alta a l'idCAT Mòbil" in email.body  # not &#x27;
    assert "1 de desembre de 2026" in email.body
    assert "&#" not in email.subject and "1 de desembre" in email.subject


def test_booking_pages_stay_light_for_a_slow_phone_connection(client, service) -> None:
    """ARCHITECTURE: a booking page under 100 KB transferred (HTML; the one stylesheet is
    shared and cached). A month of free times is the heaviest."""
    service.max_days_ahead = 30
    service.save()
    for url in (
        reverse("appointments:service", args=["org-a"]),
        time_url(service),
        hold(client, service)["Location"],
    ):
        response = client.get(url)
        assert response.status_code == 200
        assert len(response.content) < 100_000, (url, len(response.content))


def test_an_offer_told_only_by_sms_at_night_lasts_as_long_from_the_morning(service) -> None:
    from finestreta.appointments.models import CancelledBy
    from finestreta.appointments.services import cancel_appointment, join_waiting_list

    join_waiting_list(
        service=service,
        channel=Channel.VIDEO,
        office=None,
        earliest=dt.date(2026, 12, 2),
        latest=dt.date(2026, 12, 2),
        contact=Contact(name="Pau Roca", phone="+34612345678"),
        now=NOW,
    )
    booked = book_appointment(
        service=service,
        channel=Channel.VIDEO,
        start=TUESDAY_TEN + dt.timedelta(days=1),
        now=NOW,
        contact=Contact(name="Núria", email="nuria@example.org"),
    ).appointment
    night = dt.datetime(2026, 11, 30, 22, 0, tzinfo=dt.UTC)  # 23:00 in Madrid
    cancel_appointment(appointment=booked, now=night, by=CancelledBy.CITIZEN)
    offer = WaitingListEntry.objects.get().offered
    morning = dt.datetime(2026, 12, 1, 9, 0, tzinfo=MADRID)  # quiet hours end
    # 12 hours counted from the morning, not from the night; never past the appointment.
    assert offer.hold_expires_at == morning + dt.timedelta(hours=12)
    assert offer.hold_expires_at < offer.starts_at
