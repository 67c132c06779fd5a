"""What the services need from storage, as Protocols, and the records that cross that line.

Production passes the DynamoDB stores (`ekc.storage.get_stores()`); unit tests pass the one in-memory
fake in `tests/fakes.py`, and a contract test holds both to the same write conditions.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from ekc.domain.model import Account, AccountBundle, Meter, Organization, Submission
from ekc.domain.months import Month
from ekc.domain.notices import Notice


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """A stored web session."""

    person_id: str | None
    email: str | None
    scope_account: str | None
    csrf: str
    expires_at: datetime
    generation: int | None = None  # an invoice-QR session: the token's generation...
    link: str | None = None  # ...and the hex id of the link that handed the token out, if any


@dataclass(frozen=True, slots=True)
class LinkedAccount:
    """A row of a person's addresses."""

    number: str
    city: str
    city_code: str
    holder: str
    address: str


@dataclass(frozen=True, slots=True)
class ReadingWrite:
    """A reading to record against the meter state it was decided on."""

    meter: Meter  # as read: the write is conditional on it being unchanged (or on being newer)
    submission: Submission
    # A bot's reading at a window's close: written only if no reading of its month exists and the
    # meter's bot is still on at the seal epoch it was decided on.
    bot: bool = False


@dataclass(frozen=True, slots=True, order=True)
class MeterKey:
    """Where a meter lives: its account's partition and its id."""

    account: str
    meter_id: str


@dataclass(frozen=True, slots=True, order=True)
class Cell:
    """One counter of guesses: a budget's key (`<budget>#<whose>`) in one of its windows."""

    key: str
    window: int


@dataclass(frozen=True, slots=True)
class Reservation:
    """Count one guess in `cell` only if it holds fewer than `below` (a conditional ADD)."""

    cell: Cell
    below: int
    expires: datetime


@dataclass(frozen=True, slots=True)
class ViberIdentity:
    """A Viber user as the bot knows them: the person they are, and whether they may be messaged."""

    viber_id: str
    person_id: str
    subscribed: bool


@dataclass(frozen=True, slots=True)
class LoginRecord:
    """An e-mail login."""

    person_id: str
    password_hash: str


@dataclass(frozen=True, slots=True)
class HistoryPage:
    """A page of a meter's submissions, newest first, and the cursor of the next page (None: no more)."""

    submissions: list[Submission]
    next: str | None


@dataclass(frozen=True, slots=True)
class SaveMarker:
    """What became of one submission key: "saved" (with meter id -> value) or "abandoned"."""

    state: str
    saved: dict[str, str]


class SaveReplayed(Exception):
    """A submission key that was already used: nothing new was written."""

    def __init__(self, marker: SaveMarker | None) -> None:
        self.marker = marker
        super().__init__("replayed")


class OutcomeUnknown(Exception):
    """The write was sent but its answer never came: settle the key to learn what happened."""

    def __init__(self, account: str, key: str) -> None:
        self.account = account
        self.key = key
        super().__init__("outcome unknown")


@dataclass(frozen=True, slots=True)
class QuotaCell:
    """One request to count in a quota's window, allowed only while the window holds fewer than `limit`."""

    key: str
    window: int
    limit: int
    expires: datetime


@dataclass(frozen=True, slots=True)
class ResetRecord:
    """A password recovery waiting for its link to be opened."""

    person_id: str
    email: str
    expires_at: datetime


class Catalogue(Protocol):
    """The organizations and their windows."""

    def organizations(self) -> dict[str, Organization]:
        """Every organization by id (cached briefly)."""
        ...

    def put_organizations(self, organizations: list[Organization]) -> None:
        """Replace the catalogue."""
        ...


