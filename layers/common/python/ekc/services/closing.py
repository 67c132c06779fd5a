"""Closing windows: the meters' bots, the export to each utility, and progress that survives a dying run.

A window (organization, billing month) is closed shard by shard (`keys.ORG_SHARDS` of them): first the
bots of that shard's meters (read from the sparse bots' index, never a Scan), then that shard's part
of the export (every meter, from the organization's index). Each step records its progress, so a run
that dies is resumed by the next; when every shard is done the parts become one CSV and a manifest,
and the window is marked done. The bot's write is conditional on the month having no reading, the
meter being unchanged since it was read and its bot still on at the same seal epoch: a resident's
reading that races the close always wins, and a second run writes nothing.

One invocation works on shards in threads while its time allows; what it cannot start is handed to
the queue (SQS) when there is one, or left to the next run (every 15 minutes) when there is not.
"""

from __future__ import annotations

import json
import math
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from ekc import clock
from ekc.channels import export
from ekc.config import CloseSettings, close_settings
from ekc.domain.closing import BotSkip, bot_reading, closed_windows, month_result, needs_history
from ekc.domain.identity import Channel
from ekc.domain.model import Meter, Organization, Submission
from ekc.domain.months import Month
from ekc.domain.windows import WindowState
from ekc.exceptions import InvalidRequest, NotFound, StorageUnavailable
from ekc.observability import count, logger
from ekc.storage import get_stores, keys
from ekc.storage.ports import (
    CloseRecord,
    Files,
    MeterKey,
    ReadingWrite,
    ShardProgress,
    Stores,
    Tasks,
    WindowKey,
)

KEYS_PER_READ = 100  # BatchGetItem
SAVE_EVERY_READS = 20  # bots' progress is recorded every ~2,000 bot meters (and when time runs out)
REREADS = 4  # a meter refused by its write condition is read and decided again at most this often
REREAD_WAIT = 0.25  # seconds before the first re-read, doubling
THROTTLE_ATTEMPTS = 7  # a write that DynamoDB could not take (throttled, timed out) is tried this often
BACKOFF_BASE, BACKOFF_CAP = 0.1, 8.0  # seconds: full jitter, doubling
COMPOSE_BYTES_PER_SECOND = 40_000_000  # a cautious S3 streaming rate, to judge if a compose fits in time
COMPOSE_LEASE_SHARD = keys.ORG_SHARDS  # a pseudo-shard whose lease lets one invocation compose at a time
COMPOSE_LEASE_SECONDS = 15 * 60  # as long as an invocation may run: a compose is not renewed
WINDOW_NOT_CLOSED = "window_not_closed"


# ---- what a close reports ------------------------------------------------------------------------


@dataclass
class WindowReport:
    """What was done to one window, for the operator (and the `make close-window` printout)."""

    org_id: str
    month: Month
    ends_at: datetime
    state: str  # done | in_progress | pending (plan only)
    shards_done: int = 0
    bots: Counter[str] = field(default_factory=Counter)  # this window's bot decisions, all runs so far
    written_now: int = 0  # bot readings this invocation wrote
    manifest: dict[str, Any] | None = None
    export_key: str | None = None
    manifest_key: str | None = None
    location: str | None = None
    manifest_location: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON for the operator's answer."""
        m = self.manifest or {}
        return {
            "org": self.org_id,
            "month": str(self.month),
            "closed_at": export.kyiv_time(self.ends_at - timedelta(seconds=1)),
            "state": self.state,
            "shards_done": self.shards_done,
            "shards": keys.ORG_SHARDS,
            "bot_readings_written_now": self.written_now,
            "bots": dict(sorted(self.bots.items())),
            "bot_readings": (m.get("rows_by_channel") or {}).get("bot", 0),
            "export_rows": m.get("rows"),
            "rows_without_reading": m.get("rows_without_reading"),
            "export": self.export_key,
            "manifest": self.manifest_key,
            "location": self.location,
            "manifest_location": self.manifest_location,
            "sha256": (m.get("file") or {}).get("sha256"),
        }


