"""The citizen's video pages, reached by the join link of a video appointment: the check of
camera, microphone, speaker and network before the call, and the call itself (its waiting room
first). The call runs in the browser (static/finestreta/video/); these pages carry what it needs
in data attributes and every text it shows, translated."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from finestreta.accounts.sso_config import provider_origin
from finestreta.appointments.common import InvalidLink
from finestreta.appointments.models import Appointment
from finestreta.identity import consent, electronic_id
from finestreta.identity.forms import CitizenConsentForm
from finestreta.identity.views import signature_context
from finestreta.lib.csp import allow_form_action
from finestreta.reports.services import survey_path
from finestreta.tenants.models import Organisation
from finestreta.tenants.services import get_public_organisation
from finestreta.video import services
from finestreta.video.models import Room


@require_safe
@never_cache  # the page carries short-lived TURN credentials
def precall(request: HttpRequest, org: str, token: str) -> HttpResponse:
    organisation = get_public_organisation(org)
    now = timezone.now()
    try:
        appointment = services.get_appointment_for_citizen(
            organisation=organisation, token=token, now=now
        )
    except InvalidLink:
        return _invalid_link(request, organisation)
    context = _page(appointment, token, now)
    context.update(_consents(appointment))
    context.update(electronic_id.for_citizen(appointment))
    turn_servers = services.check_turn_servers(context["room"])
    context.update(turn_servers=json.dumps(turn_servers), relay_check=bool(turn_servers))
    response = render(request, "video/precall.html", context)
    # "Identify me with …" leads to the identity services.
    return allow_form_action(response, map(provider_origin, context["identity_providers"]))


@require_safe
@never_cache
def call(request: HttpRequest, org: str, token: str) -> HttpResponse:
    organisation = get_public_organisation(org)
    now = timezone.now()
    try:
        appointment = services.get_appointment_for_citizen(
            organisation=organisation, token=token, now=now
        )
    except InvalidLink:
        return _invalid_link(request, organisation)
    context = {**_page(appointment, token, now), **signature_context(appointment, token)}
    return render(request, "video/call.html", context)


def _consents(appointment: Appointment) -> dict[str, Any]:
    """What the procedure asks the citizen to read and answer before the call (the exact text
    of each question, kept as the version they answer), and their answers so far."""
    kinds = consent.pending(appointment)
    form = CitizenConsentForm(kinds=kinds)
    language = translation.get_language()  # the page's: the citizen reads it there
    texts = [consent.current_text(appointment.organisation, kind, language) for kind in kinds]
    return {
        "consent_form": form if kinds else None,
        "consent_questions": [(text, form[text.kind]) for text in texts],
        "consent_answers": consent.consents_of(appointment),
    }


def _page(appointment: Appointment, token: str, now: dt.datetime) -> dict[str, Any]:
    room = services.get_room(appointment)
    opens, closes = services.join_window(appointment)
    return {
        "organisation": appointment.organisation,
        "appointment": appointment,
        "room": room,
        "token": token,
        "opens": opens,
        "closes": closes,
        "window": services.window_state(appointment, now=now),
        "ended": room.state == Room.State.ENDED,
        "socket_path": services.room_socket_path(room),
        # Offered when the call ends (the page shows it then).
        "survey_url": survey_path(appointment) if appointment.organisation.sends_survey else "",
    }


@require_safe
@never_cache
def guest(request: HttpRequest, org: str, room: str, token: str) -> HttpResponse:
    """The call page of a guest the agent invited (an interpreter, a specialist): in at once,
    by the link of their invitation."""
    from finestreta.video.invitations import get_guest_room

    organisation = get_public_organisation(org)
    found_invited = get_guest_room(
        organisation_id=organisation.pk, public_id=room, token=token, now=timezone.now()
    )
    if found_invited is None:
        return _invalid_link(request, organisation)
    found, invitation = found_invited
    return render(
        request,
        "video/guest.html",
        {
            "organisation": organisation,
            "appointment": found.appointment,
            "room": found,
            "invitation": invitation,
            "guest_token": token,
            "ended": found.state == Room.State.ENDED,
            "socket_path": services.room_socket_path(found),
        },
    )


def _invalid_link(request: HttpRequest, organisation: Organisation) -> HttpResponse:
    return render(request, "video/invalid_link.html", {"organisation": organisation}, status=404)
