"""Pure SMS rules: how many segments a text costs, and when an SMS may leave (quiet hours).

No ORM and no settings here: callers pass the organisation's values in.

Segments follow 3GPP TS 23.038 (GSM 03.38): a text made only of the GSM-7 default alphabet, where
the characters of the extension table cost two septets (an escape and the character), fits 160
septets in one SMS and 153 per part when concatenated (the user data header takes the rest). Any
other character turns the whole text into UCS-2: 70 UTF-16 code units alone, 67 per part. A part
never splits an escape sequence or a surrogate pair, as phones and gateways do.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

GSM7 = "GSM-7"
UCS2 = "UCS-2"

# The GSM 03.38 default alphabet, in table order (0x00–0x7F); 0x1B is the escape to the
# extension table and is not a character of its own. Note 0x09 is the capital "Ç" and there is
# no lower-case "ç"; "à", "è", "é", "ì", "ò", "ù" are in, "á", "í", "ó", "ú", "ç", "·" are not.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The extension table: each costs an escape plus itself.
GSM7_EXTENDED = frozenset("\f^{}\\[~]|€")

GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67

# Without a settings row an organisation sends no SMS from 21:00 to 09:00, local time.
DEFAULT_QUIET_FROM = dt.time(21)
DEFAULT_QUIET_UNTIL = dt.time(9)


def is_gsm7(text: str) -> bool:
    """True when every character is in the GSM-7 default alphabet or its extension table."""
    return all(char in GSM7_BASIC or char in GSM7_EXTENDED for char in text)


def _units(text: str, encoding: str) -> list[int]:
    """The cost of each character: septets for GSM-7, UTF-16 code units for UCS-2."""
    if encoding == GSM7:
        return [2 if char in GSM7_EXTENDED else 1 for char in text]
    return [2 if ord(char) > 0xFFFF else 1 for char in text]


def _parts(units: list[int], per_part: int) -> int:
    """Parts needed when characters are packed in order and none is split between two parts."""
    parts, used = 1, 0
    for cost in units:
        if used + cost > per_part:
            parts, used = parts + 1, 0
        used += cost
    return parts


def segments(text: str) -> tuple[str, int]:
    """The encoding a phone network would use for `text`, and how many SMS it takes.
    An empty text is still one SMS."""
    encoding = GSM7 if is_gsm7(text) else UCS2
    units = _units(text, encoding)
    single, per_part = (GSM7_SINGLE, GSM7_PART) if encoding == GSM7 else (UCS2_SINGLE, UCS2_PART)
    if sum(units) <= single:
        return encoding, 1
    return encoding, _parts(units, per_part)


def end_of_quiet_hours(
    moment: dt.datetime, *, time_zone: str, quiet_from: dt.time, quiet_until: dt.time
) -> dt.datetime | None:
    """When `moment` falls inside the quiet window (local wall-clock time in `time_zone`,
    from `quiet_from` included to `quiet_until` excluded, possibly across midnight), the instant
    the window ends; otherwise None. Equal bounds mean no quiet hours."""
    if quiet_from == quiet_until:
        return None
    zone = ZoneInfo(time_zone)
    local = moment.astimezone(zone)
    clock = local.time().replace(tzinfo=None)
    day = local.date()
    if quiet_from < quiet_until:  # e.g. 13:00–15:00, within one day
        inside = quiet_from <= clock < quiet_until
    else:  # e.g. 21:00–09:00, across midnight
        inside = clock >= quiet_from or clock < quiet_until
        if clock >= quiet_from:
            day += dt.timedelta(days=1)  # the window ends tomorrow morning
    if not inside:
        return None
    return dt.datetime.combine(day, quiet_until, tzinfo=zone).astimezone(dt.UTC)