@dataclass
class CloseReport:
    """What one invocation did."""

    now: datetime
    windows: list[WindowReport]
    queued: int = 0
    failed: list[str] = field(default_factory=list)
    unfinished_late: int = 0

    def as_dict(self) -> dict[str, Any]:
        """JSON for the operator's answer."""
        return {
            "now": self.now.isoformat(),
            "windows": [w.as_dict() for w in self.windows],
            "queued": self.queued,
            "failed": self.failed,
            "unfinished_a_day_after_close": self.unfinished_late,
        }


class CloseIncomplete(RuntimeError):
    """Some shards failed in this run (they are left for the next one); the report says which."""

    def __init__(self, report: CloseReport) -> None:
        super().__init__(f"window close incomplete: {', '.join(report.failed)}")
        self.report = report


# ---- the run's context ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """A closed window to finish."""

    org: Organization
    state: WindowState

    @property
    def key(self) -> WindowKey:
        """Its progress records' key."""
        return WindowKey(self.org.id, self.state.billing_month)

    @property
    def month(self) -> Month:
        """Its billing month."""
        return self.state.billing_month


@dataclass
class _Run:
    """Everything one invocation shares between its threads."""

    stores: Stores
    files: Files
    queue: Tasks | None
    settings: CloseSettings
    now: datetime
    time_left: Callable[[], float]
    wall_clock: Callable[[], datetime]
    sleep: Callable[[float], None]
    token: str = field(default_factory=lambda: uuid.uuid4().hex)
    written: Counter[WindowKey] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def wrote(self, key: WindowKey, n: int) -> None:
        """Count bot readings this invocation wrote (threads share the counter)."""
        with self._lock:
            self.written[key] += n

    def out_of_time(self) -> bool:
        """Whether to stop starting new work."""
        return self.time_left() < self.settings.close_margin_seconds

    def lease_until(self, seconds: int | None = None) -> datetime:
        """A lease's end, on the wall clock (leases are about live processes, not the business clock)."""
        return self.wall_clock() + timedelta(seconds=seconds or self.settings.close_lease_seconds)


def _no_limit() -> float:
    return math.inf


def _wall_clock() -> datetime:
    return datetime.now(UTC)


def _make_run(
    stores: Stores | None,
    files: Files | None,
    queue: Tasks | None,
    now: datetime | None,
    time_left: Callable[[], float] | None,
    wall_clock: Callable[[], datetime] | None,
    sleep: Callable[[float], None] | None,
) -> _Run:
    settings = close_settings()
    if files is None:
        from ekc.storage.files import get_files

        files = get_files()
    if queue is None and settings.close_queue_url:
        from ekc.storage.tasks import SqsTasks

        queue = SqsTasks(settings.close_queue_url)
    return _Run(
        stores=stores or get_stores(),
        files=files,
        queue=queue,
        settings=settings,
        now=now or clock.now(),
        time_left=time_left or _no_limit,
        wall_clock=wall_clock or _wall_clock,
        sleep=sleep or time.sleep,
    )


# ---- entry points --------------------------------------------------------------------------------


