""" "Attention now" for citizens: the services with a queue (open or not, and when), joining the
queue of one, and the ticket page — place and estimated wait, live; leave the queue; the link
into the call when it is their turn. No account needed; the ticket link is the citizen's key."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from finestreta.appointments import web
from finestreta.catalogue import services as catalogue
from finestreta.catalogue.models import Channel, Service
from finestreta.queueing import services as queue
from finestreta.queueing.forms import JoinQueueForm
from finestreta.queueing.models import QueueEntry
from finestreta.tenants.models import Organisation

QUEUE_CHANNELS = (Channel.VIDEO, Channel.PHONE)


def _queue_service(organisation: Organisation, slug: str) -> Service:
    service = catalogue.get_public_service(organisation, slug)
    if not any(channel in service.channels for channel in QUEUE_CHANNELS):
        raise Http404("Not attended at a distance")
    return service


@require_safe
def choose_service(request: HttpRequest, org: str) -> HttpResponse:
    organisation = web.public_organisation(org)
    now = timezone.now()
    services = [
        (service, queue.queue_hours(service, now=now))
        for service in catalogue.list_public_services(organisation).order_by("name")
        if any(channel in service.channels for channel in QUEUE_CHANNELS)
    ]
    return render(
        request,
        "queueing/choose_service.html",
        {"organisation": organisation, "services": services},
    )


@require_http_methods(["GET", "HEAD", "POST"])
def join(request: HttpRequest, org: str, service: str) -> HttpResponse:
    organisation = web.public_organisation(org)
    found = _queue_service(organisation, service)
    now = timezone.now()
    hours = queue.queue_hours(found, now=now)
    form = JoinQueueForm(request.POST or None, service=found, organisation=organisation)
    problem = None
    if request.method == "POST" and hours.open:
        if web.limited(request, "queue"):
            return web.too_many(request, organisation)
        if form.is_valid():
            data = form.cleaned_data
            try:
                entry = queue.join_queue(
                    organisation=organisation,
                    service=found,
                    channel=data["channel"],
                    name=data["name"],
                    phone=data["phone"],
                    email=data["email"],
                    language=data["language"],
                    sign_language=data.get("sign_language", False),
                    needs_priority=data.get("priority", False),
                    locale=translation.get_language() or organisation.default_language,
                    now=now,
                )
            except queue.QueueError as error:
                problem = error.message
            else:
                return redirect(queue.ticket_path(entry))
    context = {"organisation": organisation, "service": found, "hours": hours, "form": form}
    status = 400 if request.method == "POST" else 200
    return render(request, "queueing/join.html", {**context, "problem": problem}, status=status)


def _entry(org: str, token: str) -> QueueEntry:
    organisation = web.public_organisation(org)
    entry = queue.get_entry_by_ticket(organisation_id=organisation.pk, token=token)
    if entry is None:
        raise Http404("No such ticket")
    return entry


@require_safe
def ticket(request: HttpRequest, org: str, token: str) -> HttpResponse:
    entry = _entry(org, token)
    state = queue.ticket_state(entry, now=timezone.now())
    context = {"organisation": entry.organisation, "entry": entry, "ticket": state, "token": token}
    return render(request, "queueing/ticket.html", context)


@require_safe
def ticket_live(request: HttpRequest, org: str, token: str) -> HttpResponse:
    """The live part of the ticket page, fetched again every few seconds while it is open."""
    entry = _entry(org, token)
    state = queue.ticket_state(entry, now=timezone.now())
    context = {"organisation": entry.organisation, "entry": entry, "ticket": state, "token": token}
    response = render(request, "queueing/_ticket_live.html", context)
    response["Cache-Control"] = "no-store"
    return response


@require_safe
def ticket_status(request: HttpRequest, org: str, token: str) -> JsonResponse:
    """The ticket page's live check (every few seconds, while the page is open)."""
    entry = _entry(org, token)
    state = queue.ticket_state(entry, now=timezone.now())
    response = JsonResponse(
        {
            "state": state.state,
            "ahead": state.ahead,
            "wait_minutes": list(state.wait_minutes) if state.wait_minutes else None,
            "join_url": state.join_url,
            "phone": state.phone,
        }
    )
    response["Cache-Control"] = "no-store"
    return response


@require_POST
def leave(request: HttpRequest, org: str, token: str) -> HttpResponse:
    entry = _entry(org, token)
    queue.leave_queue(entry=entry, now=timezone.now())
    return redirect(queue.ticket_path(entry))
