"""Recordings in the administration: read only (they are evidence), to see what exists and when
it is deleted; watching is on the staff pages, where every access is audit-logged."""

from __future__ import annotations

from django.contrib import admin

from finestreta.identity.admin import EvidenceAdmin
from finestreta.recordings.models import Recording


@admin.register(Recording)
class RecordingAdmin(EvidenceAdmin):
    list_display = ("appointment", "started_at", "state", "basis", "stop_reason", "delete_after")
    list_filter = ("state", "basis")
    search_fields = ("appointment__code",)
    list_select_related = ("appointment",)
    exclude = ("storage_id", "peer", "channel_name", "consent_ids", "room", "heartbeat_at")
