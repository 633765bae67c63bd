from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RecordingsConfig(AppConfig):
    name = "finestreta.recordings"
    label = "recordings"
    verbose_name = _("Call recordings")

    def ready(self) -> None:
        from finestreta.recordings import deploy_checks  # noqa: F401 - registers the deploy check
