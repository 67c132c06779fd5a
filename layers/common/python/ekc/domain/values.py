"""Meter values: how typed text becomes a reading, and how a new reading compares with the last one."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from ekc.domain.kinds import KINDS, MeterKind
from ekc.exceptions import InvalidValue

MAX_DECIMALS = 3
QUANTUM = Decimal("0.001")
USUAL_FACTOR = 10  # a month's use above 10x the usual one needs confirmation
_NUMBER = re.compile(r"^(?P<int>[0-9]+)(?:[.,](?P<frac>[0-9]*))?$")  # ASCII digits only


def parse_value(text: str, digits: int | None) -> Decimal:
    """Turn '6116,255' or '6116.255' into Decimal('6116.255'), or refuse with a Ukrainian reason."""
    cleaned = text.strip().replace(" ", "").replace("\u00a0", "")
    if not cleaned:
        raise InvalidValue("value_empty")
    if cleaned.startswith("-"):
        raise InvalidValue("value_negative")
    match = _NUMBER.match(cleaned)
    if match is None:
        raise InvalidValue("value_not_number")
    fraction = match["frac"] or ""
    if len(fraction) > MAX_DECIMALS:
        raise InvalidValue("value_too_many_decimals")
    if digits is not None and len(match["int"].lstrip("0")) > digits:
        raise InvalidValue("value_too_many_digits", digits=digits)
    return Decimal(f"{match['int']}.{fraction or '0'}").quantize(QUANTUM)


def parse_amount(text: str) -> Decimal:
    """A bot's monthly amount: a non-negative number with at most 3 decimals."""
    try:
        return parse_value(text, digits=9)
    except InvalidValue as exc:
        raise InvalidValue("bad_amount") from exc


def format_value(value: Decimal) -> str:
    """Always three decimals, as the seed shows readings: 6116.000."""
    return str(value.quantize(QUANTUM))


class WarningCode(StrEnum):
    """What a resident should know about a reading that was nevertheless accepted."""

    LOWER_THAN_PREVIOUS = "lower_than_previous"
    ROLLOVER = "rollover"
    CONFIRMED_HIGH = "confirmed_high"


@dataclass(frozen=True, slots=True)
class Warning:
    """A warning with the numbers a channel needs to word it (previous, maximum, consumption...)."""

    code: WarningCode
    numbers: dict[str, Decimal] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Assessment:
    """What a new value means against the previous one."""

    consumption: Decimal | None
    warnings: tuple[Warning, ...]
    needs_confirmation: bool


def maximum(digits: int) -> Decimal:
    """The largest value a meter with this many integer digits shows."""
    return Decimal(10**digits) - QUANTUM


def assess(
    value: Decimal,
    previous: Decimal | None,
    *,
    kind: MeterKind,
    digits: int | None,
    usual: Decimal | None,
    confirmed: bool = False,
) -> Assessment:
    """Consumption, warnings and whether the resident must confirm before the value is saved."""
    if previous is None:
        return Assessment(None, (), False)
    warnings: list[Warning] = []
    consumption = value - previous
    if value < previous:
        top = None if digits is None else Decimal(10**digits)
        # Previous in the top tenth of the dial and the new one in the bottom tenth: it went round.
        # With the dial unknown, nothing can be said to have gone round.
        if (
            top is not None
            and digits is not None
            and previous >= top * Decimal("0.9")
            and value < top * Decimal("0.1")
        ):
            consumption = top - previous + value
            warnings.append(
                Warning(WarningCode.ROLLOVER, {"maximum": maximum(digits), "consumption": consumption})
            )
        else:
            warnings.append(Warning(WarningCode.LOWER_THAN_PREVIOUS, {"value": value, "previous": previous}))
            return Assessment(None, tuple(warnings), False)
    info = KINDS[kind]
    limit = info.monthly_ceiling if usual is None else USUAL_FACTOR * max(usual, info.monthly_floor)
    implausible = consumption > limit
    if implausible and confirmed:
        warnings.append(Warning(WarningCode.CONFIRMED_HIGH, {"consumption": consumption}))
    return Assessment(consumption, tuple(warnings), implausible and not confirmed)


def updated_usual(usual: Decimal | None, months: int, consumption: Decimal) -> tuple[Decimal, int]:
    """A running mean of monthly use over (at most) the last year."""
    if usual is None or months == 0:
        return consumption.quantize(QUANTUM), 1
    weight = min(months + 1, 12)
    return (usual + (consumption - usual) / weight).quantize(QUANTUM), min(months + 1, 12)
