"""The window close at a city's scale, on DynamoDB Local in memory: 100,000 meters, 30 % with a bot.

`measure()` returns (and prints) three figures, each a median over paired, alternating rounds:
- `window_close.ratio_to_raw_writes`: the close's bots (index reads, meter reads, decisions, conditional
  transactions, progress records) divided by raw BatchWriteItem of the same readings in the same round.
  A reading is three items (the history item, its month's winner, and the meter showing it), so the raw
  side writes all three, with no reads and no conditions, through the same client with the same
  threads. Goal: at most 1.5.
- `window_close.reads_per_botless_meter`: meters without a bot read during the bots' phase, per such
  meter (counted on the wire, keys of BatchGetItem). Goal: 0.
- `window_close.export_rows_per_second`: the export's phase (every meter read, a CSV row each, parts
  composed into the file and its manifest).
And, to tell the close's own work from the cost of the write the core prescribes (one TransactWriteItems
of a history Put and a conditional meter Update per meter, `Readings.record_readings`):
- `window_close.ratio_to_storage_writes`: the close's bots divided by `record_readings` of the same bot
  readings on a copy of the bot meters (outside the indexes), same transaction size, same threads.
Each round closes the next month's window, so every round writes 30,000 bot readings anew.
`python -m bench.window_close [meters] [rounds]` runs it alone (default 100000 3).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import statistics
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

GOALS = {"window_close.ratio_to_raw_writes": 1.5, "window_close.reads_per_botless_meter": 0}
METERS = 100_000
BOT_SHARE = 0.3
ROUNDS = 3
WORKERS = 8  # the close's default (CLOSE_WORKERS); the raw writes get the same threads
ORG = "electricity"


def _say(text: str) -> None:
    print(f"[window_close] {text}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def _local_dynamodb() -> Iterator[str]:
    from local.dynamodb import client, start_dynamodb
    from local.tables import create_tables

    ddb = start_dynamodb(in_memory=True)
    try:
        if ddb.kind != "dynamodb-local":
            raise RuntimeError("DynamoDB Local is needed (moto scans the whole table on every query)")
        create_tables(client(ddb.endpoint))
        yield ddb.endpoint
    finally:
        ddb.stop()


def _environment(endpoint: str) -> None:
    os.environ.update(
        DYNAMODB_ENDPOINT=endpoint,
        AWS_ACCESS_KEY_ID="local",
        AWS_SECRET_ACCESS_KEY="local",
        AWS_REGION="eu-central-1",
        AWS_DEFAULT_REGION="eu-central-1",
        TABLE_NAME="MainTable",
        POWERTOOLS_METRICS_NAMESPACE="Bench",
        POWERTOOLS_IDEMPOTENCY_DISABLED="1",
        CLOSE_WORKERS=str(WORKERS),
    )
    from ekc.config import clear_settings
    from ekc.storage import forget
    from ekc.storage.items import Item

    # DynamoDB Local on a busy machine answers a request in seconds at times; a request timed out
    # would be "storage unavailable" in both sides' figures alike, so wait as long as it takes.
    Item.Meta.read_timeout_seconds = 120
    Item.Meta.connect_timeout_seconds = 30
    clear_settings()
    forget()
    from ekc.observability import logger

    logger.setLevel("WARNING")  # one "window closed" line a round would mix with the figures


class Wire:
    """DynamoDB requests as botocore sends them: counts by operation, and the meters BatchGetItem asks for."""

    def __init__(self) -> None:
        import botocore.session
        import pynamodb.connection.base as pynamodb_base

        self.operations: Counter[str] = Counter()
        self.meters_read: Counter[str] = Counter()
        self._lock = threading.Lock()
        session = botocore.session.get_session()
        session.register("before-call.dynamodb", self._seen)
        pynamodb_base.get_session = lambda: session  # every PynamoDB connection then shares it

    def _seen(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        with self._lock:
            self.operations[model.name] += 1
            if model.name == "BatchGetItem":
                for request in params.get("RequestItems", {}).values():
                    for key in request.get("Keys", []):
                        sk = key["sk"]["S"]
                        if sk.startswith("MTR#"):
                            self.meters_read[sk.removeprefix("MTR#")] += 1

    def clear(self) -> None:
        """Start counting afresh."""
        with self._lock:
            self.operations.clear()
            self.meters_read.clear()


def _organization() -> Any:
    from ekc.domain.model import Organization
    from ekc.domain.windows import DayOfMonth, WindowRule

    return Organization(ORG, "ТОВ «Енергозбут»", WindowRule(DayOfMonth(0, 31), DayOfMonth(1, 3)))


def _meters(count: int) -> tuple[list[Any], set[str]]:
    """Meters of accounts with three each; three in ten (at random, seeded) have a bot."""
    from ekc.domain.kinds import MeterKind, Unit
    from ekc.domain.model import Meter
    from ekc.domain.months import Month

    rng = random.Random(20261124)
    meters, botless = [], set()
    for n in range(count):
        account = str(100_000 + n // 3)
        bot = rng.random() < BOT_SHARE
        meter = Meter(
            id=f"{account}.{n % 3 + 1}",
            account=account,
            kind=MeterKind.ELECTRICITY,
            unit=Unit.KILOWATT_HOUR,
            organization_id=ORG,
            digits=6,
            serial=f"{rng.randrange(10**7):07d}",
            previous_value=Decimal(rng.randrange(1000, 90000)),
            previous_month=Month(2025, 12),
            bot_enabled=bot,
            bot_amount=Decimal(rng.randrange(0, 300)),
        )
        meters.append(meter)
        if not bot:
            botless.add(meter.id)
    return meters, botless


def _parallel(items: list[Any], work: Callable[[list[Any]], None], chunk: int) -> None:
    batches = [items[i : i + chunk] for i in range(0, len(items), chunk)]
    with ThreadPoolExecutor(max_workers=int(os.environ.get("CLOSE_WORKERS") or WORKERS)) as pool:
        list(pool.map(work, batches))


def _load(meters: list[Any]) -> None:
    """Batch-write the meters (with their index keys), in threads, showing progress."""
    from ekc.storage import convert
    from ekc.storage.items import MeterItem

    done = [0]
    lock = threading.Lock()
    started = time.perf_counter()

    def write(batch: list[Any]) -> None:
        with MeterItem.batch_write() as writer:
            for meter in batch:
                writer.save(convert.meter_to(meter))
        with lock:
            done[0] += len(batch)
            if done[0] % 10_000 < len(batch):
                _say(f"loaded {done[0]:,} of {len(meters):,} meters ({time.perf_counter() - started:.0f} s)")

    _parallel(meters, write, 1000)


def _copy(meter: Any) -> Any:
    """A bot meter's twin under another account, for the storage side (never listed by an index)."""
    return replace(meter, id=f"T{meter.id}", account=f"T{meter.account}")


def _load_twins(twins: list[Any]) -> None:
    from ekc.storage import convert
    from ekc.storage.items import MeterItem

    def write(batch: list[Any]) -> None:
        with MeterItem.batch_write() as writer:
            for meter in batch:
                item = convert.meter_to(meter)
                item.org_pk = item.bot_pk = None
                writer.save(item)

    _parallel(twins, write, 1000)


def _storage_write(twins: list[Any], readings: list[Any]) -> float:
    """`record_readings` of the bot readings on the twins: the close's transaction size and threads."""
    from ekc.config import close_settings
    from ekc.storage import get_stores
    from ekc.storage.ports import ReadingWrite

    store = get_stores().readings
    writes = [
        ReadingWrite(twin, replace(s, meter_id=twin.id), bot=True)
        for twin, s in zip(twins, readings, strict=True)
    ]

    def write(batch: list[Any]) -> None:
        refused = store.record_readings(batch)
        assert not any(refused), "a twin's write was refused"

    started = time.perf_counter()
    _parallel(writes, write, close_settings().close_meters_per_transaction)
    return time.perf_counter() - started


def _raw_items(readings: list[Any], meters: dict[str, Any], round_no: int) -> list[dict[str, Any]]:
    """The same readings as plain items (history, month's winner, meter), under keys nothing else uses."""
    from ekc.storage import convert

    items = []
    for s in readings:
        if s is None:
            continue
        account = meters[s.meter_id].account
        history = convert.reading_to(s, account).serialize()
        winner = convert.month_to(s, account).serialize()
        meter = convert.meter_to(meters[s.meter_id].with_reading(s)).serialize()
        for item in (history, winner, meter):
            item["pk"] = {"S": f"RAW#{round_no}#{item['pk']['S']}"}
            # Not in the organization's indexes: the raw side must not add meters the close would
            # list (and the close's own writes never touch an index).
            item.pop("org_pk", None)
            item.pop("bot_pk", None)
            items.append(item)
    return items


