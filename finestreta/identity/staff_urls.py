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
    path(
        "<slug:org>/staff/video/<str:room>/identity/signature/",
        views.request_signature,
        name="request-signature",
    ),
    path(
        "<slug:org>/staff/video/<str:room>/identity/signature/<int:signature>/sign/",
        views.sign_on_behalf,
        name="sign-on-behalf",
    ),
    path(
        "<slug:org>/staff/video/<str:room>/identity/signature/<int:signature>/withdraw/",
        views.withdraw_signature,
        name="withdraw-signature",
    ),
    path(
        "<slug:org>/staff/video/<str:room>/identity/signature/<int:signature>/receipt.pdf",
        views.receipt,
        name="receipt",
    ),
]
