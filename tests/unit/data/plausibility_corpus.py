"""Seeded corpora for the plausibility rule: genuine monthly readings per kind, and typos of them.

Written from assumptions about households in a Ukrainian city, not from the rule it measures:
- electricity: 40 + 55 kWh a person, some homes heat with electricity (winter x2-x3.5), some cool (July x1.6);
- gas: cooking only (flat 6-15 m³), cooking and a water heater (flat 25-45 m³), or heating (summer
  15-35 m³, a winter of 500-2200 m³ spread over October-April by degree days: January x5-x10 summer);
- cold and hot water: 2.5-4 and 1.2-2.2 m³ a person, holidays, a summer hot-water shutdown, vacancies
  (runs of zero months), summers at the dacha;
- heat: 6-18 Gcal a season, October-April only, nothing in summer;
- every month some noise, now and then a holiday or guests, a colder or warmer year, a later or earlier
  start of the heating season; readings taken up to 3 days before or after the month's end; a tenth of
  residents now and then type a guess below the dial and catch up the next month; some meters are read
  after 2-3 missed months, some are new (no history),
  some start near the top of the dial and roll over, some have an unknown number of dial digits.
Readings are typed as residents type them: the whole units the dial shows (sometimes with its leading
zeros), or with three decimals. A typo changes, swaps, drops or doubles one typed digit.
Only `random.Random(seed)` draws are used, so the corpora are the same on every machine; the
fingerprint test holds them still.
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from ekc.domain.kinds import MeterKind
from ekc.domain.months import Month

SEED = 20240611
FIRST_MONTH = Month(2021, 1)
MONTHS = 36
METERS_PER_KIND = {
    MeterKind.ELECTRICITY: 90,
    MeterKind.GAS: 90,
    MeterKind.COLD_WATER: 70,
    MeterKind.HOT_WATER: 60,
    MeterKind.HEAT: 50,
}
TYPOS_PER_METER = 8
TYPO_KINDS = ("changed", "swapped", "dropped", "doubled")

# Share of a heating season's demand per month (degree days of central Ukraine), October to April.
HEATING_SEASON = {10: 0.06, 11: 0.14, 12: 0.19, 1: 0.22, 2: 0.19, 3: 0.14, 4: 0.06}


@dataclass(frozen=True, slots=True)
class CorpusMeter:
    """A meter of the corpus: what it measures, its dial, and how its resident types."""

    id: str
    kind: MeterKind
    household: str  # e.g. "electric heating, 3 persons": for reading the failures
    dial_digits: int  # what the dial really has
    digits: int | None  # what the record says (None: unknown)
    decimals: int  # 0: whole units typed, 3: litres / thousandths too
    leading_zeros: bool


@dataclass(frozen=True, slots=True)
class CorpusReading:
    """A reading as typed, with what it really covers."""

    month: Month
    typed: str
    value: Decimal
    months_since_previous: int | None  # None: the meter's first reading
    true_consumption: Decimal | None  # dial movement since the previous reading, None for the first


@dataclass(frozen=True, slots=True)
class Series:
    """One meter's readings in order."""

    meter: CorpusMeter
    readings: tuple[CorpusReading, ...]


@dataclass(frozen=True, slots=True)
class Typo:
    """A mistyped version of one genuine reading (never the first of a meter)."""

    series: int
    reading: int
    kind: str  # changed, swapped, dropped, doubled
    typed: str


@dataclass(frozen=True, slots=True)
class Corpora:
    """The genuine series and the typos made on them."""

    series: tuple[Series, ...]
    typos: tuple[Typo, ...]


def _lognormal(rng: random.Random, sigma: float) -> float:
    return math.exp(rng.gauss(0.0, sigma))


def _pick(rng: random.Random, weighted: list[tuple[str, float]]) -> str:
    x = rng.random() * sum(w for _, w in weighted)
    for name, weight in weighted:
        x -= weight
        if x < 0:
            return name
    return weighted[-1][0]


