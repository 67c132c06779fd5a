"""Is a new reading (or a bot's monthly amount) plausible for this meter? Pure rules, no I/O, no clock.

The rule, in words (docs/plausibility.md has the reasons and the measurements):
- A meter remembers its last 13 months of use (`UsageProfile`): per month, the use and how it is known
  (measured, spread over months that were not read, a confirmed high, a rollover, the bot's guess).
- Its usual use for a month is the largest of: the median of the year's use with the kind's seasons
  taken out and this month's put back; the same over the last 3 months (a household that changed); for
  kinds whose seasons differ between homes (gas for cooking or for heating), the plain median of the
  last 3 months; and what the meter used in the same season last year. Months with no use (nobody home)
  are left out. A confirmed high counts for nothing, except that the month right after it may match it
  (a household that really changed is asked once); two in a row are both trusted. Rollovers and the
  bot's guesses count half.
- A reading's use above `factor` (3) times the usual use of the months it covers, never below a per-kind
  floor, is questioned. With under 3 months of history the kind's new-meter bound applies too.
- Lower than the previous reading is a rollover only when the dial's digits are known and the use it
  implies passes the same bound (and the previous reading was not a lone confirmed high, perhaps a typo
  confirmed by mistake): otherwise it is lower-than-previous, saved with its warning, no consumption.
- More integer digits than the dial is questioned, not refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from enum import StrEnum
from functools import lru_cache

from ekc.domain.kinds import KINDS, MeterKind, Unit
from ekc.domain.months import Month

QUANTUM = Decimal("0.001")
HISTORY_MONTHS = 13  # the judged month's season last year (m-13..m-11) and the year in between
TEXT_VERSION = "1"


class Code(StrEnum):
    """What a judgement found; each channel words these itself."""

    LOWER_THAN_PREVIOUS = "lower_than_previous"  # saved with a warning, no consumption
    ROLLOVER = "rollover"  # saved with a note: the dial went round
    IMPLAUSIBLE_HIGH = "implausible_high"  # asks for confirmation
    MORE_DIGITS_THAN_DIAL = "more_digits_than_dial"  # asks for confirmation
    AMOUNT_MISSING = "amount_missing"  # a bot with no amount given: refused, 0 must be typed
    ZERO_AMOUNT = "zero_amount"  # a bot that adds nothing: fine when nobody lives there


class Flag(StrEnum):
    """How a month's use is known; stored as one letter each."""

    SPREAD = "s"  # one reading covered several months; each got its share
    HIGH = "h"  # the resident confirmed a questioned use; alone it is not trusted
    TRUSTED_HIGH = "t"  # a confirmed high followed by another: the household changed
    ROLLOVER = "r"  # the use implied by a rollover
    ESTIMATED = "b"  # the bot's amount, not a measurement
    UNKNOWN = "x"  # lower than previous: this month's use is not known


# How much a month counts in the usual use, by its flags (the lowest applies).
_WEIGHTS = {
    Flag.HIGH: Decimal(0),
    Flag.UNKNOWN: Decimal(0),
    Flag.ROLLOVER: Decimal("0.5"),
    Flag.ESTIMATED: Decimal("0.5"),
}


@dataclass(frozen=True, slots=True)
class KindRule:
    """How a kind's use varies through the year, and its bounds when history says little."""

    # Relative use by calendar month (January first) of a meter of this kind that follows the seasons
    # (gas: a heated home). A season's first month leans high: heating starts earlier in some years.
    shape: tuple[Decimal, ...]
    # A month's upper bound is never below this: tiny users may still use a little more.
    floor: Decimal
    # With no history, a month's upper bound is this times the month's shape.
    new_meter: Decimal
    # Homes differ in their seasons (gas for cooking or for heating): last months' plain use may
    # stand for this month's too. False for heat, whose season is the same for everyone.
    raw_recent: bool

    def __post_init__(self) -> None:
        if len(self.shape) != 12:
            raise ValueError("a shape has one factor per calendar month")


def _shape(*factors: str) -> tuple[Decimal, ...]:
    return tuple(Decimal(f) for f in factors)


