"""The demo data: two organisations, their offices, services and staff (see `load_demo`), with
the staff's working weeks, absences and a few appointments (`finestreta.lib.demo_schedules`).

`load_demo_data` is idempotent: every row is keyed on a slug or a username and updated in place,
so running it again changes nothing and creates no duplicates. The demo accounts (`is_demo`) can
only log in while DEBUG is on (see finestreta.accounts.backends); the `load_demo` command refuses
to run at all when DEBUG is off.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation

from finestreta.accounts.demo import DEMO_PASSWORD
from finestreta.accounts.models import Membership, Role, User
from finestreta.catalogue.models import AttentionLevel, OutcomeCode, Service
from finestreta.integrations.dev_receiver import demo_url
from finestreta.integrations.services import SUBSCRIBABLE, Subscription, new_secret
from finestreta.lib.demo_history import load_history
from finestreta.lib.demo_schedules import load_schedules
from finestreta.lib.demo_texts import (
    LANGS,
    OFFICE_NAMES,
    ORGANISATION_TEXTS,
    SERVICE_TEXTS,
    Translations,
)
from finestreta.tenants.colours import passes_aa_on_white
from finestreta.tenants.models import ClosedDay, Municipality, Office, OpeningHours, Organisation

Kind = Office.Kind
ALL = ("*",)  # every service of the organisation, in a membership's skills


@dataclass(frozen=True)
class DemoSummary:
    organisations: int
    offices: int
    opening_hours: int
    closed_days: int
    services: int
    users: int
    memberships: int
    working_patterns: int
    absences: int
    appointments: int
    past_appointments: int = 0  # the history behind the dashboard (demo_history)
    survey_answers: int = 0
    webhook_subscriptions: int = 0  # to the development receiver


@dataclass(frozen=True)
class OrganisationSpec:
    slug: str
    brand_colour: str
    contact_email: str
    contact_phone: str
    website: str


@dataclass(frozen=True)
class OfficeSpec:
    org: str
    slug: str
    kind: str
    address: str = ""
    postcode: str = ""
    municipality: str = ""
    email: str = ""


@dataclass(frozen=True)
class ServiceSpec:
    org: str
    slug: str
    level: AttentionLevel
    minutes: int
    offices: tuple[str, ...]
    video: bool = True
    phone: bool = False
    in_person: bool = False


@dataclass(frozen=True)
class UserSpec:
    username: str
    first_name: str
    last_name: str
    email: str
    org: str = ""
    role: Role = Role.AGENT
    offices: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    languages: tuple[str, ...] = ("ca", "es")
    sign_language: bool = False
    preferred_language: str = "ca"
    is_superuser: bool = False


ORGANISATIONS = [
    OrganisationSpec(
        "generalitat", "#a5111a", "atencio@gencat.example", "012", "https://gencat.example/"
    ),
    OrganisationSpec(
        "vilanova", "#1d5e3b", "oac@vilanova.example", "010", "https://vilanova.example/"
    ),
]

OFFICES = [
    OfficeSpec(
        "generalitat", "oac-girona", Kind.CITIZEN_OFFICE,
        "Carrer de Sant Francesc, 29", "17001", "Girona", "oac.girona@gencat.example",
    ),
    OfficeSpec(
        "generalitat", "oac-terres-de-l-ebre", Kind.CITIZEN_OFFICE,
        "Plaça de Gerard Vergés, 1", "43500", "Tortosa", "oac.ebre@gencat.example",
    ),
    OfficeSpec(
        "generalitat", "accio-social-taulat", Kind.SECTOR_OFFICE,
        "Carrer del Taulat, 5", "08005", "Barcelona", "accio.social@gencat.example",
    ),
    OfficeSpec(
        "generalitat", "politiques-digitals-arago", Kind.SECTOR_OFFICE,
        "Carrer d'Aragó, 330", "08009", "Barcelona", "politiques.digitals@gencat.example",
    ),
    OfficeSpec(
        "generalitat", "empresa-treball-albareda", Kind.SECTOR_OFFICE,
        "Carrer Albareda, 2-4", "08004", "Barcelona", "empresa.treball@gencat.example",
    ),
    OfficeSpec("generalitat", "backoffice", Kind.BACK_OFFICE, email="backoffice@gencat.example"),
    OfficeSpec(
        "vilanova", "oac-vilanova", Kind.CITIZEN_OFFICE,
        "Plaça de la Vila, 8", "08800", "Vilanova i la Geltrú", "oac@vilanova.example",
    ),
]  # fmt: skip

WEEKDAYS = range(5)  # Monday to Friday
THURSDAY = OpeningHours.Weekday.THURSDAY


def _hours(
    opens: int, closes: int | dt.time, days: Iterable[int] = WEEKDAYS
) -> list[tuple[int, dt.time, dt.time]]:
    until = closes if isinstance(closes, dt.time) else dt.time(closes)
    return [(day, dt.time(opens), until) for day in days]


# Citizen offices also open on Thursday afternoons. The demo's back-office attends by video
# round the clock, every day, so that "attention now" can be tried whenever the demo runs.
OPENING_HOURS = {
    Kind.CITIZEN_OFFICE: _hours(9, 14) + _hours(16, 18, [THURSDAY]),
    Kind.SECTOR_OFFICE: _hours(9, 14),
    Kind.BACK_OFFICE: _hours(0, dt.time(23, 59, 59), range(7)),
}

OACS = ("oac-girona", "oac-terres-de-l-ebre")
INFO, ASSISTED, ATTENDED = (
    AttentionLevel.INFORMATIVE,
    AttentionLevel.ASSISTED,
    AttentionLevel.ATTENDED,
)

SERVICES = [
    ServiceSpec("generalitat", "ajuts-subvencions", INFO, 15, (*OACS, "backoffice"), phone=True),
    ServiceSpec(
        "generalitat", "idcat-mobil", ASSISTED, 20,
        (*OACS, "politiques-digitals-arago", "backoffice"), in_person=True,
    ),
    ServiceSpec(
        "generalitat", "inscripcio-demandant-ocupacio", ATTENDED, 30,
        ("empresa-treball-albareda", *OACS, "backoffice"), in_person=True,
    ),
    ServiceSpec(
        "generalitat", "grau-discapacitat-informacio", INFO, 15,
        ("accio-social-taulat", *OACS, "backoffice"), phone=True,
    ),
    ServiceSpec(
        "generalitat", "prestacions-socials", ATTENDED, 30,
        ("accio-social-taulat", "backoffice"), in_person=True,
    ),
    ServiceSpec(
        "generalitat", "creacio-empresa", ASSISTED, 30, ("empresa-treball-albareda", "backoffice")
    ),
    ServiceSpec(
        "generalitat", "certificat-digital", ASSISTED, 20,
        ("politiques-digitals-arago", "oac-girona", "backoffice"), in_person=True,
    ),
    ServiceSpec(
        "generalitat", "familia-nombrosa", ATTENDED, 25,
        (*OACS, "accio-social-taulat", "backoffice"), in_person=True,
    ),
    ServiceSpec(
        "generalitat", "instancia-generica", ATTENDED, 15, (*OACS, "backoffice"), in_person=True
    ),
    ServiceSpec(
        "generalitat", "obligacions-tributaries", INFO, 15, (*OACS, "backoffice"), phone=True
    ),
    # Catalan courses: by telephone or at the counter only, to show a service without video.
    ServiceSpec(
        "generalitat", "classes-catala", INFO, 10, (*OACS, "backoffice"),
        video=False, phone=True, in_person=True,
    ),
    ServiceSpec(
        "generalitat", "reconeixement-dependencia", ATTENDED, 30,
        ("accio-social-taulat", *OACS, "backoffice"),
    ),
    ServiceSpec(
        "vilanova", "certificat-empadronament", ATTENDED, 10, ("oac-vilanova",), in_person=True
    ),
    ServiceSpec("vilanova", "ajuts-lloguer", INFO, 15, ("oac-vilanova",), phone=True),
    ServiceSpec("vilanova", "obres-menors", ASSISTED, 20, ("oac-vilanova",), in_person=True),
]  # fmt: skip

GENCAT_OFFICES = tuple(spec.slug for spec in OFFICES if spec.org == "generalitat")

USERS = [
    UserSpec(
        "admin", "Núria", "Ferrer Soler", "nuria.ferrer@finestreta.example", is_superuser=True
    ),
    UserSpec(
        "gencat-admin", "Jordi", "Casals Pujol", "jordi.casals@gencat.example",
        "generalitat", Role.ORG_ADMIN,
    ),
    UserSpec(
        "girona-admin", "Montserrat", "Roca Vidal", "montserrat.roca@gencat.example",
        "generalitat", Role.OFFICE_ADMIN, ("oac-girona",),
    ),
    UserSpec(
        "supervisora", "Laia", "Bosch Martí", "laia.bosch@gencat.example",
        "generalitat", Role.SUPERVISOR, GENCAT_OFFICES, ALL, ("ca", "es", "en"),
    ),
    UserSpec(
        "agent-girona", "Pau", "Comas Oliveras", "pau.comas@gencat.example",
        "generalitat", Role.AGENT, ("oac-girona",),
        ("ajuts-subvencions", "idcat-mobil", "inscripcio-demandant-ocupacio",
         "familia-nombrosa", "instancia-generica", "obligacions-tributaries"),
        ("ca", "es", "en"),
    ),
    UserSpec(
        "agent-tortosa", "Mireia", "Subirats Queralt", "mireia.subirats@gencat.example",
        "generalitat", Role.AGENT, ("oac-terres-de-l-ebre",),
        ("ajuts-subvencions", "idcat-mobil", "grau-discapacitat-informacio", "familia-nombrosa",
         "instancia-generica", "classes-catala", "reconeixement-dependencia",
         "inscripcio-demandant-ocupacio"),
        ("ca", "es", "fr"),
    ),
    UserSpec(
        "agent-backoffice", "Arnau", "Riera Camps", "arnau.riera@gencat.example",
        "generalitat", Role.AGENT, ("backoffice",), ALL, ("ca", "es", "oc"),
        sign_language=True, preferred_language="oc",
    ),
    UserSpec(
        "agent-arago", "Marc", "Fontanet Gil", "marc.fontanet@gencat.example",
        "generalitat", Role.AGENT, ("politiques-digitals-arago", "backoffice"),
        ("certificat-digital", "idcat-mobil"), ("ca", "es", "en", "de"),
    ),
    UserSpec(
        "agent-taulat", "Fàtima", "El Amrani Puig", "fatima.elamrani@gencat.example",
        "generalitat", Role.AGENT, ("accio-social-taulat",),
        ("prestacions-socials", "grau-discapacitat-informacio", "reconeixement-dependencia",
         "familia-nombrosa"),
        ("ca", "es", "ar", "fr"),
    ),
    UserSpec(
        "agent-albareda", "Andreea", "Popescu Ribas", "andreea.popescu@gencat.example",
        "generalitat", Role.AGENT, ("empresa-treball-albareda",),
        ("creacio-empresa", "inscripcio-demandant-ocupacio", "ajuts-subvencions"),
        ("ca", "es", "ro", "it"),
    ),
    UserSpec(
        "agent-girona-2", "Olena", "Kovalenko Serra", "olena.kovalenko@gencat.example",
        "generalitat", Role.AGENT, ("oac-girona",),
        ("ajuts-subvencions", "idcat-mobil", "instancia-generica", "classes-catala",
         "certificat-digital"),
        ("ca", "es", "uk", "ru"),
    ),
    UserSpec(
        "ajuntament-admin", "Carme", "Soler Raventós", "carme.soler@vilanova.example",
        "vilanova", Role.ORG_ADMIN,
    ),
    UserSpec(
        "agent-ajuntament", "Oriol", "Mestres Ventura", "oriol.mestres@vilanova.example",
        "vilanova", Role.AGENT, ("oac-vilanova",), ALL, ("ca", "es", "pt"),
    ),
]  # fmt: skip


def translated(field: str, texts: Translations) -> dict[str, str]:
    """{"name_ca": ..., "name_es": ..., ...} for a modeltranslation field."""
    return {f"{field}_{lang}": texts[lang] for lang in LANGS}


def closed_days(today: dt.date) -> list[tuple[str, str | None, dt.date, str]]:
    """(organisation, office or None, date, reason) for this year and the next."""
    days: list[tuple[str, str | None, dt.date, str]] = []
    for year in (today.year, today.year + 1):
        first_sunday = dt.date(year, 9, 1) + dt.timedelta(days=(6 - dt.date(year, 9, 1).weekday()))
        tortosa = first_sunday + dt.timedelta(days=1)  # the Monday of the Cinta festival
        days += [
            ("generalitat", None, dt.date(year, 12, 24), "Vigília de Nadal: oficines tancades"),
            ("generalitat", "oac-girona", dt.date(year, 10, 29), "Festa local (Sant Narcís)"),
            ("generalitat", "oac-terres-de-l-ebre", tortosa, "Festa local (Festes de la Cinta)"),
            ("vilanova", None, dt.date(year, 8, 5), "Festa major (Mare de Déu de les Neus)"),
        ]
    return days


def _load_organisations() -> dict[str, Organisation]:
    organisations = {}
    for spec in ORGANISATIONS:
        if not passes_aa_on_white(spec.brand_colour):
            raise ValueError(f"{spec.slug}: brand colour {spec.brand_colour} fails WCAG AA")
        texts = ORGANISATION_TEXTS[spec.slug]
        org, _created = Organisation.objects.update_or_create(
            slug=spec.slug,
            defaults={
                **translated("name", texts.name),
                **translated("privacy_notice", texts.privacy_notice),
                **translated("accessibility_statement", texts.accessibility_statement),
                "brand_colour": spec.brand_colour,
                "default_language": "ca",
                "time_zone": "Europe/Madrid",
                "holiday_country": "ES",
                "holiday_subdivision": "CT",
                "contact_email": spec.contact_email,
                "contact_phone": spec.contact_phone,
                "website": spec.website,
                # The Generalitat's demo lets its supervisors listen to calls for coaching.
                "allows_silent_coaching": spec.slug == "generalitat",
                "is_active": True,
            },
        )
        org.full_clean()
        organisations[spec.slug] = org
    return organisations


def _load_offices(organisations: dict[str, Organisation]) -> dict[tuple[str, str], Office]:
    offices = {}
    for spec in OFFICES:
        municipality = (
            Municipality.objects.get(name=spec.municipality) if spec.municipality else None
        )
        office, _created = Office.objects.update_or_create(
            organisation=organisations[spec.org],
            slug=spec.slug,
            defaults={
                **translated("name", OFFICE_NAMES[spec.slug]),
                "kind": spec.kind,
                "address": spec.address,
                "postcode": spec.postcode,
                "municipality": municipality,
                "email": spec.email,
                "is_active": True,
            },
        )
        office.full_clean()
        offices[(spec.org, spec.slug)] = office
    return offices


def _load_opening_hours(offices: Iterable[Office]) -> int:
    """Make each office's opening hours exactly the standard ones for its kind."""
    count = 0
    for office in offices:
        standard = OPENING_HOURS[Kind(office.kind)]
        wanted = set(standard)
        existing = {(h.weekday, h.opens, h.closes): h for h in office.opening_hours.all()}
        for key, hours in existing.items():
            if key not in wanted:
                hours.delete()
        OpeningHours.objects.bulk_create(
            OpeningHours(office=office, weekday=day, opens=opens, closes=closes)
            for day, opens, closes in sorted(wanted - existing.keys())
        )
        count += len(wanted)
    return count


