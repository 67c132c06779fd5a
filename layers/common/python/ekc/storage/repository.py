"""The one module that talks to DynamoDB. Every method names its requests; docs/storage.md lists them."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from pynamodb.connection import Connection
from pynamodb.exceptions import (
    DeleteError,
    GetError,
    PutError,
    PynamoDBConnectionError,
    PynamoDBException,
    QueryError,
    TransactGetError,
    TransactWriteError,
    UpdateError,
)
from pynamodb.transactions import TransactGet, TransactWrite

from ekc.config import Settings
from ekc.domain.kinds import MeterKind
from ekc.domain.model import Account, AccountBundle, Channel, Debt, Meter, Organization, Submission
from ekc.domain.months import Month
from ekc.domain.values import Warning, format_value, updated_usual
from ekc.domain.windows import DayOfMonth, WindowRule
from ekc.exceptions import Conflict, NotFound, StorageUnavailable
from ekc.storage.items import (
    MODELS,
    AccountItem,
    AccountLinkItem,
    AttemptsItem,
    CatalogItem,
    DebtMap,
    Item,
    LoginItem,
    MeterItem,
    OrganizationMap,
    PersonItem,
    PersonLinkItem,
    ReadingItem,
    SessionItem,
    WarningMap,
    WindowMap,
)

CATALOG_KEY = ("CATALOG", "ORGANIZATIONS")


def iso(moment: datetime) -> str:
    """Server time as stored: UTC with microseconds, so strings sort as times do."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """A stored session."""

    person_id: str | None
    email: str | None
    scope_account: str | None
    csrf: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class LinkedAccount:
    """A row of the cabinet's addresses table."""

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


@dataclass(frozen=True, slots=True)
class LoginRecord:
    """An e-mail login."""

    person_id: str
    password_hash: str


