"""The citizen's video pages, reached by the join link of a video appointment."""

from django.urls import path

from finestreta.video import views

app_name = "video"

urlpatterns = [
    path("<slug:org>/video/<str:token>/", views.precall, name="precall"),
    path("<slug:org>/video/<str:token>/call/", views.call, name="call"),
    path("<slug:org>/video/<str:room>/guest/<str:token>/", views.guest, name="guest"),
]
