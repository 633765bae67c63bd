"""Staff's video pages: the citizens waiting now, a call, and the way in from an appointment.
Under /<org>/staff/: the tenant-isolation walk covers them."""

from django.urls import path

from finestreta.video import staff_views as views

app_name = "staff-video"

urlpatterns = [
    path("<slug:org>/staff/video/", views.lobby, name="lobby"),
    path("<slug:org>/staff/video/<str:room>/", views.room, name="room"),
    path("<slug:org>/staff/video/<str:room>/invite/", views.invite, name="invite"),
    path("<slug:org>/staff/video/<str:room>/listen/", views.listen, name="listen"),
    path(
        "<slug:org>/staff/video/<str:room>/invitations/<int:invitation>/revoke/",
        views.revoke_invitation,
        name="revoke",
    ),
    path("<slug:org>/staff/appointments/<str:code>/video/", views.open_room, name="open"),
    path(
        "<slug:org>/staff/appointments/<str:code>/video/send-link/",
        views.send_join_link,
        name="send-link",
    ),
]
