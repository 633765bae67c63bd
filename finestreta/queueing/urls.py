""" "Attention now": the citizen's pages of the walk-in queue."""

from django.urls import path

from finestreta.queueing import views

app_name = "queue"

urlpatterns = [
    path("<slug:org>/now/", views.choose_service, name="service"),
    path("<slug:org>/now/ticket/<str:token>/", views.ticket, name="ticket"),
    path("<slug:org>/now/ticket/<str:token>/status/", views.ticket_status, name="ticket-status"),
    path("<slug:org>/now/ticket/<str:token>/live/", views.ticket_live, name="ticket-live"),
    path("<slug:org>/now/ticket/<str:token>/leave/", views.leave, name="leave"),
    path("<slug:org>/now/<slug:service>/", views.join, name="join"),
]
