"""The record of processing activities (GDPR art. 30.1), made from the organisation's own
configuration each time it is read (ADR 35): an activity appears only when something configured
makes it happen (a service that records, an SMS gateway, a webhook subscription, the survey,
staff single sign-on), and its recipients and retention follow the settings.

`retention_period_text` is the one place that says how long a kind of data is kept: the
retention policies (another part of the privacy operations) will answer it; until then it reads
the recordings' period from the identity policies and refers to the retention policy for the
rest.

Texts are in the active language; `as_json` gives the same content, machine-readable.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from finestreta.accounts.models import IdentityProvider
from finestreta.catalogue.models import Service
from finestreta.identity.models import Recording as RecordingRule
from finestreta.identity.policy import Rules, rules_for
from finestreta.integrations.models import Subscription
from finestreta.notifications.models import MessagingSettings
from finestreta.tenants.models import Organisation

SCHEMA = "finestreta.processing-record"
SCHEMA_VERSION = 1

__all__ = [
    "SCHEMA",
    "SCHEMA_VERSION",
    "Activity",
    "ProcessingRecord",
    "as_json",
    "build_record",
    "retention_period_text",
]


@dataclass(frozen=True)
class Activity:
    code: str
    name: str
    purposes: list[str]
    legal_basis: str
    subjects: list[str]
    data: list[str]
    recipients: list[str]
    transfers: str
    retention: str
    security: list[str]


@dataclass(frozen=True)
class ProcessingRecord:
    organisation: dict[str, str]
    generated_at: dt.datetime
    language: str
    activities: list[Activity] = field(default_factory=list)
    security: list[str] = field(default_factory=list)


def _services(organisation: Organisation) -> list[tuple[Service, Rules]]:
    services = Service.objects.filter(organisation=organisation, is_active=True).order_by("pk")
    return [(service, rules_for(service)) for service in services]


def retention_period_text(
    organisation: Organisation, kind: str, *, services: list[tuple[Service, Rules]] | None = None
) -> str:
    """How long `kind` of data is kept, in words. The retention policies will answer this;
    today only the recordings' period is configured (per service or attention level)."""
    if kind == "recordings":
        services = services if services is not None else _services(organisation)
        days = sorted(
            {rules.recording_retention_days for _s, rules in services if rules.may_record}
        )
        if days:
            periods = ", ".join(str(d) for d in days)
            return _(
                "%(days)s days after the call (as each procedure's rules say); then the media "
                "are deleted automatically."
            ) % {"days": periods}
    if kind == "audit_log":
        return _(
            "As the retention policy says; the log is append-only and its oldest part is "
            "removed only by the retention job, leaving a sealed checkpoint."
        )
    return _("As the organisation's retention policy says.")


def _host(url: str) -> str:
    return urlsplit(url).hostname or url


COMMON_SECURITY = [
    "tenant",
    "access",
    "audit",
    "transport",
    "local",
]


def _security_measures() -> dict[str, str]:
    return {
        "tenant": _(
            "Each organisation's data are reached only through checks that refuse other "
            "organisations' staff (tested on every staff page)."
        ),
        "access": _(
            "Staff reach personal data by role (agent, supervisor, administrators); sessions "
            "expire; local administrators use a second factor."
        ),
        "audit": _(
            "Every staff access to personal data is written to an append-only audit log, "
            "sealed as a keyed hash chain whose integrity can be verified."
        ),
        "transport": _(
            "Pages, calls and connections are encrypted in transit (HTTPS, WebRTC with DTLS-SRTP)."
        ),
        "local": _(
            "No third-party services at run time: no external fonts, scripts or analytics; a "
            "strict Content Security Policy."
        ),
        "files": _("Files shared in calls are checked by their content and encrypted at rest."),
        "recordings": _(
            "Recordings are encrypted at rest in chunks, played back only by authorised "
            "staff, and every playback or download is audited."
        ),
        "documents": _(
            "Identity document numbers are kept only as a keyed fingerprint, unless the "
            "procedure needs the number itself."
        ),
    }


