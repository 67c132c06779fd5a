"""One contract, two stores: the in-memory fake of the unit tests and DynamoDB (moto) obey the same writes.

Every scenario runs against both; if the fake's copy of a write condition drifts from the real one,
a scenario fails on one side only.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from ekc.domain.identity import Origin, PersonCaller
from ekc.domain.kinds import MeterKind, Unit
from ekc.domain.model import Account, Meter, Organization, Submission
from ekc.domain.months import Month
from ekc.domain.plausibility import UsageProfile
from ekc.domain.windows import DayOfMonth, WindowRule
from ekc.storage import keys
from ekc.storage.ports import CloseRecord, MeterKey, ReadingWrite, ShardProgress, Stores, WindowKey
from tests.fakes import FakeStores

T0 = datetime(2019, 8, 1, 9, 0, tzinfo=UTC)
JUNE, JULY = Month(2019, 6), Month(2019, 7)
ORG = Organization("el", "Енергозбут", WindowRule(DayOfMonth(0, 31), DayOfMonth(1, 3)))
ACCOUNT = Account("77777", "512", "Горшеньов М. Ю.", "вул. Короля і Шута, 43", "Кременчук", "05366")


def _meter(n: int = 1, **changes: Any) -> Meter:
    base = Meter(
        id=f"77777.{n}",
        account="77777",
        kind=MeterKind.ELECTRICITY,
        unit=Unit.KILOWATT_HOUR,
        organization_id="el",
        digits=6,
        previous_value=Decimal(6000),
        previous_month=Month(2019, 5),
    )
    return replace(base, **changes)


def _reading(
    value: str, at: datetime, month: Month = JULY, meter_id: str = "77777.1", **kw: Any
) -> Submission:
    return Submission(meter_id, month, Decimal(value), at, kw.get("origin", Origin.viber("p-1")))


@pytest.fixture(params=["fake", "dynamodb"])
def stores(request: pytest.FixtureRequest) -> Iterator[Stores]:
    """The same empty stores, in memory or in moto's DynamoDB built from template.yaml."""
    if request.param == "fake":
        yield FakeStores()
        return
    request.getfixturevalue("table")
    from ekc.storage import get_stores

    yield get_stores()


def _seed(stores: Stores, *meters: Meter) -> None:
    stores.catalogue.put_organizations([ORG])
    stores.accounts.put_account(ACCOUNT)
    for meter in meters:
        stores.accounts.put_meter(meter)


def _stored(stores: Stores, meter_id: str = "77777.1") -> Meter:
    bundle = stores.accounts.load_account("77777")
    assert bundle is not None
    return next(m for m in bundle.meters if m.id == meter_id)


def _values(stores: Stores, meter_id: str = "77777.1") -> list[Decimal]:
    return [s.value for s in reversed(stores.readings.history(meter_id).submissions)]


def test_contract_last_submission_wins_and_history_keeps_both(stores: Stores) -> None:
    # Given a meter, and a reading of July written on it
    _seed(stores, _meter())
    first = _reading("6100", T0)
    assert stores.readings.record_readings([ReadingWrite(_stored(stores), first)]) == [False]
    # When a later reading of the same month is decided on what the meter now shows
    second = _reading("6120", T0 + timedelta(minutes=1))
    assert stores.readings.record_readings([ReadingWrite(_stored(stores), second)]) == [False]
    # Then the later one is the meter's, and history has both, oldest first
    assert _stored(stores).current is not None and _stored(stores).current.value == Decimal(6120)
    assert _values(stores) == [Decimal(6100), Decimal(6120)]


def test_contract_an_older_submission_arriving_late_is_refused(stores: Stores) -> None:
    # Given a reading at 09:01 decided and written
    _seed(stores, _meter())
    stores.readings.record_readings([ReadingWrite(_stored(stores), _reading("6100", T0))])
    read = _stored(stores)
    stores.readings.record_readings([ReadingWrite(read, _reading("6120", T0 + timedelta(minutes=2)))])
    # When a request stamped 09:01, decided on the same state, arrives after the 09:02 one
    late = _reading("6110", T0 + timedelta(minutes=1))
    # Then its condition refuses it and nothing of it is written
    assert stores.readings.record_readings([ReadingWrite(read, late)]) == [True]
    assert _stored(stores).current.value == Decimal(6120)  # type: ignore[union-attr]
    assert _values(stores) == [Decimal(6100), Decimal(6120)]


