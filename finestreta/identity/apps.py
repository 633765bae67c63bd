from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IdentityConfig(AppConfig):
    name = "finestreta.identity"
    label = "identity"
    verbose_name = _("Identity, consent and evidence")

    def ready(self) -> None:
        from finestreta.identity import deploy_checks  # noqa: F401 - registers the deploy checks
