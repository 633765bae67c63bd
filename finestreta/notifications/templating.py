"""Organisations' own message templates: a sandboxed Django template engine, the small fixed
context those templates see, the sample appointment used for previews and checks, and the rules
a template must follow to be saved.

An organisation's template never sees a model instance, only strings (and the start as a local
datetime for the date filters): a template cannot walk from the appointment to anything else.
SMS templates get no personal data at all (privacy by default: an SMS is read on a lock screen).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core import signing
from django.template import Context, Engine, Template, TemplateDoesNotExist, TemplateSyntaxError
from django.template.base import Lexer, TokenType
from django.template.defaultfilters import date as date_filter
from django.template.defaultfilters import time as time_filter
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from finestreta.lib.templatetags.dates import weekday_date, weekday_day, weekday_day_time
from finestreta.notifications.models import Message
from finestreta.notifications.sms import segments
from finestreta.tenants.models import Organisation

# The kinds of message an organisation may reword, in the order the editing page lists them.
KINDS: list[tuple[str, Any]] = [
    ("booking_confirmed", _("Appointment booked")),
    ("reminder", _("Reminder before the appointment")),
    ("booking_moved", _("Appointment moved")),
    ("booking_cancelled", _("Appointment cancelled")),
    ("waiting_list_offer", _("A time is free (waiting list)")),
    ("verification_code", _("Verification code")),
    ("identity_code", _("Code to identify the citizen in a call")),
    ("signature_code", _("Code for the citizen to sign in a call")),
    ("consent_code", _("Code of consent for a habilitated official to act")),
    ("receipt", _("Receipt of a signature")),
    ("video_join_link", _("Link to the video call, sent again")),
    ("queue_your_turn", _("It is your turn (attention now)")),
    ("survey", _("How did it go? (satisfaction survey)")),
]
KIND_NAMES = {kind for kind, _label in KINDS}

# Variables every template may use; e-mail adds the person's name and the office's reason for a
# cancellation (staff may have written personal details in it).
SMS_VARIABLES = (
    "organisation",
    "service",
    "date",
    "month_day",
    "day",
    "full_date",
    "time",
    "starts_at",
    "how",
    "where",
    "code",
    "manage_url",
    "join_url",
    "book_url",
    "waiting_url",
    "ticket_url",
    "hold_until",
    "documents",
    "verification_code",
    "verify_url",
    "survey_url",
)
EMAIL_VARIABLES = (*SMS_VARIABLES, "name", "reason", "title")


def variables_for(channel: str) -> tuple[str, ...]:
    return SMS_VARIABLES if channel == Message.Channel.SMS else EMAIL_VARIABLES


# Names that hint at personal data: refused in SMS templates, with a clear message.
PERSONAL_IN_SMS = frozenset(
    {
        "name",
        "reason",
        "title",
        "email",
        "phone",
        "mobile",
        "id_document",
        "document_number",
        "dni",
        "nie",
        "representative",
        "representative_name",
        "representative_email",
        "representative_phone",
        "notes",
        "municipality",
        "recipient",
        "address",
    }
)
MAX_SMS_SEGMENTS = 2

# The sandbox: no loaders (no include or extends), only our two libraries, plain text out.
ENGINE = Engine(
    dirs=[],
    app_dirs=False,
    loaders=[],
    autoescape=False,
    libraries={
        "i18n": "django.templatetags.i18n",
        "dates": "finestreta.lib.templatetags.dates",
    },
    # Usable without {% load %}: translate, blocktranslate and the weekday date filters.
    builtins=["django.templatetags.i18n", "finestreta.lib.templatetags.dates"],
    string_if_invalid="",
)

# Django's default tags come with every engine; an organisation's text may use only these. Left
# out, among others: debug (it prints the server's modules and paths), load, include, extends,
# url, csrf_token, templatetag and verbatim.
ALLOWED_TAGS = frozenset(
    {
        "if",
        "elif",
        "else",
        "endif",
        "for",
        "empty",
        "endfor",
        "with",
        "endwith",
        "firstof",
        "comment",
        "endcomment",
        "spaceless",
        "endspaceless",
        "translate",
        "trans",
        "blocktranslate",
        "blocktrans",
        "plural",
        "endblocktranslate",
        "endblocktrans",
    }
)

_TAGS = re.compile(r"{{(.*?)}}|{%(.*?)%}", re.DOTALL)
_QUOTED = re.compile(r"\"[^\"]*\"|'[^']*'")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def variables_used(source: str) -> set[str]:
    """Every identifier inside the template's tags and variables (string literals left out):
    `{{ appointment.name }}` gives {"appointment", "name"}."""
    found: set[str] = set()
    for match in _TAGS.finditer(source):
        inside = _QUOTED.sub(" ", match.group(1) or match.group(2) or "")
        found.update(_WORD.findall(inside))
    return found


def fixed_context(
    *, kind: str, channel: str, organisation: Organisation, context: dict[str, Any]
) -> dict[str, Any]:
    """What an organisation's template sees, built from the platform templates' context. Call it
    with the recipient's language and the organisation's time zone active."""
    appointment = context.get("appointment")
    values: dict[str, Any] = {
        "organisation": str(organisation.name),
        "manage_url": context.get("manage_url", ""),
        "join_url": context.get("join_url", ""),
        "book_url": context.get("book_url", ""),
        "waiting_url": context.get("waiting_url", ""),
        "ticket_url": context.get("ticket_url", ""),
        "survey_url": context.get("survey_url", ""),
    }
    if appointment is not None:
        starts = timezone.localtime(appointment.starts_at)
        office = appointment.office if appointment.channel == "in_person" else None
        values.update(
            service=str(appointment.service.name),
            date=date_filter(starts, "j/n"),
            month_day=date_filter(starts, "MONTH_DAY_FORMAT"),
            day=weekday_day(starts),
            full_date=weekday_date(starts),
            time=time_filter(starts, "H:i"),
            starts_at=starts,
            how=str(appointment.get_channel_display()),
            where=", ".join(part for part in (office.name, office.address) if part)
            if office
            else "",
            code=appointment.code,
            documents="\n".join(f"- {line}" for line in appointment.service.documents),
            hold_until=weekday_day_time(timezone.localtime(appointment.hold_expires_at))
            if appointment.hold_expires_at
            else "",
        )
        if channel == Message.Channel.EMAIL:
            values["name"] = appointment.name
            values["reason"] = (
                appointment.cancellation_reason if appointment.cancelled_by == "office" else ""
            )
    if kind in ("verification_code", "identity_code", "signature_code", "consent_code"):
        values["code"] = context.get("code", "")
    if kind == "receipt":
        values["verification_code"] = context.get("verification_code", "")
        values["verify_url"] = context.get("verify_url", "")
        if channel == Message.Channel.EMAIL:
            values["title"] = context.get("title", "")
    return values


def compile_source(source: str) -> Template:
    """An organisation's template text, compiled. Raises TemplateSyntaxError when it is not a
    valid template or uses a tag outside ALLOWED_TAGS (inside a comment block too: simpler to
    explain than an exception)."""
    for token in Lexer(source).tokenize():
        if token.token_type == TokenType.BLOCK:
            name = (token.split_contents() or [""])[0]
            if name not in ALLOWED_TAGS:
                raise TemplateSyntaxError(
                    _("the tag “%(tag)s” cannot be used in a message") % {"tag": name}
                )
    return ENGINE.from_string(source)


def render_source(source: str, values: dict[str, Any]) -> str:
    """Render an organisation's template text. Raises TemplateSyntaxError when the text is not
    a valid template (see compile_source)."""
    return compile_source(source).render(Context(values, autoescape=False))


def render_custom(
    *,
    subject: str,
    body: str,
    kind: str,
    channel: str,
    language: str,
    organisation: Organisation,
    context: dict[str, Any],
) -> tuple[str, str]:
    """Subject and text from an organisation's template, in `language` and the organisation's
    time zone: SMS on one line, e-mail text ending with a newline."""
    with translation.override(language), timezone.override(ZoneInfo(organisation.time_zone)):
        values = fixed_context(
            kind=kind, channel=channel, organisation=organisation, context=context
        )
        text = render_source(body, values).strip()
        if channel == Message.Channel.SMS:
            return "", " ".join(text.split())
        return " ".join(render_source(subject, values).split()), text + "\n"


# --- Sample data: the longest realistic values, for previews and the length check ----------

SAMPLE_SERVICE = {
    "ca": "Padró d'habitants: alta, baixa i canvi de domicili",
    "es": "Padrón de habitantes: alta, baja y cambio de domicilio",
    "oc": "Padron d'abitants: nauta, baisha e cambi de domicili",
    "en": "Register of residents: registration and change of address",
}
SAMPLE_NAME = "Maria Montserrat Puig i Vilaseca"
SAMPLE_REASON = "The person who attends this procedure is ill."
# Wednesday, 30 September: among the longest day and month names in every language.
SAMPLE_START = (dt.date(2026, 9, 30), dt.time(12, 45))


# An organisation's template serves every appointment of its kind: video ones (with a join
# link) and the others. Both samples are checked, and the starting text keeps both versions.
SAMPLE_CHANNELS = ("video", "in_person")


def sample_context(
    *, organisation: Organisation, kind: str, language: str, appointment_channel: str = "video"
) -> dict[str, Any]:
    """The platform templates' context for a made-up appointment (by video unless said
    otherwise), with links as long as real ones. Nothing is saved."""
    from finestreta.appointments.models import Appointment
    from finestreta.catalogue.models import Service
    from finestreta.tenants.models import Office

    zone = ZoneInfo(organisation.time_zone)
    starts = dt.datetime.combine(*SAMPLE_START, tzinfo=zone)
    service = Service(organisation=organisation, documents_to_prepare="")
    for code, _label in settings.LANGUAGES:
        setattr(service, f"name_{code}", SAMPLE_SERVICE.get(code, SAMPLE_SERVICE["en"]))
    service.documents_to_prepare = "DNI, NIE o passaport\nLlibre de família"
    office = None
    if appointment_channel == "in_person":
        office = Office(
            organisation=organisation,
            name="Oficina d'Atenció Ciutadana de Vilanova i la Geltrú",
            address="Plaça de la Vila, 8",
        )
    appointment = Appointment(
        organisation=organisation,
        service=service,
        office=office,
        channel=appointment_channel,
        starts_at=starts,
        ends_at=starts + dt.timedelta(minutes=30),
        status="booked",
        code="HX7K2M9Q",
        name=SAMPLE_NAME,
        language=language,
        cancelled_by="office",
        cancellation_reason=SAMPLE_REASON,
        hold_expires_at=starts - dt.timedelta(days=1),
    )
    # A signed token as long as a real one (the pk and nonce at their longest).
    token = signing.dumps([99_999_999, "x" * 12], salt="finestreta.sample")
    base = settings.SITE_URL.rstrip("/")
    slug = organisation.slug
    return {
        "appointment": appointment,
        "manage_url": base + reverse("appointments:manage", args=[slug, token]),
        "join_url": base + reverse("video:precall", args=[slug, token])
        if appointment_channel == "video"
        else "",
        "book_url": base + reverse("appointments:service", args=[slug]),
        "waiting_url": base + reverse("appointments:waiting", args=[slug, token]),
        "ticket_url": base + reverse("queue:ticket", args=[slug, token]),
        "survey_url": base + reverse("survey:answer", args=[slug, "HX7K2M9Q-" + "x" * 16]),
        "code": "987654",
        "verification_code": "K7QH-2M9X-D4TR-8WBC",
        "verify_url": base + reverse("identity:verified", args=[slug, "K7QH2M9XD4TR8WBC"]),
        "title": "Sol·licitud d'ajut per a la rehabilitació d'habitatges",
    }


# --- The rules for saving ------------------------------------------------------------------


def check_template(
    *, subject: str, body: str, kind: str, channel: str, language: str, organisation: Organisation
) -> dict[str, list[str]]:
    """What is wrong with an organisation's template, by field ("subject", "body"); empty when
    it may be saved."""
    errors: dict[str, list[str]] = {}
    fields = (
        {"body": body} if channel == Message.Channel.SMS else {"subject": subject, "body": body}
    )
    for field, source in fields.items():
        if channel == Message.Channel.SMS:
            personal = sorted(variables_used(source) & PERSONAL_IN_SMS)
            if personal:
                errors.setdefault(field, []).append(
                    str(
                        _(
                            "An SMS may not contain personal data: remove %(names)s. It is read "
                            "on a locked phone's screen."
                        )
                        % {"names": ", ".join(personal)}
                    )
                )
                continue
        try:
            compile_source(source)
        except TemplateSyntaxError as error:
            errors.setdefault(field, []).append(
                str(_("This is not a valid template: %(error)s") % {"error": error})
            )
    if errors:
        return errors
    for appointment_channel in SAMPLE_CHANNELS:
        problem = _check_rendered(
            subject=subject,
            body=body,
            kind=kind,
            channel=channel,
            language=language,
            organisation=organisation,
            context=sample_context(
                organisation=organisation,
                kind=kind,
                language=language,
                appointment_channel=appointment_channel,
            ),
        )
        if problem:
            return problem
    return {}


def _check_rendered(
    *,
    subject: str,
    body: str,
    kind: str,
    channel: str,
    language: str,
    organisation: Organisation,
    context: dict[str, Any],
) -> dict[str, list[str]]:
    try:
        _subject, text = render_custom(
            subject=subject,
            body=body,
            kind=kind,
            channel=channel,
            language=language,
            organisation=organisation,
            context=context,
        )
    except (TemplateSyntaxError, TemplateDoesNotExist) as error:
        return {"body": [str(_("This is not a valid template: %(error)s") % {"error": error})]}
    if not text.strip():
        return {"body": [str(_("The message would be empty."))]}
    if channel == Message.Channel.SMS:
        encoding, count = segments(text)
        if count > MAX_SMS_SEGMENTS:
            return {
                "body": [
                    str(
                        _(
                            "With a long organisation name, date and link this SMS takes "
                            "%(count)s messages (%(encoding)s); at most %(max)s are allowed. "
                            "Shorten it, or avoid characters outside the GSM alphabet (such as "
                            "ó, í, ú, ç or ·), which halve the room."
                        )
                        % {"count": count, "encoding": encoding, "max": MAX_SMS_SEGMENTS}
                    )
                ]
            }
    return {}


def starting_text(
    *, kind: str, channel: str, language: str, organisation: Organisation
) -> tuple[str, str]:
    """Subject and text to start an organisation's own template from: the platform's message
    for the sample appointments, with the sample values turned back into variables. Where a
    video appointment's message differs from the others' (the join link), both are kept, as
    `{% if join_url %}…{% else %}…{% endif %}`."""
    video = _starting_text(
        kind=kind,
        channel=channel,
        language=language,
        organisation=organisation,
        appointment_channel="video",
    )
    other = _starting_text(
        kind=kind,
        channel=channel,
        language=language,
        organisation=organisation,
        appointment_channel="in_person",
    )
    if video == other:
        return video
    subject = video[0] if video[0] == other[0] else _either(video[0], other[0])
    return subject, _either(video[1], other[1])


def _either(video: str, other: str) -> str:
    return "{% if join_url %}" + video + "{% else %}" + other + "{% endif %}"


def _starting_text(
    *,
    kind: str,
    channel: str,
    language: str,
    organisation: Organisation,
    appointment_channel: str,
) -> tuple[str, str]:
    from finestreta.notifications.services import render

    context = sample_context(
        organisation=organisation,
        kind=kind,
        language=language,
        appointment_channel=appointment_channel,
    )
    subject, text, _html = render(
        kind=kind,
        channel=channel,
        language=language,
        organisation=organisation,
        context=context,
        use_own=False,
    )
    with translation.override(language), timezone.override(ZoneInfo(organisation.time_zone)):
        values = fixed_context(
            kind=kind, channel=channel, organisation=organisation, context=context
        )
    # Longest first, so that "dimecres, 30 de setembre de 2026" is not taken for its day.
    names = sorted(
        (name for name, value in values.items() if isinstance(value, str) and len(value) > 2),
        key=lambda name: -len(values[name]),
    )
    for name in names:
        placeholder = "{{ " + name + " }}"
        subject = subject.replace(values[name], placeholder)
        text = text.replace(values[name], placeholder)
    return subject, text.strip()