def test_contract_a_new_month_moves_the_reading_into_previous_and_the_usage(stores: Stores) -> None:
    # Given a meter that shows June's reading, with a consumption of 150
    june = replace(_reading("6150", T0 - timedelta(days=30), month=JUNE), consumption=Decimal(150))
    profile = UsageProfile().updated(
        JUNE, Decimal(150), confirmed_high=False, rollover=False, months_elapsed=1
    )
    _seed(stores, _meter(current=june, usage=profile))
    # When July's first reading is written
    july = replace(_reading("6300", T0), consumption=Decimal(150))
    assert stores.readings.record_readings([ReadingWrite(_stored(stores), july)]) == [False]
    # Then June's is the previous reading, and July's use joined the usage profile beside June's
    meter = _stored(stores)
    assert (meter.previous_value, meter.previous_month) == (Decimal(6150), JUNE)
    assert meter.current is not None and meter.current.value == Decimal(6300)
    assert [(u.month, u.use) for u in meter.usage.uses] == [(JUNE, Decimal(150)), (JULY, Decimal(150))]
    # And each month's winner is kept apart from the submissions
    assert [(s.billing_month, s.value) for s in stores.readings.months("77777.1")] == [(JULY, Decimal(6300))]


def test_contract_two_first_readings_of_a_month_race_and_one_loses(stores: Stores) -> None:
    # Given two channels that read the same meter (June's reading on it) at once
    june = _reading("6150", T0 - timedelta(days=30), month=JUNE)
    _seed(stores, _meter(current=june))
    read = _stored(stores)
    # When both write July's first reading decided on that state
    assert stores.readings.record_readings([ReadingWrite(read, _reading("6200", T0))]) == [False]
    racer = _reading("6210", T0 + timedelta(seconds=1))
    # Then the second is refused (the meter changed under it) and must re-read
    assert stores.readings.record_readings([ReadingWrite(read, racer)]) == [True]
    assert _stored(stores).previous_value == Decimal(6150)
    assert _values(stores) == [Decimal(6200)]


def test_contract_one_refused_write_cancels_the_whole_transaction(stores: Stores) -> None:
    # Given two meters, one of which already has a newer reading than the request's
    _seed(stores, _meter(1), _meter(2))
    read_two = _stored(stores, "77777.2")
    stores.readings.record_readings(
        [ReadingWrite(read_two, _reading("7000", T0 + timedelta(minutes=5), meter_id="77777.2"))]
    )
    fresh_two = _stored(stores, "77777.2")
    # When a page with both rows, the second stamped earlier, is written
    writes = [
        ReadingWrite(_stored(stores, "77777.1"), _reading("6100", T0)),
        ReadingWrite(fresh_two, _reading("6990", T0, meter_id="77777.2")),
    ]
    # Then only the second is flagged, and the first was not written either
    assert stores.readings.record_readings(writes) == [False, True]
    assert _stored(stores, "77777.1").current is None
    assert _values(stores, "77777.1") == []


def test_contract_a_bot_never_overwrites_a_reading_of_its_month(stores: Stores) -> None:
    # Given a bot-on meter read by the window's close, and a resident's reading that lands first
    _seed(stores, _meter(bot_enabled=True, bot_amount=Decimal(150)))
    read = _stored(stores)
    resident = _reading("6200", T0, origin=Origin.web("192.0.2.1", PersonCaller("p-1")))
    assert stores.readings.record_readings([ReadingWrite(read, resident)]) == [False]
    # When the bot's reading, decided on the old state, is written
    bot = _reading("6150", T0 + timedelta(minutes=1), origin=Origin.bot())
    # Then it is refused and the resident's reading stays
    assert stores.readings.record_readings([ReadingWrite(read, bot, bot=True)]) == [True]
    assert _stored(stores).current.value == Decimal(6200)  # type: ignore[union-attr]
    assert _values(stores) == [Decimal(6200)]


def test_contract_a_bot_writes_once_and_not_after_a_resealing(stores: Stores) -> None:
    # Given two bot-on meters with no reading this month
    _seed(stores, _meter(1, bot_enabled=True), _meter(2, bot_enabled=True))
    one, two = _stored(stores, "77777.1"), _stored(stores, "77777.2")
    # When the first's bot writes, then writes again (a re-run) on the same read
    bot = _reading("6150", T0, origin=Origin.bot())
    assert stores.readings.record_readings([ReadingWrite(one, bot, bot=True)]) == [False]
    assert stores.readings.record_readings([ReadingWrite(one, bot, bot=True)]) == [True]
    # and the second meter is re-sealed between the close's read and its write
    stores.accounts.set_seal_epoch("77777", "77777.2", 1)
    later = _reading("6150", T0, meter_id="77777.2", origin=Origin.bot())
    # Then the first has exactly one bot reading and the second none
    assert stores.readings.record_readings([ReadingWrite(two, later, bot=True)]) == [True]
    assert _values(stores, "77777.1") == [Decimal(6150)]
    assert _values(stores, "77777.2") == []


