"""Video rooms: one per video appointment, who is connected now, what was said in the chat, and
the record of who joined, left and was admitted (docs/signaling.md)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from finestreta.tenants.models import Organisation


class Role(models.TextChoices):
    CITIZEN = "citizen", _("citizen")
    STAFF = "staff", _("staff")


class Room(models.Model):
    class State(models.TextChoices):
        OPEN = "open", _("open")
        ENDED = "ended", _("ended")

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    appointment = models.OneToOneField(
        "appointments.Appointment", on_delete=models.PROTECT, related_name="room"
    )
    # In the WebSocket address and the staff's call page: random, never the appointment's code.
    public_id = models.CharField(max_length=22, unique=True)
    state = models.CharField(max_length=8, choices=State.choices, default=State.OPEN)
    # Once the citizen was admitted, a reconnection goes straight back into the call.
    citizen_admitted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("video room")
        verbose_name_plural = _("video rooms")

    def __str__(self) -> str:
        return self.public_id


class Presence(models.Model):
    """A participant connected now (or a moment ago: kept while its client may resume). In the
    database so that every server process sees the same room."""

    class State(models.TextChoices):
        WAITING = "waiting", _("waiting")
        ADMITTED = "admitted", _("admitted")

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="presences")
    peer = models.CharField(max_length=24, unique=True)
    role = models.CharField(max_length=8, choices=Role.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    name = models.CharField(max_length=200)
    number = models.CharField(max_length=30, blank=True)  # the staff number shown to the citizen
    state = models.CharField(max_length=8, choices=State.choices)
    channel_name = models.CharField(max_length=200, blank=True)  # empty: disconnected
    connected = models.BooleanField(default=True)
    since = models.DateTimeField()
    last_seen = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["room", "connected"])]

    def __str__(self) -> str:
        return f"{self.peer} ({self.role}, {self.state})"


class ChatLine(models.Model):
    """A line of the call's text chat, stored (with the room's next number) before anyone sees
    it acknowledged."""

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="chat")
    seq = models.PositiveIntegerField()
    peer = models.CharField(max_length=24)
    ref = models.CharField(max_length=40, blank=True)  # the sender's own id for the line
    role = models.CharField(max_length=8, choices=Role.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    name = models.CharField(max_length=200)
    text = models.TextField(max_length=2000)
    sent_at = models.DateTimeField()

    class Meta:
        ordering = ["room", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["room", "seq"], name="chat_seq_per_room"),
        ]

    def __str__(self) -> str:
        return f"{self.room_id} #{self.seq}"


class RoomEvent(models.Model):
    """Who joined, left and was admitted, notices to the waiting citizen, call-back requests and
    the end of the call: the room's record."""

    class Kind(models.TextChoices):
        JOINED = "joined", _("joined")
        LEFT = "left", _("left")
        ADMITTED = "admitted", _("admitted")
        REFUSED = "refused", _("refused")
        NOTICE = "notice", _("message to the waiting citizen")
        CALLBACK = "callback", _("asked to be called by phone")
        ENDED = "ended", _("call ended")

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    peer = models.CharField(max_length=24, blank=True)
    role = models.CharField(max_length=8, choices=Role.choices, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    details = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["room", "at", "pk"]

    def __str__(self) -> str:
        return f"{self.room_id} {self.kind} {self.peer}"
