"""The billing import end to end in moto: files dropped into the bucket, the function on its S3 event,
the table's items and the reports beside the inputs; and the same rules on a seeded demo."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest

from ekc.domain.identity import Origin, PersonCaller, SystemCaller
from ekc.domain.months import Month
from ekc.domain.notices import NoticeCode
from ekc.services import notices, readings
from ekc.services.billing_import import import_file
from ekc.storage import keys
from tests.integration.conftest import NOW, Browser, LambdaContextStub

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "import"
EVENT = json.loads((Path(__file__).resolve().parents[1] / "events" / "s3_put_import.json").read_text())
BUCKET = "readings-data-test"


def _sample(name: str) -> bytes:
    return (SAMPLE / f"{name}.csv").read_bytes()


@pytest.fixture
def bucket(table: Any) -> Any:
    """The data bucket in moto (inside the table fixture's mock)."""
    s3 = boto3.client("s3", region_name="eu-central-1")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
    return s3


def _drop(s3: Any, key: str, data: bytes, sequencer: str) -> dict[str, Any]:
    """Upload a file and invoke the function with the S3 event that upload sends."""
    from functions.billing_import import app

    s3.put_object(Bucket=BUCKET, Key=key, Body=data)
    event = copy.deepcopy(EVENT)
    record = event["Records"][0]
    record["s3"]["bucket"]["name"] = BUCKET
    record["s3"]["object"].update(key=key.replace(" ", "+"), size=len(data), sequencer=sequencer)
    return app.lambda_handler(event, LambdaContextStub())["files"][0]


def _report(s3: Any, key: str) -> tuple[list[str], dict[str, str]]:
    found = s3.get_object(Bucket=BUCKET, Key=key)
    return found["Body"].read().decode().splitlines(), found["Metadata"]


def _items(table: Any) -> list[dict[str, Any]]:
    return sorted(table.scan()["Items"], key=lambda i: (i["pk"], i["sk"]))


def test_function_imports_the_sample_dropped_into_the_bucket(bucket: Any, table: Any) -> None:
    # Given the three sample files dropped in order (one with a space in its name)
    outcomes = [
        _drop(bucket, f"imports/{name} 2026-11.csv", _sample(name), f"00{n}")
        for n, name in enumerate(("organizations", "accounts", "meters"))
    ]
    # Then each was imported in full, with an empty report beside it
    assert [(o["kind"], o["added"], o["refused"]) for o in outcomes] == [
        ("organizations", 4, 0),
        ("accounts", 4, 0),
        ("meters", 9, 0),
    ]
    lines, metadata = _report(bucket, "imports/meters 2026-11.report.csv")
    assert lines == ["line,key,code,reason"]
    assert metadata["added"] == "9" and metadata["kind"] == "meters"
    # and the items are in the table, meters in their organization's index
    meter = table.get_item(Key={"pk": "ACC#77777", "sk": "MTR#77777.3"})["Item"]
    assert (meter["serial"], meter["sealed_on"], meter["next_verification"]) == (
        "7254663",
        "2021-11-08",
        "2027-11-08",
    )
    assert meter["org_pk"] == keys.org_index_pk("water", keys.shard_of("77777.3"))
    assert "bot_pk" not in meter and "retired_on" not in meter
    account = table.get_item(Key={"pk": "ACC#100201", "sk": "ACCOUNT"})["Item"]
    assert account["debt"]["amount"] == "87.40"


def test_function_same_files_again_say_nothing_added_nothing_changed(bucket: Any, table: Any) -> None:
    # Given the sample imported once
    for n, name in enumerate(("organizations", "accounts", "meters")):
        _drop(bucket, f"imports/{name}.csv", _sample(name), f"00{n}")
    before = _items(table)
    # When the same event is delivered again, and then the same files are uploaded again
    replay = _drop(bucket, "imports/meters.csv", _sample("meters"), "002")
    again = [
        _drop(bucket, f"imports/{n}.csv", _sample(n), f"01{i}") for i, n in enumerate(("accounts", "meters"))
    ]
    # Then the replay answers as the first time (its report stays), and the new uploads change nothing
    assert replay["added"] == 9
    assert [(o["added"], o["changed"], o["unchanged"], o["retired"]) for o in again] == [
        (0, 0, 4, 0),
        (0, 0, 9, 0),
    ]
    assert _report(bucket, "imports/meters.report.csv")[1]["changed"] == "0"
    assert _items(table) == before


def test_function_refuses_bad_rows_by_line_and_loads_the_good_ones(bucket: Any, table: Any) -> None:
    # Given the catalogue and accounts, and a meters file with bad rows among good ones
    _drop(bucket, "imports/organizations.csv", _sample("organizations"), "001")
    _drop(bucket, "imports/accounts.csv", _sample("accounts"), "002")
    data = (
        b"meter,account,organization,kind,unit,serial,note,digits,next_verification,sealed_on,previous_value,"
        b"previous_month\n"
        b"77777.1,77777,electricity,electricity,kWh,,,6,,,6116,2026-10\n"
        b"77777.2,77777,gasco,gas,m3,,,5,,,,\n"
        b"77777.3,77777,water,cold_water,m3,,,5,,,12.5,\n"
        b"77777.4,77777,heat,hot_water,m3,,,5,,,,\n"
        b"77777.4,77777,heat,hot_water,m3,,,5,,,,\n"
        b"99999.1,99999,water,cold_water,m3,,,5,,,,\n"
    )
    # When it is dropped
    outcome = _drop(bucket, "imports/meters.csv", data, "003")
    # Then the report lists each bad row with its line and reason, and the good row loaded
    lines, _ = _report(bucket, "imports/meters.report.csv")
    assert [line.split(",")[:3] for line in lines[1:]] == [
        ["3", "77777.2", "unknown_organization"],
        ["4", "77777.3", "previous_without_month"],
        ["5", "77777.4", "duplicate_key"],
        ["6", "77777.4", "duplicate_key"],
        ["7", "99999.1", "unknown_account"],
    ]
    assert (outcome["added"], outcome["refused"]) == (1, 5)
    assert "Item" in table.get_item(Key={"pk": "ACC#77777", "sk": "MTR#77777.1"})


def test_function_refuses_a_malformed_file_whole_and_writes_nothing(bucket: Any, table: Any) -> None:
    # Given the sample imported
    for n, name in enumerate(("organizations", "accounts", "meters")):
        _drop(bucket, f"imports/{name}.csv", _sample(name), f"00{n}")
    before = _items(table)
    # When an empty meters file arrives (that would retire every meter), and a spreadsheet's binary file
    empty = _drop(bucket, "imports/meters-december.csv", b"", "010")
    binary = _drop(
        bucket, "imports/meters.xlsx.csv", b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00", "011"
    )
    # Then both are refused whole with their reason in the report, and the table is as it was
    assert (empty["refused_file"], binary["refused_file"]) == ("file_empty", "file_not_csv")
    lines, metadata = _report(bucket, "imports/meters.xlsx.report.csv")
    assert lines[1].startswith("0,,file_not_csv,the file is not CSV") and metadata["kind"] == "refused"
    assert _items(table) == before


def test_function_skips_reports_landing_under_imports(bucket: Any, table: Any) -> None:
    # Given a report file written under imports/ (it triggers the same event)
    outcome = _drop(bucket, "imports/meters.report.csv", b"line,key,code,reason\n", "001")
    # Then it is not imported and nothing is written beside it
    assert outcome == {"key": "imports/meters.report.csv", "skipped": True}
    assert [o["Key"] for o in bucket.list_objects_v2(Bucket=BUCKET)["Contents"]] == [
        "imports/meters.report.csv"
    ]


# ---- the rules on DynamoDB (moto), over the seeded demo ------------------------------------------------


def test_import_over_the_demo_keeps_readings_bots_and_links(demo: Any, stores: Any, table: Any) -> None:
    # Given the demo: 77777 with a year of history, its electricity bot on, the demo person linked
    history_before = stores.readings.history("77777.3").submissions
    person = stores.people.get_login("demo@example.com").person_id
    # When billing's sample (the same meters, with seal dates) is imported
    for name in ("organizations", "accounts", "meters"):
        import_file(_sample(name), stores=stores, now=NOW)
    # Then the history, the bot and the link are all still there
    assert stores.readings.history("77777.3").submissions == history_before
    electricity = table.get_item(Key={"pk": "ACC#77777", "sk": "MTR#77777.1"})["Item"]
    assert electricity["bot_enabled"] is True and electricity["bot_pk"].startswith("BOT#electricity#")
    assert [a.number for a in stores.people.linked_accounts(person)] == ["77777"]
    # and the demo's usage profile, taken from its history, is kept
    assert table.get_item(Key={"pk": "ACC#77777", "sk": "MTR#77777.3"})["Item"]["usage"]


def test_import_later_seal_date_switches_the_bot_off_and_tells_the_person(demo: Any, stores: Any) -> None:
    # Given the demo with billing's sample loaded (the electricity meter's bot is on)
    for name in ("organizations", "accounts", "meters"):
        import_file(_sample(name), stores=stores, now=NOW)
    person = stores.people.get_login("demo@example.com").person_id
    notices.take(PersonCaller(person), stores=stores)
    # When the electricity meter comes back re-sealed
    data = _sample("meters").replace(b",6,,2021-03-15,6116,2026-10", b",6,,2026-11-20,6116,2026-10")
    result = import_file(data, stores=stores, now=NOW)
    # Then its bot is off, out of the bots' index, and the person has a notice waiting
    assert (result.counts.changed, result.counts.resealed) == (1, 1)
    bots = [
        k
        for s in range(keys.ORG_SHARDS)
        for k in stores.accounts.meter_keys("electricity", s, bots_only=True)
    ]
    assert "77777.1" not in [k.meter_id for k in bots]
    (notice,) = notices.take(PersonCaller(person), stores=stores)
    assert (notice.code, notice.meter_id) == (NoticeCode.BOT_OFF_RESEALED, "77777.1")


def test_import_resealing_with_billings_reading_opens_the_new_dial(demo: Any, stores: Any) -> None:
    # Given the demo with billing's sample loaded (electricity at 6116 on the old dial)
    for name in ("organizations", "accounts", "meters"):
        import_file(_sample(name), stores=stores, now=NOW)
    # When the meter comes back replaced: a later seal date, and billing's reading of the new dial
    data = _sample("meters").replace(b",6,,2021-03-15,6116,2026-10", b",6,,2026-11-20,12,2026-10")
    result = import_file(data, stores=stores, now=NOW)
    # Then the new dial's value is the opening one: November's reading is compared with 12, not 6116
    assert (result.counts.changed, result.counts.resealed) == (1, 1)
    bundle = stores.accounts.load_account("77777")
    meter = next(m for m in bundle.meters if m.id == "77777.1")
    assert (meter.opening_value, meter.opening_month) == (Decimal(12), Month(2026, 10))
    assert meter.baseline_for(Month(2026, 11)) == (Decimal(12), Month(2026, 10))
    # And the same file again changes nothing
    assert import_file(data, stores=stores, now=NOW).counts.changed == 0


def test_import_retired_meter_keeps_its_history_and_leaves_the_export(
    demo: Any, stores: Any, web: Browser
) -> None:
    # Given the demo with billing's sample loaded, and the cold water meter's year of history
    for name in ("organizations", "accounts", "meters"):
        import_file(_sample(name), stores=stores, now=NOW)
    history = stores.readings.history("77777.3").submissions
    assert len(history) == 12
    # When billing's next meters file no longer lists it
    lines = [line for line in _sample("meters").decode().splitlines() if not line.startswith("77777.3,")]
    result = import_file(("\n".join(lines) + "\n").encode(), stores=stores, now=NOW)
    # Then it is retired: its history is kept, it leaves the organization's index the export reads
    assert result.counts.retired == 1
    assert stores.readings.history("77777.3").submissions == history
    water = [
        k.meter_id
        for s in range(keys.ORG_SHARDS)
        for k in stores.accounts.meter_keys("water", s, bots_only=False)
    ]
    assert "77777.3" not in water and "88888.1" in water
    # and the cabinet's readings page no longer offers it
    web.sign_in()
    page = web.call("GET", "/api/accounts/77777").json
    assert "77777.3" not in json.dumps(page) and "77777.1" in json.dumps(page)


def test_import_billings_previous_reading_yields_to_the_services(demo: Any, stores: Any) -> None:
    # Given the demo with billing's sample loaded, and no reading yet this month for 88888's water meter
    for name in ("organizations", "accounts", "meters"):
        import_file(_sample(name), stores=stores, now=NOW)
    # When billing sends another previous reading: it is taken
    data = _sample("meters").replace(b"310.5,2026-10", b"311.25,2026-10")
    assert import_file(data, stores=stores, now=NOW).counts.changed == 1
    assert _meter(stores, "88888", "88888.1").previous_value == Decimal("311.25")
    # When a reading is handed in (water's window for 11/2026 is open on 1 December)
    moment = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    saved = readings.save_readings(
        SystemCaller("test"),
        "88888",
        [readings.RowInput("88888.1", "315")],
        Origin.operator("test"),
        stores=stores,
        now=moment,
    )
    assert saved.results[0].status is readings.RowStatus.SAVED
    # Then billing's next previous reading is no longer taken: the service's reading is newer
    later = _sample("meters").replace(b"310.5,2026-10", b"312,2026-11")
    result = import_file(later, stores=stores, now=moment)
    assert (result.counts.changed, result.counts.unchanged) == (0, 9)
    meter = _meter(stores, "88888", "88888.1")
    assert (meter.previous_value, meter.current.value) == (Decimal("311.25"), Decimal(315))  # type: ignore[union-attr]


def _meter(stores: Any, account: str, meter_id: str) -> Any:
    return next(m for m in stores.accounts.load_account(account).meters if m.id == meter_id)