def _load_closed_days(
    organisations: dict[str, Organisation], offices: dict[tuple[str, str], Office]
) -> int:
    days = closed_days(timezone.localdate())
    for org_slug, office_slug, date, reason in days:
        ClosedDay.objects.update_or_create(
            organisation=organisations[org_slug],
            office=offices[(org_slug, office_slug)] if office_slug else None,
            date=date,
            defaults={"reason": reason},
        )
    return len(days)


def _load_services(
    organisations: dict[str, Organisation], offices: dict[tuple[str, str], Office]
) -> dict[tuple[str, str], Service]:
    services = {}
    for spec in SERVICES:
        texts = SERVICE_TEXTS[spec.slug]
        service, _created = Service.objects.update_or_create(
            organisation=organisations[spec.org],
            slug=spec.slug,
            defaults={
                **translated("name", texts.name),
                **translated("description", texts.description),
                **translated("documents_to_prepare", texts.documents_to_prepare),
                "attention_level": spec.level,
                "offers_video": spec.video,
                "offers_phone": spec.phone,
                "offers_in_person": spec.in_person,
                "duration_minutes": spec.minutes,
                "is_active": True,
            },
        )
        service.full_clean()
        service.offices.set([offices[(spec.org, slug)] for slug in spec.offices])
        services[(spec.org, spec.slug)] = service
    return services