class Repository:
    """DynamoDB through PynamoDB. No Scan anywhere."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        Item.Meta.table_name = settings.table_name
        Item.Meta.region = settings.aws_region
        Item.Meta.host = settings.dynamodb_endpoint
        for model in (Item, *MODELS):
            model._connection = None  # re-bind to the table named in settings
        self._connection = Connection(region=settings.aws_region, host=settings.dynamodb_endpoint)
        self._orgs: dict[str, Organization] | None = None
        self._orgs_until = 0.0

    # ---- organizations -------------------------------------------------------------------------

    def _cache_orgs(self, catalog: CatalogItem | None) -> dict[str, Organization]:
        orgs = {} if catalog is None else {o.id: _org_from(o) for o in catalog.organizations}
        self._orgs = orgs
        self._orgs_until = time.monotonic() + self._settings.org_cache_seconds
        return orgs

    def _cached_orgs(self) -> dict[str, Organization] | None:
        if self._orgs is not None and time.monotonic() < self._orgs_until:
            return self._orgs
        return None

    def organizations(self) -> dict[str, Organization]:
        """All organizations: cached for a minute, else 1 GetItem."""
        cached = self._cached_orgs()
        if cached is not None:
            return cached
        with _errors():
            try:
                catalog = CatalogItem.get(*CATALOG_KEY)
            except CatalogItem.DoesNotExist:
                catalog = None
        return self._cache_orgs(catalog)

    def session_and_organizations(
        self, session_hash: str
    ) -> tuple[SessionRecord | None, dict[str, Organization]]:
        """The session and the organizations in one request: GetItem, or TransactGetItems when cold."""
        cached = self._cached_orgs()
        if cached is not None:
            return self.get_session(session_hash), cached
        with _errors(), TransactGet(connection=self._connection) as tx:
            session_future = tx.get(SessionItem, f"SESSION#{session_hash}", "SESSION")
            catalog_future = tx.get(CatalogItem, *CATALOG_KEY)
        orgs = self._cache_orgs(_resolved(catalog_future))
        session = _resolved(session_future)
        return (None if session is None else _session_from(session)), orgs

    def put_organizations(self, organizations: list[Organization]) -> None:
        """Replace the catalogue (seed, operators): 1 PutItem."""
        item = CatalogItem(*CATALOG_KEY, organizations=[_org_to(o) for o in organizations])
        with _errors():
            item.save()
        self._cache_orgs(item)

    # ---- accounts and meters -------------------------------------------------------------------

    def load_account(self, number: str) -> AccountBundle | None:
        """The account, its meters and who is linked to it: 1 Query of its partition."""
        account: Account | None = None
        meters: list[Meter] = []
        people: set[str] = set()
        with _errors():
            for item in Item.query(f"ACC#{number}"):
                if isinstance(item, AccountItem):
                    account = _account_from(item)
                elif isinstance(item, MeterItem):
                    meters.append(_meter_from(item, number))
                elif isinstance(item, AccountLinkItem):
                    people.add(item.person_id)
        if account is None:
            return None
        meters.sort(key=lambda m: m.id)
        return AccountBundle(account, meters, frozenset(people))

    def get_account(self, number: str) -> Account | None:
        """One account without its meters: 1 GetItem."""
        with _errors():
            try:
                return _account_from(AccountItem.get(f"ACC#{number}", "ACCOUNT"))
            except AccountItem.DoesNotExist:
                return None

    def put_account(self, account: Account) -> None:
        """Create or replace an account (seed, billing import): 1 PutItem."""
        with _errors():
            _account_to(account).save()

    def put_meter(self, meter: Meter) -> None:
        """Create or replace a meter (seed, billing import): 1 PutItem."""
        with _errors():
            _meter_to(meter).save()

    def import_history(self, account: str, submissions: list[Submission]) -> None:
        """Load past submissions (seed, migration from the old system): BatchWriteItem, 25 per request."""
        with _errors(), ReadingItem.batch_write() as batch:
            for submission in submissions:
                batch.save(_reading_to(submission, account))

    def set_bot(self, account: str, meter_id: str, enabled: bool, amount: Decimal) -> Meter:
        """Switch a meter's bot: 1 UpdateItem, only if the meter exists."""
        item = MeterItem(f"ACC#{account}", f"MTR#{meter_id}")
        with _errors():
            try:
                item.update(
                    actions=[
                        MeterItem.bot_enabled.set(enabled),
                        MeterItem.bot_amount.set(format_value(amount)),
                    ],
                    condition=MeterItem.pk.exists(),
                )
            except UpdateError as exc:
                if _is_condition_failure(exc):
                    raise NotFound() from exc
                raise
        return _meter_from(item, account)

    def set_seal_epoch(self, account: str, meter_id: str, epoch: int) -> Meter:
        """Record a verification or re-sealing; it switches the bot off: 1 UpdateItem."""
        item = MeterItem(f"ACC#{account}", f"MTR#{meter_id}")
        with _errors():
            try:
                item.update(
                    actions=[MeterItem.seal_epoch.set(epoch), MeterItem.bot_enabled.set(False)],
                    condition=MeterItem.pk.exists() & (MeterItem.seal_epoch < epoch),
                )
            except UpdateError as exc:
                if not _is_condition_failure(exc):
                    raise
                # Already at this epoch (a replay) or the meter is gone: read what is there.
                try:
                    item = MeterItem.get(f"ACC#{account}", f"MTR#{meter_id}")
                except MeterItem.DoesNotExist:
                    raise NotFound() from exc
        return _meter_from(item, account)

    # ---- readings ------------------------------------------------------------------------------

    def record_readings(self, writes: list[ReadingWrite]) -> list[bool]:
        """Write readings and the meters' current values atomically: 1 TransactWriteItems.

        Each meter update is conditional: for the same month, only if the stored reading is not newer
        (last submission wins by server time); when a new month starts, only if the meter still shows
        what we read. Answers, per write, whether it was refused by its condition (True = conflict);
        when any is refused nothing is written, and the caller re-reads and retries the rest.
        """
        if not writes:
            return []
        with _errors():
            try:
                with TransactWrite(connection=self._connection) as tx:
                    # PynamoDB sends puts before updates; cancellation reasons follow that order.
                    for write in writes:
                        tx.save(
                            _reading_to(write.submission, write.meter.account),
                            condition=ReadingItem.pk.does_not_exist(),
                        )
                    for write in writes:
                        actions, condition = _meter_update(write)
                        tx.update(
                            MeterItem(f"ACC#{write.meter.account}", f"MTR#{write.meter.id}"),
                            actions,
                            condition,
                        )
                return [False] * len(writes)
            except TransactWriteError as exc:
                reasons = exc.cancellation_reasons
                if not reasons or exc.cause_response_code != "TransactionCanceledException":
                    raise
                n = len(writes)
                codes = [(r.code if r else "None") for r in reasons]
                # A failed condition, or another transaction on that meter right now: re-read and retry.
                raced = {"ConditionalCheckFailed", "TransactionConflict"}
                if any(c not in raced | {"None"} for c in codes):
                    raise
                return [bool(raced & {codes[i], codes[n + i]}) for i in range(n)]

    def history(self, meter_id: str, limit: int = 500) -> list[Submission]:
        """Every accepted submission of a meter, newest first: 1 Query (paged past 1 MB)."""
        with _errors():
            items = ReadingItem.query(
                f"MTR#{meter_id}", ReadingItem.sk.startswith("R#"), scan_index_forward=False, limit=limit
            )
            return [_reading_from(item) for item in items]

    # ---- people, logins, links -----------------------------------------------------------------

    def create_login(self, person_id: str, email: str, password_hash: str, now: datetime) -> None:
        """A person with an e-mail login, unique by e-mail: 1 TransactWriteItems."""
        login = LoginItem(f"EMAIL#{email}", "LOGIN", person_id=person_id, password_hash=password_hash)
        person = PersonItem(
            f"PERSON#{person_id}", "PROFILE", person_id=person_id, email=email, created_at=iso(now)
        )
        with _errors():
            try:
                with TransactWrite(connection=self._connection) as tx:
                    tx.save(login, condition=LoginItem.pk.does_not_exist())
                    tx.save(person, condition=PersonItem.pk.does_not_exist())
            except TransactWriteError as exc:
                if any(r and r.code == "ConditionalCheckFailed" for r in exc.cancellation_reasons):
                    raise Conflict() from exc
                raise

    def get_login(self, email: str) -> LoginRecord | None:
        """The login of an e-mail: 1 GetItem."""
        with _errors():
            try:
                item = LoginItem.get(f"EMAIL#{email}", "LOGIN")
            except LoginItem.DoesNotExist:
                return None
        return LoginRecord(item.person_id, item.password_hash)

    def linked_accounts(self, person_id: str) -> list[LinkedAccount]:
        """The person's addresses: 1 Query."""
        with _errors():
            items = PersonLinkItem.query(f"PERSON#{person_id}", PersonLinkItem.sk.startswith("LINK#"))
            return [LinkedAccount(i.number, i.city, i.city_code, i.holder, i.address) for i in items]

    def link(self, person_id: str, account: Account, now: datetime) -> None:
        """Link both ways (the account side authorizes reads): 1 TransactWriteItems; a replay is harmless."""
        at = iso(now)
        person_side = PersonLinkItem(
            f"PERSON#{person_id}",
            f"LINK#{account.number}",
            number=account.number,
            holder=account.holder,
            address=account.address,
            city=account.city,
            city_code=account.city_code,
            linked_at=at,
        )
        account_side = AccountLinkItem(
            f"ACC#{account.number}", f"LINK#{person_id}", person_id=person_id, linked_at=at
        )
        with _errors(), TransactWrite(connection=self._connection) as tx:
            tx.save(person_side)
            tx.save(account_side)

    def unlink(self, person_id: str, number: str) -> None:
        """Remove both sides of a link: 1 TransactWriteItems."""
        with _errors(), TransactWrite(connection=self._connection) as tx:
            tx.delete(PersonLinkItem(f"PERSON#{person_id}", f"LINK#{number}"))
            tx.delete(AccountLinkItem(f"ACC#{number}", f"LINK#{person_id}"))

    # ---- sessions ------------------------------------------------------------------------------

    def create_session(self, session_hash: str, record: SessionRecord) -> None:
        """1 PutItem; TTL removes it some time after it expires (the check does not wait for that)."""
        item = SessionItem(
            f"SESSION#{session_hash}",
            "SESSION",
            person_id=record.person_id,
            email=record.email,
            scope_account=record.scope_account,
            csrf=record.csrf,
            expires_at=iso(record.expires_at),
            ttl=record.expires_at,
        )
        with _errors():
            item.save()

    def get_session(self, session_hash: str) -> SessionRecord | None:
        """1 GetItem."""
        with _errors():
            try:
                return _session_from(SessionItem.get(f"SESSION#{session_hash}", "SESSION"))
            except SessionItem.DoesNotExist:
                return None

    def delete_session(self, session_hash: str) -> None:
        """Revoke: 1 DeleteItem."""
        with _errors():
            SessionItem(f"SESSION#{session_hash}", "SESSION").delete()

    # ---- failed attempts at guessable things ---------------------------------------------------

    def failures_by_window(self, keys: list[str], windows: list[int]) -> list[dict[str, int]]:
        """Failures per key, one dict per window in the order given: 1 BatchGetItem."""
        wanted = [(f"ATTEMPTS#{key}", f"W#{window}") for key in keys for window in windows]
        counts = {window: dict.fromkeys(keys, 0) for window in windows}
        with _errors():
            for item in AttemptsItem.batch_get(wanted):
                counts[int(item.sk.removeprefix("W#"))][item.pk.removeprefix("ATTEMPTS#")] = int(item.count)
        return [counts[window] for window in windows]

    def add_failure(self, keys: list[str], window: int, expires: datetime) -> None:
        """Count one failure against every key: 1 TransactWriteItems of atomic ADDs."""
        with _errors(), TransactWrite(connection=self._connection) as tx:
            for key in keys:
                item = AttemptsItem(f"ATTEMPTS#{key}", f"W#{window}")
                tx.update(item, [AttemptsItem.count.add(1), AttemptsItem.ttl.set(expires)])


