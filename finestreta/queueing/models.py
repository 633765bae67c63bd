"""The virtual queue: citizens waiting for attention now (QueueEntry), the agents' desk state
(DeskStatus) and the offers they let lapse (Lapse). Routing rules: routing.py (ADR 21)."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from finestreta.accounts.models import Membership
from finestreta.catalogue.models import Service
from finestreta.tenants.models import Organisation


class QueueEntry(models.Model):
    class State(models.TextChoices):
        WAITING = "waiting", _("Waiting")
        OFFERED = "offered", _("Offered to an agent")
        SERVING = "serving", _("Being attended")
        SERVED = "served", _("Attended")
        LEFT = "left", _("Left the queue")

    class Channel(models.TextChoices):
        VIDEO = "video", _("Video call")
        PHONE = "phone", _("Telephone call-back")

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="queue_entries"
    )
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="queue_entries")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    state = models.CharField(max_length=10, choices=State.choices, default=State.WAITING)
    name = models.CharField(_("name"), max_length=200)
    phone = models.CharField(_("mobile phone"), max_length=20, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    language = models.CharField(max_length=5, blank=True)  # "": any language will do
    sign_language = models.BooleanField(default=False)
    priority = models.SmallIntegerField(default=0)  # higher goes first
    # A booked citizen routed at their appointment's time (before walk-ins): the time, and the
    # agent it was booked with (offered first when available; queueing/booked.py).
    due = models.DateTimeField(null=True, blank=True)
    booked_agent = models.ForeignKey(
        Membership, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    joined_at = models.DateTimeField()
    offered_to = models.ForeignKey(
        Membership, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    offered_at = models.DateTimeField(null=True, blank=True)
    offer_expires_at = models.DateTimeField(null=True, blank=True)
    served_by = models.ForeignKey(
        Membership, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    served_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    # The attention, made when an agent accepts (a walk-in's call is an appointment from then on:
    # its room, notes, outcome and reports are an appointment's).
    appointment = models.OneToOneField(
        "appointments.Appointment",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="queue_entry",
    )
    # The citizen's language for the pages and messages (`language` is the one they need spoken).
    locale = models.CharField(max_length=8, default="ca")
    # A random part of the citizen's ticket link (signed): the link works for this entry only.
    nonce = models.CharField(max_length=16, blank=True)

    class Meta:
        verbose_name = _("queue entry")
        verbose_name_plural = _("queue entries")
        indexes = [
            # The waiting list in the queue's order (routing.rank), per organisation.
            models.Index(
                fields=["organisation", "service", "-priority", "joined_at"],
                condition=Q(state="waiting"),
                name="queue_waiting_order",
            ),
            models.Index(
                fields=["organisation", "due"],
                condition=Q(state="waiting", due__isnull=False),
                name="queue_waiting_booked",
            ),
            models.Index(
                fields=["offer_expires_at"],
                condition=Q(state="offered"),
                name="queue_offers_expiring",
            ),
        ]
        constraints = [
            # An agent is offered one citizen at a time, and serves one at a time.
            models.UniqueConstraint(
                fields=["offered_to"],
                condition=Q(state="offered"),
                name="queue_one_offer_per_agent",
            ),
            models.UniqueConstraint(
                fields=["served_by"], condition=Q(state="serving"), name="queue_one_call_per_agent"
            ),
            models.CheckConstraint(
                condition=~Q(state="offered") | Q(offered_to__isnull=False),
                name="queue_offer_has_agent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_state_display()})"


class DeskStatus(models.Model):
    """An agent's state at their desk (the desk page sets it; routing reads it)."""

    class State(models.TextChoices):
        AVAILABLE = "available", _("Available")
        IN_CALL = "in_call", _("In a call")
        PAUSED = "paused", _("Paused")
        OFFLINE = "offline", _("Offline")

    membership = models.OneToOneField(Membership, on_delete=models.CASCADE, related_name="desk")
    state = models.CharField(max_length=10, choices=State.choices, default=State.OFFLINE)
    reason = models.CharField(_("reason"), max_length=100, blank=True)
    since = models.DateTimeField()

    class Meta:
        verbose_name = _("desk status")
        verbose_name_plural = _("desk statuses")
        indexes = [
            models.Index(fields=["state", "since"], name="desk_available_since"),
        ]

    def __str__(self) -> str:
        return f"{self.membership} — {self.get_state_display()}"


class Lapse(models.Model):
    """An offer the agent let lapse (or declined): that citizen goes to others first."""

    entry = models.ForeignKey(QueueEntry, on_delete=models.CASCADE, related_name="lapses")
    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="+")
    at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["membership", "at"], name="queue_lapse_recent")]

    def __str__(self) -> str:
        return f"{self.membership} let {self.entry} pass at {self.at:%H:%M}"


class SharingAgreement(models.Model):
    """Two organisations agree that agents of `partner` attend citizens waiting in `host`'s
    queue for some of `host`'s procedures (issue "desk and queue", 3; ADR 25). In force only
    once both organisations' administrators have approved it, between its dates, until either
    revokes it. The partner chooses which of its agents take part."""

    host = models.ForeignKey(
        Organisation,
        on_delete=models.CASCADE,
        related_name="queue_shared_out",
        verbose_name=_("organisation whose citizens are attended"),
    )
    partner = models.ForeignKey(
        Organisation,
        on_delete=models.CASCADE,
        related_name="queue_shared_in",
        verbose_name=_("organisation whose agents help"),
    )
    services: models.ManyToManyField[Service, Any] = models.ManyToManyField(
        Service,
        related_name="sharing_agreements",
        verbose_name=_("procedures attended"),
        help_text=_("The host organisation's procedures that the partner's agents may attend."),
    )
    agents: models.ManyToManyField[Membership, Any] = models.ManyToManyField(
        Membership,
        blank=True,
        related_name="sharing_agreements",
        verbose_name=_("agents taking part"),
        help_text=_("Chosen by the partner organisation among its agents."),
    )
    reference = models.CharField(
        _("agreement reference"),
        max_length=200,
        help_text=_(
            "The agreement (conveni) that allows it, including who is responsible for the "
            "citizens' data."
        ),
    )
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("until"), null=True, blank=True)
    host_approved_at = models.DateTimeField(_("approved by the host"), null=True, blank=True)
    host_approved_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    partner_approved_at = models.DateTimeField(_("approved by the partner"), null=True, blank=True)
    partner_approved_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("queue sharing agreement")
        verbose_name_plural = _("queue sharing agreements")
        constraints = [
            models.UniqueConstraint(fields=["host", "partner"], name="queue_sharing_once"),
            models.CheckConstraint(
                condition=~Q(host=models.F("partner")), name="queue_sharing_two_organisations"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.partner} → {self.host}"
