"""Appointments. No double booking is enforced by the database itself (see the migrations):
an exclusion constraint on PostgreSQL, a trigger inside immediate transactions on SQLite."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from finestreta.accounts.models import Membership
from finestreta.catalogue.models import Channel, Service
from finestreta.tenants.models import Office, Organisation


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
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("appointment")
        verbose_name_plural = _("appointments")
        ordering = ["starts_at"]
        indexes = [models.Index(fields=["agent", "occupied_from"])]
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