# Our own table (not kinds.KINDS' monthly_ceiling/floor, which judge the old flat rule): the bounds
# here were chosen together with the shapes and measured together on the corpora in tests/unit/data.
KIND_RULES: dict[MeterKind, KindRule] = {
    MeterKind.ELECTRICITY: KindRule(
        _shape("1.2", "1.1", "1", "0.95", "0.9", "0.9", "0.95", "0.95", "0.9", "1", "1.1", "1.2"),
        floor=Decimal(100),
        new_meter=Decimal(1500),
        raw_recent=True,
    ),
    MeterKind.GAS: KindRule(
        _shape("2.4", "2.1", "1.6", "0.8", "0.3", "0.2", "0.2", "0.2", "0.25", "1", "1.6", "2.1"),
        floor=Decimal(20),
        new_meter=Decimal(300),
        raw_recent=True,
    ),
    MeterKind.COLD_WATER: KindRule(_shape(*["1"] * 12), Decimal(6), Decimal(30), raw_recent=True),
    MeterKind.HOT_WATER: KindRule(_shape(*["1"] * 12), Decimal(4), Decimal(20), raw_recent=True),
    MeterKind.HEAT: KindRule(
        _shape("2.4", "2.1", "1.6", "0.8", "0.15", "0", "0", "0", "0", "0.8", "1.6", "2.1"),
        floor=Decimal(1),
        new_meter=Decimal(4),
        raw_recent=False,
    ),
}


@dataclass(frozen=True, slots=True)
class Rule:
    """The tunable numbers of the rule; `DEFAULT_RULE` is the one measured in docs/plausibility.md."""

    factor: Decimal = Decimal(3)  # questioned above factor x usual use
    recent: int = 3  # how many of the last months show a change of household
    min_history: Decimal = Decimal(3)  # fewer months (by weight) than this: a new meter's bound too
    last_year: bool = True  # the same season last year stands for this one
    seasonal: bool = True  # the kind's shape moves the usual use through the year
    raw_recent: bool = True  # last months' plain use stands for this month's (kinds that allow it)
    next_after_high: bool = True  # the month after a lone confirmed high may match it
    kinds: Mapping[MeterKind, KindRule] = field(default_factory=lambda: KIND_RULES)


DEFAULT_RULE = Rule()


@dataclass(frozen=True, slots=True)
class MonthUse:
    """One month of a meter's use: None when it is not known (lower than previous)."""

    month: Month
    use: Decimal | None
    flags: frozenset[Flag] = frozenset()

    @property
    def weight(self) -> Decimal:
        """How much this month counts in the usual use (0 to 1)."""
        return Decimal(0) if self.use is None else _weight(self.flags)


@lru_cache(maxsize=64)
def _weight(flags: frozenset[Flag]) -> Decimal:
    return min((_WEIGHTS.get(f, Decimal(1)) for f in flags), default=Decimal(1))


def _index(month: Month) -> int:
    return month.year * 12 + month.month - 1


