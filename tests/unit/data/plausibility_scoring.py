"""Replay a plausibility rule over the corpora: typos it catches, genuine readings it questions.

Each meter's genuine readings are replayed in order, as the service would see them: judged against the
previous reading and the history so far, then saved (a questioned genuine reading is confirmed by its
resident) and folded into the history. Each typo is judged in the same place as the genuine reading it
mistypes, against the same previous reading and history, and then forgotten.

A typo's fate: `refused` (the parser or the old digit limit says no and the resident retypes),
`questioned` (asked to confirm), `warned` (saved with the lower-than-previous warning) or `silent`
(saved as if right, perhaps called a rollover). Caught = refused + questioned.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ekc.domain import plausibility as p
from ekc.domain.kinds import KINDS, MeterKind
from ekc.domain.months import Month
from tests.unit.data.plausibility_corpus import Corpora, CorpusMeter, Series

QUANTUM = Decimal("0.001")

_NUMBER = re.compile(r"^(?P<int>[0-9]+)(?:\.(?P<frac>[0-9]{0,3}))?$")
WINTER = (11, 12, 1, 2, 3)


def parse_new(text: str) -> Decimal | None:
    """The parser the new rule expects: no digit limit (the rule asks), at most 3 decimals, else None."""
    match = _NUMBER.match(text)
    if match is None:
        return None
    return Decimal(f"{match['int']}.{match['frac'] or '0'}").quantize(QUANTUM)


def old_parse(text: str, digits: int) -> Decimal | None:
    """The old parser (values.parse_value before this change): also refuses more digits than the dial."""
    value = parse_new(text)
    if value is None or len(text.split(".")[0].lstrip("0")) > digits:
        return None
    return value


def old_updated_usual(usual: Decimal | None, months: int, consumption: Decimal) -> tuple[Decimal, int]:
    """The old running mean (values.updated_usual): over at most the last 12 months."""
    if usual is None or months == 0:
        return consumption.quantize(QUANTUM), 1
    weight = min(months + 1, 12)
    return (usual + (consumption - usual) / weight).quantize(QUANTUM), weight


@dataclass(frozen=True, slots=True)
class Verdict:
    """What a rule did with one typed value."""

    fate: str  # refused, questioned, warned, silent
    consumption: Decimal | None = None
    rollover: bool = False


@dataclass
class Score:
    """The figures of one rule over both corpora."""

    typos: Counter[str] = field(default_factory=Counter)  # by fate
    typos_by_kind: dict[str, Counter[str]] = field(default_factory=dict)  # typo kind -> fate
    typos_by_meter_kind: dict[str, Counter[str]] = field(default_factory=dict)
    by_effect: dict[str, Counter[str]] = field(default_factory=dict)  # typo_effect -> fate
    genuine: Counter[str] = field(default_factory=Counter)
    genuine_by_kind: dict[str, Counter[str]] = field(default_factory=dict)
    genuine_questioned_winter: int = 0
    typos_as_rollover: int = 0  # typos saved as if the dial had gone round
    rollovers: Counter[str] = field(default_factory=Counter)  # genuine rollovers: recognised or not
    examples: list[str] = field(default_factory=list)  # a few genuine readings questioned, to read

    @property
    def typos_caught(self) -> int:
        """Typos refused or questioned."""
        return self.typos["questioned"] + self.typos["refused"]

    @property
    def genuine_questioned(self) -> int:
        """Genuine readings refused or questioned."""
        return self.genuine["questioned"] + self.genuine["refused"]

    def figures(self) -> dict[str, Any]:
        """The plain numbers, for bench and the docs."""
        total = sum(self.typos.values())
        genuine = sum(self.genuine.values())
        return {
            "typos_caught": self.typos_caught,
            "typos_total": total,
            "typos_warned": self.typos["warned"],
            "typos_silent": self.typos["silent"],
            "catchable_typos_caught": sum(
                self.by_effect.get(e, Counter())[f] for e in CATCHABLE for f in ("questioned", "refused")
            ),
            "catchable_typos_total": sum(sum(self.by_effect.get(e, Counter()).values()) for e in CATCHABLE),
            "typos_as_rollover": self.typos_as_rollover,
            "genuine_questioned": self.genuine_questioned,
            "genuine_total": genuine,
            "genuine_questioned_winter": self.genuine_questioned_winter,
            "genuine_rollovers_recognised": self.rollovers["recognised"],
            "genuine_rollovers_total": sum(self.rollovers.values()),
        }


class Replay:
    """One meter's state under one rule: judge a typed value, then save a genuine one."""

    def judge(self, typed: str, month: Month, since: int) -> Verdict:  # pragma: no cover - interface
        raise NotImplementedError

    def save(self, typed: str, month: Month, since: int) -> Verdict:  # pragma: no cover - interface
        raise NotImplementedError


