"""Validation of organisations, offices, opening hours and closed days."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.utils import translation
from PIL import Image

from finestreta.tenants.models import ClosedDay, Office, OpeningHours, Organisation
from finestreta.tenants.validators import validate_logo
from tests.factories import ClosedDayFactory, OfficeFactory, OrganisationFactory

pytestmark = pytest.mark.django_db

SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


@pytest.fixture(autouse=True)
def in_english() -> Iterator[None]:
    """These tests read the messages' words; the default language is Catalan."""
    with translation.override("en"):
        yield


def png_bytes(size: tuple[int, int] = (8, 8), fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (0, 90, 156)).save(buffer, format=fmt)
    return buffer.getvalue()


def noisy_png_bytes(side: int) -> bytes:
    """A PNG that does not compress well, so its size grows with its side."""
    image = Image.frombytes("RGB", (side, side), bytes(range(256)) * (side * side * 3 // 256 + 1))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)


def organisation(**fields: object) -> Organisation:
    values: dict[str, object] = {"slug": "consell", "name": "Consell", "name_ca": "Consell"}
    values.update(fields)
    return Organisation(**values)


def errors_of(instance: object, **kwargs: object) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        instance.full_clean(**kwargs)  # type: ignore[attr-defined]
    return caught.value.message_dict


def test_a_valid_organisation_passes_full_clean() -> None:
    organisation().full_clean()


def test_it_refuses_a_brand_colour_that_fails_contrast_on_white() -> None:
    errors = errors_of(organisation(brand_colour="#ffcc00"))
    assert list(errors) == ["brand_colour"]
    message = errors["brand_colour"][0]
    assert "1.51:1" in message
    assert "4.5:1" in message


def test_it_accepts_the_darkest_grey_that_passes() -> None:
    organisation(brand_colour="#767676").full_clean()


@pytest.mark.parametrize("colour", ["005a9c", "#05a", "#zzzzzz", "blue", "#005a9c\n"])
def test_it_refuses_a_brand_colour_that_is_not_hex(colour: str) -> None:
    errors = errors_of(organisation(brand_colour=colour))
    assert any("six hexadecimal digits" in m for m in errors["brand_colour"])


@pytest.mark.parametrize("slug", ["admin", "staff", "Admin", "accounts", "i18n", "healthz"])
def test_it_refuses_a_slug_reserved_by_the_platform(slug: str) -> None:
    errors = errors_of(organisation(slug=slug))
    assert any("reserved" in m for m in errors["slug"])


def test_it_accepts_a_slug_that_only_contains_a_reserved_word() -> None:
    organisation(slug="administracio-oberta").full_clean()


def test_it_refuses_an_unknown_time_zone() -> None:
    errors = errors_of(organisation(time_zone="Mars/Olympus_Mons"))
    assert any("Mars/Olympus_Mons" in m for m in errors["time_zone"])


def test_an_office_time_zone_is_optional_but_must_be_known() -> None:
    office = OfficeFactory.build(organisation=OrganisationFactory(), time_zone="")
    office.full_clean()
    office.time_zone = "Europe/Nowhere"
    assert "time_zone" in errors_of(office)


# --- Logo ---------------------------------------------------------------------------------


def test_the_logo_validator_accepts_a_small_real_png() -> None:
    validate_logo(upload("logo.png", png_bytes()))


def test_the_logo_validator_accepts_a_jpeg_and_leaves_the_file_readable() -> None:
    file = upload("logo.jpg", png_bytes(fmt="JPEG"))
    validate_logo(file)
    assert file.tell() == 0
    assert file.read(2) == b"\xff\xd8"


def test_an_organisation_with_a_real_png_logo_passes_full_clean() -> None:
    organisation(logo=upload("logo.png", png_bytes())).full_clean()


def test_the_logo_validator_refuses_an_svg_file() -> None:
    with pytest.raises(ValidationError) as caught:
        validate_logo(upload("logo.svg", SVG))
    assert caught.value.code == "format"


def test_an_organisation_refuses_an_svg_logo_by_extension_and_content() -> None:
    errors = errors_of(organisation(logo=upload("logo.svg", SVG)))
    assert len(errors["logo"]) == 2


def test_the_logo_validator_refuses_a_text_file_renamed_png() -> None:
    with pytest.raises(ValidationError) as caught:
        validate_logo(upload("logo.png", b"just some text, not an image\n"))
    assert caught.value.code == "format"


def test_the_logo_validator_refuses_a_gif_even_if_pillow_reads_it() -> None:
    with pytest.raises(ValidationError):
        validate_logo(upload("logo.png", png_bytes(fmt="GIF")))


def test_the_logo_validator_refuses_an_image_above_the_size_limit(settings) -> None:
    content = noisy_png_bytes(64)
    settings.LOGO_MAX_BYTES = len(content) - 1
    with pytest.raises(ValidationError) as caught:
        validate_logo(upload("logo.png", content))
    assert caught.value.code == "size"
    settings.LOGO_MAX_BYTES = len(content)
    validate_logo(upload("logo.png", content))


def test_the_logo_validator_refuses_a_light_file_of_too_many_pixels() -> None:
    """A decompression bomb for every citizen's browser that shows the logo."""
    content = png_bytes((9000, 9000))  # 81 megapixels of one colour, about 250 KB
    assert len(content) < 512 * 1024
    with pytest.raises(ValidationError) as caught:
        validate_logo(upload("logo.png", content))
    assert caught.value.code == "size"
    assert "too large" in caught.value.messages[0]
    validate_logo(upload("logo.png", png_bytes((2000, 2000))))  # the limit, 4 megapixels


# --- Opening hours ------------------------------------------------------------------------


@pytest.fixture
def office() -> Office:
    return OfficeFactory(weekday_hours=False)


@pytest.mark.parametrize("closes", [dt.time(9), dt.time(8, 30)])
def test_opening_hours_refuse_closing_at_or_before_opening(office: Office, closes: dt.time) -> None:
    hours = OpeningHours(office=office, weekday=0, opens=dt.time(9), closes=closes)
    assert "closes" in errors_of(hours)


@pytest.mark.parametrize("closes", [dt.time(9), dt.time(8, 30)])
def test_the_database_refuses_closing_at_or_before_opening(office: Office, closes: dt.time) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        OpeningHours.objects.create(office=office, weekday=0, opens=dt.time(9), closes=closes)


def test_opening_hours_accept_a_morning_interval(office: Office) -> None:
    OpeningHours(office=office, weekday=0, opens=dt.time(9), closes=dt.time(14)).full_clean()


# --- Offices ------------------------------------------------------------------------------


def test_an_office_that_citizens_visit_needs_an_address() -> None:
    office = OfficeFactory.build(organisation=OrganisationFactory(), address="")
    assert "address" in errors_of(office)


def test_a_virtual_back_office_needs_no_address() -> None:
    OfficeFactory.build(organisation=OrganisationFactory(), back_office=True).full_clean()


# --- Closed days --------------------------------------------------------------------------

DAY = dt.date(2026, 12, 24)


def test_a_closed_day_refuses_an_office_of_another_organisation() -> None:
    mine, theirs = OrganisationFactory(), OrganisationFactory()
    closed = ClosedDay(
        organisation=mine, office=OfficeFactory(organisation=theirs), date=DAY, reason="x"
    )
    errors = errors_of(closed)
    assert "another organisation" in errors["office"][0]


def test_a_closed_day_accepts_an_office_of_its_own_organisation() -> None:
    office = OfficeFactory()
    ClosedDay(organisation=office.organisation, office=office, date=DAY, reason="x").full_clean()


def test_an_office_cannot_be_closed_twice_on_the_same_day() -> None:
    office = OfficeFactory()
    ClosedDayFactory(organisation=office.organisation, office=office, date=DAY)
    with pytest.raises(IntegrityError), transaction.atomic():
        ClosedDayFactory(organisation=office.organisation, office=office, date=DAY)


def test_an_organisation_cannot_be_closed_twice_on_the_same_day() -> None:
    org = OrganisationFactory()
    ClosedDayFactory(organisation=org, office=None, date=DAY)
    with pytest.raises(IntegrityError), transaction.atomic():
        ClosedDayFactory(organisation=org, office=None, date=DAY)


def test_an_organisation_wide_and_an_office_closure_may_share_a_day() -> None:
    office = OfficeFactory()
    org = office.organisation
    ClosedDayFactory(organisation=org, office=None, date=DAY)
    ClosedDayFactory(organisation=org, office=office, date=DAY)
    ClosedDayFactory(organisation=org, office=OfficeFactory(organisation=org), date=DAY)
    assert ClosedDay.objects.filter(organisation=org, date=DAY).count() == 3


def test_full_clean_reports_a_duplicate_organisation_closure() -> None:
    org = OrganisationFactory()
    ClosedDayFactory(organisation=org, office=None, date=DAY)
    duplicate = ClosedDay(organisation=org, office=None, date=DAY, reason="again")
    with pytest.raises(ValidationError):
        duplicate.full_clean()