def _month(index: int) -> Month:
    return Month(index // 12, index % 12 + 1)


def _plain(number: Decimal) -> str:
    """'12.5' for 12.500, '120' for 120.000: the shortest exact text, never an exponent."""
    text = format(number.quantize(QUANTUM), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


@dataclass(frozen=True, slots=True)
class UsageProfile:
    """What a meter remembers of its use: at most the last 13 months, oldest first.

    Stored as one short string on the meter item (`to_text`: 50 bytes typically, 165 at most).
    """

    uses: tuple[MonthUse, ...] = ()

    def __post_init__(self) -> None:
        indexes = [_index(u.month) for u in self.uses]
        if indexes != sorted(set(indexes)):
            raise ValueError("months must be distinct and in order")
        if indexes and indexes[-1] - indexes[0] >= HISTORY_MONTHS:
            raise ValueError(f"a profile spans at most {HISTORY_MONTHS} months")

    @property
    def latest(self) -> Month | None:
        """The last month with an entry."""
        return self.uses[-1].month if self.uses else None

    def updated(
        self,
        month: Month,
        consumption: Decimal | None,
        *,
        confirmed_high: bool,
        rollover: bool,
        months_elapsed: int,
        estimated: bool = False,
    ) -> UsageProfile:
        """The profile after a reading for `month` that used `consumption` over `months_elapsed` months.

        A reading covering several months gives each its share. A month already present is replaced (a
        corrected reading in the same window). `consumption=None` (lower than previous) records that the
        month's use is not known. A confirmed high right after another makes both trusted.
        """
        if consumption is not None and consumption < 0:
            raise ValueError("consumption is never negative")
        span = max(1, months_elapsed) if consumption is not None else 1
        end = _index(month)
        first = end - span + 1
        flags: set[Flag] = set()
        if consumption is None:
            flags.add(Flag.UNKNOWN)
        if span > 1:
            flags.add(Flag.SPREAD)
        if rollover:
            flags.add(Flag.ROLLOVER)
        if estimated:
            flags.add(Flag.ESTIMATED)
        kept = {_index(u.month): u for u in self.uses if not first <= _index(u.month) <= end}
        if confirmed_high:
            # Walk back over the previous reading's months: if it was a lone confirmed high too, both are
            # real. Trusted highs before do not vouch for a new one: that may be a typo confirmed by mistake.
            run = []
            for i in sorted((i for i in kept if i < first), reverse=True):
                if Flag.HIGH not in kept[i].flags:
                    break
                run.append(i)
            if run:
                flags.add(Flag.TRUSTED_HIGH)
                for i in run:
                    kept[i] = replace(kept[i], flags=(kept[i].flags - {Flag.HIGH}) | {Flag.TRUSTED_HIGH})
            else:
                flags.add(Flag.HIGH)
        share = None if consumption is None else (consumption / span).quantize(QUANTUM, ROUND_HALF_UP)
        for i in range(first, end + 1):
            kept[i] = MonthUse(_month(i), share, frozenset(flags))
        newest = max(kept)
        return UsageProfile(tuple(kept[i] for i in sorted(kept) if i > newest - HISTORY_MONTHS))

    def to_text(self) -> str:
        """'1|2024-03|120,135,,98h,x': version, first month, then each month's use and flags."""
        if not self.uses:
            return f"{TEXT_VERSION}||"
        start = _index(self.uses[0].month)
        cells = [""] * (_index(self.uses[-1].month) - start + 1)
        for u in self.uses:
            letters = "".join(sorted(f.value for f in u.flags))
            cells[_index(u.month) - start] = (
                letters if u.use is None else _plain(u.use) + letters.replace(Flag.UNKNOWN.value, "")
            )
        return f"{TEXT_VERSION}|{self.uses[0].month}|{','.join(cells)}"

    @classmethod
    def from_text(cls, text: str | None) -> UsageProfile:
        """Read `to_text`'s form back; None or '' is an empty profile."""
        if not text:
            return cls()
        version, start, body = text.split("|")
        if version != TEXT_VERSION:
            raise ValueError(f"unknown profile version: {version}")
        if not start:
            return cls()
        first = _index(Month.parse(start))
        uses = []
        for offset, cell in enumerate(body.split(",")):
            if not cell:
                continue
            number = cell.rstrip("".join(f.value for f in Flag))
            flags = frozenset(Flag(c) for c in cell[len(number) :])
            if number:
                uses.append(MonthUse(_month(first + offset), Decimal(number).quantize(QUANTUM), flags))
            else:
                uses.append(MonthUse(_month(first + offset), None, flags | {Flag.UNKNOWN}))
        return cls(tuple(uses))

    def to_dict(self) -> dict[str, str]:
        """{'2024-03': '120', '2024-06': '98h', ...}: the same as `to_text`, keyed by month."""
        return {str(u.month): cell for u, cell in zip(self.uses, self._cells(), strict=True)}

    @classmethod
    def from_dict(cls, data: Mapping[str, str]) -> UsageProfile:
        """Read `to_dict`'s form back."""
        if not data:
            return cls()
        months = sorted(Month.parse(m) for m in data)
        span = _index(months[-1]) - _index(months[0]) + 1
        cells = [""] * span
        for m in months:
            cells[_index(m) - _index(months[0])] = data[str(m)]
        return cls.from_text(f"{TEXT_VERSION}|{months[0]}|{','.join(cells)}")

    def _cells(self) -> list[str]:
        body = self.to_text().split("|")[2]
        return [c for c in body.split(",") if c]


@dataclass(frozen=True, slots=True)
class Question:
    """What a channel needs to ask the resident: the numbers behind 'is this right?'."""

    unit: Unit  # the kind's unit code; each channel words it
    consumption: Decimal | None  # what the new value means (None for a first reading)
    months: int  # how many months it covers
    usual_monthly: Decimal | None  # the usual use per month at this time of year (None: no history)
    upper_bound: Decimal | None  # the most that passes without a question, for all `months`
    digits: int | None  # the dial's digits, for more_digits_than_dial


@dataclass(frozen=True, slots=True)
class Judgement:
    """A new value against the previous one and the meter's usual use."""

    value: Decimal  # the value judged: a confirmation holds for this value only
    consumption: Decimal | None  # never negative; None for a first reading or lower than previous
    codes: frozenset[Code]
    needs_confirmation: bool
    question: Question | None  # set when needs_confirmation
    months: int

    @property
    def rollover(self) -> bool:
        """The dial went round."""
        return Code.ROLLOVER in self.codes

    @property
    def implausible_high(self) -> bool:
        """The use is above the bound."""
        return Code.IMPLAUSIBLE_HIGH in self.codes


@dataclass(frozen=True, slots=True)
class BotJudgement:
    """A bot's monthly amount against the meter's usual use."""

    amount: Decimal | None
    codes: frozenset[Code]
    refused: bool  # no amount given: 0 must be typed, not assumed
    needs_confirmation: bool
    question: Question | None


@dataclass(frozen=True, slots=True)
class _Bound:
    upper: Decimal
    usual_monthly: Decimal | None


def _weighted_median(pairs: Iterable[tuple[Decimal, Decimal]]) -> Decimal | None:
    """The upper weighted median of (value, weight) pairs; None if they weigh nothing."""
    ordered = sorted((v, w) for v, w in pairs if w > 0)
    total = sum((w for _, w in ordered), Decimal(0))
    if not ordered:
        return None
    running = Decimal(0)
    for value, weight in ordered:
        running += weight
        if running * 2 > total:
            return value
    return ordered[-1][0]


_MIN_SHAPE = Decimal("0.2")  # months a kind barely uses (heat in summer) say nothing of its level


@dataclass(frozen=True, slots=True)
class _History:
    """What the months before a reading say, computed once per judgement."""

    seasonal_levels: tuple[Decimal, ...]  # use per unit of the kind's shape: over the year, lately
    raw_levels: tuple[Decimal, ...]  # plain use lately (kinds whose seasons differ between homes)
    by_month: dict[int, Decimal]  # month index -> use, for the same season last year
    weight: Decimal  # how many months (by weight) the history holds


def _history(profile: UsageProfile, kind: KindRule, rule: Rule, before: int) -> _History:
    """Summarise the profile's months before month index `before`."""
    shape = kind.shape if rule.seasonal else (Decimal(1),) * 12
    earlier = [u for u in profile.uses if _index(u.month) < before]
    weighted = [(u, u.weight) for u in earlier]
    weight = sum((w for _, w in weighted), Decimal(0))
    # Months with no use (nobody home) say nothing of how much a home uses when lived in.
    known = [(u, w) for u, w in weighted if w > 0 and u.use]
    recent = known[-rule.recent :] if rule.recent else []

    def level(pairs: list[tuple[MonthUse, Decimal]]) -> Decimal | None:
        return _weighted_median(
            (u.use / shape[u.month.month - 1], w)
            for u, w in pairs
            if u.use is not None and shape[u.month.month - 1] >= _MIN_SHAPE
        )

    seasonal = [level(known), level(recent)]
    raw: list[Decimal | None] = []
    if kind.raw_recent and rule.raw_recent:
        raw.append(_weighted_median((u.use, w) for u, w in recent if u.use is not None))
    # The reading just before was a confirmed high nobody has corroborated yet: it may be the household's
    # new level, so this month may match it without a question (and so corroborate it); it counts for
    # nothing later, so a confirmed mistake does not loosen the bound for a year.
    last = earlier[-1] if earlier else None
    if rule.next_after_high and last is not None and Flag.HIGH in last.flags and last.use:
        if kind.raw_recent:
            raw.append(last.use)
        seasonal.append(level([(last, Decimal(1))]))
    by_month = {_index(u.month): u.use for u, _ in known if u.use is not None} if rule.last_year else {}
    return _History(
        tuple(x for x in seasonal if x is not None), tuple(x for x in raw if x is not None), by_month, weight
    )


def _usual(history: _History, kind: KindRule, rule: Rule, month: int) -> Decimal | None:
    """The usual use in month index `month`: the largest of what the history suggests."""
    factor = kind.shape[month % 12] if rule.seasonal else Decimal(1)
    candidates = [level * factor for level in history.seasonal_levels]
    candidates += history.raw_levels
    candidates += [use for i, use in history.by_month.items() if month - 13 <= i <= month - 11]
    return max(candidates) if candidates else None


def _bound(profile: UsageProfile, kind: MeterKind, rule: Rule, month: Month, months: int) -> _Bound:
    """The most a reading for `month` covering `months` months may use without a question."""
    info = rule.kinds[kind]
    end = _index(month)
    first = end - months + 1
    history = _history(profile, info, rule, first)
    upper = Decimal(0)
    usual_total = Decimal(0)
    known = True
    for i in range(first, end + 1):
        usual = _usual(history, info, rule, i)
        monthly = info.floor
        if usual is not None:
            monthly = max(monthly, rule.factor * usual)
            usual_total += usual
        else:
            known = False
        if usual is None or history.weight < rule.min_history:
            monthly = max(monthly, info.new_meter * info.shape[i % 12])
        upper += monthly
    usual_monthly = (usual_total / months).quantize(QUANTUM, ROUND_HALF_UP) if known else None
    return _Bound(upper.quantize(QUANTUM, ROUND_CEILING), usual_monthly)


def _lone_high_last(profile: UsageProfile, before: int) -> bool:
    """Was the reading before this one a confirmed high nobody corroborated (maybe a confirmed typo)?"""
    earlier = [u for u in profile.uses if _index(u.month) < before]
    return bool(earlier) and Flag.HIGH in earlier[-1].flags


def judge_reading(
    previous: Decimal | None,
    value: Decimal,
    *,
    kind: MeterKind,
    digits: int | None,
    profile: UsageProfile,
    billing_month: Month,
    months_since_previous: int,
    rule: Rule = DEFAULT_RULE,
) -> Judgement:
    """Consumption, codes and whether the resident must confirm `value` before it is saved.

    `months_since_previous` is how many billing months lie between the previous reading and this one
    (1 for last month's); `digits` is the dial's integer digits, None when unknown (then no rollover
    and no digit limit). The profile's entries for the months this reading covers are ignored, so a
    corrected reading in the same window is judged against the same history.
    """
    if value < 0 or (previous is not None and previous < 0):
        raise ValueError("meter values are never negative")
    months = max(1, months_since_previous)
    codes: set[Code] = set()
    top = None if digits is None else Decimal(10) ** digits
    if top is not None and value >= top:
        codes.add(Code.MORE_DIGITS_THAN_DIAL)
    unit = KINDS[kind].unit
    if previous is None:
        question = Question(unit, None, months, None, None, digits) if codes else None
        return Judgement(value, None, frozenset(codes), bool(codes), question, months)
    bound = _bound(profile, kind, rule, billing_month, months)
    consumption: Decimal | None = value - previous
    if value < previous:
        first = _index(billing_month) - months + 1
        implied = None if top is None or previous >= top else top - previous + value
        if implied is not None and implied <= bound.upper and not _lone_high_last(profile, first):
            consumption = implied
            codes.add(Code.ROLLOVER)
        else:
            consumption = None
            codes.add(Code.LOWER_THAN_PREVIOUS)
    if consumption is not None and consumption > bound.upper:
        codes.add(Code.IMPLAUSIBLE_HIGH)
    needs = bool(codes & {Code.IMPLAUSIBLE_HIGH, Code.MORE_DIGITS_THAN_DIAL})
    question = (
        Question(unit, consumption, months, bound.usual_monthly, bound.upper, digits) if needs else None
    )
    return Judgement(value, consumption, frozenset(codes), needs, question, months)


def judge_bot_amount(
    amount: Decimal | None, *, kind: MeterKind, profile: UsageProfile, rule: Rule = DEFAULT_RULE
) -> BotJudgement:
    """A bot's monthly amount: refused when missing, questioned above any month's bound, 0 is fine.

    The bound is the largest monthly bound of the coming year, so a heating season's amount passes in
    summer; with no history it is the kind's new-meter bound.
    """
    unit = KINDS[kind].unit
    if amount is None:
        return BotJudgement(None, frozenset({Code.AMOUNT_MISSING}), True, False, None)
    if amount < 0:
        raise ValueError("a bot's amount is never negative")
    if amount == 0:
        return BotJudgement(amount, frozenset({Code.ZERO_AMOUNT}), False, False, None)
    start = _index(profile.latest) + 1 if profile.latest is not None else _index(Month(2000, 1))
    bounds = [_bound(profile, kind, rule, _month(i), 1) for i in range(start, start + 12)]
    upper = max(b.upper for b in bounds)
    usuals = [b.usual_monthly for b in bounds if b.usual_monthly is not None]
    usual = (sum(usuals, Decimal(0)) / len(usuals)).quantize(QUANTUM, ROUND_HALF_UP) if usuals else None
    if amount <= upper:
        return BotJudgement(amount, frozenset(), False, False, None)
    question = Question(unit, amount, 1, usual, upper, None)
    return BotJudgement(amount, frozenset({Code.IMPLAUSIBLE_HIGH}), False, True, question)


def bot_reading(previous: Decimal, amount: Decimal, digits: int | None) -> Decimal:
    """The value a bot records: previous + amount, going round the dial as the meter itself would."""
    value = previous + amount
    if digits is not None and previous < Decimal(10) ** digits:
        value %= Decimal(10) ** digits
    return value.quantize(QUANTUM)
