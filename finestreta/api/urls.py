"""/api/: the schema, its docs page and the versioned endpoints. Anything else under /api/
answers a JSON 404 (never the tenants' HTML pages: "api" is a reserved slug)."""

from django.urls import include, path, re_path

from finestreta.api import views

app_name = "api"

# Open to anyone, like the public pages (the tenant-isolation walk of staff routes skips it).
PUBLIC_API = "api/v1/"

v1 = [
    path("<slug:org>/services/", views.ServiceListView.as_view(), name="services"),
    path("<slug:org>/services/<slug:service>/", views.ServiceDetailView.as_view(), name="service"),
    path(
        "<slug:org>/services/<slug:service>/availability/",
        views.AvailabilityView.as_view(),
        name="availability",
    ),
    path("<slug:org>/offices/", views.OfficeListView.as_view(), name="offices"),
    path("<slug:org>/holds/", views.HoldListView.as_view(), name="holds"),
    path("<slug:org>/holds/<str:token>/", views.HoldDetailView.as_view(), name="hold"),
    path(
        "<slug:org>/holds/<str:token>/verification-code/",
        views.VerificationCodeView.as_view(),
        name="verification-code",
    ),
    path("<slug:org>/bookings/", views.BookingListView.as_view(), name="bookings"),
    path(
        "<slug:org>/appointments/<str:token>/",
        views.AppointmentView.as_view(),
        name="appointment",
    ),
    path(
        "<slug:org>/appointments/<str:token>/reschedule/",
        views.RescheduleView.as_view(),
        name="reschedule",
    ),
    path("<slug:org>/waiting-list/", views.WaitingListView.as_view(), name="waiting-list"),
]

urlpatterns = [
    path("schema/", views.SchemaView.as_view(), name="schema"),
    path("docs/", views.DocsView.as_view(), name="docs"),
    path("v1/", include(v1)),
    re_path(r"^", views.unknown_path),  # everything else, newlines and all
]