# ---- errors --------------------------------------------------------------------------------------


class _errors:
    """Turn PynamoDB's failures into StorageUnavailable (the resident is told to retry)."""

    def __init__(self, transaction: bool = False) -> None:
        self.transaction = transaction

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: type | None, exc: BaseException | None, tb: object) -> bool:
        if exc is None or not isinstance(exc, PynamoDBException):
            return False
        if isinstance(exc, TransactWriteError) and exc.cause_response_code == "TransactionCanceledException":
            codes = {r.code for r in exc.cancellation_reasons if r}
            if codes <= {"ConditionalCheckFailed"}:
                return False  # callers decide what a failed condition means
        if isinstance(exc, (UpdateError, PutError, DeleteError)) and _is_condition_failure(exc):
            return False
        if isinstance(
            exc,
            (
                GetError,
                QueryError,
                TransactGetError,
                TransactWriteError,
                UpdateError,
                PutError,
                DeleteError,
                PynamoDBConnectionError,
            ),
        ):
            raise StorageUnavailable() from exc
        return False


def _is_condition_failure(exc: PynamoDBException) -> bool:
    return exc.cause_response_code == "ConditionalCheckFailedException"


def _resolved(future: object) -> Item | None:
    try:
        return future.get()  # type: ignore[attr-defined]
    except Item.DoesNotExist:
        return None


