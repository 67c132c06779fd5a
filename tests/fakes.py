"""The one in-memory fake of the storage ports (`ekc.storage.ports`), used by every unit test.

Its writes hold the same conditions as the DynamoDB stores; `tests/integration/test_storage_contract.py`
runs the same scenarios against both, so this copy cannot drift from the real one unnoticed.
"""

from __future__ import annotations

import copy
import hashlib
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from ekc.domain.model import RESIDENT_CHANNELS, Account, AccountBundle, Meter, Organization, Submission
from ekc.domain.months import Month
from ekc.domain.notices import Notice
from ekc.domain.values import format_value
from ekc.exceptions import BadToken, Conflict, NotFound, StorageUnavailable
from ekc.mail import Letter
from ekc.storage import keys
from ekc.storage.accounts import INDEXED, meter_changes
from ekc.storage.base import iso
from ekc.storage.ports import (
    Cell,
    CloseRecord,
    Composed,
    HistoryPage,
    LinkedAccount,
    LoginRecord,
    MeterKey,
    OutcomeUnknown,
    QuotaCell,
    ReadingWrite,
    ReminderKey,
    Reservation,
    ResetRecord,
    SaveMarker,
    SaveReplayed,
    SessionRecord,
    ShardProgress,
    Stores,
    ViberIdentity,
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
        self.linked: dict[str, dict[str, datetime]] = defaultdict(dict)  # account -> person id -> linked at
        self.generations: dict[str, int] = {}  # account -> token generation, once raised

    def load_account(self, number: str) -> AccountBundle | None:
        """The account with its meters and linked people, or None."""
        account = self.accounts.get(number)
        if account is None:
            return None
        meters = sorted((m for m in self.meters.values() if m.account == number), key=lambda m: m.id)
        since = dict(self.linked.get(number, {}))
        return AccountBundle(account, meters, frozenset(since), since, self.generations.get(number, 0))

    def get_account(self, number: str) -> Account | None:
        """The account alone, or None."""
        return self.accounts.get(number)

    def put_account(self, account: Account) -> None:
        """Create or replace an account (its token generation is kept apart and stays)."""
        self.accounts[account.number] = account

    def bump_token_generation(self, number: str) -> int:
        """Raise the account's token generation by one; NotFound if there is no such account."""
        if number not in self.accounts:
            raise NotFound()
        self.generations[number] = self.generations.get(number, 0) + 1
        return self.generations[number]

    def token_generations(self, numbers: list[str]) -> dict[str, int]:
        """Each account's token generation (0 when never raised)."""
        return {n: self.generations.get(n, 0) for n in numbers}

    def put_meter(self, meter: Meter) -> None:
        """Create or replace a meter."""
        self.meters[meter.id] = meter

    def set_bot(self, meter: Meter, enabled: bool, amount: Decimal) -> Meter:
        """Switch a meter's bot; NotFound if there is no such meter."""
        stored = self.meters.get(meter.id)
        if stored is None or stored.account != meter.account:
            raise NotFound()
        if stored.seal_epoch != meter.seal_epoch:
            raise Conflict("meter_resealed")
        self.meters[meter.id] = replace(stored, bot_enabled=enabled, bot_amount=amount)
        return self.meters[meter.id]

    def meter_keys(self, org_id: str, shard: int, *, bots_only: bool) -> Iterator[MeterKey]:
        """One shard of an organization's live meters, or of those whose bot is on."""
        for meter in sorted(self.meters.values(), key=lambda m: m.id):
            if meter.organization_id != org_id or keys.shard_of(meter.id) != shard:
                continue
            if meter.retired_on is not None:  # out of both indexes
                continue
            if bots_only and not meter.bot_enabled:
                continue
            yield MeterKey(meter.account, meter.id)

    def get_meters(self, wanted: list[MeterKey]) -> list[Meter]:
        """Meters by key; missing ones are left out."""
        found = (self.meters.get(k.meter_id) for k in wanted)
        return [m for m, k in zip(found, wanted, strict=True) if m is not None and m.account == k.account]

    def get_accounts(self, numbers: list[str]) -> list[Account]:
        """Accounts by number; missing ones are left out."""
        return [self.accounts[n] for n in numbers if n in self.accounts]

    def existing_accounts(self, numbers: list[str]) -> set[str]:
        """Which of these accounts exist."""
        return {n for n in numbers if n in self.accounts}

    def put_accounts(self, accounts: list[Account]) -> None:
        """Create or replace accounts."""
        for account in accounts:
            self.accounts[account.number] = account

    def put_meters(self, meters: list[Meter]) -> None:
        """Create meters."""
        for meter in meters:
            self.meters[meter.id] = meter

    def update_meter(self, read: Meter, wanted: Meter) -> bool:
        """Billing's change of a meter, under the same conditions as DynamoDB's; False when refused."""
        changed = meter_changes(read, wanted)
        if not changed:
            return True
        stored = self.meters.get(read.id)
        if stored is None or stored.account != read.account:
            return False
        if ("previous_value" in changed or "previous_month" in changed) and stored.current is not None:
            return False
        if "seal_epoch" in changed and stored.seal_epoch != read.seal_epoch:
            return False
        if any(name in changed for name in INDEXED) and (
            stored.bot_enabled != read.bot_enabled or stored.retired_on != read.retired_on
        ):
            return False
        self.meters[read.id] = replace(stored, **{name: getattr(wanted, name) for name in changed})
        return True

    def set_seal_epoch(
        self,
        account: str,
        meter_id: str,
        epoch: int,
        opening: Decimal | None = None,
        opening_month: Month | None = None,
    ) -> Meter:
        """Record a verification or re-sealing (the bot goes off); a replay changes nothing."""
        stored = self.meters.get(meter_id)
        if stored is None or stored.account != account:
            raise NotFound()
        if stored.seal_epoch < epoch:
            changed = replace(stored, seal_epoch=epoch, bot_enabled=False)
            if opening is not None and opening_month is not None:
                changed = replace(changed, opening_value=opening, opening_month=opening_month)
            self.meters[meter_id] = changed
        return self.meters[meter_id]


class FakeReadings:
    """History, month winners, submission markers and current values, with DynamoDB's conditions."""

    def __init__(self, accounts: FakeAccounts) -> None:
        self._accounts = accounts
        self.written: list[Submission] = []  # every accepted submission, in the order written
        self.month_winners: dict[tuple[str, Month], Submission] = {}
        self.markers: dict[tuple[str, str], SaveMarker] = {}
        self.transactions = 0
        # Runs just before the next transaction: another channel writing between our read and our write.
        self.before_write: Callable[[FakeReadings], None] | None = None
        # Set to make the next transaction's answer get lost: "before" (never arrived) or "after" (applied).
        self.lose_answer: str | None = None

    def record_readings(self, writes: list[ReadingWrite], *, key: str | None = None) -> list[bool]:
        """Write all or nothing; per write, True when its condition refused it (a race)."""
        if not writes:
            return []
        self.transactions += 1
        if self.before_write is not None:
            hook, self.before_write = self.before_write, None
            hook(self)
        lost, self.lose_answer = self.lose_answer, None
        account = writes[0].meter.account
        if lost == "before" and key is not None:
            raise OutcomeUnknown(account, key)
        if key is not None and (account, key) in self.markers:
            raise SaveReplayed(self.markers[(account, key)])
        conflicts = [not (self._condition_holds(w) and self._month_condition_holds(w)) for w in writes]
        if not any(conflicts):
            for w in writes:
                self._accounts.meters[w.meter.id] = self._accounts.meters[w.meter.id].with_reading(
                    w.submission
                )
                self.written.append(w.submission)
                self.month_winners[(w.meter.id, w.submission.billing_month)] = w.submission
            if key is not None:
                saved = {w.meter.id: format_value(w.submission.value) for w in writes}
                self.markers[(account, key)] = SaveMarker("saved", saved)
        if lost == "after" and key is not None:
            raise OutcomeUnknown(account, key)
        return conflicts

    def _month_condition_holds(self, write: ReadingWrite) -> bool:
        stored = self.month_winners.get((write.meter.id, write.submission.billing_month))
        if write.bot:
            return stored is None
        return stored is None or stored.at <= write.submission.at

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
                and stored_meter.retired_on is None
            )
        if not self._same_day_count(write, stored_meter):
            return False
        if read is not None and read.billing_month == new.billing_month:
            return stored is not None and stored.billing_month == new.billing_month and stored.at <= new.at
        if read is None:
            return stored is None
        return stored is not None and (stored.billing_month, stored.at) == (read.billing_month, read.at)

    @staticmethod
    def _same_day_count(write: ReadingWrite, stored: Meter) -> bool:
        read = write.meter
        if write.submission.channel not in RESIDENT_CHANNELS or read.day is None:
            return True
        return stored.day != read.day or stored.day_count == read.day_count

    def marker(self, account: str, key: str) -> SaveMarker | None:
        """What became of a submission key."""
        return self.markers.get((account, key))

    def claim(self, account: str, key: str, now: datetime) -> None:
        """Mark a key answered without a write; SaveReplayed if it was used before."""
        if (account, key) in self.markers:
            raise SaveReplayed(self.markers[(account, key)])
        self.markers[(account, key)] = SaveMarker("answered", {})

    def settle(self, account: str, key: str, now: datetime) -> SaveMarker:
        """ "saved" if the key's save was applied, else "abandoned" for good."""
        return self.markers.setdefault((account, key), SaveMarker("abandoned", {}))

    def history(self, meter_id: str, limit: int = 50, before: str | None = None) -> HistoryPage:
        """A page of a meter's submissions, newest first; the cursor is the last one's position."""
        mine = sorted((s for s in self.written if s.meter_id == meter_id), key=lambda s: s.at, reverse=True)
        start = 0 if before is None else int(before.rsplit("#", 1)[1], 16)
        page = mine[start : start + limit]
        # Shaped like DynamoDB's cursor (a history item's sort key), with the position in its suffix.
        cursor = f"R#{iso(page[-1].at)}#{start + limit:08x}" if len(page) == limit else None
        return HistoryPage(page, cursor)

    def months(self, meter_id: str, count: int = 25) -> list[Submission]:
        """The winners of the meter's last `count` months, oldest first."""
        mine = sorted((m, s) for (mid, m), s in self.month_winners.items() if mid == meter_id)
        return [s for _, s in mine[-count:]]

    def import_history(self, account: str, submissions: list[Submission]) -> None:
        """Load past submissions and their months' winners, without touching the meter."""
        for s in sorted(submissions, key=lambda s: s.at):
            self.written.append(s)
            self.month_winners[(s.meter_id, s.billing_month)] = s


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
        self._accounts.linked[account.number][person_id] = now

    def unlink(self, person_id: str, number: str) -> None:
        """Remove both sides; removing twice is harmless."""
        self.links[person_id].pop(number, None)
        self._accounts.linked[number].pop(person_id, None)

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

    def delete_session(self, session_hash: str, person_id: str | None = None) -> None:
        """Revoke a session."""
        self.sessions.pop(session_hash, None)

    def end_sessions(self, person_id: str, keep: str | None = None) -> int:
        """End every session of a person except `keep`; how many were ended."""
        ended = [h for h, r in self.sessions.items() if r.person_id == person_id and h != keep]
        for session_hash in ended:
            del self.sessions[session_hash]
        return len(ended)

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
    """Guess counters per cell; a reservation is atomic (one lock), like a conditional ADD."""

    def __init__(self) -> None:
        self.counts_: dict[Cell, int] = defaultdict(int)
        self.expires: dict[Cell, datetime] = {}
        self.asked: list[list[Cell]] = []
        self.reservations = 0  # transactions that counted guesses
        self._lock = threading.Lock()
        # Runs after each read: a test makes parallel requests all read before any of them writes.
        self.after_read: Callable[[], None] | None = None

    def counts(self, cells: list[Cell]) -> dict[Cell, int]:
        """The guesses counted in each cell."""
        with self._lock:
            self.asked.append(list(cells))
            found = {cell: self.counts_.get(cell, 0) for cell in cells}
        if self.after_read is not None:
            self.after_read()
        return found

    def reserve(self, wanted: list[Reservation]) -> list[Cell]:
        """Count one guess in every cell, all or none, each only below its limit; the cells that refused."""
        with self._lock:
            refused = [r.cell for r in wanted if r.below <= 0 or self.counts_.get(r.cell, 0) >= r.below]
            if refused or not wanted:
                return refused
            for r in wanted:
                self.counts_[r.cell] += 1
                self.expires[r.cell] = r.expires
            self.reservations += 1
            return []

    def release(self, cells: list[Cell]) -> None:
        """Give back reserved guesses (never below zero)."""
        with self._lock:
            if all(self.counts_.get(cell, 0) > 0 for cell in cells):
                for cell in cells:
                    self.counts_[cell] -= 1

    def __deepcopy__(self, memo: dict[int, object]) -> FakeAttempts:
        # A lock cannot be copied; a snapshot gets its own.
        twin = FakeAttempts()
        twin.counts_ = copy.deepcopy(self.counts_, memo)
        twin.expires = dict(self.expires)
        twin.asked = copy.deepcopy(self.asked, memo)
        twin.reservations = self.reservations
        return twin


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


