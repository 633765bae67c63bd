"""When staff work (weekly patterns with validity dates, per office or remote) and when not."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from finestreta.accounts.models import Membership
from finestreta.tenants.models import Office, OpeningHours


class WorkingPattern(models.Model):
    """A staff member works at (or, for the back-office, from) an office on a weekday, between
    two times, through some channels, from one date to another."""

    membership = models.ForeignKey(
        Membership,
        on_delete=models.CASCADE,
        related_name="working_patterns",
        verbose_name=_("staff member"),
    )
    office = models.ForeignKey(
        Office,
        on_delete=models.CASCADE,
        related_name="working_patterns",
        verbose_name=_("office"),
        help_text=_("Where they sit; the virtual back-office for remote work."),
    )
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=OpeningHours.Weekday.choices)
    starts = models.TimeField(_("starts"))
    ends = models.TimeField(_("ends"))
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    video = models.BooleanField(_("video calls"), default=True)
    phone = models.BooleanField(_("telephone"), default=True)
    in_person = models.BooleanField(_("in person"), default=False)

    class Meta:
        verbose_name = _("working pattern")
        verbose_name_plural = _("working patterns")
        ordering = ["membership", "weekday", "starts"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(starts__lt=models.F("ends")),
                name="working_pattern_order",
                violation_error_message=_("The end must be after the start."),
            ),
            models.CheckConstraint(
                condition=models.Q(valid_until__isnull=True)
                | models.Q(valid_until__gte=models.F("valid_from")),
                name="working_pattern_validity",
                violation_error_message=_("“Valid until” cannot be before “valid from”."),
            ),
            models.CheckConstraint(
                condition=models.Q(video=True) | models.Q(phone=True) | models.Q(in_person=True),
                name="working_pattern_channel",
                violation_error_message=_("Choose at least one channel."),
            ),
        ]

    def __str__(self) -> str:
        hours = f"{self.starts:%H:%M}–{self.ends:%H:%M}"
        return f"{self.membership.user} {self.get_weekday_display()} {hours}"

    def clean(self) -> None:
        super().clean()
        if (
            self.office_id
            and self.membership_id
            and (self.office.organisation_id != self.membership.organisation_id)
        ):
            raise ValidationError({"office": _("This office belongs to another organisation.")})
        if self.in_person and self.office_id and self.office.kind == Office.Kind.BACK_OFFICE:
            raise ValidationError(
                {"in_person": _("Nobody is attended in person at the virtual back-office.")}
            )


class Absence(models.Model):
    """Time a staff member cannot attend anyone (leave, training, illness)."""

    membership = models.ForeignKey(
        Membership,
        on_delete=models.CASCADE,
        related_name="absences",
        verbose_name=_("staff member"),
    )
    starts_at = models.DateTimeField(_("from"))
    ends_at = models.DateTimeField(_("until"))
    reason = models.CharField(_("reason"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("absence")
        verbose_name_plural = _("absences")
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(starts_at__lt=models.F("ends_at")),
                name="absence_order",
                violation_error_message=_("The end must be after the start."),
            ),
        ]

    def __str__(self) -> str:
        span = f"{self.starts_at:%Y-%m-%d %H:%M} – {self.ends_at:%Y-%m-%d %H:%M}"
        return f"{self.membership.user}: {span}"
