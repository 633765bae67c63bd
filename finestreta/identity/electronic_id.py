"""The citizen identifies themselves with their electronic identity before the call (ADR 29).

The organisation's citizen identity service (VÀLid, Cl@ve… over OpenID Connect or SAML 2.0) is
an `accounts.IdentityProvider` for citizens, driven by the same allauth machinery as staff single
sign-on. The difference is what happens when the provider answers:

- the journey starts only from the page of a join link (`start`), which puts the appointment in
  allauth's own state for that one request to the provider: the state lives in the session and
  is used once, so an answer cannot be replayed nor arrive for another appointment;
- the answer (`complete`, called by the allauth adapter before any login) records an
  IdentityCheck for that appointment and goes back to the citizen's page. Nobody is signed in,
  and no user or account is created: a citizens' provider never opens a staff session, and an
  answer that did not start from a join link is refused.

The document number the provider states is compared with the one given when booking (if one
was) and kept only as a keyed hash, unless the procedure needs the number itself.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
from typing import Any, NoReturn

import requests
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.models import SocialLogin
from allauth.socialaccount.providers.base import AuthProcess
from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from finestreta.accounts.models import IdentityProvider
from finestreta.accounts.sso_config import build_social_app
from finestreta.appointments.common import InvalidLink
from finestreta.appointments.models import Appointment
from finestreta.identity import identify
from finestreta.identity.models import Assurance, DocumentType, IdentityCheck
from finestreta.identity.policy import rules_for

STATE_KEY = "finestreta_citizen_identity"
logger = logging.getLogger(__name__)


def citizen_providers(organisation_id: int) -> list[IdentityProvider]:
    """The organisation's active citizen identity services, by name."""
    return list(
        IdentityProvider.objects.filter(
            organisation_id=organisation_id,
            organisation__is_active=True,
            audience=IdentityProvider.Audience.CITIZENS,
            is_active=True,
        ).order_by("name")
    )


def latest_check(appointment: Appointment) -> IdentityCheck | None:
    """The citizen's latest identification with their electronic identity, if any."""
    return (
        IdentityCheck.objects.filter(
            appointment=appointment, method=IdentityCheck.Method.ELECTRONIC_ID
        )
        .select_related("provider")
        .order_by("-checked_at", "-pk")
        .first()
    )


def for_citizen(appointment: Appointment) -> dict[str, Any]:
    """What the page before the call shows about identifying with an electronic identity: the
    services to choose from (when the procedure identifies the citizen at all), whether it is
    required, and how the latest attempt went."""
    rules = rules_for(appointment.service)
    providers = citizen_providers(appointment.organisation_id) if rules.identifies else []
    check = latest_check(appointment) if providers else None
    return {
        "identity_providers": providers,
        "identity_required": rules.identity == Assurance.ELECTRONIC_ID,
        "identity_check": check,
        "identity_problem": problem_of(check) if check and not check.verified else "",
    }


# --- The journey -----------------------------------------------------------------------------


def start(
    request: HttpRequest, *, appointment: Appointment, token: str, provider_slug: str
) -> HttpResponse:
    """Send the citizen to their identity provider, remembering (in allauth's one-use state)
    which appointment the answer is for. Http404 for a provider that is not one of this
    organisation's citizen services."""
    found = next(
        (p for p in citizen_providers(appointment.organisation_id) if p.slug == provider_slug),
        None,
    )
    if found is None:
        raise Http404("No such identity service")
    provider = build_social_app(found).get_provider(request)
    mark = {
        "appointment": appointment.pk,
        "organisation": appointment.organisation_id,
        "provider": found.slug,
        "token": token,
    }
    try:
        response: HttpResponse = provider.redirect(
            request, AuthProcess.LOGIN, next_url=None, data={STATE_KEY: mark}
        )
    except requests.RequestException:
        # OpenID Connect reads the provider's discovery document first: it did not answer.
        logger.warning("Citizen identity service %s did not answer", found.slug, exc_info=True)
        return render(
            request,
            "identity/electronic_id_unavailable.html",
            {"organisation": appointment.organisation, "token": token, "provider": found},
            status=503,
        )
    return response


