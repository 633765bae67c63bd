"""A realistic tenant for the browser tests, built with the factories.

One organisation without a logo (so the brand falls back to its name and colour), two offices with
opening hours, services at all three attention levels with texts in all four languages, a closed
day, and a staff member to log in with. A second, smaller organisation makes the platform home
list more than one entry.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.utils import timezone

from finestreta.accounts.models import User
from finestreta.catalogue.models import AttentionLevel, Service
from finestreta.reports.services import survey_path
from finestreta.scheduling.models import WorkingPattern
from finestreta.tenants.models import Municipality, Office, OpeningHours, Organisation
from tests.factories import (
    AppointmentFactory,
    ClosedDayFactory,
    IdentityProviderFactory,
    MembershipFactory,
    OfficeFactory,
    OrganisationFactory,
    ServiceFactory,
    UserFactory,
)
from tests.personas import PASSWORD

LANGUAGES = ("ca", "es", "oc", "en")
MADRID = ZoneInfo("Europe/Madrid")
STAFF_USERNAME = "agent-girona"
STAFF_PASSWORD = PASSWORD


@dataclass(frozen=True)
class BrowserData:
    organisation: Organisation
    second_organisation: Organisation
    citizen_office: Office
    back_office: Office
    services: dict[str, Service]  # by attention level
    staff: User
    appointment_code: str = ""
    survey_path: str = ""  # of an appointment attended yesterday
    password: str = STAFF_PASSWORD


def _service(
    organisation: Organisation,
    *,
    slug: str,
    level: AttentionLevel,
    names: dict[str, str],
    descriptions: dict[str, str],
    documents: dict[str, list[str]],
    offices: list[Office],
    **extra: object,
) -> Service:
    fields: dict[str, object] = {}
    for lang in LANGUAGES:
        fields[f"name_{lang}"] = names[lang]
        fields[f"description_{lang}"] = descriptions[lang]
        fields[f"documents_to_prepare_{lang}"] = "\n".join(documents[lang])
    return ServiceFactory(
        organisation=organisation,
        slug=slug,
        name=names["ca"],
        attention_level=level,
        offices=offices,
        **fields,
        **extra,
    )


def create_browser_data() -> BrowserData:
    """Create the tenant. Call it before Playwright starts, or with DJANGO_ALLOW_ASYNC_UNSAFE."""
    girona, _created = Municipality.objects.get_or_create(
        ine_code="170792", defaults={"name": "Girona", "latitude": 41.98, "longitude": 2.82}
    )
    organisation = OrganisationFactory(
        slug="generalitat",
        name="Generalitat de Catalunya",
        name_ca="Generalitat de Catalunya",
        name_es="Generalitat de Cataluña",
        name_oc="Generalitat de Catalonha",
        name_en="Government of Catalonia",
        brand_colour="#9b1b30",
        contact_email="atencio@generalitat.example",
        contact_phone="012",
        logo="",
    )
    second = OrganisationFactory(
        slug="vilanova",
        name="Ajuntament de Vilanova",
        name_ca="Ajuntament de Vilanova",
        brand_colour="#005a9c",
    )
    citizen_office = OfficeFactory(
        organisation=organisation,
        slug="oac-girona",
        name="OAC Girona",
        name_ca="OAC Girona",
        name_es="OAC Gerona",
        name_oc="OAC Girona",
        name_en="Girona citizen office",
        address="Plaça de Pompeu Fabra 1",
        postcode="17002",
        municipality=girona,
    )
    # An afternoon on Thursdays: two intervals in one day.
    OpeningHours.objects.create(
        office=citizen_office, weekday=3, opens=dt.time(16), closes=dt.time(18, 30)
    )
    back_office = OfficeFactory(
        organisation=organisation,
        slug="back-office",
        name="Back-office",
        name_ca="Oficina virtual",
        name_es="Oficina virtual",
        name_oc="Oficina virtuau",
        name_en="Virtual back-office",
        back_office=True,
    )
    OfficeFactory(organisation=second, slug="ajuntament", name="Ajuntament", name_ca="Ajuntament")
    ClosedDayFactory(
        organisation=organisation,
        office=citizen_office,
        date=timezone.localdate() + dt.timedelta(days=20),
        reason="Festa major de Sant Narcís",
    )

    both = [citizen_office, back_office]
    services = {
        AttentionLevel.INFORMATIVE: _service(
            organisation,
            slug="ajuts-lloguer",
            level=AttentionLevel.INFORMATIVE,
            names={
                "ca": "Informació sobre els ajuts al lloguer",
                "es": "Información sobre las ayudas al alquiler",
                "oc": "Informacion sus es ajudes ath loguèr",
                "en": "Information about rent support",
            },
            descriptions={
                "ca": "Us expliquem quins ajuts hi ha per pagar el lloguer i qui els pot demanar.",
                "es": "Le explicamos qué ayudas hay para pagar el alquiler y quién puede pedirlas.",
                "oc": "Vos expliquam quines ajudes i a entà pagar eth loguèr.",
                "en": "We explain which grants help you pay the rent and who can apply.",
            },
            documents={
                "ca": ["Contracte de lloguer"],
                "es": ["Contrato de alquiler"],
                "oc": ["Contracte de loguèr"],
                "en": ["Rental contract"],
            },
            offices=both,
        ),
        AttentionLevel.ASSISTED: _service(
            organisation,
            slug="idcat-mobil",
            level=AttentionLevel.ASSISTED,
            names={
                "ca": "Alta a l'idCAT Mòbil",
                "es": "Alta en el idCAT Móvil",
                "oc": "Alta ath idCAT Mòbil",
                "en": "Register for idCAT Mobile",
            },
            descriptions={
                "ca": "Us acompanyem pas a pas mentre us doneu d'alta a l'idCAT Mòbil.",
                "es": "Le acompañamos paso a paso mientras se da de alta en el idCAT Móvil.",
                "oc": "Vos acompanham pas a pas entà dar-vos d'alta ath idCAT Mòbil.",
                "en": "We guide you step by step while you register for idCAT Mobile.",
            },
            documents={
                "ca": ["DNI o NIE", "Targeta sanitària", "Telèfon mòbil"],
                "es": ["DNI o NIE", "Tarjeta sanitaria", "Teléfono móvil"],
                "oc": ["DNI o NIE", "Tarja sanitària", "Telefòn mòbil"],
                "en": ["Identity card or NIE", "Health card", "Mobile phone"],
            },
            offices=[citizen_office],
            offers_phone=True,
        ),
        AttentionLevel.ATTENDED: _service(
            organisation,
            slug="renovacio-titol-familia-nombrosa",
            level=AttentionLevel.ATTENDED,
            names={
                "ca": "Renovació del títol de família nombrosa",
                "es": "Renovación del título de familia numerosa",
                "oc": "Renovacion deth títol de familha nombrosa",
                "en": "Renewal of the large family card",
            },
            descriptions={
                "ca": "Fem el tràmit per vosaltres. Caldrà que us identifiqueu i ens doneu el "
                "consentiment exprés.",
                "es": "Hacemos el trámite por usted. Tendrá que identificarse y darnos su "
                "consentimiento expreso.",
                "oc": "Hèm eth tramit per vosautes. Vos cau identificar-vos e dar-mos eth "
                "consentiment exprès.",
                "en": "We do the procedure for you. You will have to identify yourself and give "
                "your express consent.",
            },
            documents={
                "ca": ["DNI de tots els membres", "Llibre de família", "Títol actual"],
                "es": ["DNI de todos los miembros", "Libro de familia", "Título actual"],
                "oc": ["DNI de toti es membres", "Libre de familha", "Títol actual"],
                "en": ["Identity cards of every member", "Family book", "Current card"],
            },
            offices=both,
            offers_in_person=True,
            duration_minutes=30,
        ),
    }
    ServiceFactory(organisation=second, slug="padro", name="Alta al padró", name_ca="Alta al padró")

    staff = UserFactory(
        username=STAFF_USERNAME,
        first_name="Marta",
        last_name="Vidal",
        password=STAFF_PASSWORD,
        # Staff sign in through their organisation's provider; a password login is for platform
        # administrators and, while DEBUG is on, for demo accounts like this one.
        is_demo=True,
    )
    membership = MembershipFactory(
        user=staff, organisation=organisation, org_admin=True, languages=["ca", "es", "en"]
    )
    membership.offices.set([citizen_office])
    # The login page then offers this organisation's sign-on button.
    IdentityProviderFactory(organisation=organisation, slug="gicar", name="GICAR")
    membership.services.set(services.values())
    # Every day from 8:00 to 20:00, so that there are free times whenever the suite runs.
    for weekday in range(7):
        WorkingPattern.objects.create(
            membership=membership,
            office=citizen_office,
            weekday=weekday,
            starts=dt.time(8),
            ends=dt.time(20),
            valid_from=dt.date(2026, 1, 1),
            video=True,
            phone=True,
            in_person=True,
        )
    # A booked appointment for the staff pages, three days ahead (not where the booking tests
    # look for free times: the first ones from now).
    start = dt.datetime.combine(
        timezone.localdate() + dt.timedelta(days=3), dt.time(18), tzinfo=MADRID
    )
    appointment = AppointmentFactory(
        agent=membership,
        service=services[AttentionLevel.ATTENDED],
        office=citizen_office,
        channel="in_person",
        starts_at=start,
        code="BROWSER1",
        name="Pau Roca i Serra",
        email="pau@example.org",
        needs_captions=True,
        representative_name="Anna Serra",
    )
    # One attended yesterday, whose survey is open.
    yesterday = start - dt.timedelta(days=4)
    attended = AppointmentFactory(
        agent=membership,
        service=services[AttentionLevel.ATTENDED],
        channel="video",
        starts_at=yesterday,
        code="BROWSER2",
        name="Marta Puig",
        email="marta@example.org",
        attended=True,
    )
    return BrowserData(
        appointment_code=appointment.code,
        survey_path=survey_path(attended),
        organisation=organisation,
        second_organisation=second,
        citizen_office=citizen_office,
        back_office=back_office,
        services=services,
        staff=staff,
    )
