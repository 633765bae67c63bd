from django.urls import path

from finestreta.integrations import views

app_name = "webhooks"

# Under /<org>/staff/: the tenant-isolation walk covers them.
base = "<slug:org>/staff/webhooks/"
one = base + "<int:subscription>/"
urlpatterns = [
    # The development receiver, with DEBUG on only ("dev" is a reserved slug).
    path("dev/webhooks/", views.development_received, name="dev-received"),
    path("dev/webhooks/<slug:org>/", views.development_receive, name="dev-receive"),
    path(base, views.subscription_list, name="list"),
    path(base + "new/", views.subscription_new, name="new"),
    path(one, views.subscription_detail, name="detail"),
    path(one + "edit/", views.subscription_edit, name="edit"),
    path(one + "delete/", views.subscription_delete, name="delete"),
    path(one + "secret/", views.secret, name="secret"),
    path(one + "secret/rotate/", views.rotate_secret, name="rotate-secret"),
    path(one + "ping/", views.ping, name="ping"),
    path(one + "deliveries/<int:delivery>/", views.delivery_detail, name="delivery"),
    path(one + "deliveries/<int:delivery>/replay/", views.replay, name="replay"),
]
