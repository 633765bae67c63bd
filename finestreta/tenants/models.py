"""Organisations (tenants), their offices, opening hours and closed days."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import FileExtensionValidator, MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from finestreta.tenants.validators import (
    validate_brand_colour,
    validate_logo,
    validate_not_reserved_slug,
    validate_time_zone,
)


class Organisation(models.Model):
    """A tenant: a government department, an agency or a town council."""

    slug = models.SlugField(
        _("short name"),
        max_length=50,
        unique=True,
        validators=[validate_not_reserved_slug],
        help_text=_("Used in web addresses, for example /generalitat/."),
    )
    name = models.CharField(_("name"), max_length=200)
    logo = models.ImageField(
        _("logo"),
        upload_to="logos/",
        blank=True,
        validators=[FileExtensionValidator(["png", "jpg", "jpeg", "webp"]), validate_logo],
    )
    brand_colour = models.CharField(
        _("brand colour"),
        max_length=7,
        default="#005a9c",
        validators=[validate_brand_colour],
        help_text=_("Must reach 4.5:1 contrast on white (WCAG 2.1 AA)."),
    )
    default_language = models.CharField(
        _("default language"), max_length=5, choices=settings.LANGUAGES, default="ca"
    )
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="Europe/Madrid", validators=[validate_time_zone]
    )
    holiday_country = models.CharField(
        _("public holidays: country"),
        max_length=2,
        default="ES",
        help_text=_("ISO country code for public holidays, for example ES."),
    )
    holiday_subdivision = models.CharField(
        _("public holidays: region"),
        max_length=10,
        blank=True,
        default="CT",
        help_text=_("ISO region code, for example CT for Catalonia."),
    )
    contact_email = models.EmailField(_("contact e-mail"), blank=True)
    contact_phone = models.CharField(_("contact telephone"), max_length=30, blank=True)
    website = models.URLField(_("website"), blank=True)
    privacy_notice = models.TextField(_("privacy notice"), blank=True)
    accessibility_statement = models.TextField(_("accessibility statement"), blank=True)
    session_idle_minutes = models.PositiveSmallIntegerField(
        _("staff session idle limit (minutes)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(5), MaxValueValidator(480)],
        help_text=_("Leave empty to use the platform's limit."),
    )
    session_max_hours = models.PositiveSmallIntegerField(
        _("staff session absolute limit (hours)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(24)],
        help_text=_("Leave empty to use the platform's limit."),
    )
    booking_hold_minutes = models.PositiveSmallIntegerField(
        _("minutes a chosen time is kept while the citizen fills in the form"),
        default=10,
        validators=[MinValueValidator(2), MaxValueValidator(60)],
    )
    max_active_appointments = models.PositiveSmallIntegerField(
        _("most upcoming appointments per person"),
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(20)],
        help_text=_("Counted by e-mail, mobile phone and identity document."),
    )
    waiting_list_offer_hours = models.PositiveSmallIntegerField(
        _("hours a freed time is kept for the first person on the waiting list"),
        default=12,
        validators=[MinValueValidator(1), MaxValueValidator(72)],
    )
    # "Attention now" (the walk-in virtual queue).
    queue_shows_position = models.BooleanField(
        _("show waiting citizens their place in the queue"),
        default=True,
        help_text=_("When off, citizens see only the estimated wait."),
    )
    queue_priority_help = models.BooleanField(
        _("let citizens ask for priority attention"),
        default=True,
        help_text=_(
            "Older people, people with a disability and others who need it go before the rest."
        ),
    )
    allows_silent_coaching = models.BooleanField(
        _("let supervisors listen to video calls silently, for coaching"),
        default=False,
        help_text=_(
            "Everyone in the call, the citizen too, is told at once; the supervisor can neither "
            "speak nor be seen. Turn it on only where your policy allows it."
        ),
    )
    sends_survey = models.BooleanField(
        _("ask citizens how it went"),
        default=True,
        help_text=_(
            "After each attention the citizen gets a link to a one-minute satisfaction survey "
            "(1 to 5, and a comment if they want), and sees it when a video call ends."
        ),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Municipality(models.Model):
    """A municipality of Catalonia (ICGC list), with a representative point."""

    ine_code = models.CharField(_("INE code"), max_length=6, unique=True)
    name = models.CharField(_("name"), max_length=120)
    latitude = models.FloatField(_("latitude"))
    longitude = models.FloatField(_("longitude"))

    class Meta:
        verbose_name = _("municipality")
        verbose_name_plural = _("municipalities")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Office(models.Model):
    class Kind(models.TextChoices):
        CITIZEN_OFFICE = "citizen", _("Citizen office")
        SECTOR_OFFICE = "sector", _("Sector office")
        BACK_OFFICE = "virtual", _("Virtual back-office")

    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.CASCADE,
        related_name="offices",
        verbose_name=_("organisation"),
    )
    slug = models.SlugField(_("short name"), max_length=60)
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    address = models.CharField(_("address"), max_length=255, blank=True)
    postcode = models.CharField(_("postcode"), max_length=10, blank=True)
    municipality = models.ForeignKey(
        Municipality,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        verbose_name=_("municipality"),
    )
    phone = models.CharField(_("telephone"), max_length=30, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    time_zone = models.CharField(
        _("time zone"),
        max_length=64,
        blank=True,
        validators=[validate_time_zone],
        help_text=_("Leave empty to use the organisation's time zone."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("office")
        verbose_name_plural = _("offices")
        ordering = ["organisation", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "slug"], name="office_slug_per_org"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def zone_name(self) -> str:
        return self.time_zone or self.organisation.time_zone

    def clean(self) -> None:
        super().clean()
        if self.kind != self.Kind.BACK_OFFICE and not self.address:
            raise ValidationError({"address": _("An office that citizens visit needs an address.")})


class OpeningHours(models.Model):
    """One opening interval on a weekday; a day may have several (morning and afternoon)."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, _("Monday")
        TUESDAY = 1, _("Tuesday")
        WEDNESDAY = 2, _("Wednesday")
        THURSDAY = 3, _("Thursday")
        FRIDAY = 4, _("Friday")
        SATURDAY = 5, _("Saturday")
        SUNDAY = 6, _("Sunday")

    office = models.ForeignKey(
        Office, on_delete=models.CASCADE, related_name="opening_hours", verbose_name=_("office")
    )
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    opens = models.TimeField(_("opens"))
    closes = models.TimeField(_("closes"))

    class Meta:
        verbose_name = _("opening hours")
        verbose_name_plural = _("opening hours")
        ordering = ["office", "weekday", "opens"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(opens__lt=models.F("closes")), name="opening_hours_order"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens:%H:%M}–{self.closes:%H:%M}"

    def clean(self) -> None:
        super().clean()
        if self.opens is not None and self.closes is not None and self.opens >= self.closes:
            raise ValidationError({"closes": _("The closing time must be after the opening time.")})


class ClosedDay(models.Model):
    """A local holiday or closure: for the whole organisation, or for one office."""

    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.CASCADE,
        related_name="closed_days",
        verbose_name=_("organisation"),
    )
    office = models.ForeignKey(
        Office,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="closed_days",
        verbose_name=_("office"),
        help_text=_("Leave empty to close every office."),
    )
    date = models.DateField(_("date"))
    reason = models.CharField(_("reason"), max_length=200)

    class Meta:
        verbose_name = _("closed day")
        verbose_name_plural = _("closed days")
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "office", "date"],
                condition=models.Q(office__isnull=False),
                name="closed_day_unique_per_office",
            ),
            models.UniqueConstraint(
                fields=["organisation", "date"],
                condition=models.Q(office__isnull=True),
                name="closed_day_unique_per_org",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {self.reason}"

    def clean(self) -> None:
        super().clean()
        office = self.office if self.office_id else None
        if (
            office is not None
            and self.organisation_id
            and (office.organisation_id != self.organisation_id)
        ):
            raise ValidationError({"office": _("This office belongs to another organisation.")})
