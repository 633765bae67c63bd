"""The readable PDFs of the privacy operations, laid out like the signature receipts
(`identity.receipts`: the DejaVu font, so every accent prints; the document's language and title
for screen readers): the subject access export and the record of processing activities.

The export's PDF is written from the same data as its JSON, so the two never disagree; dates
are shown in the organisation's time zone, weekday first, as the receipts show them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils.translation import gettext as _
from fpdf import FPDF

from finestreta.appointments.models import Appointment, VerificationCode, WaitingListEntry
from finestreta.identity.models import ConsentRecord, IdentityCheck, OneTimeCode, Signature
from finestreta.identity.receipts import FONT, new_document, row, when
from finestreta.integrations.models import Event
from finestreta.notifications.models import Message
from finestreta.privacy import subject_access as sa
from finestreta.privacy.models import AuditEvent
from finestreta.privacy.processing_record import ProcessingRecord, build_record
from finestreta.queueing.models import QueueEntry
from finestreta.recordings.models import Recording, Track
from finestreta.reports.models import SurveyAnswer
from finestreta.video.models import ChatLine, Coaching, Room, RoomEvent, SharedFile

# The export's sections in order: its key in the JSON, the model its rows come from, a title.
SECTIONS: list[tuple[str, type[models.Model] | None]] = [
    ("appointments", Appointment),
    ("represented_appointments", None),
    ("queue_entries", QueueEntry),
    ("waiting_list_entries", WaitingListEntry),
    ("messages", Message),
    ("verification_codes", VerificationCode),
    ("video_calls", Room),
    ("identity_checks", IdentityCheck),
    ("one_time_codes", OneTimeCode),
    ("consents", ConsentRecord),
    ("signatures", Signature),
    ("recordings", Recording),
    ("survey_answers", SurveyAnswer),
    ("audit_events", AuditEvent),
    ("webhook_events", Event),
]


def section_titles() -> dict[str, str]:
    return {
        "appointments": _("Your appointments"),
        "represented_appointments": _("Appointments you booked on someone else's behalf"),
        "queue_entries": _("Attention without an appointment (virtual queue)"),
        "waiting_list_entries": _("Waiting list"),
        "messages": _("Messages sent to you"),
        "verification_codes": _("Booking verification codes"),
        "video_calls": _("Video calls"),
        "identity_checks": _("Identification"),
        "one_time_codes": _("One-time codes"),
        "consents": _("Consents"),
        "signatures": _("Signatures"),
        "recordings": _("Recordings"),
        "survey_answers": _("Satisfaction survey"),
        "audit_events": _("Record of access to your data (audit log)"),
        "webhook_events": _("Events sent to connected systems"),
    }


def _heading(pdf: FPDF, text: str, size: float = 13) -> None:
    if pdf.get_y() > pdf.h - 50:
        pdf.add_page()
    pdf.ln(3)
    pdf.set_font(FONT, "B", size)
    pdf.multi_cell(0, size * 0.55, text, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)


def _paragraph(pdf: FPDF, text: str) -> None:
    pdf.set_font(FONT, "", 9)
    pdf.multi_cell(0, 4.6, text, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)


def _label(model: type[models.Model] | None, name: str) -> str:
    labels = {
        "matched_by": _("Found by"),
        "text_shown": _("Text shown"),
        "receipt_file": _("Receipt (in this archive)"),
        "action_label": _("What"),
        "sent_to": _("Sent to"),
        "withheld": _("Not shown"),
        "representative_email": _("Your e-mail, as representative"),
        "representative_phone": _("Your mobile, as representative"),
        "uid": _("Event id"),
    }
    if name in labels:
        return labels[name]
    if model is not None:
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:
            field = None
        verbose = getattr(field, "verbose_name", None)
        if verbose:
            return str(verbose).capitalize()
    return name.replace("_", " ").capitalize()


def _text(model: type[models.Model] | None, name: str, value: Any, zone: str) -> str:
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if name == "matched_by":
        found_by = {
            "email": _("e-mail address"),
            "phone": _("mobile number"),
            "id_document": _("identity document"),
            "queue": _("their place in the virtual queue"),
        }
        return ", ".join(found_by.get(v, v) for v in value)
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {v}" for k, v in value.items())
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and "T" in value:
        try:
            return when(dt.datetime.fromisoformat(value), zone)
        except ValueError:
            pass
    if model is not None:
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:
            field = None
        choices = dict(getattr(field, "choices", None) or [])
        if value in choices:
            return str(choices[value])
    return str(value)


NESTED = {"chat": ChatLine, "files": SharedFile, "events": RoomEvent,
          "silent_listening": Coaching, "tracks": Track}  # fmt: skip


def _entry(pdf: FPDF, model: type[models.Model] | None, item: dict[str, Any], zone: str) -> None:
    for name, value in item.items():
        if name in NESTED:
            continue
        row(pdf, _label(model, name), _text(model, name, value, zone))
    for name, nested_model in NESTED.items():
        lines = item.get(name)
        if not lines:
            continue
        pdf.set_font(FONT, "B", 9.5)
        pdf.multi_cell(0, 5, str(nested_model._meta.verbose_name_plural).capitalize(),
                       new_x="LMARGIN", new_y="NEXT")  # fmt: skip
        for line in lines:
            summary = " · ".join(
                _text(nested_model, key, value, zone)
                for key, value in line.items()
                if value not in (None, "", [], {})
            )
            _paragraph(pdf, "– " + summary)
    pdf.ln(2)


def subject_access_pdf(export: sa.Export, *, explanations: list[tuple[str, str]]) -> bytes:
    """The export as a readable PDF, in the active language."""
    data = export.data
    organisation = data["organisation"]
    zone = organisation["time_zone"]
    title = _("Your personal data held by %(organisation)s") % {
        "organisation": organisation["name"]
    }
    pdf = new_document(
        title=title,
        author=organisation["name"],
        subject=_("Right of access (GDPR art. 15)"),
        footer=_("Right of access (GDPR art. 15). The same data, machine-readable: %(file)s")
        % {"file": "subject-access.json"},
    )
    pdf.add_page()
    pdf.set_font(FONT, "B", 10)
    pdf.multi_cell(0, 5, organisation["name"], new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "B", 16)
    pdf.multi_cell(0, 8, title, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    row(pdf, _("Made on"), _text(None, "", data["generated_at"], zone))
    searched = [v for v in data["searched_by"].values() if v]
    row(pdf, _("Searched by"), ", ".join(searched))
    row(pdf, _("Times"), _("In the %(zone)s time zone.") % {"zone": zone})
    contact = ", ".join(
        v for v in (organisation["contact_email"], organisation["contact_phone"]) if v
    )
    if contact:
        row(pdf, _("Contact"), contact)
    _paragraph(
        pdf,
        _(
            "This document lists everything the organisation holds about you in its video "
            "attention platform, found by the details above. Recordings and files shared in "
            "calls are listed, not included: ask the organisation for a copy. Staff members' "
            "names are not included, nor anything about other people."
        ),
    )
    titles = section_titles()
    for key, model in SECTIONS:
        items = data.get(key) or []
        _heading(pdf, f"{titles[key]} ({len(items)})")
        if not items:
            _paragraph(pdf, _("Nothing held."))
            continue
        if key == "recordings" or key == "video_calls":
            _paragraph(
                pdf,
                _(
                    "The media of recordings and the files shared in calls are not included. "
                    "To obtain a copy, ask the organisation: authorised staff can download "
                    "them while they are kept."
                ),
            )
        for item in items:
            _entry(pdf, model, item, zone)
    not_included = {k: v for k, v in data["not_included"].items() if v}
    _heading(pdf, _("What is not included, and why"))
    notes = {
        "messages_to_others": _("messages about your appointments sent to someone else"),
        "chat_lines_of_others": _("chat lines written by guests invited into your calls"),
        "files_of_others": _("files shared by guests invited into your calls"),
        "invited_guests": _("guests invited into your calls (interpreters, specialists)"),
        "consents_of_guests": _("consents given by guests in your calls"),
    }
    for key, count in not_included.items():
        row(pdf, str(count), notes.get(key, key))
    _paragraph(
        pdf,
        _(
            "They are other people's data. Nor are included: the identity of staff members, "
            "and the platform's security material (fingerprints of codes and documents, "
            "link secrets). The JSON file lists every field that is not shown and why."
        ),
    )
    _heading(pdf, _("Why we hold these data and for how long"))
    for name, text in explanations:
        row(pdf, name, text)
    return bytes(pdf.output())


def explanations_for(export: sa.Export) -> list[tuple[str, str]]:
    """Each processing activity's purposes and retention, from the record of processing."""
    from django.utils import timezone

    record = build_record(export.subject.organisation, now=timezone.now())
    return [
        (activity.name, " ".join(activity.purposes) + " " + _("Kept: %(retention)s")
         % {"retention": activity.retention})
        for activity in record.activities
    ]  # fmt: skip