class Accounts(Protocol):
    """Accounts, their meters and who is linked to them."""

    def load_account(self, number: str) -> AccountBundle | None:
        """The account with its meters and linked people, or None."""
        ...

    def get_account(self, number: str) -> Account | None:
        """The account alone, or None."""
        ...

    def put_account(self, account: Account) -> None:
        """Create or replace an account."""
        ...

    def put_meter(self, meter: Meter) -> None:
        """Create or replace a meter."""
        ...

    def set_bot(self, meter: Meter, enabled: bool, amount: Decimal) -> Meter:
        """Switch a meter's bot; NotFound if there is no such meter."""
        ...

    def set_seal_epoch(
        self,
        account: str,
        meter_id: str,
        epoch: int,
        opening: Decimal | None = None,
        opening_month: Month | None = None,
    ) -> Meter:
        """Record a verification or re-sealing (the bot goes off, an opening value may be set);
        a replay changes nothing."""
        ...

    def bump_token_generation(self, number: str) -> int:
        """Raise the account's token generation by one (voiding its tokens); the new one. NotFound if none."""
        ...

    def token_generations(self, numbers: list[str]) -> dict[str, int]:
        """Each account's token generation (0 when never raised), for the print run."""
        ...

    def meter_keys(self, org_id: str, shard: int, *, bots_only: bool) -> Iterator[MeterKey]:
        """One shard of an organization's live meters, or of those whose bot is on (never a Scan)."""
        ...

    def get_accounts(self, numbers: list[str]) -> list[Account]:
        """Accounts by number, in any order; missing ones are left out (the billing import's diff)."""
        ...

    def existing_accounts(self, numbers: list[str]) -> set[str]:
        """Which of these account numbers exist (keys only: the meters import checks every row's)."""
        ...

    def put_accounts(self, accounts: list[Account]) -> None:
        """Create or replace accounts in batches (the account item holds only billing's data)."""
        ...

    def put_meters(self, meters: list[Meter]) -> None:
        """Create meters in batches (the billing import's new meters: nobody has read or set them yet)."""
        ...

    def update_meter(self, read: Meter, wanted: Meter) -> bool:
        """Change a meter from `read` to `wanted` in billing's fields, previous reading, seal epoch, bot
        switch (off only) and retirement, conditional on what the change was decided on still holding.

        False when a condition refused it (a reading, a bot switch or a re-sealing came in meanwhile):
        re-read and decide again. Readings, the bot's amount and usual use are never written here.
        """
        ...

    def get_meters(self, wanted: list[MeterKey]) -> list[Meter]:
        """Meters by key, in any order; missing ones are left out."""
        ...


class Readings(Protocol):
    """Accepted submissions and the meters' current values, written together."""

    def record_readings(self, writes: list[ReadingWrite], *, key: str | None = None) -> list[bool]:
        """Write all or nothing; per write, True when its condition refused it (a race).

        With a key: SaveReplayed if it was used before; OutcomeUnknown if the answer was lost.
        """
        ...

    def marker(self, account: str, key: str) -> SaveMarker | None:
        """What became of a submission key, if it was used."""
        ...

    def claim(self, account: str, key: str, now: datetime) -> None:
        """Mark a key answered without a write; SaveReplayed if it was used before."""
        ...

    def settle(self, account: str, key: str, now: datetime) -> SaveMarker:
        """After a lost answer: "saved" if it was applied, else "abandoned" for good."""
        ...

    def history(self, meter_id: str, limit: int = 50, before: str | None = None) -> HistoryPage:
        """A page of a meter's submissions, newest first."""
        ...

    def months(self, meter_id: str, count: int = 25) -> list[Submission]:
        """The winners of the meter's last `count` billing months, oldest first."""
        ...

    def import_history(self, account: str, submissions: list[Submission]) -> None:
        """Load past submissions (seed, migration), without touching the meter."""
        ...


