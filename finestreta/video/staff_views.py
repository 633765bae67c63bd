"""Staff's video pages: the citizens waiting now (live), a call (the same call page as the
citizen's, plus admitting, messages to the waiting citizen, call-back requests and ending the
call), and the way into a call from an appointment. Who may serve which call is decided in
`video.services` (`can_serve`)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from finestreta.accounts.models import Role
from finestreta.accounts.services import get_membership_for_staff
from finestreta.appointments import agenda, notify
from finestreta.appointments.contact import format_phone
from finestreta.catalogue.models import Channel
from finestreta.identity.policy import rules_for
from finestreta.identity.staff_views import panel_context
from finestreta.video import coaching, invitations, services
from finestreta.video.forms import InviteColleagueForm, InviteGuestForm
from finestreta.video.models import Invitation, Room


@require_safe
@login_required
def lobby(request: HttpRequest, org: str) -> HttpResponse:
    staff = get_membership_for_staff(request, org)
    context = {
        "staff": staff,
        "organisation": staff.organisation,
        "waiting": services.list_waiting(staff),
        "socket_path": services.lobby_socket_path(staff.organisation),
    }
    return render(request, "video/staff/lobby.html", context)


@require_safe
@login_required
def room(request: HttpRequest, org: str, room: str) -> HttpResponse:
    staff = get_membership_for_staff(request, org)
    found = services.get_room_for_staff(staff, room)
    appointment = found.appointment
    agenda.record_appointment_viewed(staff, appointment)  # the page shows the person's data
    context = {
        "staff": staff,
        "organisation": staff.organisation,
        "room": found,
        "appointment": appointment,
        "phone": format_phone(appointment.phone),
        "ended": found.state == Room.State.ENDED,
        "socket_path": services.room_socket_path(found, via=staff.organisation.slug),
        # Another organisation's citizen, attended through a shared queue (ADR 25).
        "shared": found.organisation_id != staff.organisation.pk,
        "invitations": invitations.list_invitations(found),
        "colleague_form": InviteColleagueForm(colleagues=invitations.colleagues(staff)),
        "guest_form": InviteGuestForm(),
        # A supervisor listening for coaching: the page sends nothing and takes no part.
        "silent": coaching.is_coaching(found, staff.membership),
        # The procedure may be recorded (the server still checks consent when asked).
        "records": rules_for(appointment.service).may_record,
    }
    if not context["silent"]:
        context.update(panel_context(staff, found))
    return render(request, "video/staff/room.html", context)


@login_required
@require_POST
def listen(request: HttpRequest, org: str, room: str) -> HttpResponse:
    """A supervisor starts listening silently to a call in progress (where allowed)."""
    staff = get_membership_for_staff(request, org, min_role=Role.SUPERVISOR)
    try:
        found = coaching.start_coaching(staff=staff, public_id=room, now=timezone.now())
    except coaching.CoachingRefused as refusal:
        messages.error(request, str(refusal.message))
        return redirect("staff-queue:supervisor", staff.organisation.slug)
    return redirect("staff-video:room", staff.organisation.slug, found.public_id)


@login_required
@require_POST
def invite(request: HttpRequest, org: str, room: str) -> HttpResponse:
    """Invite a colleague (or transfer the call to them), or make a guest's link — shown once,
    on the call page, to pass on."""
    staff = get_membership_for_staff(request, org)
    found = services.get_room_for_staff(staff, room)
    now = timezone.now()
    back = redirect("staff-video:room", org=staff.organisation.slug, room=found.public_id)
    try:
        if "guest-name" in request.POST:
            guest_form = InviteGuestForm(request.POST)
            if not guest_form.is_valid():
                messages.error(request, " ".join(_all_errors(guest_form)))
                return back
            invited = invitations.invite_guest(
                staff=staff,
                room=found,
                name=guest_form.cleaned_data["name"],
                kind=guest_form.cleaned_data["kind"],
                now=now,
            )
            messages.success(
                request,
                _(
                    "Send this link to %(name)s; it works for four hours and is shown only "
                    "now: %(link)s"
                )
                % {"name": invited.invitation.name, "link": invited.link},
            )
            return back
        colleague_form = InviteColleagueForm(request.POST, colleagues=invitations.colleagues(staff))
        if not colleague_form.is_valid():
            messages.error(request, " ".join(_all_errors(colleague_form)))
            return back
        invitation = invitations.invite_colleague(
            staff=staff,
            room=found,
            membership_id=colleague_form.cleaned_data["membership"].pk,
            kind=colleague_form.cleaned_data["kind"],
            now=now,
        )
    except services.NotAllowed as refusal:
        messages.error(request, _refusal_text(refusal.code))
        return back
    if invitation.kind == Invitation.Kind.TRANSFER:
        messages.success(
            request,
            _(
                "The call is now %(name)s's: they can open it from their video waiting room. "
                "Stay until they join, then leave the call."
            )
            % {"name": invitation.name},
        )
    else:
        messages.success(
            request,
            _("%(name)s can now join this call from their video waiting room.")
            % {"name": invitation.name},
        )
    return back


@login_required
@require_POST
def revoke_invitation(request: HttpRequest, org: str, room: str, invitation: int) -> HttpResponse:
    staff = get_membership_for_staff(request, org)
    found = services.get_room_for_staff(staff, room)
    target = Invitation.objects.filter(room=found, pk=invitation).first()
    if target is None:
        raise Http404("No such invitation in this call")
    try:
        invitations.revoke(staff=staff, invitation=target, now=timezone.now())
    except services.NotAllowed as refusal:
        messages.error(request, _refusal_text(refusal.code))
    else:
        messages.success(request, _("The invitation no longer lets anyone in."))
    return redirect("staff-video:room", org=staff.organisation.slug, room=found.public_id)


@login_required
@require_POST
def send_join_link(request: HttpRequest, org: str, code: str) -> HttpResponse:
    """Send the citizen the link to the call again (by e-mail and SMS)."""
    staff = get_membership_for_staff(request, org)
    appointment = agenda.get_appointment_for_staff(staff, code)
    sent = notify.send_join_link(
        appointment, now=timezone.now(), version=str(int(timezone.now().timestamp()))
    )
    if sent:
        messages.success(request, _("The link to the video call is on its way to the person."))
    else:
        messages.error(
            request,
            _("No link was sent: the appointment is not a booked video call with an address."),
        )
    return redirect("staff-appointments:detail", org=staff.organisation.slug, code=appointment.code)


def _all_errors(form: InviteColleagueForm | InviteGuestForm) -> list[str]:
    return [str(error) for errors in form.errors.values() for error in errors]


def _refusal_text(code: str) -> str:
    texts = {
        "busy": _("That colleague has another appointment at this time: choose someone else."),
        "ended": _("The call has ended."),
    }
    return texts.get(code, _("That is not possible in this call."))


@require_safe
@login_required
def open_room(request: HttpRequest, org: str, code: str) -> HttpResponse:
    """From the appointment to its call: the room, made on first use."""
    staff = get_membership_for_staff(request, org)
    appointment = agenda.get_appointment_for_staff(staff, code)
    if appointment.channel != Channel.VIDEO:
        raise Http404("Not a video appointment")
    found = services.get_room(appointment)
    return redirect("staff-video:room", org=staff.organisation.slug, room=found.public_id)
