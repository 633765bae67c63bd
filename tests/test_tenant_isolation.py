"""The tenant-isolation walk: every staff URL and API route, visited as another tenant's staff.

Routes are discovered from the URL conf, so a new staff or API URL is covered without editing this
file; a route with a parameter this file cannot fill makes the test fail until a sample is added.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from django.contrib.admin.sites import site as admin_site
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from finestreta.api.urls import PUBLIC_API
from finestreta.appointments.models import Appointment
from finestreta.lib.tenancy import TenantScopedAdmin
from tests.personas import Personas

REFUSED = {403, 404}


@dataclass(frozen=True)
class Route:
    template: str  # e.g. "<slug:org>/staff/offices/<slug:office>/"
    name: str


def _walk(resolver: URLResolver, prefix: str = "") -> list[Route]:
    routes = []
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            routes += _walk(entry, route)
        elif isinstance(entry, URLPattern):
            routes.append(Route(route, entry.name or ""))
    return routes


def tenant_routes() -> list[Route]:
    """Every route that carries an organisation and belongs to staff or the API.

    The integrators' public API (`api/v1/<org>/…`: catalogue, availability, bookings by token)
    is open to anyone, staff of any tenant included, like the public pages; its isolation —
    tokens and holds of one organisation unknown under another's URL — is proved in
    finestreta/api/tests/test_tenant_isolation.py. Staff routes under it are still walked."""
    return [
        route
        for route in _walk(get_resolver())
        if "<slug:org>" in route.template
        and (
            "/staff/" in route.template
            or (route.template.startswith("api/") and not route.template.startswith(PUBLIC_API))
        )
    ]


def fill(template: str, personas: Personas) -> str:
    samples = {
        "<slug:org>": personas.org_a.slug,
        "<slug:office>": personas.office_a.slug,
        "<slug:service>": personas.service_a.slug,
        # A message template: kind, channel and language.
        "<slug:kind>": "reminder",
        "<slug:channel>": "sms",
        "<slug:language>": "ca",
    }
    if "<str:code>" in template:  # a booking code: an appointment of organisation A
        samples["<str:code>"] = _appointment_of_org_a(personas).code
    if "<str:room>" in template:  # the video room of that appointment
        samples["<str:room>"] = _room_of_org_a(personas).public_id
    if "<int:file_id>" in template:  # a file shared in that room
        samples["<int:file_id>"] = str(_file_of_org_a(personas).pk)
    if "<int:entry>" in template:  # a citizen in organisation A's queue
        samples["<int:entry>"] = str(_queue_entry_of_org_a(personas).pk)
    if "<int:invitation>" in template:  # an invitation into that room
        samples["<int:invitation>"] = str(_invitation_of_org_a(personas).pk)
    if "<int:signature>" in template:  # a signature asked in that call
        samples["<int:signature>"] = str(_signature_of_org_a(personas).pk)
    if "<int:recording>" in template:  # a recording of that call, with one part
        samples["<int:recording>"] = str(_recording_of_org_a(personas).pk)
        samples["<int:part>"] = "1"
    if "<int:subscription>" in template:  # a webhook subscription, with one delivery
        delivery = _webhook_delivery_of_org_a(personas)
        samples["<int:subscription>"] = str(delivery.subscription_id)
        samples["<int:delivery>"] = str(delivery.pk)
    path = template
    for placeholder, value in samples.items():
        path = path.replace(placeholder, value)
    assert "<" not in path, f"add a sample value for the parameters of {template!r}"
    return "/" + path


def _appointment_of_org_a(personas: Personas) -> Appointment:
    from finestreta.accounts.models import Membership
    from tests.factories import AppointmentFactory

    found = Appointment.objects.filter(organisation=personas.org_a).first()
    # A video appointment: every staff route of an appointment (the call's included) takes it.
    return found or AppointmentFactory(
        agent=Membership.objects.get(user=personas.agent_a),
        service=personas.service_a,
        channel="video",
    )


def _queue_entry_of_org_a(personas: Personas):  # type: ignore[no-untyped-def]
    from django.utils import timezone

    from finestreta.queueing.models import QueueEntry

    return QueueEntry.objects.filter(organisation=personas.org_a).first() or (
        QueueEntry.objects.create(
            organisation=personas.org_a,
            service=personas.service_a,
            channel="video",
            name="Citizen A",
            joined_at=timezone.now(),
        )
    )


def _room_of_org_a(personas: Personas):  # type: ignore[no-untyped-def]
    from finestreta.video.services import get_room

    return get_room(_appointment_of_org_a(personas))


def _signature_of_org_a(personas: Personas):  # type: ignore[no-untyped-def]
    """Signed, with its receipt: every signature route (the receipt's included) takes it."""
    from django.utils import timezone

    from finestreta.identity.models import Signature

    found = Signature.objects.filter(organisation=personas.org_a).first()
    now = timezone.now()
    return found or Signature.objects.create(
        organisation=personas.org_a,
        appointment=_appointment_of_org_a(personas),
        route="citizen_code",
        status="signed",
        title="Summary",
        body="Done.",
        document_sha256="0" * 64,
        requested_by=personas.agent_a,
        requested_at=now,
        signed_at=now,
        verification_code="0123456789ABCDEF",
        receipt=b"%PDF-1.4 receipt of organisation A",
    )


def _recording_of_org_a(personas: Personas):  # type: ignore[no-untyped-def]
    """With a second of the agent's sound: every recording route (playing included) takes it."""
    from django.utils import timezone

    from finestreta.recordings import storage
    from finestreta.recordings.models import Recording
    from finestreta.recordings.tests.test_storage import write_seconds

    found = Recording.objects.filter(organisation=personas.org_a).first()
    if found is not None:
        return found
    now = timezone.now()
    recording = Recording.objects.create(
        organisation=personas.org_a,
        appointment=_appointment_of_org_a(personas),
        room=_room_of_org_a(personas),
        basis="consent",
        started_by=personas.agent_a,
        started_at=now,
        state="stopped",
        delete_after=now + dt.timedelta(days=30),
    )
    writer = storage.TrackWriter(
        recording, peer="p_a", role="staff", name="Agent A", kind="audio", clock=0.0
    )
    write_seconds(writer, 1)
    return recording


def _webhook_delivery_of_org_a(personas: Personas):  # type: ignore[no-untyped-def]
    from finestreta.integrations import services as integrations
    from finestreta.integrations.models import Delivery, Subscription

    found = Delivery.objects.filter(organisation=personas.org_a).first()
    if found is not None:
        return found
    subscription = Subscription.objects.create(
        organisation=personas.org_a,
        url="https://cases.example.org/hooks",
        secret=integrations.new_secret(),
        event_types=["call.ended"],
    )
    event = integrations.emit(organisation=personas.org_a, event_type="call.ended", data={})
    assert event is not None
    return event.deliveries.get(subscription=subscription)


def _invitation_of_org_a(personas: Personas):  # type: ignore[no-untyped-def]
    from django.utils import timezone

    from finestreta.video.models import Invitation

    now = timezone.now()
    return Invitation.objects.create(
        room=_room_of_org_a(personas),
        kind="specialist",
        name="Specialist",
        token_hash="0" * 64,
        created_at=now,
        expires_at=now + dt.timedelta(hours=4),
    )


def _file_of_org_a(personas: Personas):  # type: ignore[no-untyped-def]
    import io

    from django.utils import timezone

    from finestreta.video import files
    from finestreta.video.models import SharedFile

    room = _room_of_org_a(personas)
    found = SharedFile.objects.filter(room=room).first()
    if found is not None:
        return found
    room.citizen_admitted_at = timezone.now()
    room.save(update_fields=["citizen_admitted_at"])
    return files.share_file(
        room=room,
        uploader=files.Uploader(role="staff", name="Agent A"),
        upload=io.BytesIO(b"%PDF-1.4\n%%EOF\n"),
        name="sample.pdf",
        now=timezone.now(),
    )


def test_the_walk_finds_the_staff_routes() -> None:
    templates = {route.template for route in tenant_routes()}
    assert "<slug:org>/staff/" in templates
    assert "<slug:org>/staff/team/" in templates
    assert "<slug:org>/staff/retention/preview/" in templates


@pytest.mark.parametrize("route", tenant_routes(), ids=lambda r: r.template)
@pytest.mark.parametrize("intruder", ["agent_b", "supervisor_b", "admin_b"])
def test_another_tenants_staff_is_refused_on_every_staff_route(
    personas: Personas, route: Route, intruder: str
) -> None:
    path = fill(route.template, personas)
    owner, stranger = Client(), Client()
    owner.force_login(personas.admin_a)
    stranger.force_login(getattr(personas, intruder))
    checked = 0
    for method in ("get", "post"):
        owner_status = getattr(owner, method)(path).status_code
        if owner_status == 405:
            continue  # the route does not take this method at all
        # The positive control: organisation A's own administrator is not refused.
        assert owner_status not in REFUSED, f"{method.upper()} {path} refused its own admin"
        status = getattr(stranger, method)(path).status_code
        assert status in REFUSED, f"{intruder} got {status} on {method.upper()} {path}"
        checked += 1
    assert checked, f"{path} answered 405 to every method"


@pytest.mark.parametrize("route", tenant_routes(), ids=lambda r: r.template)
def test_anonymous_visitors_are_sent_to_log_in_on_every_staff_route(
    client: Client, personas: Personas, route: Route
) -> None:
    response = client.get(fill(route.template, personas))
    assert response.status_code in {302, 401, 403}
    if response.status_code == 302:
        assert response["Location"].startswith(reverse("accounts:login"))


def tenant_scoped_admins() -> list[type]:
    return [
        type(model_admin)
        for model_admin in admin_site._registry.values()
        if isinstance(model_admin, TenantScopedAdmin)
    ]


def _objects_of_org_a(personas: Personas) -> dict[str, object]:
    from finestreta.accounts.models import Membership
    from finestreta.identity import consent, identify
    from finestreta.identity.models import HabilitatedOfficial, LevelPolicy
    from finestreta.notifications.models import MessageTemplate, MessagingSettings
    from finestreta.privacy.services import record_event
    from finestreta.queueing.models import SharingAgreement
    from finestreta.reports.models import SurveyAnswer
    from finestreta.scheduling.models import Absence, WorkingPattern
    from tests.factories import ClosedDayFactory, IdentityProviderFactory, OrganisationFactory

    membership_a = Membership.objects.get(user=personas.agent_a)
    # Shared with a third organisation (org B, the stranger below, is not part of it).
    sharing = SharingAgreement.objects.create(
        host=personas.org_a,
        partner=OrganisationFactory(slug="org-c"),
        reference="Conveni A–C",
        starts_on=dt.date(2026, 1, 1),
    )
    return {
        "sharingagreement": sharing,
        "organisation": personas.org_a,
        "office": personas.office_a,
        "service": personas.service_a,
        "closedday": ClosedDayFactory(organisation=personas.org_a),
        "membership": membership_a,
        "identityprovider": IdentityProviderFactory(organisation=personas.org_a),
        "auditevent": record_event(action="logout", organisation=personas.org_a),
        "messagingsettings": MessagingSettings.objects.create(
            organisation=personas.org_a, sms_api_key="key-a", sms_receipt_secret="secret-a"
        ),
        "messagetemplate": MessageTemplate.objects.create(
            organisation=personas.org_a,
            kind="booking_confirmed",
            channel="sms",
            language="ca",
            body="Cita confirmada.",
        ),
        "workingpattern": WorkingPattern.objects.create(
            membership=membership_a,
            office=personas.office_a,
            weekday=0,
            starts=dt.time(9),
            ends=dt.time(14),
            valid_from=dt.date(2026, 1, 1),
        ),
        "absence": Absence.objects.create(
            membership=membership_a,
            starts_at=dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC),
            ends_at=dt.datetime(2026, 12, 1, 14, tzinfo=dt.UTC),
        ),
        "levelpolicy": LevelPolicy.objects.create(
            organisation=personas.org_a, attention_level="attended"
        ),
        "habilitatedofficial": HabilitatedOfficial.objects.create(
            organisation=personas.org_a,
            user=personas.agent_a,
            reference="Resolució 1/2026",
            valid_from=dt.date(2026, 1, 1),
        ),
        "consentrecord": consent.record_consent(
            appointment=_appointment_of_org_a(personas),
            kind="recording",
            granted=True,
            method="clicked",
            now=dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC),
        ),
        "signature": _signature_of_org_a(personas),
        "surveyanswer": SurveyAnswer.objects.create(
            organisation=personas.org_a,
            appointment=_appointment_of_org_a(personas),
            score=5,
            comment="Molt bé",
            language="ca",
            answered_at=dt.datetime(2026, 12, 1, 10, tzinfo=dt.UTC),
        ),
        "recording": _recording_of_org_a(personas),
        "identitycheck": identify.check_document(
            appointment=_appointment_of_org_a(personas),
            agent=personas.agent_a,
            document_type="passport",
            number="PAA123456",
            number_checked=True,
            photo_matches=True,
            not_expired=True,
            expires_on=None,
            today=dt.date(2026, 12, 1),
            now=dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC),
        ),
    }


