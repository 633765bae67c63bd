"""`make sso-demo`: the demo with working single sign-on.

Starts a SAML 2.0 IdP (SimpleSAMLphp, standing in for the Generalitat's GICAR) and an OpenID
Connect provider (django-oauth-toolkit, standing in for the town council's, and for VÀLid, the
citizens' electronic identity), configures them as the demo organisations' identity providers in
the development database, and keeps them running until Ctrl-C. Run `make run` in another
terminal. Development only: it refuses to run with DEBUG off.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "finestreta.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

from finestreta.accounts.models import IdentityProvider  # noqa: E402
from finestreta.tenants.models import Organisation  # noqa: E402
from tests.idp.oidc import OidcClient, OidcUser, run_oidc_provider  # noqa: E402
from tests.idp.saml import SamlServiceProvider, SamlUser, run_saml_idp  # noqa: E402

PASSWORD = "finestreta-demo"  # noqa: S105 - demo identity providers only  # nosec B105
# The demo identity provider's clients, on this machine only.
VILANOVA_CLIENT_SECRET = "demo-client-secret"  # noqa: S105  # nosec B105
VALID_CLIENT_SECRET = "demo-valid-secret"  # noqa: S105  # nosec B105
SAML_USERS = [
    SamlUser(
        "laia",
        PASSWORD,
        {
            "uid": ["laia"],
            "mail": ["laia.ferrer@gencat.example"],
            "givenName": ["Laia"],
            "sn": ["Ferrer"],
            "groups": ["atencio"],
        },
    ),
    SamlUser(
        "pere",
        PASSWORD,
        {
            "uid": ["pere"],
            "mail": ["pere.roca@gencat.example"],
            "givenName": ["Pere"],
            "sn": ["Roca"],
            "groups": ["supervisio"],
        },
    ),
    SamlUser(
        "nuria",
        PASSWORD,
        {
            "uid": ["nuria"],
            "mail": ["nuria.vila@gencat.example"],
            "givenName": ["Núria"],
            "sn": ["Vila"],
            "groups": [],
        },
    ),
]
OIDC_USERS = [
    OidcUser("marta", PASSWORD, "marta.soler@vilanova.example", "Marta", "Soler", ("oac",)),
    # A citizen of the VÀLid stand-in: the user name is the DNI, released as preferred_username.
    OidcUser("12345678Z", PASSWORD, "jordi.puig@example.net", "Jordi", "Puig"),
]


def main() -> int:
    if not settings.DEBUG:
        print("The SSO demo only runs with DEBUG on.", file=sys.stderr)
        return 1
    site = settings.SITE_URL
    gencat = Organisation.objects.get(slug="generalitat")
    vilanova = Organisation.objects.get(slug="vilanova")
    with (
        run_saml_idp(users=SAML_USERS, port=8480, hostname="localhost") as idp,
        run_oidc_provider(
            users=OIDC_USERS,
            clients=[
                OidcClient(
                    "finestreta-vilanova",
                    "demo-client-secret",
                    redirect_uris=(f"{site}/auth/oidc/vilanova-sso/login/callback/",),
                    post_logout_redirect_uris=(f"{site}/",),
                ),
                OidcClient(
                    "finestreta-valid",
                    "demo-valid-secret",
                    redirect_uris=(f"{site}/auth/oidc/generalitat-valid/login/callback/",),
                ),
            ],
        ) as oidc,
    ):
        idp.add_service_provider(
            SamlServiceProvider(
                entity_id=f"{site}/auth/saml/generalitat-gicar/metadata/",
                acs_url=f"{site}/auth/saml/generalitat-gicar/acs/",
                slo_url=f"{site}/auth/saml/generalitat-gicar/sls/",
            )
        )
        saml, _ = IdentityProvider.objects.update_or_create(
            slug="generalitat-gicar",
            defaults={
                "organisation": gencat,
                "name": "GICAR (demo)",
                "is_active": True,
                "protocol": IdentityProvider.Protocol.SAML,
                "idp_metadata": idp.metadata_xml(),
                "role_attribute": "groups",
                "role_mapping": {"atencio": "agent", "supervisio": "supervisor"},
            },
        )
        saml.full_clean()
        saml.save()
        oidc_idp, _ = IdentityProvider.objects.update_or_create(
            slug="vilanova-sso",
            defaults={
                "organisation": vilanova,
                "name": "Vilanova SSO (demo)",
                "is_active": True,
                "protocol": IdentityProvider.Protocol.OIDC,
                "issuer": oidc.issuer,
                "client_id": "finestreta-vilanova",
                "client_secret": VILANOVA_CLIENT_SECRET,
                "scopes": "openid profile email groups",
                "role_attribute": "groups",
                "role_mapping": {"oac": "agent"},
            },
        )
        oidc_idp.full_clean()
        oidc_idp.save()
        valid, _ = IdentityProvider.objects.update_or_create(
            slug="generalitat-valid",
            defaults={
                "organisation": gencat,
                "name": "VÀLid (demo)",
                "audience": IdentityProvider.Audience.CITIZENS,
                "is_active": True,
                "protocol": IdentityProvider.Protocol.OIDC,
                "issuer": oidc.issuer,
                "client_id": "finestreta-valid",
                "client_secret": VALID_CLIENT_SECRET,
                "scopes": "openid profile",
                "document_attribute": "preferred_username",
            },
        )
        valid.full_clean()
        valid.save()
        print(f"SAML IdP (GICAR demo):  {idp.base_url}  users: laia, pere, nuria")
        print(f"OIDC provider (demo):   {oidc.base_url}  user: marta")
        print(
            "VÀLid (demo), for citizens: the Generalitat's join links offer it before calls "
            "that identify the citizen; user 12345678Z."
        )
        print(f"Password for all: {PASSWORD}. Log in at {site}/accounts/login/ (run `make run`).")
        print("nuria has no role yet: grant one as gencat-admin in the administration.")
        print("Press Ctrl-C to stop the identity providers.")
        stop = []
        signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
        try:
            while not stop:
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        IdentityProvider.objects.filter(
            slug__in=["generalitat-gicar", "vilanova-sso", "generalitat-valid"]
        ).update(is_active=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
