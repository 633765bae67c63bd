from django.urls import path

from finestreta.appointments import manage_views, views

app_name = "appointments"

urlpatterns = [
    path("<slug:org>/book/", views.choose_service, name="service"),
    path("<slug:org>/book/hold/<int:hold>/details/", views.details, name="details"),
    path("<slug:org>/book/hold/<int:hold>/review/", views.review, name="review"),
    path("<slug:org>/book/hold/<int:hold>/release/", views.release, name="release"),
    path("<slug:org>/book/<slug:service>/", views.choose_channel, name="channel"),
    path("<slug:org>/book/<slug:service>/<slug:channel>/", views.choose_office, name="office"),
    path("<slug:org>/book/<slug:service>/<slug:channel>/time/", views.choose_time, name="time"),
    path(
        "<slug:org>/book/<slug:service>/<slug:channel>/waiting-list/",
        manage_views.join_waiting_list,
        name="waiting-list",
    ),
    path("<slug:org>/appointment/<str:token>/", manage_views.manage, name="manage"),
    path("<slug:org>/appointment/<str:token>/calendar.ics", manage_views.calendar_file, name="ics"),
    path("<slug:org>/appointment/<str:token>/cancel/", manage_views.cancel, name="cancel"),
    path("<slug:org>/appointment/<str:token>/move/", manage_views.move, name="move"),
    path("<slug:org>/waiting-list/<str:token>/", manage_views.waiting, name="waiting"),
]
