"""Checking and normalising what citizens type about themselves: mobile numbers (with
`phonenumbers`) and Spanish identity documents (DNI, NIE). Shared by the web forms and the API."""

from __future__ import annotations

import re

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# The check letter of a DNI or NIE: the number modulo 23 indexes this string.
DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"
DNI = re.compile(r"^(\d{8})([A-Z])$")
NIE = re.compile(r"^([XYZ])(\d{7})([A-Z])$")
# Passports and other documents: letters and digits only, as printed.
OTHER_DOCUMENT = re.compile(r"^[A-Z0-9]{5,20}$")


def normalise_phone(value: str, *, region: str = "ES") -> str:
    """A mobile (or any valid) number in E.164, or ValidationError with a plain message.

    Numbers without a country code are read as Spanish; others need their +code."""
    text = value.strip()
    if not text:
        return ""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as error:
        raise ValidationError(
            _("Write the phone number with digits only, for example 612 345 678."),
            code="invalid_phone",
        ) from error
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(
            _(
                "This phone number does not exist. Check the digits; for a number from "
                "another country, start with + and its code."
            ),
            code="invalid_phone",
        )
    kind = phonenumbers.number_type(number)
    if kind not in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        raise ValidationError(
            _("Give a mobile number, so that we can send you text messages."),
            code="not_mobile",
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def format_phone(value: str) -> str:
    """An E.164 number written the way people read it."""
    if not value:
        return ""
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return value
    if number.country_code == 34:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def normalise_id_document(value: str) -> str:
    """A DNI or NIE with its check letter verified, or another document's number; upper case,
    without spaces or dashes."""
    text = re.sub(r"[\s.\-]", "", value).upper()
    if not text:
        return ""
    if match := DNI.match(text):
        if DNI_LETTERS[int(match[1]) % 23] != match[2]:
            raise ValidationError(
                _("The letter of this DNI does not match its number. Check it."),
                code="invalid_id_document",
            )
        return text
    if match := NIE.match(text):
        digits = "XYZ".index(match[1]), match[2]
        if DNI_LETTERS[int(f"{digits[0]}{digits[1]}") % 23] != match[3]:
            raise ValidationError(
                _("The letter of this NIE does not match its number. Check it."),
                code="invalid_id_document",
            )
        return text
    if re.match(r"^\d{7,8}$", text):
        raise ValidationError(
            _("Add the letter at the end of the DNI."), code="invalid_id_document"
        )
    if not OTHER_DOCUMENT.match(text):
        raise ValidationError(
            _("Write the document number with letters and digits only."),
            code="invalid_id_document",
        )
    return text
