"""What citizens said of their attention: one short survey answer per appointment."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from finestreta.appointments.models import Appointment
from finestreta.tenants.models import Organisation

# The scale's words, from 1 to 5, as the form and the reports show them.
SCORES = [
    (1, _("Very dissatisfied")),
    (2, _("Dissatisfied")),
    (3, _("Neither satisfied nor dissatisfied")),
    (4, _("Satisfied")),
    (5, _("Very satisfied")),
]


class SurveyAnswer(models.Model):
    """A citizen's answer to "how satisfied are you with the attention you received?", given
    once per appointment (attended in person, by video or by telephone, booked or "attention
    now") through the link sent after it or at the end of the call. It goes with its
    appointment: the retention of appointments removes it too."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="+", verbose_name=_("organisation")
    )
    appointment = models.OneToOneField(
        Appointment,
        on_delete=models.CASCADE,
        related_name="survey_answer",
        verbose_name=_("appointment"),
    )
    score = models.PositiveSmallIntegerField(
        _("satisfaction"),
        choices=SCORES,
        validators=[MinValueValidator(1), MaxValueValidator(5)],
    )
    comment = models.TextField(_("comment"), blank=True, max_length=1000)
    language = models.CharField(_("language"), max_length=8)
    answered_at = models.DateTimeField(_("answered"))

    class Meta:
        verbose_name = _("survey answer")
        verbose_name_plural = _("survey answers")
        ordering = ["-answered_at"]
        indexes = [models.Index(fields=["organisation", "answered_at"], name="survey_org_time")]
        constraints = [
            models.CheckConstraint(
                condition=Q(score__gte=1, score__lte=5), name="survey_score_one_to_five"
            )
        ]

    def __str__(self) -> str:
        return f"{self.appointment_id}: {self.score}"


class DailyFigures(models.Model):
    """The figures of one day's appointments with the same office, procedure, level, channel
    and agent, as sums and counts (reports.rollup): what the dashboard reads for the days
    before the organisation's `FiguresState.rolled_up_until`. No personal data: they stay
    when the appointments behind them are purged at the end of their retention period."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    office = models.ForeignKey(
        "tenants.Office", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    service = models.ForeignKey("catalogue.Service", on_delete=models.CASCADE, related_name="+")
    level = models.CharField(max_length=20)
    channel = models.CharField(max_length=10)
    # None: every agent's together (the rows the dashboard reads unless it is about agents).
    agent = models.ForeignKey(
        "accounts.Membership", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    booked = models.PositiveIntegerField(default=0)
    attended = models.PositiveIntegerField(default=0)
    no_show = models.PositiveIntegerField(default=0)
    cancelled_by_citizen = models.PositiveIntegerField(default=0)
    cancelled_by_office = models.PositiveIntegerField(default=0)
    with_outcome = models.PositiveIntegerField(default=0)
    resolved = models.PositiveIntegerField(default=0)
    answers = models.PositiveIntegerField(default=0)
    visits_avoided = models.PositiveIntegerField(default=0)
    lobby_wait_sum = models.FloatField(default=0)  # seconds
    lobby_wait_n = models.PositiveIntegerField(default=0)
    queue_wait_sum = models.FloatField(default=0)
    queue_wait_n = models.PositiveIntegerField(default=0)
    handling_sum = models.FloatField(default=0)
    handling_n = models.PositiveIntegerField(default=0)
    score_sum = models.PositiveIntegerField(default=0)
    score_1 = models.PositiveIntegerField(default=0)
    score_2 = models.PositiveIntegerField(default=0)
    score_3 = models.PositiveIntegerField(default=0)
    score_4 = models.PositiveIntegerField(default=0)
    score_5 = models.PositiveIntegerField(default=0)
    travel_km = models.FloatField(default=0)
    travel_minutes = models.FloatField(default=0)

    class Meta:
        verbose_name = _("daily figures")
        verbose_name_plural = _("daily figures")
        indexes = [models.Index(fields=["organisation", "day"], name="daily_figures_day")]

    def __str__(self) -> str:
        return f"{self.organisation_id} {self.day}"


class FiguresState(models.Model):
    """How far the organisation's daily roll-up goes: the days before `rolled_up_until` are
    read from DailyFigures, the others from the appointments."""

    organisation = models.OneToOneField(
        Organisation, on_delete=models.CASCADE, related_name="+", primary_key=True
    )
    rolled_up_until = models.DateField(null=True, blank=True)
    refreshed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.organisation_id} until {self.rolled_up_until}"
