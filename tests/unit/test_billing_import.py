"""The billing import against the in-memory stores: upsert, ownership of fields, re-sealing, retirement."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from ekc.domain.billing_files import COLUMNS, FileKind
from ekc.domain.identity import Origin, PersonCaller
from ekc.domain.model import Submission
from ekc.domain.months import Month
from ekc.domain.notices import NoticeCode
from ekc.services import notices, readings
from ekc.services.billing_import import RETIRE_ALWAYS, import_file
from ekc.services.readings import RowInput
from ekc.storage import keys
from tests.fakes import FakeStores

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "import"
NOW = datetime(2026, 11, 24, 21, 4, 36, tzinfo=UTC)
PERSON = "p-1"


def _sample(name: str) -> bytes:
    return (SAMPLE / f"{name}.csv").read_bytes()


def _loaded() -> FakeStores:
    stores = FakeStores()
    for name in ("organizations", "accounts", "meters"):
        import_file(_sample(name), stores=stores, now=NOW)
    return stores


def _meters_without(*meter_ids: str) -> bytes:
    lines = _sample("meters").decode().splitlines()
    return ("\n".join(line for line in lines if line.split(",")[0] not in meter_ids) + "\n").encode()


def _meters_with(meter_id: str, **columns: str) -> bytes:
    lines = _sample("meters").decode().splitlines()
    header = lines[0].split(",")
    out = [lines[0]]
    for line in lines[1:]:
        if line.split(",")[0] == meter_id:
            # The sample's meters rows have no quoted commas except 100201.2's note.
            fields = dict(zip(header, line.split(","), strict=True))
            fields.update(columns)
            line = ",".join(fields[c] for c in header)
        out.append(line)
    return ("\n".join(out) + "\n").encode()


def test_import_file_loads_the_sample() -> None:
    # Given empty stores
    stores = FakeStores()
    # When the sample's three files are imported in order
    results = [
        import_file(_sample(n), stores=stores, now=NOW) for n in ("organizations", "accounts", "meters")
    ]
    # Then everything is added, nothing refused
    assert [str(r.counts) for r in results] == [
        "4 added, 0 changed, 0 unchanged, 0 retired, 0 refused",
        "4 added, 0 changed, 0 unchanged, 0 retired, 0 refused",
        "9 added, 0 changed, 0 unchanged, 0 retired, 0 refused",
    ]
    # and the meters are as billing described them, in their organizations' index, bots off
    meter = stores.fake_accounts.meters["77777.3"]
    assert (meter.serial, meter.note, meter.next_verification, meter.sealed_on) == (
        "7254663",
        "кухня",
        date(2027, 11, 8),
        date(2021, 11, 8),
    )
    assert (meter.previous_value, meter.previous_month, meter.bot_enabled) == (
        Decimal(105),
        Month(2026, 10),
        False,
    )
    water_keys = [
        k for s in range(keys.ORG_SHARDS) for k in stores.accounts.meter_keys("water", s, bots_only=False)
    ]
    assert sorted(k.meter_id for k in water_keys) == ["100201.2", "77777.3", "88888.1"]
    assert stores.accounts.get_account("77777").debt.amount == Decimal("1234.56")  # type: ignore[union-attr]


def test_import_file_twice_changes_nothing() -> None:
    # Given the sample loaded once
    stores = _loaded()
    before = stores.snapshot()
    # When the same files are loaded again
    results = [
        import_file(_sample(n), stores=stores, now=NOW) for n in ("organizations", "accounts", "meters")
    ]
    # Then each says nothing was added or changed, and nothing was
    assert [(r.counts.added, r.counts.changed, r.counts.retired) for r in results] == [(0, 0, 0)] * 3
    assert [r.counts.unchanged for r in results] == [4, 4, 9]
    assert stores.fake_accounts.meters == before.fake_accounts.meters
    assert stores.fake_accounts.accounts == before.fake_accounts.accounts


def test_import_file_never_loses_readings_bots_or_links() -> None:
    # Given the sample loaded, a person linked to 77777, a reading handed in and a bot switched on
    stores = _loaded()
    stores.people.link(PERSON, stores.accounts.get_account("77777"), NOW)  # type: ignore[arg-type]
    caller = PersonCaller(PERSON)
    moment = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)  # electricity's window of 11/2026 is open
    saved = readings.save_readings(
        caller, "77777", [RowInput("77777.1", "6200")], Origin.viber(PERSON), stores=stores, now=moment
    )
    assert saved.results[0].status == readings.RowStatus.SAVED
    readings.set_bot(caller, "77777", "77777.2", True, "15", stores=stores, now=moment)
    kept = stores.fake_accounts.meters
    # When billing sends new details, another previous reading and a new holder's name
    data = _meters_with("77777.1", note="щиток у коридорі", previous_value="6150", previous_month="2026-11")
    accounts = _sample("accounts").replace("Горшеньов М. Ю.".encode(), "Горшеньова А. М.".encode())
    import_file(accounts, stores=stores, now=moment)
    result = import_file(data, stores=stores, now=moment)
    # Then the details change but the reading and the previous reading the service keeps stay
    assert result.counts.changed == 1
    electricity = kept["77777.1"]
    assert electricity.note == "щиток у коридорі"
    assert electricity.current is not None and electricity.current.value == Decimal("6200")
    assert electricity.previous_value == Decimal(6116)
    # and the bot keeps its switch and amount, the link stays, the cabinet's list shows the new name
    gas = kept["77777.2"]
    assert (gas.bot_enabled, gas.bot_amount) == (True, Decimal(15))
    assert stores.accounts.load_account("77777").linked_people == {PERSON}  # type: ignore[union-attr]
    assert stores.people.linked_accounts(PERSON)[0].holder == "Горшеньова А. М."


def test_import_file_takes_billings_previous_reading_until_the_service_has_one() -> None:
    # Given the sample loaded and no reading handed in yet
    stores = _loaded()
    # When billing sends a newer previous reading
    result = import_file(
        _meters_with("88888.2", previous_value="12100", previous_month="2026-11"), stores=stores, now=NOW
    )
    # Then it is taken
    assert result.counts.changed == 1
    meter = stores.fake_accounts.meters["88888.2"]
    assert (meter.previous_value, meter.previous_month) == (Decimal(12100), Month(2026, 11))


def test_import_file_later_seal_date_switches_the_bot_off_and_leaves_a_notice() -> None:
    # Given 77777 with a person linked and the gas meter's bot on
    stores = _loaded()
    stores.people.link(PERSON, stores.accounts.get_account("77777"), NOW)  # type: ignore[arg-type]
    readings.set_bot(PersonCaller(PERSON), "77777", "77777.2", True, "12", stores=stores, now=NOW)
    # When billing sends a later seal/verification date for it
    result = import_file(_meters_with("77777.2", sealed_on="2026-11-20"), stores=stores, now=NOW)
    # Then the bot is off at the next seal epoch, out of the bots' index, its amount kept
    assert (result.counts.changed, result.counts.resealed, result.counts.notified) == (1, 1, 1)
    gas = stores.fake_accounts.meters["77777.2"]
    assert (gas.bot_enabled, gas.seal_epoch, gas.bot_amount, gas.sealed_on) == (
        False,
        1,
        Decimal(12),
        date(2026, 11, 20),
    )
    assert not [
        k for s in range(keys.ORG_SHARDS) for k in stores.accounts.meter_keys("gas", s, bots_only=True)
    ]
    # and the person is told in their next conversation
    (notice,) = notices.take(PersonCaller(PERSON), stores=stores)
    assert (notice.code, notice.account, notice.meter_id) == (NoticeCode.BOT_OFF_RESEALED, "77777", "77777.2")
    assert notice.params["sealed_on"] == "2026-11-20"
    # And loading the same file again changes nothing and tells nobody again
    again = import_file(_meters_with("77777.2", sealed_on="2026-11-20"), stores=stores, now=NOW)
    assert (again.counts.changed, again.counts.notified) == (0, 0)


def test_import_file_first_known_seal_date_leaves_the_bot_on() -> None:
    # Given a meter whose seal date billing never sent, with its bot on
    stores = _loaded()
    meter = stores.fake_accounts.meters["77777.4"]
    stores.accounts.set_bot(meter, True, Decimal(2))
    # When billing now sends one
    import_file(_meters_with("77777.4", sealed_on="2019-05-05"), stores=stores, now=NOW)
    # Then it is recorded, and the bot stays on
    meter = stores.fake_accounts.meters["77777.4"]
    assert (meter.sealed_on, meter.bot_enabled, meter.seal_epoch) == (date(2019, 5, 5), True, 0)


def test_import_file_retires_a_meter_gone_from_the_file_and_keeps_its_history() -> None:
    # Given the sample loaded, 88888 linked to a person, and a reading in 88888.1's history
    stores = _loaded()
    stores.people.link(PERSON, stores.accounts.get_account("88888"), NOW)  # type: ignore[arg-type]
    past = Submission(
        "88888.1", Month(2026, 10), Decimal("310.5"), datetime(2026, 11, 1, tzinfo=UTC), Origin.bot()
    )
    stores.readings.import_history("88888", [past])
    # When a meters file without 88888.1 is loaded
    result = import_file(_meters_without("88888.1"), stores=stores, now=NOW)
    # Then it is retired: still stored, with its history, out of the organization's index
    assert (result.counts.retired, result.counts.unchanged) == (1, 8)
    meter = stores.fake_accounts.meters["88888.1"]
    assert meter.retired_on == date(2026, 11, 24)
    assert stores.readings.history("88888.1").submissions == [past]
    water = [
        k.meter_id
        for s in range(keys.ORG_SHARDS)
        for k in stores.accounts.meter_keys("water", s, bots_only=False)
    ]
    assert "88888.1" not in water
    # and it takes no readings: the account's page no longer shows it
    page = readings.readings_page(PersonCaller(PERSON), "88888", stores=stores, now=NOW)
    assert [v.meter.id for v in page.meters] == ["88888.2"]
    (notice,) = notices.take(PersonCaller(PERSON), stores=stores)
    assert (notice.code, notice.meter_id) == (NoticeCode.METER_RETIRED, "88888.1")
    # And when billing lists it again it comes back as it was
    back = import_file(_sample("meters"), stores=stores, now=NOW)
    assert (back.counts.changed, back.counts.retired) == (1, 0)
    assert stores.fake_accounts.meters["88888.1"].retired_on is None
    assert import_file(_sample("meters"), stores=stores, now=NOW).counts.changed == 0


def test_import_file_does_not_retire_a_meter_whose_row_was_refused() -> None:
    # Given the sample loaded
    stores = _loaded()
    # When 88888.1's row comes with a bad date
    result = import_file(_meters_with("88888.1", next_verification="2028-02-30"), stores=stores, now=NOW)
    # Then that row is refused, and the meter is not retired for it
    assert [(r.line, r.code) for r in result.refused] == [(6, "bad_date")]
    assert result.counts.retired == 0
    assert stores.fake_accounts.meters["88888.1"].retired_on is None


def test_import_file_holds_back_retiring_most_of_the_city() -> None:
    # Given more live meters than retirements are always allowed for
    stores = _loaded()
    template = stores.fake_accounts.meters["77777.3"]
    for n in range(RETIRE_ALWAYS + 1):
        stores.accounts.put_meter(replace(template, id=f"77777.{100 + n}"))
    # When a meters file cut short (only the sample's nine) is loaded
    result = import_file(_sample("meters"), stores=stores, now=NOW)
    # Then nothing is retired and the result says how many were held back
    assert (result.counts.retired, result.retire_held_back) == (0, RETIRE_ALWAYS + 1)
    # unless the operator says so
    forced = import_file(_sample("meters"), stores=stores, now=NOW, allow_mass_retire=True)
    assert forced.counts.retired == RETIRE_ALWAYS + 1


def test_import_file_refuses_meters_of_unknown_organizations_and_accounts() -> None:
    # Given only the organizations and accounts of the sample
    stores = FakeStores()
    import_file(_sample("organizations"), stores=stores, now=NOW)
    import_file(_sample("accounts"), stores=stores, now=NOW)
    header = ",".join(COLUMNS[FileKind.METERS])
    data = (
        f"{header}\n"
        "77777.1,77777,electricity,electricity,kWh,,,6,,,,\n"
        "77777.2,77777,gasco,gas,m3,,,5,,,,\n"
        "99999.1,99999,water,cold_water,m3,,,5,,,,\n"
    ).encode()
    # When meters name an organization and an account nobody knows
    result = import_file(data, stores=stores, now=NOW)
    # Then those rows are refused with their lines and the good one loads
    assert [(r.line, r.code) for r in result.refused] == [(3, "unknown_organization"), (4, "unknown_account")]
    assert str(result.counts) == "1 added, 0 changed, 0 unchanged, 0 retired, 2 refused"
    assert "gasco" in result.report.decode() and "99999" in result.report.decode()


def test_import_file_malformed_file_writes_nothing() -> None:
    # Given the sample loaded
    stores = _loaded()
    before = stores.snapshot()
    # When a meters file in the wrong encoding arrives
    result = import_file(
        _sample("meters").decode().encode("cp1251", errors="replace"), stores=stores, now=NOW
    )
    # Then it is refused whole: nothing written, nothing retired, the report says why
    assert result.file_error is not None and result.file_error.code == "file_not_utf8"
    assert str(result.counts) == "0 added, 0 changed, 0 unchanged, 0 retired, 0 refused"
    assert result.report.decode().splitlines()[1].startswith("0,,file_not_utf8,")
    assert stores.fake_accounts.meters == before.fake_accounts.meters


def test_import_file_reports_progress_to_the_end() -> None:
    # Given empty stores with the catalogue and accounts
    stores = FakeStores()
    import_file(_sample("organizations"), stores=stores, now=NOW)
    import_file(_sample("accounts"), stores=stores, now=NOW)
    seen: list[tuple[str, int, int]] = []
    # When the meters are imported with a progress callback
    import_file(_sample("meters"), stores=stores, now=NOW, progress=lambda *p: seen.append(p))
    # Then every stage ends at its total
    finals = {stage: (done, total) for stage, done, total in seen}
    assert finals["meters added"] == (9, 9)
    assert all(done == total for done, total in finals.values())


def _accounts_with_debt(amount: str, debt_date: str | None = None) -> bytes:
    header = "account,src,holder,address,city,city_code,debt,recipient,iban,purpose"
    iban = "UA213223130000026007233566001"
    row = f"77777,512,Горшеньов М. Ю.,адреса,Кременчук,05366,{amount},ЄКС,{iban},оплата"
    if debt_date is None:
        return f"{header}\n{row}\n".encode()
    return f"{header},debt_date\n{row},{debt_date}\n".encode()


def test_import_dates_a_debt_by_the_file_or_by_the_day_it_was_imported() -> None:
    # Given an accounts file without debt_date, imported at 23:04 Kyiv time on 24/11/2026
    stores = FakeStores()
    import_file(_accounts_with_debt("100.00"), stores=stores, now=NOW)
    # Then the debt is as of that day in Kyiv (already the 24th there; 21:04 UTC)
    assert stores.accounts.get_account("77777").debt.as_of == date(2026, 11, 24)  # type: ignore[union-attr]
    # When the same file is imported again the next days: nothing changed, the day stays
    later = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
    again = import_file(_accounts_with_debt("100.00"), stores=stores, now=later)
    assert str(again.counts).startswith("0 added, 0 changed, 1 unchanged")
    assert stores.accounts.get_account("77777").debt.as_of == date(2026, 11, 24)  # type: ignore[union-attr]
    # When billing sends a new amount without a date: as of the day it came
    changed = import_file(_accounts_with_debt("150.00"), stores=stores, now=later)
    assert changed.counts.changed == 1
    assert stores.accounts.get_account("77777").debt.as_of == date(2026, 11, 27)  # type: ignore[union-attr]
    # When billing names the day: that day, and only a different day is a change
    dated = import_file(_accounts_with_debt("150.00", "2026-11-01"), stores=stores, now=later)
    assert dated.counts.changed == 1
    assert stores.accounts.get_account("77777").debt.as_of == date(2026, 11, 1)  # type: ignore[union-attr]
    replayed = import_file(_accounts_with_debt("150.00", "2026-11-01"), stores=stores, now=later)
    assert replayed.counts.changed == 0 and replayed.counts.unchanged == 1
