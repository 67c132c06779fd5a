"""Handing in readings, reading them back, and the meters' bots: the rules every channel shares."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from ekc import clock
from ekc.domain.model import Account, Actor, Channel, Meter, Organization, Submission
from ekc.domain.months import Month
from ekc.domain.values import Warning, assess, format_value, parse_amount, parse_value
from ekc.domain.windows import WindowState, format_local, window_state
from ekc.exceptions import InvalidValue, NotFound, StorageUnavailable
from ekc.messages import ROWS
from ekc.observability import count, logger
from ekc.services import access, get_repository
from ekc.storage.repository import ReadingWrite, Repository

MAX_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class MeterView:
    """A meter as a resident sees it now: its window, previous reading and this month's reading."""

    meter: Meter
    organization: Organization
    window: WindowState

    @property
    def previous(self) -> tuple[Decimal | None, Month | None]:
        """The reading the current one is compared with."""
        return self.meter.baseline_for(self.window.billing_month)

    @property
    def current(self) -> Submission | None:
        """The winning reading of the window's month, if any came in."""
        current = self.meter.current
        if current is not None and current.billing_month == self.window.billing_month:
            return current
        return None


@dataclass(frozen=True, slots=True)
class ReadingsPage:
    """An account and its meters."""

    account: Account
    meters: list[MeterView]


@dataclass(frozen=True, slots=True)
class RowInput:
    """One row typed by a resident (or said, or keyed in)."""

    meter_id: str
    value: str
    confirm: bool = False


@dataclass(frozen=True, slots=True)
class RowResult:
    """What happened to one row."""

    meter_id: str
    status: str  # saved | needs_confirmation | rejected | closed | superseded | unchanged
    message: str
    warnings: tuple[Warning, ...] = ()
    code: str | None = None  # why a row was rejected


@dataclass(frozen=True, slots=True)
class SaveOutcome:
    """Results per row, and the meters as they are after the write."""

    results: list[RowResult]
    meters: list[MeterView]


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a submission came from, as history records it."""

    channel: Channel
    source: str  # "IP: 1.2.3.4", "Viber", "+38067***1357"
    who: str


def _views(meters: list[Meter], orgs: dict[str, Organization], now: datetime) -> list[MeterView]:
    views = []
    for meter in meters:
        org = orgs.get(meter.organization_id)
        if org is None:
            logger.error(
                "meter without organization", extra={"meter_id": meter.id, "org": meter.organization_id}
            )
            continue
        views.append(MeterView(meter, org, window_state(org.rule, now)))
    return views


def readings_page(
    actor: Actor, number: str, *, repo: Repository | None = None, now: datetime | None = None
) -> ReadingsPage:
    """An account's meters with their windows and readings: 1 Query (+ organizations, usually cached)."""
    repo = repo or get_repository()
    bundle = access.load_for(actor, number, repo)
    return ReadingsPage(bundle.account, _views(bundle.meters, repo.organizations(), now or clock.now()))


def _decide(row: RowInput, view: MeterView, origin: Origin, now: datetime) -> RowResult | Submission:
    """A row's fate before any write: a refusal, a question, or the submission to write."""
    if not row.value.strip():
        return RowResult(row.meter_id, "unchanged", ROWS["unchanged"])
    if not view.window.open:
        text = ROWS["closed"].format(
            opens=format_local(view.window.opens_at), closes=format_local(view.window.closes_at)
        )
        return RowResult(row.meter_id, "closed", text, code="closed")
    meter = view.meter
    try:
        value = parse_value(row.value, meter.digits)
    except InvalidValue as exc:
        return RowResult(row.meter_id, "rejected", exc.message, code=exc.code)
    previous, _ = view.previous
    verdict = assess(
        value, previous, kind=meter.kind, digits=meter.digits, usual=meter.usual, confirmed=row.confirm
    )
    if verdict.needs_confirmation:
        text = ROWS["needs_confirmation"].format(
            value=format_value(value),
            consumption=format_value(verdict.consumption or Decimal(0)),
            unit=meter.unit,
        )
        return RowResult(row.meter_id, "needs_confirmation", text, code="implausible")
    return Submission(
        meter_id=meter.id,
        billing_month=view.window.billing_month,
        value=value,
        at=now,
        channel=origin.channel,
        source=origin.source,
        who=origin.who,
        warnings=verdict.warnings,
        consumption=verdict.consumption,
    )


