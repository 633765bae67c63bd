"""Appointments. No double booking is enforced by the database itself (see the migrations):
an exclusion constraint on PostgreSQL, a trigger inside immediate transactions on SQLite."""

from __future__ import annotations

from typing import cast

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from finestreta.accounts.models import Membership
from finestreta.catalogue.models import Channel, Service
from finestreta.tenants.models import Municipality, Office, Organisation


class CancelledBy(models.TextChoices):
    CITIZEN = "citizen", _("the citizen")
    OFFICE = "office", _("the office")


class Appointment(models.Model):
    class Status(models.TextChoices):
        HELD = "held", _("Held")
        BOOKED = "booked", _("Booked")
        CANCELLED = "cancelled", _("Cancelled")
        ATTENDED = "attended", _("Attended")
        NO_SHOW = "no_show", _("Did not come")

    # The states that keep the agent's time taken (a held slot too, until it is released).
    ACTIVE = (Status.HELD, Status.BOOKED, Status.ATTENDED, Status.NO_SHOW)

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="appointments"
    )
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="appointments")
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    office = models.ForeignKey(
        Office, on_delete=models.PROTECT, null=True, blank=True, related_name="appointments"
    )
    agent = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="appointments")
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    # The agent's time the appointment takes, buffers included: what must never overlap.
    occupied_from = models.DateTimeField()
    occupied_until = models.DateTimeField()
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    hold_expires_at = models.DateTimeField(null=True, blank=True)
    code = models.CharField(_("booking code"), max_length=12, unique=True)
    # NULL, not "", when absent: the unique constraint must ignore bookings without a key.
    idempotency_key = models.CharField(max_length=100, null=True, blank=True)  # noqa: DJ001
    # Who is attended. Empty while the time is only held.
    name = models.CharField(_("name"), max_length=200, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    phone = models.CharField(_("mobile phone"), max_length=20, blank=True)  # E.164
    language = models.CharField(
        _("language"), max_length=8, choices=settings.LANGUAGES, default="ca"
    )
    municipality = models.ForeignKey(
        Municipality, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    id_document = models.CharField(_("identity document"), max_length=20, blank=True)
    needs_sign_language = models.BooleanField(_("sign-language interpreter"), default=False)
    needs_captions = models.BooleanField(_("captions"), default=False)
    needs_extra_time = models.BooleanField(_("extra time"), default=False)
    needs_easy_read = models.BooleanField(_("easy-read explanations"), default=False)
    notes = models.TextField(_("anything else we should know"), blank=True, max_length=1000)
    # Booking on behalf: an intermediary declares that they represent the person attended.
    representative_name = models.CharField(_("representative's name"), max_length=200, blank=True)
    representative_email = models.EmailField(_("representative's e-mail"), blank=True)
    representative_phone = models.CharField(
        _("representative's mobile phone"), max_length=20, blank=True
    )
    representative_relation = models.CharField(
        _("relationship to the person"), max_length=100, blank=True
    )
    booked_by = models.ForeignKey(
        Membership,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("booked by staff member"),
    )
    # Anti-abuse: a keyed hash of the address that holds the time (never the address itself).
    held_by = models.CharField(max_length=64, blank=True)
    # A random part of the manage link: changing it invalidates every link sent before.
    manage_nonce = models.CharField(max_length=16, blank=True)
    booked_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.CharField(max_length=10, choices=CancelledBy.choices, blank=True)
    cancellation_reason = models.CharField(_("reason"), max_length=300, blank=True)
    times_rescheduled = models.PositiveSmallIntegerField(default=0)
    # Made when an agent took the citizen from the walk-in queue ("attention now").
    walk_in = models.BooleanField(_("attention now, without an appointment"), default=False)
    # What the agent wrote and how the attention ended (the desk).
    staff_notes = models.TextField(_("notes of the attention"), blank=True, max_length=4000)
    outcome = models.ForeignKey(
        "catalogue.OutcomeCode",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("outcome"),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("appointment")
        verbose_name_plural = _("appointments")
        ordering = ["starts_at"]
        indexes = [
            # Covers the availability read (an agent's busy times): no visit to the wide table.
            models.Index(
                fields=["agent", "occupied_from", "occupied_until", "status", "hold_expires_at"],
                name="appointment_busy",
            ),
            models.Index(fields=["organisation", "starts_at"], name="appointment_agenda"),
            # Partial: only holds, so that no planner takes it for "status IN (active ones)".
            models.Index(
                fields=["hold_expires_at"],
                condition=models.Q(status="held"),
                name="appointment_hold_expiry",
            ),
            models.Index(fields=["organisation", "email"]),
            models.Index(fields=["organisation", "phone"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(starts_at__lt=models.F("ends_at"))
                & models.Q(occupied_from__lte=models.F("starts_at"))
                & models.Q(occupied_until__gte=models.F("ends_at")),
                name="appointment_times_in_order",
            ),
            models.UniqueConstraint(
                fields=["organisation", "idempotency_key"],
                condition=models.Q(idempotency_key__isnull=False),
                name="appointment_idempotency_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.service} {self.starts_at:%Y-%m-%d %H:%M}"

    @property
    def is_upcoming(self) -> bool:
        return self.status == self.Status.BOOKED

    @property
    def on_behalf(self) -> bool:
        return bool(self.representative_name)

    def accessibility_needs(self) -> list[str]:
        """The needs declared, in the reader's language."""
        return [
            str(cast(models.Field, self._meta.get_field(flag)).verbose_name)
            for flag in NEEDS
            if getattr(self, flag)
        ]


NEEDS = ("needs_sign_language", "needs_captions", "needs_extra_time", "needs_easy_read")


class WaitingListEntry(models.Model):
    """A citizen who found no suitable time, waiting for one to free up."""

    class Status(models.TextChoices):
        WAITING = "waiting", _("Waiting")
        OFFERED = "offered", _("A time is offered")
        BOOKED = "booked", _("Booked")
        LEFT = "left", _("Left the list")

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="waiting_list"
    )
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="waiting_list")
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    office = models.ForeignKey(
        Office, on_delete=models.CASCADE, null=True, blank=True, related_name="waiting_list"
    )
    earliest = models.DateField(_("from"))
    latest = models.DateField(_("until"))
    name = models.CharField(_("name"), max_length=200)
    email = models.EmailField(_("e-mail"), blank=True)
    phone = models.CharField(_("mobile phone"), max_length=20, blank=True)
    language = models.CharField(
        _("language"), max_length=8, choices=settings.LANGUAGES, default="ca"
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.WAITING
    )
    offered = models.ForeignKey(
        Appointment, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    manage_nonce = models.CharField(max_length=16)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("waiting-list entry")
        verbose_name_plural = _("waiting list")
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(earliest__lte=models.F("latest")),
                name="waiting_list_dates_in_order",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} — {self.service}"


class VerificationCode(models.Model):
    """A one-time code sent to the citizen before a booking is confirmed, for services that
    ask for it (anti-abuse: a bot cannot read a person's mail or SMS). Only a hash is kept."""

    appointment = models.ForeignKey(
        Appointment, on_delete=models.CASCADE, related_name="verification_codes"
    )
    channel = models.CharField(max_length=5)
    recipient = models.CharField(max_length=254)
    code_hash = models.CharField(max_length=64)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    verified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"code for {self.appointment_id}"
