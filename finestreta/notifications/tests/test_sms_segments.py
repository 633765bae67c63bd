"""Counting SMS segments the way the network does (3GPP TS 23.038)."""

from __future__ import annotations

from finestreta.notifications.sms import GSM7, UCS2, is_gsm7, segments


def test_the_gsm_alphabet_has_some_accented_letters_and_not_others() -> None:
    assert is_gsm7("àèéìòù ÄÖÑÜäöñü Ç")
    for char in "áíóúçï·’":
        assert not is_gsm7(char), char


def test_plain_text_fits_160_characters_in_one_sms_and_153_per_part_after() -> None:
    assert segments("a" * 160) == (GSM7, 1)
    assert segments("a" * 161) == (GSM7, 2)
    assert segments("a" * 306) == (GSM7, 2)
    assert segments("a" * 307) == (GSM7, 3)


def test_characters_of_the_extension_table_count_twice() -> None:
    assert segments("€" * 80) == (GSM7, 1)
    assert segments("€" * 81) == (GSM7, 2)
    assert segments("a" * 158 + "[") == (GSM7, 1)
    assert segments("a" * 159 + "[") == (GSM7, 2)


def test_an_escape_sequence_is_not_split_between_two_parts() -> None:
    # 152 septets then a two-septet character: it moves whole to the second part.
    assert segments("a" * 152 + "€" + "a" * 152) == (GSM7, 3)
    assert segments("a" * 151 + "€" + "a" * 153) == (GSM7, 2)


def test_one_character_outside_the_alphabet_makes_it_ucs2_with_70_and_67() -> None:
    assert segments("ó" + "a" * 69) == (UCS2, 1)
    assert segments("ó" + "a" * 70) == (UCS2, 2)
    assert segments("ç" * 134) == (UCS2, 2)
    assert segments("ç" * 135) == (UCS2, 3)


def test_characters_beyond_the_basic_plane_take_two_units_and_are_not_split() -> None:
    assert segments("😀" * 35) == (UCS2, 1)
    assert segments("😀" * 36) == (UCS2, 2)
    assert segments("a" * 66 + "😀" + "a" * 66) == (UCS2, 3)


def test_an_empty_text_is_one_sms() -> None:
    assert segments("") == (GSM7, 1)


def test_quiet_hours_end_at_nine_local_time_on_the_night_the_clocks_go_forward() -> None:
    import datetime as dt

    from finestreta.notifications.sms import end_of_quiet_hours

    night = dt.datetime(2026, 3, 28, 22, 0, tzinfo=dt.UTC)  # 23:00 CET
    end = end_of_quiet_hours(
        night, time_zone="Europe/Madrid", quiet_from=dt.time(21), quiet_until=dt.time(9)
    )
    assert end == dt.datetime(2026, 3, 29, 7, 0, tzinfo=dt.UTC)  # 09:00 CEST
    same = end_of_quiet_hours(
        night, time_zone="Europe/Madrid", quiet_from=dt.time(9), quiet_until=dt.time(9)
    )
    assert same is None  # equal bounds: no quiet hours
