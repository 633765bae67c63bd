"""The outbox: every message to a citizen or staff member is a row, written in the same
transaction as the change that causes it, and delivered by a background task."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from finestreta.tenants.models import Organisation


class Message(models.Model):
    class Channel(models.TextChoices):
        EMAIL = "email", _("E-mail")
        SMS = "sms", _("SMS")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Waiting to be sent")
        SENDING = "sending", _("Being sent")
        DELIVERED = "delivered", _("Sent")
        FAILED = "failed", _("Failed")
        SUPPRESSED = "suppressed", _("Not sent")

    TERMINAL = (Status.DELIVERED, Status.FAILED, Status.SUPPRESSED)

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="messages"
    )
    kind = models.CharField(_("kind"), max_length=40)
    channel = models.CharField(_("channel"), max_length=5, choices=Channel.choices)
    recipient = models.CharField(_("recipient"), max_length=254)
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("text"))
    html = models.TextField(blank=True)
    attachment_name = models.CharField(max_length=100, blank=True)
    attachment_type = models.CharField(max_length=100, blank=True)
    attachment = models.BinaryField(blank=True, default=b"")
    # The same event never sends the same message twice (GOV.UK Notify's rule).
    dedup_key = models.CharField(max_length=200)
    appointment = models.ForeignKey(
        "appointments.Appointment",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="messages",
    )
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.QUEUED
    )
    # Not before this instant (reminders, SMS moved out of quiet hours); None: at once.
    send_after = models.DateTimeField(_("not before"), null=True, blank=True)
    # Urgent messages (a verification code, "it is your turn") ignore quiet hours.
    urgent = models.BooleanField(default=False)
    # For messages about an appointment: its start when queued. A reminder whose appointment
    # was cancelled or moved since is suppressed at send time.
    appointment_starts_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    # Which dispatcher's batch holds it while "sending" (delivery.py); empty otherwise.
    claim = models.CharField(max_length=16, blank=True)
    provider_id = models.CharField(max_length=100, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    # What the SMS gateway's delivery receipt said last (delivered to the phone, or why not).
    receipt_status = models.CharField(_("delivery receipt"), max_length=30, blank=True)
    receipt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "dedup_key"], name="message_dedup_per_org"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "created_at"]),
            # The dispatchers' poll: queued messages by when they may leave (a few rows, in a
            # table that keeps every message ever sent).
            models.Index(
                fields=["send_after"],
                condition=models.Q(status="queued"),
                name="message_queued_due",
            ),
            models.Index(fields=["claim"], condition=~models.Q(claim=""), name="message_claimed"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} → {self.recipient} ({self.status})"


class MessagingSettings(models.Model):
    """How one organisation sends: its sender, its SMS gateway, quiet hours and reminders."""

    organisation = models.OneToOneField(
        Organisation, on_delete=models.CASCADE, related_name="messaging"
    )
    sender_name = models.CharField(
        _("sender name"), max_length=100, blank=True, help_text=_("Empty: the organisation's name.")
    )
    sender_email = models.EmailField(
        _("sender e-mail address"),
        blank=True,
        help_text=_("Empty: the platform's address (DEFAULT_FROM_EMAIL)."),
    )
    sms_gateway_url = models.URLField(
        _("SMS gateway address"),
        blank=True,
        help_text=_("Empty: SMS go to the platform's default (the development outbox in a demo)."),
    )
    sms_api_key = models.CharField(_("SMS gateway key"), max_length=200, blank=True)
    sms_receipt_secret = models.CharField(
        _("secret for delivery receipts"),
        max_length=200,
        blank=True,
        help_text=_("The gateway signs its delivery receipts with it (HMAC-SHA256)."),
    )
    sms_sender = models.CharField(_("SMS sender name"), max_length=11, blank=True)
    quiet_from = models.TimeField(_("no SMS from"), default="21:00")
    quiet_until = models.TimeField(_("no SMS until"), default="09:00")
    reminder_hours = models.CharField(
        _("reminders, hours before the appointment"),
        max_length=50,
        default="24,1",
        help_text=_("Comma-separated, for example 24,1. Empty: no reminders."),
    )

    class Meta:
        verbose_name = _("messaging settings")
        verbose_name_plural = _("messaging settings")

    def __str__(self) -> str:
        return str(self.organisation)

    def clean(self) -> None:
        super().clean()
        if self.sms_gateway_url:
            from finestreta.notifications.safety import check_gateway_url

            try:
                check_gateway_url(self.sms_gateway_url)
            except ValidationError as error:
                raise ValidationError({"sms_gateway_url": error.messages}) from error


class MessageTemplate(models.Model):
    """An organisation's own wording for one kind of message, in one language and channel.
    Without one, the platform's template is used."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="message_templates"
    )
    kind = models.CharField(_("kind"), max_length=40)
    channel = models.CharField(_("channel"), max_length=5, choices=Message.Channel.choices)
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("text"))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("message template")
        verbose_name_plural = _("message templates")
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "kind", "channel", "language"],
                name="message_template_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} ({self.channel}, {self.language})"