def _shard_keys(stores: Stores, *, bots_only: bool) -> list[MeterKey]:
    found = []
    for shard in range(keys.ORG_SHARDS):
        found += list(stores.accounts.meter_keys("el", shard, bots_only=bots_only))
    return sorted(found)


def test_contract_indexes_list_an_organizations_meters_and_its_bots(stores: Stores) -> None:
    # Given three meters of one organization, one of another, and bots on two of the first
    other = _meter(9, organization_id="gas")
    _seed(stores, _meter(1, bot_enabled=True), _meter(2), _meter(3), other)
    stores.accounts.set_bot(_stored(stores, "77777.3"), True, Decimal(50))
    # When the organization's shards are listed
    everyone, bots = _shard_keys(stores, bots_only=False), _shard_keys(stores, bots_only=True)
    # Then every meter of it is listed once, and only the bot-on ones in the bots' index
    assert [k.meter_id for k in everyone] == ["77777.1", "77777.2", "77777.3"]
    assert [k.meter_id for k in bots] == ["77777.1", "77777.3"]
    # And switching a bot off, or re-sealing, takes a meter out of the bots' index
    stores.accounts.set_bot(_stored(stores, "77777.3"), False, Decimal(50))
    stores.accounts.set_seal_epoch("77777", "77777.1", 1)
    assert _shard_keys(stores, bots_only=True) == []
    # And the listed keys fetch the meters themselves
    meters = stores.accounts.get_meters(everyone)
    assert sorted(m.id for m in meters) == ["77777.1", "77777.2", "77777.3"]


def test_contract_notices_wait_for_their_person_until_cleared(stores: Stores) -> None:
    # Given a notice left for two people
    from ekc.domain.notices import Notice, NoticeCode

    notice = Notice(
        NoticeCode.BOT_OFF_RESEALED, T0, account="77777", meter_id="77777.1", params={"epoch": "1"}
    )
    stores.people.add_notice(["p-1", "p-2"], notice)
    stores.people.add_notice(["p-1"], replace(notice, code=NoticeCode.ACCOUNT_LINKED, at=T0 + timedelta(1)))
    # When p-1's notices are read
    pending = stores.people.notices("p-1")
    # Then both are there, oldest first, with their data
    assert [(n.code, n.account, n.meter_id, n.params) for n in pending] == [
        (NoticeCode.BOT_OFF_RESEALED, "77777", "77777.1", {"epoch": "1"}),
        (NoticeCode.ACCOUNT_LINKED, "77777", "77777.1", {"epoch": "1"}),
    ]
    # And once cleared they are gone for p-1 only
    stores.people.clear_notices("p-1", [n.id for n in pending])
    assert stores.people.notices("p-1") == []
    assert [n.code for n in stores.people.notices("p-2")] == [NoticeCode.BOT_OFF_RESEALED]


# ---- guess budgets, token generations, links and sessions (issue 6) --------------------------------------


def test_contract_a_reservation_counts_all_cells_or_none(stores: Stores) -> None:
    # Given two counters, one with room for one more guess and one full
    from ekc.storage.ports import Cell, Reservation

    person, account = Cell("link_code_person#p-1", 7), Cell("link_code_account#77777", 7)
    expires = T0 + timedelta(days=2)
    assert stores.attempts.reserve([Reservation(account, 1, expires)]) == []
    # When a guess is reserved against both, the account allowing fewer than one more
    refused = stores.attempts.reserve([Reservation(person, 5, expires), Reservation(account, 1, expires)])
    # Then the full one refused, and the other was not charged either
    assert refused == [account]
    assert stores.attempts.counts([person, account]) == {person: 0, account: 1}
    # And with room in both, both count one
    assert stores.attempts.reserve([Reservation(person, 5, expires), Reservation(account, 2, expires)]) == []
    assert stores.attempts.counts([person, account, Cell("other", 7)]) == {
        person: 1,
        account: 2,
        Cell("other", 7): 0,
    }


