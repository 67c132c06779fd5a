"""Kinds of meter and their units, and what a month's use of each can plausibly be (no words here)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum


class MeterKind(StrEnum):
    """What a meter measures."""

    ELECTRICITY = "electricity"
    GAS = "gas"
    COLD_WATER = "cold_water"
    HOT_WATER = "hot_water"
    HEAT = "heat"


class Unit(StrEnum):
    """The unit a meter counts in; each channel names it in its own words."""

    CUBIC_METRE = "m3"
    KILOWATT_HOUR = "kWh"
    GIGACALORIE = "Gcal"

    @classmethod
    def parse(cls, text: str) -> Unit:
        """A unit code, or the symbol stored by earlier versions ("м³", "кВт·год", "Гкал")."""
        try:
            return cls(text)
        except ValueError:
            return _LEGACY_SYMBOLS[text]


_LEGACY_SYMBOLS = {"м³": Unit.CUBIC_METRE, "кВт·год": Unit.KILOWATT_HOUR, "Гкал": Unit.GIGACALORIE}


@dataclass(frozen=True, slots=True)
class KindInfo:
    """How a kind of meter is judged."""

    unit: Unit
    # With no history: a month's use above this needs the resident's confirmation.
    monthly_ceiling: Decimal
    # With history: the usual monthly use is never taken as less than this,
    # so a meter that used 0.1 m³ last month can still take 5 m³ without a question.
    monthly_floor: Decimal


KINDS: dict[MeterKind, KindInfo] = {
    MeterKind.ELECTRICITY: KindInfo(Unit.KILOWATT_HOUR, Decimal(3000), Decimal(50)),
    MeterKind.GAS: KindInfo(Unit.CUBIC_METRE, Decimal(600), Decimal(10)),
    MeterKind.COLD_WATER: KindInfo(Unit.CUBIC_METRE, Decimal(60), Decimal(2)),
    MeterKind.HOT_WATER: KindInfo(Unit.CUBIC_METRE, Decimal(40), Decimal(2)),
    MeterKind.HEAT: KindInfo(Unit.GIGACALORIE, Decimal(10), Decimal("0.5")),
}
