"""The billing centre's CSV files: their formats, and each row checked with its line number and reason.

Pure: bytes in, rows and refusals out. Three kinds of file, told apart by their header row
(docs/billing-import.md is the format as the billing centre's IT reads it). A file that is not UTF-8,
not CSV, or whose header is not one of the three is refused whole (`FileRefused`) before anything
is written; a bad row is refused alone (`Refusal`) and the good rows still load.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from enum import StrEnum

from ekc.domain.kinds import KINDS, MeterKind, Unit
from ekc.domain.model import Account, Debt, Meter, Organization
from ekc.domain.months import Month
from ekc.domain.values import format_value, parse_value
from ekc.domain.windows import DayOfMonth, WindowRule
from ekc.exceptions import InvalidRequest, InvalidValue


class FileKind(StrEnum):
    """What a file holds; its header row says which."""

    ORGANIZATIONS = "organizations"
    ACCOUNTS = "accounts"
    METERS = "meters"


# The header of each kind, in the order the documentation lists the columns (any order is accepted).
COLUMNS: dict[FileKind, tuple[str, ...]] = {
    FileKind.ORGANIZATIONS: (
        "organization",
        "name",
        "opens_offset",
        "opens_day",
        "closes_offset",
        "closes_day",
    ),
    FileKind.ACCOUNTS: (
        "account",
        "src",
        "holder",
        "address",
        "city",
        "city_code",
        "debt",
        "recipient",
        "iban",
        "purpose",
    ),
    FileKind.METERS: (
        "meter",
        "account",
        "organization",
        "kind",
        "unit",
        "serial",
        "note",
        "digits",
        "next_verification",
        "sealed_on",
        "previous_value",
        "previous_month",
    ),
}
# Columns a file may leave out (older exports of billing): an absent one reads as empty.
OPTIONAL_COLUMNS: dict[FileKind, tuple[str, ...]] = {FileKind.ACCOUNTS: ("debt_date",)}
KEY_COLUMN = {FileKind.ORGANIZATIONS: "organization", FileKind.ACCOUNTS: "account", FileKind.METERS: "meter"}

# Why a row is refused: code -> the sentence of the report (English: the billing centre's IT reads it).
REASONS: dict[str, str] = {
    "missing_field": "{column} is empty",
    "field_count": "expected {expected} fields, found {found}",
    "duplicate_key": "{column} {key} also appears on line {lines}: none of them is loaded",
    "field_too_long": "{column} is longer than {limit} characters",
    "bad_number": "{column} is not a valid number: {value!r}",
    "bad_account": "account must be 5 or 6 digits (account + SRC are 8 or 9 digits together): {value!r}",
    "bad_src": "src must be 3 digits: {value!r}",
    "bad_city_code": "city_code must be digits: {value!r}",
    "bad_iban": "iban is not a valid Ukrainian IBAN (UA + 27 characters, check digits): {value!r}",
    "debt_without_details": "debt is given but {column} is empty",
    "details_without_debt": "{column} is given but debt is empty",
    "bad_date": "{column} is not a date (YYYY-MM-DD or DD.MM.YYYY): {value!r}",
    "bad_month": "{column} is not a month (YYYY-MM): {value!r}",
    "bad_identifier": "{column} must be 1-40 characters of a-z, 0-9, '_' or '-': {value!r}",
    "bad_meter_id": "meter must be the account, a dot and 1-3 digits (e.g. 77777.3): {value!r}",
    "unknown_kind": "kind must be one of {choices}: {value!r}",
    "unknown_unit": "unit must be one of {choices}: {value!r}",
    "unit_not_of_kind": "unit {value} is not the unit of {kind} ({expected})",
    "bad_digits": "digits must be a whole number from 1 to 12: {value!r}",
    "previous_not_fitting": "previous_value {value} has more integer digits than the dial's {digits}",
    "previous_without_month": "previous_value is given but previous_month is empty",
    "month_without_previous": "previous_month is given but previous_value is empty",
    "window_days": "window days must be 1..31",
    "window_order": "the window closes before it opens",
    "window_too_long": "a window of a month or longer would overlap the next month's",
    "window_overlaps": "the windows of {first} and {second} overlap "
    "(a day past a month's end counts as its last day)",
    "window_opens_late": "opens_offset must be 0 or 1: readings for a month open in it or in the next one",
    "unknown_organization": "organization {value!r} is not in the catalogue or the organizations file",
    "unknown_account": "account {value!r} is not in the table or the accounts file",
}

# File-level refusals (the whole file is refused, nothing is written).
FILE_REASONS: dict[str, str] = {
    "file_empty": "the file is empty",
    "file_not_utf8": "the file is not UTF-8 text (byte {position}: {detail})",
    "file_not_csv": "the file is not CSV: {detail}",
    "file_unknown_header": "the header row is not one of the documented formats; closest is {closest}: "
    "missing {missing}, unexpected {unexpected}",
}

MAX_FIELD = 500
_IDENTIFIER = re.compile(r"^[a-z0-9_-]{1,40}$")
_ACCOUNT = re.compile(r"^[0-9]{5,6}$")
_SRC = re.compile(r"^[0-9]{3}$")
_DIGITS = re.compile(r"^[0-9]{1,10}$")
_METER_NUMBER = re.compile(r"^[0-9]{1,3}$")
_MONTH = re.compile(r"^([0-9]{4})-([0-9]{2})$")
_ISO_DATE = re.compile(r"^([0-9]{4})-([0-9]{2})-([0-9]{2})$")
_UA_DATE = re.compile(r"^([0-9]{2})\.([0-9]{2})\.([0-9]{4})$")
_MONEY = re.compile(r"^-?[0-9]{1,12}(?:[.,][0-9]{1,2})?$")
_IBAN = re.compile(r"^UA[0-9]{2}[0-9A-Z]{25}$")


class FileRefused(InvalidRequest):
    """The file as a whole is not one of the documented formats: nothing of it is written."""

    code = "file_not_csv"

    @property
    def message(self) -> str:
        """The reason, as the report says it."""
        return FILE_REASONS[self.code].format(**self.params)


@dataclass(frozen=True, slots=True)
class Refusal:
    """One refused row: its line (the first physical line of the record), its key and the reason."""

    line: int
    key: str
    code: str
    params: dict[str, object] = field(default_factory=dict)

    @property
    def message(self) -> str:
        """The reason in a sentence."""
        return REASONS[self.code].format(**self.params)


class RowError(Exception):
    """A row check failed (internal: becomes a Refusal)."""

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


@dataclass(frozen=True, slots=True)
class MeterRow:
    """A meter as billing describes it: only the fields billing owns."""

    line: int
    id: str
    account: str
    organization_id: str
    kind: MeterKind
    unit: Unit
    serial: str | None
    note: str
    digits: int | None
    next_verification: date | None
    sealed_on: date | None
    previous_value: Decimal | None
    previous_month: Month | None


@dataclass(frozen=True, slots=True)
class OrganizationRow:
    """An organization and its window rule, from its line."""

    line: int
    organization: Organization


@dataclass(frozen=True, slots=True)
class AccountRow:
    """An account with its debt, from its line."""

    line: int
    account: Account


Row = OrganizationRow | AccountRow | MeterRow


@dataclass(slots=True)
class ParsedFile:
    """A file read: its kind, the good rows, the refused ones, and every key named (good or not)."""

    kind: FileKind
    rows: list[Row]
    refused: list[Refusal]
    # Keys of every row that named one, refused or not: a meter whose row is malformed this month is
    # still in billing's list and must not be retired for it.
    named: set[str]
    lines: int


# ---- reading a file ---------------------------------------------------------------------------------


def read_file(data: bytes) -> ParsedFile:
    """Check the whole file's format, then every row; FileRefused if the file itself is wrong."""
    text = _decode(data)
    records = list(_records(text))
    if not records:
        raise FileRefused("file_empty")
    _, header = records[0]
    kind = _kind_of(header)
    columns = [name.strip().lower() for name in header]
    parse_row = _PARSERS[kind]
    rows: list[Row] = []
    refused: list[Refusal] = []
    named: set[str] = set()
    key_column = KEY_COLUMN[kind]
    body = [(line, values) for line, values in records[1:] if any(v.strip() for v in values)]
    # A key on two rows: which one billing meant cannot be known, so every one of them is refused.
    lines_of: dict[str, list[int]] = {}
    key_index = columns.index(key_column)
    for line, values in body:
        key = values[key_index].strip() if len(values) > key_index else ""
        if key:
            lines_of.setdefault(key, []).append(line)
    for line, values in body:  # blank lines are allowed anywhere
        raw = dict(zip(columns, (v.strip() for v in values), strict=False))
        key = raw.get(key_column, "")
        if key:
            named.add(key)
        if len(values) != len(columns):
            refused.append(
                Refusal(line, key, "field_count", {"expected": len(columns), "found": len(values)})
            )
            continue
        if key and len(lines_of[key]) > 1:
            others = ", ".join(str(n) for n in lines_of[key] if n != line)
            refused.append(
                Refusal(line, key, "duplicate_key", {"column": key_column, "key": key, "lines": others})
            )
            continue
        try:
            rows.append(parse_row(line, raw))
        except RowError as exc:
            refused.append(Refusal(line, key, exc.code, exc.params))
    return ParsedFile(kind, rows, refused, named, records[-1][0])


