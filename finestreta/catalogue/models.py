"""The catalogue of services (tràmits) an organisation offers, and how."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from finestreta.tenants.models import Office, Organisation


class AttentionLevel(models.TextChoices):
    INFORMATIVE = "informative", _("Information")
    ASSISTED = "assisted", _("Assisted processing")
    ATTENDED = "attended", _("Attended processing")


# Plain words for citizens, shown beside each service.
ATTENTION_LEVEL_EXPLANATIONS = {
    AttentionLevel.INFORMATIVE: _(
        "We explain how the procedure works and answer your questions. You do not need to "
        "identify yourself."
    ),
    AttentionLevel.ASSISTED: _(
        "You do the procedure yourself on the internet and a member of staff guides you step by "
        "step. They may ask you to share your screen."
    ),
    AttentionLevel.ATTENDED: _(
        "A member of staff does the procedure for you. You will have to prove who you are and "
        "give your express consent."
    ),
}


class Channel(models.TextChoices):
    VIDEO = "video", _("Video call")
    PHONE = "phone", _("Telephone")
    IN_PERSON = "in_person", _("In person")


class Service(models.Model):
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.CASCADE,
        related_name="services",
        verbose_name=_("organisation"),
    )
    slug = models.SlugField(_("short name"), max_length=80)
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    documents_to_prepare = models.TextField(
        _("documents to prepare"), blank=True, help_text=_("One document per line.")
    )
    attention_level = models.CharField(
        _("attention level"), max_length=12, choices=AttentionLevel.choices
    )
    offers_video = models.BooleanField(_("by video call"), default=True)
    offers_phone = models.BooleanField(_("by telephone"), default=False)
    offers_in_person = models.BooleanField(_("in person"), default=False)
    duration_minutes = models.PositiveSmallIntegerField(
        _("duration (minutes)"),
        default=15,
        validators=[MinValueValidator(5), MaxValueValidator(240)],
    )
    buffer_before_minutes = models.PositiveSmallIntegerField(
        _("preparation before (minutes)"), default=0, validators=[MaxValueValidator(120)]
    )
    buffer_after_minutes = models.PositiveSmallIntegerField(
        _("wrap-up after (minutes)"), default=0, validators=[MaxValueValidator(120)]
    )
    min_notice_hours = models.PositiveSmallIntegerField(
        _("minimum notice (hours)"),
        default=2,
        validators=[MaxValueValidator(24 * 14)],
        help_text=_("How long before a time it can still be booked."),
    )
    max_days_ahead = models.PositiveSmallIntegerField(
        _("booking window (days ahead)"),
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
    )
    offices = models.ManyToManyField(
        Office,
        related_name="services",
        blank=True,
        verbose_name=_("offices"),
        help_text=_("Offices that provide this service."),
    )
    requires_verification = models.BooleanField(
        _("ask for a code sent by e-mail or SMS before confirming a booking"),
        default=False,
        help_text=_("Stops automated bookings; the citizen needs access to the e-mail or mobile."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("service")
        verbose_name_plural = _("services")
        ordering = ["organisation", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "slug"], name="service_slug_per_org"),
            models.CheckConstraint(
                condition=models.Q(offers_video=True)
                | models.Q(offers_phone=True)
                | models.Q(offers_in_person=True),
                name="service_offers_a_channel",
                violation_error_message=_("Offer the service through at least one channel."),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def channels(self) -> list[Channel]:
        offered = [
            (self.offers_video, Channel.VIDEO),
            (self.offers_phone, Channel.PHONE),
            (self.offers_in_person, Channel.IN_PERSON),
        ]
        return [channel for flag, channel in offered if flag]

    @property
    def attention_level_explanation(self) -> str:
        return str(ATTENTION_LEVEL_EXPLANATIONS[AttentionLevel(self.attention_level)])

    @property
    def documents(self) -> list[str]:
        return [
            line.strip() for line in (self.documents_to_prepare or "").splitlines() if line.strip()
        ]


class OutcomeCode(models.Model):
    """How an attention ended, as the agent records it at the end of a call (the desk's outcome
    codes). `resolves` marks the codes that count as resolved at first contact in the reports."""

    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.CASCADE,
        related_name="outcome_codes",
        verbose_name=_("organisation"),
    )
    code = models.SlugField(_("code"), max_length=40)
    label = models.CharField(_("label"), max_length=120)
    resolves = models.BooleanField(
        _("resolved at first contact"),
        default=True,
        help_text=_("Counts as resolved at first contact in the reports."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("outcome code")
        verbose_name_plural = _("outcome codes")
        ordering = ["organisation", "label"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "code"], name="outcome_code_per_org"),
        ]

    def __str__(self) -> str:
        return self.label
