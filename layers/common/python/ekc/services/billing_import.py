"""The billing centre's monthly files into the table: an upsert that never loses what residents did.

One file at a time, its kind told by its header (organizations, accounts, meters: load them in that
order, since meters name both). Loading the same file twice changes nothing. Billing owns the account
item and a meter's descriptive fields (`billing_files.BILLING_FIELDS`); the service owns readings,
bots, usage profile and links, and no import writes them. Requests: BatchGetItem for what is stored,
BatchWriteItem for what is new, one conditional UpdateItem per changed meter, all in parallel.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import TypeVar

from ekc import clock
from ekc.domain.billing_files import (
    AccountRow,
    FileKind,
    FileRefused,
    MeterRow,
    OrganizationRow,
    ParsedFile,
    Refusal,
    account_changed,
    changed_fields,
    listing_changed,
    meter_from_billing,
    read_file,
    report_csv,
    with_debt_date,
)
from ekc.domain.model import Account, Meter, Organization
from ekc.domain.notices import Notice, NoticeCode
from ekc.domain.windows import KYIV
from ekc.exceptions import StorageUnavailable
from ekc.observability import logger
from ekc.services import notices
from ekc.storage import get_stores
from ekc.storage.keys import ORG_SHARDS
from ekc.storage.ports import Files, MeterKey, Stores

# Parallel requests: DynamoDB answers each in a few milliseconds, so the import waits on the network.
WORKERS = 16
READ_CHUNK = 100  # keys per task: one BatchGetItem
WRITE_CHUNK = 25  # items per task: one BatchWriteItem
MAX_ATTEMPTS = 3
# A meters file missing more than this share of the live meters (and more than RETIRE_ALWAYS of them)
# is more likely cut short than a city losing its meters: the retirements are held back and reported.
RETIRE_MAX_SHARE = 0.10
RETIRE_ALWAYS = 100

Progress = Callable[[str, int, int], None]  # (stage, done, total)
T = TypeVar("T")
R = TypeVar("R")


@dataclass(slots=True)
class ImportCounts:
    """What an import did, row by row."""

    added: int = 0
    changed: int = 0
    unchanged: int = 0
    retired: int = 0
    refused: int = 0
    resealed: int = 0  # of the changed meters: a later seal date switched their bot off
    notified: int = 0  # people told (bot off, meter retired)

    def __str__(self) -> str:
        return (
            f"{self.added} added, {self.changed} changed, {self.unchanged} unchanged, "
            f"{self.retired} retired, {self.refused} refused"
        )


@dataclass(slots=True)
class ImportResult:
    """The outcome of one file: its kind, counts, refused rows (or why the whole file was), the report."""

    kind: FileKind | None
    counts: ImportCounts
    refused: list[Refusal] = field(default_factory=list)
    file_error: FileRefused | None = None
    # Meters missing from the file that were not retired because there were too many (see RETIRE_MAX_SHARE).
    retire_held_back: int = 0

    @property
    def report(self) -> bytes:
        """The report file's bytes: every refused row with its line and reason."""
        return report_csv(self.refused, self.file_error)


def import_file(
    data: bytes,
    *,
    stores: Stores | None = None,
    now: datetime | None = None,
    progress: Progress | None = None,
    allow_mass_retire: bool = False,
    workers: int = WORKERS,
) -> ImportResult:
    """Load one billing file; a file not in a documented format is refused whole before any write."""
    stores = stores or get_stores()
    now = now or clock.now()
    try:
        parsed = read_file(data)
    except FileRefused as exc:
        logger.warning("billing file refused", extra={"code": exc.code})
        return ImportResult(None, ImportCounts(), file_error=exc)
    run = _Run(stores, now, progress or (lambda *_: None), workers)
    if parsed.kind is FileKind.ORGANIZATIONS:
        result = run.organizations(parsed)
    elif parsed.kind is FileKind.ACCOUNTS:
        result = run.accounts(parsed)
    else:
        result = run.meters(parsed, allow_mass_retire)
    result.counts.refused = len(result.refused)
    logger.info(
        "billing file imported",
        extra={"kind": str(result.kind), **{k: getattr(result.counts, k) for k in ImportCounts.__slots__}},
    )
    return result


IMPORTS_PREFIX = "imports/"
REPORT_SUFFIX = ".report.csv"


def report_key(key: str) -> str:
    """Where the report of an input goes: `imports/<name>.csv` -> `imports/<name>.report.csv`."""
    return key.removesuffix(".csv") + REPORT_SUFFIX


def is_input(key: str) -> bool:
    """Whether a key of the bucket is a file to import (reports, written beside, are not)."""
    return key.startswith(IMPORTS_PREFIX) and key.endswith(".csv") and not key.endswith(REPORT_SUFFIX)


