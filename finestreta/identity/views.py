"""The citizen's side, by their join link: the answers before the call (the privacy notice
read, the consents the procedure asks for, and withdrawing one: plain forms that come back to
that page, where no call runs), and signing in the call (fragments the call page puts in place)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from finestreta.appointments.common import InvalidLink
from finestreta.appointments.models import Appointment
from finestreta.appointments.web import limited, too_many
from finestreta.identity import codes, consent, electronic_id, panel, signatures
from finestreta.identity.forms import CitizenConsentForm, SignCodeForm
from finestreta.identity.models import ConsentMethod, ConsentRecord, Signature
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
def electronic_identity(request: HttpRequest, org: str, token: str, provider: str) -> HttpResponse:
    """The citizen chose to identify with one of the organisation's identity services: off to
    it, and back to the page before the call (identity.electronic_id)."""
    appointment = _appointment(org, token)
    if limited(request, "identity"):
        return too_many(request, appointment.organisation)
    return electronic_id.start(
        request, appointment=appointment, token=token, provider_slug=provider
    )


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


# --- Signing in the call ------------------------------------------------------------------


def too_many_text() -> str:
    return _(
        "We received too many requests from your connection in a short time. Wait a while and "
        "try again, or call us."
    )


def signature_context(
    appointment: Appointment, token: str, *, result: str = "", form: SignCodeForm | None = None
) -> dict[str, Any]:
    """What identity/_citizen_signature.html needs (the call page includes it too)."""
    pending = signatures.pending_signature(appointment)
    return {
        "organisation": appointment.organisation,
        "token": token,
        "pending": pending,
        "sent_to": codes.mask(pending.code.channel, pending.code.recipient)
        if pending and pending.code
        else "",
        "signed": [
            s for s in signatures.signatures_of(appointment) if s.status == Signature.Status.SIGNED
        ],
        "sign_result": result,
        "sign_form": form or SignCodeForm(),
    }


def _signature_fragment(
    request: HttpRequest,
    appointment: Appointment,
    token: str,
    *,
    result: str = "",
    form: SignCodeForm | None = None,
    status: int = 200,
) -> HttpResponse:
    context = signature_context(appointment, token, result=result, form=form)
    response = render(request, "identity/_citizen_signature.html", context, status=status)
    response["Cache-Control"] = "no-store"
    return response


@require_safe
def signature_panel(request: HttpRequest, org: str, token: str) -> HttpResponse:
    appointment = _appointment(org, token)
    return _signature_fragment(request, appointment, token)


def _pending_of(appointment: Appointment, pk: int) -> Signature:
    found = Signature.objects.filter(appointment=appointment, pk=pk).select_related("code").first()
    if found is None:
        raise Http404("No such signature")
    return found


@require_POST
def sign(request: HttpRequest, org: str, token: str, signature: int) -> HttpResponse:
    appointment = _appointment(org, token)
    if limited(request, "sign"):
        return _signature_fragment(request, appointment, token, result=too_many_text(), status=429)
    found = _pending_of(appointment, signature)
    form = SignCodeForm(request.POST)
    if not form.is_valid():
        return _signature_fragment(request, appointment, token, form=form, status=400)
    try:
        signatures.sign_with_code(
            signature=found,
            code=form.cleaned_data["code"],
            ip_address=client_ip(request),
            now=timezone.now(),
        )
    except codes.CodeRefused as refusal:
        form.add_error("code", refusal.message)
        return _signature_fragment(request, appointment, token, form=form, status=400)
    except signatures.SignatureRefused as refusal:
        return _signature_fragment(request, appointment, token, result=refusal.message, status=409)
    panel.tell_staff(services.get_room(appointment))
    return _signature_fragment(
        request,
        appointment,
        token,
        result=_("Signed. We are sending you the receipt; you can also download it here."),
    )


@require_POST
def decline(request: HttpRequest, org: str, token: str, signature: int) -> HttpResponse:
    appointment = _appointment(org, token)
    if limited(request, "sign"):
        return _signature_fragment(request, appointment, token, result=too_many_text(), status=429)
    found = _pending_of(appointment, signature)
    try:
        signatures.decline(signature=found, now=timezone.now())
    except signatures.SignatureRefused as refusal:
        return _signature_fragment(request, appointment, token, result=refusal.message, status=409)
    panel.tell_staff(services.get_room(appointment))
    return _signature_fragment(
        request, appointment, token, result=_("You did not sign. Nothing has been signed.")
    )


@require_safe
def citizen_receipt(request: HttpRequest, org: str, token: str, signature: int) -> HttpResponse:
    appointment = _appointment(org, token)
    found = Signature.objects.filter(
        appointment=appointment, pk=signature, status=Signature.Status.SIGNED
    ).first()
    if found is None:
        raise Http404("No such receipt")
    return receipt_response(found)


def receipt_response(signature: Signature) -> HttpResponse:
    response = HttpResponse(bytes(signature.receipt), content_type="application/pdf")
    response["Content-Disposition"] = (
        f'attachment; filename="justificant-{signature.verification_code}.pdf"'
    )
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
