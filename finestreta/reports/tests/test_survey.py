"""The satisfaction survey: the link sent once after an attention (and not otherwise), the page
that takes one answer in the citizen's language, its refusals (not attended yet, did not take
place, too late, a forged or another organisation's link) and the link at the end of a call."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.conf import settings
from django.db import IntegrityError, transaction
from django.test import Client

from finestreta.accounts.models import Membership
from finestreta.appointments.models import Appointment
from finestreta.appointments.services import join_token, record_outcome
from finestreta.notifications import delivery
from finestreta.notifications.models import Message
from finestreta.reports.models import SurveyAnswer
from finestreta.reports.services import OPEN_FOR, survey_token
from finestreta.video import services as video
from finestreta.video.models import Room
from tests.factories import AppointmentFactory
from tests.personas import Personas

START = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
AFTER = START + dt.timedelta(minutes=40)


@pytest.fixture
def client(client: Client) -> Client:
    """In English, as the assertions read (the Spanish test sets its own)."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture
def appointment(personas: Personas) -> Appointment:
    return AppointmentFactory(
        agent=Membership.objects.get(user=personas.agent_a),
        service=personas.service_a,
        starts_at=START,
        phone="+34612345678",
        language="es",
    )


def survey_url(item: Appointment, token: str | None = None, org: str | None = None) -> str:
    return f"/{org or item.organisation.slug}/survey/{token or survey_token(item)}/"


def page(response) -> str:  # type: ignore[no-untyped-def]
    return response.content.decode()


@pytest.mark.django_db
def test_marking_an_appointment_attended_queues_the_survey_once_to_every_recipient(
    appointment: Appointment,
) -> None:
    staff = appointment.agent
    record_outcome(appointment=appointment, attended=True, now=AFTER, staff=staff)
    record_outcome(appointment=appointment, attended=True, now=AFTER, staff=staff)  # again

    sent = Message.objects.filter(kind="survey").order_by("channel")
    assert [(m.channel, m.recipient) for m in sent] == [
        ("email", "nuria@example.org"),
        ("sms", "+34612345678"),
    ]
    link = f"/org-a/survey/{survey_token(appointment)}/"
    for message in sent:
        assert link in message.body
        assert message.language == "es"
        assert message.send_after >= AFTER + dt.timedelta(minutes=15)
    assert "Nuria" not in sent[1].body and "Núria" not in sent[1].body  # no name by SMS


@pytest.mark.django_db
def test_no_survey_goes_to_a_citizen_who_did_not_come_nor_where_the_organisation_does_not_ask(
    appointment: Appointment, personas: Personas
) -> None:
    record_outcome(appointment=appointment, attended=False, now=AFTER, staff=appointment.agent)
    assert not Message.objects.filter(kind="survey").exists()

    personas.org_a.sends_survey = False
    personas.org_a.save()
    other = AppointmentFactory(
        agent=appointment.agent, service=personas.service_a, starts_at=START + dt.timedelta(hours=1)
    )
    record_outcome(appointment=other, attended=True, now=AFTER, staff=appointment.agent)
    assert not Message.objects.filter(kind="survey").exists()


@pytest.mark.django_db
def test_a_survey_whose_appointment_was_corrected_to_not_come_before_it_left_is_suppressed(
    appointment: Appointment,
) -> None:
    record_outcome(appointment=appointment, attended=True, now=AFTER, staff=appointment.agent)
    record_outcome(appointment=appointment, attended=False, now=AFTER, staff=appointment.agent)
    later = AFTER + dt.timedelta(hours=1)
    for message in Message.objects.filter(kind="survey"):
        assert delivery.deliver(message_id=message.pk, now=later) == Message.Status.SUPPRESSED


@pytest.mark.django_db
def test_the_survey_takes_one_answer_in_the_citizens_language(
    client: Client, appointment: Appointment
) -> None:
    record_outcome(appointment=appointment, attended=True, now=AFTER, staff=appointment.agent)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"

    form = client.get(survey_url(appointment))
    assert form.status_code == 200
    assert "¿Cómo ha ido?" in page(form)
    assert len(re.findall(r'type="radio" name="score"', page(form))) == 5
    assert 'aria-describedby="id_comment_help"' in page(form)

    sent = client.post(survey_url(appointment), {"score": "4", "comment": "  Molt bé, gràcies  "})
    assert sent.status_code == 200 and 'id="survey-thanks"' in page(sent)
    answer = SurveyAnswer.objects.get(appointment=appointment)
    assert (answer.score, answer.comment, answer.language) == (4, "Molt bé, gràcies", "es")
    assert answer.organisation_id == appointment.organisation_id

    again = client.post(survey_url(appointment), {"score": "1", "comment": "Canviat"})
    assert again.status_code == 200
    assert SurveyAnswer.objects.get(appointment=appointment).score == 4  # not changed
    assert SurveyAnswer.objects.count() == 1


