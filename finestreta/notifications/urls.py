from django.urls import path

from finestreta.notifications import views

app_name = "notifications"

urlpatterns = [path("dev/outbox/", views.development_outbox, name="outbox")]
