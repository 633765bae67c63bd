"""The admin site, scoped to the administrator's own organisation (see TenantScopedAdmin)."""

from __future__ import annotations

import datetime as dt
import io
import random
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from PIL import Image

from finestreta.accounts.models import Membership
from finestreta.catalogue.models import Service
from finestreta.tenants.models import ClosedDay, Office, Organisation
from tests.factories import (
    ClosedDayFactory,
    MembershipFactory,
    OfficeFactory,
    ServiceFactory,
    UserFactory,
)
from tests.personas import Personas, log_in

pytestmark = pytest.mark.django_db

CHANGELISTS = {
    "catalogue_service": Service,
    "tenants_office": Office,
    "accounts_membership": Membership,
    "tenants_closedday": ClosedDay,
    "tenants_organisation": Organisation,
}


def logged_in(user: object) -> Client:
    return log_in(user)  # type: ignore[arg-type]


def organisation_of(row: Any) -> Organisation:
    return row if isinstance(row, Organisation) else row.organisation


@pytest.fixture
def closed_days(personas: Personas) -> None:
    ClosedDayFactory(organisation=personas.org_a, office=None, date=dt.date(2026, 3, 2))
    ClosedDayFactory(
        organisation=personas.org_a, office=personas.office_a, date=dt.date(2026, 3, 3)
    )
    ClosedDayFactory(organisation=personas.org_b, office=None, date=dt.date(2026, 3, 2))


def changelist_rows(client: Client, name: str) -> list[Any]:
    response = client.get(reverse(f"admin:{name}_changelist"))
    assert response.status_code == 200, name
    return list(response.context["cl"].queryset)


def test_an_organisation_admin_can_open_the_admin_index(personas: Personas) -> None:
    response = logged_in(personas.admin_a).get(reverse("admin:index"))
    assert response.status_code == 200
    models = {m["object_name"] for app in response.context["app_list"] for m in app["models"]}
    assert {"Service", "Office", "Membership", "ClosedDay", "Organisation"} <= models
    assert "User" not in models
    assert "Municipality" not in models


@pytest.mark.parametrize("name", CHANGELISTS)
def test_an_organisation_admin_sees_only_their_organisations_rows(
    personas: Personas, closed_days: None, name: str
) -> None:
    rows = changelist_rows(logged_in(personas.admin_a), name)
    assert rows
    assert {organisation_of(row) for row in rows} == {personas.org_a}


MORE_ROWS = {
    "catalogue_service": lambda org, n: ServiceFactory(organisation=org),
    "tenants_office": lambda org, n: OfficeFactory(organisation=org),
    "accounts_membership": lambda org, n: MembershipFactory(organisation=org),
    "tenants_closedday": lambda org, n: ClosedDayFactory(
        organisation=org, office=None, date=dt.date(2027, 1, 10 + n)
    ),
}


@pytest.mark.parametrize("name", MORE_ROWS)
def test_a_changelist_makes_the_same_queries_for_more_rows(
    personas: Personas, closed_days: None, name: str, django_assert_num_queries
) -> None:
    client = logged_in(personas.admin_a)
    with CaptureQueriesContext(connection) as few:
        changelist_rows(client, name)
    for n in range(8):
        MORE_ROWS[name](personas.org_a, n)
    with django_assert_num_queries(len(few.captured_queries)):
        rows = changelist_rows(client, name)
    assert len(rows) >= 8


@pytest.mark.parametrize("name", CHANGELISTS)
def test_the_platform_admin_sees_every_organisations_rows(
    personas: Personas, closed_days: None, name: str
) -> None:
    rows = changelist_rows(logged_in(personas.platform_admin), name)
    assert {organisation_of(row) for row in rows} == {personas.org_a, personas.org_b}


def test_an_organisation_admin_cannot_open_another_organisations_rows(personas) -> None:
    client = logged_in(personas.admin_a)
    for obj in (personas.service_b, personas.office_b, personas.org_b):
        meta = obj._meta
        change = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
        # The admin answers a row outside the queryset with a redirect to the index.
        response = client.get(change)
        assert response.status_code == 302
        assert response["Location"] == reverse("admin:index")


def test_an_organisation_admin_cannot_add_an_organisation(personas: Personas) -> None:
    client = logged_in(personas.admin_a)
    assert client.get(reverse("admin:tenants_organisation_add")).status_code == 403
    response = client.post(reverse("admin:tenants_organisation_add"), {"slug": "nova"})
    assert response.status_code == 403
    assert not Organisation.objects.filter(slug="nova").exists()


