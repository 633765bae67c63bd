"""The citizen's satisfaction survey."""

from django.urls import path

from finestreta.reports import views

app_name = "survey"

urlpatterns = [
    path("<slug:org>/survey/<str:token>/", views.answer, name="answer"),
]