@pytest.mark.django_db
def test_a_survey_without_a_score_or_with_a_long_comment_says_what_to_fix(
    client: Client, appointment: Appointment
) -> None:
    record_outcome(appointment=appointment, attended=True, now=AFTER, staff=appointment.agent)
    for data, error in [
        ({"comment": "Bé"}, "Choose how satisfied you are, from 1 to 5."),
        ({"score": "9"}, "Choose how satisfied you are, from 1 to 5."),
        ({"score": "5", "comment": "x" * 1001}, "Write at most 1,000 characters."),
    ]:
        response = client.post(survey_url(appointment), data)
        assert response.status_code == 400
        assert error in page(response) and 'id="error-summary"' in page(response)
    assert 'aria-invalid="true"' in page(response)
    assert not SurveyAnswer.objects.exists()


@pytest.mark.django_db
def test_the_survey_opens_once_the_citizen_is_attended_or_let_into_the_call(
    client: Client, appointment: Appointment
) -> None:
    response = client.get(survey_url(appointment))
    assert response.status_code == 410
    assert "once you have been attended" in page(response)

    room = video.get_room(appointment)  # let into the call, not marked yet
    Room.objects.filter(pk=room.pk).update(citizen_admitted_at=START)
    assert client.get(survey_url(appointment)).status_code == 200


@pytest.mark.django_db
def test_the_survey_is_closed_for_an_appointment_that_did_not_take_place_or_long_past(
    client: Client, personas: Personas
) -> None:
    agent = Membership.objects.get(user=personas.agent_a)
    for hour, trait in enumerate(["no_show", "cancelled"]):
        missed = AppointmentFactory(
            agent=agent,
            service=personas.service_a,
            starts_at=START + dt.timedelta(hours=hour),
            **{trait: True},
        )
        text = "did not take place"
        response = client.post(survey_url(missed), {"score": "5"})
        assert response.status_code == 410 and text in page(response)

    old = AppointmentFactory(
        agent=agent, service=personas.service_a, attended=True, starts_at=START - OPEN_FOR * 2
    )
    response = client.post(survey_url(old), {"score": "5"})
    assert response.status_code == 410 and "has passed" in page(response)
    assert not SurveyAnswer.objects.exists()


@pytest.mark.django_db
def test_a_forged_link_or_one_under_another_organisation_is_not_found(
    client: Client, appointment: Appointment, personas: Personas
) -> None:
    record_outcome(appointment=appointment, attended=True, now=AFTER, staff=appointment.agent)
    forged = f"{appointment.code}-{'a' * 16}"
    assert client.get(survey_url(appointment, token=forged)).status_code == 404
    assert client.get(survey_url(appointment, token=join_token(appointment))).status_code == 404
    assert client.get(survey_url(appointment, token="nonsense")).status_code == 404
    assert client.get(survey_url(appointment, org=personas.org_b.slug)).status_code == 404
    assert client.post(survey_url(appointment, token=forged), {"score": "5"}).status_code == 404
    assert not SurveyAnswer.objects.exists()


@pytest.mark.django_db
def test_the_call_page_offers_the_survey_when_the_call_ends(
    client: Client, appointment: Appointment, personas: Personas
) -> None:
    call = client.get(f"/org-a/video/{join_token(appointment)}/call/")
    assert call.status_code == 200
    ended_panel = page(call).split('id="ended-panel"')[1].split("</section>")[0]
    assert f'href="{survey_url(appointment)}"' in ended_panel

    personas.org_a.sends_survey = False
    personas.org_a.save()
    call = client.get(f"/org-a/video/{join_token(appointment)}/call/")
    assert 'id="survey-link"' not in page(call)


@pytest.mark.django_db
def test_the_database_refuses_a_score_outside_one_to_five_and_a_second_answer(
    appointment: Appointment,
) -> None:
    def answer(score: int) -> SurveyAnswer:
        return SurveyAnswer.objects.create(
            organisation=appointment.organisation,
            appointment=appointment,
            score=score,
            language="ca",
            answered_at=AFTER,
        )

    with pytest.raises(IntegrityError), transaction.atomic():
        answer(6)
    answer(3)
    with pytest.raises(IntegrityError):
        answer(4)
