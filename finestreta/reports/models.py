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