def test_the_platform_admin_can_add_an_organisation(personas: Personas) -> None:
    client = logged_in(personas.platform_admin)
    assert client.get(reverse("admin:tenants_organisation_add")).status_code == 200


@pytest.mark.parametrize("who", ["agent_a", "supervisor_a"])
def test_staff_without_an_admin_role_are_sent_to_the_admin_login(personas, who: str) -> None:
    client = logged_in(getattr(personas, who))
    for path in (reverse("admin:index"), reverse("admin:catalogue_service_changelist")):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))


def test_an_admin_of_an_inactive_membership_has_no_admin_access(personas: Personas) -> None:
    Membership.objects.filter(user=personas.admin_a).update(is_active=False)
    response = logged_in(personas.admin_a).get(reverse("admin:index"))
    assert response["Location"].startswith(reverse("admin:login"))


def test_the_service_form_offers_only_the_own_organisation_and_its_offices(personas) -> None:
    OfficeFactory(organisation=personas.org_b, slug="segona-b")
    url = reverse("admin:catalogue_service_change", args=[personas.service_a.pk])
    response = logged_in(personas.admin_a).get(url)
    assert response.status_code == 200
    fields = response.context["adminform"].form.fields
    assert list(fields["organisation"].queryset) == [personas.org_a]
    assert list(fields["offices"].queryset) == [personas.office_a]


def test_the_service_form_offers_everything_to_the_platform_admin(personas) -> None:
    url = reverse("admin:catalogue_service_change", args=[personas.service_a.pk])
    fields = logged_in(personas.platform_admin).get(url).context["adminform"].form.fields
    assert set(fields["organisation"].queryset) == {personas.org_a, personas.org_b}
    assert set(fields["offices"].queryset) == {personas.office_a, personas.office_b}


def membership_post(membership: Membership, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "user": membership.user_id,
        "organisation": membership.organisation_id,
        "role": membership.role,
        "offices": [o.pk for o in membership.offices.all()],
        "services": [],
        "languages": membership.languages,
        "is_active": "on",
    }
    data.update(changes)
    return data


@pytest.mark.parametrize("who", ["admin_a", "platform_admin"])
def test_a_membership_of_org_a_cannot_get_an_office_of_org_b(personas, who: str) -> None:
    membership = personas.membership(personas.agent_a)
    url = reverse("admin:accounts_membership_change", args=[membership.pk])
    client = logged_in(getattr(personas, who))
    response = client.post(url, membership_post(membership, offices=[personas.office_b.pk]))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["offices"]
    assert list(membership.offices.all()) == [personas.office_a]


def test_a_membership_of_org_a_can_get_another_office_of_org_a(personas) -> None:
    membership = personas.membership(personas.agent_a)
    second = OfficeFactory(organisation=personas.org_a)
    url = reverse("admin:accounts_membership_change", args=[membership.pk])
    data = membership_post(membership, offices=[personas.office_a.pk, second.pk])
    response = logged_in(personas.admin_a).post(url, data)
    assert response.status_code == 302
    assert set(membership.offices.all()) == {personas.office_a, second}


@pytest.fixture
def office_admin(personas: Personas) -> Any:
    own = OfficeFactory(organisation=personas.org_a, slug="oficina-propia")
    user = UserFactory(username="office-admin-a")
    MembershipFactory(user=user, organisation=personas.org_a, office_admin=True).offices.add(own)
    return user


def test_an_office_admin_sees_only_their_own_office(personas, office_admin) -> None:
    rows = changelist_rows(logged_in(office_admin), "tenants_office")
    assert [office.slug for office in rows] == ["oficina-propia"]


def test_an_office_admin_sees_their_offices_and_the_organisation_wide_closed_days(
    personas, office_admin, closed_days
) -> None:
    rows = changelist_rows(logged_in(office_admin), "tenants_closedday")
    assert [(row.organisation, row.office) for row in rows] == [(personas.org_a, None)]


def test_an_office_admin_cannot_open_the_organisation_wide_models(personas, office_admin) -> None:
    client = logged_in(office_admin)
    for name in ("catalogue_service", "accounts_membership", "tenants_organisation"):
        assert client.get(reverse(f"admin:{name}_changelist")).status_code == 403


