"""The one in-memory fake of the storage ports (`ekc.storage.ports`), used by every unit test.

Its writes hold the same conditions as the DynamoDB stores; `tests/integration/test_storage_contract.py`
runs the same scenarios against both, so this copy cannot drift from the real one unnoticed.
"""

from __future__ import annotations

import copy
import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from ekc.domain.model import Account, AccountBundle, Meter, Organization, Submission
from ekc.domain.notices import Notice
from ekc.exceptions import Conflict, NotFound, StorageUnavailable
from ekc.storage import keys
from ekc.storage.ports import (
    CloseRecord,
    Composed,
    LinkedAccount,
    LoginRecord,
    MeterKey,
    ReadingWrite,
    SessionRecord,
    ShardProgress,
    Stores,
    WindowKey,
)


class FakeCatalogue:
    """Organizations in memory."""

    def __init__(self, organizations: list[Organization] | None = None) -> None:
        self.orgs = {o.id: o for o in organizations or ()}

    def organizations(self) -> dict[str, Organization]:
        """Every organization by id."""
        return dict(self.orgs)

    def put_organizations(self, organizations: list[Organization]) -> None:
        """Replace the catalogue."""
        self.orgs = {o.id: o for o in organizations}


class FakeAccounts:
    """Accounts, meters and the account side of links."""

    def __init__(self) -> None:
        self.accounts: dict[str, Account] = {}
        self.meters: dict[str, Meter] = {}  # by meter id (ids are unique across accounts)
        self.linked: dict[str, set[str]] = defaultdict(set)  # account -> person ids

    def load_account(self, number: str) -> AccountBundle | None:
        """The account with its meters and linked people, or None."""
        account = self.accounts.get(number)
        if account is None:
            return None
        meters = sorted((m for m in self.meters.values() if m.account == number), key=lambda m: m.id)
        return AccountBundle(account, meters, frozenset(self.linked[number]))

    def get_account(self, number: str) -> Account | None:
        """The account alone, or None."""
        return self.accounts.get(number)

    def put_account(self, account: Account) -> None:
        """Create or replace an account."""
        self.accounts[account.number] = account

    def put_meter(self, meter: Meter) -> None:
        """Create or replace a meter."""
        self.meters[meter.id] = meter

    def set_bot(self, meter: Meter, enabled: bool, amount: Decimal) -> Meter:
        """Switch a meter's bot; NotFound if there is no such meter."""
        stored = self.meters.get(meter.id)
        if stored is None or stored.account != meter.account:
            raise NotFound()
        self.meters[meter.id] = replace(stored, bot_enabled=enabled, bot_amount=amount)
        return self.meters[meter.id]

    def meter_keys(self, org_id: str, shard: int, *, bots_only: bool) -> Iterator[MeterKey]:
        """One shard of an organization's meters, or of those whose bot is on."""
        for meter in sorted(self.meters.values(), key=lambda m: m.id):
            if meter.organization_id != org_id or keys.shard_of(meter.id) != shard:
                continue
            if bots_only and not meter.bot_enabled:
                continue
            yield MeterKey(meter.account, meter.id)

    def get_meters(self, wanted: list[MeterKey]) -> list[Meter]:
        """Meters by key; missing ones are left out."""
        found = (self.meters.get(k.meter_id) for k in wanted)
        return [m for m, k in zip(found, wanted, strict=True) if m is not None and m.account == k.account]

    def set_seal_epoch(self, account: str, meter_id: str, epoch: int) -> Meter:
        """Record a verification or re-sealing (the bot goes off); a replay changes nothing."""
        stored = self.meters.get(meter_id)
        if stored is None or stored.account != account:
            raise NotFound()
        if stored.seal_epoch < epoch:
            self.meters[meter_id] = replace(stored, seal_epoch=epoch, bot_enabled=False)
        return self.meters[meter_id]