def close_windows(
    *,
    org_id: str | None = None,
    month: Month | None = None,
    redo: bool = False,
    shards: Iterable[int] | None = None,
    plan_only: bool = False,
    now: datetime | None = None,
    time_left: Callable[[], float] | None = None,
    stores: Stores | None = None,
    files: Files | None = None,
    queue: Tasks | None = None,
    wall_clock: Callable[[], datetime] | None = None,
    sleep: Callable[[float], None] | None = None,
) -> CloseReport:
    """Finish every window that has closed and is not finished (or the one named); report per window.

    `redo` starts a finished window over (an operator's re-run: the bots write nothing new, the export
    is rewritten with the same bytes); `shards` limits this call to some shards (the CLI's progress);
    `plan_only` only says what would be done. Raises CloseIncomplete when a shard failed.
    """
    run = _make_run(stores, files, queue, now, time_left, wall_clock, sleep)
    windows = _candidates(run, org_id, month)
    records = run.stores.closes.windows([w.key for w in windows])
    late_after = timedelta(hours=run.settings.close_unfinished_alarm_hours)
    late = [w for w in windows if _unfinished(records.get(w.key)) and w.state.ends_at + late_after <= run.now]
    if org_id is None and month is None and not plan_only:
        # The alarm's figure: every run that looks at all windows says how many are late (0 too).
        count("WindowsUnfinished", "state", "late", len(late))
        for w in late:
            logger.error(
                "window unfinished a day after it closed", extra={"org": w.org.id, "month": str(w.month)}
            )
    reports: dict[WindowKey, WindowReport] = {}
    work: list[tuple[Window, CloseRecord]] = []
    for w in windows:
        record = records.get(w.key)
        if record is not None and record.done_at is not None and not redo:
            reports[w.key] = _done_report(run, w, record)
            continue
        if plan_only:
            progress = run.stores.closes.shards(w.key) if record is not None else {}
            reports[w.key] = WindowReport(
                w.org.id, w.month, w.state.ends_at, "pending", shards_done=_shards_done(progress)
            )
            continue
        fresh = CloseRecord(w.key, uuid.uuid4().hex, run.now, w.state.ends_at)
        if redo:
            run.stores.closes.restart_window(fresh)
            record = fresh
            logger.info("window close started over", extra={"org": w.org.id, "month": str(w.month)})
        else:
            record = run.stores.closes.open_window(fresh)
        work.append((w, record))
    report = CloseReport(run.now, [], unfinished_late=len(late))
    if not plan_only:
        wanted = None if shards is None else set(shards)
        tasks = []
        for w, _ in work:
            progress = run.stores.closes.shards(w.key)
            tasks += [
                _Task(w, s, progress.get(s, ShardProgress(s)))
                for s in range(keys.ORG_SHARDS)
                if (wanted is None or s in wanted) and not progress.get(s, ShardProgress(s)).export_done
            ]
        outcomes = _work(run, tasks)
        report.failed = [
            f"{t.window.org.id}/{t.window.month}#{t.shard:02d}" for t, o in outcomes if o == "failed"
        ]
        report.queued = _hand_over(run, [t for t, o in outcomes if o in ("not_started", "out_of_time")])
        for w, record in work:
            reports[w.key] = _finish_or_report(run, w, record)
    report.windows = [reports[w.key] for w in windows if w.key in reports]
    if report.failed:
        raise CloseIncomplete(report)
    return report


@dataclass(frozen=True)
class TaskOutcome:
    """What a queue worker did with its tasks: the ones to be delivered again."""

    failed: list[int]  # indexes into the tasks given


def run_tasks(
    tasks: list[Mapping[str, Any]],
    *,
    time_left: Callable[[], float] | None = None,
    stores: Stores | None = None,
    files: Files | None = None,
    queue: Tasks | None = None,
    now: datetime | None = None,
    wall_clock: Callable[[], datetime] | None = None,
    sleep: Callable[[float], None] | None = None,
) -> TaskOutcome:
    """Do tasks from the queue (`{"org", "month", "shard" | "compose", "token"}`); hand on what time cuts."""
    run = _make_run(stores, files, queue, now, time_left, wall_clock, sleep)
    orgs = run.stores.catalogue.organizations()
    failed: list[int] = []
    touched: dict[WindowKey, Window] = {}
    work: list[tuple[int, _Task]] = []
    for n, task in enumerate(tasks):
        org = orgs.get(str(task.get("org")))
        if org is None:
            logger.error("queued task for an unknown organization", extra={"task": dict(task)})
            continue  # nothing to do: redelivering it would not help
        w = Window(org, _window_of(org, Month.parse(str(task["month"]))))
        touched[w.key] = w
        if "shard" in task:
            progress = run.stores.closes.shards(w.key).get(
                int(task["shard"]), ShardProgress(int(task["shard"]))
            )
            work.append(
                (n, _Task(w, int(task["shard"]), progress, token=str(task.get("token") or run.token)))
            )
    outcomes = _work(run, [t for _, t in work])
    for (n, _), (task, outcome) in zip(work, outcomes, strict=True):
        if outcome == "failed":
            failed.append(n)
        elif outcome in ("not_started", "out_of_time"):
            _hand_over(run, [task])
    for w in touched.values():
        record = run.stores.closes.windows([w.key]).get(w.key)
        if record is not None and record.done_at is None:
            _finish_or_report(run, w, record)
    return TaskOutcome(failed)