def build_record(organisation: Organisation, *, now: dt.datetime | None = None) -> ProcessingRecord:
    """The record, as the configuration says today, in the active language."""
    from django.utils.translation import get_language

    services = _services(organisation)
    measures = _security_measures()
    common = [measures[code] for code in COMMON_SECURITY]
    controller = organisation.name
    no_transfers = _(
        "None: the platform sends nothing outside the European Economic Area by itself."
    )
    staff = _("The organisation's staff who attend the person (by role)")
    citizens = _("Citizens who ask for attention")
    activities: list[Activity] = []

    activities.append(
        Activity(
            code="appointments",
            name=_("Appointments and attention (booking, the virtual queue, the waiting list)"),
            purposes=[
                _("Arranging and giving the attention the person asks for."),
                _("Statistics of the service, without identifying people."),
            ],
            legal_basis=_(
                "A task in the public interest or the exercise of official authority "
                "(GDPR art. 6.1.e) under the laws that give the organisation its procedures."
            ),
            subjects=[citizens, _("Representatives who book on someone's behalf")],
            data=[
                _("Name, e-mail address, mobile number, identity document (where asked)"),
                _("Municipality, language, notes written by the person"),
                _(
                    "Accessibility needs declared (sign-language interpreter, captions, "
                    "extra time, easy read), which may reveal health data (GDPR art. 9)"
                ),
                _("The attention's notes and outcome written by staff"),
            ],
            recipients=[staff],
            transfers=no_transfers,
            retention=retention_period_text(organisation, "appointments", services=services),
            security=common,
        )
    )
    if any(service.offers_video for service, _rules in services):
        recipients = [staff, _("Guests the agent invites into a call (interpreters, specialists)")]
        if organisation.allows_silent_coaching:
            recipients.append(_("Supervisors listening silently for coaching (everyone is told)"))
        activities.append(
            Activity(
                code="video",
                name=_("Attention by video call"),
                purposes=[_("Attending the person by video, with chat and shared files.")],
                legal_basis=_("GDPR art. 6.1.e, as for the appointment."),
                subjects=[citizens, _("Guests invited into the call")],
                data=[
                    _("Image and voice during the call (not kept unless recorded)"),
                    _("Chat lines, shared files, who joined and left and when"),
                ],
                recipients=recipients,
                transfers=no_transfers,
                retention=retention_period_text(organisation, "chat", services=services),
                security=[*common, measures["files"]],
            )
        )
    identifying = [
        (service, rules)
        for service, rules in services
        if rules.identifies or rules.signature != "none"
    ]
    if identifying:
        providers = IdentityProvider.objects.filter(
            organisation=organisation,
            audience=IdentityProvider.Audience.CITIZENS,
            is_active=True,
        ).order_by("name")
        recipients = [staff]
        recipients += [
            _("%(provider)s, the electronic identity service") % {"provider": p.name}
            for p in providers
        ]
        data = [
            _("How the person was identified and the result"),
            _("Identity document type and a keyed fingerprint of its number"),
            _("Consents given or refused, and signatures with their receipts"),
        ]
        if any(rules.keeps_document_number for _s, rules in identifying):
            data.append(_("The identity document's number, for the procedures that need it"))
        activities.append(
            Activity(
                code="identity",
                name=_("Identification, consent and signature"),
                purposes=[
                    _("Making sure staff act for the right person and with their consent."),
                    _("Keeping evidence of what was agreed and signed."),
                ],
                legal_basis=_(
                    "GDPR art. 6.1.c and 6.1.e: Law 39/2015, arts. 9 to 12 (identification, "
                    "signature and habilitated officials)."
                ),
                subjects=[citizens, _("Representatives")],
                data=data,
                recipients=recipients,
                transfers=no_transfers,
                retention=retention_period_text(organisation, "consents", services=services),
                security=[*common, measures["documents"]],
            )
        )
    recording = [(service, rules) for service, rules in services if rules.may_record]
    if recording:
        bases = []
        if any(rules.recording == RecordingRule.CONSENT for _s, rules in recording):
            bases.append(_("The consent of everyone in the call (GDPR art. 6.1.a)"))
        for basis in sorted({r.legal_basis for _s, r in recording if r.legal_basis}):
            bases.append(
                _("A legal basis: %(basis)s (GDPR art. 6.1.c or 6.1.e)") % {"basis": basis}
            )
        activities.append(
            Activity(
                code="recordings",
                name=_("Recording of video calls"),
                purposes=[_("Keeping evidence of the attention, for the procedures that record.")],
                legal_basis="; ".join(bases),
                subjects=[citizens, _("Staff and guests in the call")],
                data=[_("Image and voice of the call's participants")],
                recipients=[_("Authorised staff only (playback and download are audited)")],
                transfers=no_transfers,
                retention=retention_period_text(organisation, "recordings", services=services),
                security=[*common, measures["recordings"]],
            )
        )
    activities.append(_notifications(organisation, services, common, no_transfers, citizens))
    if organisation.sends_survey:
        activities.append(
            Activity(
                code="survey",
                name=_("Satisfaction survey"),
                purposes=[_("Knowing how the attention went, to improve the service.")],
                legal_basis=_("GDPR art. 6.1.e; answering is voluntary."),
                subjects=[citizens],
                data=[_("A score from 1 to 5 and an optional comment, with the appointment")],
                recipients=[_("Supervisors and administrators, in figures")],
                transfers=no_transfers,
                retention=retention_period_text(organisation, "surveys", services=services),
                security=common,
            )
        )
    subscriptions = Subscription.objects.filter(organisation=organisation, is_active=True)
    if subscriptions.exists():
        activities.append(
            Activity(
                code="webhooks",
                name=_("Events for connected systems (webhooks)"),
                purposes=[_("Telling the organisation's case-management systems what happened.")],
                legal_basis=_("GDPR art. 6.1.e, as for the appointment."),
                subjects=[citizens],
                data=[
                    _(
                        "Appointment codes, procedures, times, states and outcome codes: no "
                        "names, contacts, documents or free text"
                    )
                ],
                recipients=[
                    f"{s.description or _host(s.url)} ({_host(s.url)})"
                    for s in subscriptions.order_by("pk")
                ],
                transfers=_("As the connected system's own record says."),
                retention=retention_period_text(organisation, "webhooks", services=services),
                security=[
                    *common,
                    _("Each event is signed (HMAC-SHA256) and sent only over HTTPS."),
                ],
            )
        )
    staff_providers = IdentityProvider.objects.filter(
        organisation=organisation, audience=IdentityProvider.Audience.STAFF, is_active=True
    ).order_by("name")
    staff_recipients = [_("The organisation's administrators")]
    staff_recipients += [
        _("%(provider)s, the single sign-on service") % {"provider": p.name}
        for p in staff_providers
    ]
    activities.append(
        Activity(
            code="staff",
            name=_("Staff accounts, sessions and the audit log"),
            purposes=[
                _("Letting staff work, and showing who did what with personal data."),
            ],
            legal_basis=_(
                "GDPR art. 6.1.c and 6.1.e; art. 32 (security) and the National Security "
                "Framework (Royal Decree 311/2022)."
            ),
            subjects=[_("The organisation's staff")],
            data=[
                _("Name, username, e-mail, roles, offices and skills"),
                _("Sessions, IP addresses and browsers; the audit log of their actions"),
            ]
            + (
                [_("What the single sign-on service asserts (identifier, name, e-mail, roles)")]
                if staff_providers
                else []
            ),
            recipients=staff_recipients,
            transfers=no_transfers,
            retention=retention_period_text(organisation, "audit_log", services=services),
            security=common,
        )
    )
    return ProcessingRecord(
        organisation={
            "name": controller,
            "slug": organisation.slug,
            "contact_email": organisation.contact_email,
            "contact_phone": organisation.contact_phone,
            "website": organisation.website,
        },
        generated_at=now or timezone.now(),
        language=get_language() or settings.LANGUAGE_CODE,
        activities=activities,
        security=list(_security_measures().values()),
    )


