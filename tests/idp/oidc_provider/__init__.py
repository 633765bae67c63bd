"""A tiny, separate Django project: an OpenID Connect provider (django-oauth-toolkit) for tests.

It runs in its own process with its own settings and SQLite database (see `tests.idp.oidc`);
nothing here is imported by Finestreta or by the test process itself.
"""