def processing_record_pdf(record: ProcessingRecord) -> bytes:
    """The record of processing activities as a PDF, in the active language."""
    organisation = record.organisation
    title = _("Record of processing activities")
    pdf = new_document(
        title=f"{title} — {organisation['name']}",
        author=organisation["name"],
        subject=_("GDPR article 30"),
        footer=_("Made from the platform's configuration on %(date)s.")
        % {"date": record.generated_at.date().isoformat()},
    )
    pdf.add_page()
    pdf.set_font(FONT, "B", 16)
    pdf.multi_cell(0, 8, title, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    row(pdf, _("Controller"), organisation["name"])
    for key, label in (
        ("contact_email", _("Contact e-mail")),
        ("contact_phone", _("Contact telephone")),
        ("website", _("Website")),
    ):
        if organisation.get(key):
            row(pdf, label, organisation[key])
    for activity in record.activities:
        _heading(pdf, activity.name, 12)
        row(pdf, _("Purposes"), "\n".join(activity.purposes))
        row(pdf, _("Legal basis"), activity.legal_basis)
        row(pdf, _("Data subjects"), "\n".join(activity.subjects))
        row(pdf, _("Personal data"), "\n".join(activity.data))
        row(pdf, _("Recipients"), "\n".join(activity.recipients))
        row(pdf, _("Transfers"), activity.transfers)
        row(pdf, _("Retention"), activity.retention)
        row(pdf, _("Security measures"), "\n".join(activity.security))
    return bytes(pdf.output())