# ---- which windows -------------------------------------------------------------------------------


def _window_of(org: Organization, month: Month) -> WindowState:
    start, end = org.rule.bounds(month)
    return WindowState(False, month, start, end)


def _candidates(run: _Run, org_id: str | None, month: Month | None) -> list[Window]:
    """The windows to look at: each organization's recent closed ones, or the one an operator named."""
    orgs = run.stores.catalogue.organizations()
    if org_id is not None and org_id not in orgs:
        raise NotFound("organization_not_found", org=org_id)
    grace = timedelta(seconds=run.settings.close_grace_seconds)
    chosen = [orgs[org_id]] if org_id is not None else [orgs[k] for k in sorted(orgs)]
    found = []
    for org in chosen:
        if month is not None:
            state = _window_of(org, month)
            if state.ends_at + grace > run.now:
                if org_id is not None:
                    raise InvalidRequest(WINDOW_NOT_CLOSED, org=org.id, month=str(month))
                continue
            found.append(Window(org, state))
        else:
            for state in closed_windows(org.rule, run.now, run.settings.close_lookback_windows, grace):
                found.append(Window(org, state))
    return found


def _unfinished(record: CloseRecord | None) -> bool:
    return record is None or record.done_at is None


def _shards_done(progress: Mapping[int, ShardProgress]) -> int:
    return sum(1 for s, p in progress.items() if s < keys.ORG_SHARDS and p.export_done)


# ---- working on shards ---------------------------------------------------------------------------


@dataclass
class _Task:
    window: Window
    shard: int
    progress: ShardProgress
    token: str | None = None


def _work(run: _Run, tasks: list[_Task]) -> list[tuple[_Task, str]]:
    """Each task's outcome: done, taken (by another run), not_started, out_of_time or failed."""
    if not tasks:
        return []

    def one(task: _Task) -> str:
        if run.out_of_time():
            return "not_started"
        try:
            outcome = _work_shard(run, task)
        except Exception:
            logger.exception(
                "window close shard failed",
                extra={"org": task.window.org.id, "month": str(task.window.month), "shard": task.shard},
            )
            outcome = "failed"
        if outcome == "failed" or (outcome == "out_of_time" and run.queue is None):
            _release(run, task)
        return outcome

    workers = min(run.settings.close_workers, len(tasks))
    if workers == 1:
        return [(t, one(t)) for t in tasks]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="close") as pool:
        return list(zip(tasks, pool.map(one, tasks), strict=True))


def _release(run: _Run, task: _Task) -> None:
    """Let the next run take a shard this one gave up, without waiting for the lease to run out."""
    if task.token is None:
        return
    past = run.wall_clock() - timedelta(seconds=1)
    try:
        run.stores.closes.claim(task.window.key, task.shard, task.token, past, run.wall_clock())
    except Exception:  # the lease then simply runs out
        logger.warning("could not release a shard's lease", extra={"shard": task.shard})


class _Lease:
    """A run's hold on one shard: taken, renewed while working, kept with each record of progress."""

    def __init__(self, run: _Run, key: WindowKey, shard: int, token: str) -> None:
        self.run, self.key, self.shard, self.token = run, key, shard, token
        self.renewed = run.wall_clock()

    def take(self) -> bool:
        """Claim the shard (free, expired, or already this token's)."""
        self.renewed = self.run.wall_clock()
        return self.run.stores.closes.claim(
            self.key, self.shard, self.token, self.run.lease_until(), self.renewed
        )

    def alive(self) -> bool:
        """Renew the lease if a sixth of it has passed; False if another run has taken the shard."""
        every = timedelta(seconds=self.run.settings.close_lease_seconds / 6)
        if self.run.wall_clock() - self.renewed < every:
            return True
        return self.take()

    def save(self, progress: ShardProgress) -> bool:
        """Record progress and renew; False if another run has taken the shard."""
        self.renewed = self.run.wall_clock()
        return self.run.stores.closes.save_shard(self.key, progress, self.token, self.run.lease_until())