class FakeReadings:
    """History and the meters' current values, with DynamoDB's write conditions."""

    def __init__(self, accounts: FakeAccounts) -> None:
        self._accounts = accounts
        self.written: list[Submission] = []  # every accepted submission, in the order written
        self.transactions = 0
        # Runs just before the next transaction: another channel writing between our read and our write.
        self.before_write: Callable[[FakeReadings], None] | None = None

    def record_readings(self, writes: list[ReadingWrite]) -> list[bool]:
        """Write all or nothing; per write, True when its condition refused it (a race)."""
        if not writes:
            return []
        self.transactions += 1
        if self.before_write is not None:
            hook, self.before_write = self.before_write, None
            hook(self)
        conflicts = [not self._condition_holds(w) for w in writes]
        if not any(conflicts):
            for w in writes:
                self._accounts.meters[w.meter.id] = self._accounts.meters[w.meter.id].with_reading(
                    w.submission
                )
                self.written.append(w.submission)
        return conflicts

    def _condition_holds(self, write: ReadingWrite) -> bool:
        stored_meter = self._accounts.meters.get(write.meter.id)
        if stored_meter is None:
            return False
        stored, read, new = stored_meter.current, write.meter.current, write.submission
        if write.bot:
            no_reading = stored is None or stored.billing_month < new.billing_month
            unchanged = stored is None if read is None else (stored is not None and stored.at == read.at)
            return (
                no_reading
                and unchanged
                and stored_meter.bot_enabled
                and stored_meter.seal_epoch == write.meter.seal_epoch
            )
        if read is not None and read.billing_month == new.billing_month:
            return stored is not None and stored.billing_month == new.billing_month and stored.at <= new.at
        if read is None:
            return stored is None
        return stored is not None and (stored.billing_month, stored.at) == (read.billing_month, read.at)

    def history(self, meter_id: str, limit: int = 500) -> list[Submission]:
        """A meter's submissions, newest first."""
        mine = [s for s in self.written if s.meter_id == meter_id]
        return sorted(mine, key=lambda s: s.at, reverse=True)[:limit]

    def import_history(self, account: str, submissions: list[Submission]) -> None:
        """Load past submissions without touching the meter."""
        self.written.extend(submissions)


class FakePeople:
    """People, logins, links and sessions."""

    def __init__(self, accounts: FakeAccounts, catalogue: FakeCatalogue) -> None:
        self._accounts = accounts
        self._catalogue = catalogue
        self.logins: dict[str, LoginRecord] = {}
        self.emails: dict[str, str] = {}  # person id -> e-mail
        self.links: dict[str, dict[str, LinkedAccount]] = defaultdict(dict)  # person -> number -> row
        self.sessions: dict[str, SessionRecord] = {}
        self.pending: dict[str, list[Notice]] = defaultdict(list)
        self._notice_ids = 0

    def create_login(self, person_id: str, email: str, password_hash: str, now: datetime) -> None:
        """A person with an e-mail login; Conflict if the e-mail is taken."""
        if email in self.logins or person_id in self.emails:
            raise Conflict()
        self.logins[email] = LoginRecord(person_id, password_hash)
        self.emails[person_id] = email

    def get_login(self, email: str) -> LoginRecord | None:
        """The login of an e-mail, or None."""
        return self.logins.get(email)

    def linked_accounts(self, person_id: str) -> list[LinkedAccount]:
        """The person's addresses, by account number."""
        return [row for _, row in sorted(self.links[person_id].items())]

    def link(self, person_id: str, account: Account, now: datetime) -> None:
        """Link both sides; a replay is harmless."""
        row = LinkedAccount(account.number, account.city, account.city_code, account.holder, account.address)
        self.links[person_id][account.number] = row
        self._accounts.linked[account.number].add(person_id)

    def unlink(self, person_id: str, number: str) -> None:
        """Remove both sides; removing twice is harmless."""
        self.links[person_id].pop(number, None)
        self._accounts.linked[number].discard(person_id)

    def create_session(self, session_hash: str, record: SessionRecord) -> None:
        """Store a new session."""
        self.sessions[session_hash] = record

    def get_session(self, session_hash: str) -> SessionRecord | None:
        """A stored session, or None."""
        return self.sessions.get(session_hash)

    def session_and_organizations(
        self, session_hash: str
    ) -> tuple[SessionRecord | None, dict[str, Organization]]:
        """A session and the catalogue."""
        return self.get_session(session_hash), self._catalogue.organizations()

    def delete_session(self, session_hash: str) -> None:
        """Revoke a session."""
        self.sessions.pop(session_hash, None)

    def add_notice(self, person_ids: list[str], notice: Notice) -> None:
        """Leave the same notice for each of these people."""
        for person_id in person_ids:
            self._notice_ids += 1
            self.pending[person_id].append(replace(notice, id=f"n{self._notice_ids}"))

    def notices(self, person_id: str) -> list[Notice]:
        """The person's pending notices, oldest first."""
        return sorted(self.pending[person_id], key=lambda n: n.at)

    def clear_notices(self, person_id: str, notice_ids: list[str]) -> None:
        """Forget notices that were told."""
        self.pending[person_id] = [n for n in self.pending[person_id] if n.id not in notice_ids]


