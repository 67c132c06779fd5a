"""Ukrainian shared by every channel: names of meter kinds and units, Kyiv dates, count agreement."""

from __future__ import annotations

from datetime import date, datetime

from ekc.domain.identity import Channel
from ekc.domain.kinds import MeterKind, Unit
from ekc.domain.windows import KYIV

# The seed's short tags, as the cabinet shows them beside a meter's note.
KIND_TAGS: dict[MeterKind, str] = {
    MeterKind.ELECTRICITY: "[ел.ен.]",
    MeterKind.GAS: "[газ]",
    MeterKind.COLD_WATER: "[х.в.]",
    MeterKind.HOT_WATER: "[г.в.]",
    MeterKind.HEAT: "[тепло]",
}

# A kind in words, as a sentence or a button names it.
KIND_NAMES: dict[MeterKind, str] = {
    MeterKind.ELECTRICITY: "Електроенергія",
    MeterKind.GAS: "Газ",
    MeterKind.COLD_WATER: "Холодна вода",
    MeterKind.HOT_WATER: "Гаряча вода",
    MeterKind.HEAT: "Тепло",
}

UNIT_SYMBOLS: dict[Unit, str] = {
    Unit.CUBIC_METRE: "м³",
    Unit.KILOWATT_HOUR: "кВт·год",
    Unit.GIGACALORIE: "Гкал",
}

# Where a reading came from, as "Дані внесено з ..." names it.
CHANNEL_SOURCES: dict[Channel, str] = {
    Channel.WEB: "сайту",
    Channel.VIBER: "Viber",
    Channel.IVR: "телефону",
    Channel.VOICE: "телефону",
    Channel.BOT: "бота",
    Channel.OPERATOR: "центру обслуговування",
}


# Months in the genitive, as a date says them: "3 листопада".
MONTHS_GENITIVE = (
    "січня", "лютого", "березня", "квітня", "травня", "червня",
    "липня", "серпня", "вересня", "жовтня", "листопада", "грудня",
)  # fmt: skip


def day_and_time(moment: datetime) -> str:
    """Kyiv date and time in words: '3 листопада 2026 р. о 23:59'."""
    local = moment.astimezone(KYIV)
    return f"{local.day} {MONTHS_GENITIVE[local.month - 1]} {local.year} р. о {local:%H:%M}"


def seed_time(moment: datetime) -> str:
    """Kyiv time as the seed prints window bounds: 31/07/2019 00:00:00."""
    return moment.astimezone(KYIV).strftime("%d/%m/%Y %H:%M:%S")


def day_text(day: date) -> str:
    """A calendar day as the cabinet writes dates: 24/11/2026."""
    return day.strftime("%d/%m/%Y")


def as_of_text(day: date | None) -> str:
    """' станом на 24/11/2026' after an amount, or nothing when the day is not known."""
    return f" станом на {day_text(day)}" if day is not None else ""


def clock_time(moment: datetime) -> str:
    """Kyiv time of day: 13:45."""
    return moment.astimezone(KYIV).strftime("%H:%M")


def plural(n: int, one: str, few: str, many: str) -> str:
    """The noun form that agrees with a whole count: 1 цифру, 2 цифри, 5 цифр, 11 цифр, 21 цифру."""
    n = abs(n)
    if n % 10 == 1 and n % 100 != 11:
        return one
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return few
    return many
