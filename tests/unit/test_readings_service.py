"""The readings service with an in-memory repository: races between channels, retries, duplicates."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from ekc.domain.kinds import MeterKind
from ekc.domain.model import Account, AccountBundle, Actor, Channel, Meter, Organization, Person, Submission
from ekc.domain.months import Month
from ekc.domain.windows import DayOfMonth, WindowRule
from ekc.exceptions import NotFound, StorageUnavailable
from ekc.services.readings import Origin, RowInput, readings_page, save_readings
from ekc.storage.repository import ReadingWrite

NOW = datetime(2019, 8, 1, 9, 0, tzinfo=UTC)  # inside the seed's July 2019 windows
JULY = Month(2019, 7)
ELECTRICITY = Organization("el", "Енергозбут", WindowRule(DayOfMonth(0, 31), DayOfMonth(1, 3)))
RESIDENT = Actor("session", "csrf", Person("p-1", "r@example.com"))
WEB = Origin(Channel.WEB, "IP: 192.0.2.1", "p-1")


class FakeRepository:
    """The repository methods the readings service uses, in memory, with the same write conditions."""

    def __init__(self, meters: list[Meter]) -> None:
        self.account = Account(
            "77777", "512", "Горшеньов М. Ю.", "вул. Короля і Шута, 43", "Кременчук", "05366"
        )
        self.meters = {m.id: m for m in meters}
        self.history: list[Submission] = []
        self.transactions = 0
        # Runs just before a transaction: another channel writing between our read and our write.
        self.before_write: Callable[[FakeRepository], None] | None = None

    def organizations(self) -> dict[str, Organization]:
        return {ELECTRICITY.id: ELECTRICITY}

    def load_account(self, number: str) -> AccountBundle | None:
        if number != self.account.number:
            return None
        return AccountBundle(
            self.account, sorted(self.meters.values(), key=lambda m: m.id), frozenset({"p-1"})
        )

    def record_readings(self, writes: list[ReadingWrite]) -> list[bool]:
        self.transactions += 1
        if self.before_write is not None:
            hook, self.before_write = self.before_write, None
            hook(self)
        conflicts = [not self._condition_holds(w) for w in writes]
        if not any(conflicts):
            for w in writes:
                self.meters[w.meter.id] = self.meters[w.meter.id].with_reading(w.submission)
                self.history.append(w.submission)
        return conflicts

    def _condition_holds(self, write: ReadingWrite) -> bool:
        stored, read, new = self.meters[write.meter.id].current, write.meter.current, write.submission
        if read is not None and read.billing_month == new.billing_month:
            return stored is not None and stored.billing_month == new.billing_month and stored.at <= new.at
        return stored == read


def _meter(current: Submission | None = None) -> Meter:
    return Meter(
        id="77777.1",
        account="77777",
        kind=MeterKind.ELECTRICITY,
        unit="кВт·год",
        organization_id="el",
        digits=6,
        previous_value=Decimal("6116"),
        previous_month=Month(2019, 6),
        current=current,
    )


def _submission(
    value: str, at: datetime, month: Month = JULY, channel: Channel = Channel.VIBER
) -> Submission:
    return Submission("77777.1", month, Decimal(value), at, channel, "Viber", "p-2")


def test_save_retries_when_an_older_reading_lands_between_read_and_write() -> None:
    # Given another channel's reading, stamped before ours, that lands while we are deciding
    repo = FakeRepository([_meter()])
    repo.before_write = lambda r: r.record_readings(
        [ReadingWrite(_meter(), _submission("6150", NOW - timedelta(seconds=5)))]
    )
    # When the resident saves
    outcome = save_readings(RESIDENT, "77777", [RowInput("77777.1", "6200")], WEB, repo=repo, now=NOW)  # type: ignore[arg-type]
    # Then ours, the newer, wins after one re-read, and history keeps both
    assert outcome.results[0].status == "saved"
    assert repo.meters["77777.1"].current.value == Decimal("6200")
    assert [s.value for s in repo.history] == [Decimal("6150"), Decimal("6200")]
    assert repo.transactions == 3  # the other channel's, our refused one, our retry


def test_save_yields_to_a_newer_reading_that_lands_between_read_and_write() -> None:
    repo = FakeRepository([_meter()])
    repo.before_write = lambda r: r.record_readings(
        [ReadingWrite(_meter(), _submission("6150", NOW + timedelta(seconds=5)))]
    )
    outcome = save_readings(RESIDENT, "77777", [RowInput("77777.1", "6200")], WEB, repo=repo, now=NOW)  # type: ignore[arg-type]
    assert outcome.results[0].status == "superseded"
    assert "6150.000" in outcome.results[0].message
    assert repo.meters["77777.1"].current.value == Decimal("6150")


def test_save_gives_up_with_try_again_after_three_races() -> None:
    class AlwaysRaced(FakeRepository):
        def record_readings(self, writes: list[ReadingWrite]) -> list[bool]:
            self.transactions += 1
            return [True] * len(writes)

    repo = AlwaysRaced([_meter()])
    with pytest.raises(StorageUnavailable):
        save_readings(RESIDENT, "77777", [RowInput("77777.1", "6200")], WEB, repo=repo, now=NOW)  # type: ignore[arg-type]
    assert repo.transactions == 3 and repo.history == []


def test_two_rows_for_one_meter_count_as_the_last_one() -> None:
    repo = FakeRepository([_meter()])
    rows = [RowInput("77777.1", "6200"), RowInput("77777.1", "6210")]
    outcome = save_readings(RESIDENT, "77777", rows, WEB, repo=repo, now=NOW)  # type: ignore[arg-type]
    assert [(r.meter_id, r.status) for r in outcome.results] == [("77777.1", "saved")]
    assert [s.value for s in repo.history] == [Decimal("6210")]


def test_nothing_to_write_makes_no_transaction() -> None:
    repo = FakeRepository([_meter()])
    outcome = save_readings(RESIDENT, "77777", [RowInput("77777.1", " ")], WEB, repo=repo, now=NOW)  # type: ignore[arg-type]
    assert outcome.results[0].status == "unchanged"
    assert repo.history == []


def test_a_meter_whose_organization_is_unknown_is_left_out_not_fatal() -> None:
    orphan = replace(_meter(), id="77777.2", organization_id="gone")
    repo = FakeRepository([_meter(), orphan])
    page = readings_page(RESIDENT, "77777", repo=repo, now=NOW)  # type: ignore[arg-type]
    assert [v.meter.id for v in page.meters] == ["77777.1"]
    outcome = save_readings(RESIDENT, "77777", [RowInput("77777.2", "5")], WEB, repo=repo, now=NOW)  # type: ignore[arg-type]
    assert outcome.results[0].status == "rejected"


def test_the_page_of_an_account_not_linked_is_not_found() -> None:
    repo = FakeRepository([_meter()])
    stranger = Actor("s2", "c2", Person("p-9"))
    with pytest.raises(NotFound):
        readings_page(stranger, "77777", repo=repo, now=NOW)  # type: ignore[arg-type]
    qr_session = Actor("s3", "c3", None, scope_account="77777")
    assert readings_page(qr_session, "77777", repo=repo, now=NOW).account.number == "77777"  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        readings_page(qr_session, "88888", repo=repo, now=NOW)  # type: ignore[arg-type]