class FakeAttempts:
    """Failure counters per (key, window)."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, int], int] = defaultdict(int)
        self.expires: dict[tuple[str, int], datetime] = {}
        self.asked: list[tuple[list[str], list[int]]] = []

    def failures_by_window(self, keys: list[str], windows: list[int]) -> list[dict[str, int]]:
        """Failures per key, one dict per window in the order given."""
        self.asked.append((list(keys), list(windows)))
        return [{key: self.counts[(key, window)] for key in keys} for window in windows]

    def add_failure(self, keys: list[str], window: int, expires: datetime) -> None:
        """Count one failure against every key."""
        for key in keys:
            self.counts[(key, window)] += 1
            self.expires[(key, window)] = expires


class FakeCloses:
    """Window closes' progress and shard leases, with the same conditions as DynamoDB's."""

    def __init__(self) -> None:
        self.records: dict[WindowKey, CloseRecord] = {}
        self.progress: dict[WindowKey, dict[int, ShardProgress]] = defaultdict(dict)
        self.leases: dict[tuple[WindowKey, int], tuple[str, datetime]] = {}

    def windows(self, wanted: list[WindowKey]) -> dict[WindowKey, CloseRecord]:
        """The records of these windows that exist."""
        return {k: self.records[k] for k in wanted if k in self.records}

    def open_window(self, record: CloseRecord) -> CloseRecord:
        """Create a window's record unless one exists; the stored one either way."""
        return self.records.setdefault(record.key, record)

    def restart_window(self, record: CloseRecord) -> None:
        """A new record; every shard's progress forgotten."""
        self.progress.pop(record.key, None)
        for lease in [k for k in self.leases if k[0] == record.key]:
            del self.leases[lease]
        self.records[record.key] = record

    def shards(self, key: WindowKey) -> dict[int, ShardProgress]:
        """The progress of a window's shards that have any."""
        return dict(self.progress.get(key, {}))

    def claim(self, key: WindowKey, shard: int, token: str, until: datetime, now: datetime) -> bool:
        """Take a shard not done and free (or whose lease ran out, or is this token's)."""
        done = self.progress.get(key, {}).get(shard)
        if done is not None and done.export_done:
            return False
        held = self.leases.get((key, shard))
        if held is not None and held[1] >= now and held[0] != token:
            return False
        self.leases[(key, shard)] = (token, until)
        self.progress[key].setdefault(shard, ShardProgress(shard))
        return True

    def save_shard(self, key: WindowKey, progress: ShardProgress, token: str, until: datetime) -> bool:
        """Record progress and extend the lease, if the lease is still this token's."""
        held = self.leases.get((key, progress.shard))
        if held is None or held[0] != token:
            return False
        self.leases[(key, progress.shard)] = (token, until)
        self.progress[key][progress.shard] = replace(progress, totals=dict(progress.totals))
        return True

    def mark_parts_done(self, key: WindowKey, at: datetime) -> datetime:
        """Note when every part was first found done; the time first noted."""
        record = self.records[key]
        if record.parts_done_at is None:
            record = self.records[key] = replace(record, parts_done_at=at)
        assert record.parts_done_at is not None
        return record.parts_done_at

    def finish(self, key: WindowKey, at: datetime, manifest: str) -> None:
        """Mark a window done, with its export's manifest."""
        self.records[key] = replace(self.records[key], done_at=at, manifest=manifest)