# ---- conversions between items and domain objects ------------------------------------------------


def _org_from(item: OrganizationMap) -> Organization:
    w = item.window
    rule = WindowRule(
        DayOfMonth(int(w.opens_offset), int(w.opens_day)), DayOfMonth(int(w.closes_offset), int(w.closes_day))
    )
    return Organization(item.id, item.name, rule)


def _org_to(org: Organization) -> OrganizationMap:
    r = org.rule
    window = WindowMap(
        opens_offset=r.opens.month_offset,
        opens_day=r.opens.day,
        closes_offset=r.closes.month_offset,
        closes_day=r.closes.day,
    )
    return OrganizationMap(id=org.id, name=org.name, window=window)


def _account_from(item: AccountItem) -> Account:
    debt = None
    if item.debt is not None:
        d = item.debt
        debt = Debt(Decimal(d.amount), d.recipient, d.iban, d.purpose)
    return Account(item.number, item.src, item.holder, item.address, item.city, item.city_code, debt)


def _account_to(account: Account) -> AccountItem:
    debt = None
    if account.debt is not None:
        d = account.debt
        debt = DebtMap(amount=str(d.amount), recipient=d.recipient, iban=d.iban, purpose=d.purpose)
    return AccountItem(
        f"ACC#{account.number}",
        "ACCOUNT",
        number=account.number,
        src=account.src,
        holder=account.holder,
        address=account.address,
        city=account.city,
        city_code=account.city_code,
        debt=debt,
    )


def _warnings_from(items: list[WarningMap] | None) -> tuple[Warning, ...]:
    return tuple(Warning(w.code, dict(w.params.as_dict()) if w.params else {}) for w in items or ())


def _warnings_to(warnings: tuple[Warning, ...]) -> list[WarningMap]:
    return [WarningMap(code=w.code, params=dict(w.params)) for w in warnings]


