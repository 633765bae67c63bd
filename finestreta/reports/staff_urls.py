"""The staff's dashboard of figures and its exports."""

from django.urls import path, re_path

from finestreta.reports import views

app_name = "staff-reports"

urlpatterns = [
    path("<slug:org>/staff/reports/", views.dashboard, name="dashboard"),
    re_path(
        r"^(?P<org>[-a-zA-Z0-9_]+)/staff/reports/export\.(?P<fmt>csv|xlsx)$",
        views.export,
        name="export",
    ),
]