def _season_shares(rng: random.Random) -> dict[int, float]:
    """One winter's demand by month: an early or late start, a cold snap somewhere."""
    shares = dict(HEATING_SEASON)
    shares[10] *= rng.uniform(0.3, 2.0)
    shares[4] *= rng.uniform(0.3, 2.0)
    snap = rng.choice([11, 12, 1, 2, 3])
    shares[snap] *= rng.uniform(1.0, 1.35)
    total = sum(shares.values())
    return {m: s / total for m, s in shares.items()}


def _electricity(rng: random.Random) -> tuple[str, list[float]]:
    persons = int(_pick(rng, [("1", 0.2), ("2", 0.3), ("3", 0.25), ("4", 0.17), ("5", 0.08)]))
    base = (40 + 55 * persons) * _lognormal(rng, 0.3)
    style = _pick(
        rng, [("plain", 0.6), ("air conditioning", 0.2), ("electric heating", 0.15), ("both", 0.05)]
    )
    uses = []
    for i in range(MONTHS):
        if i % 12 == 0:
            winter = rng.uniform(0.85, 1.15)  # a colder or warmer year
            heat_peak = rng.uniform(2.0, 3.5)
        m = (FIRST_MONTH.month - 1 + i) % 12 + 1
        factor = {12: 1.2, 1: 1.2, 2: 1.1, 11: 1.1, 6: 0.9, 7: 0.9, 8: 0.9}.get(m, 1.0)
        if style in ("air conditioning", "both"):
            factor *= {6: 1.3, 7: 1.6, 8: 1.5}.get(m, 1.0)
        if style in ("electric heating", "both") and m in HEATING_SEASON:
            factor *= 1 + (heat_peak - 1) * winter * HEATING_SEASON[m] / 0.22
        uses.append(base * factor * _lognormal(rng, 0.12))
    return f"{style}, {persons} persons", uses


def _gas(rng: random.Random) -> tuple[str, list[float]]:
    style = _pick(rng, [("cooking", 0.2), ("cooking and water heater", 0.15), ("heating", 0.65)])
    flat = {"cooking": rng.uniform(6, 15), "cooking and water heater": rng.uniform(25, 45)}.get(
        style, rng.uniform(15, 35)
    )
    season = rng.uniform(500, 2200)
    uses = []
    for i in range(MONTHS):
        if i % 12 == 9 or i == 0:  # each October a new winter
            winter = season * rng.uniform(0.85, 1.2)
            shares = _season_shares(rng)
        m = (FIRST_MONTH.month - 1 + i) % 12 + 1
        use = flat * ({12: 1.1, 1: 1.1, 2: 1.1} if style == "cooking" else {1: 1.3, 2: 1.3, 12: 1.2}).get(
            m, 1
        )
        if style == "heating":
            use += winter * shares.get(m, 0.0)
        uses.append(use * _lognormal(rng, 0.1))
    return f"{style}, {season:.0f} m³ a winter" if style == "heating" else style, uses


def _water(rng: random.Random, hot: bool) -> tuple[str, list[float]]:
    persons = int(_pick(rng, [("1", 0.2), ("2", 0.3), ("3", 0.25), ("4", 0.17), ("5", 0.08)]))
    per_person = rng.uniform(1.2, 2.2) if hot else rng.uniform(2.5, 4.0)
    base = persons * per_person
    dacha = rng.random() < 0.08
    vacancy_start = rng.randrange(MONTHS) if rng.random() < 0.07 else None
    vacancy_length = rng.randint(1, 6)
    uses = []
    for i in range(MONTHS):
        m = (FIRST_MONTH.month - 1 + i) % 12 + 1
        if i % 12 == 0:
            shutdown = rng.choice([6, 7, 8]) if hot and rng.random() < 0.6 else None
        factor = _lognormal(rng, 0.15)
        if (m in (7, 8) and rng.random() < 0.25) or (m in (12, 1) and rng.random() < 0.05):
            factor *= rng.uniform(0.3, 0.7)  # a holiday away
        if dacha and m in (6, 7, 8):
            factor *= rng.uniform(0.2, 0.5)
        if m == shutdown:
            factor *= rng.uniform(0.3, 0.6)
        if rng.random() < 0.03:
            factor *= rng.uniform(1.3, 1.8)  # guests
        if vacancy_start is not None and vacancy_start <= i < vacancy_start + vacancy_length:
            factor = 0.0
        uses.append(base * factor)
    return f"{persons} persons" + (", dacha" if dacha else "") + (
        ", vacancy" if vacancy_start is not None else ""
    ), uses