def test_contract_a_release_gives_back_and_never_goes_below_zero(stores: Stores) -> None:
    from ekc.storage.ports import Cell, Reservation

    cell = Cell("signin#a@example.com", 3)
    stores.attempts.reserve([Reservation(cell, 10, T0 + timedelta(days=1))])
    stores.attempts.release([cell])
    stores.attempts.release([cell])
    assert stores.attempts.counts([cell]) == {cell: 0}


def test_contract_a_reservation_with_no_room_left_writes_nothing(stores: Stores) -> None:
    from ekc.storage.ports import Cell, Reservation

    cell = Cell("link_holder_city#city", 20000)
    # Given the previous window used the whole budget (so "below" is 0)
    assert stores.attempts.reserve([Reservation(cell, 0, T0)]) == [cell]
    assert stores.attempts.counts([cell]) == {cell: 0}


def test_contract_token_generation_rises_and_survives_a_reimport(stores: Stores) -> None:
    _seed(stores)
    # Given an account at generation 0
    assert stores.accounts.token_generations(["77777", "12345"]) == {"77777": 0, "12345": 0}
    # When an operator raises it twice, and billing re-imports the account with new data, both ways
    assert stores.accounts.bump_token_generation("77777") == 1
    assert stores.accounts.bump_token_generation("77777") == 2
    stores.accounts.put_account(replace(ACCOUNT, address="вул. Нова, 1"))
    stores.accounts.put_accounts([replace(ACCOUNT, address="вул. Нова, 2")])
    # Then the generation is 2 whatever the imports wrote, and the import's data is there
    bundle = stores.accounts.load_account("77777")
    assert bundle is not None
    assert (bundle.token_generation, bundle.account.address) == (2, "вул. Нова, 2")
    assert stores.accounts.token_generations(["77777"]) == {"77777": 2}
    # and there is no generation to raise for an account that does not exist
    from ekc.exceptions import NotFound

    with pytest.raises(NotFound):
        stores.accounts.bump_token_generation("12345")


def test_contract_put_account_removes_a_paid_debt(stores: Stores) -> None:
    from ekc.domain.model import Debt

    debt = Debt(Decimal("12.50"), "ТОВ", "UA00", "о/р 77777", date(2026, 11, 1))  # with its as-of day
    stores.accounts.put_account(replace(ACCOUNT, debt=debt))
    assert stores.accounts.get_account("77777").debt == debt  # type: ignore[union-attr]
    stores.accounts.put_account(ACCOUNT)
    assert stores.accounts.get_account("77777").debt is None  # type: ignore[union-attr]


def test_contract_links_say_since_when_and_unlinking_forgets(stores: Stores) -> None:
    _seed(stores)
    # Given two people linked at different moments
    stores.people.link("p-1", ACCOUNT, T0)
    stores.people.link("p-2", ACCOUNT, T0 + timedelta(microseconds=1))
    # Then the account knows since when each is linked, to the microsecond
    bundle = stores.accounts.load_account("77777")
    assert bundle is not None
    assert bundle.linked_since == {"p-1": T0, "p-2": T0 + timedelta(microseconds=1)}
    assert bundle.linked_people == {"p-1", "p-2"}
    # And after one unlinks, only the other is there
    stores.people.unlink("p-1", "77777")
    assert stores.accounts.load_account("77777").linked_since == {  # type: ignore[union-attr]
        "p-2": T0 + timedelta(microseconds=1)
    }


def test_contract_a_qr_session_keeps_its_tokens_generation_and_link(stores: Stores) -> None:
    from ekc.storage.ports import SessionRecord

    record = SessionRecord(None, None, "77777", "csrf", T0 + timedelta(hours=12), 3, "0123456789abcdef")
    stores.people.create_session("h-1", record)
    assert stores.people.get_session("h-1") == record
    person = SessionRecord("p-1", "a@example.com", None, "csrf", T0 + timedelta(days=30))
    stores.people.create_session("h-2", person)
    assert stores.people.get_session("h-2") == person
    stores.people.delete_session("h-1")
    assert stores.people.get_session("h-1") is None