class NewReplay(Replay):
    """The new rule (ekc.domain.plausibility) with the parser it expects."""

    def __init__(self, meter: CorpusMeter, rule: p.Rule) -> None:
        self.meter, self.rule = meter, rule
        self.profile = p.UsageProfile()
        self.previous: Decimal | None = None

    def _judge(self, typed: str, month: Month, since: int) -> tuple[Verdict, p.Judgement | None]:
        value = parse_new(typed)
        if value is None:
            return Verdict("refused"), None
        j = p.judge_reading(
            self.previous,
            value,
            kind=self.meter.kind,
            digits=self.meter.digits,
            profile=self.profile,
            billing_month=month,
            months_since_previous=since,
            rule=self.rule,
        )
        if j.needs_confirmation:
            fate = "questioned"
        elif p.Code.LOWER_THAN_PREVIOUS in j.codes:
            fate = "warned"
        else:
            fate = "silent"
        return Verdict(fate, j.consumption, j.rollover), j

    def judge(self, typed: str, month: Month, since: int) -> Verdict:
        """Judge without saving."""
        return self._judge(typed, month, since)[0]

    def save(self, typed: str, month: Month, since: int) -> Verdict:
        """Judge, then save as a resident who confirms what is questioned."""
        verdict, j = self._judge(typed, month, since)
        assert j is not None, f"a genuine reading was refused: {typed}"
        if self.previous is not None:
            self.profile = self.profile.updated(
                month,
                j.consumption,
                confirmed_high=j.implausible_high,
                rollover=j.rollover,
                months_elapsed=since,
            )
        self.previous = j.value
        return verdict


def old_assess(
    value: Decimal,
    previous: Decimal | None,
    *,
    kind: MeterKind,
    digits: int,
    usual: Decimal | None,
    factor: int,
) -> tuple[Decimal | None, bool, str | None]:
    """ekc.domain.values.assess with another factor: (consumption, needs confirmation, warning code)."""
    if previous is None:
        return None, False, None
    consumption = value - previous
    code = None
    if value < previous:
        top = Decimal(10**digits)
        if previous >= top * Decimal("0.9") and value < top * Decimal("0.1"):
            consumption, code = top - previous + value, "rollover"
        else:
            return None, False, "lower_than_previous"
    info = KINDS[kind]
    limit = info.monthly_ceiling if usual is None else factor * max(usual, info.monthly_floor)
    return consumption, consumption > limit, code


class OldReplay(Replay):
    """The rule in ekc.domain.values today: a running mean, factor x mean, the eager rollover.

    It is given the dial's real digits (it has no notion of unknown digits) and folds each month's use
    into the mean at once (the repository does so one month later): both favour it, if anything.
    """

    def __init__(self, meter: CorpusMeter, factor: int = 10) -> None:
        self.meter, self.factor = meter, factor
        self.usual: Decimal | None = None
        self.months = 0
        self.previous: Decimal | None = None

    def _judge(self, typed: str) -> tuple[Verdict, Decimal | None]:
        value = old_parse(typed, self.meter.dial_digits)
        if value is None:
            return Verdict("refused"), None
        consumption, needs, code = old_assess(
            value,
            self.previous,
            kind=self.meter.kind,
            digits=self.meter.dial_digits,
            usual=self.usual,
            factor=self.factor,
        )
        fate = "questioned" if needs else "warned" if code == "lower_than_previous" else "silent"
        return Verdict(fate, consumption, code == "rollover"), value

    def judge(self, typed: str, month: Month, since: int) -> Verdict:
        """Judge without saving."""
        return self._judge(typed)[0]

    def save(self, typed: str, month: Month, since: int) -> Verdict:
        """Judge, then save, folding the use into the running mean as the repository does."""
        verdict, value = self._judge(typed)
        assert value is not None, f"a genuine reading was refused: {typed}"
        if verdict.consumption is not None and verdict.consumption >= 0:
            self.usual, self.months = old_updated_usual(self.usual, self.months, verdict.consumption)
        self.previous = value
        return verdict


