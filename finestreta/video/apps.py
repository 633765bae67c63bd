from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VideoConfig(AppConfig):
    name = "finestreta.video"
    label = "video"
    verbose_name = _("Video calls")

    def ready(self) -> None:
        from finestreta.video import checks  # noqa: F401 - registers the deploy checks