def _load_users(
    organisations: dict[str, Organisation],
    offices: dict[tuple[str, str], Office],
    services: dict[tuple[str, str], Service],
) -> int:
    memberships = 0
    for spec in USERS:
        user, created = User.objects.update_or_create(
            username=spec.username,
            defaults={
                "first_name": spec.first_name,
                "last_name": spec.last_name,
                "email": spec.email,
                "preferred_language": spec.preferred_language,
                "is_demo": True,
                "is_active": True,
                "is_staff": spec.is_superuser,
                "is_superuser": spec.is_superuser,
            },
        )
        # Hash the password only when it differs, so a second run leaves the row as it was.
        if created or not user.check_password(DEMO_PASSWORD):
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        if not spec.org:
            continue
        membership, _created = Membership.objects.update_or_create(
            user=user,
            organisation=organisations[spec.org],
            defaults={
                "role": spec.role,
                "languages": list(spec.languages),
                "sign_language": spec.sign_language,
                "is_active": True,
            },
        )
        membership.full_clean()
        membership.offices.set([offices[(spec.org, slug)] for slug in spec.offices])
        if spec.services == ALL:
            skills = [s for (org, _slug), s in services.items() if org == spec.org]
        else:
            skills = [services[(spec.org, slug)] for slug in spec.services]
        membership.services.set(skills)
        memberships += 1
    return memberships


