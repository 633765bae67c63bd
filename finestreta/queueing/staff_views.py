"""The agent's desk (state, offer, attention in progress, the queue) and the supervisor's live
view. Each page renders its live part as a fragment too, which the page fetches again when its
socket says something changed (`events`)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from finestreta.accounts.models import Role
from finestreta.accounts.services import StaffContext, get_membership_for_staff
from finestreta.appointments import agenda
from finestreta.queueing import desk, overview
from finestreta.queueing import services as queue
from finestreta.queueing.forms import PAUSE_REASONS, DeskStatusForm, FinishForm
from finestreta.queueing.models import DeskStatus, QueueEntry
from finestreta.tenants.models import Organisation
from finestreta.video.coaching import calls_in_progress


def _attention_organisation(staff: StaffContext, call: QueueEntry | None) -> Organisation:
    """Whose attention the agent is in: a host's, for a shared queue's citizen (ADR 25)."""
    return call.organisation if call is not None else staff.organisation


def _desk_context(staff: StaffContext) -> dict[str, object]:
    now = timezone.now()
    view = desk.desk_view(membership=staff.membership, now=now)
    return {
        "staff": staff,
        "organisation": staff.organisation,
        "desk": view,
        "now": now,
        "pause_reasons": PAUSE_REASONS,
        "finish_form": FinishForm(organisation=_attention_organisation(staff, view.call)),
        "socket_path": f"/ws/{staff.organisation.slug}/desk/",
    }


@login_required
@require_safe
def desk_page(request: HttpRequest, org: str) -> HttpResponse:
    staff = get_membership_for_staff(request, org)
    context = _desk_context(staff)
    whose = agenda.Whose(kind="mine", value="mine", label="")
    context["today"] = agenda.list_agenda(staff, whose=whose, first=agenda.today(staff), days=1)[0]
    return render(request, "queueing/staff/desk.html", context)


@login_required
@require_safe
def desk_live(request: HttpRequest, org: str) -> HttpResponse:
    staff = get_membership_for_staff(request, org)
    return render(request, "queueing/staff/_desk_live.html", _desk_context(staff))


@login_required
@require_POST
def set_status(request: HttpRequest, org: str) -> HttpResponse:
    staff = get_membership_for_staff(request, org)
    form = DeskStatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, _text("bad_state"))
        return redirect("staff-queue:desk", org=org)
    state, reason = form.cleaned_data["state"], form.cleaned_data["reason"]
    now = timezone.now()
    try:
        queue.set_desk_status(
            membership=staff.membership,
            state=state,
            reason=(reason or "break") if state == DeskStatus.State.PAUSED else "",
            now=now,
        )
    except queue.QueueError as error:
        messages.error(request, str(error.message))
    else:
        if state == DeskStatus.State.AVAILABLE:
            queue.offer_next(membership=staff.membership, now=now)
    return redirect("staff-queue:desk", org=org)


@login_required
@require_POST
def accept(request: HttpRequest, org: str, entry: int) -> HttpResponse:
    staff = get_membership_for_staff(request, org)
    try:
        taken = queue.accept_offer(membership=staff.membership, entry_id=entry, now=timezone.now())
    except queue.QueueError as error:
        messages.error(request, str(error.message))
        return redirect("staff-queue:desk", org=org)
    if taken.appointment is not None:
        agenda.record_appointment_viewed(staff, taken.appointment)
    if taken.channel == QueueEntry.Channel.VIDEO and taken.appointment is not None:
        from finestreta.video.services import get_room

        room = get_room(taken.appointment)
        return redirect("staff-video:room", org=org, room=room.public_id)
    return redirect("staff-queue:desk", org=org)


@login_required
@require_POST
def decline(request: HttpRequest, org: str, entry: int) -> HttpResponse:
    staff = get_membership_for_staff(request, org)
    now = timezone.now()
    try:
        queue.decline_offer(membership=staff.membership, entry_id=entry, now=now)
    except queue.QueueError as error:
        messages.error(request, str(error.message))
    else:
        queue.offer_next(membership=staff.membership, now=now)
    return redirect("staff-queue:desk", org=org)


@login_required
@require_POST
def finish(request: HttpRequest, org: str, entry: int) -> HttpResponse:
    staff = get_membership_for_staff(request, org)
    call = (
        QueueEntry.objects.select_related("organisation")
        .filter(pk=entry, served_by=staff.membership)
        .first()
    )
    form = FinishForm(request.POST, organisation=_attention_organisation(staff, call))
    if not form.is_valid():
        context = {**_desk_context(staff), "finish_form": form, "today": None}
        return render(request, "queueing/staff/desk.html", context, status=400)
    data, now = form.cleaned_data, timezone.now()
    # Paused only when asked: after a citizen who did not come there is nothing to wrap up.
    then = DeskStatus.State.PAUSED if data["then"] == "pause" else DeskStatus.State.AVAILABLE
    try:
        queue.finish_call(
            membership=staff.membership,
            entry_id=entry,
            now=now,
            outcome=data["outcome"],
            notes=data["notes"],
            then=then,
            came=data["then"] != "not_come",
        )
    except queue.QueueError as error:
        messages.error(request, str(error.message))
    else:
        if then == DeskStatus.State.AVAILABLE:
            queue.offer_next(membership=staff.membership, now=now)
    return redirect("staff-queue:desk", org=org)


def _supervisor_context(staff: StaffContext) -> dict[str, object]:
    now = timezone.now()
    return {
        "staff": staff,
        "organisation": staff.organisation,
        "overview": overview.overview(organisation=staff.organisation, now=now),
        "pause_reasons": dict(PAUSE_REASONS),
        "calls": calls_in_progress(
            organisation_id=staff.organisation.pk, membership=staff.membership
        ),
        "now": now,
        "socket_path": f"/ws/{staff.organisation.slug}/desk/",
    }


@login_required
@require_safe
def supervisor(request: HttpRequest, org: str) -> HttpResponse:
    staff = get_membership_for_staff(request, org, min_role=Role.SUPERVISOR)
    return render(request, "queueing/staff/supervisor.html", _supervisor_context(staff))


@login_required
@require_safe
def supervisor_live(request: HttpRequest, org: str) -> HttpResponse:
    staff = get_membership_for_staff(request, org, min_role=Role.SUPERVISOR)
    return render(request, "queueing/staff/_supervisor_live.html", _supervisor_context(staff))


def _text(code: str) -> str:
    from django.utils.translation import gettext as _

    return {"bad_state": _("Choose available, paused or offline.")}.get(code, code)
