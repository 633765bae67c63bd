"""The agent's panel of identity and consent in a call: fragments of HTML that the call page's
script puts in place (a full reload would drop the call). Under /<org>/staff/video/<room>/."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from finestreta.accounts.services import StaffContext, get_membership_for_staff
from finestreta.identity import codes, consent, identify, panel, signatures
from finestreta.identity.forms import (
    CodeCheckForm,
    CodeSendForm,
    ConsentCodeForm,
    DocumentCheckForm,
    SignatureRequestForm,
    SpokenConsentForm,
)
from finestreta.identity.models import CodePurpose, ConsentKind, ConsentMethod, Signature
from finestreta.identity.policy import rules_for
from finestreta.identity.views import receipt_response
from finestreta.video import services
from finestreta.video.coaching import is_coaching
from finestreta.video.models import Invitation, Room


def _room(request: HttpRequest, org: str, room: str) -> tuple[StaffContext, Room]:
    staff = get_membership_for_staff(request, org)
    found = services.get_room_for_staff(staff, room)
    if is_coaching(found, staff.membership):
        raise PermissionDenied("A supervisor listening silently takes no part.")
    return staff, found


def panel_context(
    staff: StaffContext, room: Room, *, result: str = "", **forms: Any
) -> dict[str, Any]:
    """What identity/_panel.html needs (the staff call page includes it too)."""
    shown = panel.build(room.appointment, user=staff.user, now=timezone.now())
    choices = [(f"{d.channel}:{d.address}", d.masked) for d in shown.destinations]
    return {
        "organisation": staff.organisation,
        "room": room,
        "panel": shown,
        "result": result,
        "send_form": forms.get("send_form") or CodeSendForm(choices=choices),
        "code_form": forms.get("code_form") or CodeCheckForm(),
        "document_form": forms.get("document_form") or DocumentCheckForm(),
        "spoken_form": forms.get("spoken_form")
        or SpokenConsentForm(kinds=shown.asks_spoken, people=guest_choices(room)),
        "recording": recording_state(room),
        "signature_form": forms.get("signature_form")
        or SignatureRequestForm(destinations=choices, files=file_choices(shown)),
        "on_behalf_form": forms.get("on_behalf_form") or ConsentCodeForm(),
    }


def guest_choices(room: Room) -> list[tuple[str, str]]:
    """The invited guests in the call now, who answer the consent questions for themselves."""
    return [(str(guest.invitation_id), guest.name) for guest in services.guests_in_call(room)]


def recording_state(room: Room) -> dict[str, Any]:
    """Whether the call is recorded, and who still has to agree before it can be."""
    from finestreta.recordings import services as recordings

    return {"live": recordings.live_recording(room), "gate": recordings.gate(room)}


def file_choices(shown: panel.Panel) -> list[tuple[int, str]]:
    return [(f.pk, f"{f.name} ({f.sender})") for f in shown.shared_files]


def _render(
    request: HttpRequest,
    staff: StaffContext,
    room: Room,
    *,
    result: str = "",
    status: int = 200,
    **forms: Any,
) -> HttpResponse:
    context = panel_context(staff, room, result=result, **forms)
    return render(request, "identity/_panel.html", context, status=status)


@login_required
@require_safe
@never_cache
def show(request: HttpRequest, org: str, room: str) -> HttpResponse:
    staff, found = _room(request, org, room)
    return _render(request, staff, found)


@login_required
@require_POST
def send_code(request: HttpRequest, org: str, room: str) -> HttpResponse:
    staff, found = _room(request, org, room)
    appointment = found.appointment
    choices = [(f"{d.channel}:{d.address}", d.masked) for d in codes.destinations(appointment)]
    form = CodeSendForm(request.POST, choices=choices)
    if not form.is_valid():
        return _render(request, staff, found, send_form=form, status=400)
    channel, _sep, address = form.cleaned_data["destination"].partition(":")
    destination = codes.Destination(channel, address)
    try:
        codes.send_code(
            appointment=appointment,
            purpose=CodePurpose.IDENTIFY,
            destination=destination,
            sent_by=staff.user,
            now=timezone.now(),
        )
    except codes.CodeRefused as refusal:
        return _render(request, staff, found, result=refusal.message, status=409)
    result = _("Code sent to %(to)s. Ask the person to read it out.") % {"to": destination.masked}
    return _render(request, staff, found, result=result)


@login_required
@require_POST
def check_code(request: HttpRequest, org: str, room: str) -> HttpResponse:
    staff, found = _room(request, org, room)
    form = CodeCheckForm(request.POST)
    if not form.is_valid():
        return _render(request, staff, found, code_form=form, status=400)
    try:
        identify.identify_by_code(
            appointment=found.appointment,
            agent=staff.user,
            code=form.cleaned_data["code"],
            now=timezone.now(),
        )
    except codes.CodeRefused as refusal:
        form.add_error("code", refusal.message)
        return _render(request, staff, found, code_form=form, status=400)
    panel.tell_staff(found)
    return _render(request, staff, found, result=_("Identified: the code is right."))


@login_required
@require_POST
def check_document(request: HttpRequest, org: str, room: str) -> HttpResponse:
    staff, found = _room(request, org, room)
    form = DocumentCheckForm(request.POST)
    if not form.is_valid():
        return _render(request, staff, found, document_form=form, status=400)
    now = timezone.now()
    data = form.cleaned_data
    try:
        check = identify.check_document(
            appointment=found.appointment,
            agent=staff.user,
            document_type=data["document_type"],
            number=data["number"],
            number_checked=data["number_checked"],
            photo_matches=data["photo_matches"],
            not_expired=data["not_expired"],
            expires_on=data["expires_on"],
            today=timezone.localdate(now),
            now=now,
        )
    except identify.CheckRefused as refusal:
        for name, message in refusal.errors.items():
            form.add_error(name or None, message)
        return _render(request, staff, found, document_form=form, status=400)
    panel.tell_staff(found)
    if check.verified:
        result = _("Identified with the document.")
    else:
        result = _(
            "Recorded: the document did not pass every check, so the person is not identified."
        )
    return _render(request, staff, found, result=result)


@login_required
@require_POST
def spoken_consent(request: HttpRequest, org: str, room: str) -> HttpResponse:
    staff, found = _room(request, org, room)
    asked = consent.asked_of(rules_for(found.appointment.service))
    form = SpokenConsentForm(request.POST, kinds=asked, people=guest_choices(found))
    if not form.is_valid():
        return _render(request, staff, found, spoken_form=form, status=400)
    kind = ConsentKind(form.cleaned_data["kind"])
    granted = form.cleaned_data["granted"]
    guest = (
        Invitation.objects.get(room=found, pk=int(form.cleaned_data["person"]))
        if form.cleaned_data["person"]
        else None
    )
    try:
        consent.record_consent(
            appointment=found.appointment,
            kind=kind,
            granted=granted,
            method=ConsentMethod.SPOKEN,
            attested_by=staff.user,
            now=timezone.now(),
            person=guest.name if guest is not None else "",
            invitation=guest,
        )
    except consent.ConsentRefused as refusal:
        return _render(request, staff, found, result=refusal.message, status=400)
    panel.tell_staff(found)
    return _render(request, staff, found, result=_("The person's answer is recorded."))


# --- Signature ------------------------------------------------------------------------------


@login_required
@require_POST
def request_signature(request: HttpRequest, org: str, room: str) -> HttpResponse:
    staff, found = _room(request, org, room)
    appointment = found.appointment
    shown = panel.build(appointment, user=staff.user, now=timezone.now())
    choices = [(f"{d.channel}:{d.address}", d.masked) for d in shown.destinations]
    form = SignatureRequestForm(request.POST, destinations=choices, files=file_choices(shown))
    if not form.is_valid():
        return _render(request, staff, found, signature_form=form, status=400)
    data = form.cleaned_data
    channel, _sep, address = data["destination"].partition(":")
    shared = next((f for f in shown.shared_files if f.pk == data.get("shared_file")), None)
    try:
        signatures.request_signature(
            appointment=appointment,
            agent=staff.user,
            title=data["title"],
            body="" if shared else data["body"],
            shared_file=shared,
            destination=codes.Destination(channel, address),
            now=timezone.now(),
        )
    except (codes.CodeRefused, signatures.SignatureRefused) as refusal:
        return _render(request, staff, found, result=refusal.message, status=409)
    panel.tell_citizen(found)
    panel.tell_staff(found)
    to = codes.mask(channel, address)
    if shown.needs_habilitated:
        result = _("Code sent to %(to)s. If the person agrees, they read it out to you.")
    else:
        result = _("Code sent to %(to)s. The person reads the text and signs on their page.")
    return _render(request, staff, found, result=result % {"to": to})


def _signature(room: Room, pk: int) -> Signature:
    found = Signature.objects.filter(appointment=room.appointment, pk=pk).first()
    if found is None:
        raise Http404("No such signature")
    return found


@login_required
@require_POST
def sign_on_behalf(request: HttpRequest, org: str, room: str, signature: int) -> HttpResponse:
    staff, found = _room(request, org, room)
    pending = _signature(found, signature)
    # "spoken": the person said yes aloud, on the call's recording; else the code they read out.
    spoken = request.POST.get("consent") == "spoken"
    form = ConsentCodeForm(request.POST)
    if spoken:
        form.fields["code"].required = False
    if not form.is_valid():
        return _render(request, staff, found, on_behalf_form=form, status=400)
    try:
        signatures.sign_on_behalf(
            signature=pending,
            official=staff.user,
            code=None if spoken else form.cleaned_data["code"],
            now=timezone.now(),
        )
    except codes.CodeRefused as refusal:
        form.add_error("code", refusal.message)
        return _render(request, staff, found, on_behalf_form=form, status=400)
    except signatures.SignatureRefused as refusal:
        return _render(request, staff, found, result=refusal.message, status=409)
    panel.tell_citizen(found)
    panel.tell_staff(found)
    return _render(
        request,
        staff,
        found,
        result=_("Signed on the person's behalf, with their consent. The receipt is on its way."),
    )


@login_required
@require_POST
def withdraw_signature(request: HttpRequest, org: str, room: str, signature: int) -> HttpResponse:
    staff, found = _room(request, org, room)
    pending = _signature(found, signature)
    try:
        signatures.withdraw_request(signature=pending, agent=staff.user, now=timezone.now())
    except signatures.SignatureRefused as refusal:
        return _render(request, staff, found, result=refusal.message, status=409)
    panel.tell_citizen(found)
    panel.tell_staff(found)
    return _render(request, staff, found, result=_("The request to sign is withdrawn."))


@login_required
@require_safe
def receipt(request: HttpRequest, org: str, room: str, signature: int) -> HttpResponse:
    _staff, found = _room(request, org, room)
    signed = _signature(found, signature)
    if signed.status != Signature.Status.SIGNED:
        raise Http404("Not signed")
    return receipt_response(signed)
