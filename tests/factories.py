"""factory_boy factories for the domain models, with traits for states."""

from __future__ import annotations

import datetime as dt

import factory
from factory.django import DjangoModelFactory

from finestreta.accounts.models import IdentityProvider, Membership, Role, User
from finestreta.catalogue.models import AttentionLevel, Service
from finestreta.tenants.models import ClosedDay, Office, OpeningHours, Organisation


class OrganisationFactory(DjangoModelFactory):
    class Meta:
        model = Organisation
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"org-{n}")
    name = factory.Sequence(lambda n: f"Organisme {n}")
    name_ca = factory.SelfAttribute("name")
    brand_colour = "#005a9c"
    contact_email = factory.LazyAttribute(lambda o: f"info@{o.slug}.example")


class OfficeFactory(DjangoModelFactory):
    class Meta:
        model = Office
        skip_postgeneration_save = True

    organisation = factory.SubFactory(OrganisationFactory)
    slug = factory.Sequence(lambda n: f"office-{n}")
    name = factory.Sequence(lambda n: f"Oficina {n}")
    name_ca = factory.SelfAttribute("name")
    kind = Office.Kind.CITIZEN_OFFICE
    address = "Carrer Major 1"
    postcode = "17001"

    class Params:
        back_office = factory.Trait(kind=Office.Kind.BACK_OFFICE, address="")

    @factory.post_generation
    def weekday_hours(self, create: bool, extracted: object, **kwargs: object) -> None:
        if not create or extracted is False:
            return
        for weekday in range(5):
            OpeningHours.objects.create(
                office=self, weekday=weekday, opens=dt.time(9), closes=dt.time(14)
            )


class ServiceFactory(DjangoModelFactory):
    class Meta:
        model = Service
        skip_postgeneration_save = True

    organisation = factory.SubFactory(OrganisationFactory)
    slug = factory.Sequence(lambda n: f"service-{n}")
    name = factory.Sequence(lambda n: f"Tràmit {n}")
    name_ca = factory.SelfAttribute("name")
    name_es = factory.Sequence(lambda n: f"Trámite {n}")
    name_oc = factory.Sequence(lambda n: f"Tramit {n}")
    name_en = factory.Sequence(lambda n: f"Procedure {n}")
    attention_level = AttentionLevel.INFORMATIVE
    duration_minutes = 15

    class Params:
        attended = factory.Trait(attention_level=AttentionLevel.ATTENDED)
        assisted = factory.Trait(attention_level=AttentionLevel.ASSISTED)
        inactive = factory.Trait(is_active=False)

    @factory.post_generation
    def offices(self, create: bool, extracted: object, **kwargs: object) -> None:
        if create and extracted:
            self.offices.set(extracted)  # type: ignore[attr-defined]


class ClosedDayFactory(DjangoModelFactory):
    class Meta:
        model = ClosedDay

    organisation = factory.SubFactory(OrganisationFactory)
    date = dt.date(2026, 12, 24)
    reason = "Tancament"


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = "Anna"
    last_name = factory.Sequence(lambda n: f"Puig {n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.django.Password("correct horse battery staple")

    class Params:
        platform_admin = factory.Trait(is_staff=True, is_superuser=True)


class MembershipFactory(DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organisation = factory.SubFactory(OrganisationFactory)
    role = Role.AGENT
    languages = factory.LazyFunction(lambda: ["ca", "es"])

    class Params:
        supervisor = factory.Trait(role=Role.SUPERVISOR)
        office_admin = factory.Trait(role=Role.OFFICE_ADMIN)
        org_admin = factory.Trait(role=Role.ORG_ADMIN)
        inactive = factory.Trait(is_active=False)


class IdentityProviderFactory(DjangoModelFactory):
    class Meta:
        model = IdentityProvider

    organisation = factory.SubFactory(OrganisationFactory)
    slug = factory.Sequence(lambda n: f"idp-{n}")
    name = "SSO"
    protocol = IdentityProvider.Protocol.OIDC
    issuer = "http://127.0.0.1:9/o"
    client_id = factory.Sequence(lambda n: f"client-{n}")
    client_secret = "not-a-real-secret"  # noqa: S105

    class Params:
        # A citizens' electronic identity service, as VÀLid: the test OIDC provider releases
        # the username (the DNI in these tests) as preferred_username.
        citizens = factory.Trait(
            name="VÀLid",
            audience=IdentityProvider.Audience.CITIZENS,
            scopes="openid profile",
            document_attribute="preferred_username",
        )


class WorkingPatternFactory(DjangoModelFactory):
    """Office hours 9:00–14:00 for one weekday (Monday unless told), from 2026."""

    class Meta:
        model = "scheduling.WorkingPattern"

    membership = factory.SubFactory(MembershipFactory)
    office = factory.LazyAttribute(lambda o: o.membership.organisation.offices.first())
    weekday = 0
    starts = dt.time(9)
    ends = dt.time(14)
    valid_from = dt.date(2026, 1, 1)


def weekly_schedule(membership, office, *, starts=dt.time(9), ends=dt.time(14), weekdays=range(5)):  # type: ignore[no-untyped-def]
    """Working patterns Monday to Friday (by default) for `membership` at `office`."""
    return [
        WorkingPatternFactory(
            membership=membership, office=office, weekday=day, starts=starts, ends=ends
        )
        for day in weekdays
    ]


class AppointmentFactory(DjangoModelFactory):
    """A booked video appointment; traits `held`, `cancelled`, `attended`, `no_show`."""

    class Meta:
        model = "appointments.Appointment"

    agent = factory.SubFactory(MembershipFactory)
    organisation = factory.LazyAttribute(lambda o: o.agent.organisation)
    service = factory.LazyAttribute(lambda o: ServiceFactory(organisation=o.organisation))
    channel = "video"
    starts_at = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
    ends_at = factory.LazyAttribute(lambda o: o.starts_at + dt.timedelta(minutes=30))
    occupied_from = factory.SelfAttribute("starts_at")
    occupied_until = factory.SelfAttribute("ends_at")
    status = "booked"
    code = factory.Sequence(lambda n: f"T{n:07d}")
    name = "Núria Vidal"
    email = "nuria@example.org"
    manage_nonce = factory.Sequence(lambda n: f"nonce{n}")

    class Params:
        held = factory.Trait(status="held", name="", email="", manage_nonce="")
        cancelled = factory.Trait(status="cancelled", cancelled_by="citizen")
        attended = factory.Trait(status="attended")
        no_show = factory.Trait(status="no_show")
