"""The citizen's side by their join link (consents before the call, signing in it) and the
public verification of receipts."""

from django.urls import path

from finestreta.identity import verify_views, views

app_name = "identity"

urlpatterns = [
    path("<slug:org>/video/<str:token>/consent/", views.answer, name="answer"),
    path(
        "<slug:org>/video/<str:token>/consent/<int:record>/withdraw/",
        views.withdraw,
        name="withdraw",
    ),
    path(
        "<slug:org>/video/<str:token>/identity/<slug:provider>/",
        views.electronic_identity,
        name="electronic-identity",
    ),
    path("<slug:org>/video/<str:token>/signature/", views.signature_panel, name="signature"),
    path("<slug:org>/video/<str:token>/signature/<int:signature>/sign/", views.sign, name="sign"),
    path(
        "<slug:org>/video/<str:token>/signature/<int:signature>/decline/",
        views.decline,
        name="decline",
    ),
    path(
        "<slug:org>/video/<str:token>/signature/<int:signature>/receipt.pdf",
        views.citizen_receipt,
        name="citizen-receipt",
    ),
    path("<slug:org>/verify/", verify_views.verify, name="verify"),
    path("<slug:org>/verify/<str:code>/", verify_views.verified, name="verified"),
    path(
        "<slug:org>/verify/<str:code>/receipt.pdf",
        verify_views.verified_receipt,
        name="verified-receipt",
    ),
]