# One lock for every fake recovery store (a lock cannot be deep-copied by `FakeStores.snapshot`).
_RECOVERY_LOCK = threading.Lock()


class FakeRecovery:
    """Recovery quotas, pending links and the passwords they set, atomic under threads like DynamoDB."""

    def __init__(self, people: FakePeople) -> None:
        self._people = people
        self.counts: dict[tuple[str, int], int] = defaultdict(int)
        self.resets: dict[str, ResetRecord] = {}

    def take_quota(self, cells: list[QuotaCell]) -> list[QuotaCell]:
        """Count one request in every cell, all or none; the cells already at their limit."""
        with _RECOVERY_LOCK:
            full = [c for c in cells if self.counts[(c.key, c.window)] >= c.limit]
            if not full:
                for c in cells:
                    self.counts[(c.key, c.window)] += 1
            return full

    def put_reset(self, token_hash: str, record: ResetRecord) -> None:
        """Store a pending recovery."""
        self.resets[token_hash] = record

    def get_reset(self, token_hash: str) -> ResetRecord | None:
        """A pending recovery, or None."""
        return self.resets.get(token_hash)

    def use_reset(self, token_hash: str, record: ResetRecord, password_hash: str, now: datetime) -> None:
        """Consume the recovery and set the password together, or BadToken."""
        with _RECOVERY_LOCK:
            stored = self.resets.get(token_hash)
            login = self._people.logins.get(record.email)
            if stored is None or stored.expires_at <= now or login is None:
                raise BadToken("recovery_link")
            if login.person_id != record.person_id:
                raise BadToken("recovery_link")
            del self.resets[token_hash]
            self._people.logins[record.email] = LoginRecord(login.person_id, password_hash)


