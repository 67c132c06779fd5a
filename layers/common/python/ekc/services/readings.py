"""Handing in readings, reading them back, and the meters' bots: the rules every door shares.

Services answer with data (statuses, values, warnings with their numbers, windows); each door words
them in `ekc/channels/<door>.py`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from ekc import clock
from ekc.domain.identity import Caller, Origin
from ekc.domain.model import Account, Meter, Organization, Submission
from ekc.domain.months import Month
from ekc.domain.values import Warning, assess, parse_amount, parse_value
from ekc.domain.windows import WindowState, window_state
from ekc.exceptions import InvalidValue, NotFound, StorageUnavailable
from ekc.observability import count, logger
from ekc.services import access
from ekc.storage import get_stores
from ekc.storage.ports import ReadingWrite, Stores

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
    """An account and its meters; `account` is None for a caller who may not see personal data."""

    number: str
    account: Account | None
    meters: list[MeterView]


@dataclass(frozen=True, slots=True)
class RowInput:
    """One meter's value as typed, said or keyed in."""

    meter_id: str
    value: str
    confirm: bool = False


class RowStatus(StrEnum):
    """What happened to one row of a save."""

    SAVED = "saved"
    UNCHANGED = "unchanged"  # nothing was entered
    CLOSED = "closed"  # the meter's window is not open
    NEEDS_CONFIRMATION = "needs_confirmation"  # implausible: say it again with confirm
    REJECTED = "rejected"  # not a reading of this meter (see `reason`)
    SUPERSEDED = "superseded"  # a newer submission came in meanwhile; this one changed nothing


@dataclass(frozen=True, slots=True)
class Question:
    """Why a value needs the resident's confirmation, with the numbers to show or say."""

    value: Decimal
    consumption: Decimal
    usual: Decimal | None


@dataclass(frozen=True, slots=True)
class RowResult:
    """The outcome of one row, as data."""

    meter_id: str
    status: RowStatus
    value: Decimal | None = None  # what was saved (or questioned)
    consumption: Decimal | None = None
    warnings: tuple[Warning, ...] = ()
    reason: str | None = None  # an error code for rejected/closed/needs_confirmation rows
    reason_params: Mapping[str, object] = field(default_factory=dict)
    view: MeterView | None = None  # the meter (its unit, window) after the save
    question: Question | None = None
    newer: Submission | None = None  # for superseded: the submission that won


@dataclass(frozen=True, slots=True)
class SaveOutcome:
    """Results per row, and the meters as they are after the write."""

    results: list[RowResult]
    meters: list[MeterView]


def _views(meters: list[Meter], orgs: dict[str, Organization], now: datetime) -> list[MeterView]:
    views = []
    for meter in meters:
        if meter.retired_on is not None:  # billing no longer lists it: no readings (its history stays)
            continue
        org = orgs.get(meter.organization_id)
        if org is None:
            logger.error(
                "meter without organization", extra={"meter_id": meter.id, "org": meter.organization_id}
            )
            continue
        views.append(MeterView(meter, org, window_state(org.rule, now)))
    return views


def readings_page(
    caller: Caller, number: str, *, stores: Stores | None = None, now: datetime | None = None
) -> ReadingsPage:
    """An account's meters with their windows and readings: 1 Query (+ organizations, usually cached)."""
    stores = stores or get_stores()
    bundle = access.load_for(caller, number, stores)
    views = _views(bundle.meters, stores.catalogue.organizations(), now or clock.now())
    account = bundle.account if access.sees_personal_data(caller) else None
    return ReadingsPage(number, account, views)


def _decide(row: RowInput, view: MeterView, origin: Origin, now: datetime) -> RowResult | Submission:
    """A row's fate before any write: a refusal, a question, or the submission to write."""
    if not row.value.strip():
        return RowResult(row.meter_id, RowStatus.UNCHANGED, view=view)
    if not view.window.open:
        return RowResult(row.meter_id, RowStatus.CLOSED, reason="closed", view=view)
    meter = view.meter
    try:
        value = parse_value(row.value, meter.digits)
    except InvalidValue as exc:
        return RowResult(
            row.meter_id, RowStatus.REJECTED, reason=exc.code, reason_params=exc.params, view=view
        )
    previous, _ = view.previous
    verdict = assess(
        value, previous, kind=meter.kind, digits=meter.digits, usual=meter.usual, confirmed=row.confirm
    )
    if verdict.needs_confirmation:
        consumption = verdict.consumption or Decimal(0)
        return RowResult(
            row.meter_id,
            RowStatus.NEEDS_CONFIRMATION,
            value=value,
            consumption=consumption,
            reason="implausible",
            view=view,
            question=Question(value, consumption, meter.usual),
        )
    return Submission(
        meter_id=meter.id,
        billing_month=view.window.billing_month,
        value=value,
        at=now,
        origin=origin,
        warnings=verdict.warnings,
        consumption=verdict.consumption,
    )


