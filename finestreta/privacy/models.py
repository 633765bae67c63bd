"""The audit log: who did what to which record, when and from where."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from finestreta.tenants.models import Organisation


class AuditLogIsAppendOnly(Exception):
    """Raised when code tries to change or delete an audit event."""


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    # Refused here with a clear message; the database triggers refuse them anyway. Django's own
    # machinery (the SET_NULL of a deleted actor) goes through `_base_manager`, a plain manager.
    def update(self, **kwargs: Any) -> int:
        raise AuditLogIsAppendOnly("audit events cannot be changed")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AuditLogIsAppendOnly("audit events cannot be deleted")

    def bulk_create(self, *args: Any, **kwargs: Any) -> list[AuditEvent]:
        # Each event is sealed to the one before it (privacy.chain): one at a time.
        raise AuditLogIsAppendOnly("write audit events through privacy.services.record_event")


class AuditEvent(models.Model):
    """One thing that happened: a login, an administration change, a read of personal data…

    The log is append-only, and the database enforces it (migration 0002): triggers refuse every
    UPDATE and DELETE on the table, on SQLite and on PostgreSQL (where TRUNCATE is refused too).
    The single update they allow is the one Django makes when a user is deleted: `actor` becomes
    NULL (on_delete=SET_NULL) while `actor_label` keeps their username. `save()` refuses to
    update an existing row, and `delete()` and the default manager's `update()`/`delete()`
    refuse too, so application code fails early with a clear message.

    Consequences, intended: an organisation with audit events cannot be deleted (`organisation`
    is PROTECT and the rows cannot go), because the events are evidence; deactivate the
    organisation instead. Removing old events is the retention job's work (a later issue), which
    will need its own, deliberate way past the triggers.

    Any migration that alters this table must re-create the triggers: on SQLite, Django rebuilds
    a table to alter it and the rebuild drops its triggers. The refusal tests catch a forgotten
    one. `manage.py flush` keeps working in tests only (see privacy/management/commands/flush.py).

    The log is also tamper-evident (ADR 31, `privacy.chain`): each event belongs to its
    organisation's chain (platform events to the platform's), has a position in it, and a seal,
    an HMAC over the seal of the event before it and everything the event says, under a key
    derived from SECRET_KEY. `actor_ref` keeps the actor's id as sealed, since `actor` may
    become NULL. The retention purge removes a chain's oldest events through the triggers' one
    narrow door, leaving an `AuditChainCheckpoint` to start verification from.
    """

    class Action(models.TextChoices):
        # Add new actions here (and run makemigrations: choices are not in the database, so the
        # migration changes no table). Codes are "<area>.<what happened>".
        LOGIN_SUCCEEDED = "login.succeeded", _("Logged in")
        LOGIN_FAILED = "login.failed", _("Failed to log in")
        LOGOUT = "logout", _("Logged out")
        SESSION_EXPIRED = "session.expired", _("Session expired")
        SESSION_ENDED_BY_USER = "session.ended_by_user", _("Session ended by the user")
        USER_DEACTIVATED = "user.deactivated", _("User deactivated")
        ADMIN_CREATED = "admin.created", _("Created in the administration")
        ADMIN_CHANGED = "admin.changed", _("Changed in the administration")
        ADMIN_DELETED = "admin.deleted", _("Deleted in the administration")
        PERSONAL_DATA_VIEWED = "personal_data.viewed", _("Personal data viewed")
        ROLE_GRANTED = "role.granted", _("Role granted")
        ROLE_REVOKED = "role.revoked", _("Role revoked")
        SSO_USER_PROVISIONED = "sso.user_provisioned", _("User created by single sign-on")
        AUDIT_LOG_EXPORTED = "audit_log.exported", _("Audit log exported")
        APPOINTMENT_BOOKED = "appointment.booked", _("Appointment booked for a citizen")
        APPOINTMENT_MOVED = "appointment.moved", _("Appointment moved")
        APPOINTMENT_CANCELLED = "appointment.cancelled", _("Appointment cancelled")
        APPOINTMENT_ATTENDED = "appointment.attended", _("Appointment marked attended")
        APPOINTMENT_NO_SHOW = "appointment.no_show", _("Appointment marked as not come")
        COACHING_STARTED = "call.coaching_started", _("Listened silently to a call (coaching)")
        CONSENT_RECORDED = "consent.recorded", _("Consent recorded")
        CONSENT_WITHDRAWN = "consent.withdrawn", _("Consent withdrawn")
        IDENTITY_CODE_SENT = "identity.code_sent", _("Identification code sent")
        IDENTITY_CODE_LOCKED = "identity.code_locked", _("Codes locked after too many wrong tries")
        IDENTITY_CHECKED = "identity.checked", _("Citizen's identity checked")
        SIGNATURE_REQUESTED = "signature.requested", _("Signature asked of the citizen")
        SIGNATURE_SIGNED = "signature.signed", _("Signed, and the receipt sent")
        SIGNATURE_CLOSED = "signature.closed", _("Signature declined or withdrawn")
        RECORDING_STARTED = "recording.started", _("Call recording started")
        RECORDING_STOPPED = "recording.stopped", _("Call recording stopped")
        RECORDING_PLAYED = "recording.played", _("Call recording watched")
        RECORDING_DOWNLOADED = "recording.downloaded", _("Call recording downloaded")
        RECORDING_DELETED = "recording.deleted", _("Call recording deleted (period over)")
        MESSAGE_TEMPLATE_SAVED = "message_template.saved", _("Message template saved")
        MESSAGE_TEMPLATE_RESET = (
            "message_template.reset",
            _("Message template back to the platform's text"),
        )
        WEBHOOK_CREATED = "webhook.created", _("Webhook subscription created")
        WEBHOOK_CHANGED = "webhook.changed", _("Webhook subscription changed")
        WEBHOOK_DELETED = "webhook.deleted", _("Webhook subscription deleted")
        WEBHOOK_SECRET_SHOWN = "webhook.secret_shown", _("Webhook secret shown")
        WEBHOOK_SECRET_ROTATED = "webhook.secret_rotated", _("Webhook secret replaced")
        WEBHOOK_REPLAYED = "webhook.replayed", _("Webhook event sent again")
        WEBHOOK_PINGED = "webhook.pinged", _("Webhook test event sent")
        RETENTION_POLICY_CHANGED = "retention.policy_changed", _("Retention period changed")
        RETENTION_PURGED = "retention.purged", _("Data removed at the end of its retention period")
        SUBJECT_ACCESS_EXPORTED = (
            "subject_access.exported",
            _("Everything held about a person exported (right of access)"),
        )
        PERSONAL_DATA_ERASED = "personal_data.erased", _("A person's data erased (on request)")
        PROCESSING_RECORD_EXPORTED = (
            "processing_record.exported",
            _("Record of processing activities downloaded"),
        )
        REPORT_EXPORTED = "report.exported", _("Report figures downloaded")

    occurred_at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)
    # The composite indexes below lead with these two columns, so the foreign keys need no
    # index of their own.
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        db_index=False,
        related_name="+",
        verbose_name=_("organisation"),
        help_text=_("Empty for platform events, such as a platform administrator's login."),
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        db_index=False,
        related_name="+",
        verbose_name=_("who"),
    )
    actor_label = models.CharField(
        _("username"),
        max_length=150,
        blank=True,
        help_text=_("The username at the time; kept if the user is deleted."),
    )
    action = models.CharField(_("what"), max_length=64, choices=Action.choices)
    target_type = models.CharField(_("record type"), max_length=100, blank=True)
    target_id = models.CharField(_("record id"), max_length=64, blank=True)
    target_label = models.CharField(_("record"), max_length=200, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("browser"), max_length=300, blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True, encoder=DjangoJSONEncoder)

    # The hash chain (privacy.chain). Set once, when the event is written.
    actor_ref = models.PositiveBigIntegerField(
        _("user id"),
        null=True,
        blank=True,
        help_text=_("The user's id at the time; kept if the user is deleted."),
    )
    chain_position = models.PositiveBigIntegerField(_("number in the chain"), editable=False)
    chain_previous = models.CharField(_("previous seal"), max_length=64, editable=False)
    chain_hash = models.CharField(_("seal"), max_length=64, editable=False)
    chain_key = models.CharField(_("seal key"), max_length=16, editable=False)
    chain_version = models.PositiveSmallIntegerField(_("seal format"), editable=False)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["organisation", "occurred_at"], name="audit_org_time"),
            models.Index(fields=["actor", "occurred_at"], name="audit_actor_time"),
        ]
        constraints = [
            # One event per position and chain: two writers can never fork a chain. They also
            # find a chain's head (its last event) for the next append.
            models.UniqueConstraint(
                fields=["organisation", "chain_position"],
                condition=models.Q(organisation__isnull=False),
                name="audit_chain_position",
            ),
            models.UniqueConstraint(
                fields=["chain_position"],
                condition=models.Q(organisation__isnull=True),
                name="audit_platform_chain_position",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M:%S} {self.action} {self.actor_label}".strip()

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AuditLogIsAppendOnly("audit events cannot be changed")
        if not self.chain_hash:
            raise AuditLogIsAppendOnly("write audit events through privacy.services.record_event")
        kwargs["force_insert"] = True  # never an UPDATE, not even of zero rows
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AuditLogIsAppendOnly("audit events cannot be deleted")

    @property
    def action_label(self) -> str:
        """The action in words; an action code this version does not know stays as it is."""
        try:
            return str(self.Action(self.action).label)
        except ValueError:
            return self.action

    @property
    def target_kind(self) -> str:
        """The kind of record in words ("office"), from `target_type` ("tenants.office")."""
        if not self.target_type:
            return ""
        try:
            model = apps.get_model(self.target_type)
        except (LookupError, ValueError):
            return self.target_type
        return str(model._meta.verbose_name)


class AuditChainCheckpoint(models.Model):
    """Where a chain starts again after the retention purge removed its oldest events.

    It keeps the position and seal of the last event removed, so the first event left must
    follow it; it is sealed itself (`seal`), so that it cannot be written by someone without
    the key to cover a removal. The latest checkpoint of a chain (highest position) is the one
    verification starts from. Written by `privacy.chain.purge_events_before` only.

    The events' SQLite DELETE trigger reads this table: a migration that rebuilds it on SQLite
    must re-create the events' triggers after it.
    """

    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,  # evidence, as the events were
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("organisation"),
        help_text=_("Empty for the platform's chain."),
    )
    position = models.PositiveBigIntegerField(_("number of the last event removed"))
    event_hash = models.CharField(_("seal of the last event removed"), max_length=64)
    removed = models.PositiveBigIntegerField(_("events removed"))
    removed_before = models.DateTimeField(_("events before"))
    created_at = models.DateTimeField(_("when"), default=timezone.now)
    key = models.CharField(_("seal key"), max_length=16)
    seal = models.CharField(_("seal"), max_length=64)

    class Meta:
        verbose_name = _("audit log checkpoint")
        verbose_name_plural = _("audit log checkpoints")
        indexes = [models.Index(fields=["organisation", "position"], name="audit_checkpoint")]

    def __str__(self) -> str:
        return f"{self.organisation_id or 'platform'} #{self.position}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AuditLogIsAppendOnly("audit checkpoints cannot be changed")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AuditLogIsAppendOnly("audit checkpoints cannot be deleted")


class DataKind(models.TextChoices):
    """What the retention purge removes, kind by kind (privacy.retention.RULES)."""

    APPOINTMENTS = "appointments", _("Appointments")
    CONTACT_DATA = "contact_data", _("Contact details")
    CHAT = "chat", _("Chat of the calls")
    FILES = "files", _("Files shared in the calls")
    RECORDINGS = "recordings", _("Recordings of the calls")
    CONSENT_RECORDS = "consent_records", _("Consent records")
    AUDIT_LOG = "audit_log", _("Audit log")


class RetentionPolicy(models.Model):
    """How long an organisation keeps one kind of data, where it differs from the platform's
    default (privacy.retention.RULES); changed through `privacy.services.set_retention_periods`,
    which checks the period against the kind's floor and ceiling."""

    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.CASCADE,
        related_name="retention_policies",
        verbose_name=_("organisation"),
    )
    kind = models.CharField(_("data"), max_length=20, choices=DataKind.choices)
    days = models.PositiveIntegerField(_("kept for (days)"))
    changed_at = models.DateTimeField(_("changed"), default=timezone.now)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("changed by"),
    )

    class Meta:
        verbose_name = _("retention period")
        verbose_name_plural = _("retention periods")
        ordering = ["organisation", "kind"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "kind"], name="retention_once_per_kind"
            ),
            models.CheckConstraint(
                condition=models.Q(days__gte=1), name="retention_at_least_a_day"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organisation_id} {self.kind}: {self.days}"


