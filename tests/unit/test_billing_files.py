"""The billing centre's CSV files: formats, every kind of bad row with its line, files refused whole."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from ekc.domain.billing_files import (
    COLUMNS,
    AccountRow,
    FileKind,
    FileRefused,
    MeterRow,
    OrganizationRow,
    RowError,
    changed_fields,
    check_rule,
    iban_valid,
    meter_from_billing,
    read_file,
    report_csv,
    resealed,
)
from ekc.domain.kinds import MeterKind, Unit
from ekc.domain.months import Month
from ekc.domain.plausibility import MonthUse, UsageProfile
from ekc.domain.windows import DayOfMonth

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "import"
ORG_HEADER = ",".join(COLUMNS[FileKind.ORGANIZATIONS])
ACC_HEADER = ",".join(COLUMNS[FileKind.ACCOUNTS])
MTR_HEADER = ",".join(COLUMNS[FileKind.METERS])
IBAN = "UA213223130000026007233566001"
USAGE = UsageProfile((MonthUse(Month(2026, 10), Decimal(80)),))


def _csv(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def _codes(data: bytes) -> list[tuple[int, str]]:
    return [(r.line, r.code) for r in read_file(data).refused]


def test_read_file_sample_files_have_no_refusals() -> None:
    # Given the sample files the documentation describes
    for name, kind, count in (
        ("organizations", FileKind.ORGANIZATIONS, 4),
        ("accounts", FileKind.ACCOUNTS, 4),
        ("meters", FileKind.METERS, 9),
    ):
        # When each is read
        parsed = read_file((SAMPLE / f"{name}.csv").read_bytes())
        # Then its kind comes from its header and every row is good
        assert parsed.kind is kind
        assert parsed.refused == []
        assert len(parsed.rows) == count


def test_read_file_reads_fields_as_the_domain_needs_them() -> None:
    # Given the sample's accounts and meters
    accounts = {r.account.number: r for r in read_file((SAMPLE / "accounts.csv").read_bytes()).rows}
    meters = {r.id: r for r in read_file((SAMPLE / "meters.csv").read_bytes()).rows}
    # Then money takes a comma, an empty debt is no debt, quoted fields keep their commas
    a = accounts["100201"]
    assert isinstance(a, AccountRow) and a.account.debt is not None
    assert a.account.debt.amount == Decimal("87.40")
    assert accounts["88888"].account.debt is None  # type: ignore[union-attr]
    assert accounts["77777"].account.address == "вул. Короля і Шута, буд. 43, кв. 85"  # type: ignore[union-attr]
    # and dates come in either spelling, an unknown serial is None, previous readings are exact
    m = meters["88888.1"]
    assert isinstance(m, MeterRow)
    assert (m.next_verification, m.sealed_on) == (date(2028, 11, 8), date(2022, 11, 8))
    assert m.previous_value == Decimal("310.500") and m.previous_month == Month(2026, 10)
    water = meters["100201.2"]
    assert isinstance(water, MeterRow)
    assert water.serial is None and water.note == "ванна, під раковиною" and water.previous_value is None
    assert (water.kind, water.unit) == (MeterKind.COLD_WATER, Unit.CUBIC_METRE)


def test_read_file_header_in_any_order_with_a_bom_and_crlf() -> None:
    # Given a file a spreadsheet wrote: BOM, CRLF, columns in another order, upper case
    data = "\ufeffNAME,organization,closes_day,opens_day,opens_offset,closes_offset\r\nЕнерго,el,3,31,0,1\r\n"
    # When it is read
    parsed = read_file(data.encode())
    # Then it is an organizations file with its one row
    assert parsed.kind is FileKind.ORGANIZATIONS
    (row,) = parsed.rows
    assert isinstance(row, OrganizationRow)
    assert (row.organization.id, row.organization.rule.opens, row.organization.rule.closes) == (
        "el",
        DayOfMonth(0, 31),
        DayOfMonth(1, 3),
    )


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "file_empty"),
        (b"  \n\n", "file_empty"),
        (ORG_HEADER.encode("cp1251") + "\nel,Енерго,0,31,1,3\n".encode("cp1251"), "file_not_utf8"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "file_not_utf8"),
        (b"PK\x03\x04\x14\x00\x00\x00\x08\x00", "file_not_csv"),
        (_csv(ORG_HEADER, 'el,"Енерго,0,31,1,3'), "file_not_csv"),
        (
            _csv("organisation,name,opens_offset,opens_day,closes_offset,closes_day", "el,x,0,31,1,3"),
            "file_unknown_header",
        ),
        (_csv("meter;account;organization;kind", "1;2;3;4"), "file_unknown_header"),
        (_csv(ACC_HEADER + ",extra", "77777,512"), "file_unknown_header"),
        (_csv(ORG_HEADER + ",name", "el,x,0,31,1,3,x"), "file_unknown_header"),
    ],
    ids=[
        "empty",
        "blank",
        "cp1251",
        "png",
        "zip",
        "unclosed-quote",
        "misspelt-column",
        "semicolons",
        "extra-column",
        "column-twice",
    ],
)
def test_read_file_refuses_a_malformed_file_whole(data: bytes, code: str) -> None:
    # Given a file that is not one of the documented formats
    # When it is read
    with pytest.raises(FileRefused) as refused:
        read_file(data)
    # Then the whole file is refused with a code and a sentence that says why
    assert refused.value.code == code
    assert refused.value.message


def test_read_file_unknown_header_names_what_is_missing() -> None:
    # Given a meters file with one column misspelt
    data = _csv(MTR_HEADER.replace("sealed_on", "seal_date"), "")
    # When it is read
    with pytest.raises(FileRefused) as refused:
        read_file(data)
    # Then the reason names the closest format, the missing and the unexpected column
    assert "meters" in refused.value.message
    assert "sealed_on" in refused.value.message and "seal_date" in refused.value.message


def test_read_file_refuses_every_kind_of_bad_meter_row_with_its_line() -> None:
    # Given a meters file with one bad row of each kind, and good rows between them
    data = _csv(
        MTR_HEADER,
        "77777.1,77777,electricity,electricity,kWh,,,6,,,6116,2026-10",  # line 2: good
        "77777.2,77777,gas,gas,m3,002352,,5,,,201,2026-10",  # 3: duplicate of line 9
        "77777.3,77777,,cold_water,m3,,,5,,,,",  # 4: organization missing
        "7777x.1,7777x,water,cold_water,m3,,,5,,,,",  # 5: account not a number
        "77777.5,77777,water,steam,m3,,,5,,,,",  # 6: unknown kind
        "77777.6,77777,water,cold_water,kWh,,,5,,,,",  # 7: unit of another kind
        "77777.7,77777,water,cold_water,m3,,,5,31.02.2027,,,",  # 8: no such date
        "77777.2,77777,gas,gas,m3,002352,,5,,,201,2026-10",  # 9: duplicate of line 3
        "77777.8,77777,water,cold_water,m3,,,5,,,12.3456,2026-10",  # 10: four decimals
        "77777.9,77777,water,cold_water,m3,,,3,,,1234,2026-10",  # 11: does not fit 3 digits
        "77777.10,77777,water,cold_water,m3,,,5,,,12,",  # 12: previous value without month
        "77777.11,77777,water,cold_water,m3,,,five,,,,",  # 13: digits not a number
        "88888.1,77777,water,cold_water,m3,,,5,,,,",  # 14: meter id of another account
        "77777.12,77777,water,cold_water,m3,,,5,,,,",  # 15: good
        "77777.13,77777,water,cold_water,m3,,,5,,,,,",  # 16: one field too many
        '"77777.14",77777,water,cold_water,m3,,"кухня,',  # 17-18: a note spanning two lines, then good
        'біля вікна",5,,,10,2026-13',  # 18: ...but a month 13
    )
    # When it is read
    parsed = read_file(data)
    # Then each bad row is refused on its own line with its reason, and the good ones stay
    assert _codes(data) == [
        (3, "duplicate_key"),
        (4, "missing_field"),
        (5, "bad_account"),
        (6, "unknown_kind"),
        (7, "unit_not_of_kind"),
        (8, "bad_date"),
        (9, "duplicate_key"),
        (10, "bad_number"),
        (11, "previous_not_fitting"),
        (12, "previous_without_month"),
        (13, "bad_digits"),
        (14, "bad_meter_id"),
        (16, "field_count"),
        (17, "bad_month"),
    ]
    assert [r.id for r in parsed.rows] == ["77777.1", "77777.12"]  # type: ignore[union-attr]
    # and every refused row that named a meter is still known as named (it must not be retired)
    assert {"77777.2", "77777.3", "77777.13", "77777.14"} <= parsed.named
    assert all(r.message for r in parsed.refused)


def test_read_file_refuses_every_kind_of_bad_account_row_with_its_line() -> None:
    # Given an accounts file with bad rows
    data = _csv(
        ACC_HEADER,
        f"77777,512,Горшеньов М. Ю.,адреса,Кременчук,05366,10.00,ЄКС,{IBAN},оплата",  # 2: good
        f"1234,512,Х,адреса,Кременчук,05366,10.00,ЄКС,{IBAN},оплата",  # 3: 4-digit account
        f"77778,51,Х,адреса,Кременчук,05366,10.00,ЄКС,{IBAN},оплата",  # 4: 2-digit SRC
        f"77779,512,,адреса,Кременчук,05366,10.00,ЄКС,{IBAN},оплата",  # 5: no holder
        f"77780,512,Х,адреса,Кременчук,05366,10.00,ЄКС,{IBAN[:-1]}2,оплата",  # 6: IBAN check digits
        f"77781,512,Х,адреса,Кременчук,05366,10 грн,ЄКС,{IBAN},оплата",  # 7: debt not a number
        "77782,512,Х,адреса,Кременчук,05366,10.00,ЄКС,,оплата",  # 8: debt without IBAN
        f"77783,512,Х,адреса,Кременчук,05366,,ЄКС,{IBAN},",  # 9: details without a debt
        "77784,512,Х,адреса,Кременчук,053-66,,,,",  # 10: city code
    )
    # When it is read / Then
    assert _codes(data) == [
        (3, "bad_account"),
        (4, "bad_src"),
        (5, "missing_field"),
        (6, "bad_iban"),
        (7, "bad_number"),
        (8, "debt_without_details"),
        (9, "details_without_debt"),
        (10, "bad_city_code"),
    ]


def test_read_file_refuses_window_rules_that_make_no_sense() -> None:
    # Given organizations with every kind of window rule that makes no sense
    data = _csv(
        ORG_HEADER,
        "el,Енерго,0,31,1,3",  # 2: the seed's electricity rule: good
        "a,A,0,32,1,3",  # 3: day 32
        "b,B,1,5,0,31",  # 4: closes before it opens
        "c,C,0,5,1,5",  # 5: a month long
        "d,D,0,31,1,30",  # 6: shorter than a month, yet Jan's and Feb's windows meet on Feb 28
        "e,E,2,1,2,5",  # 7: opens two months later
        "f,F,-1,25,0,2",  # 8: opens before the month
        "g,G,0,x,1,3",  # 9: not a number
        "Gas Co,G,0,31,1,5",  # 10: an id that cannot be a key
    )
    # When it is read / Then
    assert _codes(data) == [
        (3, "window_days"),
        (4, "window_order"),
        (5, "window_too_long"),
        (6, "window_overlaps"),
        (7, "window_opens_late"),
        (8, "window_opens_late"),
        (9, "bad_number"),
        (10, "bad_identifier"),
    ]


def test_check_rule_accepts_the_seeds_rules_and_a_rule_inside_one_month() -> None:
    # Given the seed's electricity and gas rules and a window inside its own month
    for opens, closes in (((0, 31), (1, 3)), ((0, 31), (1, 5)), ((0, 1), (0, 28)), ((1, 1), (1, 5))):
        # Then each is accepted
        check_rule(DayOfMonth(*opens), DayOfMonth(*closes))
    # and a 30-day window from the 31st is refused: clamped in February it meets the next one
    with pytest.raises(RowError):
        check_rule(DayOfMonth(0, 31), DayOfMonth(1, 30))


def test_iban_valid_checks_the_check_digits() -> None:
    assert iban_valid(IBAN)
    assert not iban_valid(IBAN.replace("21", "22", 1))
    assert not iban_valid("DE89370400440532013000")


def test_report_csv_lists_refusals_by_line() -> None:
    # Given a file with two bad rows
    data = _csv(MTR_HEADER, "77777.3,77777,,cold_water,m3,,,5,,,,", "x,77777,water,cold_water,m3,,,5,,,,")
    # When the report is made
    report = report_csv(read_file(data).refused).decode().splitlines()
    # Then it has a header and one line per refusal, with line, key, code and reason
    assert report[0] == "line,key,code,reason"
    assert report[1].startswith("2,77777.3,missing_field,organization is empty")
    assert report[2].startswith("3,x,bad_meter_id,")


def test_meter_from_billing_keeps_what_the_service_owns() -> None:
    # Given a stored meter with a reading, a bot and a usage profile, and billing's row with new details
    from dataclasses import replace
    from datetime import UTC, datetime

    from ekc.domain.identity import Origin
    from ekc.domain.model import Submission

    row = read_file((SAMPLE / "meters.csv").read_bytes()).rows[0]
    assert isinstance(row, MeterRow)
    reading = Submission(
        row.id, Month(2026, 11), Decimal("6200"), datetime(2026, 11, 30, tzinfo=UTC), Origin.bot()
    )
    stored = replace(
        meter_from_billing(row, None),
        current=reading,
        previous_value=Decimal("6100"),
        bot_enabled=True,
        bot_amount=Decimal("90"),
        usage=USAGE,
    )
    changed_row = replace(row, note="нове", previous_value=Decimal(1), sealed_on=date(2021, 3, 15))
    # When billing's row is applied
    wanted = meter_from_billing(changed_row, stored)
    # Then only billing's fields change: the reading, previous reading, bot and usage stay
    assert changed_fields(stored, wanted) == ("note",)
    assert (wanted.current, wanted.previous_value, wanted.bot_enabled, wanted.usage) == (
        reading,
        Decimal("6100"),
        True,
        USAGE,
    )
    # And a later seal date switches the bot off at the next epoch, keeping its amount
    later = meter_from_billing(replace(row, sealed_on=date(2026, 11, 20)), stored)
    assert (later.seal_epoch, later.bot_enabled, later.bot_amount) == (1, False, Decimal("90"))


def test_resealed_only_for_a_later_known_date() -> None:
    assert resealed(date(2021, 1, 1), date(2026, 1, 1))
    assert not resealed(None, date(2026, 1, 1))  # first known: recorded, bot untouched
    assert not resealed(date(2021, 1, 1), date(2020, 1, 1))  # a correction
    assert not resealed(date(2021, 1, 1), None)
    assert not resealed(date(2021, 1, 1), date(2021, 1, 1))


def test_read_file_accounts_take_an_optional_debt_date() -> None:
    # Given an accounts file with the optional debt_date column, in either date spelling
    header = f"{ACC_HEADER},debt_date"
    data = _csv(
        header,
        f"77777,512,Х,адреса,Кременчук,05366,10.00,ЄКС,{IBAN},оплата,2026-11-01",  # 2: ISO
        f"77778,512,Х,адреса,Кременчук,05366,10.00,ЄКС,{IBAN},оплата,01.11.2026",  # 3: as documents write
        f"77779,512,Х,адреса,Кременчук,05366,10.00,ЄКС,{IBAN},оплата,",  # 4: empty: the import's day
        f"77780,512,Х,адреса,Кременчук,05366,10.00,ЄКС,{IBAN},оплата,1 листопада",  # 5: not a date
        "77781,512,Х,адреса,Кременчук,05366,,,,,2026-11-01",  # 6: a date without a debt
    )
    # When it is read
    parsed = read_file(data)
    # Then it is an accounts file, the dates are read, and the bad rows are refused with their reason
    assert parsed.kind is FileKind.ACCOUNTS
    days = {r.account.number: r.account.debt.as_of for r in parsed.rows if r.account.debt}  # type: ignore[union-attr]
    assert days == {"77777": date(2026, 11, 1), "77778": date(2026, 11, 1), "77779": None}
    assert _codes(data) == [(5, "bad_date"), (6, "details_without_debt")]
    # And a header without the column is still an accounts file; an unknown column is still refused
    assert read_file(_csv(ACC_HEADER)).kind is FileKind.ACCOUNTS
    with pytest.raises(FileRefused) as refused:
        read_file(_csv(f"{ACC_HEADER},debt_day"))
    assert refused.value.params["unexpected"] == "debt_day"