def save_readings(
    actor: Actor,
    number: str,
    rows: list[RowInput],
    origin: Origin,
    *,
    repo: Repository | None = None,
    now: datetime | None = None,
) -> SaveOutcome:
    """Save every row of an account that can be saved, in one transaction; a result per row.

    Requests: 1 Query + 1 TransactWriteItems (+1 of each per retry when another channel raced us).
    """
    repo = repo or get_repository()
    now = now or clock.now()
    bundle = access.load_for(actor, number, repo)
    orgs = repo.organizations()
    results: dict[str, RowResult] = {}
    views = {v.meter.id: v for v in _views(bundle.meters, orgs, now)}
    pending = _dedupe(rows)
    for _ in range(MAX_ATTEMPTS):
        writes: list[ReadingWrite] = []
        for row in pending:
            view = views.get(row.meter_id)
            if view is None:
                results[row.meter_id] = RowResult(
                    row.meter_id,
                    "rejected",
                    ROWS["rejected"].format(reason="Лічильник не знайдено."),
                    code="not_found",
                )
                continue
            decision = _decide(row, view, origin, now)
            if isinstance(decision, RowResult):
                results[row.meter_id] = decision
            else:
                writes.append(ReadingWrite(view.meter, decision))
        conflicts = repo.record_readings(writes)
        if not any(conflicts):
            for write in writes:
                updated = write.meter.with_reading(write.submission)
                views[updated.id] = replace(views[updated.id], meter=updated)
                results[updated.id] = RowResult(
                    updated.id,
                    "saved",
                    ROWS["saved"].format(value=format_value(write.submission.value)),
                    write.submission.warnings,
                )
                count("ReadingSaved", "channel", str(origin.channel))
            break
        # Another submission changed some meter between our read and our write: nothing was written.
        fresh = access.load_for(actor, number, repo)
        views = {v.meter.id: v for v in _views(fresh.meters, orgs, now)}
        retry_ids = {w.meter.id for w in writes}
        pending = [row for row in pending if row.meter_id in retry_ids]
        for row in list(pending):
            current = views[row.meter_id].current
            if current is not None and current.at > now:
                results[row.meter_id] = RowResult(
                    row.meter_id, "superseded", ROWS["superseded"].format(value=format_value(current.value))
                )
                pending.remove(row)
    else:
        # Three races in a row on one account: nothing was written; the resident is told to retry.
        raise StorageUnavailable()
    for result in results.values():
        if result.status in ("rejected", "needs_confirmation", "closed"):
            count("ReadingRefused", "reason", result.code or result.status)
    ordered = [results[row.meter_id] for row in _dedupe(rows) if row.meter_id in results]
    return SaveOutcome(ordered, [views[m.id] for m in bundle.meters if m.id in views])


def _dedupe(rows: list[RowInput]) -> list[RowInput]:
    """Two rows for one meter in one request: the last one wins, as it would if sent one by one."""
    last = {row.meter_id: row for row in rows}
    return list(last.values())


@dataclass(frozen=True, slots=True)
class MonthSummary:
    """A billing month's winning reading, for the chart."""

    billing_month: Month
    value: Decimal
    consumption: Decimal | None


@dataclass(frozen=True, slots=True)
class MeterHistory:
    """Every accepted submission of a meter and the monthly results."""

    view: MeterView
    submissions: list[Submission]
    months: list[MonthSummary]


def meter_history(
    actor: Actor, number: str, meter_id: str, *, repo: Repository | None = None, now: datetime | None = None
) -> MeterHistory:
    """A meter's history, for statistics and disputes: 1 Query of the account + 1 Query of the meter."""
    repo = repo or get_repository()
    bundle = access.load_for(actor, number, repo)
    views = {v.meter.id: v for v in _views(bundle.meters, repo.organizations(), now or clock.now())}
    view = views.get(meter_id)
    if view is None:
        raise NotFound()
    submissions = repo.history(meter_id)
    winners: dict[Month, Submission] = {}
    for s in submissions:  # newest first: the first seen per month is the one that counts
        winners.setdefault(s.billing_month, s)
    months = [MonthSummary(m, s.value, s.consumption) for m, s in sorted(winners.items())]
    return MeterHistory(view, submissions, months)


def set_bot(
    actor: Actor,
    number: str,
    meter_id: str,
    enabled: bool,
    amount: str,
    *,
    repo: Repository | None = None,
    now: datetime | None = None,
) -> MeterView:
    """Switch a meter's auto-increment bot and set its monthly amount: 1 Query + 1 UpdateItem."""
    repo = repo or get_repository()
    value = parse_amount(amount) if amount.strip() else Decimal(0)
    bundle = access.load_for(actor, number, repo)
    if all(m.id != meter_id for m in bundle.meters):
        raise NotFound()
    meter = repo.set_bot(number, meter_id, enabled, value)
    view = _views([meter], repo.organizations(), now or clock.now())
    if not view:
        raise NotFound()
    return view[0]