def _raw_write(readings: list[Any], meters: dict[str, Any], round_no: int) -> float:
    """The readings made into items and written by BatchWriteItem, 25 items a request (unprocessed ones
    again with back-off), in the close's number of threads; seconds taken."""
    from ekc.storage import dynamodb_client

    client = dynamodb_client()

    def write(batch: list[Any]) -> None:
        # 8 readings (24 items) a request: making the items is part of writing them, as in the close.
        pending = [{"PutRequest": {"Item": item}} for item in _raw_items(batch, meters, round_no)]
        attempt = 0
        while pending:
            answer = client.batch_write_item(RequestItems={"MainTable": pending})
            pending = answer.get("UnprocessedItems", {}).get("MainTable", [])
            if pending:
                time.sleep(min(1.0, 0.05 * 2**attempt))
                attempt += 1

    started = time.perf_counter()
    _parallel(readings, write, 8)
    return time.perf_counter() - started


def _close_phases(month: Any, now: Any, files: Any, wire: Wire) -> dict[str, Any]:
    """The close in two timed phases: every shard's bots, then every shard's export and the file."""
    from ekc.services import closing

    real_export = closing._shard_export
    # Phase 1: bots only. The export step is held back (its shards end as "out of time" and are
    # released), exactly as when an invocation's time runs out between the two.
    closing._shard_export = lambda run, w, progress, lease: None  # type: ignore[assignment]
    wire.clear()
    started, cpu = time.perf_counter(), time.process_time()
    try:
        with contextlib.suppress(closing.CloseIncomplete):
            closing.close_windows(org_id=ORG, month=month, now=now, files=files)
    finally:
        closing._shard_export = real_export
    bots_seconds, bots_cpu = time.perf_counter() - started, time.process_time() - cpu
    bots_wire = (Counter(wire.operations), Counter(wire.meters_read))
    # Phase 2: the shards' bots are recorded done; what is left is the export and the file.
    wire.clear()
    started, cpu = time.perf_counter(), time.process_time()
    report = closing.close_windows(org_id=ORG, month=month, now=now, files=files)
    export_seconds, export_cpu = time.perf_counter() - started, time.process_time() - cpu
    (window,) = report.windows
    assert window.state == "done", window.as_dict()
    return {
        "bots_seconds": bots_seconds,
        "export_seconds": export_seconds,
        "bots_cpu_seconds": bots_cpu,
        "export_cpu_seconds": export_cpu,
        "written": window.bots["written"],
        "rows": window.manifest["rows"] if window.manifest else 0,
        "bots_operations": bots_wire[0],
        "meters_read_in_bots_phase": bots_wire[1],
        "export_operations": Counter(wire.operations),
    }


