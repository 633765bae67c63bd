from django.urls import path

from finestreta.appointments import staff_views as views

app_name = "staff-appointments"

urlpatterns = [
    # Under /<org>/staff/: the tenant-isolation walk covers them.
    path("<slug:org>/staff/agenda/", views.agenda_page, name="agenda"),
    # Before <code>: "new" is not a booking code.
    path("<slug:org>/staff/appointments/new/", views.new_appointment, name="new"),
    path("<slug:org>/staff/appointments/<str:code>/", views.appointment_detail, name="detail"),
    path("<slug:org>/staff/appointments/<str:code>/outcome/", views.mark_outcome, name="outcome"),
    path("<slug:org>/staff/appointments/<str:code>/cancel/", views.cancel, name="cancel"),
    path("<slug:org>/staff/appointments/<str:code>/move/", views.move, name="move"),
]
