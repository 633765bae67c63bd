"""The claims the test provider releases about a user."""

from oauth2_provider.oauth2_validators import OAuth2Validator


class ClaimsValidator(OAuth2Validator):
    # DOT releases a claim only when the scope mapped to it was granted.
    oidc_claim_scope = {**OAuth2Validator.oidc_claim_scope, "groups": "groups"}

    # Request-agnostic form (no `request` argument, callables taking the oauthlib request): DOT
    # then lists these claims in the discovery document's claims_supported.
    def get_additional_claims(self):  # type: ignore[override]
        return {
            "name": lambda request: request.user.get_full_name(),
            "given_name": lambda request: request.user.first_name,
            "family_name": lambda request: request.user.last_name,
            "preferred_username": lambda request: request.user.username,
            "email": lambda request: request.user.email,
            "email_verified": lambda request: True,
            "groups": lambda request: sorted(request.user.groups.values_list("name", flat=True)),
        }