def _heat(rng: random.Random) -> tuple[str, list[float]]:
    season = rng.uniform(6, 18)
    uses = []
    for i in range(MONTHS):
        if i % 12 == 9 or i == 0:
            winter = season * rng.uniform(0.85, 1.2)
            shares = _season_shares(rng)
        m = (FIRST_MONTH.month - 1 + i) % 12 + 1
        uses.append(winter * shares.get(m, 0.0) * _lognormal(rng, 0.08))
    return f"{season:.1f} Gcal a season", uses


def _monthly_uses(rng: random.Random, kind: MeterKind) -> tuple[str, list[float]]:
    if kind is MeterKind.ELECTRICITY:
        household, uses = _electricity(rng)
    elif kind is MeterKind.GAS:
        household, uses = _gas(rng)
    elif kind is MeterKind.HEAT:
        household, uses = _heat(rng)
    else:
        household, uses = _water(rng, hot=kind is MeterKind.HOT_WATER)
    for i, use in enumerate(uses):  # a holiday away or guests, whatever the kind
        r = rng.random()
        if r < 0.03 and kind is not MeterKind.HEAT:
            uses[i] = use * rng.uniform(0.35, 0.7)
        elif r < 0.05 and kind is not MeterKind.HEAT:
            uses[i] = use * rng.uniform(1.3, 1.8)
    return household, uses


def _typed(total: Decimal, meter: CorpusMeter) -> tuple[str, Decimal]:
    """What the resident types for a dial showing `total` (mod the dial), and the value it means."""
    shown = total % Decimal(10**meter.dial_digits)
    if meter.decimals == 0:
        whole = shown.to_integral_value(rounding=ROUND_FLOOR)
        text = f"{int(whole):0{meter.dial_digits}d}" if meter.leading_zeros else str(int(whole))
        return text, whole
    shown = shown.quantize(Decimal("0.001"), rounding=ROUND_FLOOR)
    whole = int(shown)
    text = f"{whole:0{meter.dial_digits}d}" if meter.leading_zeros else str(whole)
    return f"{text}.{str(shown).split('.')[1]}", shown


