"""Public API of the integrations app: webhooks for integrators (case-management systems).

- Other apps call `emit_appointment`, `emit_call_ended` and `emit_data_deleted` inside the
  transaction of their change (`events`): the event and its deliveries commit with it, or not
  at all.
- The task workers call `deliver_due` and `requeue_stale` (`delivery`).
- The organisation administrators' pages call the verbs below, each writing an audit event.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.http import Http404
from django.utils import timezone

from finestreta.integrations.delivery import (  # noqa: F401 - the app's public face
    MAX_CLIENT_ERROR_ATTEMPTS,
    RETRIES,
    body_of,
    deliver,
    deliver_due,
    next_wait,
    requeue_stale,
    retry_waits,
    signature,
)
from finestreta.integrations.events import (  # noqa: F401 - the app's public face
    MAX_IDS_PER_EVENT,
    PAYLOAD_VERSION,
    emit,
    emit_appointment,
    emit_call_ended,
    emit_data_deleted,
)
from finestreta.integrations.models import (  # noqa: F401 - the app's public face
    SUBSCRIBABLE,
    Delivery,
    Event,
    EventType,
    Subscription,
)
from finestreta.privacy.services import Action, record_event

if TYPE_CHECKING:
    from finestreta.accounts.services import StaffContext


def new_secret() -> str:
    """A fresh signing secret: 32 random bytes, URL-safe, with a prefix that says what it is."""
    return "whsec_" + secrets.token_urlsafe(32)


# --- Reading, scoped to the staff member's organisation -----------------------------------


def list_subscriptions(*, staff: StaffContext) -> list[Subscription]:
    return list(Subscription.objects.filter(organisation=staff.organisation).order_by("pk"))


def get_subscription_for_staff(staff: StaffContext, pk: int) -> Subscription:
    """The organisation's subscription, or 404 (another organisation's does not exist here)."""
    found = Subscription.objects.filter(organisation=staff.organisation, pk=pk).first()
    if found is None:
        raise Http404("No such webhook subscription")
    return found


def get_delivery_for_staff(staff: StaffContext, subscription: Subscription, pk: int) -> Delivery:
    found = (
        Delivery.objects.select_related("event", "replay_of")
        .filter(organisation=staff.organisation, subscription=subscription, pk=pk)
        .first()
    )
    if found is None:
        raise Http404("No such webhook delivery")
    return found


def list_deliveries(*, subscription: Subscription) -> Any:
    """The subscription's delivery log, latest first (a queryset, for a paginator)."""
    return (
        Delivery.objects.filter(
            organisation_id=subscription.organisation_id, subscription=subscription
        )
        .select_related("event")
        .order_by("-created_at", "-pk")
    )


# --- Changes by the organisation's administrators -----------------------------------------


def _audit(staff: StaffContext, action: str, subscription: Subscription, **details: Any) -> None:
    record_event(
        action=action,
        actor=staff.user,
        organisation=staff.organisation,
        target=subscription,
        details={"url": subscription.url, **details},
    )


def create_subscription(
    *,
    staff: StaffContext,
    url: str,
    event_types: list[str],
    description: str = "",
    is_active: bool = True,
) -> Subscription:
    """A new subscription with a fresh secret (the form has checked the address)."""
    with transaction.atomic():
        subscription = Subscription.objects.create(
            organisation=staff.organisation,
            url=url,
            secret=new_secret(),
            event_types=sorted(set(event_types)),
            description=description,
            is_active=is_active,
        )
        _audit(staff, Action.WEBHOOK_CREATED, subscription, events=subscription.event_types)
    return subscription


def update_subscription(
    *,
    staff: StaffContext,
    subscription: Subscription,
    url: str,
    event_types: list[str],
    description: str,
    is_active: bool,
) -> Subscription:
    """Change a subscription. Deliveries already queued go to the new address (signed with
    the secret of the moment they are sent); switched off, they fail when their turn comes."""
    with transaction.atomic():
        subscription.url = url
        subscription.event_types = sorted(set(event_types))
        subscription.description = description
        subscription.is_active = is_active
        subscription.save()
        _audit(
            staff,
            Action.WEBHOOK_CHANGED,
            subscription,
            events=subscription.event_types,
            active=is_active,
        )
    return subscription


def delete_subscription(*, staff: StaffContext, subscription: Subscription) -> None:
    """Delete a subscription with its delivery log; deliveries not sent yet are dropped."""
    with transaction.atomic():
        _audit(staff, Action.WEBHOOK_DELETED, subscription)
        subscription.delete()


def rotate_secret(*, staff: StaffContext, subscription: Subscription) -> Subscription:
    """Replace the secret at once: from now on, every attempt (retries of earlier events
    included) is signed with the new one."""
    with transaction.atomic():
        subscription.secret = new_secret()
        subscription.secret_rotated_at = timezone.now()
        subscription.save(update_fields=["secret", "secret_rotated_at", "updated_at"])
        _audit(staff, Action.WEBHOOK_SECRET_ROTATED, subscription)
    return subscription


def record_secret_shown(*, staff: StaffContext, subscription: Subscription) -> None:
    """The secret was shown to an administrator (it lets anyone forge the platform's events)."""
    _audit(staff, Action.WEBHOOK_SECRET_SHOWN, subscription)


class NotSendable(Exception):
    """A switched-off subscription is not sent to, not even on request."""


def replay(*, staff: StaffContext, delivery: Delivery, now: dt.datetime | None = None) -> Delivery:
    """Queue a fresh delivery of the same event (same id, same body) to the same subscription,
    with a fresh schedule of retries."""
    subscription = delivery.subscription
    if not subscription.is_active:
        raise NotSendable()
    now = now or timezone.now()
    with transaction.atomic():
        fresh = Delivery.objects.create(
            organisation_id=delivery.organisation_id,
            event_id=delivery.event_id,
            subscription=subscription,
            replay_of=delivery,
            due_at=now,
            created_at=now,
        )
        _audit(
            staff,
            Action.WEBHOOK_REPLAYED,
            subscription,
            event=str(delivery.event.uid),
            type=delivery.event.type,
        )
    return fresh


def send_test_event(
    *, staff: StaffContext, subscription: Subscription, now: dt.datetime | None = None
) -> Event:
    """A `ping` event to this subscription only, so that an administrator can check that the
    receiver gets it and verifies the signature."""
    if not subscription.is_active:
        raise NotSendable()
    with transaction.atomic():
        event = emit(
            organisation=staff.organisation,
            event_type=EventType.PING,
            data={"subscription": subscription.pk},
            now=now,
            subscriptions=[subscription],
        )
        if event is None:  # emit returns None only when no subscription takes the event
            raise AssertionError("the ping was not emitted to the subscription given")
        _audit(staff, Action.WEBHOOK_PINGED, subscription, event=str(event.uid))
    return event
