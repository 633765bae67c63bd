"""The demo logins shown on the login page while DEBUG is on (created by `load_demo`)."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

DEMO_PASSWORD = "finestreta-demo"  # noqa: S105 - demo accounts log in only while DEBUG is on  # nosec B105


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: Promise
    organisation: str


DEMO_LOGINS = [
    DemoLogin("admin", _("Platform administrator"), "—"),
    DemoLogin("gencat-admin", _("Organisation administrator"), "Generalitat de Catalunya"),
    DemoLogin("girona-admin", _("Office administrator"), "OAC Girona"),
    DemoLogin("supervisora", _("Supervisor"), "Generalitat de Catalunya"),
    DemoLogin("agent-girona", _("Agent"), "OAC Girona"),
    DemoLogin("agent-tortosa", _("Agent"), "OAC Terres de l'Ebre"),
    DemoLogin("agent-backoffice", _("Agent"), "Back-office"),
    DemoLogin("ajuntament-admin", _("Organisation administrator"), "Ajuntament de Vilanova"),
    DemoLogin("agent-ajuntament", _("Agent"), "Ajuntament de Vilanova"),
]
