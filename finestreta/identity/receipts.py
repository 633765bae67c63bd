"""The PDF receipt ("justificant") of a signature, in the citizen's language: what was signed
(and its SHA-256), by whom and how, the identification and consents on record, the times, and
the verification code with the public address (and a QR code of it) where anyone holding the
receipt can check it. Made once, when the signature is complete, and kept as sent.

fpdf2 writes it with the DejaVu Sans font kept in the repository (so every name prints as
written, not only Latin-1); the PDF carries its language and title for screen readers, and the
same facts are on the verification page as HTML.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from zoneinfo import ZoneInfo

import qrcode
from django.template.defaultfilters import time as time_filter
from django.utils import translation
from django.utils.translation import gettext as _
from fpdf import FPDF

from finestreta.identity import codes
from finestreta.identity.models import (
    ConsentRecord,
    IdentityCheck,
    Signature,
    SignatureRoute,
)
from finestreta.lib.templatetags.dates import weekday_date

FONTS = Path(__file__).resolve().parent / "fonts"
FONT = "DejaVu"
LABEL_WIDTH = 52  # mm
LINE = 5.2  # mm


def local(value: dt.datetime, zone: str) -> dt.datetime:
    return value.astimezone(ZoneInfo(zone))


def when(value: dt.datetime | None, zone: str) -> str:
    """ "dilluns, 7 de desembre de 2026, 10:32:05 (Europe/Madrid)"."""
    if value is None:
        return ""
    moment = local(value, zone)
    return f"{weekday_date(moment)}, {time_filter(moment, 'H:i:s')} ({zone})"


def identification(check: IdentityCheck | None) -> str:
    if check is None:
        return _("Not asked by this procedure.")
    if check.method == IdentityCheck.Method.ELECTRONIC_ID or check.agent is None:
        return _("With their electronic identity (%(service)s), as %(name)s.") % {
            "service": check.provider.name if check.provider else "",
            "name": check.identified_name,
        }
    agent = check.agent.get_full_name() or check.agent.get_username()
    if check.method == IdentityCheck.Method.CONTACT_CODE:
        return _("With a one-time code sent to their contact, checked by %(agent)s.") % {
            "agent": agent
        }
    return _("With %(document)s shown on camera and checked by %(agent)s.") % {
        "document": check.get_document_type_display(),
        "agent": agent,
    }


def how_signed(signature: Signature) -> str:
    code = signature.code
    to = codes.mask(code.channel, code.recipient) if code else ""
    if signature.route == SignatureRoute.CITIZEN_CODE:
        return _(
            "By the citizen, with a one-time code sent to %(to)s and typed on their own page."
        ) % {"to": to}
    habilitation = signature.habilitation
    official = habilitation.user if habilitation else signature.requested_by
    return _(
        "By %(official)s, habilitated official (%(reference)s), on the citizen's behalf, "
        "with their express consent given by reading out a one-time code sent to %(to)s."
    ) % {
        "official": official.get_full_name() or official.get_username(),
        "reference": habilitation.reference if habilitation else "",
        "to": to,
    }


def consent_lines(signature: Signature, zone: str) -> list[str]:
    records = ConsentRecord.objects.filter(appointment=signature.appointment).select_related("text")
    lines = []
    for record in records.order_by("recorded_at", "pk"):
        if record.kind == "privacy_notice":
            answer = _("read")
        elif record.granted:
            answer = _("agreed")
        else:
            answer = _("did not agree")
        line = _("%(kind)s: %(answer)s, %(how)s, %(when)s (text version %(version)s)") % {
            "kind": record.get_kind_display(),
            "answer": answer,
            "how": record.get_method_display().lower(),
            "when": time_filter(local(record.recorded_at, zone), "H:i"),
            "version": record.text.version,
        }
        if record.recording_offset_ms is not None:
            seconds = record.recording_offset_ms // 1000
            line += "; " + _("said aloud in the call's recording, at %(at)s") % {
                "at": f"{seconds // 60:02d}:{seconds % 60:02d}"
            }
        if record.withdrawn_at:
            line += "; " + _("withdrawn at %(when)s") % {
                "when": time_filter(local(record.withdrawn_at, zone), "H:i")
            }
        lines.append(line)
    return lines


def facts(signature: Signature, verify_url: str) -> list[tuple[str, str]]:
    """The receipt's facts as (label, value), in the active language: the PDF and the
    verification page show the same."""
    appointment = signature.appointment
    zone = appointment.organisation.time_zone
    agent = signature.requested_by
    rows = [
        (_("Verification code"), signature.grouped_code),
        (_("Check it at"), verify_url),
        (_("Organisation"), str(appointment.organisation.name)),
        (_("Procedure"), str(appointment.service.name)),
        (_("Appointment"), f"{when(appointment.starts_at, zone)} · {appointment.code}"),
        (_("Citizen"), appointment.name),
    ]
    if appointment.representative_name:
        rows.append((_("Represented by"), appointment.representative_name))
    rows += [
        (_("Identification"), identification(signature.identity_check)),
        (_("What was signed"), signature.title),
        (
            _("Document"),
            signature.document_name or _("The text below, written in the call."),
        ),
        (_("SHA-256 fingerprint"), grouped(signature.document_sha256)),
        (_("Signed"), how_signed(signature)),
        (_("Asked at"), when(signature.requested_at, zone)),
        (_("Signed at"), when(signature.signed_at, zone)),
    ]
    if signature.ip_address:
        rows.append((_("From the IP address"), signature.ip_address))
    rows.append((_("Agent"), agent.get_full_name() or agent.get_username()))
    return rows


def grouped(digest: str) -> str:
    """A hex digest in groups of eight, to compare by eye."""
    return " ".join(digest[i : i + 8] for i in range(0, len(digest), 8))


def _qr_png(url: str) -> io.BytesIO:
    image = qrcode.make(url, box_size=4, border=2)
    out = io.BytesIO()
    image.save(out, format="PNG")
    out.seek(0)
    return out


class _Receipt(FPDF):
    footer_text = ""

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font(FONT, "", 7.5)
        self.set_text_color(80, 80, 80)
        self.multi_cell(
            0,
            3.6,
            self.footer_text + f"  ·  {self.page_no()}/{{nb}}",
            align="C",
            new_x="LMARGIN",
            new_y="NEXT",
        )


def new_document(*, title: str, author: str, subject: str = "", footer: str = "") -> FPDF:
    """An empty A4 document with the receipts' font, margins and footer, in the active language
    and with its title for screen readers: the privacy app's documents (the subject access
    export, the record of processing activities) are laid out like the receipts."""
    pdf = _Receipt(format="A4")
    pdf.set_margins(18, 18, 18)
    pdf.set_auto_page_break(True, margin=20)
    pdf.add_font(FONT, "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font(FONT, "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.set_title(title)
    pdf.set_author(author)
    if subject:
        pdf.set_subject(subject)
    pdf.set_creator("Finestreta")
    pdf.set_lang(translation.get_language())
    pdf.footer_text = footer
    return pdf


def row(pdf: FPDF, label: str, value: str) -> None:
    """A label and its value side by side, as on the receipts."""
    _row(pdf, label, value)


def render_receipt(signature: Signature) -> bytes:
    """The PDF of a signed signature, in `signature.receipt_language`."""
    from finestreta.identity.signatures import receipts_url

    appointment = signature.appointment
    organisation = appointment.organisation
    zone = organisation.time_zone
    url = receipts_url(signature)
    with translation.override(signature.receipt_language or appointment.language):
        title = _("Receipt of signature")
        pdf = _Receipt(format="A4")
        pdf.set_margins(18, 18, 18)
        pdf.set_auto_page_break(True, margin=20)
        pdf.add_font(FONT, "", str(FONTS / "DejaVuSans.ttf"))
        pdf.add_font(FONT, "B", str(FONTS / "DejaVuSans-Bold.ttf"))
        pdf.set_title(f"{title} {signature.grouped_code}")
        pdf.set_author(str(organisation.name))
        pdf.set_subject(signature.title)
        pdf.set_creator("Finestreta")
        pdf.set_lang(translation.get_language())
        if signature.signed_at:
            pdf.set_creation_date(signature.signed_at)
        pdf.footer_text = _(
            "Anyone holding this receipt can check it at %(url)s with its verification code."
        ) % {"url": url}
        pdf.add_page()
        pdf.image(_qr_png(url), x=pdf.w - 18 - 30, y=16, w=30, h=30)
        pdf.set_font(FONT, "B", 10)
        pdf.multi_cell(pdf.w - 36 - 34, 5, str(organisation.name), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
        pdf.set_font(FONT, "B", 17)
        pdf.multi_cell(pdf.w - 36 - 34, 8, title, new_x="LMARGIN", new_y="NEXT")
        pdf.set_y(max(pdf.get_y(), 48) + 4)
        for label, value in facts(signature, url):
            _row(pdf, label, value)
        lines = consent_lines(signature, zone)
        if lines:
            _row(pdf, _("Consents on record"), "\n".join(lines))
        if signature.body:
            pdf.ln(4)
            pdf.set_font(FONT, "B", 11)
            pdf.multi_cell(0, 6, _("Text signed"), new_x="LMARGIN", new_y="NEXT")
            pdf.set_font(FONT, "", 9.5)
            pdf.set_fill_color(244, 244, 244)
            pdf.multi_cell(
                0,
                LINE,
                signature.body,
                border=1,
                fill=True,
                padding=3,
                new_x="LMARGIN",
                new_y="NEXT",
            )
        return bytes(pdf.output())


def _row(pdf: FPDF, label: str, value: str) -> None:
    pdf.set_font(FONT, "B", 9)
    top = pdf.get_y()
    if top > pdf.h - 40:
        pdf.add_page()
        top = pdf.get_y()
    pdf.multi_cell(LABEL_WIDTH, LINE, label, new_x="LMARGIN", new_y="NEXT")
    bottom = pdf.get_y()
    pdf.set_xy(pdf.l_margin + LABEL_WIDTH, top)
    pdf.set_font(FONT, "", 9)
    pdf.multi_cell(0, LINE, value, new_x="LMARGIN", new_y="NEXT")
    pdf.set_y(max(bottom, pdf.get_y()) + 1.2)
