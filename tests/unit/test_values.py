"""Meter values: typed text to a reading, and a bot's amount."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from ekc.domain.values import format_value, parse_amount, parse_value
from ekc.exceptions import InvalidRequest, InvalidValue
from tests.unit.texts import error_text

CYRILLIC = re.compile(r"[А-Яа-яІіЇїЄєҐґ]")


# ---- parse_value: what residents type --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("6116", Decimal("6116.000")),
        ("6.255", Decimal("6.255")),
        ("6,255", Decimal("6.255")),
        ("6116.255", Decimal("6116.255")),
        ("6116,255", Decimal("6116.255")),
        ("6116.2", Decimal("6116.200")),
        ("6116.", Decimal("6116.000")),
        ("  6116  ", Decimal("6116.000")),
        ("6 116,255", Decimal("6116.255")),
        ("6\u00a0116.5", Decimal("6116.500")),  # a no-break space, as phones and spreadsheets insert
        ("6\u202f116", Decimal("6116.000")),  # a narrow no-break space, as some keyboards group
        ("12 345 678", Decimal("12345678.000")),
        ("123456", Decimal("123456.000")),  # more digits than a 5-digit dial: a question, not a refusal
        ("999999999.999", Decimal("999999999.999")),
        ("007254", Decimal("7254.000")),
        ("0000000000123", Decimal("123.000")),  # leading zeros are not digits of the dial
        ("0", Decimal("0.000")),
        ("0.000", Decimal("0.000")),
        ("99999.999", Decimal("99999.999")),
    ],
)
def test_parse_value_accepts_what_residents_type(text: str, expected: Decimal) -> None:
    # Given a reading typed with a dot or a comma, thousands groups or leading zeros
    # When it is parsed
    value = parse_value(text)
    # Then it is the exact decimal, with three decimals
    assert value == expected
    assert value.as_tuple().exponent == -3


def test_parse_value_keeps_litres_exact() -> None:
    # Given the seed's example: 6 m³ and 255 litres
    # When it is parsed
    value = parse_value("6.255")
    # Then no binary floating point crept in
    assert isinstance(value, Decimal)
    assert str(value) == "6.255"
    assert format_value(value) == "6.255"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "value_empty"),
        ("   ", "value_empty"),
        ("\u00a0", "value_empty"),
        ("-5", "value_negative"),
        ("-0.5", "value_negative"),
        (" - 5", "value_negative"),
        ("abc", "value_not_number"),
        ("1e3", "value_not_number"),
        ("1.2.3", "value_not_number"),
        ("1,2,3", "value_not_number"),
        ("1.2,3", "value_not_number"),
        ("+5", "value_not_number"),
        (".5", "value_not_number"),
        ("5 м³", "value_not_number"),
        ("NaN", "value_not_number"),
        ("Infinity", "value_not_number"),
        ("0x10", "value_not_number"),
        ("6.2555", "value_too_many_decimals"),
        ("6,2555", "value_too_many_decimals"),
        ("0.0001", "value_too_many_decimals"),
        ("105 7", "value_not_number"),  # two numbers, not 1057: spaces only group thousands
        ("1 05", "value_not_number"),
        ("6116 ,5", "value_not_number"),
        ("1 2345", "value_not_number"),
        ("1234 567", "value_not_number"),
        ("١٢٣", "value_not_number"),  # Arabic-Indic digits
        ("１２３", "value_not_number"),  # fullwidth digits
        ("\u22125", "value_negative"),  # the minus sign, not the hyphen
        ("1234567890", "value_too_long"),
    ],
)
def test_parse_value_refuses_with_a_specific_ukrainian_reason(text: str, code: str) -> None:
    # Given something that is not a reading
    # When it is parsed
    with pytest.raises(InvalidValue) as caught:
        parse_value(text)
    # Then the refusal names its reason by a stable code and in Ukrainian
    assert caught.value.code == code
    assert CYRILLIC.search(error_text(caught.value)), error_text(caught.value)
    assert isinstance(caught.value, InvalidRequest)


def test_parse_value_refuses_a_fourth_decimal_with_the_ukrainian_message() -> None:
    # Given a value with litres and a tenth of a litre
    # When it is parsed
    with pytest.raises(InvalidValue) as caught:
        parse_value("6.2555")
    # Then the resident is told at most 3 digits may follow the dot
    assert caught.value.code == "value_too_many_decimals"
    assert (
        error_text(caught.value)
        == "Після коми чи крапки можна ввести не більше 3 цифр (літри або ват-години)."
    )


def test_parse_amount_refuses_with_its_own_code() -> None:
    # Given a bot's monthly amount that is not a number
    # When it is parsed
    with pytest.raises(InvalidValue) as caught:
        parse_amount("багато")
    # Then the refusal speaks of the amount, not of a reading, and keeps the reason as its cause
    assert caught.value.code == "bad_amount"
    assert CYRILLIC.search(error_text(caught.value))
    assert isinstance(caught.value.__cause__, InvalidValue)
    assert caught.value.__cause__.code == "value_not_number"


@pytest.mark.parametrize(("text", "expected"), [("0", Decimal("0.000")), ("12,5", Decimal("12.500"))])
def test_parse_amount_accepts_zero_and_commas(text: str, expected: Decimal) -> None:
    # Given an amount (0 when nobody lives there)
    # When it is parsed / Then it is exact
    assert parse_amount(text) == expected


@pytest.mark.parametrize("text", ["", "   "])
def test_parse_amount_left_empty_is_none_not_zero(text: str) -> None:
    # Given an amount field left empty / Then it is no amount at all, never a silent 0
    assert parse_amount(text) is None


@pytest.mark.parametrize(
    ("value", "text"),
    [(Decimal(6116), "6116.000"), (Decimal("6.25"), "6.250"), (Decimal("0"), "0.000")],
)
def test_format_value_always_shows_three_decimals(value: Decimal, text: str) -> None:
    # Given a value / When it is shown / Then it has three decimals, as the seed shows readings
    assert format_value(value) == text