def _work_shard(run: _Run, task: _Task) -> str:
    """Claim a shard, apply its bots, write its part of the export; record progress as it goes."""
    task.token = task.token or run.token
    lease = _Lease(run, task.window.key, task.shard, task.token)
    if not lease.take():
        return "taken"
    progress: ShardProgress | None = task.progress
    if not progress.bots_done:
        progress = _shard_bots(run, task.window, progress, lease)
        if progress is None:
            return "out_of_time"
    if not progress.export_done:
        progress = _shard_export(run, task.window, progress, lease)
        if progress is None:
            return "out_of_time"
    return "done"


def _batches(keys_: Iterable[MeterKey], cursor: str | None, size: int) -> Iterator[list[MeterKey]]:
    """Keys after the cursor, in the index's order (by meter id), in batches."""
    batch: list[MeterKey] = []
    for key in keys_:
        if cursor is not None and key.meter_id <= cursor:
            continue
        batch.append(key)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _shard_bots(run: _Run, w: Window, progress: ShardProgress, lease: _Lease) -> ShardProgress | None:
    """The shard's bot meters, 100 read at a time, decided and written; None when time ran out."""
    counts = Counter(
        {k.removeprefix("bots."): int(v) for k, v in progress.totals.items() if k.startswith("bots.")}
    )
    told = Counter(counts)  # what the metrics have been told already

    def tell() -> None:
        for name, n in (counts - told).items():
            if name == "written":
                count("BotReadingsApplied", "organization", w.org.id, n)
            else:
                count("BotReadingsSkipped", "reason", name, n)
        told.update(counts - told)

    cursor = progress.bots_cursor
    index = run.stores.accounts.meter_keys(w.org.id, progress.shard, bots_only=True)
    n = 0
    # A whole number of transactions per read (99 = 3 x 33), so no transaction goes out part-empty.
    size = run.settings.close_meters_per_transaction
    per_read = max(size, KEYS_PER_READ // size * size)
    for n, batch in enumerate(_batches(index, cursor, per_read), start=1):
        counts.update(_apply_bots(run, w, batch))
        cursor = batch[-1].meter_id
        stopping = run.out_of_time()
        if stopping or n % SAVE_EVERY_READS == 0:
            tell()
            progress = replace(progress, bots_cursor=cursor, totals=_with_bots(progress.totals, counts))
            if not lease.save(progress):
                return None  # another run has the shard now
        elif not lease.alive():
            return None
        if stopping:
            return None
    tell()
    progress = replace(progress, bots_done=True, bots_cursor=None, totals=_with_bots(progress.totals, counts))
    if n == 0:
        return progress  # nothing done that the export's record of progress would not also record
    return progress if lease.save(progress) else None


def _with_bots(totals: Mapping[str, str], counts: Counter[str]) -> dict[str, str]:
    kept = {k: v for k, v in totals.items() if not k.startswith("bots.")}
    kept.update({f"bots.{k}": str(v) for k, v in counts.items()})
    return kept


def _apply_bots(run: _Run, w: Window, batch: list[MeterKey]) -> Counter[str]:
    """Decide and write the bots of up to 100 meters; refused ones are read again and decided again."""
    counts: Counter[str] = Counter()
    meters = _read(run, batch)
    for attempt in range(REREADS + 1):
        writes: list[ReadingWrite] = []
        for meter in sorted(meters, key=lambda m: m.id):
            decision = bot_reading(meter, w.month, run.now)
            if isinstance(decision, Submission):
                writes.append(ReadingWrite(meter, decision, bot=True))
            elif decision is BotSkip.HAS_READING and _bot_wrote(meter, w.month):
                counts["written_before"] += 1  # by an earlier run that died before recording it
            elif decision is BotSkip.HAS_READING and attempt > 0:
                counts["resident_won"] += 1  # a reading landed between our read and our write
            else:
                counts[str(decision)] += 1
        refused: list[MeterKey] = []
        size = run.settings.close_meters_per_transaction
        for start in range(0, len(writes), size):
            chunk = writes[start : start + size]
            while chunk:
                conflicts = _record(run, chunk)
                refused += [
                    MeterKey(x.meter.account, x.meter.id) for x, c in zip(chunk, conflicts, strict=True) if c
                ]
                if not any(conflicts):
                    counts["written"] += len(chunk)
                    run.wrote(w.key, len(chunk))
                    break
                # One refused write cancels its whole transaction: write the others again at once.
                chunk = [x for x, c in zip(chunk, conflicts, strict=True) if not c]
        if not refused:
            return counts
        # BatchGetItem reads are eventually consistent: give the write that beat ours a moment to show.
        step = REREAD_WAIT * 2**attempt
        run.sleep(step / 2 + random.uniform(0, step / 2))
        meters = _read(run, refused)
    raise StorageUnavailable()  # the same meters refused again and again: leave them to the next run


def _bot_wrote(meter: Meter, month: Month) -> bool:
    current = meter.current
    return current is not None and current.billing_month == month and current.channel is Channel.BOT


def _read(run: _Run, wanted: list[MeterKey]) -> list[Meter]:
    """Meters by key, tried again with back-off while DynamoDB cannot answer (throttling)."""
    for attempt in range(THROTTLE_ATTEMPTS):
        try:
            return run.stores.accounts.get_meters(wanted)
        except StorageUnavailable:
            if attempt + 1 == THROTTLE_ATTEMPTS:
                raise
            run.sleep(_backoff(attempt))
    raise AssertionError("unreachable")


def _record(run: _Run, writes: list[ReadingWrite]) -> list[bool]:
    """One transaction, tried again with back-off while DynamoDB cannot take it (throttling, time-outs).

    Safe to repeat: had a try been written after all, its condition now refuses it and the meter is
    read again (it shows the bot's reading: nothing more is written).
    """
    for attempt in range(THROTTLE_ATTEMPTS):
        try:
            return run.stores.readings.record_readings(writes)
        except StorageUnavailable:
            if attempt + 1 == THROTTLE_ATTEMPTS:
                raise
            run.sleep(_backoff(attempt))
    raise AssertionError("unreachable")


def _backoff(attempt: int) -> float:
    """Full jitter: a random wait up to a doubling cap, so retrying runs do not move in step."""
    return random.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt))