# How an attention ends, as agents record it at the desk (code, resolves at first contact, labels).
OUTCOMES = [
    ("resolved", True, {"ca": "Resolt", "es": "Resuelto", "oc": "Resolgut", "en": "Resolved"}),
    (
        "informed",
        True,
        {"ca": "Informació donada", "es": "Información dada", "oc": "Informacion balhada",
         "en": "Information given"},
    ),
    (
        "follow_up",
        False,
        {"ca": "Cal fer-ne seguiment", "es": "Requiere seguimiento", "oc": "Cau hèr-ne seguiment",
         "en": "Needs a follow-up"},
    ),
    (
        "referred",
        False,
        {"ca": "Derivat a un altre servei", "es": "Derivado a otro servicio",
         "oc": "Derivat a un aute servici", "en": "Referred to another service"},
    ),
]  # fmt: skip


def _load_outcomes(organisations: dict[str, Organisation]) -> None:
    for organisation in organisations.values():
        for code, resolves, labels in OUTCOMES:
            OutcomeCode.objects.update_or_create(
                organisation=organisation,
                code=code,
                defaults={
                    "resolves": resolves,
                    "label": labels["ca"],
                    **{f"label_{language}": text for language, text in labels.items()},
                },
            )


def _load_sharing(
    organisations: dict[str, Organisation], services: dict[tuple[str, str], Service]
) -> None:
    """Vilanova's agent helps with the Generalitat's tax questions in its queue (ADR 25)."""
    from finestreta.queueing.models import SharingAgreement

    now = timezone.now()
    agreement, _created = SharingAgreement.objects.update_or_create(
        host=organisations["generalitat"],
        partner=organisations["vilanova"],
        defaults={
            "reference": "Conveni de col·laboració en atenció ciutadana (demo)",
            "starts_on": timezone.localdate() - dt.timedelta(days=30),
            "ends_on": None,
            "host_approved_at": now,
            "host_approved_by": User.objects.get(username="gencat-admin"),
            "partner_approved_at": now,
            "partner_approved_by": User.objects.get(username="ajuntament-admin"),
            "revoked_at": None,
        },
    )
    agreement.services.set([services[("generalitat", "obligacions-tributaries")]])
    agreement.agents.set(
        Membership.objects.filter(user__username="agent-ajuntament", organisation__slug="vilanova")
    )