def test_contract_ending_a_persons_sessions_leaves_others_and_qr_sessions(stores: Stores) -> None:
    from ekc.storage.ports import SessionRecord

    # Given two sessions of p-1, one of p-2 and an invoice-QR session of 77777
    def person(person_id: str) -> SessionRecord:
        return SessionRecord(person_id, f"{person_id}@example.com", None, "csrf", T0 + timedelta(days=30))

    qr = SessionRecord(None, None, "77777", "csrf", T0 + timedelta(hours=12), 0)
    for session_hash, record in (("a-1", person("p-1")), ("a-2", person("p-1")), ("b-1", person("p-2"))):
        stores.people.create_session(session_hash, record)
    stores.people.create_session("q-1", qr)
    # When p-1's sessions end but the one they are in
    assert stores.people.end_sessions("p-1", keep="a-2") == 1
    # Then only that one of theirs is left; p-2's and the QR session are untouched
    assert stores.people.get_session("a-1") is None
    assert stores.people.get_session("a-2") == person("p-1")
    assert stores.people.get_session("b-1") == person("p-2")
    assert stores.people.get_session("q-1") == qr
    # And a session signed out is no longer listed; ending all of them ends the rest
    stores.people.delete_session("a-2", "p-1")
    assert stores.people.end_sessions("p-1") == 0
    assert stores.people.end_sessions("p-2") == 1
    assert stores.people.get_session("b-1") is None
    assert stores.people.get_session("q-1") == qr


# ---- window closes' progress (ekc.storage.closes) ------------------------------------------------

CLOSE_KEY = WindowKey("el", JULY)
WALL = datetime(2019, 8, 4, 0, 5, tzinfo=UTC)


def _close_record(run_id: str = "run-1") -> CloseRecord:
    return CloseRecord(CLOSE_KEY, run_id, WALL, datetime(2019, 8, 4, 0, 0, tzinfo=UTC) - timedelta(hours=3))


def test_contract_a_window_record_is_made_once_and_the_first_run_stays(stores: Stores) -> None:
    # Given no record of July's close
    assert stores.closes.windows([CLOSE_KEY]) == {}
    # When two runs open it, one after the other
    first = stores.closes.open_window(_close_record("run-1"))
    second = stores.closes.open_window(_close_record("run-2"))
    # Then both get the first run's record, and it is what the batch read finds
    assert first.run_id == second.run_id == "run-1"
    assert stores.closes.windows([CLOSE_KEY, WindowKey("gas", JULY)]) == {CLOSE_KEY: first}
    # And once finished it carries its time and manifest; the parts' time is the first one noted
    assert stores.closes.mark_parts_done(CLOSE_KEY, WALL) == WALL
    assert stores.closes.mark_parts_done(CLOSE_KEY, WALL + timedelta(hours=1)) == WALL
    stores.closes.finish(CLOSE_KEY, WALL + timedelta(minutes=1), '{"rows": 3}')
    done = stores.closes.windows([CLOSE_KEY])[CLOSE_KEY]
    assert (done.done_at, done.manifest, done.parts_done_at) == (
        WALL + timedelta(minutes=1),
        '{"rows": 3}',
        WALL,
    )


def test_contract_a_shard_is_held_by_one_run_until_its_lease_runs_out(stores: Stores) -> None:
    stores.closes.open_window(_close_record())
    until = WALL + timedelta(minutes=3)
    # Given run A holding shard 5
    assert stores.closes.claim(CLOSE_KEY, 5, "A", until, WALL)
    # When run B asks for it while A's lease lasts, and A asks again
    assert not stores.closes.claim(CLOSE_KEY, 5, "B", until, WALL + timedelta(minutes=1))
    assert stores.closes.claim(CLOSE_KEY, 5, "A", until + timedelta(minutes=1), WALL + timedelta(minutes=1))
    # Then only A may record progress
    progress = ShardProgress(5, bots_done=True, bots_cursor=None, parts=("p/05-0000.csv",), totals={"n": "3"})
    assert not stores.closes.save_shard(CLOSE_KEY, progress, "B", until)
    assert stores.closes.save_shard(CLOSE_KEY, progress, "A", until)
    assert stores.closes.shards(CLOSE_KEY) == {5: progress}
    # And once A's lease has run out, B may take the shard over and carry on
    assert stores.closes.claim(CLOSE_KEY, 5, "B", until + timedelta(hours=1), until + timedelta(minutes=2))
    finished = replace(progress, export_done=True, export_cursor=None)
    assert stores.closes.save_shard(CLOSE_KEY, finished, "B", until + timedelta(hours=1))
    # And a shard whose export is done is taken by nobody any more
    assert not stores.closes.claim(CLOSE_KEY, 5, "C", until, until + timedelta(hours=2))
    assert stores.closes.shards(CLOSE_KEY)[5] == finished


