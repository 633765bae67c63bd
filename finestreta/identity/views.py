"""The citizen's answers before the call, on the page of their join link: the privacy notice
read, and the consents the procedure asks for; and withdrawing one. Plain forms that come back
to that page (no call is running there)."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from finestreta.appointments.common import InvalidLink
from finestreta.appointments.models import Appointment
from finestreta.appointments.web import limited, too_many
from finestreta.identity import consent, panel
from finestreta.identity.forms import CitizenConsentForm
from finestreta.identity.models import ConsentMethod, ConsentRecord
from finestreta.lib.net import client_ip
from finestreta.tenants.services import get_public_organisation
from finestreta.video import services


def _appointment(org: str, token: str) -> Appointment:
    organisation = get_public_organisation(org)
    try:
        return services.get_appointment_for_citizen(
            organisation=organisation, token=token, now=timezone.now()
        )
    except InvalidLink:
        raise Http404("No such call") from None


def _back(org: str, token: str) -> HttpResponse:
    return redirect(reverse("video:precall", args=[org, token]) + "#consent")


@require_POST
def answer(request: HttpRequest, org: str, token: str) -> HttpResponse:
    appointment = _appointment(org, token)
    if limited(request, "consent"):
        return too_many(request, appointment.organisation)
    kinds = consent.pending(appointment)
    form = CitizenConsentForm(request.POST, kinds=kinds)
    if not kinds:
        messages.info(request, _("Your answers were already saved."))
        return _back(org, token)
    if not form.is_valid():
        # The page shows the questions again; the first problem is said at the top.
        messages.error(request, str(next(iter(form.errors.values()))[0]))
        return _back(org, token)
    now = timezone.now()
    for kind, granted in form.answers():
        consent.record_consent(
            appointment=appointment,
            kind=kind,
            granted=granted,
            method=ConsentMethod.CLICKED,
            ip_address=client_ip(request),
            language=translation.get_language(),
            now=now,
        )
    panel.tell_staff(services.get_room(appointment))
    messages.success(request, _("Thank you: your answers are saved."))
    return _back(org, token)


@require_POST
def withdraw(request: HttpRequest, org: str, token: str, record: int) -> HttpResponse:
    appointment = _appointment(org, token)
    if limited(request, "consent"):
        return too_many(request, appointment.organisation)
    found = ConsentRecord.objects.filter(appointment=appointment, pk=record).first()
    if found is None:
        raise Http404("No such consent")
    try:
        consent.withdraw_consent(record=found, method=ConsentMethod.CLICKED, now=timezone.now())
    except consent.ConsentRefused as refusal:
        messages.error(request, refusal.message)
        return _back(org, token)
    panel.tell_staff(services.get_room(appointment))
    messages.success(request, _("Your consent is withdrawn."))
    return _back(org, token)
