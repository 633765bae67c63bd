"""Organisation administrators' pages for their own message texts: the list of every kind,
channel and language, and one template's edit page with a server-side preview (and, for SMS,
the segment count). Changes are POST only and written to the audit log by the services."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from finestreta.accounts.services import Role, StaffContext, get_membership_for_staff
from finestreta.notifications import services, templating
from finestreta.notifications.models import Message
from finestreta.notifications.template_forms import MessageTemplateForm

LANGUAGE_CODES = [code for code, _name in settings.LANGUAGES]


def _admin(request: HttpRequest, org: str) -> StaffContext:
    return get_membership_for_staff(request, org, min_role=Role.ORG_ADMIN)


def _labels(kind: str, channel: str, language: str) -> dict[str, Any]:
    """The template's names for the page, or 404 for anything the platform does not send."""
    if (
        kind not in templating.KIND_NAMES
        or channel not in Message.Channel.values
        or language not in LANGUAGE_CODES
    ):
        raise Http404("No such message template")
    return {
        "kind_label": dict(templating.KINDS)[kind],
        "channel_label": Message.Channel(channel).label,
        "language_label": dict(settings.LANGUAGES)[language],
    }


@require_safe
@login_required
def template_list(request: HttpRequest, org: str) -> HttpResponse:
    staff = _admin(request, org)
    own = services.list_own_templates(organisation=staff.organisation)
    rows = [
        {
            "kind": kind,
            "label": label,
            "channel": channel,
            "channel_label": channel_label,
            "cells": [(code, (kind, channel, code) in own) for code in LANGUAGE_CODES],
        }
        for kind, label in templating.KINDS
        for channel, channel_label in Message.Channel.choices
    ]
    return render(
        request,
        "notifications/staff/templates.html",
        {
            "staff": staff,
            "organisation": staff.organisation,
            "rows": rows,
            "languages": settings.LANGUAGES,
        },
    )


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def template_edit(
    request: HttpRequest, org: str, kind: str, channel: str, language: str
) -> HttpResponse:
    """GET: the own template, or the platform's text to start from. POST: "preview" shows the
    text as sent (and the SMS count); "save" keeps it if it passes the checks."""
    staff = _admin(request, org)
    labels = _labels(kind, channel, language)
    key: dict[str, Any] = {
        "organisation": staff.organisation,
        "kind": kind,
        "channel": channel,
        "language": language,
    }
    own = services.get_own_template(**key)
    if request.method == "POST":
        form = MessageTemplateForm(request.POST, **key)
        if form.is_valid() and request.POST.get("action") == "save":
            services.save_template(staff=staff, **form.template_values())
            messages.success(request, _("Saved. Messages queued from now on use this text."))
            return redirect(request.path)
        subject, body = request.POST.get("subject", ""), request.POST.get("body", "")
    else:
        subject, body = (own.subject, own.body) if own else templating.starting_text(**key)
        form = MessageTemplateForm(initial={"subject": subject, "body": body}, **key)
    context = {
        **key,
        **labels,
        "staff": staff,
        "form": form,
        "own": own,
        "preview": services.preview_template(**key, subject=subject, body=body),
        "max_segments": templating.MAX_SMS_SEGMENTS,
        "variables": templating.variables_for(channel),
    }
    status = 400 if form.errors else 200
    return render(request, "notifications/staff/template_edit.html", context, status=status)


@login_required  # first: a visitor who is not signed in is sent to log in, whatever the method
@require_POST
def template_reset(
    request: HttpRequest, org: str, kind: str, channel: str, language: str
) -> HttpResponse:
    staff = _admin(request, org)
    _labels(kind, channel, language)
    if services.reset_template(staff=staff, kind=kind, channel=channel, language=language):
        messages.success(request, _("The platform's text applies again."))
    return redirect(
        "message-templates:edit", org=org, kind=kind, channel=channel, language=language
    )
