"""What the phone says: numbers, quantities, digits and dates in Ukrainian words, for text-to-speech.

Decimals are said with "кома" and the fraction digits as a number ("двісті один кома п'ять",
"шість кома нуль п'ять"): the digits on the dial in order, one short form for every value, and no
fraction-scale agreement ("п'ять десятих", "двадцять п'ять сотих") for a listener to decode.
num2words is imported on the first read-back, not with the module: a call's first steps read no number.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date, datetime, time
from decimal import Decimal
from typing import NamedTuple

from ekc.channels.ukrainian import plural
from ekc.domain.kinds import Unit
from ekc.domain.windows import KYIV

DIGIT_NAMES = ("нуль", "один", "два", "три", "чотири", "п'ять", "шість", "сім", "вісім", "дев'ять")


class UnitForms(NamedTuple):
    """A unit's forms after a number: one, few (2-4), many (5+, teens, 0), and after a fraction."""

    one: str
    few: str
    many: str
    fraction: str  # the genitive singular: "двісті один кома п'ять кубічного метра"
    feminine: bool  # "одна кіловат-година", "дві гігакалорії"


UNITS: dict[Unit, UnitForms] = {
    Unit.CUBIC_METRE: UnitForms(
        "кубічний метр", "кубічні метри", "кубічних метрів", "кубічного метра", feminine=False
    ),
    Unit.KILOWATT_HOUR: UnitForms(
        "кіловат-година", "кіловат-години", "кіловат-годин", "кіловат-години", feminine=True
    ),
    Unit.GIGACALORIE: UnitForms("гігакалорія", "гігакалорії", "гігакалорій", "гігакалорії", feminine=True),
}


@functools.cache
def _num2words() -> Callable[..., str]:
    from num2words import num2words

    return num2words


def _cardinal(n: int, *, feminine: bool = False) -> str:
    return _num2words()(n, lang="uk", gender="feminine" if feminine else "masculine")


def _split(value: Decimal) -> tuple[int, str]:
    """The whole part and the fraction digits without trailing zeros: 201.500 -> (201, '5')."""
    if not value.is_finite() or value < 0:
        raise ValueError(f"not a reading: {value}")
    whole, _, fraction = f"{value:f}".partition(".")
    return int(whole), fraction.rstrip("0")


def _fraction_words(digits: str) -> str:
    """'05' -> 'нуль п'ять', '255' -> 'двісті п'ятдесят п'ять': leading zeros said one by one."""
    rest = digits.lstrip("0")
    zeros = ["нуль"] * (len(digits) - len(rest))
    return " ".join([*zeros, _cardinal(int(rest))] if rest else zeros)


def say_number(value: Decimal) -> str:
    """A non-negative number in words: 'двісті один', 'шість кома двісті п'ятдесят п'ять'."""
    whole, fraction = _split(value)
    words = _cardinal(whole)
    return f"{words} кома {_fraction_words(fraction)}" if fraction else words


def say_quantity(value: Decimal, unit: Unit | str) -> str:
    """A number with its unit in the form Ukrainian asks for after it: 'дві кіловат-години'.

    `unit` is a `Unit`, its code ("m3") or a stored symbol ("м³", "кВт·год", "Гкал").
    """
    try:
        forms = UNITS[Unit.parse(unit)]
    except KeyError as exc:
        raise ValueError(f"unknown unit {unit!r}") from exc
    whole, fraction = _split(value)
    if fraction:
        return f"{say_number(value)} {forms.fraction}"
    return f"{_cardinal(whole, feminine=forms.feminine)} {plural(whole, forms.one, forms.few, forms.many)}"


def say_digits(text: str) -> str:
    """An account number digit by digit: '77777' -> 'сім, сім, сім, сім, сім' (spaces and dashes skipped)."""
    names = []
    for char in text:
        if char.isascii() and char.isdigit():
            names.append(DIGIT_NAMES[int(char)])
        elif char not in " -./\u00a0":
            raise ValueError(f"not a digit: {char!r}")
    return ", ".join(names)


# Ordinals in the genitive (masculine/neuter): "тридцять першого липня", "дві тисячі двадцять шостого року".
_ORDINAL_UNITS = ("", "першого", "другого", "третього", "четвертого", "п'ятого", "шостого", "сьомого",
                  "восьмого", "дев'ятого")  # fmt: skip
_ORDINAL_TEENS = ("десятого", "одинадцятого", "дванадцятого", "тринадцятого", "чотирнадцятого",
                  "п'ятнадцятого", "шістнадцятого", "сімнадцятого", "вісімнадцятого",
                  "дев'ятнадцятого")  # fmt: skip
_ORDINAL_TENS = ("", "", "двадцятого", "тридцятого", "сорокового", "п'ятдесятого", "шістдесятого",
                 "сімдесятого", "вісімдесятого", "дев'яностого")  # fmt: skip
_CARDINAL_TENS = ("", "", "двадцять", "тридцять", "сорок", "п'ятдесят", "шістдесят", "сімдесят", "вісімдесят",
                  "дев'яносто")  # fmt: skip
MONTHS_GENITIVE = ("", "січня", "лютого", "березня", "квітня", "травня", "червня", "липня", "серпня",
                   "вересня", "жовтня", "листопада", "грудня")  # fmt: skip
# Hours as feminine ordinals in the locative: "о дев'ятій", "о двадцять третій".
_HOURS = ("нульовій", "першій", "другій", "третій", "четвертій", "п'ятій", "шостій", "сьомій", "восьмій",
          "дев'ятій", "десятій", "одинадцятій", "дванадцятій", "тринадцятій", "чотирнадцятій", "п'ятнадцятій",
          "шістнадцятій", "сімнадцятій", "вісімнадцятій", "дев'ятнадцятій", "двадцятій", "двадцять першій",
          "двадцять другій", "двадцять третій")  # fmt: skip


def _ordinal_genitive(n: int) -> str:
    """1..99 as an ordinal in the genitive: 1 'першого', 31 'тридцять першого', 40 'сорокового'."""
    if not 1 <= n <= 99:
        raise ValueError(f"ordinal out of range: {n}")
    if n < 10:
        return _ORDINAL_UNITS[n]
    if n < 20:
        return _ORDINAL_TEENS[n - 10]
    tens, unit = divmod(n, 10)
    return f"{_CARDINAL_TENS[tens]} {_ORDINAL_UNITS[unit]}" if unit else _ORDINAL_TENS[tens]


def say_date(day: date, *, with_year: bool = False) -> str:
    """'тридцять першого липня' (and 'дві тисячі двадцять шостого року' with the year, 2001-2099)."""
    words = f"{_ordinal_genitive(day.day)} {MONTHS_GENITIVE[day.month]}"
    if not with_year:
        return words
    century, rest = divmod(day.year, 100)
    if rest == 0:
        raise ValueError(f"year not supported: {day.year}")
    return f"{words} {_cardinal(century * 100)} {_ordinal_genitive(rest)} року"


def say_time(moment: time) -> str:
    """'о дев'ятій годині', 'о двадцять третій годині п'ятдесят дев'ять хвилин', 'опівночі'."""
    if moment.hour == 0 and moment.minute == 0:
        return "опівночі"
    words = f"о {_HOURS[moment.hour]} годині"
    if moment.minute:
        minutes = plural(moment.minute, "хвилина", "хвилини", "хвилин")
        words += f" {_cardinal(moment.minute, feminine=True)} {minutes}"
    return words


def say_datetime(moment: datetime) -> str:
    """A date and time in Kyiv: 'тридцять першого липня о дев'ятій годині' (aware times are converted)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(KYIV)
    return f"{say_date(moment.date())} {say_time(moment.time())}"
