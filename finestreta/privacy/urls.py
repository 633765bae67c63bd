from django.urls import path

from finestreta.privacy import views

app_name = "privacy"

urlpatterns = [
    # Under /<org>/staff/: the tenant-isolation walk covers them.
    path("<slug:org>/staff/audit/", views.audit_log, name="audit-log"),
    path("<slug:org>/staff/audit/export.csv", views.audit_export, name="audit-export"),
    path("<slug:org>/staff/retention/", views.retention, name="retention"),
    path("<slug:org>/staff/retention/preview/", views.retention_preview, name="retention-preview"),
]