def _series(rng: random.Random, kind: MeterKind, number: int) -> Series:
    household, uses = _monthly_uses(rng, kind)
    dial = {MeterKind.ELECTRICITY: rng.choice([5, 6])}.get(kind, 5)
    digits: int | None = dial if rng.random() > 0.15 else None
    decimals = {MeterKind.HEAT: 3, MeterKind.ELECTRICITY: 0}.get(kind, 3 if rng.random() < 0.3 else 0)
    meter = CorpusMeter(
        id=f"{kind.value}-{number:03d}",
        kind=kind,
        household=household,
        dial_digits=dial,
        digits=digits,
        decimals=decimals,
        leading_zeros=rng.random() < 0.2,
    )
    top = 10**dial
    new_meter = rng.random() < 0.15
    start = rng.randrange(MONTHS - 6) if new_meter else 0
    yearly = sum(uses[:12])
    if new_meter:
        total = rng.uniform(0, 3)
    elif digits is not None and rng.random() < 0.12:
        total = top - yearly * rng.uniform(0.1, 1.5)  # rolls over within the corpus
    else:  # a meter some years in service (water meters are replaced every 6-8 years, others last longer)
        total = min(
            yearly * rng.uniform(0.2, 8 if kind in (MeterKind.COLD_WATER, MeterKind.HOT_WATER) else 16),
            0.9 * top,
        )
    total = max(total, 0.0)
    missing = rng.random() < 0.25  # a resident who now and then misses 1-3 windows
    guessing = rng.random() < 0.1  # one who now and then types a guess below the dial, then catches up
    readings: list[CorpusReading] = []
    last_month: Month | None = None
    last_value: Decimal | None = None
    last_typed_total = 0.0
    for i in range(start, MONTHS):
        if i > start:
            total += uses[i]
        month = FIRST_MONTH.plus(i)
        if readings and missing and i < MONTHS - 1 and rng.random() < 0.12:
            continue
        # Read a few days before or after the month's end: the dial shows a little less or more.
        early_or_late = rng.uniform(-0.1, 0.1)
        shown = total + early_or_late * (uses[i] if early_or_late < 0 or i + 1 >= MONTHS else uses[i + 1])
        shown = max(shown, last_typed_total if readings else 0.0)  # a new meter read early shows its start
        if readings and guessing and rng.random() < 0.2:
            shown = last_typed_total + (shown - last_typed_total) * rng.uniform(0.2, 0.7)
        typed, value = _typed(Decimal(str(round(shown, 3))), meter)
        if last_month is None or last_value is None:
            since, consumption = None, None
        else:
            since = (month.year - last_month.year) * 12 + month.month - last_month.month
            consumption = value - last_value if value >= last_value else value + top - last_value
        readings.append(CorpusReading(month, typed, value, since, consumption))
        last_month, last_value, last_typed_total = month, value, shown
    return Series(meter, tuple(readings))


def _typo(rng: random.Random, typed: str) -> tuple[str, str]:
    """One typo of a typed reading; never the reading itself, never a reading with no digit left."""
    kind = rng.choice(TYPO_KINDS)
    positions = [i for i, c in enumerate(typed) if c.isdigit()]
    for _ in range(100):
        i = rng.choice(positions)
        if kind == "changed":
            out = typed[:i] + rng.choice([d for d in "0123456789" if d != typed[i]]) + typed[i + 1 :]
        elif kind == "swapped":
            if i + 1 >= len(typed) or not typed[i + 1].isdigit() or typed[i] == typed[i + 1]:
                continue
            out = typed[:i] + typed[i + 1] + typed[i] + typed[i + 2 :]
        elif kind == "dropped":
            out = typed[:i] + typed[i + 1 :]
        else:
            out = typed[:i] + typed[i] + typed[i:]
        if out.split(".")[0] and _value(out) != _value(typed):
            return kind, out
    # Nothing of this kind changes the value (e.g. "0000" cannot be swapped): another kind will.
    return _typo(rng, typed)


def _value(text: str) -> Decimal:
    return Decimal(text if not text.endswith(".") else text[:-1])


def generate(seed: int = SEED) -> Corpora:
    """Both corpora, the same for the same seed."""
    rng = random.Random(seed)
    series: list[Series] = []
    for kind, count in METERS_PER_KIND.items():
        series += [_series(rng, kind, n) for n in range(count)]
    typos: list[Typo] = []
    for s_index, s in enumerate(series):
        candidates = [r for r in range(1, len(s.readings))]
        for r_index in sorted(rng.sample(candidates, min(TYPOS_PER_METER, len(candidates)))):
            kind, typed = _typo(rng, s.readings[r_index].typed)
            typos.append(Typo(s_index, r_index, kind, typed))
    return Corpora(tuple(series), tuple(typos))


def fingerprint(corpora: Corpora) -> str:
    """A short hash of everything in the corpora, to notice when they change."""
    h = hashlib.sha256()
    for s in corpora.series:
        h.update(
            repr((s.meter, [(str(r.month), r.typed, r.months_since_previous) for r in s.readings])).encode()
        )
    for t in corpora.typos:
        h.update(repr(t).encode())
    return h.hexdigest()[:16]
