"""The development receiver: the demo's stand-in for an integrator's case-management system, so
that `make run` shows webhooks working end to end without anything outside the machine.

The demo's subscriptions send to `/dev/webhooks/<org>/` on the platform itself (the workers post
to it over HTTP like to any receiver). It does what docs/api.md asks of a receiver: it checks the
signature over the raw body with the subscription's secret and the timestamp against the replay
window, refuses what fails (401, so the platform retries and the delivery log shows it), and drops
a second copy of an event it already has. What it got is listed at `/dev/webhooks/`.

A real receiver has its own copy of the secret; this one reads it from the subscription whose
address it is. Only with DEBUG on: in production both pages are not found.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Mapping
from urllib.parse import urlsplit

from finestreta.integrations.models import ReceivedRequest, Subscription
from finestreta.tenants.models import Organisation

Verdict = ReceivedRequest.Verdict

REPLAY_WINDOW = 300  # seconds, as documented
MAX_BODY_BYTES = 64 * 1024  # the platform's events are a few hundred bytes
KEPT = 500  # the latest requests received; older ones are dropped as new ones come
KEPT_HEADERS = (
    "content-type",
    "user-agent",
    "finestreta-event-id",
    "finestreta-event-type",
    "finestreta-timestamp",
    "finestreta-signature",
)


def check(secret: str, headers: Mapping[str, str], body: bytes, *, now: float) -> str:
    """The documented check (docs/api.md, "Verifying the signature"), saying why it fails:
    the timestamp within five minutes of `now`, then the HMAC-SHA256 of "<timestamp>.<raw
    body>" compared in constant time. `headers` are keyed in lower case."""
    timestamp = headers.get("finestreta-timestamp", "")
    given = headers.get("finestreta-signature", "")
    if not timestamp.isdigit() or abs(now - int(timestamp)) > REPLAY_WINDOW:
        return Verdict.STALE
    if not given.startswith("v1="):
        return Verdict.BAD_SIGNATURE
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    if not hmac.compare_digest(expected.hexdigest(), given.removeprefix("v1=")):
        return Verdict.BAD_SIGNATURE
    return Verdict.ACCEPTED


def _subscriptions_to(organisation: Organisation | None, path: str) -> list[Subscription]:
    if organisation is None:
        return []
    return [
        subscription
        for subscription in Subscription.objects.filter(organisation=organisation)
        if urlsplit(subscription.url).path == path
    ]


def receive(
    *, org: str, path: str, headers: Mapping[str, str], body: bytes, now: dt.datetime
) -> ReceivedRequest:
    """Check and keep one request posted to `path` for organisation `org`; `headers` are keyed
    in lower case. The verdict says how to answer."""
    organisation = Organisation.objects.filter(slug=org).first()
    verdict: str = Verdict.NO_SUBSCRIPTION
    matched: Subscription | None = None
    for subscription in _subscriptions_to(organisation, path):
        verdict = check(subscription.secret, headers, body, now=now.timestamp())
        matched = subscription
        if verdict == Verdict.ACCEPTED:
            break
    event_id = headers.get("finestreta-event-id", "")[:64]
    if (
        verdict == Verdict.ACCEPTED
        and ReceivedRequest.objects.filter(
            organisation=organisation, event_id=event_id, verdict=Verdict.ACCEPTED
        ).exists()
    ):
        verdict = Verdict.DUPLICATE
    received = ReceivedRequest.objects.create(
        organisation=organisation,
        subscription=matched,
        received_at=now,
        path=path[:200],
        event_id=event_id,
        event_type=headers.get("finestreta-event-type", "")[:40],
        headers={name: headers[name][:300] for name in KEPT_HEADERS if name in headers},
        body=body.decode("utf-8", errors="replace"),
        verdict=verdict,
    )
    _drop_old()
    return received


def _drop_old() -> None:
    beyond = list(
        ReceivedRequest.objects.order_by("-pk").values_list("pk", flat=True)[KEPT : KEPT + 1]
    )
    if beyond:
        ReceivedRequest.objects.filter(pk__lte=beyond[0]).delete()


def pretty(body: str) -> str:
    """The body as an integrator would read it: indented JSON, or as it came if it is not."""
    try:
        return json.dumps(json.loads(body), ensure_ascii=False, indent=2, sort_keys=True)
    except ValueError:
        return body


def list_received(*, limit: int = 100) -> list[ReceivedRequest]:
    """The latest requests received, for the development page."""
    return list(
        ReceivedRequest.objects.select_related("organisation", "subscription").order_by(
            "-received_at", "-pk"
        )[:limit]
    )


def demo_url(site_url: str, organisation: Organisation) -> str:
    """Where the demo's subscription of `organisation` sends: this platform's receiver."""
    return f"{site_url.rstrip('/')}/dev/webhooks/{organisation.slug}/"