def _decode(data: bytes) -> str:
    if not data.strip():
        raise FileRefused("file_empty")
    try:
        text = data.decode("utf-8-sig")  # a BOM, as spreadsheet programs write, is allowed
    except UnicodeDecodeError as exc:
        raise FileRefused("file_not_utf8", position=exc.start, detail=exc.reason) from exc
    if "\x00" in text:
        raise FileRefused("file_not_csv", detail="it contains NUL characters (a binary file?)")
    return text


def _records(text: str) -> Iterator[tuple[int, list[str]]]:
    """(first physical line, fields) of each record; quoted fields may span lines."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    start = 1
    try:
        for values in reader:
            yield start, values
            start = reader.line_num + 1
    except csv.Error as exc:
        raise FileRefused("file_not_csv", detail=f"line {reader.line_num}: {exc}") from exc


def _kind_of(header: list[str]) -> FileKind:
    names = [name.strip().lower() for name in header]
    for kind, columns in COLUMNS.items():
        optional = OPTIONAL_COLUMNS.get(kind, ())
        extra = [n for n in names if n not in columns]
        if len(set(names)) == len(names) and set(columns) <= set(names) and set(extra) <= set(optional):
            return kind
    # Say what is closest, so a misspelt column is easy to find.
    closest = max(COLUMNS, key=lambda k: len(set(COLUMNS[k]) & set(names)))
    allowed = (*COLUMNS[closest], *OPTIONAL_COLUMNS.get(closest, ()))
    missing = [c for c in COLUMNS[closest] if c not in names]
    unexpected = [n for n in names if n not in allowed]
    if len(set(names)) != len(names):
        unexpected += sorted({n for n in names if names.count(n) > 1})
    raise FileRefused(
        "file_unknown_header",
        closest=str(closest),
        missing=", ".join(missing) or "nothing",
        unexpected=", ".join(unexpected) or "nothing (a column appears twice?)",
    )


# ---- fields -----------------------------------------------------------------------------------------


def _required(raw: dict[str, str], column: str) -> str:
    value = raw[column]
    if not value:
        raise RowError("missing_field", column=column)
    if len(value) > MAX_FIELD:
        raise RowError("field_too_long", column=column, limit=MAX_FIELD)
    return value


def _optional(raw: dict[str, str], column: str) -> str | None:
    return raw[column] or None


def _int(raw: dict[str, str], column: str) -> int:
    value = _required(raw, column)
    if not re.fullmatch(r"-?[0-9]{1,4}", value):
        raise RowError("bad_number", column=column, value=value)
    return int(value)


def parse_date(text: str) -> date:
    """2027-11-08 or 08.11.2027 (the way Ukrainian documents write it); ValueError otherwise."""
    iso = _ISO_DATE.match(text)
    if iso:
        return date(int(iso[1]), int(iso[2]), int(iso[3]))
    ua = _UA_DATE.match(text)
    if ua:
        return date(int(ua[3]), int(ua[2]), int(ua[1]))
    raise ValueError(text)


def _date(raw: dict[str, str], column: str) -> date | None:
    value = _optional(raw, column)
    if value is None:
        return None
    try:
        return parse_date(value)
    except ValueError as exc:
        raise RowError("bad_date", column=column, value=value) from exc


def _month(raw: dict[str, str], column: str) -> Month | None:
    value = _optional(raw, column)
    if value is None:
        return None
    match = _MONTH.match(value)
    if not match or not 1 <= int(match[2]) <= 12:
        raise RowError("bad_month", column=column, value=value)
    return Month(int(match[1]), int(match[2]))


def iban_valid(iban: str) -> bool:
    """A Ukrainian IBAN with correct ISO 13616 check digits."""
    if not _IBAN.match(iban):
        return False
    moved = iban[4:] + iban[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


# ---- window rules -----------------------------------------------------------------------------------

# Four years from a leap year: every month length and every February the rule will meet.
_CHECK_FROM, _CHECK_MONTHS = Month(2024, 1), 48


def check_rule(opens: DayOfMonth, closes: DayOfMonth) -> WindowRule:
    """A window rule that makes sense, or RowError naming what does not: days 1..31, opens in month M or
    M+1, closes after it opens, shorter than a month, and never overlapping the next month's window once
    short months clamp it. (WindowRule refuses the same; here each reason gets its own code.)"""
    if not (1 <= opens.day <= 31 and 1 <= closes.day <= 31):
        raise RowError("window_days")
    if opens.month_offset not in (0, 1):
        raise RowError("window_opens_late")
    if (closes.month_offset, closes.day) < (opens.month_offset, opens.day):
        raise RowError("window_order")
    if (closes.month_offset, closes.day) >= (opens.month_offset + 1, opens.day):
        raise RowError("window_too_long")
    # e.g. day 31 to day 30 of the next month: in February both clamp to the 28th, so January's window
    # still runs when February's opens.
    month = _CHECK_FROM
    for _ in range(_CHECK_MONTHS):
        if closes.date_in(month) >= opens.date_in(month.plus(1)):
            raise RowError("window_overlaps", first=month.label, second=month.plus(1).label)
        month = month.plus(1)
    try:
        return WindowRule(opens, closes)
    except ValueError as exc:  # a rule the domain refuses for a reason not named above
        raise RowError("window_overlaps", first="some month", second="the next") from exc


# ---- rows of each kind ------------------------------------------------------------------------------


def _organization(line: int, raw: dict[str, str]) -> OrganizationRow:
    org_id = _required(raw, "organization")
    if not _IDENTIFIER.match(org_id):
        raise RowError("bad_identifier", column="organization", value=org_id)
    name = _required(raw, "name")
    opens = DayOfMonth(_int(raw, "opens_offset"), _int(raw, "opens_day"))
    closes = DayOfMonth(_int(raw, "closes_offset"), _int(raw, "closes_day"))
    return OrganizationRow(line, Organization(org_id, name, check_rule(opens, closes)))


def _account(line: int, raw: dict[str, str]) -> AccountRow:
    number = _required(raw, "account")
    if not _ACCOUNT.match(number):
        raise RowError("bad_account", value=number)
    src = _required(raw, "src")
    if not _SRC.match(src):
        raise RowError("bad_src", value=src)
    holder, address, city = _required(raw, "holder"), _required(raw, "address"), _required(raw, "city")
    city_code = _required(raw, "city_code")
    if not _DIGITS.match(city_code):
        raise RowError("bad_city_code", value=city_code)
    details = ("recipient", "iban", "purpose", "debt_date")
    raw = {"debt_date": "", **raw}  # an optional column the file may not have
    debt = None
    if raw["debt"]:
        if not _MONEY.match(raw["debt"]):
            raise RowError("bad_number", column="debt", value=raw["debt"])
        for column in details[:3]:
            if not raw[column]:
                raise RowError("debt_without_details", column=column)
        # Empty: the import fills in its own day (`billing_import`), or keeps the stored one.
        as_of = _date(raw, "debt_date")
        iban = raw["iban"].replace(" ", "").upper()
        if not iban_valid(iban):
            raise RowError("bad_iban", value=raw["iban"])
        amount = Decimal(raw["debt"].replace(",", ".")).quantize(Decimal("0.01"))
        debt = Debt(amount, raw["recipient"], iban, raw["purpose"], as_of)
    else:
        for column in details:
            if raw[column]:
                raise RowError("details_without_debt", column=column)
    return AccountRow(line, Account(number, src, holder, address, city, city_code, debt))


def _meter(line: int, raw: dict[str, str]) -> MeterRow:
    account = _required(raw, "account")
    if not _ACCOUNT.match(account):
        raise RowError("bad_account", value=account)
    meter_id = _required(raw, "meter")
    prefix = account + "."
    if not (meter_id.startswith(prefix) and _METER_NUMBER.match(meter_id[len(prefix) :])):
        raise RowError("bad_meter_id", value=meter_id)
    org_id = _required(raw, "organization")
    if not _IDENTIFIER.match(org_id):
        raise RowError("bad_identifier", column="organization", value=org_id)
    kind_text = _required(raw, "kind")
    try:
        kind = MeterKind(kind_text)
    except ValueError as exc:
        raise RowError("unknown_kind", value=kind_text, choices=", ".join(MeterKind)) from exc
    unit_text = _required(raw, "unit")
    try:
        unit = Unit(unit_text)
    except ValueError as exc:
        raise RowError("unknown_unit", value=unit_text, choices=", ".join(Unit)) from exc
    if KINDS[kind].unit is not unit:
        raise RowError("unit_not_of_kind", value=unit_text, kind=str(kind), expected=str(KINDS[kind].unit))
    digits = None
    if raw["digits"]:
        if not re.fullmatch(r"[0-9]{1,2}", raw["digits"]) or not 1 <= int(raw["digits"]) <= 12:
            raise RowError("bad_digits", value=raw["digits"])
        digits = int(raw["digits"])
    previous_value = None
    if raw["previous_value"]:
        try:
            previous_value = parse_value(raw["previous_value"])
        except InvalidValue as exc:
            raise RowError("bad_number", column="previous_value", value=raw["previous_value"]) from exc
        if digits is not None and len(str(int(previous_value)).lstrip("0")) > digits:
            raise RowError("previous_not_fitting", value=format_value(previous_value), digits=digits)
    previous_month = _month(raw, "previous_month")
    if previous_value is not None and previous_month is None:
        raise RowError("previous_without_month")
    if previous_month is not None and previous_value is None:
        raise RowError("month_without_previous")
    return MeterRow(
        line=line,
        id=meter_id,
        account=account,
        organization_id=org_id,
        kind=kind,
        unit=unit,
        serial=_optional(raw, "serial"),
        note=raw["note"],
        digits=digits,
        next_verification=_date(raw, "next_verification"),
        sealed_on=_date(raw, "sealed_on"),
        previous_value=previous_value,
        previous_month=previous_month,
    )


_PARSERS = {
    FileKind.ORGANIZATIONS: _organization,
    FileKind.ACCOUNTS: _account,
    FileKind.METERS: _meter,
}


# ---- what billing owns of a meter -------------------------------------------------------------------

# Written by every import. Everything else of a meter (its readings `current`, bot switch and amount,
# usage profile, the people linked to its account) belongs to the service and no import touches it.
BILLING_FIELDS = (
    "organization_id",
    "kind",
    "unit",
    "digits",
    "serial",
    "note",
    "next_verification",
    "sealed_on",
)
# Billing's previous reading, taken only while the service has no reading of the meter yet: once a
# resident (or a bot) handed one in, the service's own history is newer than billing's.
PREVIOUS_FIELDS = ("previous_value", "previous_month")


def resealed(stored: date | None, new: date | None) -> bool:
    """A later seal/verification date than the one known: the meter was re-sealed or verified.

    An unknown date becoming known (the first import) and an earlier date (a correction) are not.
    """
    return stored is not None and new is not None and new > stored


def meter_from_billing(row: MeterRow, stored: Meter | None) -> Meter:
    """The meter as it should be after this row: billing's fields from the row, the service's kept."""
    billing = {
        "organization_id": row.organization_id,
        "kind": row.kind,
        "unit": row.unit,
        "digits": row.digits,
        "serial": row.serial,
        "note": row.note,
        "next_verification": row.next_verification,
        "sealed_on": row.sealed_on,
    }
    if stored is None:
        return Meter(
            id=row.id,
            account=row.account,
            previous_value=row.previous_value,
            previous_month=row.previous_month,
            **billing,
        )
    wanted = replace(stored, retired_on=None, **billing)
    if stored.current is None:
        wanted = replace(wanted, previous_value=row.previous_value, previous_month=row.previous_month)
    if resealed(stored.sealed_on, row.sealed_on):
        # The core's rule: a verification or re-sealing switches the bot off (its amount is kept).
        wanted = replace(wanted, seal_epoch=stored.seal_epoch + 1, bot_enabled=False)
        if row.previous_value is not None and row.previous_month is not None:
            # Billing's reading taken at the re-sealing is the (new) dial's opening value: the next
            # reading is compared with it, not with the old dial's (`Meter.previous`; the newer wins).
            wanted = replace(wanted, opening_value=row.previous_value, opening_month=row.previous_month)
    return wanted


def changed_fields(stored: Meter, wanted: Meter) -> tuple[str, ...]:
    """The fields an import would change, in a fixed order (empty: the meter is unchanged)."""
    names = (
        *BILLING_FIELDS,
        *PREVIOUS_FIELDS,
        "seal_epoch",
        "bot_enabled",
        "retired_on",
        "opening_value",
        "opening_month",
    )
    return tuple(n for n in names if getattr(stored, n) != getattr(wanted, n))


def account_changed(stored: Account | None, new: Account) -> bool:
    """Whether an account row differs from what is stored (the account item is all billing's)."""
    return stored != new


def with_debt_date(stored: Account | None, new: Account, today: date) -> Account:
    """The row's account with its debt dated: the file's `debt_date`; else the stored day when the debt
    is the same as stored (the same file imported again changes nothing); else today (Kyiv)."""
    debt = new.debt
    if debt is None or debt.as_of is not None:
        return new
    before = stored.debt if stored is not None else None
    if before is not None and before.as_of is not None and replace(before, as_of=None) == debt:
        return replace(new, debt=before)
    return replace(new, debt=replace(debt, as_of=today))


def listing_changed(stored: Account, new: Account) -> bool:
    """Whether what a person's list of addresses shows (holder, address, city) changed."""
    fields = ("holder", "address", "city", "city_code")
    return any(getattr(stored, f) != getattr(new, f) for f in fields)


# ---- the report -------------------------------------------------------------------------------------

REPORT_HEADER = ("line", "key", "code", "reason")


def report_csv(refused: list[Refusal], file_error: FileRefused | None = None) -> bytes:
    """The report beside the input: one line per refused row (or the one reason the file was refused)."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(REPORT_HEADER)
    if file_error is not None:
        writer.writerow((0, "", file_error.code, file_error.message))
    for r in sorted(refused, key=lambda r: r.line):
        writer.writerow((r.line, r.key, r.code, r.message))
    return out.getvalue().encode("utf-8")