def save_readings(
    caller: Caller,
    number: str,
    rows: list[RowInput],
    origin: Origin,
    *,
    stores: Stores | None = None,
    now: datetime | None = None,
) -> SaveOutcome:
    """Save every row of an account that can be saved, in one transaction; a result per row.

    Requests: 1 Query + 1 TransactWriteItems (+1 of each per retry when another channel raced us).
    """
    stores = stores or get_stores()
    now = now or clock.now()
    bundle = access.load_for(caller, number, stores)
    orgs = stores.catalogue.organizations()
    results: dict[str, RowResult] = {}
    views = {v.meter.id: v for v in _views(bundle.meters, orgs, now)}
    pending = _dedupe(rows)
    for _ in range(MAX_ATTEMPTS):
        writes: list[ReadingWrite] = []
        for row in pending:
            view = views.get(row.meter_id)
            if view is None:
                results[row.meter_id] = RowResult(row.meter_id, RowStatus.REJECTED, reason="meter_not_found")
                continue
            decision = _decide(row, view, origin, now)
            if isinstance(decision, RowResult):
                results[row.meter_id] = decision
            else:
                writes.append(ReadingWrite(view.meter, decision))
        conflicts = stores.readings.record_readings(writes)
        if not any(conflicts):
            for write in writes:
                updated = write.meter.with_reading(write.submission)
                view = replace(views[updated.id], meter=updated)
                views[updated.id] = view
                s = write.submission
                results[updated.id] = RowResult(
                    updated.id, RowStatus.SAVED, s.value, s.consumption, s.warnings, view=view
                )
                count("ReadingSaved", "channel", str(origin.channel))
            break
        # Another submission changed some meter between our read and our write: nothing was written.
        fresh = access.load_for(caller, number, stores)
        views = {v.meter.id: v for v in _views(fresh.meters, orgs, now)}
        retry_ids = {w.meter.id for w in writes}
        pending = [row for row in pending if row.meter_id in retry_ids]
        for row in list(pending):
            view = views[row.meter_id]
            current = view.current
            if current is not None and current.at > now:
                results[row.meter_id] = RowResult(
                    row.meter_id, RowStatus.SUPERSEDED, view=view, newer=current
                )
                pending.remove(row)
    else:
        # Three races in a row on one account: nothing was written; the resident is told to retry.
        raise StorageUnavailable()
    for result in results.values():
        if result.status in (RowStatus.REJECTED, RowStatus.NEEDS_CONFIRMATION, RowStatus.CLOSED):
            count("ReadingRefused", "reason", result.reason or str(result.status))
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
    caller: Caller,
    number: str,
    meter_id: str,
    *,
    stores: Stores | None = None,
    now: datetime | None = None,
) -> MeterHistory:
    """A meter's history, for statistics and disputes: 1 Query of the account + 1 Query of the meter."""
    stores = stores or get_stores()
    bundle = access.load_for(caller, number, stores)
    views = {
        v.meter.id: v for v in _views(bundle.meters, stores.catalogue.organizations(), now or clock.now())
    }
    view = views.get(meter_id)
    if view is None:
        raise NotFound()
    submissions = stores.readings.history(meter_id)
    winners: dict[Month, Submission] = {}
    for s in submissions:  # newest first: the first seen per month is the one that counts
        winners.setdefault(s.billing_month, s)
    months = [MonthSummary(m, s.value, s.consumption) for m, s in sorted(winners.items())]
    return MeterHistory(view, submissions, months)


def set_bot(
    caller: Caller,
    number: str,
    meter_id: str,
    enabled: bool,
    amount: str,
    *,
    stores: Stores | None = None,
    now: datetime | None = None,
) -> MeterView:
    """Switch a meter's auto-increment bot and set its monthly amount: 1 Query + 1 UpdateItem."""
    stores = stores or get_stores()
    value = parse_amount(amount) if amount.strip() else Decimal(0)
    bundle = access.load_for(caller, number, stores)
    meter = next((m for m in bundle.meters if m.id == meter_id), None)
    if meter is None:
        raise NotFound()
    updated = stores.accounts.set_bot(meter, enabled, value)
    view = _views([updated], stores.catalogue.organizations(), now or clock.now())
    if not view:
        raise NotFound()
    return view[0]
