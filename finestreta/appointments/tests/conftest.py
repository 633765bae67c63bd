import pytest


@pytest.fixture(autouse=True)
def english(client):  # type: ignore[no-untyped-def]
    """The texts these tests check are the English ones (the catalogues translate them)."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