def test_every_tenant_scoped_admin_is_walked() -> None:
    names = {cls.__name__ for cls in tenant_scoped_admins()}
    assert names >= {"OrganisationAdmin", "OfficeAdmin", "ServiceAdmin", "MembershipAdmin"}


@pytest.mark.django_db
def test_another_tenants_admin_cannot_open_or_list_any_admin_object(personas: Personas) -> None:
    objects = _objects_of_org_a(personas)
    owner, stranger = Client(), Client()
    owner.force_login(personas.admin_a)
    stranger.force_login(personas.admin_b)
    for model_admin in admin_site._registry.values():
        if not isinstance(model_admin, TenantScopedAdmin):
            continue
        model = model_admin.model
        obj = objects.get(model._meta.model_name)
        assert obj is not None, f"add an org A sample of {model.__name__} to this test"
        opts = model._meta
        change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
        changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        assert owner.get(change).status_code == 200, f"{change} refused its own admin"
        response = stranger.get(change)
        # Django's admin answers a hidden object with a redirect to the index and a message.
        status = response.status_code
        assert status in {302, 403, 404}, f"admin_b got {status} on {change}"
        listing = stranger.get(changelist)
        if listing.status_code == 200:
            assert obj.pk not in {o.pk for o in listing.context["cl"].result_list}
        assert stranger.post(change, {}).status_code in {302, 403, 404}
