"""The rules of the three attention levels: what identification, recording and signature a
procedure asks for; what the citizen agreed to; how they were identified; who may act for them.

Everything here is evidence: records are written once and only ever closed (a consent is
withdrawn by stamping it, never by deleting it), and each row names its organisation."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from finestreta.accounts.models import IdentityProvider
from finestreta.appointments.models import Appointment
from finestreta.catalogue.models import AttentionLevel, Service
from finestreta.tenants.models import Organisation


class Assurance(models.TextChoices):
    NONE = "none", _("No identification")
    CONTACT_CODE = "contact_code", _("A code sent to the citizen's e-mail or mobile")
    ID_DOCUMENT = "id_document", _("An identity document shown on camera and checked by the agent")
    ELECTRONIC_ID = (
        "electronic_id",
        _("Their electronic identity (such as idCAT Mòbil, a digital certificate or Cl@ve)"),
    )


class Recording(models.TextChoices):
    NEVER = "never", _("Never recorded")
    CONSENT = "consent", _("Recorded only with the consent of everyone in the call")
    LEGAL_BASIS = "legal_basis", _("Recorded under the legal basis stated")


class SignatureRoute(models.TextChoices):
    NONE = "none", _("No signature")
    CITIZEN_CODE = "citizen_code", _("The citizen signs with a one-time code")
    HABILITATED = (
        "habilitated",
        _("A habilitated official acts for the citizen, with their express consent"),
    )


class PolicyFields(models.Model):
    identity = models.CharField(
        _("identification"), max_length=16, choices=Assurance.choices, default=Assurance.NONE
    )
    keeps_document_number = models.BooleanField(
        _("keep the identity document's number"),
        default=False,
        help_text=_(
            "Only if the procedure needs the number itself. Otherwise only a keyed fingerprint "
            "of it is kept, enough to tell whether the same document is shown again."
        ),
    )
    recording = models.CharField(
        _("recording"), max_length=12, choices=Recording.choices, default=Recording.NEVER
    )
    legal_basis = models.CharField(
        _("legal basis for recording"),
        max_length=300,
        blank=True,
        help_text=_("The law and article that oblige or allow recording without consent."),
    )
    recording_retention_days = models.PositiveSmallIntegerField(
        _("keep recordings for (days)"),
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
        help_text=_("Recordings are deleted automatically this many days after the call."),
    )
    asks_image_rights = models.BooleanField(
        _("ask for consent to use the image"),
        default=False,
        help_text=_("For example, to use the recording for training staff."),
    )
    signature = models.CharField(
        _("signature"), max_length=12, choices=SignatureRoute.choices, default=SignatureRoute.NONE
    )

    class Meta:
        abstract = True

    def clean(self) -> None:
        if self.recording == Recording.LEGAL_BASIS and not self.legal_basis.strip():
            raise ValidationError(
                {"legal_basis": _("State the legal basis that allows recording without consent.")}
            )
        if self.recording != Recording.LEGAL_BASIS and self.legal_basis.strip():
            raise ValidationError(
                {"legal_basis": _("A legal basis is stated only when it is what allows recording.")}
            )
        if self.asks_image_rights and self.recording == Recording.NEVER:
            raise ValidationError(
                {"asks_image_rights": _("The image is used only from a recording: allow one.")}
            )
        organisation_id = self.organisation_of_rules()
        if (
            self.identity == Assurance.ELECTRONIC_ID
            and organisation_id is not None
            and not IdentityProvider.objects.filter(
                organisation_id=organisation_id,
                audience=IdentityProvider.Audience.CITIZENS,
                is_active=True,
            ).exists()
        ):
            raise ValidationError(
                {
                    "identity": _(
                        "Add the organisation's citizen identity service first (Identity "
                        "providers, for citizens)."
                    )
                }
            )

    def organisation_of_rules(self) -> int | None:
        """The organisation whose rules these are (None while the form has not said)."""
        raise NotImplementedError


class LevelPolicy(PolicyFields):
    """An organisation's rules for every service of one attention level (unless a service has
    its own)."""

    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.CASCADE,
        related_name="level_policies",
        verbose_name=_("organisation"),
    )
    attention_level = models.CharField(
        _("attention level"), max_length=12, choices=AttentionLevel.choices
    )

    class Meta:
        verbose_name = _("rules of an attention level")
        verbose_name_plural = _("rules of the attention levels")
        ordering = ["organisation", "attention_level"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "attention_level"], name="one_policy_per_level"
            )
        ]

    def __str__(self) -> str:
        return str(AttentionLevel(self.attention_level).label)

    def organisation_of_rules(self) -> int | None:
        return self.organisation_id


class ServicePolicy(PolicyFields):
    """A service's own rules, in place of its attention level's."""

    service = models.OneToOneField(
        Service, on_delete=models.CASCADE, related_name="policy", verbose_name=_("service")
    )

    class Meta:
        verbose_name = _("rules of the service")
        verbose_name_plural = _("rules of the service")

    def __str__(self) -> str:
        return str(self.service)

    def organisation_of_rules(self) -> int | None:
        try:
            return self.service.organisation_id
        except Service.DoesNotExist:
            return None


class ConsentKind(models.TextChoices):
    PRIVACY_NOTICE = "privacy_notice", _("Privacy notice read")
    RECORDING = "recording", _("Recording of the call")
    IMAGE_RIGHTS = "image_rights", _("Use of the image")
    ACT_ON_BEHALF = "act_on_behalf", _("A habilitated official acts on their behalf")


class ConsentMethod(models.TextChoices):
    CLICKED = "clicked", _("Given by the citizen on the page")
    SPOKEN = "spoken", _("Said aloud in the call and attested by the agent")
    CODE = "code", _("Confirmed with a one-time code")


class ConsentText(models.Model):
    """The exact words a person was shown, kept once per version: a consent record points to
    the text it answered. A new version appears when the words change (by their digest)."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="+", verbose_name=_("organisation")
    )
    kind = models.CharField(_("kind"), max_length=16, choices=ConsentKind.choices)
    language = models.CharField(_("language"), max_length=8)
    version = models.PositiveIntegerField(_("version"))
    body = models.TextField(_("text"))
    digest = models.CharField(max_length=64)
    created_at = models.DateTimeField(_("first shown"), auto_now_add=True)

    class Meta:
        verbose_name = _("consent text")
        verbose_name_plural = _("consent texts")
        ordering = ["organisation", "kind", "language", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "kind", "language", "version"],
                name="consent_text_version",
            ),
            models.UniqueConstraint(
                fields=["organisation", "kind", "language", "digest"],
                name="consent_text_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{ConsentKind(self.kind).label} v{self.version} ({self.language})"


class ConsentRecord(models.Model):
    """What one person answered to one text: given or refused, how, when; and its withdrawal."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="+", verbose_name=_("organisation")
    )
    appointment = models.ForeignKey(
        Appointment,
        on_delete=models.PROTECT,
        related_name="consents",
        verbose_name=_("appointment"),
    )
    kind = models.CharField(_("kind"), max_length=16, choices=ConsentKind.choices)
    text = models.ForeignKey(
        ConsentText, on_delete=models.PROTECT, related_name="+", verbose_name=_("text shown")
    )
    person = models.CharField(_("who"), max_length=200)
    # An invited guest's answer (an interpreter, a specialist); empty: the citizen's.
    invitation = models.ForeignKey(
        "video.Invitation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("invited guest"),
    )
    granted = models.BooleanField(_("agreed"))
    method = models.CharField(_("how"), max_length=8, choices=ConsentMethod.choices)
    attested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("attested by"),
    )
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    # A consent said aloud while the call was recorded: where in the recording it is.
    recording = models.ForeignKey(
        "recordings.Recording",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("said in the recording"),
    )
    recording_offset_ms = models.PositiveIntegerField(null=True, blank=True)
    recorded_at = models.DateTimeField(_("when"))
    withdrawn_at = models.DateTimeField(_("withdrawn"), null=True, blank=True)
    withdrawn_method = models.CharField(
        _("withdrawn how"), max_length=8, choices=ConsentMethod.choices, blank=True
    )
    withdrawn_attested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("withdrawal attested by"),
    )

    class Meta:
        verbose_name = _("consent record")
        verbose_name_plural = _("consent records")
        ordering = ["-recorded_at", "-pk"]
        indexes = [models.Index(fields=["appointment", "kind"], name="consent_of_appointment")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(method="spoken", attested_by__isnull=False)
                | ~models.Q(method="spoken"),
                name="spoken_consent_attested",
            ),
        ]

    def __str__(self) -> str:
        return f"{ConsentKind(self.kind).label}: {self.person}"

    @property
    def in_force(self) -> bool:
        return self.granted and self.withdrawn_at is None


class CodePurpose(models.TextChoices):
    IDENTIFY = "identify", _("Identification in the call")
    CONSENT = "consent", _("Express consent")
    SIGN = "sign", _("Signature")


class OneTimeCode(models.Model):
    """A six-digit code sent to the citizen's contact for one purpose. Only a keyed hash is
    kept; tries are counted, and too many wrong ones lock the purpose for a while."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    appointment = models.ForeignKey(
        Appointment, on_delete=models.CASCADE, related_name="one_time_codes"
    )
    purpose = models.CharField(max_length=10, choices=CodePurpose.choices)
    channel = models.CharField(max_length=5)
    recipient = models.CharField(max_length=254)
    code_hash = models.CharField(max_length=64)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    failures = models.PositiveSmallIntegerField(default=0)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["appointment", "purpose"], name="code_of_appointment")]

    def __str__(self) -> str:
        return f"{self.purpose} code for {self.appointment_id}"


