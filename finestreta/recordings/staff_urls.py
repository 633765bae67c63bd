"""Watching call recordings. Under /<org>/staff/: the tenant-isolation walk covers them."""

from django.urls import path

from finestreta.recordings import views

app_name = "staff-recordings"

urlpatterns = [
    path("<slug:org>/staff/recordings/<int:recording>/", views.detail, name="detail"),
    path(
        "<slug:org>/staff/recordings/<int:recording>/part/<int:part>/play/",
        views.play,
        name="play",
    ),
    path(
        "<slug:org>/staff/recordings/<int:recording>/part/<int:part>/download/",
        views.download,
        name="download",
    ),
]
