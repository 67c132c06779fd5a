"""Kinds of meter: their unit, how residents name them, and what a month's use can plausibly be."""

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


@dataclass(frozen=True, slots=True)
class KindInfo:
    """How a kind of meter is shown and judged."""

    unit: str
    tag: str  # the seed's short tag, e.g. "[газ]"
    name: str  # for sentences and the phone: "газ"
    # With no history: a month's use above this needs the resident's confirmation.
    monthly_ceiling: Decimal
    # With history: the usual monthly use is never taken as less than this,
    # so a meter that used 0.1 m³ last month can still take 5 m³ without a question.
    monthly_floor: Decimal


KINDS: dict[MeterKind, KindInfo] = {
    MeterKind.ELECTRICITY: KindInfo("кВт·год", "[ел.ен.]", "електроенергія", Decimal(3000), Decimal(50)),
    MeterKind.GAS: KindInfo("м³", "[газ]", "газ", Decimal(600), Decimal(10)),
    MeterKind.COLD_WATER: KindInfo("м³", "[х.в.]", "холодна вода", Decimal(60), Decimal(2)),
    MeterKind.HOT_WATER: KindInfo("м³", "[г.в.]", "гаряча вода", Decimal(40), Decimal(2)),
    MeterKind.HEAT: KindInfo("Гкал", "[тепло]", "тепло", Decimal(10), Decimal("0.5")),
}