class People(Protocol):
    """People, their logins, their links to accounts and their web sessions."""

    def create_login(self, person_id: str, email: str, password_hash: str, now: datetime) -> None:
        """A person with an e-mail login; Conflict if the e-mail is taken."""
        ...

    def get_login(self, email: str) -> LoginRecord | None:
        """The login of an e-mail, or None."""
        ...

    def linked_accounts(self, person_id: str) -> list[LinkedAccount]:
        """The person's addresses."""
        ...

    def link(self, person_id: str, account: Account, now: datetime) -> None:
        """Link a person and an account (both sides); a replay is harmless."""
        ...

    def unlink(self, person_id: str, number: str) -> None:
        """Remove both sides of a link; removing twice is harmless."""
        ...

    def create_session(self, session_hash: str, record: SessionRecord) -> None:
        """Store a new web session (a person's is also listed under the person, for `end_sessions`)."""
        ...

    def get_session(self, session_hash: str) -> SessionRecord | None:
        """A stored session, or None."""
        ...

    def session_and_organizations(
        self, session_hash: str
    ) -> tuple[SessionRecord | None, dict[str, Organization]]:
        """A session and the catalogue, in one request when the catalogue is not cached."""
        ...

    def delete_session(self, session_hash: str, person_id: str | None = None) -> None:
        """Revoke a session (a person's: with its pointer in the person's partition)."""
        ...

    def end_sessions(self, person_id: str, keep: str | None = None) -> int:
        """End every session of a person except `keep` (a session hash); how many were ended."""
        ...

    def add_notice(self, person_ids: list[str], notice: Notice) -> None:
        """Leave the same notice for each of these people."""
        ...

    def notices(self, person_id: str) -> list[Notice]:
        """The person's pending notices, oldest first."""
        ...

    def clear_notices(self, person_id: str, notice_ids: list[str]) -> None:
        """Forget notices that were told."""
        ...


class Attempts(Protocol):
    """Guesses at guessable things (link codes, passwords), reserved against budgets per window."""

    def counts(self, cells: list[Cell]) -> dict[Cell, int]:
        """The guesses counted in each cell (0 for a cell never written)."""
        ...

    def reserve(self, wanted: list[Reservation]) -> list[Cell]:
        """Count one guess in every cell, all or none, each only below its limit; the cells that refused."""
        ...

    def release(self, cells: list[Cell]) -> None:
        """Give back reserved guesses (the guess was right, or was never judged)."""
        ...


@dataclass(frozen=True, slots=True, order=True)
class WindowKey:
    """One organization's window of one billing month: what a window close finishes."""

    org_id: str
    month: Month


@dataclass(frozen=True, slots=True)
class CloseRecord:
    """A window close's progress as a whole: which run started it, and whether it is finished."""

    key: WindowKey
    run_id: str
    started_at: datetime
    ends_at: datetime  # the window's end: the first instant after its last second
    parts_done_at: datetime | None = None  # when every shard's part of the export was first found done
    done_at: datetime | None = None
    manifest: str | None = None  # the export's manifest (JSON), once done


@dataclass(frozen=True, slots=True)
class ShardProgress:
    """One shard of a window close: its bots, then its part of the export, each resumable."""

    shard: int
    bots_done: bool = False
    bots_cursor: str | None = None  # every bot meter up to this id is decided
    export_done: bool = False
    export_cursor: str | None = None  # every meter up to this id is in `parts`
    parts: tuple[str, ...] = ()  # the export's part objects, in order
    # Counters and sums as exact strings (the service names them: "bots.written", "rows", ...).
    totals: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Composed:
    """An object made of parts: its size and SHA-256."""

    size: int
    sha256: str


class Closes(Protocol):
    """Window closes' progress: one record per window, one per shard, and leases on shards."""

    def windows(self, wanted: list[WindowKey]) -> dict[WindowKey, CloseRecord]:
        """The records of these windows that exist."""
        ...

    def open_window(self, record: CloseRecord) -> CloseRecord:
        """Create a window's record unless one exists; the stored one either way."""
        ...

    def restart_window(self, record: CloseRecord) -> None:
        """Start a window over (an operator's re-run): a new record, every shard's progress forgotten."""
        ...

    def shards(self, key: WindowKey) -> dict[int, ShardProgress]:
        """The progress of a window's shards that have any."""
        ...

    def claim(self, key: WindowKey, shard: int, token: str, until: datetime, now: datetime) -> bool:
        """Take a shard not done and not taken by another (or whose lease ran out, or is this token's)."""
        ...

    def save_shard(self, key: WindowKey, progress: ShardProgress, token: str, until: datetime) -> bool:
        """Record a shard's progress and extend the lease; False if another run has taken the shard."""
        ...

    def mark_parts_done(self, key: WindowKey, at: datetime) -> datetime:
        """Note when every part was first found done; the time first noted."""
        ...

    def finish(self, key: WindowKey, at: datetime, manifest: str) -> None:
        """Mark a window done, with its export's manifest."""
        ...