class FakeMailer:
    """Letters kept in a list instead of sent."""

    def __init__(self) -> None:
        self.sent: list[Letter] = []
        self.fail = False

    def send(self, letter: Letter) -> str:
        """Keep the letter; StorageUnavailable when told to fail."""
        if self.fail:
            raise StorageUnavailable("mail_unavailable")
        self.sent.append(letter)
        return f"fake-{len(self.sent)}"


class FakeViberUsers:
    """Viber identities in memory."""

    def __init__(self, people: FakePeople) -> None:
        self._people = people
        self.identities: dict[str, ViberIdentity] = {}
        self.profiles: set[str] = set()  # person ids with a profile made for a Viber user
        self.pointers: dict[str, set[str]] = {}  # person id -> Viber ids (the identity decides)

    def get(self, viber_id: str) -> ViberIdentity | None:
        """The identity of a Viber user, or None."""
        return self.identities.get(viber_id)

    def create(self, identity: ViberIdentity, now: datetime) -> ViberIdentity:
        """Record a new Viber user; if they already exist, the stored identity wins."""
        stored = self.identities.get(identity.viber_id)
        if stored is not None:
            return stored
        if identity.person_id in self.profiles or identity.person_id in self._people.emails:
            raise Conflict()
        self.identities[identity.viber_id] = identity
        self.profiles.add(identity.person_id)
        self.pointers.setdefault(identity.person_id, set()).add(identity.viber_id)
        return identity

    def set_subscribed(self, viber_id: str, subscribed: bool, now: datetime) -> bool:
        """Remember (un)subscribing of a known Viber user; False if unknown."""
        stored = self.identities.get(viber_id)
        if stored is None:
            return False
        self.identities[viber_id] = replace(stored, subscribed=subscribed)
        return True

    def of_person(self, person_id: str) -> list[ViberIdentity]:
        """The Viber users who are this person now, by Viber id."""
        found = (self.identities.get(v) for v in sorted(self.pointers.get(person_id, ())))
        return [i for i in found if i is not None and i.person_id == person_id]


