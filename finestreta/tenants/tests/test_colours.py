"""WCAG 2.1 contrast arithmetic: the numbers behind the brand colour rule."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from finestreta.tenants.colours import (
    AA_NORMAL_TEXT,
    contrast_ratio,
    passes_aa_on_white,
    relative_luminance,
)

hex_colours = st.integers(min_value=0, max_value=0xFFFFFF).map(lambda n: f"#{n:06x}")


def test_the_lightest_grey_that_passes_aa_on_white_is_767676() -> None:
    assert contrast_ratio("#767676") == pytest.approx(4.54, abs=0.01)
    assert passes_aa_on_white("#767676")


def test_one_step_lighter_grey_777777_fails_aa_on_white() -> None:
    assert contrast_ratio("#777777") == pytest.approx(4.48, abs=0.01)
    assert contrast_ratio("#777777") < AA_NORMAL_TEXT
    assert not passes_aa_on_white("#777777")


def test_black_on_white_is_21_to_1() -> None:
    assert contrast_ratio("#000000") == pytest.approx(21.0)
    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21.0)


def test_white_on_white_is_1_to_1() -> None:
    assert contrast_ratio("#ffffff") == pytest.approx(1.0)
    assert not passes_aa_on_white("#ffffff")


def test_upper_and_lower_case_hex_digits_give_the_same_ratio() -> None:
    assert contrast_ratio("#005A9C") == contrast_ratio("#005a9c")


def test_the_default_brand_colour_passes_aa() -> None:
    assert passes_aa_on_white("#005a9c")


def test_relative_luminance_runs_from_black_to_white() -> None:
    assert relative_luminance("#000000") == pytest.approx(0.0)
    assert relative_luminance("#ffffff") == pytest.approx(1.0)


@pytest.mark.parametrize(
    "bad",
    ["", "005a9c", "#05a", "#005a9", "#005a9cc", "#gggggg", "rgb(0,0,0)", " #005a9c", "#005a9c\n"],
)
def test_it_raises_value_error_for_a_colour_that_is_not_rrggbb(bad: str) -> None:
    with pytest.raises(ValueError, match="#rrggbb"):
        contrast_ratio(bad)


def test_it_raises_value_error_for_a_bad_background_too() -> None:
    with pytest.raises(ValueError):
        contrast_ratio("#000000", "white")


@given(hex_colours, hex_colours)
def test_contrast_ratio_is_symmetric_and_between_1_and_21(first: str, second: str) -> None:
    ratio = contrast_ratio(first, second)
    assert ratio == pytest.approx(contrast_ratio(second, first))
    assert 1.0 <= ratio <= 21.0 + 1e-9


@given(hex_colours)
def test_a_colour_against_itself_is_always_1_to_1(colour: str) -> None:
    assert contrast_ratio(colour, colour) == pytest.approx(1.0)
