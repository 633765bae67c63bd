from django.apps import AppConfig


class LibConfig(AppConfig):
    name = "finestreta.lib"
    label = "lib"
    verbose_name = "Finestreta"
