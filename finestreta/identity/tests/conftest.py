import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def english(settings):  # type: ignore[no-untyped-def]
    """The texts these tests check are the English ones (the catalogues translate them): every
    client, signed in or not, gets English pages."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield
