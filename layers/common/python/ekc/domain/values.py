"""Meter values: how typed text becomes a reading, and the warnings a saved reading carries.

Whether a value is plausible for its meter is `ekc.domain.plausibility`'s to judge.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from ekc.exceptions import InvalidValue

MAX_DECIMALS = 3
# No meter's dial has more: a longer number is a slip of the finger, not a reading to confirm.
MAX_INTEGER_DIGITS = 9
QUANTUM = Decimal("0.001")
# Spaces may group thousands ("6 116,255"), as people write long numbers, and nothing else:
# "105 7" is two numbers, not 1057. Any of the spaces a phone's keyboard or a copy-paste may give.
_SPACES = "[ \u00a0\u202f\u2009]"
_NUMBER = re.compile(
    rf"^(?P<int>[0-9]{{1,3}}(?:{_SPACES}[0-9]{{3}})+|[0-9]+)(?:[.,](?P<frac>[0-9]*))?$"  # ASCII digits
)


def parse_value(text: str) -> Decimal:
    """Turn '6116,255', '6116.255' or '6 116,255' into Decimal('6116.255'), or refuse with a reason code.

    How many digits the meter's dial has is not checked here: a value longer than the dial is a
    question for the resident (`plausibility`), not a refusal.
    """
    cleaned = text.strip()
    if not cleaned:
        raise InvalidValue("value_empty")
    if cleaned.startswith(("-", "\u2212")):
        raise InvalidValue("value_negative")
    match = _NUMBER.match(cleaned)
    if match is None:
        raise InvalidValue("value_not_number")
    fraction = match["frac"] or ""
    if len(fraction) > MAX_DECIMALS:
        raise InvalidValue("value_too_many_decimals")
    integer = re.sub(_SPACES, "", match["int"])
    if len(integer.lstrip("0")) > MAX_INTEGER_DIGITS:
        raise InvalidValue("value_too_long", digits=MAX_INTEGER_DIGITS)
    return Decimal(f"{integer}.{fraction or '0'}").quantize(QUANTUM)


def parse_amount(text: str) -> Decimal | None:
    """A bot's monthly amount: a non-negative number with at most 3 decimals; None when left empty."""
    if not text.strip():
        return None
    try:
        return parse_value(text)
    except InvalidValue as exc:
        raise InvalidValue("bad_amount") from exc


def format_value(value: Decimal) -> str:
    """Always three decimals, as the seed shows readings: 6116.000."""
    return str(value.quantize(QUANTUM))


class WarningCode(StrEnum):
    """What a resident should know about a reading that was nevertheless accepted."""

    LOWER_THAN_PREVIOUS = "lower_than_previous"  # numbers: value, previous
    ROLLOVER = "rollover"  # numbers: maximum, consumption
    CONFIRMED_HIGH = "confirmed_high"  # numbers: consumption (and usual, when known)
    CONFIRMED_DIGITS = "confirmed_digits"  # more integer digits than the dial on record; numbers: digits
    OPENING = "opening"  # a new or re-sealed meter's first reading, taken by the operator


@dataclass(frozen=True, slots=True)
class Warning:
    """A warning with the numbers a channel needs to word it (previous, maximum, consumption...)."""

    code: WarningCode
    numbers: dict[str, Decimal] = field(default_factory=dict)


def maximum(digits: int) -> Decimal:
    """The largest value a meter with this many integer digits shows."""
    return Decimal(10**digits) - QUANTUM