def _shard_export(run: _Run, w: Window, progress: ShardProgress, lease: _Lease) -> ShardProgress | None:
    """The shard's part of the export, every meter of it, in parts of `close_part_rows` rows."""
    cursor, parts = progress.export_cursor, list(progress.parts)
    totals = export.Totals.from_strings(progress.totals, "export.")
    size = int(progress.totals.get("bytes", "0"))
    lines: list[list[str]] = []
    part_totals = export.Totals.empty()
    last_id: str | None = None
    index = run.stores.accounts.meter_keys(w.org.id, progress.shard, bots_only=False)

    def flush() -> ShardProgress | None:
        nonlocal lines, part_totals, size, progress
        key = export.part_key(w.org.id, w.month, progress.shard, len(parts))
        data = export.rows(lines)
        run.files.put(key, data, export.CONTENT_TYPE)
        parts.append(key)
        totals.merge(part_totals)
        size += len(data)
        lines, part_totals = [], export.Totals.empty()
        progress = replace(
            progress,
            export_cursor=last_id,
            parts=tuple(parts),
            totals={**_kept(progress.totals), **totals.as_strings("export."), "bytes": str(size)},
        )
        return progress if lease.save(progress) else None

    for batch in _batches(index, cursor, KEYS_PER_READ):
        for line in _export_lines(run, w, batch):
            lines.append(line)
            part_totals.add_row(line)
        last_id = batch[-1].meter_id
        if len(lines) >= run.settings.close_part_rows:
            if flush() is None or run.out_of_time():
                return None
        elif not lease.alive():
            return None
    if lines and flush() is None:
        return None
    progress = replace(progress, export_done=True, export_cursor=None)
    return progress if lease.save(progress) else None


