from django.urls import path

from finestreta.tenants import views

app_name = "public"

urlpatterns = [
    path("", views.platform_home, name="platform-home"),
    path("<slug:org>/", views.organisation_home, name="org-home"),
    path("<slug:org>/brand.css", views.brand_css, name="brand-css"),
    path("<slug:org>/services/<slug:service>/", views.service_detail, name="service"),
    path("<slug:org>/offices/<slug:office>/", views.office_detail, name="office"),
    path("<slug:org>/accessibility/", views.accessibility_statement, name="accessibility"),
    path("<slug:org>/privacy/", views.privacy_notice, name="privacy"),
]
