"""Prepare the test provider's database: migrate, then create or update users and clients.

Run in its own process, with the provider's settings, before (or while) the server runs:

    DJANGO_SETTINGS_MODULE=tests.idp.oidc_provider.settings OIDC_PROVIDER_DB=… \\
    OIDC_PROVIDER_RSA_KEY=… python -m tests.idp.oidc_provider.bootstrap < spec.json

The JSON spec on standard input:

    {"migrate": true,
     "users": [{"username", "password", "email", "first_name", "last_name", "groups": [...]}],
     "clients": [{"client_id", "client_secret", "redirect_uris": [...],
                  "post_logout_redirect_uris": [...]}]}

Users and clients are matched by username and client_id, so running it again updates them.
"""

import json
import sys

import django


def bootstrap(spec: dict) -> None:
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from django.db import transaction
    from oauth2_provider.models import Application

    if spec.get("migrate", True):
        call_command("migrate", interactive=False, verbosity=0)

    with transaction.atomic():
        for data in spec.get("users", []):
            user, _ = User.objects.update_or_create(
                username=data["username"],
                defaults={
                    "email": data["email"],
                    "first_name": data["first_name"],
                    "last_name": data["last_name"],
                    "is_active": True,
                },
            )
            user.set_password(data["password"])
            user.save()
            user.groups.set(
                [Group.objects.get_or_create(name=name)[0] for name in data.get("groups", [])]
            )

        for data in spec.get("clients", []):
            application = Application.objects.filter(client_id=data["client_id"]).first()
            if application is None:
                application = Application(client_id=data["client_id"])
            application.name = data.get("name") or data["client_id"]
            application.client_type = Application.CLIENT_CONFIDENTIAL
            application.authorization_grant_type = Application.GRANT_AUTHORIZATION_CODE
            application.algorithm = Application.RS256_ALGORITHM
            application.redirect_uris = " ".join(data["redirect_uris"])
            application.post_logout_redirect_uris = " ".join(
                data.get("post_logout_redirect_uris", [])
            )
            application.skip_authorization = True
            # Stored hashed on save (hash_client_secret=True): the caller keeps the plain value.
            application.client_secret = data["client_secret"]
            application.hash_client_secret = True
            application.full_clean(exclude=["user"])
            application.save()


def main() -> None:
    django.setup()
    bootstrap(json.load(sys.stdin))


if __name__ == "__main__":
    main()