def _kept(totals: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in totals.items() if not k.startswith("export.") and k != "bytes"}


def _export_lines(run: _Run, w: Window, batch: list[MeterKey]) -> list[list[str]]:
    """One CSV line per meter of the batch, in meter id order; a meter past this month needs its history."""
    by_id = {m.id: m for m in _read(run, batch)}
    lines = []
    for key in batch:
        meter = by_id.get(key.meter_id)
        if meter is None:
            continue  # gone between the index and the read (retired): nothing to hand over
        # The months' winners, newest first (one Query), only for a meter already past this month.
        history = (
            list(reversed(run.stores.readings.months(meter.id))) if needs_history(meter, w.month) else None
        )
        lines.append(export.row(meter, w.month, month_result(meter, w.month, history)))
    return lines


# ---- handing over, finishing ---------------------------------------------------------------------


def _hand_over(run: _Run, tasks: list[_Task]) -> int:
    """Queue what this run could not do (holding each shard for the queue's worker); else leave it."""
    if not tasks or run.queue is None:
        return 0
    messages = []
    for task in tasks:
        token = task.token or run.token
        until = run.lease_until(run.settings.close_queue_lease_seconds)
        if run.stores.closes.claim(task.window.key, task.shard, token, until, run.wall_clock()):
            messages.append(
                {
                    "org": task.window.org.id,
                    "month": str(task.window.month),
                    "shard": task.shard,
                    "token": token,
                }
            )
    run.queue.send(messages)
    return len(messages)


def _finish_or_report(run: _Run, w: Window, record: CloseRecord) -> WindowReport:
    """Compose the export and mark the window done if every shard is; the window's report either way."""
    progress = run.stores.closes.shards(w.key)
    report = WindowReport(
        w.org.id, w.month, w.state.ends_at, "in_progress", shards_done=_shards_done(progress)
    )
    report.bots = _bot_counts(progress)
    report.written_now = run.written[w.key]
    if report.shards_done < keys.ORG_SHARDS:
        return report
    size = sum(int(progress[s].totals.get("bytes", "0")) for s in range(keys.ORG_SHARDS))
    if run.time_left() - run.settings.close_margin_seconds < size / COMPOSE_BYTES_PER_SECOND:
        if run.queue is not None:
            run.queue.send([{"org": w.org.id, "month": str(w.month), "compose": True, "token": run.token}])
        return report
    until = run.lease_until(COMPOSE_LEASE_SECONDS)
    if not run.stores.closes.claim(w.key, COMPOSE_LEASE_SHARD, run.token, until, run.wall_clock()):
        return report  # another invocation is composing it right now
    completed = run.stores.closes.mark_parts_done(w.key, run.now)
    totals = export.Totals.empty()
    parts: list[str] = []
    for s in range(keys.ORG_SHARDS):
        totals.merge(export.Totals.from_strings(progress[s].totals, "export."))
        parts += progress[s].parts
    csv_key = export.csv_key(w.org.id, w.month)
    composed = run.files.compose(csv_key, parts, export.CONTENT_TYPE, head=export.header())
    body = export.manifest(
        w.org,
        w.month,
        w.state,
        totals,
        composed.size,
        composed.sha256,
        export.Run(record.run_id, record.started_at, completed),
    )
    manifest_key = export.manifest_key(w.org.id, w.month)
    run.files.put(manifest_key, body, "application/json")
    run.stores.closes.finish(w.key, run.now, body.decode("utf-8"))
    rows = totals.counts.get("rows", 0)
    count("ExportRows", "organization", w.org.id, rows)
    count("WindowsClosed", "organization", w.org.id)
    logger.info(
        "window closed",
        extra={
            "org": w.org.id,
            "month": str(w.month),
            "rows": rows,
            "bots": dict(report.bots),
            "run": record.run_id,
        },
    )
    report.state = "done"
    _describe_export(run, report, json.loads(body))
    return report


