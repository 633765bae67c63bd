"""Validators for organisation and office data, with messages in the user's language."""

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.utils.translation import gettext_lazy as _
from PIL import Image, UnidentifiedImageError

from finestreta.tenants.colours import HEX_COLOUR, contrast_ratio

# Organisation slugs share the URL space with the platform's own top-level paths.
RESERVED_SLUGS = frozenset(
    {
        "admin",
        "api",
        "accounts",
        "auth",
        "static",
        "media",
        "healthz",
        "readyz",
        "i18n",
        "staff",
        "o",
        "www",
        "login",
        "logout",
        "dev",
        "hooks",
        "metrics",
        "ws",
        "accessibility",
        "privacy",
        "favicon.ico",
        "robots.txt",
    }
)
LOGO_FORMATS = {"PNG", "JPEG", "WEBP"}
# A logo is shown a few hundred pixels wide; a larger one is a decompression bomb for every
# citizen's browser (a single-colour 9000 × 9000 PNG weighs about 250 KB, under LOGO_MAX_BYTES).
LOGO_MAX_PIXELS = 4_000_000


def validate_not_reserved_slug(value: str) -> None:
    if value.lower() in RESERVED_SLUGS:
        raise ValidationError(
            _("“%(slug)s” is reserved by the platform; choose another short name."),
            code="reserved",
            params={"slug": value},
        )


def validate_brand_colour(value: str) -> None:
    if not HEX_COLOUR.match(value or ""):
        raise ValidationError(
            _("Write the colour as # followed by six hexadecimal digits, for example #005a9c."),
            code="format",
        )
    ratio = contrast_ratio(value)
    if ratio < 4.5:
        raise ValidationError(
            _(
                "This colour has a contrast of %(ratio).2f:1 on white; accessibility (WCAG 2.1 AA) "
                "needs at least 4.5:1. Choose a darker colour."
            ),
            code="contrast",
            params={"ratio": ratio},
        )


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(
            _("“%(value)s” is not a known time zone; use a name such as Europe/Madrid."),
            code="time_zone",
            params={"value": value},
        )


def validate_logo(file: File) -> None:
    """Accept only small raster images Pillow can decode (no SVG: it can carry scripts), in
    bytes and in pixels."""
    if file.size is not None and file.size > settings.LOGO_MAX_BYTES:
        raise ValidationError(
            _("The logo is too large: the limit is %(kb)d KB."),
            code="size",
            params={"kb": settings.LOGO_MAX_BYTES // 1024},
        )
    try:
        position = file.tell()
        file.seek(0)
        with Image.open(file) as image:
            image_format = image.format
            width, height = image.size
            image.verify()
        file.seek(position)
    except Image.DecompressionBombError:
        raise ValidationError(_("The picture is too large."), code="size") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ValidationError(
            _("The logo must be a PNG, JPEG or WebP image."), code="format"
        ) from exc
    if image_format not in LOGO_FORMATS:
        raise ValidationError(_("The logo must be a PNG, JPEG or WebP image."), code="format")
    if width * height > LOGO_MAX_PIXELS:
        raise ValidationError(_("The picture is too large."), code="size")
