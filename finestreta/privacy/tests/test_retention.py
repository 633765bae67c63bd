"""The retention purge removes exactly what the periods say, in one organisation only, batch by
batch, and tells the audit log and connected systems (ADR 34)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import time_machine
from cryptography.fernet import Fernet
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db.models import Model
from django.test import TestCase
from django.utils import translation

from finestreta.appointments.models import Appointment
from finestreta.integrations import services as integrations
from finestreta.integrations.models import Event, Subscription
from finestreta.privacy import purge, purge_steps, services
from finestreta.privacy.models import AuditChainCheckpoint, AuditEvent, PurgeRun, RetentionPolicy
from finestreta.privacy.retention import RULES, periods_for, validate_period
from finestreta.privacy.tests.retention_world import CONTACT, NOW, POLICY, World, ago, seed
from finestreta.queueing.models import QueueEntry
from finestreta.recordings.models import Recording, Track
from finestreta.tenants.models import Organisation
from tests.factories import AppointmentFactory
from tests.personas import Personas

pytestmark = pytest.mark.django_db

K = services.DataKind
DEFAULTS = {kind: rule.default for kind, rule in RULES.items()}


@pytest.fixture(autouse=True)
def _frozen_in_english(settings: Any, tmp_path: Path) -> Iterator[None]:
    settings.VIDEO_FILES_DIR = tmp_path / "files"
    settings.VIDEO_FILE_KEYS = [Fernet.generate_key().decode()]
    settings.RECORDINGS_DIR = tmp_path / "recordings"
    with time_machine.travel(NOW, tick=False), translation.override("en"):
        yield


def set_policy(organisation: Organisation, periods: dict[str, int]) -> None:
    services.retention.set_retention_periods(organisation=organisation, periods=periods, actor=None)


def run_purge(**kwargs: Any) -> purge.PurgeReport:
    """The purge, with what it leaves for after the commit (the files' removal) run as a real
    commit would: the test's own transaction never commits."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return services.purge_expired_data(now=NOW, **kwargs)


def exists(row: Model) -> bool:
    return type(row)._base_manager.filter(pk=row.pk).exists()


def assert_world(world: World) -> None:
    gone = [f"{type(row).__name__} {row.pk}" for row in world.gone if exists(row)]
    assert not gone, f"should have been removed: {gone}"
    lost = [f"{type(row).__name__} {row.pk}" for row in world.kept if not exists(row)]
    assert not lost, f"should have been kept: {lost}"
    for appointment in world.blanked:
        appointment.refresh_from_db()
        assert {field: getattr(appointment, field) for field in CONTACT} == dict.fromkeys(
            CONTACT, ""
        ), appointment.code
        assert appointment.held_by == ""
        # The statistics stay.
        assert appointment.service_id and appointment.channel == "video"
        assert appointment.status in {"attended", "cancelled"}
    for appointment in world.untouched:
        appointment.refresh_from_db()
        assert appointment.name == CONTACT["name"] and appointment.email == CONTACT["email"]
    assert [path for path in world.files_gone if path.exists()] == []
    assert [path for path in world.files_kept if not path.exists()] == []
    events = AuditEvent.objects.filter(pk__in=world.audit_gone + world.audit_kept)
    assert sorted(events.values_list("pk", flat=True)) == world.audit_kept


def snapshot(organisation: Organisation) -> dict[str, Any]:
    """Everything the purge could touch, to compare before and after."""
    from finestreta.identity.models import ConsentRecord, IdentityCheck, Signature
    from finestreta.notifications.models import Message
    from finestreta.video.models import ChatLine, Room, RoomEvent, SharedFile

    models: list[type[Model]] = [
        Appointment, QueueEntry, Recording, Track, ConsentRecord, IdentityCheck, Signature,
        Message, ChatLine, Room, RoomEvent, SharedFile,
    ]  # fmt: skip
    values = {model.__name__: sorted(map(str, model.objects.values_list())) for model in models}
    values["audit"] = AuditEvent.objects.filter(organisation=organisation).count()
    return values


# --- What goes and what stays --------------------------------------------------------------


def test_the_purge_removes_exactly_what_the_organisations_periods_say(
    personas: Personas,
) -> None:
    world = seed(personas.org_a, POLICY)
    set_policy(personas.org_a, POLICY)
    report = run_purge(organisation=personas.org_a)
    assert report.failed == []
    assert report.organisations[0].counts == world.counts
    assert_world(world)
    contact = world.named["contact"]
    assert (
        world.named["callback"].__class__.objects.get(pk=world.named["callback"].pk).details == {}
    )
    assert world.named["joined"].__class__.objects.get(pk=world.named["joined"].pk).details == {
        "peer": "p1"
    }
    check = world.named["check"].__class__.objects.get(pk=world.named["check"].pk)
    assert (check.identified_name, check.document_number, check.document_hash) == ("", "", "1" * 64)
    entry = QueueEntry.objects.get(pk=world.named["contact_entry"].pk)
    assert (entry.name, entry.phone, entry.email, entry.appointment_id) == ("", "", "", contact.pk)
    assert QueueEntry.objects.get(pk=world.named["queue_recent"].pk).name == "Pere Puig"
    assert QueueEntry.objects.get(pk=world.named["queue_blanked"].pk).name == ""
    waiting = world.named["waiting_blanked"].__class__.objects.get(
        pk=world.named["waiting_blanked"].pk
    )
    assert (waiting.name, waiting.email, waiting.phone) == ("", "", "")
    recordings = {
        name: Recording.objects.get(pk=world.named[name].pk).state
        for name in ("ceiling", "procedure", "within", "live")
    }
    assert recordings == {
        "ceiling": "deleted",
        "procedure": "deleted",
        "within": "stopped",
        "live": "recording",
    }
    assert not Track.objects.filter(recording_id=world.named["ceiling"].pk).exists()
    assert Track.objects.filter(recording_id=world.named["within"].pk).exists()


def test_another_organisation_is_untouched_by_a_purge_of_the_first(personas: Personas) -> None:
    seed(personas.org_a, POLICY)
    set_policy(personas.org_a, POLICY)
    other = seed(personas.org_b, POLICY)  # due under A's periods, not under B's (the defaults)
    other_files = [path for path in other.files_gone + other.files_kept]
    before = AuditEvent.objects.filter(organisation=personas.org_b).count()
    run_purge(organisation=personas.org_a)
    assert all(exists(row) for row in other.gone + other.kept)
    assert all(path.exists() for path in other_files)
    assert Appointment.objects.filter(organisation=personas.org_b, name="").count() == 0
    assert AuditEvent.objects.filter(organisation=personas.org_b).count() == before
    assert not PurgeRun.objects.filter(organisation=personas.org_b).exists()


def test_the_defaults_apply_to_an_organisation_without_periods_of_its_own(
    personas: Personas,
) -> None:
    assert not RetentionPolicy.objects.filter(organisation=personas.org_b).exists()
    assert periods_for(personas.org_b) == DEFAULTS
    world = seed(personas.org_b, DEFAULTS)
    report = run_purge()  # every organisation
    line = next(r for r in report.organisations if r.organisation == personas.org_b.slug)
    assert line.counts == world.counts
    assert_world(world)


def test_a_run_is_recorded_with_its_counts_and_each_batch_in_the_audit_log(
    personas: Personas,
) -> None:
    world = seed(personas.org_a, POLICY)
    set_policy(personas.org_a, POLICY)
    report = run_purge(organisation=personas.org_a)
    run = PurgeRun.objects.get(pk=report.organisations[0].run_id)
    assert run.counts == world.counts
    assert run.finished_at is not None and not run.dry_run and run.error == ""
    assert run.as_of == NOW
    purged = AuditEvent.objects.filter(organisation=personas.org_a, action="retention.purged")
    removed: dict[str, int] = {}
    for event in purged:
        assert event.details["run"] == run.pk
        assert set(event.details) == {"run", "kind", "rows", "removed", "before"}  # no names
        removed[event.details["kind"]] = (
            removed.get(event.details["kind"], 0) + event.details["removed"]
        )
    assert removed == world.counts


def test_connected_systems_are_told_what_was_deleted_by_its_codes(personas: Personas) -> None:
    Subscription.objects.create(
        organisation=personas.org_a,
        url="https://cases.example.org/hooks",
        secret=integrations.new_secret(),
        event_types=["data.deleted"],
    )
    world = seed(personas.org_a, POLICY)
    set_policy(personas.org_a, POLICY)
    codes = {name: world.named[name].code for name in ("old", "legal", "contact", "call", "kept")}
    signed_and_others = set(
        Appointment.objects.filter(organisation=personas.org_a).values_list("code", flat=True)
    )
    run_purge(organisation=personas.org_a)
    announced: dict[str, set[str]] = {}
    for event in Event.objects.filter(organisation=personas.org_a, type="data.deleted"):
        data = event.payload["data"]
        announced.setdefault(data["kind"], set()).update(data["ids"])
    assert announced["appointment"] >= {codes["old"], codes["legal"]}
    assert len(announced["appointment"]) == 3
    assert announced["appointment"] <= signed_and_others
    assert {codes["contact"], codes["kept"], codes["old"]} <= announced["contact_data"]
    assert len(announced["contact_data"]) == 7
    assert announced["chat"] == {codes["old"], codes["call"]}
    assert announced["file"] == {codes["old"], codes["call"]}
    assert announced["recording"] == {codes["call"], codes["legal"]}
    assert announced["consent_record"] == {codes["kept"]}
    assert "audit_log" not in announced


def test_the_audit_chain_still_verifies_after_its_oldest_events_are_purged(
    personas: Personas,
) -> None:
    world = seed(personas.org_a, POLICY)
    set_policy(personas.org_a, POLICY)
    run_purge(organisation=personas.org_a)
    assert not AuditEvent.objects.filter(pk__in=world.audit_gone).exists()
    checkpoint = AuditChainCheckpoint.objects.get(organisation=personas.org_a)
    assert checkpoint.removed == 2
    verification = services.verify_audit_log()
    assert all(chain.ok for chain in verification.chains), [
        services.describe_chain(chain) for chain in verification.chains
    ]


def test_a_second_run_finds_nothing_more_to_remove(personas: Personas) -> None:
    seed(personas.org_a, POLICY)
    set_policy(personas.org_a, POLICY)
    run_purge(organisation=personas.org_a)
    again = run_purge(organisation=personas.org_a)
    assert again.organisations[0].counts == dict.fromkeys(services.retention.ORDER, 0)


# --- Dry run ---------------------------------------------------------------------------------


def test_a_dry_run_changes_nothing_and_counts_what_a_run_removes(personas: Personas) -> None:
    Subscription.objects.create(
        organisation=personas.org_a,
        url="https://cases.example.org/hooks",
        secret=integrations.new_secret(),
        event_types=["data.deleted"],
    )
    world = seed(personas.org_a, POLICY)
    set_policy(personas.org_a, POLICY)
    before = snapshot(personas.org_a)
    files = [path for path in world.files_gone + world.files_kept if path.exists()]
    preview = run_purge(organisation=personas.org_a, dry_run=True)
    assert snapshot(personas.org_a) == before
    assert all(path.exists() for path in files)
    assert not Event.objects.exists()
    run = PurgeRun.objects.get(pk=preview.organisations[0].run_id)
    assert run.dry_run and run.finished_at is not None
    assert preview.organisations[0].counts == world.counts == run.counts
    assert run_purge(organisation=personas.org_a).organisations[0].counts == world.counts


# --- Batches and failures --------------------------------------------------------------------


def _old_appointments(personas: Personas, count: int) -> list[Appointment]:
    agent = personas.membership(personas.agent_a)
    return [
        AppointmentFactory(
            agent=agent,
            service=personas.service_a,
            status="attended",
            name="",
            email="",
            starts_at=ago(2000) + dt_hours(index),
        )
        for index in range(count)
    ]


def dt_hours(count: int) -> Any:
    import datetime as dt

    return dt.timedelta(hours=count)


def test_a_failure_in_a_batch_rolls_that_batch_back_and_keeps_the_ones_before(
    personas: Personas, monkeypatch: pytest.MonkeyPatch
) -> None:
    Subscription.objects.create(
        organisation=personas.org_a,
        url="https://cases.example.org/hooks",
        secret=integrations.new_secret(),
        event_types=["data.deleted"],
    )
    first, second, third = _old_appointments(personas, 3)
    emitted = []
    real = purge.emit_data_deleted

    def emit_then_fail(**kwargs: Any) -> Any:
        emitted.append(kwargs["ids"])
        if len(emitted) == 2:
            raise ConnectionError("the webhook outbox is unreachable")
        return real(**kwargs)

    monkeypatch.setattr(purge, "emit_data_deleted", emit_then_fail)
    report = run_purge(organisation=personas.org_a, batch_size=2)
    assert emitted == [[first.code, second.code], [third.code]]
    assert not exists(first) and not exists(second)
    assert exists(third)  # its batch rolled back, appointment, report and events alike
    run = PurgeRun.objects.get(organisation=personas.org_a)
    assert run.counts[K.APPOINTMENTS] == 2
    assert run.finished_at is None and "ConnectionError" in run.error
    assert report.failed[0].organisation == personas.org_a.slug
    events = Event.objects.filter(organisation=personas.org_a)
    assert [event.payload["data"]["ids"] for event in events] == [[first.code, second.code]]
    purged = AuditEvent.objects.filter(organisation=personas.org_a, action="retention.purged")
    assert [event.details["removed"] for event in purged] == [2]


def test_a_failure_in_one_organisation_does_not_stop_the_next(
    personas: Personas, monkeypatch: pytest.MonkeyPatch
) -> None:
    _old_appointments(personas, 1)
    other = AppointmentFactory(
        agent=personas.membership(personas.agent_b),
        service=personas.service_b,
        status="attended",
        starts_at=ago(2000),
    )
    real = purge_steps._delete_appointments

    def fail_for_a(rows: list[Appointment], ctx: purge_steps.Context) -> list[str]:
        if ctx.organisation == personas.org_a:
            raise RuntimeError("disk full")
        return real(rows, ctx)

    monkeypatch.setattr(purge, "STEPS", [
        purge_steps.Step(s.kind, s.name, s.candidates, fail_for_a, s.announce_as)
        if s.remove is real else s
        for s in purge.STEPS
    ])  # fmt: skip
    report = run_purge()
    assert [line.organisation for line in report.failed] == [personas.org_a.slug]
    assert not exists(other)


def test_batches_take_at_most_the_batch_size(personas: Personas) -> None:
    _old_appointments(personas, 5)
    report = run_purge(organisation=personas.org_a, batch_size=2)
    assert report.organisations[0].counts[K.APPOINTMENTS] == 5
    batches = AuditEvent.objects.filter(
        organisation=personas.org_a, action="retention.purged", details__kind="appointments"
    )
    assert sorted(event.details["removed"] for event in batches) == [1, 2, 2]


# --- Periods ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(RULES))
def test_a_period_below_the_floor_or_above_the_ceiling_is_refused(kind: str) -> None:
    rule = RULES[kind]
    validate_period(kind, rule.floor)
    validate_period(kind, rule.ceiling)
    assert rule.floor <= rule.default <= rule.ceiling
    with pytest.raises(ValidationError) as below:
        validate_period(kind, rule.floor - 1)
    assert f"at least {rule.floor} days" in below.value.messages[0]
    with pytest.raises(ValidationError) as above:
        validate_period(kind, rule.ceiling + 1)
    assert f"longer than {rule.ceiling} days" in above.value.messages[0]


def test_consent_records_are_kept_at_least_three_years() -> None:
    with pytest.raises(ValidationError, match="Consent records must be kept at least 1095 days"):
        validate_period(K.CONSENT_RECORDS, 1094)


def test_a_change_of_period_is_written_to_the_audit_log_once(personas: Personas) -> None:
    changed = services.retention.set_retention_periods(
        organisation=personas.org_a,
        periods={K.CHAT: 30, K.FILES: RULES[K.FILES].default},
        actor=personas.admin_a,
    )
    assert changed == [K.CHAT]  # the files' period was the default already
    event = AuditEvent.objects.get(action="retention.policy_changed")
    assert event.details == {"kind": "chat", "from": 90, "to": 30}
    assert event.actor == personas.admin_a and event.organisation == personas.org_a
    assert periods_for(personas.org_a)[K.CHAT] == 30
    assert periods_for(personas.org_b)[K.CHAT] == 90


def test_an_out_of_bounds_period_writes_nothing_even_beside_a_good_one(
    personas: Personas,
) -> None:
    with pytest.raises(ValidationError) as refused:
        services.retention.set_retention_periods(
            organisation=personas.org_a,
            periods={K.CHAT: 30, K.AUDIT_LOG: 10},
            actor=personas.admin_a,
        )
    assert list(refused.value.message_dict) == [K.AUDIT_LOG]
    assert not RetentionPolicy.objects.exists()
    assert not AuditEvent.objects.filter(action="retention.policy_changed").exists()


# --- Schedule and command --------------------------------------------------------------------


def test_the_workers_purge_once_a_day(personas: Personas, settings: Any) -> None:
    settings.RETENTION_PURGE_HOURS = 24
    import datetime as dt

    first = services.purge_if_due(now=NOW)
    assert first is not None
    assert {line.organisation for line in first.organisations} == {"org-a", "org-b"}
    assert services.purge_if_due(now=NOW + dt.timedelta(hours=23)) is None
    services.purge_expired_data(now=NOW + dt.timedelta(hours=23))  # by hand: not the schedule
    assert services.purge_if_due(now=NOW + dt.timedelta(hours=24)) is not None
    assert PurgeRun.objects.filter(scheduled=True).count() == 4


def test_the_command_prints_what_it_removed(personas: Personas) -> None:
    _old_appointments(personas, 2)
    out = io.StringIO()
    call_command("purge_expired_data", "--organisation", "org-a", stdout=out)
    text = out.getvalue()
    assert "org-a (run " in text
    assert "  Appointments: 2\n" in text
    assert "  Audit log: 0\n" in text
    assert "org-b" not in text
    assert Appointment.objects.filter(organisation=personas.org_a).count() == 0


def test_the_commands_dry_run_removes_nothing(personas: Personas) -> None:
    _old_appointments(personas, 2)
    out = io.StringIO()
    call_command("purge_expired_data", "--dry-run", stdout=out)
    assert out.getvalue().startswith("Dry run: nothing was removed. It would remove:\n")
    assert "  Appointments: 2\n" in out.getvalue()
    assert Appointment.objects.filter(organisation=personas.org_a).count() == 2


def test_the_command_refuses_an_unknown_organisation(personas: Personas) -> None:
    with pytest.raises(CommandError, match="There is no organisation nowhere"):
        call_command("purge_expired_data", "--organisation", "nowhere", stdout=io.StringIO())