def measure(meters: int = METERS, rounds: int = ROUNDS) -> dict[str, Any]:
    """Load the city, then per round: the raw writes and the close of the next month (order alternating)."""
    from tests.fakes import FakeFiles

    with _local_dynamodb() as endpoint, contextlib.redirect_stdout(io.StringIO()):
        _environment(endpoint)
        wire = Wire()
        from ekc.domain.closing import bot_reading
        from ekc.domain.months import Month
        from ekc.storage import get_stores

        org = _organization()
        get_stores().catalogue.put_organizations([org])
        city, botless = _meters(meters)
        by_id = {m.id: m for m in city}
        _say(f"loading {meters:,} meters, {meters - len(botless):,} with a bot, into DynamoDB Local")
        started = time.perf_counter()
        _load(city)
        twins = [_copy(m) for m in city if m.bot_enabled]
        _load_twins(twins)
        load_seconds = time.perf_counter() - started
        rows: list[dict[str, Any]] = []
        for r in range(rounds):
            month = Month(2026, 1).plus(r)
            now = org.rule.bounds(month)[1] + timedelta(minutes=1)
            # The readings the bots will write this month, for the raw side (same values, same items).
            expected = [bot_reading(m, month, now) for m in city if m.bot_enabled]
            files = FakeFiles()
            order = ("raw", "close", "storage") if r % 2 == 0 else ("storage", "close", "raw")
            result: dict[str, Any] = {"month": str(month), "order": "-".join(order)}
            for side in order:
                _say(f"round {r + 1}/{rounds}: {side} ({len(expected):,} readings)")
                if side == "raw":
                    result["raw_seconds"] = _raw_write(expected, by_id, r)
                elif side == "storage":
                    result["storage_seconds"] = _storage_write(twins, expected)
                else:
                    result.update(_close_phases(month, now, files, wire))
            assert result["written"] == len(expected), (result["written"], len(expected))
            city = [m.with_reading(s) if m.bot_enabled else m for m, s in _pair(city, expected)]
            twins = [t.with_reading(replace(s, meter_id=t.id)) for t, s in zip(twins, expected, strict=True)]
            by_id = {m.id: m for m in city}
            botless_read = sum(n for k, n in result["meters_read_in_bots_phase"].items() if k in botless)
            result["ratio"] = result["bots_seconds"] / result["raw_seconds"]
            result["ratio_storage"] = result["bots_seconds"] / result["storage_seconds"]
            result["ratio_with_export"] = (result["bots_seconds"] + result["export_seconds"]) / result[
                "raw_seconds"
            ]
            result["reads_per_botless_meter"] = botless_read / len(botless)
            result["export_rows_per_second"] = result["rows"] / result["export_seconds"]
            _say(
                f"round {r + 1}: bots {result['bots_seconds']:.1f} s, raw {result['raw_seconds']:.1f} s "
                f"(ratio {result['ratio']:.2f}), record_readings {result['storage_seconds']:.1f} s "
                f"(ratio {result['ratio_storage']:.2f}), export {result['rows']:,} rows "
                f"in {result['export_seconds']:.1f} s"
            )
            rows.append(result)
    figures = {
        "window_close.ratio_to_raw_writes": round(statistics.median(r["ratio"] for r in rows), 3),
        "window_close.reads_per_botless_meter": max(r["reads_per_botless_meter"] for r in rows),
        "window_close.export_rows_per_second": round(
            statistics.median(r["export_rows_per_second"] for r in rows)
        ),
        "window_close.ratio_to_storage_writes": round(statistics.median(r["ratio_storage"] for r in rows), 3),
        "window_close.ratio_with_export_to_raw_writes": round(
            statistics.median(r["ratio_with_export"] for r in rows), 3
        ),
        "details": {
            "meters": meters,
            "bot_meters": meters - len(botless),
            "workers": int(os.environ.get("CLOSE_WORKERS") or WORKERS),
            "meters_per_transaction": _meters_per_transaction(),
            "load_seconds": round(load_seconds, 1),
            "rounds": [
                {
                    "month": r["month"],
                    "order": r["order"],
                    "readings": r["written"],
                    "raw_seconds": round(r["raw_seconds"], 2),
                    "storage_seconds": round(r["storage_seconds"], 2),
                    "bots_seconds": round(r["bots_seconds"], 2),
                    "export_seconds": round(r["export_seconds"], 2),
                    "ratio": round(r["ratio"], 3),
                    # This process's own CPU (the close's Python; DynamoDB Local runs apart), for
                    # sizing Lambda: milliseconds per bot reading written, and per export row.
                    "cpu_ms_per_bot_reading": round(1000 * r["bots_cpu_seconds"] / r["written"], 3),
                    "cpu_ms_per_export_row": round(1000 * r["export_cpu_seconds"] / r["rows"], 3),
                    "bots_requests": dict(r["bots_operations"]),
                    "export_requests": dict(r["export_operations"]),
                }
                for r in rows
            ],
        },
    }
    print(json.dumps(figures, indent=2))
    for name, goal in GOALS.items():
        if figures[name] > goal:
            print(f"goal missed: {name}: {figures[name]} > {goal}", file=sys.stderr)
    return figures


def _meters_per_transaction() -> int:
    from ekc.config import close_settings

    return close_settings().close_meters_per_transaction


def _pair(city: list[Any], expected: list[Any]) -> Iterator[tuple[Any, Any]]:
    """Each meter with its bot reading of the round (None for the ones without a bot)."""
    readings = iter(expected)
    for meter in city:
        yield meter, next(readings) if meter.bot_enabled else None


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    measure(*args)
