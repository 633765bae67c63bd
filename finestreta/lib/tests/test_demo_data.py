"""The demo data loader (`finestreta.lib.demo_data` and `manage.py load_demo`)."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
import time_machine
from django.conf import settings as django_settings
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.db.models import Model
from django.utils import timezone
from pytest_django.fixtures import Settings

from finestreta.accounts.demo import DEMO_LOGINS, DEMO_PASSWORD
from finestreta.accounts.models import Membership, Role, User
from finestreta.appointments.models import Appointment
from finestreta.catalogue.models import AttentionLevel, Channel, Service
from finestreta.integrations.models import Subscription
from finestreta.integrations.services import SUBSCRIBABLE
from finestreta.lib.demo_data import DemoSummary, load_demo_data
from finestreta.reports import kpis
from finestreta.reports.models import SurveyAnswer
from finestreta.scheduling.models import Absence, WorkingPattern
from finestreta.scheduling.services import find_slots
from finestreta.tenants.colours import passes_aa_on_white
from finestreta.tenants.models import ClosedDay, Office, OpeningHours, Organisation

LANGUAGE_CODES = [code for code, _name in django_settings.LANGUAGES]
GENCAT_OFFICES = {
    "oac-girona",
    "oac-terres-de-l-ebre",
    "accio-social-taulat",
    "politiques-digitals-arago",
    "empresa-treball-albareda",
    "backoffice",
}


@pytest.fixture
def demo() -> DemoSummary:
    return load_demo_data()


def row_counts() -> dict[str, int]:
    models: list[type[Model]] = [
        Organisation,
        Office,
        OpeningHours,
        ClosedDay,
        Service,
        User,
        Membership,
        WorkingPattern,
        Absence,
        Appointment,
        Subscription,
    ]
    counts = {model.__name__: model._default_manager.count() for model in models}
    counts["service offices"] = Service.offices.through.objects.count()
    counts["membership offices"] = Membership.offices.through.objects.count()
    counts["membership services"] = Membership.services.through.objects.count()
    return counts


@pytest.mark.django_db
def test_loading_the_demo_twice_changes_nothing(demo: DemoSummary) -> None:
    counts = row_counts()
    passwords = dict(User.objects.values_list("username", "password"))

    again = load_demo_data()

    assert again == demo
    assert row_counts() == counts
    assert dict(User.objects.values_list("username", "password")) == passwords


@pytest.mark.django_db
def test_each_organisation_sends_every_event_to_the_development_receiver_with_a_kept_secret(
    demo: DemoSummary, settings: Settings
) -> None:
    subscriptions = {s.organisation.slug: s for s in Subscription.objects.select_related()}
    assert set(subscriptions) == set(Organisation.objects.values_list("slug", flat=True))
    assert demo.webhook_subscriptions == len(subscriptions)
    for slug, subscription in subscriptions.items():
        assert subscription.url == f"http://127.0.0.1:8000/dev/webhooks/{slug}/"
        assert subscription.is_active
        assert subscription.event_types == sorted(value for value, _label in SUBSCRIBABLE)
    settings.SITE_URL = "http://127.0.0.1:8123"
    load_demo_data()
    for slug, before in subscriptions.items():
        after = Subscription.objects.get(pk=before.pk)
        assert after.url == f"http://127.0.0.1:8123/dev/webhooks/{slug}/"
        assert after.secret == before.secret


@pytest.mark.django_db
def test_the_summary_counts_what_is_in_the_database(demo: DemoSummary) -> None:
    assert demo.organisations == Organisation.objects.count() == 2
    assert demo.offices == Office.objects.count() == 7
    assert demo.services == Service.objects.count() == 15
    assert demo.users == User.objects.count()
    assert demo.memberships == Membership.objects.count()
    assert demo.opening_hours == OpeningHours.objects.count()
    assert demo.closed_days == ClosedDay.objects.count()
    assert demo.working_patterns == WorkingPattern.objects.count()
    assert demo.absences == Absence.objects.count() == 2
    assert demo.appointments == Appointment.objects.exclude(code__startswith="H").count()
    assert demo.past_appointments == Appointment.objects.filter(code__startswith="H").count()
    assert demo.survey_answers == SurveyAnswer.objects.count()


@pytest.mark.django_db
def test_every_demo_login_exists_and_is_a_demo_account(demo: DemoSummary) -> None:
    for login in DEMO_LOGINS:
        user = User.objects.get(username=login.username)
        assert user.is_demo
        assert user.first_name and user.last_name
        assert user.email.endswith(".example")
    assert not User.objects.filter(is_demo=False).exists()


@pytest.mark.django_db
def test_demo_logins_authenticate_with_the_demo_password_while_debug_is_on(
    demo: DemoSummary, settings: Settings
) -> None:
    settings.DEBUG = True
    for login in DEMO_LOGINS:
        user = authenticate(None, username=login.username, password=DEMO_PASSWORD)
        assert user is not None, login.username
        assert user.get_username() == login.username


@pytest.mark.django_db
def test_demo_logins_cannot_authenticate_when_debug_is_off(
    demo: DemoSummary, settings: Settings
) -> None:
    settings.DEBUG = False
    for login in DEMO_LOGINS:
        assert authenticate(None, username=login.username, password=DEMO_PASSWORD) is None


@pytest.mark.django_db
def test_the_command_refuses_to_run_when_debug_is_off(settings: Settings) -> None:
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG is off"):
        call_command("load_demo", stdout=StringIO())
    assert not User.objects.exists()
    assert not Organisation.objects.exists()


@pytest.mark.django_db
def test_the_command_loads_the_demo_and_prints_a_summary(settings: Settings) -> None:
    settings.DEBUG = True
    out = StringIO()
    call_command("load_demo", stdout=out)
    call_command("load_demo", stdout=out)
    assert "services:       15" in out.getvalue()
    assert Organisation.objects.count() == 2
    assert User.objects.filter(username="gencat-admin").count() == 1


@pytest.mark.django_db
def test_every_service_has_a_name_in_all_four_languages(demo: DemoSummary) -> None:
    for service in Service.objects.all():
        for lang in LANGUAGE_CODES:
            assert getattr(service, f"name_{lang}"), (service.slug, lang)
            assert getattr(service, f"description_{lang}"), (service.slug, lang)
            assert getattr(service, f"documents_to_prepare_{lang}"), (service.slug, lang)


@pytest.mark.django_db
def test_aranese_texts_are_not_copies_of_the_catalan_ones(demo: DemoSummary) -> None:
    def differ(obj: Model, field: str) -> bool:
        return bool(getattr(obj, f"{field}_oc")) and (
            getattr(obj, f"{field}_oc") != getattr(obj, f"{field}_ca")
        )

    for service in Service.objects.all():
        assert differ(service, "description"), service.slug
    for org in Organisation.objects.all():
        assert differ(org, "privacy_notice"), org.slug
        assert differ(org, "accessibility_statement"), org.slug


@pytest.mark.django_db
def test_the_services_cover_the_three_attention_levels(demo: DemoSummary) -> None:
    gencat = Service.objects.filter(organisation__slug="generalitat")
    assert gencat.count() >= 12
    assert set(gencat.values_list("attention_level", flat=True)) == set(AttentionLevel.values)
    for service in Service.objects.all():
        assert 10 <= service.duration_minutes <= 30
        assert service.channels
        assert service.offices.exists()
        assert not service.offices.exclude(organisation=service.organisation).exists()


@pytest.mark.django_db
def test_every_organisation_brand_colour_passes_aa(demo: DemoSummary) -> None:
    for org in Organisation.objects.all():
        assert passes_aa_on_white(org.brand_colour), org.slug


@pytest.mark.django_db
def test_it_loads_the_pilot_offices_of_the_mission(demo: DemoSummary) -> None:
    gencat = Organisation.objects.get(slug="generalitat")
    names = {lang: getattr(gencat, f"name_{lang}") for lang in LANGUAGE_CODES}
    assert names == {
        "ca": "Generalitat de Catalunya",
        "es": "Generalitat de Cataluña",
        "oc": "Generalitat de Catalonha",
        "en": "Government of Catalonia",
    }
    assert set(gencat.offices.values_list("slug", flat=True)) == GENCAT_OFFICES
    assert gencat.offices.get(slug="backoffice").kind == Office.Kind.BACK_OFFICE
    tortosa = gencat.offices.get(slug="oac-terres-de-l-ebre").municipality
    assert tortosa is not None and tortosa.name == "Tortosa"

    vilanova = Organisation.objects.get(slug="vilanova")
    assert set(vilanova.offices.values_list("slug", flat=True)) == {"oac-vilanova"}
    assert vilanova.services.count() == 3


@pytest.mark.django_db
def test_every_office_that_is_not_virtual_has_an_address_and_a_municipality(
    demo: DemoSummary,
) -> None:
    for office in Office.objects.exclude(kind=Office.Kind.BACK_OFFICE):
        assert office.address, office.slug
        assert office.postcode, office.slug
        assert office.municipality is not None, office.slug


@pytest.mark.django_db
def test_citizen_offices_also_open_on_thursday_afternoon(demo: DemoSummary) -> None:
    girona = Office.objects.get(slug="oac-girona")
    hours = [(h.weekday, h.opens.hour, h.closes.hour) for h in girona.opening_hours.all()]
    assert (OpeningHours.Weekday.THURSDAY, 16, 18) in hours
    assert len(hours) == 6
    backoffice = Office.objects.get(slug="backoffice")
    # Round the clock, every day: "attention now" can be tried whenever the demo runs.
    assert {(h.weekday, h.opens, h.closes) for h in backoffice.opening_hours.all()} == {
        (day, dt.time(0), dt.time(23, 59, 59)) for day in range(7)
    }


@pytest.mark.django_db
def test_there_are_closures_still_to_come(demo: DemoSummary) -> None:
    today = timezone.localdate()
    future = ClosedDay.objects.filter(date__gt=today)
    assert future.filter(office__isnull=True, organisation__slug="generalitat").exists()
    assert future.filter(office__slug="oac-girona", date__month=10, date__day=29).exists()
    assert future.filter(office__slug="oac-terres-de-l-ebre").exists()


@pytest.mark.django_db
def test_each_demo_login_has_the_role_shown_on_the_login_page(demo: DemoSummary) -> None:
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff
    assert not admin.memberships.exists()

    def membership(username: str) -> Membership:
        return Membership.objects.get(user__username=username)

    assert membership("gencat-admin").role == Role.ORG_ADMIN
    girona_admin = membership("girona-admin")
    assert girona_admin.role == Role.OFFICE_ADMIN
    assert [o.slug for o in girona_admin.offices.all()] == ["oac-girona"]
    supervisora = membership("supervisora")
    assert supervisora.role == Role.SUPERVISOR
    assert set(supervisora.offices.values_list("slug", flat=True)) == GENCAT_OFFICES
    assert membership("agent-girona").languages == ["ca", "es", "en"]
    assert membership("agent-tortosa").languages == ["ca", "es", "fr"]
    backoffice = membership("agent-backoffice")
    assert backoffice.languages == ["ca", "es", "oc"]
    assert backoffice.sign_language
    assert backoffice.services.count() == 12
    assert membership("ajuntament-admin").organisation.slug == "vilanova"
    assert membership("ajuntament-admin").role == Role.ORG_ADMIN
    assert membership("agent-ajuntament").organisation.slug == "vilanova"
    assert Membership.objects.filter(organisation__slug="generalitat", role=Role.AGENT).count() >= 7


@pytest.mark.django_db
def test_every_demo_service_has_times_to_book_through_each_channel_it_offers(
    demo: DemoSummary,
) -> None:
    now = timezone.now()
    for service in Service.objects.select_related("organisation"):
        for channel in service.channels:
            if channel == Channel.IN_PERSON:
                for office in service.offices.exclude(kind=Office.Kind.BACK_OFFICE):
                    slots = find_slots(service=service, channel=channel, now=now, office=office)
                    assert slots, (service.slug, channel, office.slug)
            else:
                assert find_slots(service=service, channel=channel, now=now), (
                    service.slug,
                    channel,
                )


@pytest.mark.django_db
def test_video_and_telephone_pool_agents_of_several_offices_and_the_back_office(
    demo: DemoSummary,
) -> None:
    service = Service.objects.get(slug="ajuts-subvencions")
    for channel in (Channel.VIDEO, Channel.PHONE):
        agents = {
            agent
            for slot in find_slots(service=service, channel=channel, now=timezone.now())
            for agent in slot.resource_ids
        }
        offices = set(
            WorkingPattern.objects.filter(membership__in=agents, **{channel: True}).values_list(
                "office__slug", flat=True
            )
        )
        assert "backoffice" in offices
        assert len(offices - {"backoffice"}) >= 2, offices


@pytest.mark.django_db
def test_the_demo_has_booked_attended_and_cancelled_appointments_around_today(
    demo: DemoSummary,
) -> None:
    now = timezone.now()
    booked = Appointment.objects.filter(status=Appointment.Status.BOOKED)
    assert booked.count() >= 3
    assert not booked.filter(starts_at__lt=now).exists()
    assert not booked.filter(starts_at__gt=now + dt.timedelta(days=14)).exists()
    attended = Appointment.objects.filter(status=Appointment.Status.ATTENDED)
    assert attended.exists() and not attended.filter(starts_at__gt=now).exists()
    assert Appointment.objects.filter(status=Appointment.Status.CANCELLED).exists()
    for appointment in Appointment.objects.select_related("agent", "service"):
        assert appointment.email.endswith("@example.org")
        assert appointment.agent.services.filter(pk=appointment.service_id).exists()
        assert appointment.channel in appointment.service.channels


@pytest.mark.django_db
def test_loading_the_demo_on_a_later_day_moves_the_appointments_along() -> None:
    monday = dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.UTC)
    demo = Appointment.objects.exclude(code__startswith="H")
    with time_machine.travel(monday, tick=False):
        first = load_demo_data()
    codes = dict(demo.values_list("code", "starts_at"))
    with time_machine.travel(monday + dt.timedelta(days=1), tick=False):
        again = load_demo_data()
    assert again.appointments == first.appointments
    moved = dict(demo.values_list("code", "starts_at"))
    assert moved.keys() == codes.keys()
    assert all(moved[code] > codes[code] for code in codes)


@pytest.mark.django_db
def test_a_later_day_adds_the_days_that_passed_to_the_history_and_keeps_the_rest() -> None:
    monday = dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.UTC)
    history = Appointment.objects.filter(code__startswith="H")
    with time_machine.travel(monday, tick=False):
        first = load_demo_data()
    before = dict(history.values_list("code", "starts_at"))
    with time_machine.travel(monday + dt.timedelta(days=1), tick=False):
        again = load_demo_data()
    after = dict(history.values_list("code", "starts_at"))
    assert before.items() <= after.items()  # nothing moved or removed
    new_days = {when.date() for code, when in after.items() if code not in before}
    assert new_days == {dt.date(2026, 11, 25)}  # three working days before Tuesday 1 December
    assert again.past_appointments == len(after) > first.past_appointments


@pytest.mark.django_db
def test_the_history_fills_the_dashboard_of_the_last_three_months() -> None:
    # On a fixed day: the history's draws depend on the days, so a moving today would make
    # the smaller organisation's rarest score come and go.
    with time_machine.travel(dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC), tick=False):
        load_demo_data()
        today = timezone.localdate()
    for organisation in Organisation.objects.all():
        report = kpis.report(
            organisation,
            kpis.Filters(start=today - dt.timedelta(days=89), end=today),
            group="month",
        )
        total = report.total
        assert len(report.rows) >= 3, organisation
        assert total.attended > 100 and total.no_show and total.cancelled_by_citizen
        assert total.cancelled_by_office and total.answers > 30
        assert total.lobby_wait and total.queue_wait and total.handling
        assert 3.5 < (total.satisfaction or 0) < 4.6 and set(total.scores) == {1, 2, 3, 4, 5}
        assert 0.5 < (total.resolved_rate or 0) < 0.95
        # The citizens live near the offices: a return trip of under 150 km on average.
        assert 0 < total.travel_km / total.visits_avoided < 150
    answers = SurveyAnswer.objects.filter(appointment__code__startswith="H")
    assert not answers.exclude(appointment__status=Appointment.Status.ATTENDED).exists()


@pytest.mark.django_db
def test_the_demo_has_a_video_call_of_the_next_minutes_whose_waiting_room_is_open(
    demo: DemoSummary,
) -> None:
    from finestreta.lib.demo_schedules import CALL_NOW
    from finestreta.video.services import window_state

    call = Appointment.objects.get(code=CALL_NOW)
    now = timezone.now()
    assert (call.channel, call.status) == ("video", Appointment.Status.BOOKED)
    assert now + dt.timedelta(minutes=4) <= call.starts_at <= now + dt.timedelta(minutes=20)
    assert window_state(call, now=now) == "open"
    assert call.agent.user.username == "agent-backoffice"


@pytest.mark.django_db
def test_two_generalitat_agents_are_habilitated_to_act_for_citizens_today(
    demo: DemoSummary,
) -> None:
    from django.utils import timezone

    from finestreta.accounts.models import User
    from finestreta.identity.identify import habilitation_of
    from finestreta.tenants.models import Organisation

    generalitat = Organisation.objects.get(slug="generalitat")
    today = timezone.localdate()
    habilitated = {
        username
        for username in ("agent-girona", "agent-backoffice", "agent-tortosa")
        if habilitation_of(User.objects.get(username=username), generalitat.pk, today)
    }
    assert habilitated == {"agent-girona", "agent-backoffice"}
