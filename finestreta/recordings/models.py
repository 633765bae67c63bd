"""Recordings of video calls (ADR 28): made on the server by a receive-only participant, kept as
encrypted chunks of about ten seconds per participant and kind of media, played back only by
authorised staff, deleted at the end of the procedure's retention period."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from finestreta.appointments.models import Appointment
from finestreta.tenants.models import Organisation


class Recording(models.Model):
    class State(models.TextChoices):
        STARTING = "starting", _("starting")
        RECORDING = "recording", _("recording")
        STOPPED = "stopped", _("stopped")
        DELETED = "deleted", _("deleted")

    LIVE_STATES = (State.STARTING, State.RECORDING)

    class Basis(models.TextChoices):
        CONSENT = "consent", _("everyone's consent")
        LEGAL_BASIS = "legal_basis", _("a legal basis")

    class Reason(models.TextChoices):
        STAFF = "staff", _("stopped by the staff member")
        ENDED = "ended", _("the call ended")
        WITHDRAWN = "withdrawn", _("consent withdrawn")
        INTERRUPTED = "interrupted", _("the server stopped")

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="+", verbose_name=_("organisation")
    )
    appointment = models.ForeignKey(
        Appointment,
        on_delete=models.PROTECT,
        related_name="recordings",
        verbose_name=_("appointment"),
    )
    room = models.ForeignKey("video.Room", on_delete=models.PROTECT, related_name="recordings")
    # Names the recording's directory: never the appointment's code or a database id.
    storage_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    state = models.CharField(
        _("state"), max_length=10, choices=State.choices, default=State.STARTING
    )
    basis = models.CharField(_("allowed by"), max_length=12, choices=Basis.choices)
    legal_basis = models.CharField(_("legal basis"), max_length=300, blank=True)
    # The consent records in force when it started (evidence of what allowed it).
    consent_ids = models.JSONField(default=list, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("started by"),
    )
    started_at = models.DateTimeField(_("started"))
    stopped_at = models.DateTimeField(_("stopped"), null=True, blank=True)
    stop_reason = models.CharField(
        _("why it stopped"), max_length=12, choices=Reason.choices, blank=True
    )
    # The recorder says it is alive while it records; a recording whose recorder went silent
    # was cut by a server that stopped (what it wrote is kept).
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    peer = models.CharField(max_length=24, blank=True)  # the recorder's peer id in the call
    channel_name = models.CharField(max_length=200, blank=True)  # the recorder's, to stop it
    delete_after = models.DateTimeField(_("deleted after"))
    deleted_at = models.DateTimeField(_("deleted"), null=True, blank=True)

    class Meta:
        verbose_name = _("call recording")
        verbose_name_plural = _("call recordings")
        ordering = ["-started_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["room"],
                condition=models.Q(state__in=["starting", "recording"]),
                name="one_live_recording_per_room",
            ),
        ]
        indexes = [models.Index(fields=["state", "delete_after"], name="recording_due")]

    def __str__(self) -> str:
        return f"{self.appointment.code} {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def live(self) -> bool:
        return self.state in self.LIVE_STATES


class Track(models.Model):
    """One participant's audio, or their video, during one connection of the recorder to them
    (a participant who drops and comes back starts a new track)."""

    class Kind(models.TextChoices):
        AUDIO = "audio", _("sound")
        VIDEO = "video", _("picture")

    recording = models.ForeignKey(Recording, on_delete=models.CASCADE, related_name="tracks")
    peer = models.CharField(max_length=24)
    role = models.CharField(max_length=8)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=5, choices=Kind.choices)
    # The recorder's connection to this participant (0, then 1 after they dropped and came back):
    # a participant's tracks of one connection play together.
    part = models.PositiveSmallIntegerField(default=0)
    # Milliseconds from the recording's start to this track's first frame, so that every track
    # of a recording plays on one clock.
    offset_ms = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    chunks = models.PositiveIntegerField(default=0)
    size = models.PositiveBigIntegerField(default=0)  # bytes of media (before encryption)

    class Meta:
        ordering = ["started_at", "pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"


class Chunk(models.Model):
    """About ten seconds of one track, encrypted in a file of its own (so a crash loses seconds,
    not the call): the media of a track is its chunks' plain bytes, in order."""

    track = models.ForeignKey(Track, on_delete=models.CASCADE, related_name="pieces")
    seq = models.PositiveIntegerField()
    size = models.PositiveIntegerField()  # bytes of media
    sha256 = models.CharField(max_length=64)  # of the encrypted file, to find tampering
    written_at = models.DateTimeField()

    class Meta:
        ordering = ["seq"]
        constraints = [
            models.UniqueConstraint(fields=["track", "seq"], name="one_chunk_per_place"),
        ]

    def __str__(self) -> str:
        return f"{self.track_id}/{self.seq}"