class FakeTasks:
    """The close's queue in memory: what was sent, in order."""

    def __init__(self) -> None:
        self.sent: list[Mapping[str, object]] = []

    def send(self, tasks: list[Mapping[str, object]]) -> None:
        """Queue each task."""
        self.sent.extend(dict(t) for t in tasks)


class FakeStores(Stores):
    """Every store in memory, wired to each other as the DynamoDB ones share one table."""

    def __init__(self, organizations: list[Organization] | None = None) -> None:
        catalogue = FakeCatalogue(organizations)
        accounts = FakeAccounts()
        super().__init__(
            catalogue=catalogue,
            accounts=accounts,
            readings=FakeReadings(accounts),
            people=FakePeople(accounts, catalogue),
            attempts=FakeAttempts(),
            closes=FakeCloses(),
        )

    # Typed shortcuts for tests.
    @property
    def fake_accounts(self) -> FakeAccounts:
        """The accounts store, as the fake it is."""
        return self.accounts  # type: ignore[return-value]

    @property
    def fake_readings(self) -> FakeReadings:
        """The readings store, as the fake it is."""
        return self.readings  # type: ignore[return-value]

    @property
    def fake_people(self) -> FakePeople:
        """The people store, as the fake it is."""
        return self.people  # type: ignore[return-value]

    @property
    def fake_closes(self) -> FakeCloses:
        """The window closes' store, as the fake it is."""
        return self.closes  # type: ignore[return-value]

    @property
    def fake_attempts(self) -> FakeAttempts:
        """The attempts store, as the fake it is."""
        return self.attempts  # type: ignore[return-value]

    def add_account(self, account: Account, meters: list[Meter], people: tuple[str, ...] = ()) -> None:
        """An account with its meters, linked to `people`."""
        self.accounts.put_account(account)
        for meter in meters:
            self.accounts.put_meter(meter)
        for person_id in people:
            self.people.link(person_id, account, datetime.fromtimestamp(0).astimezone())

    def snapshot(self) -> FakeStores:
        """A deep copy, to compare before and after."""
        return copy.deepcopy(self)


class FakeFiles:
    """The data bucket in memory."""

    def __init__(self) -> None:
        self.objects: dict[str, tuple[bytes, str, dict[str, str]]] = {}

    def put(self, key: str, data: bytes, content_type: str, metadata: dict[str, str] | None = None) -> None:
        """Write or replace an object."""
        self.objects[key] = (bytes(data), content_type, dict(metadata or {}))

    def get(self, key: str) -> bytes | None:
        """An object's bytes, or None."""
        found = self.objects.get(key)
        return None if found is None else found[0]

    def keys(self, prefix: str) -> list[str]:
        """Every key under a prefix, in order."""
        return sorted(k for k in self.objects if k.startswith(prefix))

    def compose(self, key: str, parts: list[str], content_type: str, head: bytes = b"") -> Composed:
        """Write `head` then the parts' bytes as one object."""
        missing = [p for p in parts if p not in self.objects]
        if missing:
            raise StorageUnavailable()
        data = head + b"".join(self.objects[p][0] for p in parts)
        self.put(key, data, content_type)
        return Composed(len(data), hashlib.sha256(data).hexdigest())

    def location(self, key: str) -> str:
        """Where the object is, as an address."""
        return f"memory://data/{key}"
