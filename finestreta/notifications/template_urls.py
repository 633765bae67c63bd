from django.urls import path

from finestreta.notifications import template_views as views

app_name = "message-templates"

# Under /<org>/staff/: the tenant-isolation walk covers them.
urlpatterns = [
    path("<slug:org>/staff/messages/templates/", views.template_list, name="list"),
    path(
        "<slug:org>/staff/messages/templates/<slug:kind>/<slug:channel>/<slug:language>/",
        views.template_edit,
        name="edit",
    ),
    path(
        "<slug:org>/staff/messages/templates/<slug:kind>/<slug:channel>/<slug:language>/reset/",
        views.template_reset,
        name="reset",
    ),
]
