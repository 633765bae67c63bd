from django.urls import path

from finestreta.privacy import subject_views, views

app_name = "privacy"

urlpatterns = [
    # Under /<org>/staff/: the tenant-isolation walk covers them.
    path("<slug:org>/staff/audit/", views.audit_log, name="audit-log"),
    path("<slug:org>/staff/audit/export.csv", views.audit_export, name="audit-export"),
    path("<slug:org>/staff/retention/", views.retention, name="retention"),
    path("<slug:org>/staff/retention/preview/", views.retention_preview, name="retention-preview"),
    # The data-subject rights (ADR 35): who the person is goes in POST bodies, never here.
    path("<slug:org>/staff/privacy/subjects/", subject_views.subject_search, name="subjects"),
    path(
        "<slug:org>/staff/privacy/subjects/export/",
        subject_views.subject_export,
        name="subject-export",
    ),
    path(
        "<slug:org>/staff/privacy/subjects/erasure/",
        subject_views.erasure_plan,
        name="erasure-plan",
    ),
    path(
        "<slug:org>/staff/privacy/subjects/erasure/confirm/",
        subject_views.erasure_confirm,
        name="erasure-confirm",
    ),
    path(
        "<slug:org>/staff/privacy/processing/",
        subject_views.processing_record,
        name="processing-record",
    ),
    path(
        "<slug:org>/staff/privacy/processing/record.pdf",
        subject_views.processing_record_download,
        {"format": "pdf"},
        name="processing-record-pdf",
    ),
    path(
        "<slug:org>/staff/privacy/processing/record.json",
        subject_views.processing_record_download,
        {"format": "json"},
        name="processing-record-json",
    ),
]
