"""Handing in readings, reading them back, and the meters' bots: the rules every door shares.

Services answer with data (statuses, values, warnings with their numbers, windows); each door words
them in `ekc/channels/<door>.py`.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from ekc import clock
from ekc.domain import judging
from ekc.domain.identity import Caller, Origin
from ekc.domain.model import (
    MAX_SUBMISSIONS_PER_DAY,
    RESIDENT_CHANNELS,
    Account,
    Meter,
    Organization,
    Submission,
)
from ekc.domain.months import Month
from ekc.domain.plausibility import Code, judge_bot_amount
from ekc.domain.values import QUANTUM, Warning, parse_amount, parse_value
from ekc.domain.windows import KYIV, WindowState, window_state
from ekc.exceptions import Conflict, InvalidRequest, InvalidValue, NotFound, StorageUnavailable
from ekc.observability import count, logger
from ekc.services import access
from ekc.storage import get_stores
from ekc.storage.ports import OutcomeUnknown, ReadingWrite, SaveMarker, SaveReplayed, Stores

MAX_ATTEMPTS = 3
# A history page's cursor, as storage hands it out: the sort key of the last submission shown.
HISTORY_CURSOR = re.compile(r"R#[0-9T:.+-]{20,40}#[0-9a-f]{8}")


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
    """One meter's value as typed, said or keyed in; `confirmed` is the value the resident confirmed.

    A confirmation holds for the value that was questioned only: confirming 9999 does not let 99999 in.
    """

    meter_id: str
    value: str
    confirmed: str | None = None


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
    code: str  # implausible_high | more_digits_than_dial
    consumption: Decimal | None  # the use the value means, over `months`
    usual: Decimal | None  # the usual use over the same months (None: no history yet)
    months: int
    digits: int | None  # the dial's digits on record, for more_digits_than_dial


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
    """Results per row, and the meters as they are after the write.

    `replayed`: this submission key was answered before; nothing was written now, and a door that
    already answered it (Viber, the phone) says nothing again.
    """

    results: list[RowResult]
    meters: list[MeterView]
    replayed: bool = False


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
        value = parse_value(row.value)
        confirmed = None if row.confirmed is None else parse_value(row.confirmed)
    except InvalidValue as exc:
        return RowResult(
            row.meter_id, RowStatus.REJECTED, reason=exc.code, reason_params=exc.params, view=view
        )
    today = now.astimezone(KYIV).date()
    if origin.channel in RESIDENT_CHANNELS and meter.submissions_on(today) >= MAX_SUBMISSIONS_PER_DAY:
        params = {"limit": MAX_SUBMISSIONS_PER_DAY}
        return RowResult(
            row.meter_id, RowStatus.REJECTED, reason="too_many_today", reason_params=params, view=view
        )
    verdict = judging.judge(meter, view.window.billing_month, value, confirmed=confirmed)
    if verdict.question is not None:
        q = verdict.question
        code = "implausible_high" if Code.IMPLAUSIBLE_HIGH in verdict.codes else "more_digits_than_dial"
        usual = None if q.usual_monthly is None else (q.usual_monthly * q.months).quantize(QUANTUM)
        question = Question(value, code, q.consumption, usual, q.months, q.digits)
        return RowResult(
            row.meter_id,
            RowStatus.NEEDS_CONFIRMATION,
            value=value,
            consumption=verdict.consumption,
            reason=code,
            view=view,
            question=question,
        )
    for code in verdict.codes:
        count("ReadingFlagged", "code", str(code))
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
    key: str | None = None,
    stores: Stores | None = None,
    now: datetime | None = None,
) -> SaveOutcome:
    """Save every row of an account that can be saved, in one transaction; a result per row.

    `key` identifies this submission (one press of "save", a Viber message, a call's step): the same
    key again is answered with what it did the first time and writes nothing, so a retried request
    cannot overwrite a later correction. When DynamoDB's answer is lost, the key settles truthfully
    whether the save happened. Requests: 1 Query + 1 TransactWriteItems (+1 of each per retry when
    another channel raced us).
    """
    stores = stores or get_stores()
    now = now or clock.now()
    door_key = key
    key = key or uuid.uuid4().hex  # without the door's key, a lost answer can still be settled
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
        try:
            if not writes and door_key is not None:
                # Nothing to write (a question, a refusal): still claim the key, so a re-sent
                # delivery is recognised and its door does not answer twice. 1 PutItem.
                stores.readings.claim(number, door_key, now)
            conflicts = _record(stores, number, writes, key, now)
        except SaveReplayed as replay:
            return _replayed(rows, replay.marker, views, origin, now)
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


def _record(stores: Stores, number: str, writes: list[ReadingWrite], key: str, now: datetime) -> list[bool]:
    """Write, and when the answer is lost, find out truthfully whether the write happened."""
    if not writes:
        return []
    try:
        return stores.readings.record_readings(writes, key=key)
    except OutcomeUnknown:
        count("SaveOutcomeUnknown", "stage", "settling")
        try:
            marker = stores.readings.settle(number, key, now)
        except StorageUnavailable as exc:
            # Neither the answer nor the check came back: say so, never "saved" nor "nothing saved".
            raise StorageUnavailable("outcome_unknown") from exc
        if marker.state != "saved":
            raise StorageUnavailable() from None  # settled: it did not happen, and now never will
        return [False] * len(writes)


def _replayed(
    rows: list[RowInput],
    marker: SaveMarker | None,
    views: dict[str, MeterView],
    origin: Origin,
    now: datetime,
) -> SaveOutcome:
    """The answer to a submission key used before: what it saved then; nothing is written now."""
    if marker is None or marker.state not in ("saved", "answered"):
        raise StorageUnavailable()  # that attempt was settled as not saved: a new press gets a new key
    count("SaveReplayed", "channel", str(origin.channel))
    results = []
    for row in _dedupe(rows):
        view = views.get(row.meter_id)
        if row.meter_id in marker.saved:
            results.append(
                RowResult(row.meter_id, RowStatus.SAVED, Decimal(marker.saved[row.meter_id]), view=view)
            )
        elif view is None:
            results.append(RowResult(row.meter_id, RowStatus.REJECTED, reason="meter_not_found"))
        else:
            decision = _decide(row, view, origin, now)
            if isinstance(decision, RowResult):
                results.append(decision)
            else:
                results.append(RowResult(row.meter_id, RowStatus.SUPERSEDED, view=view, newer=view.current))
    return SaveOutcome(results, list(views.values()), replayed=True)


def _dedupe(rows: list[RowInput]) -> list[RowInput]:
    """Two rows for one meter in one request: the last one wins, as it would if sent one by one."""
    last = {row.meter_id: row for row in rows}
    return list(last.values())


@dataclass(frozen=True, slots=True)
class MonthSummary:
    """A billing month's winning reading, for the chart: kept whatever the number of corrections."""

    billing_month: Month
    value: Decimal
    consumption: Decimal | None
    winner: Submission  # with its channel (a bot's month) and warnings (a lower one)


@dataclass(frozen=True, slots=True)
class MeterHistory:
    """A page of a meter's accepted submissions, newest first, and the monthly results."""

    view: MeterView
    submissions: list[Submission]
    months: list[MonthSummary]  # only with the first page
    next: str | None  # the cursor of the next page, None at the end


def meter_history(
    caller: Caller,
    number: str,
    meter_id: str,
    *,
    before: str | None = None,
    page_size: int = 50,
    stores: Stores | None = None,
    now: datetime | None = None,
) -> MeterHistory:
    """A meter's history, for statistics and disputes, a page at a time.

    Requests: 1 Query of the account + 1 Query of the submissions (+1 of the months' winners, first page).
    """
    stores = stores or get_stores()
    if before is not None and not HISTORY_CURSOR.fullmatch(before):
        raise InvalidRequest()
    bundle = access.load_for(caller, number, stores)
    views = {
        v.meter.id: v for v in _views(bundle.meters, stores.catalogue.organizations(), now or clock.now())
    }
    view = views.get(meter_id)
    if view is None:
        raise NotFound()
    page = stores.readings.history(meter_id, limit=page_size, before=before)
    months = []
    if before is None:
        months = [
            MonthSummary(w.billing_month, w.value, w.consumption, w) for w in stores.readings.months(meter_id)
        ]
    return MeterHistory(view, page.submissions, months, page.next)


class BotStatus(StrEnum):
    """What happened to a bot switch."""

    SAVED = "saved"
    NEEDS_CONFIRMATION = "needs_confirmation"  # the amount is implausible: send it again confirmed


@dataclass(frozen=True, slots=True)
class BotOutcome:
    """A bot switch's outcome, with the meter as it is now."""

    status: BotStatus
    view: MeterView
    question: Question | None = None


def set_bot(
    caller: Caller,
    number: str,
    meter_id: str,
    enabled: bool,
    amount: str,
    *,
    seal_epoch: int | None = None,
    confirmed: str | None = None,
    stores: Stores | None = None,
    now: datetime | None = None,
) -> BotOutcome:
    """Switch a meter's auto-increment bot and set its monthly amount: 1 Query + 1 UpdateItem.

    The amount is judged like a reading (an implausible one is asked again, 0 is fine, empty is not
    when switching on); `seal_epoch` is the one the resident was shown: if the meter was re-sealed
    since, its bot went off and is not switched back on by a page loaded before (Conflict).
    """
    stores = stores or get_stores()
    value = parse_amount(amount)
    bundle = access.load_for(caller, number, stores)
    meter = next((m for m in bundle.meters if m.id == meter_id), None)
    if meter is None:
        raise NotFound()
    views = _views([meter], stores.catalogue.organizations(), now or clock.now())
    if not views:
        raise NotFound()
    if seal_epoch is not None and seal_epoch != meter.seal_epoch:
        raise Conflict("meter_resealed")
    if enabled:
        verdict = judge_bot_amount(value, kind=meter.kind, profile=meter.usage)
        if verdict.refused:
            raise InvalidValue("amount_missing")
        wanted = None if confirmed is None else parse_amount(confirmed)
        if verdict.needs_confirmation and verdict.question is not None and wanted != value:
            q = verdict.question
            question = Question(value, "implausible_high", value, q.usual_monthly, 1, None)  # type: ignore[arg-type]
            return BotOutcome(BotStatus.NEEDS_CONFIRMATION, views[0], question)
    amount_to_keep = meter.bot_amount if value is None else value
    updated = stores.accounts.set_bot(meter, enabled, amount_to_keep)
    return BotOutcome(BotStatus.SAVED, replace(views[0], meter=updated))
