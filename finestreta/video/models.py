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
    GUEST = "guest", _("invited guest")
    # The platform's own receive-only participant that records the call (finestreta.recordings):
    # no tile on anyone's page, no place among the participants.
    RECORDER = "recorder", _("recorder")


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
    invited_as = models.CharField(max_length=12, blank=True)  # Invitation.Kind, for guests
    # A guest's invitation: a guest resumes only their own place, never another guest's.
    invitation = models.ForeignKey(
        "video.Invitation", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    state = models.CharField(max_length=8, choices=State.choices)
    # A supervisor listening for coaching (video.coaching): sends nothing, and the others'
    # pages play nothing of theirs and say who is listening.
    silent = models.BooleanField(default=False)
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
        INVITED = "invited", _("invited")
        TRANSFERRED = "transferred", _("transferred")
        NOTICE = "notice", _("message to the waiting citizen")
        CALLBACK = "callback", _("asked to be called by phone")
        FILE_SHARED = "file_shared", _("file shared")
        FILE_REFUSED = "file_refused", _("file refused")
        FILE_DOWNLOADED = "file_read", _("file downloaded")
        ENDED = "ended", _("call ended")

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=12, choices=Kind.choices)
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


class SharedFile(models.Model):
    """A file one participant shared in the call: checked by its content, encrypted at rest
    outside the web root (`VIDEO_FILES_DIR`), readable only by the call's participants."""

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="files")
    role = models.CharField(max_length=8, choices=Role.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    sender = models.CharField(max_length=200)  # the name the others saw
    name = models.CharField(_("file name"), max_length=120)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    storage_name = models.CharField(max_length=80, unique=True)  # under VIDEO_FILES_DIR
    uploaded_at = models.DateTimeField()

    class Meta:
        ordering = ["room", "uploaded_at", "pk"]

    def __str__(self) -> str:
        return f"{self.room_id}: {self.name}"


class Invitation(models.Model):
    """Someone the agent brings into the call: an interpreter, a specialist or a supervisor — a
    colleague of the organisation (who joins with their own session) or a guest from outside
    (who joins with the link of this invitation) — or the agent the call is transferred to."""

    class Kind(models.TextChoices):
        INTERPRETER = "interpreter", _("interpreter")
        SPECIALIST = "specialist", _("specialist")
        SUPERVISOR = "supervisor", _("supervisor")
        TRANSFER = "transfer", _("the agent the call is transferred to")

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="invitations")
    kind = models.CharField(_("as"), max_length=12, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=200)
    membership = models.ForeignKey(
        "accounts.Membership",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("A colleague of the organisation: they join with their own login."),
    )
    # A guest's link carries a random token; only its hash is kept.
    token_hash = models.CharField(max_length=64, blank=True, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["room", "created_at"]

    def __str__(self) -> str:
        return f"{self.room_id}: {self.kind} {self.name}"


class Coaching(models.Model):
    """A supervisor listening silently to a call, for coaching: allowed only where the
    organisation's policy says so (`Organisation.allows_silent_coaching`); everyone in the call
    is told. The record is the evidence of who listened, to which call, and when."""

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="coachings")
    membership = models.ForeignKey(
        "accounts.Membership", on_delete=models.CASCADE, related_name="+"
    )
    started_at = models.DateTimeField()

    class Meta:
        ordering = ["room", "started_at"]
        constraints = [
            models.UniqueConstraint(fields=["room", "membership"], name="one_coaching_per_room")
        ]

    def __str__(self) -> str:
        return f"{self.room_id}: {self.membership_id}"
