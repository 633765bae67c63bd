from django.urls import path

from finestreta.notifications import views

app_name = "notifications"

urlpatterns = [
    path("dev/outbox/", views.development_outbox, name="outbox"),
    # Posted by an organisation's SMS gateway (docs/sms-gateway.md); "hooks" is a reserved slug.
    path("hooks/sms/<slug:org>/receipts/", views.sms_receipt, name="sms-receipts"),
    # Under /<org>/staff/: the tenant-isolation walk covers it.
    path("<slug:org>/staff/messages/", views.failures, name="failures"),
]