class DocumentType(models.TextChoices):
    DNI = "dni", _("Spanish identity card (DNI)")
    NIE = "nie", _("Foreigner's identity number card (NIE / TIE)")
    PASSPORT = "passport", _("Passport")
    EU_ID = "eu_id", _("Identity card of another EU country")
    OTHER = "other", _("Another official document")


class IdentityCheck(models.Model):
    """How the citizen of an appointment was identified, by whom, and with what result."""

    class Method(models.TextChoices):
        CONTACT_CODE = "contact_code", _("Code sent to their e-mail or mobile")
        ID_DOCUMENT = "id_document", _("Identity document checked on camera")
        ELECTRONIC_ID = "electronic_id", _("Electronic identity")

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="+", verbose_name=_("organisation")
    )
    appointment = models.ForeignKey(
        Appointment,
        on_delete=models.PROTECT,
        related_name="identity_checks",
        verbose_name=_("appointment"),
    )
    method = models.CharField(_("method"), max_length=16, choices=Method.choices)
    verified = models.BooleanField(_("identified"))
    # Empty for an electronic identity: the citizen identified themselves at their provider.
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("agent"),
    )
    provider = models.ForeignKey(
        "accounts.IdentityProvider",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("electronic identity service"),
    )
    # What the provider asserted: the person's name (shown to the agent), the level of assurance
    # it states (OpenID Connect's acr), and a keyed hash of the subject it identifies them by.
    identified_name = models.CharField(_("name given by the provider"), max_length=300, blank=True)
    assurance_level = models.CharField(_("level of assurance"), max_length=200, blank=True)
    subject_hash = models.CharField(max_length=64, blank=True)
    document_type = models.CharField(
        _("document"), max_length=10, choices=DocumentType.choices, blank=True
    )
    # A keyed hash (HMAC-SHA256 with IDENTITY_HASH_KEY) of the normalised number; the number
    # itself only where the procedure needs it (the policy's keeps_document_number).
    document_hash = models.CharField(max_length=64, blank=True)
    document_number = models.CharField(_("document number"), max_length=40, blank=True)
    number_checked = models.BooleanField(_("number checked"), default=False)
    photo_matches = models.BooleanField(_("photo matches the person"), default=False)
    not_expired = models.BooleanField(_("not expired"), default=False)
    expires_on = models.DateField(_("valid until"), null=True, blank=True)
    code = models.ForeignKey(
        OneTimeCode, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    checked_at = models.DateTimeField(_("when"))

    class Meta:
        verbose_name = _("identity check")
        verbose_name_plural = _("identity checks")
        ordering = ["-checked_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.get_method_display()}: {self.appointment_id}"


class HabilitatedOfficial(models.Model):
    """A member of staff habilitated by the organisation to identify citizens and act for them
    (Law 39/2015, art. 12), within the dates of the decision that habilitates them."""

    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.CASCADE,
        related_name="habilitated_officials",
        verbose_name=_("organisation"),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="habilitations",
        verbose_name=_("member of staff"),
    )
    reference = models.CharField(
        _("decision"),
        max_length=200,
        help_text=_("The resolution or decree that habilitates them, e.g. Resolució 12/2026."),
    )
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"), null=True, blank=True)

    class Meta:
        verbose_name = _("habilitated official")
        verbose_name_plural = _("register of habilitated officials")
        ordering = ["organisation", "user__last_name", "user__first_name", "-valid_from"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(valid_until__isnull=True)
                | models.Q(valid_until__gte=models.F("valid_from")),
                name="habilitation_dates_in_order",
                violation_error_message=_("The end date comes after the start date."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.user.get_full_name() or self.user.get_username()} ({self.reference})"


class Signature(models.Model):
    """A document or the call's summary put to the citizen for signature, and its outcome: the
    citizen signs with a one-time code typed on their page, or a habilitated official signs for
    them with their express consent (a code they read out). What was signed is fixed by its
    SHA-256; once signed, the record carries the receipt and its verification code."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for the signature")
        SIGNED = "signed", _("Signed")
        DECLINED = "declined", _("Declined by the citizen")
        CANCELLED = "cancelled", _("Withdrawn by the agent")

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="+", verbose_name=_("organisation")
    )
    appointment = models.ForeignKey(
        Appointment,
        on_delete=models.PROTECT,
        related_name="signatures",
        verbose_name=_("appointment"),
    )
    route = models.CharField(_("how"), max_length=12, choices=SignatureRoute.choices)
    status = models.CharField(
        _("state"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    title = models.CharField(_("what is signed"), max_length=200)
    # The words signed (the call's summary) or, for a file shared in the call, its name; the
    # digest is of the exact bytes (the text in UTF-8, or the file's content).
    body = models.TextField(_("text signed"), blank=True)
    shared_file = models.ForeignKey(
        "video.SharedFile",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("document signed"),
    )
    document_name = models.CharField(_("document"), max_length=200, blank=True)
    document_sha256 = models.CharField(_("SHA-256 of what is signed"), max_length=64)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("agent"),
    )
    requested_at = models.DateTimeField(_("asked at"))
    identity_check = models.ForeignKey(
        IdentityCheck,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("identification"),
    )
    code = models.ForeignKey(
        OneTimeCode, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    habilitation = models.ForeignKey(
        HabilitatedOfficial,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("habilitation"),
    )
    consent = models.ForeignKey(
        ConsentRecord,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("express consent"),
    )
    signed_at = models.DateTimeField(_("signed at"), null=True, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)  # declined or withdrawn
    verification_code = models.CharField(
        _("verification code"), max_length=16, unique=True, null=True, blank=True
    )
    receipt = models.BinaryField(blank=True, default=b"")  # the PDF, as sent
    receipt_sha256 = models.CharField(max_length=64, blank=True)
    receipt_language = models.CharField(max_length=8, blank=True)

    class Meta:
        verbose_name = _("signature")
        verbose_name_plural = _("signatures")
        ordering = ["-requested_at", "-pk"]
        indexes = [models.Index(fields=["appointment", "status"], name="signature_of_appointment")]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(status="signed")
                | (models.Q(signed_at__isnull=False) & models.Q(verification_code__isnull=False)),
                name="signed_has_receipt_code",
            ),
            models.CheckConstraint(
                condition=~models.Q(route="habilitated", status="signed")
                | (models.Q(habilitation__isnull=False) & models.Q(consent__isnull=False)),
                name="on_behalf_has_consent",
            ),
            models.UniqueConstraint(
                fields=["appointment"],
                condition=models.Q(status="pending"),
                name="one_pending_signature",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.get_status_display()})"

    @property
    def grouped_code(self) -> str:
        """The verification code as printed: four groups of four."""
        code = self.verification_code or ""
        return "-".join(code[i : i + 4] for i in range(0, len(code), 4))
