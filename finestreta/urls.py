from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView

from finestreta.accounts import urls as accounts_urls
from finestreta.appointments import staff_urls as staff_appointments_urls
from finestreta.appointments import urls as appointments_urls
from finestreta.identity import staff_urls as staff_identity_urls
from finestreta.identity import urls as identity_urls
from finestreta.integrations import urls as webhooks_urls
from finestreta.lib import views as lib_views
from finestreta.notifications import template_urls as message_template_urls
from finestreta.notifications import urls as notifications_urls
from finestreta.privacy import urls as privacy_urls
from finestreta.queueing import staff_urls as staff_queue_urls
from finestreta.queueing import urls as queue_urls
from finestreta.recordings import staff_urls as staff_recordings_urls
from finestreta.reports import staff_urls as staff_reports_urls
from finestreta.reports import urls as survey_urls
from finestreta.tenants import urls as tenants_urls
from finestreta.video import file_urls as video_file_urls
from finestreta.video import staff_urls as staff_video_urls
from finestreta.video import urls as video_urls

# A database outage raised by a middleware: 503, not 500 (lib.unavailable).
handler500 = "finestreta.lib.unavailable.handler500"

admin.site.site_header = _("Finestreta administration")
admin.site.site_title = _("Finestreta")
admin.site.index_title = _("Administration")

urlpatterns = [
    path("healthz", lib_views.healthz, name="healthz"),
    path("metrics", lib_views.metrics, name="metrics"),
    path("readyz", lib_views.readyz, name="readyz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    # allauth: the SAML (/auth/saml/<provider>/…) and OpenID Connect (/auth/oidc/<provider>/…)
    # endpoints of each organisation's identity provider.
    # Only the sign-on endpoints: allauth's own password, sign-up and e-mail pages stay closed.
    re_path(
        r"^auth/(?!saml/|oidc/|3rdparty/)",
        RedirectView.as_view(pattern_name="accounts:login", query_string=True),
    ),
    path("auth/", include("allauth.urls")),
    # The integrators' REST API, its schema and docs (before the tenants' /<org>/ pages).
    path("api/", include("finestreta.api.urls")),
    path("", include(notifications_urls)),
    path("", include(accounts_urls)),
    path("", include(privacy_urls)),
    path("", include(appointments_urls)),
    path("", include(staff_appointments_urls)),
    path("", include(message_template_urls)),
    path("", include(webhooks_urls)),
    path("", include(video_file_urls)),
    path("", include(identity_urls)),
    path("", include(staff_identity_urls)),
    path("", include(staff_recordings_urls)),
    path("", include(video_urls)),
    path("", include(staff_video_urls)),
    path("", include(queue_urls)),
    path("", include(survey_urls)),
    path("", include(staff_reports_urls)),
    path("", include(staff_queue_urls)),
    path("", include(tenants_urls)),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