def _dec(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def _meter_from(item: MeterItem, account: str) -> Meter:
    current = None
    if item.cur_month is not None and item.cur_value is not None:
        current = Submission(
            meter_id=item.meter_id,
            billing_month=Month.parse(item.cur_month),
            value=Decimal(item.cur_value),
            at=datetime.fromisoformat(item.cur_at),
            channel=Channel(item.cur_channel),
            source=item.cur_source or "",
            who=item.cur_who or "",
            warnings=_warnings_from(item.cur_warnings),
            consumption=_dec(item.cur_consumption),
        )
    return Meter(
        id=item.meter_id,
        account=account,
        kind=MeterKind(item.kind),
        unit=item.unit,
        organization_id=item.org_id,
        digits=int(item.digits),
        serial=item.serial,
        note=item.note or "",
        next_verification=date.fromisoformat(item.next_verification) if item.next_verification else None,
        previous_value=_dec(item.prev_value),
        previous_month=Month.parse(item.prev_month) if item.prev_month else None,
        current=current,
        bot_enabled=bool(item.bot_enabled),
        bot_amount=Decimal(item.bot_amount or "0"),
        seal_epoch=int(item.seal_epoch or 0),
        usual=_dec(item.usual),
        usual_months=int(item.usual_months or 0),
    )


def _meter_to(meter: Meter) -> MeterItem:
    item = MeterItem(
        f"ACC#{meter.account}",
        f"MTR#{meter.id}",
        meter_id=meter.id,
        kind=str(meter.kind),
        unit=meter.unit,
        org_id=meter.organization_id,
        digits=meter.digits,
        serial=meter.serial,
        note=meter.note,
        next_verification=meter.next_verification.isoformat() if meter.next_verification else None,
        prev_value=None if meter.previous_value is None else format_value(meter.previous_value),
        prev_month=None if meter.previous_month is None else str(meter.previous_month),
        bot_enabled=meter.bot_enabled,
        bot_amount=format_value(meter.bot_amount),
        seal_epoch=meter.seal_epoch,
        usual=None if meter.usual is None else format_value(meter.usual),
        usual_months=meter.usual_months,
    )
    if meter.current is not None:
        _set_current(item, meter.current)
    return item


def _set_current(item: MeterItem, s: Submission) -> None:
    item.cur_value = format_value(s.value)
    item.cur_month = str(s.billing_month)
    item.cur_at = iso(s.at)
    item.cur_channel = str(s.channel)
    item.cur_source = s.source
    item.cur_who = s.who
    item.cur_consumption = None if s.consumption is None else format_value(s.consumption)
    item.cur_warnings = _warnings_to(s.warnings)


def _meter_update(write: ReadingWrite) -> tuple[list, object]:
    """The update actions and the condition that make 'last submission wins' hold under races."""
    meter, s = write.meter, write.submission
    M = MeterItem
    actions = [
        M.cur_value.set(format_value(s.value)),
        M.cur_month.set(str(s.billing_month)),
        M.cur_at.set(iso(s.at)),
        M.cur_channel.set(str(s.channel)),
        M.cur_source.set(s.source),
        M.cur_who.set(s.who),
        M.cur_warnings.set(_warnings_to(s.warnings)),
    ]
    actions.append(
        M.cur_consumption.remove()
        if s.consumption is None
        else M.cur_consumption.set(format_value(s.consumption))
    )
    current = meter.current
    if current is not None and current.billing_month == s.billing_month:
        # Same month: replace, unless a newer submission got there first.
        condition = (M.cur_month == str(s.billing_month)) & (M.cur_at <= iso(s.at))
        return actions, condition
    if current is None:
        return actions, M.pk.exists() & M.cur_month.does_not_exist()
    # A new month: what the meter showed becomes the previous reading, and its month's use joins the mean.
    actions += [M.prev_value.set(format_value(current.value)), M.prev_month.set(str(current.billing_month))]
    if current.consumption is not None and current.consumption >= 0:
        usual, months = updated_usual(meter.usual, meter.usual_months, current.consumption)
        actions += [M.usual.set(format_value(usual)), M.usual_months.set(months)]
    condition = (M.cur_month == str(current.billing_month)) & (M.cur_at == iso(current.at))
    return actions, condition


def _reading_to(s: Submission, account: str) -> ReadingItem:
    at = iso(s.at)
    return ReadingItem(
        f"MTR#{s.meter_id}",
        f"R#{at}#{uuid.uuid4().hex[:8]}",
        meter_id=s.meter_id,
        account=account,
        billing_month=str(s.billing_month),
        value=format_value(s.value),
        at=at,
        channel=str(s.channel),
        source=s.source,
        who=s.who,
        consumption=None if s.consumption is None else format_value(s.consumption),
        warnings=_warnings_to(s.warnings),
    )


def _reading_from(item: ReadingItem) -> Submission:
    return Submission(
        meter_id=item.meter_id,
        billing_month=Month.parse(item.billing_month),
        value=Decimal(item.value),
        at=datetime.fromisoformat(item.at),
        channel=Channel(item.channel),
        source=item.source,
        who=item.who,
        warnings=_warnings_from(item.warnings),
        consumption=_dec(item.consumption),
    )


def _session_from(item: SessionItem) -> SessionRecord:
    return SessionRecord(
        item.person_id, item.email, item.scope_account, item.csrf, datetime.fromisoformat(item.expires_at)
    )
