"""Meter values: typed text to a reading, and what a new reading means against the last one."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from ekc.domain.kinds import KINDS, MeterKind
from ekc.domain.values import (
    Warning,
    WarningCode,
    assess,
    format_value,
    maximum,
    parse_amount,
    parse_value,
    updated_usual,
)
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
        ("007254", Decimal("7254.000")),
        ("0000000000123", Decimal("123.000")),  # leading zeros are not digits of the dial
        ("0", Decimal("0.000")),
        ("0.000", Decimal("0.000")),
        ("99999.999", Decimal("99999.999")),
    ],
)
def test_parse_value_accepts_what_residents_type(text: str, expected: Decimal) -> None:
    # Given a reading typed with a dot or a comma, spaces or leading zeros, for a 5-digit meter
    # When it is parsed
    value = parse_value(text, digits=5)
    # Then it is the exact decimal, with three decimals
    assert value == expected
    assert value.as_tuple().exponent == -3


def test_parse_value_keeps_litres_exact() -> None:
    # Given the seed's example: 6 m³ and 255 litres
    # When it is parsed
    value = parse_value("6.255", digits=5)
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
        ("123456", "value_too_many_digits"),
        ("100000.5", "value_too_many_digits"),
    ],
)
def test_parse_value_refuses_with_a_specific_ukrainian_reason(text: str, code: str) -> None:
    # Given something that is not a reading of a 5-digit meter
    # When it is parsed
    with pytest.raises(InvalidValue) as caught:
        parse_value(text, digits=5)
    # Then the refusal names its reason by a stable code and in Ukrainian
    assert caught.value.code == code
    assert CYRILLIC.search(error_text(caught.value)), error_text(caught.value)
    assert isinstance(caught.value, InvalidRequest)


def test_parse_value_refuses_a_fourth_decimal_with_the_ukrainian_message() -> None:
    # Given a value with litres and a tenth of a litre
    # When it is parsed
    with pytest.raises(InvalidValue) as caught:
        parse_value("6.2555", digits=5)
    # Then the resident is told at most 3 digits may follow the dot
    assert caught.value.code == "value_too_many_decimals"
    assert error_text(caught.value) == "Після крапки можна ввести не більше 3 цифр (літри або вати)."


@pytest.mark.parametrize("digits", [4, 5, 6, 8])
def test_parse_value_refuses_more_integer_digits_than_the_meter_has(digits: int) -> None:
    # Given a meter with `digits` integer digits
    largest = "9" * digits
    # When the largest value it shows and one digit more are parsed
    accepted = parse_value(f"{largest}.999", digits=digits)
    with pytest.raises(InvalidValue) as caught:
        parse_value("1" + "0" * digits, digits=digits)
    # Then the first is taken and the second is refused, naming the meter's digit count
    assert accepted == maximum(digits)
    assert caught.value.code == "value_too_many_digits"
    assert caught.value.params == {"digits": digits}
    assert str(digits) in error_text(caught.value)


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


@pytest.mark.parametrize(
    ("value", "text"),
    [(Decimal(6116), "6116.000"), (Decimal("6.25"), "6.250"), (Decimal("0"), "0.000")],
)
def test_format_value_always_shows_three_decimals(value: Decimal, text: str) -> None:
    # Given a value / When it is shown / Then it has three decimals, as the seed shows readings
    assert format_value(value) == text


# ---- assess: the new value against the previous one -----------------------------------------------


def test_assess_without_previous_has_nothing_to_compare() -> None:
    # Given a meter's first reading, however large
    # When it is assessed
    result = assess(Decimal("99999"), None, kind=MeterKind.GAS, digits=5, usual=None)
    # Then there is no consumption, no warning and nothing to confirm
    assert result.consumption is None
    assert result.warnings == ()
    assert result.needs_confirmation is False


def test_assess_normal_consumption_is_quiet() -> None:
    # Given a previous reading and a plausible new one
    # When it is assessed
    result = assess(Decimal("1012.255"), Decimal("1000"), kind=MeterKind.GAS, digits=5, usual=Decimal(10))
    # Then the consumption is the exact difference and nothing else is said
    assert result.consumption == Decimal("12.255")
    assert result.warnings == ()
    assert result.needs_confirmation is False


def test_assess_same_value_is_zero_consumption() -> None:
    # Given the resident duplicates the previous reading (nobody used the service)
    result = assess(Decimal("1000"), Decimal("1000"), kind=MeterKind.COLD_WATER, digits=5, usual=Decimal(3))
    # Then the consumption is zero, without warnings
    assert result.consumption == Decimal(0)
    assert result.warnings == ()
    assert result.needs_confirmation is False


def test_assess_lower_than_previous_is_accepted_with_a_warning() -> None:
    # Given a new value below the previous one, nowhere near the top of the dial
    # When it is assessed
    result = assess(Decimal("990.5"), Decimal("1000"), kind=MeterKind.GAS, digits=5, usual=Decimal(10))
    # Then it is accepted as the seed says (no confirmation), with a warning naming both values
    assert result.needs_confirmation is False
    assert result.consumption is None
    assert result.warnings == (
        Warning(WarningCode.LOWER_THAN_PREVIOUS, {"value": Decimal("990.5"), "previous": Decimal(1000)}),
    )


def test_assess_rollover_is_understood() -> None:
    # Given a 5-digit meter that showed 99990 and now shows 5
    # When the new value is assessed
    result = assess(Decimal(5), Decimal(99990), kind=MeterKind.GAS, digits=5, usual=Decimal(10))
    # Then it went round: 10 to the top and 5 after it, with a warning saying so
    assert result.consumption == Decimal(15)
    assert result.needs_confirmation is False
    assert result.warnings == (
        Warning(WarningCode.ROLLOVER, {"maximum": Decimal("99999.999"), "consumption": Decimal(15)}),
    )


def test_assess_big_rollover_still_needs_confirmation() -> None:
    # Given a rollover whose consumption is far above the usual use
    # When it is assessed
    result = assess(Decimal(5000), Decimal(99990), kind=MeterKind.GAS, digits=5, usual=Decimal(10))
    # Then it is both understood and questioned
    assert result.consumption == Decimal(5010)
    assert [w.code for w in result.warnings] == ["rollover"]
    assert result.needs_confirmation is True


@pytest.mark.parametrize(
    ("previous", "value"),
    [
        (Decimal(80000), Decimal(5)),  # previous not in the top tenth of the dial
        (Decimal(99990), Decimal(20000)),  # new value not in the bottom tenth
    ],
)
def test_assess_lower_value_far_from_the_dial_edges_is_not_a_rollover(
    previous: Decimal, value: Decimal
) -> None:
    # Given a drop that cannot be the dial going round
    # When it is assessed
    result = assess(value, previous, kind=MeterKind.GAS, digits=5, usual=Decimal(10))
    # Then it is a lower-than-previous warning, not a rollover
    assert [w.code for w in result.warnings] == ["lower_than_previous"]
    assert result.consumption is None


def test_assess_implausible_consumption_with_history_needs_confirmation() -> None:
    # Given a gas meter that usually uses 10 m³ a month and now shows 150 more
    # When the value is assessed
    result = assess(Decimal(1150), Decimal(1000), kind=MeterKind.GAS, digits=5, usual=Decimal(10))
    # Then the resident must confirm before it is saved
    assert result.consumption == Decimal(150)
    assert result.needs_confirmation is True
    assert result.warnings == ()


def test_assess_implausible_consumption_confirmed_is_taken_with_a_warning() -> None:
    # Given the same implausible value, confirmed by the resident
    # When it is assessed again
    result = assess(
        Decimal(1150), Decimal(1000), kind=MeterKind.GAS, digits=5, usual=Decimal(10), confirmed=True
    )
    # Then nothing more is asked and the history remembers it was confirmed
    assert result.needs_confirmation is False
    assert result.consumption == Decimal(150)
    assert result.warnings == (Warning(WarningCode.CONFIRMED_HIGH, {"consumption": Decimal(150)}),)


def test_assess_confirmation_of_a_plausible_value_adds_nothing() -> None:
    # Given a plausible value sent with confirmed=True (the resident ticked the box anyway)
    result = assess(
        Decimal(1005), Decimal(1000), kind=MeterKind.GAS, digits=5, usual=Decimal(10), confirmed=True
    )
    # Then there is no 'confirmed_high' warning
    assert result.warnings == ()
    assert result.needs_confirmation is False


@pytest.mark.parametrize(
    ("consumption", "needs_confirmation"),
    [(Decimal(100), False), (Decimal("100.001"), True)],
)
def test_assess_history_threshold_is_ten_times_the_usual(
    consumption: Decimal, needs_confirmation: bool
) -> None:
    # Given a usual use of 10 m³ of gas
    # When the consumption is exactly 10 times that, or a litre more
    result = assess(
        Decimal(1000) + consumption, Decimal(1000), kind=MeterKind.GAS, digits=5, usual=Decimal(10)
    )
    # Then only what is above the threshold needs confirmation
    assert result.needs_confirmation is needs_confirmation


@pytest.mark.parametrize(
    ("consumption", "needs_confirmation"),
    [(Decimal(5), False), (Decimal(20), False), (Decimal("20.001"), True)],
)
def test_assess_tiny_usual_use_is_floored_by_kind(consumption: Decimal, needs_confirmation: bool) -> None:
    # Given a cold water meter that used only 0.1 m³ a month so far (its floor is 2 m³)
    # When a month's use is assessed
    result = assess(
        Decimal(100) + consumption, Decimal(100), kind=MeterKind.COLD_WATER, digits=5, usual=Decimal("0.1")
    )
    # Then the usual use is taken as at least the floor, so 5 m³ passes without a question
    assert result.needs_confirmation is needs_confirmation


@pytest.mark.parametrize("kind", list(MeterKind))
def test_assess_without_history_uses_the_kinds_ceiling(kind: MeterKind) -> None:
    # Given a meter with a previous reading but no usual use yet
    ceiling = KINDS[kind].monthly_ceiling
    previous = Decimal(1000)
    # When the consumption is exactly the kind's ceiling, and a thousandth more
    at_ceiling = assess(previous + ceiling, previous, kind=kind, digits=6, usual=None)
    above = assess(previous + ceiling + Decimal("0.001"), previous, kind=kind, digits=6, usual=None)
    # Then only the one above the ceiling needs confirmation
    assert at_ceiling.needs_confirmation is False
    assert above.needs_confirmation is True
    assert above.consumption == ceiling + Decimal("0.001")


def test_assess_ceilings_differ_by_kind() -> None:
    # Given 100 units of use with no history
    # When assessed as gas and as cold water
    gas = assess(Decimal(1100), Decimal(1000), kind=MeterKind.GAS, digits=5, usual=None)
    water = assess(Decimal(1100), Decimal(1000), kind=MeterKind.COLD_WATER, digits=5, usual=None)
    # Then 100 m³ of gas is plausible and 100 m³ of cold water a month is not
    assert gas.needs_confirmation is False
    assert water.needs_confirmation is True


# ---- updated_usual: the running mean of monthly use -----------------------------------------------


def test_updated_usual_starts_from_the_first_consumption() -> None:
    # Given no usual use yet / When the first consumption comes / Then it is the usual use, over 1 month
    assert updated_usual(None, 0, Decimal("12.3456")) == (Decimal("12.346"), 1)


def test_updated_usual_is_a_running_mean() -> None:
    # Given months of use 10, 20 and 30
    usual, months = updated_usual(None, 0, Decimal(10))
    usual, months = updated_usual(usual, months, Decimal(20))
    assert (usual, months) == (Decimal(15), 2)
    usual, months = updated_usual(usual, months, Decimal(30))
    # Then the usual use is their mean
    assert (usual, months) == (Decimal(20), 3)


def test_updated_usual_forgets_beyond_a_year() -> None:
    # Given a year of 10 m³ a month
    usual, months = Decimal(10), 12
    # When a 13th month of 22 m³ comes
    usual, months = updated_usual(usual, months, Decimal(22))
    # Then the count stays at 12 and the new month weighs 1/12
    assert months == 12
    assert usual == Decimal(11)


def test_updated_usual_with_zero_months_restarts() -> None:
    # Given a stale usual value but no months counted (e.g. after a meter change)
    # When a consumption comes / Then it replaces the stale value
    assert updated_usual(Decimal(500), 0, Decimal(7)) == (Decimal(7), 1)


def test_updated_usual_keeps_three_decimals() -> None:
    # Given a mean that does not divide evenly
    usual, months = updated_usual(Decimal(10), 2, Decimal(11))
    # Then it is rounded to litres
    assert (usual, months) == (Decimal("10.333"), 3)
    assert usual.as_tuple().exponent == -3