class FakeReminders:
    """Reminder markers and rounds' progress in memory."""

    def __init__(self) -> None:
        self.sent: dict[tuple[str, ReminderKey], datetime] = {}
        self.done: dict[ReminderKey, set[int]] = {}

    def mark(self, viber_id: str, key: ReminderKey, at: datetime, keep_until: datetime) -> bool:
        """Note a reminder unless it was already; True if this call noted it."""
        if (viber_id, key) in self.sent:
            return False
        self.sent[(viber_id, key)] = at
        return True

    def shards_done(self, key: ReminderKey) -> set[int]:
        """The shards of a round that are done."""
        return set(self.done.get(key, ()))

    def finish_shard(self, key: ReminderKey, shard: int, at: datetime, keep_until: datetime) -> None:
        """Note a shard as done."""
        self.done.setdefault(key, set()).add(shard)


class FakeStores(Stores):
    """Every store in memory, wired to each other as the DynamoDB ones share one table."""

    def __init__(self, organizations: list[Organization] | None = None) -> None:
        catalogue = FakeCatalogue(organizations)
        accounts = FakeAccounts()
        people = FakePeople(accounts, catalogue)
        super().__init__(
            catalogue=catalogue,
            accounts=accounts,
            readings=FakeReadings(accounts),
            people=people,
            attempts=FakeAttempts(),
            closes=FakeCloses(),
            recovery=FakeRecovery(people),
            viber_users=FakeViberUsers(people),
            reminders=FakeReminders(),
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
    def fake_viber_users(self) -> FakeViberUsers:
        """The Viber users store, as the fake it is."""
        return self.viber_users  # type: ignore[return-value]

    @property
    def fake_reminders(self) -> FakeReminders:
        """The reminders' store, as the fake it is."""
        return self.reminders  # type: ignore[return-value]

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

    @property
    def fake_recovery(self) -> FakeRecovery:
        """The recovery store, as the fake it is."""
        return self.recovery  # type: ignore[return-value]

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