def _fold(target: dict[str, Counter[str]], key: str, fate: str) -> None:
    target.setdefault(key, Counter())[fate] += 1


def score(corpora: Corpora, make: Callable[[CorpusMeter], Replay], *, examples: int = 0) -> Score:
    """Replay every series under the rule `make` builds per meter, typos included."""
    result = Score()
    typos_at: dict[tuple[int, int], list[int]] = {}
    for t_index, typo in enumerate(corpora.typos):
        typos_at.setdefault((typo.series, typo.reading), []).append(t_index)
    for s_index, series in enumerate(corpora.series):
        replay = make(series.meter)
        for r_index, reading in enumerate(series.readings):
            since = reading.months_since_previous or 1
            for t_index in typos_at.get((s_index, r_index), []):
                typo = corpora.typos[t_index]
                judged = replay.judge(typo.typed, reading.month, since)
                fate = judged.fate
                if judged.rollover and fate == "silent":
                    result.typos_as_rollover += 1
                result.typos[fate] += 1
                _fold(result.typos_by_kind, typo.kind, fate)
                _fold(result.typos_by_meter_kind, series.meter.kind.value, fate)
                _fold(result.by_effect, typo_effect(series, r_index, typo.typed), fate)
            verdict = replay.save(reading.typed, reading.month, since)
            if reading.months_since_previous is None:
                continue  # a first reading has nothing to be judged against
            result.genuine[verdict.fate] += 1
            _fold(result.genuine_by_kind, series.meter.kind.value, verdict.fate)
            if verdict.fate in ("questioned", "refused"):
                if reading.month.month in WINTER:
                    result.genuine_questioned_winter += 1
                if len(result.examples) < examples:
                    result.examples.append(_describe(series, r_index))
            if _rolled(series, r_index):
                result.rollovers["recognised" if verdict.rollover else "missed"] += 1
    return result


def typo_effect(series: Series, r_index: int, typed: str) -> str:
    """What a typo does to the use, whatever the rule: the classes of docs/plausibility.md.

    The typed use is compared with the true use, or with half the meter's median month for the months
    covered if that is more (a typo of 0.01 Gcal in a summer month with no heating is no "x>10").
    """
    reading, previous = series.readings[r_index], series.readings[r_index - 1]
    value = parse_new(typed)
    if value is None:
        return "unreadable"  # more than 3 decimals: every parser refuses it
    if value < previous.value:
        return "below previous"  # saved with the lower-than-previous warning, by the spec
    true = reading.true_consumption or Decimal(0)
    if reading.value < previous.value:
        return "x>10"  # a typo on a rolling month that does not roll: the use jumps by the dial's span
    use = value - previous.value
    if use <= true:
        return "less use"
    reference = max(true, _median_month(series) * (reading.months_since_previous or 1) / 2)
    ratio = use / reference if reference > 0 else Decimal("Infinity")
    for limit, name in ((Decimal("1.5"), "x1-1.5"), (Decimal(3), "x1.5-3"), (Decimal(10), "x3-10")):
        if ratio <= limit:
            return name
    return "x>10"