def complete(request: HttpRequest, sociallogin: SocialLogin, idp: IdentityProvider) -> NoReturn:
    """The provider's answer for a citizen: record it and go back to their page. Always raises
    ImmediateHttpResponse, so allauth signs nobody in."""
    from finestreta.video import services as video

    mark = (sociallogin.state.get("data") or {}).get(STATE_KEY)
    if (
        idp.audience != IdentityProvider.Audience.CITIZENS
        or not isinstance(mark, dict)
        or mark.get("provider") != idp.slug
        or mark.get("organisation") != idp.organisation_id
    ):
        refuse(request, idp)
    now = timezone.now()
    try:
        appointment = video.get_appointment_for_citizen(
            organisation=idp.organisation, token=str(mark.get("token", "")), now=now
        )
    except InvalidLink:
        refuse(request, idp)
    if appointment.pk != mark.get("appointment"):
        refuse(request, idp)
    from finestreta.accounts.sso import claims_of

    check = record_electronic_identity(
        appointment=appointment,
        provider=idp,
        subject=str(sociallogin.account.uid),
        claims=claims_of(sociallogin),
        name=" ".join(
            part for part in (sociallogin.user.first_name, sociallogin.user.last_name) if part
        ),
        now=now,
    )
    from finestreta.identity import panel

    transaction.on_commit(lambda: panel.tell_staff(video.get_room(appointment)))
    if check.verified:
        messages.success(request, _("Thank you: you have identified yourself."))
    else:
        messages.error(request, problem_of(check))
    url = reverse("video:precall", args=[appointment.organisation.slug, mark["token"]])
    raise ImmediateHttpResponse(redirect(url + "#identity"))


def refuse(request: HttpRequest, idp: IdentityProvider) -> NoReturn:
    """The citizens' page for an identification that cannot be used (nothing recorded)."""
    raise ImmediateHttpResponse(
        render(
            request,
            "identity/electronic_id_refused.html",
            {"organisation": idp.organisation},
            status=403,
        )
    )


# --- Recording what the provider said --------------------------------------------------------


def document_number_of(idp: IdentityProvider, claims: dict[str, list[str]]) -> str:
    """The document number the provider states, normalised ("" when it states none). Cl@ve's
    eIDAS identifier "ES/ES/12345678Z" gives "12345678Z"."""
    if not idp.document_attribute:
        return ""
    values = claims.get(idp.document_attribute) or [""]
    return identify.normalise_number(values[0].rsplit("/", 1)[-1])


def document_type_of(number: str) -> str:
    if not identify.number_problem(DocumentType.DNI, number):
        return DocumentType.DNI
    if not identify.number_problem(DocumentType.NIE, number):
        return DocumentType.NIE
    return DocumentType.OTHER


def subject_hash(idp: IdentityProvider, subject: str) -> str:
    """A keyed hash of who the provider says the person is (the same person, the same value)."""
    message = f"{idp.slug}:{subject}".encode()
    return hmac.new(identify.hash_key(), message, hashlib.sha256).hexdigest()


def record_electronic_identity(
    *,
    appointment: Appointment,
    provider: IdentityProvider,
    subject: str,
    claims: dict[str, list[str]],
    name: str,
    now: dt.datetime,
) -> IdentityCheck:
    """The identity the provider asserted, for this appointment. It identifies the citizen
    unless it contradicts the booking: a document given when booking must be the one the
    provider states."""
    number = document_number_of(provider, claims)
    booked = identify.normalise_number(appointment.id_document)
    verified = not booked or number == booked
    document_type = document_type_of(number) if number else ""
    rules = rules_for(appointment.service)
    name = name or (claims.get("name") or [""])[0]
    with transaction.atomic():
        check = IdentityCheck.objects.create(
            organisation=appointment.organisation,
            appointment=appointment,
            method=IdentityCheck.Method.ELECTRONIC_ID,
            verified=verified,
            agent=None,
            provider=provider,
            identified_name=name[:300],
            assurance_level=(claims.get("acr") or [""])[0][:200],
            subject_hash=subject_hash(provider, subject),
            document_type=document_type,
            document_hash=identify.document_hash(document_type, number) if number else "",
            document_number=number if number and rules.keeps_document_number else "",
            checked_at=now,
        )
        identify.audit_check(
            check, extra={"provider": provider.slug, "booked_document": bool(booked)}
        )
    return check


def problem_of(check: IdentityCheck) -> str:
    """Why an electronic identity did not identify the citizen, in the reader's language."""
    if not check.document_hash:
        return _(
            "Your identification does not say your document number, so it cannot be compared "
            "with the one you gave when booking. Show your document in the call instead."
        )
    return _(
        "The identity you used is not the one of the document given when booking. If this is "
        "a mistake, tell the person who attends you in the call."
    )
