"""Staff pages of the queue: the agent's desk and the supervisor's live view."""

from django.urls import path

from finestreta.queueing import staff_views as views

app_name = "staff-queue"

urlpatterns = [
    path("<slug:org>/staff/desk/", views.desk_page, name="desk"),
    path("<slug:org>/staff/desk/live/", views.desk_live, name="desk-live"),
    path("<slug:org>/staff/desk/status/", views.set_status, name="status"),
    path("<slug:org>/staff/desk/offer/<int:entry>/accept/", views.accept, name="accept"),
    path("<slug:org>/staff/desk/offer/<int:entry>/decline/", views.decline, name="decline"),
    path("<slug:org>/staff/desk/call/<int:entry>/finish/", views.finish, name="finish"),
    path("<slug:org>/staff/supervisor/", views.supervisor, name="supervisor"),
    path("<slug:org>/staff/supervisor/live/", views.supervisor_live, name="supervisor-live"),
]