def _median_month(series: Series) -> Decimal:
    uses = sorted(
        r.true_consumption / r.months_since_previous
        for r in series.readings
        if r.true_consumption is not None and r.months_since_previous
    )
    return uses[len(uses) // 2] if uses else Decimal(0)


EFFECTS = ("unreadable", "below previous", "less use", "x1-1.5", "x1.5-3", "x3-10", "x>10")
# Typos a rule can question without also questioning genuine months that are as far from usual.
CATCHABLE = ("unreadable", "x1.5-3", "x3-10", "x>10")


def _rolled(series: Series, r_index: int) -> bool:
    reading = series.readings[r_index]
    # Only where the dial's digits are known: with unknown digits the rule never sees a rollover.
    return (
        series.meter.digits is not None and r_index > 0 and reading.value < series.readings[r_index - 1].value
    )


def _describe(series: Series, r_index: int) -> str:
    r = series.readings[r_index]
    uses = [str(x.true_consumption) for x in series.readings[max(1, r_index - 13) : r_index]]
    return (
        f"{series.meter.id} ({series.meter.household}) {r.month}: {r.true_consumption} over "
        f"{r.months_since_previous} month(s); before: {', '.join(uses)}"
    )


def new_rule(rule: p.Rule = p.DEFAULT_RULE) -> Callable[[CorpusMeter], Replay]:
    """A factory of replays of the new rule with these parameters."""
    return lambda meter: NewReplay(meter, rule)


def old_rule(factor: int = 10) -> Callable[[CorpusMeter], Replay]:
    """A factory of replays of the old rule with this factor (10 is today's)."""
    return lambda meter: OldReplay(meter, factor)


@dataclass
class AfterTypo:
    """What follows a typo its resident confirmed by mistake, and then the true readings."""

    corrections: Counter[str] = field(default_factory=Counter)  # the next true reading's fate
    probes_caught: int = 0  # x5 over-reads in the following 12 months that are questioned
    probes_total: int = 0
    clean_probes_caught: int = 0  # the same probes with no confirmed typo before them

    def figures(self) -> dict[str, Any]:
        """The plain numbers."""
        return {
            "confirmed_typos": sum(self.corrections.values()),
            "corrections_lower_than_previous": self.corrections["warned"],
            "corrections_as_rollover": self.corrections["rollover"],
            "corrections_questioned": self.corrections["questioned"],
            "corrections_silent": self.corrections["silent"],
            "probes_caught_after": self.probes_caught,
            "probes_caught_clean": self.clean_probes_caught,
            "probes_total": self.probes_total,
        }


def confirmable(corpora: Corpora, limit: int) -> list[int]:
    """Typos that raise the use at least 3x and fit the dial: ones a resident might confirm by mistake."""
    chosen = []
    for t_index, typo in enumerate(corpora.typos):
        series = corpora.series[typo.series]
        value = parse_new(typo.typed)
        if value is None or value >= 10**series.meter.dial_digits:
            continue
        if typo_effect(series, typo.reading, typo.typed) in ("x3-10", "x>10"):
            chosen.append(t_index)
    return chosen[:: max(1, len(chosen) // limit)][:limit]


def _probe(series: Series, previous: Decimal, since: int) -> str:
    """A clear over-read: five times the meter's median month for the months covered, typed plainly."""
    use = max(_median_month(series), Decimal(1)) * 5 * since
    return format(((previous + use) % 10**series.meter.dial_digits).quantize(QUANTUM), "f")


def score_after_confirmed_typos(
    corpora: Corpora, make: Callable[[CorpusMeter], Replay], *, limit: int = 300
) -> AfterTypo:
    """Save a typo as if confirmed, then the true readings; judge the correction and a year of probes."""
    result = AfterTypo()
    for t_index in confirmable(corpora, limit):
        typo = corpora.typos[t_index]
        series = corpora.series[typo.series]
        poisoned, clean = make(series.meter), make(series.meter)
        for reading in series.readings[: typo.reading]:
            since = reading.months_since_previous or 1
            poisoned.save(reading.typed, reading.month, since)
            clean.save(reading.typed, reading.month, since)
        reading = series.readings[typo.reading]
        since = reading.months_since_previous or 1
        poisoned.save(typo.typed, reading.month, since)
        clean.save(reading.typed, reading.month, since)
        later = series.readings[typo.reading + 1 :]
        if not later:
            continue
        for n, reading in enumerate(later[:13]):
            since = reading.months_since_previous or 1
            if n > 0:  # the year after the correction: would a clear over-read still be questioned?
                for replay, clean_one in ((poisoned, False), (clean, True)):
                    previous = getattr(replay, "previous", None)
                    if previous is None:
                        continue
                    caught = replay.judge(_probe(series, previous, since), reading.month, since).fate in (
                        "questioned",
                        "refused",
                    )
                    if clean_one:
                        result.clean_probes_caught += caught
                    else:
                        result.probes_caught += caught
                        result.probes_total += 1
            verdict = poisoned.save(reading.typed, reading.month, since)
            clean.save(reading.typed, reading.month, since)
            if n == 0:
                fate = "rollover" if verdict.rollover else verdict.fate
                result.corrections[fate] += 1
    return result
