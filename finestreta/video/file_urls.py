from django.urls import path

from finestreta.video import file_views

app_name = "video-files"

urlpatterns = [
    path("<slug:org>/video/<str:token>/files/", file_views.citizen_upload, name="citizen-upload"),
    path(
        "<slug:org>/video/<str:token>/files/<int:file_id>/",
        file_views.citizen_download,
        name="citizen-download",
    ),
    path("<slug:org>/staff/video/<str:room>/files/", file_views.staff_upload, name="staff-upload"),
    path(
        "<slug:org>/staff/video/<str:room>/files/<int:file_id>/",
        file_views.staff_download,
        name="staff-download",
    ),
]