class Tasks(Protocol):
    """Work handed to other invocations (the window close's queue)."""

    def send(self, tasks: list[Mapping[str, object]]) -> None:
        """Queue each task (a JSON-able mapping) once."""
        ...


class ViberUsers(Protocol):
    """Viber users and the people they are (one Viber user is one person; a person may later have more)."""

    def get(self, viber_id: str) -> ViberIdentity | None:
        """The identity of a Viber user, or None if the bot has never met them."""
        ...

    def create(self, identity: ViberIdentity, now: datetime) -> ViberIdentity:
        """Record a new Viber user and their person; if they already exist, the stored identity wins."""
        ...

    def set_subscribed(self, viber_id: str, subscribed: bool, now: datetime) -> bool:
        """Remember (un)subscribing of a known Viber user; False if the bot has never met them."""
        ...

    def of_person(self, person_id: str) -> list[ViberIdentity]:
        """The Viber users who are this person now (subscribed or not), by Viber id."""
        ...


@dataclass(frozen=True, slots=True, order=True)
class ReminderKey:
    """One round of reminders: an organization's window of a billing month, so many hours before its end."""

    org_id: str
    month: Month
    hours: int


class Reminders(Protocol):
    """Which reminders were sent (never twice) and which shards of a round are done."""

    def mark(self, viber_id: str, key: ReminderKey, at: datetime, keep_until: datetime) -> bool:
        """Note this reminder as sent unless it was already; True if this call noted it."""
        ...

    def shards_done(self, key: ReminderKey) -> set[int]:
        """The shards of a round whose reminders are all done."""
        ...

    def finish_shard(self, key: ReminderKey, shard: int, at: datetime, keep_until: datetime) -> None:
        """Note a shard of a round as done."""
        ...


class Files(Protocol):
    """Objects in the data bucket (exports, imports), by key."""

    def put(self, key: str, data: bytes, content_type: str, metadata: dict[str, str] | None = None) -> None:
        """Write or replace an object."""
        ...

    def get(self, key: str) -> bytes | None:
        """An object's bytes, or None."""
        ...

    def keys(self, prefix: str) -> list[str]:
        """Every key under a prefix, in order."""
        ...

    def compose(self, key: str, parts: list[str], content_type: str, head: bytes = b"") -> Composed:
        """Write `head` then the parts' bytes, in order, as one object (written whole or not at all)."""
        ...

    def location(self, key: str) -> str:
        """Where an operator finds an object (an s3:// address, or an http:// one locally)."""
        ...


class Recovery(Protocol):
    """Password recovery: its quotas, its pending links, and the new password they set."""

    def take_quota(self, cells: list[QuotaCell]) -> list[QuotaCell]:
        """Count one request in every cell, all or none; the cells already at their limit ([] = counted)."""
        ...

    def put_reset(self, token_hash: str, record: ResetRecord) -> None:
        """Store a pending recovery."""
        ...

    def get_reset(self, token_hash: str) -> ResetRecord | None:
        """A pending recovery (strongly consistent), or None."""
        ...

    def use_reset(self, token_hash: str, record: ResetRecord, password_hash: str, now: datetime) -> None:
        """Set the new password and consume the recovery, together; BadToken("recovery_link") when it
        was used meanwhile or has expired."""
        ...


@dataclass(frozen=True, slots=True)
class Stores:
    """Everything the services reach in storage, by kind of data."""

    catalogue: Catalogue
    accounts: Accounts
    readings: Readings
    people: People
    attempts: Attempts
    closes: Closes
    recovery: Recovery
    viber_users: ViberUsers
    reminders: Reminders
