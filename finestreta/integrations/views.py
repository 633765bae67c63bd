"""Organisation administrators' pages for their webhooks: the subscriptions, the secret (shown
on its own page, and replaced on request), each subscription's delivery log, one delivery's
attempts, and the buttons that send a test event or a delivery again. Changes are POST only and
written to the audit log by the services. With DEBUG on, the development receiver too."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from finestreta.accounts.services import Role, StaffContext, get_membership_for_staff
from finestreta.integrations import dev_receiver, services
from finestreta.integrations.forms import SubscriptionForm
from finestreta.integrations.models import Subscription

PAGE_SIZE = 50
NOT_SENDABLE = gettext_lazy("The subscription is switched off: switch it on first.")


def _admin(request: HttpRequest, org: str) -> StaffContext:
    return get_membership_for_staff(request, org, min_role=Role.ORG_ADMIN)


def _subscription(request: HttpRequest, org: str, pk: int) -> tuple[StaffContext, Subscription]:
    staff = _admin(request, org)
    return staff, services.get_subscription_for_staff(staff, pk)


def _page(
    request: HttpRequest, template: str, staff: StaffContext, **context: object
) -> HttpResponse:
    status = 400 if getattr(context.get("form"), "errors", None) else 200
    context = {"staff": staff, "organisation": staff.organisation, **context}
    return render(request, f"integrations/{template}", context, status=status)


@require_safe
@login_required
def subscription_list(request: HttpRequest, org: str) -> HttpResponse:
    staff = _admin(request, org)
    return _page(
        request, "list.html", staff, subscriptions=services.list_subscriptions(staff=staff)
    )


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def subscription_new(request: HttpRequest, org: str) -> HttpResponse:
    staff = _admin(request, org)
    form = SubscriptionForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        subscription = services.create_subscription(staff=staff, **form.values())
        messages.success(request, _("Subscription created. Set its secret up in your receiver."))
        return redirect("webhooks:secret", org=org, subscription=subscription.pk)
    return _page(request, "form.html", staff, form=form)


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def subscription_edit(request: HttpRequest, org: str, subscription: int) -> HttpResponse:
    staff, found = _subscription(request, org, subscription)
    initial = {
        "url": found.url,
        "description": found.description,
        "event_types": found.event_types,
        "is_active": found.is_active,
    }
    form = SubscriptionForm(request.POST if request.method == "POST" else None, initial=initial)
    if form.is_valid():
        services.update_subscription(staff=staff, subscription=found, **form.values())
        messages.success(request, _("Saved."))
        return redirect("webhooks:detail", org=org, subscription=found.pk)
    return _page(request, "form.html", staff, form=form, subscription=found)


@require_safe
@login_required
def subscription_detail(request: HttpRequest, org: str, subscription: int) -> HttpResponse:
    staff, found = _subscription(request, org, subscription)
    deliveries = services.list_deliveries(subscription=found)
    page = Paginator(deliveries, PAGE_SIZE).get_page(request.GET.get("page"))
    return _page(request, "detail.html", staff, subscription=found, page=page)


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def subscription_delete(request: HttpRequest, org: str, subscription: int) -> HttpResponse:
    staff, found = _subscription(request, org, subscription)
    if request.method == "POST":
        services.delete_subscription(staff=staff, subscription=found)
        messages.success(request, _("Subscription deleted."))
        return redirect("webhooks:list", org=org)
    return _page(request, "delete.html", staff, subscription=found)


@require_safe
@login_required
def secret(request: HttpRequest, org: str, subscription: int) -> HttpResponse:
    staff, found = _subscription(request, org, subscription)
    services.record_secret_shown(staff=staff, subscription=found)
    response = _page(request, "secret.html", staff, subscription=found)
    response["Cache-Control"] = "no-store"
    return response


@login_required  # first: a visitor who is not signed in is sent to log in, whatever the method
@require_POST
def rotate_secret(request: HttpRequest, org: str, subscription: int) -> HttpResponse:
    staff, found = _subscription(request, org, subscription)
    services.rotate_secret(staff=staff, subscription=found)
    messages.success(request, _("New secret made. The old one no longer signs anything."))
    return redirect("webhooks:secret", org=org, subscription=found.pk)


@login_required
@require_POST
def ping(request: HttpRequest, org: str, subscription: int) -> HttpResponse:
    staff, found = _subscription(request, org, subscription)
    try:
        services.send_test_event(staff=staff, subscription=found)
    except services.NotSendable:
        messages.error(request, NOT_SENDABLE)
    else:
        messages.success(request, _("Test event queued. It appears in the log below."))
    return redirect("webhooks:detail", org=org, subscription=found.pk)


@require_safe
@login_required
def delivery_detail(
    request: HttpRequest, org: str, subscription: int, delivery: int
) -> HttpResponse:
    staff, found = _subscription(request, org, subscription)
    shown = services.get_delivery_for_staff(staff, found, delivery)
    return _page(
        request,
        "delivery.html",
        staff,
        subscription=found,
        delivery=shown,
        attempts=list(shown.attempt_log.all()),
        body=services.body_of(shown.event.payload).decode(),
    )


@login_required
@require_POST
def replay(request: HttpRequest, org: str, subscription: int, delivery: int) -> HttpResponse:
    staff, found = _subscription(request, org, subscription)
    original = services.get_delivery_for_staff(staff, found, delivery)
    try:
        fresh = services.replay(staff=staff, delivery=original)
    except services.NotSendable:
        messages.error(request, NOT_SENDABLE)
        return redirect("webhooks:delivery", org=org, subscription=found.pk, delivery=original.pk)
    messages.success(request, _("The event is queued to be sent again, with the same id."))
    return redirect("webhooks:delivery", org=org, subscription=found.pk, delivery=fresh.pk)


# --- The development receiver (DEBUG only) -------------------------------------------------


def _development_only() -> None:
    if not settings.DEBUG:
        raise Http404("Only in development")


@csrf_exempt  # a machine's request, authenticated by its signature instead
@require_POST
def development_receive(request: HttpRequest, org: str) -> HttpResponse:
    """The demo's stand-in for an integrator's receiver (`dev_receiver`)."""
    _development_only()
    if len(request.body) > dev_receiver.MAX_BODY_BYTES:
        return JsonResponse({"error": "too large"}, status=413)
    received = dev_receiver.receive(
        org=org,
        path=request.path,
        headers={name.lower(): value for name, value in request.headers.items()},
        body=request.body,
        now=timezone.now(),
    )
    if received.accepted:
        duplicate = received.verdict == received.Verdict.DUPLICATE
        return JsonResponse({"received": True, "duplicate": duplicate})
    if received.verdict == received.Verdict.NO_SUBSCRIPTION:
        return JsonResponse({"error": "no subscription sends here"}, status=404)
    return JsonResponse({"error": received.verdict}, status=401)


@require_safe
def development_received(request: HttpRequest) -> HttpResponse:
    """What the development receiver got, latest first."""
    _development_only()
    rows = [
        (received, dev_receiver.pretty(received.body)) for received in dev_receiver.list_received()
    ]
    return render(request, "integrations/dev_received.html", {"rows": rows})
