"""What the phone says: numbers, quantities with their units, digits and dates in Ukrainian words."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ekc.channels.ukrainian import plural
from ekc.domain.kinds import KINDS, Unit
from ekc.speech.numbers import interpret_number
from ekc.speech.readback import UNITS, say_date, say_datetime, say_digits, say_number, say_quantity, say_time


@pytest.mark.parametrize(
    ("n", "expected"),
    [(0, "цифр"), (1, "цифру"), (2, "цифри"), (4, "цифри"), (5, "цифр"), (11, "цифр"), (12, "цифр"),
     (14, "цифр"), (21, "цифру"), (22, "цифри"), (25, "цифр"), (101, "цифру"), (111, "цифр"), (112, "цифр"),
     (1000, "цифр"), (-1, "цифру")],
)  # fmt: skip
def test_speech_plural_agrees_with_the_count(n: int, expected: str) -> None:
    # Given a count (the read-back's units rest on the channels' shared plural)
    # When the noun's form is chosen
    # Then it follows Ukrainian agreement (1, 21, 101: one; 2-4, 22: few; 0, 5-20, 11-14, 111: many)
    assert plural(n, "цифру", "цифри", "цифр") == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0", "нуль"),
        ("1", "один"),
        ("201", "двісті один"),
        ("6116", "шість тисяч сто шістнадцять"),
        ("2352", "дві тисячі триста п'ятдесят два"),
        ("1000", "одна тисяча"),
        ("201.5", "двісті один кома п'ять"),
        ("201.500", "двісті один кома п'ять"),
        ("201.000", "двісті один"),
        ("6.255", "шість кома двісті п'ятдесят п'ять"),
        ("6.25", "шість кома двадцять п'ять"),
        ("6.05", "шість кома нуль п'ять"),
        ("6.005", "шість кома нуль нуль п'ять"),
        ("0.5", "нуль кома п'ять"),
        (
            "99999.999",
            "дев'яносто дев'ять тисяч дев'ятсот дев'яносто дев'ять кома дев'ятсот дев'яносто дев'ять",
        ),
    ],
)
def test_speech_say_number(value: str, expected: str) -> None:
    # Given a reading
    # When it is put into words
    # Then the whole part is said as a number and the decimals after "кома", leading zeros one by one
    assert say_number(Decimal(value)) == expected


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        ("201", "м³", "двісті один кубічний метр"),
        ("1", "м³", "один кубічний метр"),
        ("2", "м³", "два кубічні метри"),
        ("24", "м³", "двадцять чотири кубічні метри"),
        ("5", "м³", "п'ять кубічних метрів"),
        ("11", "м³", "одинадцять кубічних метрів"),
        ("0", "м³", "нуль кубічних метрів"),
        ("6116", "м³", "шість тисяч сто шістнадцять кубічних метрів"),
        ("201.5", "м³", "двісті один кома п'ять кубічного метра"),
        ("6.255", "м³", "шість кома двісті п'ятдесят п'ять кубічного метра"),
        ("1", "кВт·год", "одна кіловат-година"),
        ("2", "кВт·год", "дві кіловат-години"),
        ("201", "кВт·год", "двісті одна кіловат-година"),
        ("22", "кВт·год", "двадцять дві кіловат-години"),
        ("6116", "кВт·год", "шість тисяч сто шістнадцять кіловат-годин"),
        ("12", "кВт·год", "дванадцять кіловат-годин"),
        ("201.5", "кВт·год", "двісті один кома п'ять кіловат-години"),
        ("1", "Гкал", "одна гігакалорія"),
        ("3", "Гкал", "три гігакалорії"),
        ("7", "Гкал", "сім гігакалорій"),
        ("2.7", "Гкал", "два кома сім гігакалорії"),
        ("2000", "кВт·год", "дві тисячі кіловат-годин"),
    ],
)
def test_speech_say_quantity_puts_the_unit_in_its_form(value: str, unit: str, expected: str) -> None:
    # Given a reading and its meter's unit
    # When it is put into words
    # Then the unit agrees with the number (and the gender of "година", "гігакалорія")
    assert say_quantity(Decimal(value), unit) == expected


def test_speech_say_quantity_knows_every_unit_of_the_domain() -> None:
    # Given the units the meter kinds use
    units = {info.unit for info in KINDS.values()}
    # When a value of each is said, by the unit, its code, or the symbol stored by earlier versions
    # Then each has its forms, and an unknown unit is refused
    assert units <= set(UNITS) == set(Unit)
    assert (
        say_quantity(Decimal(2), Unit.KILOWATT_HOUR)
        == say_quantity(Decimal(2), "kWh")
        == "дві кіловат-години"
    )
    with pytest.raises(ValueError, match="unknown unit"):
        say_quantity(Decimal(1), "л")


def test_speech_say_number_refuses_what_is_no_reading() -> None:
    # Given a negative or an infinite value
    # When it is put into words
    # Then the read-back refuses rather than say something wrong
    for value in (Decimal(-1), Decimal("Infinity"), Decimal("NaN")):
        with pytest.raises(ValueError):
            say_number(value)


@settings(max_examples=300, deadline=None)
@given(value=st.decimals(min_value=0, max_value=Decimal("999999999.999"), places=3))
def test_speech_read_back_is_understood_by_the_interpreter(value: Decimal) -> None:
    # Given any reading, said as the robot says it
    spoken = say_number(value)
    # When a caller repeats those very words
    heard = interpret_number(spoken)
    # Then they mean the same value
    assert heard.value == value, spoken


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("77777", "сім, сім, сім, сім, сім"),
        ("0123456789", "нуль, один, два, три, чотири, п'ять, шість, сім, вісім, дев'ять"),
        ("77 777", "сім, сім, сім, сім, сім"),
        ("002352", "нуль, нуль, два, три, п'ять, два"),
    ],
)
def test_speech_say_digits(text: str, expected: str) -> None:
    # Given an account or meter number
    # When it is read back
    # Then it is said digit by digit, with pauses between
    assert say_digits(text) == expected


def test_speech_say_digits_refuses_letters() -> None:
    # Given text that is not all digits
    # When it is read back
    # Then nothing half-right is said
    with pytest.raises(ValueError):
        say_digits("77a77")


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 7, 31), "тридцять першого липня"),
        (date(2026, 1, 1), "першого січня"),
        (date(2026, 2, 2), "другого лютого"),
        (date(2026, 3, 3), "третього березня"),
        (date(2026, 4, 10), "десятого квітня"),
        (date(2026, 5, 11), "одинадцятого травня"),
        (date(2026, 6, 20), "двадцятого червня"),
        (date(2026, 8, 23), "двадцять третього серпня"),
        (date(2026, 9, 30), "тридцятого вересня"),
        (date(2026, 10, 7), "сьомого жовтня"),
        (date(2026, 11, 8), "восьмого листопада"),
        (date(2026, 12, 25), "двадцять п'ятого грудня"),
    ],
)
def test_speech_say_date(day: date, expected: str) -> None:
    # Given a day a window opens or closes
    # When it is said ("з ..." / "до ...")
    # Then the day is an ordinal and the month is in the genitive
    assert say_date(day) == expected


def test_speech_say_date_with_year() -> None:
    # Given a date whose year matters
    # When it is said with the year
    # Then the year is an ordinal in the genitive too
    assert say_date(date(2026, 8, 1), with_year=True) == "першого серпня дві тисячі двадцять шостого року"


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (time(0, 0), "опівночі"),
        (time(9, 0), "о дев'ятій годині"),
        (time(21, 0), "о двадцять першій годині"),
        (time(23, 59), "о двадцять третій годині п'ятдесят дев'ять хвилин"),
        (time(9, 1), "о дев'ятій годині одна хвилина"),
        (time(9, 22), "о дев'ятій годині двадцять дві хвилини"),
        (time(0, 30), "о нульовій годині тридцять хвилин"),
    ],
)
def test_speech_say_time(moment: time, expected: str) -> None:
    # Given a time of day
    # When it is said
    # Then the hour is a feminine ordinal ("о дев'ятій") and minutes agree with their count
    assert say_time(moment) == expected


def test_speech_say_datetime_speaks_kyiv_time() -> None:
    # Given a window that opens at midnight in Kyiv, stored in UTC (21:00 the day before, in summer)
    opens = datetime(2026, 7, 31, 21, 0, tzinfo=UTC)
    # When it is said
    # Then it is the Kyiv date and time
    assert say_datetime(opens) == "першого серпня опівночі"
    assert (
        say_datetime(datetime(2026, 8, 5, 23, 59))
        == "п'ятого серпня о двадцять третій годині п'ятдесят дев'ять хвилин"
    )
