"""Which fields of each model the subject access export shows, and why the others are left
out (ADR 35). Every concrete field of an exported model is in one of the two lists: a test fails
when a new field is in neither, so that someone decides."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models

from finestreta.appointments.models import Appointment, VerificationCode, WaitingListEntry
from finestreta.identity.models import ConsentRecord, IdentityCheck, OneTimeCode, Signature
from finestreta.integrations.models import Event
from finestreta.notifications.models import Message
from finestreta.privacy.models import AuditEvent
from finestreta.queueing.models import QueueEntry
from finestreta.recordings.models import Recording, Track
from finestreta.reports.models import SurveyAnswer
from finestreta.video.models import ChatLine, Coaching, Room, RoomEvent
from finestreta.video.models import SharedFile as SharedFileModel

__all__ = ["ELSEWHERE", "EXPORTED", "INTERNAL", "SECURITY", "STAFF", "THIRD_PARTY", "Fields"]

# Why a field is not in the export. Every concrete field of an exported model is either
# exported or withheld with one of these reasons (a test checks it, so a new field is decided).
INTERNAL = "internal"  # an identifier or a mechanism of the platform, not about the person
SECURITY = "security"  # a hash, nonce, token or storage name: kept secret to protect them
STAFF = "staff"  # a member of staff's identity (CJEU C-579/21)
THIRD_PARTY = "third_party"  # another person's data
ELSEWHERE = "elsewhere"  # given once elsewhere in the export (the organisation, a file)


@dataclass(frozen=True)
class Fields:
    exported: tuple[str, ...]
    withheld: dict[str, str]


# The appointment's representative contact is the representative's; `representative_name` and
# `representative_relation` are shown as the source of the data.
EXPORTED: dict[type[models.Model], Fields] = {
    Appointment: Fields(
        (
            "code",
            "service",
            "channel",
            "office",
            "starts_at",
            "ends_at",
            "status",
            "name",
            "email",
            "phone",
            "language",
            "municipality",
            "id_document",
            "needs_sign_language",
            "needs_captions",
            "needs_extra_time",
            "needs_easy_read",
            "notes",
            "representative_name",
            "representative_relation",
            "booked_at",
            "cancelled_at",
            "cancelled_by",
            "cancellation_reason",
            "times_rescheduled",
            "walk_in",
            "staff_notes",
            "outcome",
            "created_at",
        ),
        {
            "id": INTERNAL,
            "organisation": ELSEWHERE,
            "agent": STAFF,
            "booked_by": STAFF,
            "occupied_from": INTERNAL,
            "occupied_until": INTERNAL,
            "hold_expires_at": INTERNAL,
            "idempotency_key": SECURITY,
            "held_by": SECURITY,
            "manage_nonce": SECURITY,
            "representative_email": THIRD_PARTY,
            "representative_phone": THIRD_PARTY,
        },
    ),
}
EXPORTED.update(
    {
        QueueEntry: Fields(
            (
                "service",
                "channel",
                "state",
                "name",
                "phone",
                "email",
                "language",
                "sign_language",
                "priority",
                "due",
                "joined_at",
                "offered_at",
                "served_at",
                "ended_at",
                "appointment",
                "locale",
            ),
            {
                "id": INTERNAL,
                "organisation": ELSEWHERE,
                "booked_agent": STAFF,
                "offered_to": STAFF,
                "served_by": STAFF,
                "offer_expires_at": INTERNAL,
                "nonce": SECURITY,
            },
        ),
        WaitingListEntry: Fields(
            (
                "service",
                "channel",
                "office",
                "earliest",
                "latest",
                "name",
                "email",
                "phone",
                "language",
                "status",
                "offered",
                "created_at",
            ),
            {"id": INTERNAL, "organisation": ELSEWHERE, "manage_nonce": SECURITY},
        ),
        Message: Fields(
            (
                "kind",
                "channel",
                "recipient",
                "language",
                "subject",
                "body",
                "attachment_name",
                "attachment_type",
                "appointment",
                "status",
                "send_after",
                "created_at",
                "sent_at",
                "receipt_status",
                "receipt_at",
            ),
            {
                "id": INTERNAL,
                "organisation": ELSEWHERE,
                "html": ELSEWHERE,  # the same text as `body`, laid out for e-mail
                "attachment": ELSEWHERE,  # a signature receipt: in the zip's receipts/
                "dedup_key": INTERNAL,
                "urgent": INTERNAL,
                "appointment_starts_at": INTERNAL,
                "attempts": INTERNAL,
                "claimed_at": INTERNAL,
                "claim": INTERNAL,
                "provider_id": INTERNAL,
                "last_error": INTERNAL,
            },
        ),
        VerificationCode: Fields(
            (
                "appointment",
                "channel",
                "recipient",
                "expires_at",
                "attempts",
                "verified_at",
                "created_at",
            ),
            {"id": INTERNAL, "code_hash": SECURITY},
        ),
        OneTimeCode: Fields(
            (
                "appointment",
                "purpose",
                "channel",
                "recipient",
                "expires_at",
                "attempts",
                "failures",
                "last_failure_at",
                "verified_at",
                "created_at",
            ),
            {"id": INTERNAL, "organisation": ELSEWHERE, "code_hash": SECURITY, "sent_by": STAFF},
        ),
        SurveyAnswer: Fields(
            ("appointment", "score", "comment", "language", "answered_at"),
            {"id": INTERNAL, "organisation": ELSEWHERE},
        ),
        Room: Fields(
            ("appointment", "state", "citizen_admitted_at", "created_at", "ended_at"),
            {"id": INTERNAL, "organisation": ELSEWHERE, "public_id": SECURITY},
        ),
        ChatLine: Fields(
            ("seq", "role", "name", "text", "sent_at"),
            {"id": INTERNAL, "room": ELSEWHERE, "peer": INTERNAL, "ref": INTERNAL, "user": STAFF},
        ),
        RoomEvent: Fields(
            ("kind", "role", "details", "at"),
            {"id": INTERNAL, "room": ELSEWHERE, "peer": INTERNAL, "user": STAFF},
        ),
        SharedFileModel: Fields(
            ("role", "sender", "name", "content_type", "size", "sha256", "uploaded_at"),
            {"id": INTERNAL, "room": ELSEWHERE, "user": STAFF, "storage_name": SECURITY},
        ),
        Coaching: Fields(("started_at",), {"id": INTERNAL, "room": ELSEWHERE, "membership": STAFF}),
        IdentityCheck: Fields(
            (
                "appointment",
                "method",
                "verified",
                "provider",
                "identified_name",
                "assurance_level",
                "document_type",
                "document_number",
                "number_checked",
                "photo_matches",
                "not_expired",
                "expires_on",
                "checked_at",
            ),
            {
                "id": INTERNAL,
                "organisation": ELSEWHERE,
                "agent": STAFF,
                "subject_hash": SECURITY,
                "document_hash": SECURITY,
                "code": INTERNAL,
            },
        ),
        ConsentRecord: Fields(
            (
                "appointment",
                "kind",
                "text",
                "person",
                "granted",
                "method",
                "ip_address",
                "recording",
                "recording_offset_ms",
                "recorded_at",
                "withdrawn_at",
                "withdrawn_method",
            ),
            {
                "id": INTERNAL,
                "organisation": ELSEWHERE,
                "invitation": THIRD_PARTY,
                "attested_by": STAFF,
                "withdrawn_attested_by": STAFF,
            },
        ),
        Signature: Fields(
            (
                "appointment",
                "route",
                "status",
                "title",
                "body",
                "shared_file",
                "document_name",
                "document_sha256",
                "requested_at",
                "signed_at",
                "ip_address",
                "closed_at",
                "verification_code",
                "receipt_sha256",
                "receipt_language",
            ),
            {
                "id": INTERNAL,
                "organisation": ELSEWHERE,
                "requested_by": STAFF,
                "habilitation": STAFF,
                "identity_check": INTERNAL,
                "code": INTERNAL,
                "consent": INTERNAL,
                "receipt": ELSEWHERE,
            },
        ),
        Recording: Fields(
            (
                "appointment",
                "state",
                "basis",
                "legal_basis",
                "started_at",
                "stopped_at",
                "stop_reason",
                "delete_after",
                "deleted_at",
            ),
            {
                "id": INTERNAL,
                "organisation": ELSEWHERE,
                "room": ELSEWHERE,
                "storage_id": SECURITY,
                "consent_ids": INTERNAL,
                "started_by": STAFF,
                "heartbeat_at": INTERNAL,
                "peer": INTERNAL,
                "channel_name": INTERNAL,
            },
        ),
        Track: Fields(
            ("kind", "role", "name", "part", "offset_ms", "started_at", "ended_at", "size"),
            {"id": INTERNAL, "recording": ELSEWHERE, "peer": INTERNAL, "chunks": INTERNAL},
        ),
        AuditEvent: Fields(
            ("occurred_at", "action", "target_type", "target_label"),
            {
                "id": INTERNAL,
                "organisation": ELSEWHERE,
                "actor": STAFF,
                "actor_label": STAFF,
                "actor_ref": STAFF,
                "target_id": INTERNAL,
                "ip_address": STAFF,
                "user_agent": STAFF,
                "details": INTERNAL,
                "chain_position": INTERNAL,
                "chain_previous": INTERNAL,
                "chain_hash": INTERNAL,
                "chain_key": INTERNAL,
                "chain_version": INTERNAL,
            },
        ),
        Event: Fields(
            ("uid", "type", "occurred_at", "payload"),
            {"id": INTERNAL, "organisation": ELSEWHERE},
        ),
    }
)