# Staff habilitated to identify citizens and act for them (Law 39/2015, art. 12): two of the
# Generalitat's agents; the others see, in an attended call, that they are not in the register.
HABILITATED = [("generalitat", "agent-girona"), ("generalitat", "agent-backoffice")]


def _load_habilitations(organisations: dict[str, Organisation]) -> None:
    from finestreta.identity.models import HabilitatedOfficial

    for org, username in HABILITATED:
        HabilitatedOfficial.objects.update_or_create(
            organisation=organisations[org],
            user=User.objects.get(username=username),
            defaults={
                "reference": "Resolució PRE/1234/2026 (demo)",
                "valid_from": dt.date(2026, 1, 1),
                "valid_until": None,
            },
        )


DEMO_WEBHOOK = "Gestor d'expedients de demostració (receptor de desenvolupament)"


def load_webhooks(organisations: dict[str, Organisation]) -> int:
    """Each organisation's subscription to every event, sent to the development receiver
    (`integrations.dev_receiver`) at this platform's address: the demo's working webhook. Its
    secret is made once and kept; the address follows SITE_URL."""
    for organisation in organisations.values():
        subscription, created = Subscription.objects.get_or_create(
            organisation=organisation,
            description=DEMO_WEBHOOK,
            defaults={"secret": new_secret()},
        )
        subscription.url = demo_url(settings.SITE_URL, organisation)
        subscription.event_types = sorted(value for value, _label in SUBSCRIBABLE)
        subscription.is_active = True
        subscription.save()
    return len(organisations)


@transaction.atomic
def load_demo_data() -> DemoSummary:
    """Create or update all the demo data; safe to run any number of times."""
    with translation.override("ca"):
        organisations = _load_organisations()
        offices = _load_offices(organisations)
        opening_hours = _load_opening_hours(offices.values())
        closed = _load_closed_days(organisations, offices)
        services = _load_services(organisations, offices)
        _load_outcomes(organisations)
        memberships = _load_users(organisations, offices, services)
        _load_sharing(organisations, services)
        _load_habilitations(organisations)
        schedules = load_schedules(organisations, offices, timezone.localdate())
        history = load_history(organisations, timezone.localdate())
        webhooks = load_webhooks(organisations)
    return DemoSummary(
        organisations=len(organisations),
        offices=len(offices),
        opening_hours=opening_hours,
        closed_days=closed,
        services=len(services),
        users=len(USERS),
        memberships=memberships,
        working_patterns=schedules.working_patterns,
        absences=schedules.absences,
        appointments=schedules.appointments,
        past_appointments=history.appointments,
        survey_answers=history.survey_answers,
        webhook_subscriptions=webhooks,
    )
