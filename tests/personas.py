"""Personas across two organisations, shared by every app's tests (Healthchecks' hc/test.py)."""

from __future__ import annotations

from dataclasses import dataclass

from django.test import Client

from finestreta.accounts.models import Membership, User
from finestreta.catalogue.models import Service
from finestreta.tenants.models import Office, Organisation
from tests.factories import (
    MembershipFactory,
    OfficeFactory,
    OrganisationFactory,
    ServiceFactory,
    UserFactory,
)

PASSWORD = "correct horse battery staple"  # noqa: S105 - test accounts only


@dataclass
class Personas:
    org_a: Organisation
    org_b: Organisation
    office_a: Office
    office_b: Office
    service_a: Service
    service_b: Service
    agent_a: User
    supervisor_a: User
    admin_a: User
    agent_b: User
    supervisor_b: User
    admin_b: User
    platform_admin: User
    citizen_email: str = "ciutadana@example.net"  # citizens have no account

    def membership(self, user: User) -> Membership:
        return Membership.objects.get(user=user)


def make_personas() -> Personas:
    org_a = OrganisationFactory(slug="org-a", name="Organisme A")
    org_b = OrganisationFactory(slug="org-b", name="Organisme B")
    office_a = OfficeFactory(organisation=org_a, slug="oficina-a", name="Oficina A")
    office_b = OfficeFactory(organisation=org_b, slug="oficina-b", name="Oficina B")
    service_a = ServiceFactory(organisation=org_a, slug="servei-a", offices=[office_a])
    service_b = ServiceFactory(organisation=org_b, slug="servei-b", offices=[office_b])

    def member(username: str, org: Organisation, office: Office, **traits: bool) -> User:
        user = UserFactory(username=username)
        membership = MembershipFactory(user=user, organisation=org, **traits)
        membership.offices.add(office)
        return user

    return Personas(
        org_a=org_a,
        org_b=org_b,
        office_a=office_a,
        office_b=office_b,
        service_a=service_a,
        service_b=service_b,
        agent_a=member("agent-a", org_a, office_a),
        supervisor_a=member("supervisor-a", org_a, office_a, supervisor=True),
        admin_a=member("admin-a", org_a, office_a, org_admin=True),
        agent_b=member("agent-b", org_b, office_b),
        supervisor_b=member("supervisor-b", org_b, office_b, supervisor=True),
        admin_b=member("admin-b", org_b, office_b, org_admin=True),
        platform_admin=UserFactory(username="platform", platform_admin=True),
    )


def log_in(user: User, client: Client | None = None) -> Client:
    """A client signed in as `user`; a platform administrator has also given a second factor
    (as after the TOTP step), since nothing else is open to them without it."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client = client or Client()
    client.force_login(user)
    if user.is_superuser:
        device = TOTPDevice.objects.create(user=user, name="test device", confirmed=True)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    return client