def _notifications(
    organisation: Organisation,
    services: list[tuple[Service, Rules]],
    common: list[str],
    no_transfers: str,
    citizens: str,
) -> Activity:
    own = MessagingSettings.objects.filter(organisation=organisation).first()
    recipients = []
    if settings.NOTIFICATIONS_EMAIL == "smtp":
        recipients.append(_("E-mail: the mail relay %(host)s") % {"host": settings.EMAIL_HOST})
    else:
        recipients.append(_("E-mail: not sent outside the platform (kept in its outbox)"))
    if own is not None and own.sms_gateway_url:
        recipients.append(
            _("SMS: the organisation's SMS gateway %(host)s (a processor)")
            % {"host": _host(own.sms_gateway_url)}
        )
    elif settings.NOTIFICATIONS_SMS == "outbox":
        recipients.append(_("SMS: not sent outside the platform (kept in its outbox)"))
    else:
        recipients.append(_("SMS: the platform's SMS gateway"))
    return Activity(
        code="notifications",
        name=_("Messages by e-mail and SMS"),
        purposes=[
            _("Confirming, reminding and changing appointments; codes; receipts; the survey.")
        ],
        legal_basis=_("GDPR art. 6.1.e, as for the appointment."),
        subjects=[citizens, _("Representatives")],
        data=[_("E-mail address or mobile number, and the message sent")],
        recipients=recipients,
        transfers=no_transfers,
        retention=retention_period_text(organisation, "messages", services=services),
        security=common,
    )


def as_json(record: ProcessingRecord) -> dict[str, Any]:
    """The record as JSON (documented schema, ISO dates)."""
    return {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "generated_at": record.generated_at.isoformat(),
        "language": record.language,
        "controller": record.organisation,
        "activities": [asdict(activity) for activity in record.activities],
        "security_measures": record.security,
    }
