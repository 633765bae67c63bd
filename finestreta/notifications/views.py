"""The development outbox: the messages the demo "sent", readable in the browser. It exists
only with DEBUG on (the embedded default's demo); in production it is not found."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from finestreta.notifications.services import list_outbox


@require_safe
def development_outbox(request: HttpRequest) -> HttpResponse:
    if not settings.DEBUG:
        raise Http404("Only in development")
    return render(request, "notifications/outbox.html", {"messages_sent": list_outbox()})
