"""The citizen's consents before a video call, by their join link."""

from django.urls import path

from finestreta.identity import views

app_name = "identity"

urlpatterns = [
    path("<slug:org>/video/<str:token>/consent/", views.answer, name="answer"),
    path(
        "<slug:org>/video/<str:token>/consent/<int:record>/withdraw/",
        views.withdraw,
        name="withdraw",
    ),
]
