"""The window close with the in-memory stores: bots, races, dying runs, re-runs, the export, the fan-out."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from ekc.channels import export
from ekc.domain.identity import Channel, Origin, PersonCaller
from ekc.domain.kinds import MeterKind, Unit
from ekc.domain.model import Account, Meter, Organization, Submission
from ekc.domain.months import Month
from ekc.domain.windows import KYIV, DayOfMonth, WindowRule
from ekc.exceptions import InvalidRequest, StorageUnavailable
from ekc.services import closing
from ekc.storage import keys
from ekc.storage.ports import ReadingWrite, Stores, WindowKey
from tests.fakes import FakeFiles, FakeReadings, FakeStores, FakeTasks

OCT, SEP = Month(2026, 10), Month(2026, 9)
ELECTRICITY = Organization("el", "ТОВ «Енергозбут»", WindowRule(DayOfMonth(0, 31), DayOfMonth(1, 3)))
ENDS = datetime(2026, 11, 4, 0, 0, tzinfo=KYIV)  # October's electricity window ends here
NOW = ENDS + timedelta(minutes=5)
IN_WINDOW = ENDS - timedelta(hours=3)
KEY = WindowKey("el", OCT)
CSV_KEY, MANIFEST_KEY = "exports/el/2026-10.csv", "exports/el/2026-10.manifest.json"


class Killed(BaseException):
    """The process died (not an error the close may catch)."""


@pytest.fixture(autouse=True)
def one_window_back(monkeypatch: pytest.MonkeyPatch) -> None:
    """Look at the last closed window only, and no pauses between retries."""
    from ekc.config import close_settings

    monkeypatch.setenv("CLOSE_LOOKBACK_WINDOWS", "1")
    monkeypatch.setenv("CLOSE_WORKERS", "1")
    close_settings.cache_clear()


def _meter(n: int, account: str, **changes: Any) -> Meter:
    base = Meter(
        id=f"{account}.{n}",
        account=account,
        kind=MeterKind.ELECTRICITY,
        unit=Unit.KILOWATT_HOUR,
        organization_id="el",
        digits=6,
        serial=f"S{account}{n}",
        previous_value=Decimal(1000 + n),
        previous_month=SEP,
    )
    return replace(base, **changes)


def _city(accounts: int = 40) -> FakeStores:
    """Accounts with three meters each: one with a bot adding 10, one with a bot adding 0, one without."""
    stores = FakeStores([ELECTRICITY])
    for a in range(accounts):
        number = f"{10000 + a}"
        meters = [
            _meter(1, number, bot_enabled=True, bot_amount=Decimal(10)),
            _meter(2, number, bot_enabled=True, bot_amount=Decimal(0)),
            _meter(3, number),
        ]
        account = Account(number, "123", f"Holder {a}", f"Street {a}", "Кременчук", "05366")
        stores.add_account(account, meters, people=(f"p-{a}",))
    return stores


def _close(stores: Stores, files: FakeFiles, **kw: Any) -> closing.CloseReport:
    kw.setdefault("now", NOW)
    return closing.close_windows(stores=stores, files=files, sleep=lambda s: None, **kw)


def _after_leases() -> datetime:
    """The wall clock of a run that comes after every lease taken in this test has run out."""
    return datetime.now(UTC) + timedelta(minutes=4)


def _bot_readings(stores: FakeStores) -> Counter[str]:
    return Counter(s.meter_id for s in stores.fake_readings.written if s.channel is Channel.BOT)


def _eligible(stores: FakeStores) -> set[str]:
    return {m.id for m in stores.fake_accounts.meters.values() if m.bot_enabled}


def _rows(files: FakeFiles) -> list[dict[str, str]]:
    data = files.get(CSV_KEY)
    assert data is not None
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))


def test_closing_gives_each_bot_meter_previous_plus_amount_and_exports_every_meter() -> None:
    # Given 40 accounts, each with two bot meters and one without, none read in October
    stores, files = _city(), FakeFiles()
    # When the close runs five minutes after October's window ended
    report = _close(stores, files)
    # Then each bot meter got exactly one bot reading: its previous reading plus its amount
    assert _bot_readings(stores) == Counter(_eligible(stores))
    meter = stores.fake_accounts.meters["10000.1"]
    assert meter.current is not None and meter.current.value == Decimal(1011)
    assert meter.current.channel is Channel.BOT and meter.current.at == NOW
    # And the export has one row per meter of the organization, the bots' and the empty ones
    rows = _rows(files)
    assert len(rows) == 120 and len({r["meter_id"] for r in rows}) == 120
    assert Counter(r["status"] for r in rows) == {"reading": 80, "no_reading": 40}
    # And the window is done, with its report
    (window,) = report.windows
    assert (window.state, window.written_now, window.bots["written"]) == ("done", 80, 80)
    assert window.manifest is not None and window.manifest["rows_by_channel"] == {"bot": 80}
    assert stores.fake_closes.records[KEY].done_at == NOW


def test_closing_a_residents_reading_arriving_during_the_close_wins() -> None:
    # Given a bot meter whose resident's reading lands between the close's read and its write
    stores, files = _city(accounts=1), FakeFiles()
    read = stores.fake_accounts.meters["10000.1"]
    resident = Submission(
        read.id, OCT, Decimal("1005.5"), IN_WINDOW, Origin.web("192.0.2.1", PersonCaller("p-0"))
    )
    _just_before_writing(
        stores, "10000.1", lambda: stores.readings.record_readings([ReadingWrite(read, resident)])
    )
    # When the close runs
    report = _close(stores, files)
    # Then the resident's reading stands, the bot wrote nothing for that meter, and the other bot did
    assert stores.fake_accounts.meters["10000.1"].current == resident
    assert _bot_readings(stores) == {"10000.2": 1}
    assert report.windows[0].bots["resident_won"] == 1
    # And the export hands over the resident's reading
    row = next(r for r in _rows(files) if r["meter_id"] == "10000.1")
    assert (row["value"], row["channel"], row["flags"]) == ("1005.500", "web", "")


def _just_before_writing(stores: FakeStores, meter_id: str, race: Any) -> None:
    """Run `race` once, just before the first transaction writing this meter (after the close read it)."""
    real = stores.fake_readings.record_readings

    def record(writes: list[ReadingWrite]) -> list[bool]:
        if any(w.meter.id == meter_id for w in writes) and not record.done:  # type: ignore[attr-defined]
            record.done = True  # type: ignore[attr-defined]
            race()
        return real(writes)

    record.done = False  # type: ignore[attr-defined]
    stores.fake_readings.record_readings = record  # type: ignore[method-assign]


def test_closing_a_second_run_changes_nothing() -> None:
    # Given a closed window
    stores, files = _city(), FakeFiles()
    _close(stores, files)
    before, objects = stores.snapshot(), dict(files.objects)
    # When the close runs again (EventBridge fired twice), and later again
    second = _close(stores, files)
    _close(stores, files, now=NOW + timedelta(hours=1))
    # Then nothing was written: no reading, no file, no progress
    assert stores.fake_readings.written == before.fake_readings.written
    assert stores.fake_accounts.meters == before.fake_accounts.meters
    assert files.objects == objects
    assert stores.fake_closes.records == before.fake_closes.records
    # And the run still reports the window as done with its export
    assert second.windows[0].state == "done" and second.windows[0].location == f"memory://data/{CSV_KEY}"


def _dying(stores: FakeStores, after: int) -> Stores:
    """The same stores, whose process dies at its `after`-th transaction of readings."""
    real: FakeReadings = stores.fake_readings
    state = {"left": after}

    class Dying:
        def record_readings(self, writes: list[ReadingWrite]) -> list[bool]:
            if state["left"] <= 0:
                raise Killed()
            state["left"] -= 1
            return real.record_readings(writes)

        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

    every = {f.name: getattr(stores, f.name) for f in fields(Stores)}
    return Stores(**{**every, "readings": Dying()})


@pytest.mark.parametrize("k", [0, 1, 2, 5, 11, 23])
@pytest.mark.parametrize("workers", ["1", "4"])
def test_closing_killed_after_k_writes_and_run_again_leaves_one_bot_reading_per_meter(
    k: int, workers: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ekc.config import close_settings

    monkeypatch.setenv("CLOSE_WORKERS", workers)
    close_settings.cache_clear()
    # Given the same city twice: one closed in one go, one whose run dies at its k-th transaction
    reference, reference_files = _city(), FakeFiles()
    _close(reference, reference_files)
    stores, files = _city(), FakeFiles()
    with pytest.raises(Killed):
        _close(_dying(stores, k), files)
    # When the next run comes, once the dead run's hold on its shard has lapsed
    report = _close(stores, files, wall_clock=_after_leases)
    # Then every eligible meter has exactly one bot reading, and the export is the same bytes
    assert _bot_readings(stores) == Counter(_eligible(stores))
    assert report.windows[0].state == "done"
    assert files.get(CSV_KEY) == reference_files.get(CSV_KEY)
    assert (
        json.loads(files.get(MANIFEST_KEY) or b"")["file"]
        == json.loads(reference_files.get(MANIFEST_KEY) or b"")["file"]
    )
    assert report.windows[0].bots["written"] + report.windows[0].bots["written_before"] == 80


class DyingFiles(FakeFiles):
    """The data bucket of a process that dies at its `after`-th object."""

    def __init__(self, after: int) -> None:
        super().__init__()
        self.left = after

    def put(self, key: str, data: bytes, content_type: str, metadata: dict[str, str] | None = None) -> None:
        if self.left <= 0:
            raise Killed()
        self.left -= 1
        super().put(key, data, content_type, metadata)


@pytest.mark.parametrize("after", [0, 1, 3, 7])
def test_closing_killed_while_exporting_resumes_the_export(
    after: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ekc.config import close_settings

    monkeypatch.setenv("CLOSE_PART_ROWS", "4")  # many small parts
    close_settings.cache_clear()
    # Given a run that dies after writing `after` part objects
    reference, reference_files = _city(), FakeFiles()
    _close(reference, reference_files)
    stores, files = _city(), DyingFiles(after)
    with pytest.raises(Killed):
        _close(stores, files)
    # Then no export is there yet: it is written only when complete
    assert files.get(CSV_KEY) is None
    # When the next run comes, once the dead run's hold on its shard has lapsed
    files.left = 10_000
    _close(stores, files, wall_clock=_after_leases)
    # Then the export is exactly the uninterrupted one
    assert files.get(CSV_KEY) == reference_files.get(CSV_KEY)


def test_closing_a_meter_resealed_gets_no_bot_reading() -> None:
    # Given one meter re-sealed before the close, and another re-sealed between the close's read and write
    stores, files = _city(accounts=1), FakeFiles()
    stores.accounts.set_seal_epoch("10000", "10000.2", 1)
    _just_before_writing(stores, "10000.1", lambda: stores.accounts.set_seal_epoch("10000", "10000.1", 1))
    # When the close runs
    report = _close(stores, files)
    # Then neither got a bot reading; the second was refused and found with its bot off
    assert _bot_readings(stores) == {}
    assert report.windows[0].bots["bot_off"] == 1
    assert [r["status"] for r in _rows(files)] == ["no_reading"] * 3


def test_closing_export_rows_are_exactly_the_months_final_readings() -> None:
    # Given an account whose meters got October readings through several doors, twice for one of them
    stores, files = _city(accounts=2), FakeFiles()
    web = Origin.web("192.0.2.1", PersonCaller("p-0"))
    first = Submission("10000.1", OCT, Decimal(1020), IN_WINDOW - timedelta(hours=1), web)
    last = Submission("10000.1", OCT, Decimal(1015), IN_WINDOW, Origin.viber("p-0"), consumption=Decimal(14))
    lower = Submission("10000.3", OCT, Decimal(900), IN_WINDOW, Origin.keypad("+380671231357"))
    from ekc.domain.values import Warning, WarningCode

    lower = replace(lower, warnings=(Warning(WarningCode.LOWER_THAN_PREVIOUS, {}),))
    for s in (first, last, lower):
        meter = stores.fake_accounts.meters[s.meter_id]
        assert stores.readings.record_readings([ReadingWrite(meter, s)]) == [False]
    # When the window closes
    _close(stores, files)
    rows = {r["meter_id"]: r for r in _rows(files)}
    # Then one row per meter; each the meter's final reading of October (the last one handed in)
    finals = {m.id: m.current for m in stores.fake_accounts.meters.values()}
    assert set(rows) == set(finals)
    for meter_id, final in finals.items():
        if final is None:  # no bot, nothing handed in
            assert (rows[meter_id]["status"], rows[meter_id]["value"]) == ("no_reading", "")
            continue
        assert rows[meter_id]["value"] == f"{final.value:.3f}"
        assert rows[meter_id]["channel"] == str(final.channel)
        assert rows[meter_id]["submitted_at"] == final.at.astimezone(KYIV).replace(microsecond=0).isoformat()
    assert (rows["10000.1"]["value"], rows["10000.1"]["consumption"]) == ("1015.000", "14.000")
    assert rows["10000.3"]["flags"] == "lower_than_previous"
    assert rows["10000.2"]["flags"] == "bot"
    assert sum(1 for f in finals.values() if f is None) == 1


def test_closing_a_bot_meter_without_a_previous_reading_is_skipped_and_counted() -> None:
    # Given a bot meter that never had a reading
    stores, files = FakeStores([ELECTRICITY]), FakeFiles()
    account = Account("55555", "123", "H", "A", "Кременчук", "05366")
    stores.add_account(
        account, [_meter(1, "55555", bot_enabled=True, previous_value=None, previous_month=None)]
    )
    # When the window closes
    report = _close(stores, files)
    # Then the bot wrote nothing, the skip is counted, and the export says the meter has no reading
    assert _bot_readings(stores) == {}
    assert report.windows[0].bots == {"no_previous": 1}
    (row,) = _rows(files)
    assert (row["status"], row["previous_value"]) == ("no_reading", "")


def test_closing_leaves_windows_that_have_not_closed_alone() -> None:
    # Given the close 10 seconds after October's window ended (inside the grace for late requests)
    stores, files = _city(accounts=1), FakeFiles()
    report = _close(stores, files, now=ENDS + timedelta(seconds=10))
    # Then only September's window was looked at, and no bot wrote for October
    assert [str(w.month) for w in report.windows] == ["2026-09"]
    assert _bot_readings(stores) == {}
    # And an operator naming October is told it has not closed
    with pytest.raises(InvalidRequest) as refused:
        _close(stores, files, org_id="el", month=OCT, now=ENDS - timedelta(hours=1))
    assert refused.value.code == "window_not_closed"


def test_closing_out_of_time_hands_the_rest_to_the_queue_which_finishes_it() -> None:
    # Given a run with time for three shards only, and a queue
    stores, files, queue = _city(), FakeFiles(), FakeTasks()
    budget = iter([1000.0] * 3 + [0.0] * 10_000)
    report = _close(stores, files, queue=queue, time_left=lambda: next(budget))
    # Then it did some shards, queued the others (each once), and wrote no export yet
    queued = {t["shard"] for t in queue.sent}
    assert report.queued == len(queued) == len(queue.sent) and 0 < len(queued) < keys.ORG_SHARDS
    assert report.windows[0].state == "in_progress" and files.get(CSV_KEY) is None
    # And a second run meanwhile leaves the queued shards to their worker
    again = _close(stores, files, queue=FakeTasks())
    assert again.windows[0].state == "in_progress"
    # When the queue's worker does the tasks
    outcome = closing.run_tasks(queue.sent, stores=stores, files=files, now=NOW, sleep=lambda s: None)
    # Then the window is done, every bot meter has its one reading, and the export is whole
    assert outcome.failed == []
    assert stores.fake_closes.records[KEY].done_at is not None
    assert _bot_readings(stores) == Counter(_eligible(stores))
    assert len(_rows(files)) == 120


def test_closing_a_shard_that_fails_is_reported_and_resumed_by_the_next_run() -> None:
    # Given storage that refuses every write for a while (throttled beyond the retries)
    stores, files = _city(), FakeFiles()
    real = stores.fake_readings.record_readings
    calls = {"n": 0}

    def throttled(writes: list[ReadingWrite]) -> list[bool]:
        calls["n"] += 1
        if calls["n"] <= closing.THROTTLE_ATTEMPTS:
            raise StorageUnavailable()
        return real(writes)

    stores.fake_readings.record_readings = throttled  # type: ignore[method-assign]
    # When the close runs, then runs again
    with pytest.raises(closing.CloseIncomplete) as failed:
        _close(stores, files)
    assert len(failed.value.report.failed) == 1 and files.get(CSV_KEY) is None
    report = _close(stores, files)
    # Then the second run finished it
    assert report.windows[0].state == "done"
    assert _bot_readings(stores) == Counter(_eligible(stores))


def test_closing_redo_writes_no_new_reading_and_the_same_csv() -> None:
    # Given a closed window
    stores, files = _city(), FakeFiles()
    _close(stores, files)
    csv_before, written = files.get(CSV_KEY), list(stores.fake_readings.written)
    run_before = json.loads(files.get(MANIFEST_KEY) or b"")["run"]["id"]
    # When an operator starts it over, an hour later
    report = _close(stores, files, org_id="el", month=OCT, redo=True, now=NOW + timedelta(hours=1))
    # Then no reading was added, the CSV is byte for byte the same, and the manifest names the new run
    assert stores.fake_readings.written == written
    assert files.get(CSV_KEY) == csv_before
    manifest = json.loads(files.get(MANIFEST_KEY) or b"")
    assert (
        manifest["run"]["id"] != run_before
        and manifest["file"]["sha256"] == report.windows[0].as_dict()["sha256"]
    )
    assert report.windows[0].bots["written_before"] == 80


def test_closing_counts_windows_left_unfinished_a_day_after_they_closed() -> None:
    # Given a run that could do nothing (no time), then a look two days after the close
    stores, files = _city(accounts=1), FakeFiles()
    _close(stores, files, time_left=lambda: 0.0)
    # When the schedule looks again two days later with no time either
    report = _close(stores, files, now=NOW + timedelta(days=2), time_left=lambda: 0.0)
    # Then October's window is counted late
    assert report.unfinished_late == 1 and report.windows[0].state == "in_progress"


def test_closing_manifest_counts_and_sums_what_the_csv_holds() -> None:
    stores, files = _city(accounts=3), FakeFiles()
    _close(stores, files)
    manifest = json.loads(files.get(MANIFEST_KEY) or b"")
    data = files.get(CSV_KEY) or b""
    rows = _rows(files)
    import hashlib

    assert manifest["file"] == {
        "key": CSV_KEY,
        "bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "columns": list(export.COLUMNS),
    }
    assert (manifest["rows"], manifest["rows_with_reading"], manifest["rows_without_reading"]) == (9, 6, 3)
    values = sum(Decimal(r["value"]) for r in rows if r["value"])
    consumption = sum(Decimal(r["consumption"]) for r in rows if r["consumption"])
    assert manifest["sums_by_unit"] == {
        "kWh": {"rows_with_reading": 6, "value": f"{values:.3f}", "consumption": f"{consumption:.3f}"}
    }
    assert manifest["window"] == {
        "opens_at": "2026-10-31T00:00:00+02:00",
        "closes_at": "2026-11-03T23:59:59+02:00",
    }
    assert data.startswith(b"billing_month,account,meter_id,")


def test_closing_plan_lists_the_windows_without_touching_them() -> None:
    stores, files = _city(accounts=1), FakeFiles()
    report = _close(stores, files, plan_only=True)
    assert [(w.org_id, str(w.month), w.state) for w in report.windows] == [("el", "2026-10", "pending")]
    assert stores.fake_closes.records == {} and _bot_readings(stores) == {}


def test_closing_reminder_candidates_are_the_people_of_accounts_with_meters_due() -> None:
    # Given two accounts in November's open window: one with everything handed in, one with nothing
    stores = _city(accounts=2)
    for meter in [m for m in stores.fake_accounts.meters.values() if m.account == "10000"]:
        s = Submission(meter.id, OCT, Decimal(1100), IN_WINDOW, Origin.viber("p-0"))
        stores.readings.record_readings([ReadingWrite(meter, s)])
    # When the reminders ask who has meters due for October
    due = list(closing.reminder_candidates("el", OCT, stores=stores, now=IN_WINDOW))
    # Then only the second account, once, with its person, its three meters and what each bot would record
    assert [(c.account, c.people) for c in due] == [("10001", frozenset({"p-1"}))]
    assert [(d.meter.id, d.bot_value) for d in due[0].meters] == [
        ("10001.1", Decimal(1011)),
        ("10001.2", Decimal(1002)),
        ("10001.3", None),
    ]
    assert due[0].closes_at == ENDS - timedelta(seconds=1)


def test_closing_run_tasks_ignores_a_task_for_an_unknown_organization() -> None:
    stores, files = _city(accounts=1), FakeFiles()
    outcome = closing.run_tasks([{"org": "nope", "month": "2026-10", "shard": 1}], stores=stores, files=files)
    assert outcome.failed == []
