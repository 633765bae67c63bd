"""The satisfaction survey: one short question (1 to 5, and a comment if the citizen wants) after
each attention, reached by a signed link — in the message sent after it and on the call page
when the call ends. No account: the link is the key, and it opens only the survey."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils.crypto import constant_time_compare

from finestreta.appointments.models import Appointment
from finestreta.appointments.services import InvalidLink, link_signature
from finestreta.reports.models import SurveyAnswer
from finestreta.tenants.models import Organisation

SURVEY_SALT = "finestreta.reports.survey"
# How long after the appointment the survey can be answered.
OPEN_FOR = dt.timedelta(days=30)


class Closed(Exception):
    """The survey of this appointment cannot be answered (now)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason  # "not_yet" (not attended yet), "missed", "expired"


@dataclass(frozen=True)
class Survey:
    appointment: Appointment
    answer: SurveyAnswer | None


def survey_token(appointment: Appointment) -> str:
    signature = link_signature(SURVEY_SALT, appointment.pk, appointment.code)
    return f"{appointment.code}-{signature}"


def survey_path(appointment: Appointment) -> str:
    return reverse("survey:answer", args=[appointment.organisation.slug, survey_token(appointment)])


def get_survey(*, organisation: Organisation, token: str) -> Survey:
    """The appointment a survey link names, with its answer if given; InvalidLink for a wrong
    or forged link (or another organisation's)."""
    code, _dash, signature = token.rpartition("-")
    found = (
        Appointment.objects.select_related("organisation", "service", "office")
        .filter(organisation=organisation, code=code)
        .exclude(status=Appointment.Status.HELD)
        .first()
        if code
        else None
    )
    if found is None or not constant_time_compare(
        signature, link_signature(SURVEY_SALT, found.pk, found.code)
    ):
        raise InvalidLink()
    answer = SurveyAnswer.objects.filter(appointment=found).first()
    return Survey(found, answer)


def check_open(appointment: Appointment, *, now: dt.datetime) -> None:
    """Raise Closed unless the citizen may answer now: they were attended (or let into the
    video call, before the office marked the appointment), within OPEN_FOR of its end."""
    from finestreta.video.services import citizen_was_admitted

    status = appointment.status
    if status in (Appointment.Status.CANCELLED, Appointment.Status.NO_SHOW):
        raise Closed("missed")
    if status != Appointment.Status.ATTENDED and not citizen_was_admitted(appointment.pk):
        raise Closed("not_yet")
    if appointment.ends_at + OPEN_FOR < now:
        raise Closed("expired")


def answer_survey(
    *, survey: Survey, score: int, comment: str, language: str, now: dt.datetime
) -> tuple[SurveyAnswer, bool]:
    """Record the answer; (the answer, True) when new, (the first answer, False) when the
    survey had been answered already (an answer is not changed afterwards). Raises Closed."""
    if survey.answer is not None:
        return survey.answer, False
    check_open(survey.appointment, now=now)
    if not 1 <= score <= 5:
        raise ValueError("score out of range")
    try:
        with transaction.atomic():
            answer = SurveyAnswer.objects.create(
                organisation=survey.appointment.organisation,
                appointment=survey.appointment,
                score=score,
                comment=comment.strip()[:1000],
                language=language,
                answered_at=now,
            )
    except IntegrityError:  # answered a moment ago, in another tab
        return SurveyAnswer.objects.get(appointment=survey.appointment), False
    return answer, True
