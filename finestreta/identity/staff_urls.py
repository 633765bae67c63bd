"""The agent's identity and consent panel of a call. Under /<org>/staff/: the tenant-isolation
walk covers them."""

from django.urls import path

from finestreta.identity import staff_views as views

app_name = "staff-identity"

urlpatterns = [
    path("<slug:org>/staff/video/<str:room>/identity/", views.show, name="panel"),
    path("<slug:org>/staff/video/<str:room>/identity/code/", views.send_code, name="send-code"),
    path(
        "<slug:org>/staff/video/<str:room>/identity/code/check/",
        views.check_code,
        name="check-code",
    ),
    path(
        "<slug:org>/staff/video/<str:room>/identity/document/",
        views.check_document,
        name="document",
    ),
    path(
        "<slug:org>/staff/video/<str:room>/identity/consent/",
        views.spoken_consent,
        name="consent",
    ),
]
