"""Stroop amounts to decimal strings and back: exact, signed, never rounded."""
import pytest

from chain.amounts import format_stroops, parse_amount


def test_a_stroop_amount_is_written_with_all_seven_places():
    assert format_stroops(123_400_000) == "12.3400000"
    assert format_stroops(1) == "0.0000001"


def test_a_negative_amount_keeps_its_sign():
    assert format_stroops(-15_000_000) == "-1.5000000"


def test_an_amount_parses_back_to_the_same_stroops():
    for stroops in (0, 1, 9_999_999, 10_000_000, 123_456_789_012, -42):
        assert parse_amount(format_stroops(stroops)) == stroops


def test_short_decimals_are_padded_not_scaled():
    assert parse_amount("12.34") == 123_400_000
    assert parse_amount("7") == 70_000_000


@pytest.mark.parametrize("text", ["1.00000001", "abc", "1.2.3", ""])
def test_anything_but_an_exact_seven_place_amount_is_refused(text):
    with pytest.raises(ValueError):
        parse_amount(text)
