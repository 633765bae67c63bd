from django.urls import path

from finestreta.accounts import views

app_name = "accounts"

urlpatterns = [
    path("accounts/login/", views.StaffLoginView.as_view(), name="login"),
    path("accounts/logout/", views.logout_view, name="logout"),
    path("accounts/2fa/", views.second_factor, name="second-factor"),
    path("accounts/sessions/", views.session_list, name="sessions"),
    path("accounts/staff/", views.staff_home, name="staff-home"),
    # Routes under /<org>/staff/: the tenant-isolation walk covers every one of them.
    path("<slug:org>/staff/", views.dashboard, name="dashboard"),
    path("<slug:org>/staff/team/", views.team, name="team"),
    path("<slug:org>/staff/offices/<slug:office>/", views.office, name="office"),
]