def _bot_counts(progress: Mapping[int, ShardProgress]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for s, p in progress.items():
        if s < keys.ORG_SHARDS:
            counts.update(
                {k.removeprefix("bots."): int(v) for k, v in p.totals.items() if k.startswith("bots.")}
            )
    return counts


def _done_report(run: _Run, w: Window, record: CloseRecord) -> WindowReport:
    report = WindowReport(w.org.id, w.month, w.state.ends_at, "done", shards_done=keys.ORG_SHARDS)
    report.bots = _bot_counts(run.stores.closes.shards(w.key))
    _describe_export(run, report, json.loads(record.manifest or "{}"))
    return report


def _describe_export(run: _Run, report: WindowReport, manifest: dict[str, Any]) -> None:
    report.manifest = manifest
    report.export_key = export.csv_key(report.org_id, report.month)
    report.manifest_key = export.manifest_key(report.org_id, report.month)
    report.location = run.files.location(report.export_key)
    report.manifest_location = run.files.location(report.manifest_key)


# ---- reminders' seam -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MeterDue:
    """A meter with no reading yet for the window, and what its bot would record at the close."""

    meter: Meter
    bot_value: Decimal | None  # None: no bot on, or it could not compute one


@dataclass(frozen=True, slots=True)
class AccountDue:
    """An account with meters of a window that have no reading yet, and the people linked to it."""

    account: str
    people: frozenset[str]  # person ids linked to the account (the sender checks who is subscribed)
    org_id: str
    month: Month
    closes_at: datetime  # the window's last second
    meters: tuple[MeterDue, ...]


def reminder_candidates(
    org_id: str,
    month: Month,
    *,
    stores: Stores | None = None,
    now: datetime | None = None,
    shards: Iterable[int] | None = None,
) -> Iterator[AccountDue]:
    """Every account with a meter of this window still without a reading, with who is linked to it.

    Each account comes once, however many shards its meters are in. Whether a person is subscribed
    (Viber) and was reminded already is the sender's to decide. Requests: per shard a Query of the
    organization's index and a BatchGetItem per 100 meters; per account with a meter due, a Query of
    its partition (its meters and its links). `shards` narrows it (the reminders go shard by shard).
    """
    stores = stores or get_stores()
    org = stores.catalogue.organizations().get(org_id)
    if org is None:
        raise NotFound("organization_not_found", org=org_id)
    closes_at = _window_of(org, month).closes_at
    at = now or clock.now()
    for shard in range(keys.ORG_SHARDS) if shards is None else sorted(set(shards)):
        accounts: set[str] = set()
        index = stores.accounts.meter_keys(org_id, shard, bots_only=False)
        for batch in _batches(index, None, KEYS_PER_READ):
            accounts.update(m.account for m in stores.accounts.get_meters(batch) if _due(m, month))
        for account in sorted(accounts):
            bundle = stores.accounts.load_account(account)
            if bundle is None:
                continue
            due = [m for m in bundle.meters if m.organization_id == org_id and _due(m, month)]
            # An account with meters in several shards is told from the first of them only.
            if not due or min(keys.shard_of(m.id) for m in due) != shard:
                continue
            meters = meters_due(due, org_id, month, at)
            yield AccountDue(account, bundle.linked_people, org_id, month, closes_at, meters)


def meters_due(meters: Iterable[Meter], org_id: str, month: Month, at: datetime) -> tuple[MeterDue, ...]:
    """The meters of an organization still without a reading of `month`, each with what its bot
    would record if the window closed at `at`."""
    found = []
    for meter in meters:
        if meter.organization_id != org_id or meter.retired_on is not None or not _due(meter, month):
            continue
        preview = bot_reading(meter, month, at) if meter.bot_enabled else None
        found.append(MeterDue(meter, preview.value if isinstance(preview, Submission) else None))
    return tuple(found)


def _due(meter: Meter, month: Month) -> bool:
    """No reading of the month yet (nor of a later one)."""
    return month_result(meter, month).reading is None and not needs_history(meter, month)