def test_contract_a_window_started_over_forgets_its_shards(stores: Stores) -> None:
    # Given a window with two shards' progress, one still held
    stores.closes.open_window(_close_record("run-1"))
    stores.closes.claim(CLOSE_KEY, 1, "A", WALL + timedelta(minutes=3), WALL)
    stores.closes.save_shard(
        CLOSE_KEY, ShardProgress(1, bots_cursor="77777.9"), "A", WALL + timedelta(minutes=3)
    )
    stores.closes.claim(CLOSE_KEY, 2, "A", WALL + timedelta(minutes=3), WALL)
    # When an operator starts it over
    stores.closes.restart_window(_close_record("run-2"))
    # Then its record is the new run's, no shard has progress, and any run may take them
    assert stores.closes.windows([CLOSE_KEY])[CLOSE_KEY].run_id == "run-2"
    assert stores.closes.shards(CLOSE_KEY) == {}
    assert stores.closes.claim(CLOSE_KEY, 1, "B", WALL + timedelta(minutes=3), WALL)


# ---- the billing import's writes ---------------------------------------------------------------------


def test_contract_batches_of_accounts_and_meters_round_trip(stores: Stores) -> None:
    # Given accounts and meters written in batches, with billing's dates
    other = replace(ACCOUNT, number="77778", debt=None)
    stores.accounts.put_accounts([ACCOUNT, other])
    meter = _meter(1, sealed_on=date(2021, 3, 15), next_verification=date(2027, 1, 31), serial="0012")
    stores.accounts.put_meters([meter, _meter(2, note="")])
    # When they are read back
    found = stores.accounts.get_accounts(["77777", "77778", "99999"])
    # Then they are what was written; unknown numbers are left out
    assert sorted(found, key=lambda a: a.number) == [ACCOUNT, other]
    assert stores.accounts.get_meters([MeterKey("77777", "77777.1")]) == [meter]
    assert [k.meter_id for k in _shard_keys(stores, bots_only=False)] == ["77777.1", "77777.2"]


def test_contract_update_meter_writes_billings_fields_and_keeps_the_services(stores: Stores) -> None:
    # Given a meter with a reading and its bot on
    _seed(stores, _meter(bot_enabled=True, bot_amount=Decimal(90)))
    read = _stored(stores)
    assert stores.readings.record_readings([ReadingWrite(read, _reading("6200", T0))]) == [False]
    read = _stored(stores)
    # When billing's fields change on what was read
    wanted = replace(read, note="коридор", serial="123", digits=7, sealed_on=date(2020, 1, 1))
    assert stores.accounts.update_meter(read, wanted)
    # Then they are stored, and the reading, the bot and its index entry stay
    stored = _stored(stores)
    assert stored == wanted
    assert stored.current is not None and stored.current.value == Decimal(6200)
    assert [k.meter_id for k in _shard_keys(stores, bots_only=True)] == ["77777.1"]


def test_contract_update_meter_previous_reading_only_while_no_reading_exists(stores: Stores) -> None:
    # Given a meter read by the import, and a resident's reading that lands after that read
    _seed(stores, _meter())
    read = _stored(stores)
    assert stores.readings.record_readings([ReadingWrite(read, _reading("6200", T0))]) == [False]
    # When billing's previous reading, decided on the old read, is written
    wanted = replace(read, previous_value=Decimal(6100), previous_month=JUNE)
    # Then it is refused and the service's previous reading stays
    assert not stores.accounts.update_meter(read, wanted)
    assert _stored(stores).previous_value == Decimal(6000)


def test_contract_update_meter_reseal_switches_the_bot_off_once(stores: Stores) -> None:
    # Given a bot-on meter read by the import
    _seed(stores, _meter(bot_enabled=True, bot_amount=Decimal(90), sealed_on=date(2020, 1, 1)))
    read = _stored(stores)
    resealed = replace(read, sealed_on=date(2026, 1, 1), seal_epoch=1, bot_enabled=False)
    # When the re-sealing is written, and written again on the same read (a replay)
    assert stores.accounts.update_meter(read, resealed)
    assert not stores.accounts.update_meter(read, resealed)
    # Then the bot is off at epoch 1, out of the bots' index, its amount kept
    stored = _stored(stores)
    assert (stored.seal_epoch, stored.bot_enabled, stored.bot_amount) == (1, False, Decimal(90))
    assert _shard_keys(stores, bots_only=True) == []