def import_from_bucket(
    key: str,
    *,
    files: Files | None = None,
    stores: Stores | None = None,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> ImportResult | None:
    """Import `imports/<name>.csv` of the data bucket and write `imports/<name>.report.csv` beside it.

    None for keys that are not inputs (a report landing under `imports/` triggers the event too).
    Requests: 1 GetObject + the import + 1 PutObject.
    """
    if not is_input(key):
        return None
    if files is None:
        from ekc.storage.files import get_files

        files = get_files()
    data = files.get(key)
    if data is None:  # deleted again before we ran
        logger.warning("import file gone", extra={"key": key})
        return None
    result = import_file(data, stores=stores, now=now, progress=progress)
    metadata = {name: str(getattr(result.counts, name)) for name in ImportCounts.__slots__}
    metadata["kind"] = str(result.kind or "refused")
    metadata["retire-held-back"] = str(result.retire_held_back)
    files.put(report_key(key), result.report, "text/csv; charset=utf-8", metadata)
    return result


def _chunks(items: Sequence[T], size: int) -> list[Sequence[T]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


@dataclass
class _Run:
    stores: Stores
    now: datetime
    progress: Progress
    workers: int

    def parallel(
        self, stage: str, work: Callable[[Sequence[T]], R], items: Sequence[T], size: int = WRITE_CHUNK
    ) -> list[R]:
        """`work` on chunks of `items` in parallel threads, reporting progress; results in chunk order."""
        chunks = _chunks(items, size)
        total, done = len(items), 0
        self.progress(stage, 0, total)
        results: list[R] = []
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            for chunk, result in zip(chunks, pool.map(work, chunks), strict=True):
                results.append(result)
                done += len(chunk)
                self.progress(stage, done, total)
        return results

    # ---- organizations ----------------------------------------------------------------------------

    def organizations(self, parsed: ParsedFile) -> ImportResult:
        counts = ImportCounts()
        stored = self.stores.catalogue.organizations()
        merged: dict[str, Organization] = dict(stored)
        for row in parsed.rows:
            assert isinstance(row, OrganizationRow)
            org = row.organization
            before = stored.get(org.id)
            if before is None:
                counts.added += 1
            elif before != org:
                counts.changed += 1
            else:
                counts.unchanged += 1
            merged[org.id] = org
        if counts.added or counts.changed:
            # Organizations missing from the file stay: their meters still need their windows.
            self.stores.catalogue.put_organizations(list(merged.values()))
        self.progress("organizations", len(parsed.rows), len(parsed.rows))
        return ImportResult(parsed.kind, counts, list(parsed.refused))

    # ---- accounts ---------------------------------------------------------------------------------

    def accounts(self, parsed: ParsedFile) -> ImportResult:
        counts = ImportCounts()
        rows = [row.account for row in parsed.rows if isinstance(row, AccountRow)]
        stored = self._stored_accounts([a.number for a in rows])
        writes = []
        today = self.now.astimezone(KYIV).date()
        for row_account in rows:
            before = stored.get(row_account.number)
            account = with_debt_date(before, row_account, today)
            if not account_changed(before, account):
                counts.unchanged += 1
                continue
            if before is None:
                counts.added += 1
            else:
                counts.changed += 1
            writes.append(account)
        self.parallel("accounts written", self.stores.accounts.put_accounts, writes)
        # The cabinet's list of addresses keeps a copy of holder and address: renew it for linked people.
        relisted = [a for a in writes if a.number in stored and listing_changed(stored[a.number], a)]
        for account in relisted:
            bundle = self.stores.accounts.load_account(account.number)
            for person_id in sorted(bundle.linked_people if bundle else ()):
                self.stores.people.link(person_id, account, self.now)
        return ImportResult(parsed.kind, counts, list(parsed.refused))

    def _stored_accounts(self, numbers: list[str]) -> dict[str, Account]:
        found = self.parallel("accounts read", self.stores.accounts.get_accounts, numbers, READ_CHUNK)
        return {a.number: a for chunk in found for a in chunk}

    # ---- meters -----------------------------------------------------------------------------------

    def meters(self, parsed: ParsedFile, allow_mass_retire: bool) -> ImportResult:
        counts = ImportCounts()
        refused = list(parsed.refused)
        orgs = self.stores.catalogue.organizations()
        # The meters live before this import, listed while the rest is read and written: meters this
        # file adds are named in it anyway, so listing them afterwards would only cost time.
        with ThreadPoolExecutor(max_workers=1) as background:
            live = background.submit(self._live_keys, orgs)
            result = self._upsert_meters(parsed, orgs, counts, refused)
            held_back = self._retire(live.result(), parsed.named, counts, allow_mass_retire)
        result.retire_held_back = held_back
        return result

    def _upsert_meters(
        self, parsed: ParsedFile, orgs: dict[str, Organization], counts: ImportCounts, refused: list[Refusal]
    ) -> ImportResult:
        rows = [row for row in parsed.rows if isinstance(row, MeterRow)]
        numbers = sorted({r.account for r in rows})
        # Both reads at once: which accounts exist, and the meters as stored.
        with ThreadPoolExecutor(max_workers=1) as background:
            existing = background.submit(
                self.parallel, "accounts checked", self.stores.accounts.existing_accounts, numbers, READ_CHUNK
            )
            stored = self._stored_meters([MeterKey(r.account, r.id) for r in rows])
            known_accounts: set[str] = set().union(*existing.result())
        good: list[MeterRow] = []
        for row in rows:
            if row.organization_id not in orgs:
                params = {"value": row.organization_id}
                refused.append(Refusal(row.line, row.id, "unknown_organization", params))
            elif row.account not in known_accounts:
                refused.append(Refusal(row.line, row.id, "unknown_account", {"value": row.account}))
            else:
                good.append(row)
        new: list[Meter] = []
        updates: list[tuple[MeterRow, Meter]] = []
        for row in good:
            before = stored.get(row.id)
            if before is not None and before.account != row.account:
                refused.append(Refusal(row.line, row.id, "bad_meter_id", {"value": row.id}))
                continue
            if before is None:
                new.append(meter_from_billing(row, None))
            elif changed_fields(before, meter_from_billing(row, before)):
                updates.append((row, before))
            else:
                counts.unchanged += 1
        self.parallel("meters added", self.stores.accounts.put_meters, new)
        counts.added = len(new)
        for outcome in self.parallel("meters changed", self._update_chunk, updates):
            for changed, resealed_bot in outcome:
                counts.changed += changed
                if resealed_bot:
                    counts.resealed += 1
                    counts.notified += self._tell(resealed_bot, NoticeCode.BOT_OFF_RESEALED)
        return ImportResult(parsed.kind, counts, refused)

    def _stored_meters(self, wanted: list[MeterKey]) -> dict[str, Meter]:
        found = self.parallel("meters read", self.stores.accounts.get_meters, wanted, READ_CHUNK)
        return {m.id: m for chunk in found for m in chunk}

    def _update_chunk(self, chunk: Iterable[tuple[MeterRow, Meter]]) -> list[tuple[int, Meter | None]]:
        """Each meter's conditional update: (1 if changed, the meter if its bot was switched off)."""
        return [self._update_one(row, before) for row, before in chunk]

    def _update_one(self, row: MeterRow, before: Meter) -> tuple[int, Meter | None]:
        for _ in range(MAX_ATTEMPTS):
            wanted = meter_from_billing(row, before)
            if not changed_fields(before, wanted):
                return 0, None  # what a race brought in made the row unchanged
            if self.stores.accounts.update_meter(before, wanted):
                switched_off = before.bot_enabled and not wanted.bot_enabled
                return 1, (wanted if switched_off else None)
            # A reading, a bot switch or a re-sealing came in between our read and our write.
            again = self.stores.accounts.get_meters([MeterKey(before.account, before.id)])
            if not again:
                return 0, None
            before = again[0]
        raise StorageUnavailable()

    def _tell(self, meter: Meter, code: NoticeCode) -> int:
        params = {"serial": meter.serial or "", "kind": str(meter.kind)}
        if code is NoticeCode.BOT_OFF_RESEALED and meter.sealed_on is not None:
            params["sealed_on"] = meter.sealed_on.isoformat()
        notice = Notice(code, self.now, account=meter.account, meter_id=meter.id, params=params)
        return notices.tell_account(meter.account, notice, stores=self.stores)

    # ---- retirement -------------------------------------------------------------------------------

    def _live_keys(self, orgs: Iterable[str]) -> list[MeterKey]:
        """Every live meter of every organization: the 32 shards of each in the organizations' index."""
        shards = [(org, shard) for org in sorted(orgs) for shard in range(ORG_SHARDS)]
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            found = pool.map(lambda s: list(self.stores.accounts.meter_keys(*s, bots_only=False)), shards)
            return [key for keys in found for key in keys]

    def _retire(self, live: list[MeterKey], named: set[str], counts: ImportCounts, allow_mass: bool) -> int:
        gone = [key for key in live if key.meter_id not in named]
        if not gone:
            return 0
        if not allow_mass and len(gone) > max(RETIRE_ALWAYS, RETIRE_MAX_SHARE * len(live)):
            logger.warning("retirements held back", extra={"missing": len(gone), "live": len(live)})
            return len(gone)
        today = self.now.astimezone(KYIV).date()
        for retired in self.parallel("meters retired", lambda c: self._retire_chunk(c, today), gone):
            for meter in retired:
                counts.retired += 1
                counts.notified += self._tell(meter, NoticeCode.METER_RETIRED)
        return 0

    def _retire_chunk(self, keys: Sequence[MeterKey], today: date) -> list[Meter]:
        retired = []
        for meter in self.stores.accounts.get_meters(list(keys)):
            for _ in range(MAX_ATTEMPTS):
                if meter.retired_on is not None:
                    break
                if self.stores.accounts.update_meter(meter, replace(meter, retired_on=today)):
                    retired.append(meter)
                    break
                again = self.stores.accounts.get_meters([MeterKey(meter.account, meter.id)])
                if not again:
                    break
                meter = again[0]
        return retired