def organisation_post(organisation: Organisation, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name_ca": organisation.name_ca,
        "brand_colour": organisation.brand_colour,
        "default_language": organisation.default_language,
        "time_zone": organisation.time_zone,
        "holiday_country": organisation.holiday_country,
        "holiday_subdivision": organisation.holiday_subdivision,
        "contact_email": organisation.contact_email,
        "booking_hold_minutes": organisation.booking_hold_minutes,
        "max_active_appointments": organisation.max_active_appointments,
        "waiting_list_offer_hours": organisation.waiting_list_offer_hours,
    }
    data.update(changes)
    return data


def test_the_organisation_form_refuses_a_low_contrast_brand_colour(personas) -> None:
    url = reverse("admin:tenants_organisation_change", args=[personas.org_a.pk])
    data = organisation_post(personas.org_a, brand_colour="#ffcc00")
    response = logged_in(personas.admin_a).post(url, data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["brand_colour"]
    assert "1.51:1" in errors["brand_colour"][0]
    personas.org_a.refresh_from_db()
    assert personas.org_a.brand_colour == "#005a9c"


def test_the_organisation_form_accepts_a_dark_enough_brand_colour(personas) -> None:
    url = reverse("admin:tenants_organisation_change", args=[personas.org_a.pk])
    data = organisation_post(personas.org_a, brand_colour="#8a1538", slug="canviat")
    response = logged_in(personas.admin_a).post(url, data)
    assert response.status_code == 302
    personas.org_a.refresh_from_db()
    assert personas.org_a.brand_colour == "#8a1538"
    assert personas.org_a.slug == "org-a"  # read-only for organisation admins


def png_upload(name: str, size: tuple[int, int] = (8, 8), fmt: str = "PNG") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", size, (0, 90, 156)).save(buffer, format=fmt)
    return SimpleUploadedFile(name, buffer.getvalue())


@pytest.mark.parametrize(
    ("logo", "code"),
    [
        (lambda: SimpleUploadedFile("logo.png", b"%PDF-1.4\n%%EOF\n"), "invalid_image"),
        (
            lambda: SimpleUploadedFile("logo.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>"),
            "invalid_image",
        ),
        (lambda: png_upload("logo.png", fmt="GIF"), "format"),  # a picture of a kind not taken
        (lambda: png_upload("logo.png", (9000, 9000)), "size"),  # 81 megapixels in 250 KB
        (lambda: noisy_png_upload(512), "size"),  # 768 KB, above LOGO_MAX_BYTES
    ],
    ids=["pdf-named-png", "svg", "gif-named-png", "pixel-bomb", "too-many-bytes"],
)
def test_the_organisation_form_refuses_a_logo_of_the_wrong_type_too_big_or_a_decompression_bomb(
    personas, settings, tmp_path, logo, code
) -> None:
    settings.MEDIA_ROOT = tmp_path
    settings.LOGO_MAX_BYTES = 512 * 1024
    url = reverse("admin:tenants_organisation_change", args=[personas.org_a.pk])
    data = organisation_post(personas.org_a, logo=logo())
    response = logged_in(personas.admin_a).post(url, data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors.as_data()
    assert list(errors) == ["logo"] and code in [error.code for error in errors["logo"]]
    personas.org_a.refresh_from_db()
    assert not personas.org_a.logo and not any(tmp_path.rglob("*"))


def noisy_png_upload(side: int) -> SimpleUploadedFile:
    """A PNG that does not compress, so its weight grows with its side."""
    noise = random.Random(side).randbytes(side * side * 3)  # noqa: S311 - not for security
    buffer = io.BytesIO()
    Image.frombytes("RGB", (side, side), noise).save(buffer, format="PNG")
    return SimpleUploadedFile("logo.png", buffer.getvalue())


def test_the_organisation_form_keeps_a_small_real_logo(personas, settings, tmp_path) -> None:
    settings.MEDIA_ROOT = tmp_path
    url = reverse("admin:tenants_organisation_change", args=[personas.org_a.pk])
    data = organisation_post(personas.org_a, logo=png_upload("logo.png"))
    assert logged_in(personas.admin_a).post(url, data).status_code == 302
    personas.org_a.refresh_from_db()
    assert personas.org_a.logo.name.startswith("logos/")
    assert (tmp_path / personas.org_a.logo.name).is_file()