def test_contract_update_meter_never_undoes_a_residents_bot_switch(stores: Stores) -> None:
    # Given a meter read by the import, then its bot switched on by the resident
    _seed(stores, _meter())
    read = _stored(stores)
    stores.accounts.set_bot(read, True, Decimal(50))
    # When the import moves it to another organization on the old read
    moved = replace(read, organization_id="gas")
    # Then it is refused (the index keys would follow a stale switch) and the bot stays on
    assert not stores.accounts.update_meter(read, moved)
    assert _stored(stores).bot_enabled
    # And on a fresh read it goes through, into the other organization's indexes, bot and all
    fresh = _stored(stores)
    assert stores.accounts.update_meter(fresh, replace(fresh, organization_id="gas"))
    gas = [k for s in range(keys.ORG_SHARDS) for k in stores.accounts.meter_keys("gas", s, bots_only=True)]
    assert [k.meter_id for k in gas] == ["77777.1"]
    assert _shard_keys(stores, bots_only=False) == []


def test_contract_retired_meter_leaves_the_indexes_keeps_its_history_and_takes_no_bot(stores: Stores) -> None:
    # Given a bot-on meter with a reading in its history, read by the window's close
    _seed(stores, _meter(bot_enabled=True, bot_amount=Decimal(10)), _meter(2))
    read = _stored(stores)
    # When billing retires it
    assert stores.accounts.update_meter(read, replace(read, retired_on=date(2019, 8, 1)))
    # Then it is out of both indexes, still stored with its bot settings
    assert [k.meter_id for k in _shard_keys(stores, bots_only=False)] == ["77777.2"]
    assert _shard_keys(stores, bots_only=True) == []
    stored = _stored(stores)
    assert (stored.retired_on, stored.bot_enabled, stored.bot_amount) == (date(2019, 8, 1), True, Decimal(10))
    # and the close's bot, decided before the retirement, writes nothing
    assert stores.readings.record_readings([ReadingWrite(read, _reading("6010", T0), bot=True)]) == [True]
    # And brought back, it is in both indexes again
    assert stores.accounts.update_meter(stored, replace(stored, retired_on=None))
    assert [k.meter_id for k in _shard_keys(stores, bots_only=True)] == ["77777.1"]


def test_contract_update_meter_refuses_the_services_fields(stores: Stores) -> None:
    # Given a stored meter
    _seed(stores, _meter())
    read = _stored(stores)
    # Then the import's write cannot touch readings, bot amounts or switch a bot on
    for wanted in (replace(read, day_count=5), replace(read, bot_enabled=True)):
        with pytest.raises(ValueError):
            stores.accounts.update_meter(read, wanted)


def test_contract_existing_accounts_answers_by_key(stores: Stores) -> None:
    # Given one account
    stores.accounts.put_accounts([ACCOUNT])
    # Then asking for it and an unknown one answers only it
    assert stores.accounts.existing_accounts(["77777", "12345"]) == {"77777"}


# ---- password recovery ---------------------------------------------------------------------------------


def test_contract_a_quota_counts_all_or_none_up_to_its_limit(stores: Stores) -> None:
    # Given two quotas, one with room for two requests and one with room for three
    from ekc.storage.ports import QuotaCell

    expires = T0 + timedelta(hours=2)
    cells = [QuotaCell("recovery-email#a", 7, 2, expires), QuotaCell("recovery-city", 7, 3, expires)]
    # When four requests come
    refused = [stores.recovery.take_quota(cells) for _ in range(4)]
    # Then two are counted; the others are refused naming the full quota, and count nowhere
    assert refused[:2] == [[], []]
    assert [[c.key for c in r] for r in refused[2:]] == [["recovery-email#a"], ["recovery-email#a"]]
    other = [QuotaCell("recovery-email#b", 7, 2, expires), QuotaCell("recovery-city", 7, 3, expires)]
    assert stores.recovery.take_quota(other) == []
    assert [c.key for c in stores.recovery.take_quota(other)] == ["recovery-city"]
    # And a new window starts from nothing
    assert stores.recovery.take_quota([QuotaCell("recovery-email#a", 8, 2, expires)]) == []


