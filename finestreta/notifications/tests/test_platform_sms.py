"""The platform's own SMS texts, in every language, fit in two SMS with a link as long as a real
one (the encoding counted: one character outside GSM-7 halves the room)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.template.loader import render_to_string
from django.utils import translation

from finestreta.notifications.sms import segments

LINK = "https://cita.administracio.example/organisme-llarg/appointment/ABCD2345-x7k2mq9p4rt8vw3n/"
KINDS = [
    "booking_confirmed",
    "booking_moved",
    "booking_cancelled",
    "reminder",
    "waiting_list_offer",
    "verification_code",
    "identity_code",
    "signature_code",
    "consent_code",
    "receipt",
    "video_join_link",
    "queue_your_turn",
    "survey",
]


class Named:
    name = "Generalitat de Catalunya"


class Booked:
    starts_at = dt.datetime(2026, 12, 31, 17, 30, tzinfo=dt.UTC)
    hold_expires_at = starts_at
    code = "ABCD2345"


@pytest.mark.parametrize("language", ["ca", "es", "oc", "en"])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("video", [False, True])
def test_each_platform_sms_fits_two_segments(language: str, kind: str, video: bool) -> None:
    with translation.override(language):
        text = render_to_string(
            f"notifications/{kind}.sms.txt",
            {
                "organisation": Named(),
                "appointment": Booked(),
                "manage_url": LINK,
                "book_url": LINK,
                "waiting_url": LINK,
                "join_url": LINK.replace("appointment", "video") if video else "",
                "code": "123456",
                "verification_code": "K7QH-2M9X-D4TR-8WBC",
                "verify_url": "https://cita.administracio.example/organisme-llarg/verify/K7QH2M9XD4TR8WBC/",
                "survey_url": LINK.replace("appointment", "survey"),
            },
        )
    encoding, count = segments(" ".join(text.split()))
    assert count <= 2, (language, kind, encoding, text)