class PurgeRun(models.Model):
    """One run of the retention purge for one organisation: what it removed (or, for a dry run,
    would have), kind by kind. Its counts grow batch by batch, each in the transaction that
    removed the batch, so a run cut short reports what it did remove; `finished_at` stays empty
    and `error` says why."""

    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.CASCADE,
        related_name="purge_runs",
        verbose_name=_("organisation"),
    )
    started_at = models.DateTimeField(_("started"))
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    # The moment the periods were counted back from (the run's "now").
    as_of = models.DateTimeField(_("data older than the periods before"))
    dry_run = models.BooleanField(_("preview only"), default=False)
    scheduled = models.BooleanField(_("started by the schedule"), default=False)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("started by"),
    )
    counts = models.JSONField(_("removed"), default=dict, blank=True)
    error = models.CharField(_("error"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("retention purge")
        verbose_name_plural = _("retention purges")
        ordering = ["-started_at", "-pk"]
        indexes = [models.Index(fields=["organisation", "started_at"], name="purge_run_org_time")]

    def __str__(self) -> str:
        return f"{self.organisation_id} {self.started_at:%Y-%m-%d %H:%M}"

    def count(self, kind: str) -> int:
        return int(self.counts.get(kind, 0))

    @property
    def ordered_counts(self) -> list[int]:
        """The counts in the purge's order of kinds (the page's columns)."""
        from finestreta.privacy.retention import ORDER  # it imports this module

        return [self.count(kind) for kind in ORDER]