def test_contract_a_recovery_sets_the_password_once_and_not_after_it_expired(stores: Stores) -> None:
    from ekc.exceptions import BadToken
    from ekc.storage.ports import ResetRecord

    # Given a login and a recovery for it, valid for an hour
    stores.people.create_login("p-1", "a@example.com", "old-hash", T0)
    record = ResetRecord("p-1", "a@example.com", T0 + timedelta(hours=1))
    stores.recovery.put_reset("h1", record)
    assert stores.recovery.get_reset("h1") == record
    # When it is used, the password changes and the recovery is gone
    stores.recovery.use_reset("h1", record, "new-hash", T0 + timedelta(minutes=5))
    assert stores.people.get_login("a@example.com").password_hash == "new-hash"  # type: ignore[union-attr]
    assert stores.recovery.get_reset("h1") is None
    # And a second use is refused without touching the password
    with pytest.raises(BadToken):
        stores.recovery.use_reset("h1", record, "newer-hash", T0 + timedelta(minutes=6))
    assert stores.people.get_login("a@example.com").password_hash == "new-hash"  # type: ignore[union-attr]
    # Given another recovery, used after it expired: refused, password unchanged
    stores.recovery.put_reset("h2", record)
    with pytest.raises(BadToken):
        stores.recovery.use_reset("h2", record, "late-hash", T0 + timedelta(hours=1))
    assert stores.people.get_login("a@example.com").password_hash == "new-hash"  # type: ignore[union-attr]


def test_contract_a_viber_user_is_one_person_and_their_subscription_is_remembered(stores: Stores) -> None:
    # Given a Viber user the bot has never met
    from ekc.storage.ports import ViberIdentity

    assert stores.viber_users.get("vb-1==") is None
    assert stores.viber_users.set_subscribed("vb-1==", False, T0) is False
    # When they are recorded twice, the second time with another person id (a race of two callbacks)
    first = stores.viber_users.create(ViberIdentity("vb-1==", "p-viber-1", True), T0)
    second = stores.viber_users.create(ViberIdentity("vb-1==", "p-viber-2", True), T0)
    # Then the first person id stays theirs
    assert first == second == ViberIdentity("vb-1==", "p-viber-1", True)
    # When they unsubscribe, then subscribe again
    assert stores.viber_users.set_subscribed("vb-1==", False, T0) is True
    assert stores.viber_users.get("vb-1==") == ViberIdentity("vb-1==", "p-viber-1", False)
    stores.viber_users.set_subscribed("vb-1==", True, T0)
    # Then the identity says so, and is still the same person
    assert stores.viber_users.get("vb-1==") == ViberIdentity("vb-1==", "p-viber-1", True)


def test_contract_a_person_finds_their_viber_users_as_they_are_now(stores: Stores) -> None:
    # Given two Viber users who are two people, and a person with none
    from ekc.storage.ports import ViberIdentity

    stores.viber_users.create(ViberIdentity("vb-a==", "p-a", True), T0)
    stores.viber_users.create(ViberIdentity("vb-b==", "p-b", True), T0)
    # Then each person finds theirs, with the subscription as it is now
    assert stores.viber_users.of_person("p-a") == [ViberIdentity("vb-a==", "p-a", True)]
    assert stores.viber_users.of_person("p-nobody") == []
    stores.viber_users.set_subscribed("vb-b==", False, T0)
    assert stores.viber_users.of_person("p-b") == [ViberIdentity("vb-b==", "p-b", False)]
    # And a lost race's person id gets no pointer to the winner's Viber user
    stores.viber_users.create(ViberIdentity("vb-a==", "p-late", True), T0)
    assert stores.viber_users.of_person("p-late") == []


def test_contract_a_reminder_is_marked_once_and_a_round_remembers_its_shards(stores: Stores) -> None:
    from ekc.storage.ports import ReminderKey

    key = ReminderKey("el", JULY, 24)
    keep = T0 + timedelta(days=60)
    # When the same reminder is marked twice for one Viber user
    assert stores.reminders.mark("vb-1==", key, T0, keep) is True
    assert stores.reminders.mark("vb-1==", key, T0 + timedelta(minutes=15), keep) is False
    # Then another offset, another month or another user is still a first time
    assert stores.reminders.mark("vb-1==", ReminderKey("el", JULY, 48), T0, keep) is True
    assert stores.reminders.mark("vb-1==", ReminderKey("el", JUNE, 24), T0, keep) is True
    assert stores.reminders.mark("vb-2==", key, T0, keep) is True
    # And a round's finished shards are remembered, a repeat harmlessly, per round
    assert stores.reminders.shards_done(key) == set()
    stores.reminders.finish_shard(key, 0, T0, keep)
    stores.reminders.finish_shard(key, 31, T0, keep)
    stores.reminders.finish_shard(key, 31, T0, keep)
    assert stores.reminders.shards_done(key) == {0, 31}
    assert stores.reminders.shards_done(ReminderKey("el", JULY, 48)) == set()
