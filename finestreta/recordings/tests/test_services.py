"""Who may record and watch, and what happens to a recording over time: the rules and everyone's
consent gate the start (a guest's too), only supervisors and administrators watch (every access
audit-logged), a recorder gone silent is closed, and the media are deleted at the end of the
retention period while the record that they existed stays."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from finestreta.identity import consent
from finestreta.identity.models import ConsentKind, ConsentMethod, ServicePolicy
from finestreta.privacy.models import AuditEvent
from finestreta.recordings import services, storage
from finestreta.recordings.models import Recording, Track
from finestreta.recordings.tests.conftest import make_recording
from finestreta.recordings.tests.test_storage import write_seconds
from finestreta.video.models import Invitation, Presence, Role
from tests.personas import Personas, log_in

pytestmark = pytest.mark.django_db


def staff_presence(recording: Recording, personas: Personas) -> Presence:
    now = timezone.now()
    return Presence.objects.create(
        room=recording.room,
        peer="p_staff",
        role=Role.STAFF,
        user=personas.agent_a,
        name="Agent A",
        state=Presence.State.ADMITTED,
        channel_name="staff-channel",
        since=now,
        last_seen=now,
    )


def guest_presence(recording: Recording, name: str = "Intèrpret") -> Presence:
    now = timezone.now()
    invitation = Invitation.objects.create(
        room=recording.room,
        kind="interpreter",
        name=name,
        token_hash="1" * 64,
        created_at=now,
        expires_at=now + dt.timedelta(hours=4),
    )
    return Presence.objects.create(
        room=recording.room,
        peer="p_guest",
        role=Role.GUEST,
        name=name,
        invitation=invitation,
        state=Presence.State.ADMITTED,
        channel_name="guest-channel",
        since=now,
        last_seen=now,
    )


def agree(recording: Recording, granted: bool = True, **who: object) -> None:
    consent.record_consent(
        appointment=recording.appointment,
        kind=ConsentKind.RECORDING,
        granted=granted,
        method=ConsentMethod.CLICKED if not who else ConsentMethod.SPOKEN,
        now=timezone.now(),
        **who,  # type: ignore[arg-type]
    )


def test_a_guest_in_the_call_must_agree_too_before_the_recording_starts(
    personas: Personas,
) -> None:
    sample = make_recording(personas)  # only for its appointment and room
    Recording.objects.filter(pk=sample.pk).delete()
    room = sample.room
    staff = staff_presence(sample, personas)
    guest = guest_presence(sample)
    agree(sample)
    with pytest.raises(services.RecordingRefused) as refused:
        services.start_recording(room=room, presence=staff, now=timezone.now())
    assert refused.value.code == "no_consent" and "Intèrpret" in refused.value.message
    # The citizen's "yes" does not stand for the guest, nor the guest's for the citizen.
    agree(
        sample,
        person="Intèrpret",
        invitation=guest.invitation,
        attested_by=personas.agent_a,
    )
    recording = services.start_recording(room=room, presence=staff, now=timezone.now())
    assert recording.state == Recording.State.STARTING
    assert len(recording.consent_ids) == 2
    assert services.may_record(recording, guest)
    assert consent.has_consent(sample.appointment, ConsentKind.RECORDING)
    # Started once: a second start is refused while it records.
    with pytest.raises(services.RecordingRefused) as again:
        services.start_recording(room=room, presence=staff, now=timezone.now())
    assert again.value.code == "recording"


def test_the_refusal_is_in_the_staff_members_language(personas: Personas) -> None:
    sample = make_recording(personas)
    Recording.objects.filter(pk=sample.pk).delete()
    personas.agent_a.preferred_language = "es"
    personas.agent_a.save(update_fields=["preferred_language"])
    ServicePolicy.objects.create(service=sample.appointment.service, recording="never")
    with pytest.raises(services.RecordingRefused) as refused:
        services.start_recording(
            room=sample.room, presence=staff_presence(sample, personas), now=timezone.now()
        )
    assert refused.value.code == "never"
    assert refused.value.message == "Este trámite no se graba nunca."


def test_a_recording_whose_recorder_went_silent_is_closed_and_keeps_what_it_wrote(
    personas: Personas,
) -> None:
    long_ago = timezone.now() - dt.timedelta(minutes=5)
    recording = make_recording(personas, heartbeat_at=long_ago, peer="p_rec")
    write_seconds(
        storage.TrackWriter(
            recording, peer="p_1", role="citizen", name="Núria", kind="audio", clock=0.0
        ),
        1,
    )
    Presence.objects.create(
        room=recording.room,
        peer="p_rec",
        role=Role.RECORDER,
        name="Enregistrament",
        state=Presence.State.ADMITTED,
        since=long_ago,
        last_seen=long_ago,
    )
    fresh = make_recording(personas, heartbeat_at=timezone.now())
    assert services.close_silent(now=timezone.now()) == 1
    recording.refresh_from_db()
    assert recording.state == Recording.State.STOPPED
    assert recording.stop_reason == Recording.Reason.INTERRUPTED
    assert not Presence.objects.filter(role=Role.RECORDER).exists()
    assert Track.objects.filter(recording=recording).get().chunks == 1
    fresh.refresh_from_db()
    assert fresh.live


def test_the_media_are_deleted_at_the_end_of_the_retention_period_and_the_record_stays(
    personas: Personas, recordings_dir: Path, django_capture_on_commit_callbacks: Any
) -> None:
    now = timezone.now()
    due = make_recording(personas, state=Recording.State.STOPPED, delete_after=now)
    kept = make_recording(
        personas, state=Recording.State.STOPPED, delete_after=now + dt.timedelta(days=1)
    )
    for recording in (due, kept):
        write_seconds(
            storage.TrackWriter(
                recording, peer="p_1", role="citizen", name="Núria", kind="audio", clock=0.0
            ),
            1,
        )
    with django_capture_on_commit_callbacks(execute=True):
        assert services.purge_expired(now=now) == 1
    due.refresh_from_db()
    assert due.state == Recording.State.DELETED and due.deleted_at == now
    assert not Track.objects.filter(recording=due).exists()
    assert not storage.directory(due).exists()
    assert storage.directory(kept).exists() and Track.objects.filter(recording=kept).exists()
    deleted = AuditEvent.objects.get(action=AuditEvent.Action.RECORDING_DELETED)
    assert deleted.details["recording"] == due.pk
    assert services.purge_expired(now=now) == 0  # once


def test_a_supervisor_watches_and_downloads_each_participant_and_every_access_is_logged(
    personas: Personas,
) -> None:
    recording = make_recording(personas, state=Recording.State.STOPPED)
    for kind in ("audio", "video"):
        write_seconds(
            storage.TrackWriter(
                recording, peer="p_1", role="citizen", name="Núria", kind=kind, clock=0.0
            ),
            2,
        )
    org = personas.org_a.slug
    detail = reverse("staff-recordings:detail", args=[org, recording.pk])
    play = reverse("staff-recordings:play", args=[org, recording.pk, 1])
    download = reverse("staff-recordings:download", args=[org, recording.pk, 1])

    agent = log_in(personas.agent_a)  # the agent who attended: not allowed to watch
    assert agent.get(detail).status_code == 404
    assert agent.get(play).status_code == 404

    supervisor = log_in(personas.supervisor_a)
    page = supervisor.get(detail)
    assert page.status_code == 200
    assert play in page.content.decode() and "Núria" in page.content.decode()
    response = supervisor.get(play)
    assert response.status_code == 200 and response["Content-Type"] == "video/webm"
    media = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    assert storage.duration_of(media) == pytest.approx(2, abs=0.3)
    response = supervisor.get(download)
    assert response["Content-Disposition"].startswith("attachment;")
    b"".join(response.streaming_content)  # type: ignore[attr-defined]
    assert (
        supervisor.get(reverse("staff-recordings:play", args=[org, recording.pk, 2])).status_code
        == 404
    )
    actions = list(
        AuditEvent.objects.filter(action__startswith="recording.").values_list(
            "action", "actor_id", "details"
        )
    )
    assert (AuditEvent.Action.RECORDING_PLAYED, personas.supervisor_a.pk) in [
        a[:2] for a in actions
    ]
    assert (AuditEvent.Action.RECORDING_DOWNLOADED, personas.supervisor_a.pk) in [
        a[:2] for a in actions
    ]
    # The appointment's page links to it, for those who may watch only.
    appointment_page = reverse("staff-appointments:detail", args=[org, recording.appointment.code])
    assert detail in supervisor.get(appointment_page).content.decode()
    assert detail not in agent.get(appointment_page).content.decode()


def test_an_anonymous_visitor_is_sent_to_log_in(client: Client, personas: Personas) -> None:
    recording = make_recording(personas)
    url = reverse("staff-recordings:play", args=[personas.org_a.slug, recording.pk, 1])
    assert client.get(url).status_code == 302


def test_the_recorder_takes_no_place_among_the_four_participants(personas: Personas) -> None:
    from finestreta.video import services as video

    recording = make_recording(personas, peer="p_rec")
    room = recording.room
    now = timezone.now()
    staff = staff_presence(recording, personas)
    for peer, role in (("p_rec", Role.RECORDER), ("p_g1", Role.GUEST), ("p_g2", Role.GUEST)):
        Presence.objects.create(
            room=room,
            peer=peer,
            role=role,
            name=peer,
            state=Presence.State.ADMITTED,
            channel_name=f"{peer}-channel",
            since=now,
            last_seen=now,
        )
    Presence.objects.create(
        room=room,
        peer="p_citizen",
        role=Role.CITIZEN,
        name="Núria",
        state=Presence.State.WAITING,
        channel_name="citizen-channel",
        since=now,
        last_seen=now,
    )
    admitted = video.admit(room=room, staff_peer=staff, peer="p_citizen", now=now)
    assert admitted.state == Presence.State.ADMITTED  # the fourth person, beside the recorder
