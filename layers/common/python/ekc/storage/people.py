"""People: profiles, e-mail logins, links to accounts (both sides) and web sessions."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactGet, TransactWrite

from ekc.domain.model import Account, Organization
from ekc.domain.notices import Notice, NoticeCode
from ekc.exceptions import Conflict
from ekc.storage import keys
from ekc.storage.base import errors, iso, resolved
from ekc.storage.catalogue import DynamoCatalogue
from ekc.storage.items import (
    AccountLinkItem,
    CatalogItem,
    LoginItem,
    NoticeItem,
    PersonItem,
    PersonLinkItem,
    SessionItem,
    SessionPointerItem,
)
from ekc.storage.ports import LinkedAccount, LoginRecord, SessionRecord

NOTICE_LIFETIME = timedelta(days=60)


class DynamoPeople:
    """People and sessions in DynamoDB; a cold container reads a session and the catalogue together."""

    def __init__(self, connection: Connection, catalogue: DynamoCatalogue) -> None:
        self._connection = connection
        self._catalogue = catalogue

    # ---- logins --------------------------------------------------------------------------------

    def create_login(self, person_id: str, email: str, password_hash: str, now: datetime) -> None:
        """A person with an e-mail login, unique by e-mail: 1 TransactWriteItems."""
        login = LoginItem(
            keys.email_pk(email), keys.LOGIN_SK, person_id=person_id, password_hash=password_hash
        )
        person = PersonItem(
            keys.person_pk(person_id), keys.PROFILE_SK, person_id=person_id, email=email, created_at=iso(now)
        )
        with errors():
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
        with errors():
            try:
                item = LoginItem.get(keys.email_pk(email), keys.LOGIN_SK)
            except LoginItem.DoesNotExist:
                return None
        return LoginRecord(item.person_id, item.password_hash)

    # ---- links ---------------------------------------------------------------------------------

    def linked_accounts(self, person_id: str) -> list[LinkedAccount]:
        """The person's addresses: 1 Query."""
        with errors():
            items = PersonLinkItem.query(
                keys.person_pk(person_id), PersonLinkItem.sk.startswith(keys.LINK_PREFIX)
            )
            return [LinkedAccount(i.number, i.city, i.city_code, i.holder, i.address) for i in items]

    def link(self, person_id: str, account: Account, now: datetime) -> None:
        """Link both ways (the account side authorizes reads): 1 TransactWriteItems; a replay is harmless."""
        at = iso(now)
        person_side = PersonLinkItem(
            keys.person_pk(person_id),
            keys.link_sk(account.number),
            number=account.number,
            holder=account.holder,
            address=account.address,
            city=account.city,
            city_code=account.city_code,
            linked_at=at,
        )
        account_side = AccountLinkItem(
            keys.account_pk(account.number), keys.link_sk(person_id), person_id=person_id, linked_at=at
        )
        with errors(), TransactWrite(connection=self._connection) as tx:
            tx.save(person_side)
            tx.save(account_side)

    def unlink(self, person_id: str, number: str) -> None:
        """Remove both sides of a link: 1 TransactWriteItems."""
        with errors(), TransactWrite(connection=self._connection) as tx:
            tx.delete(PersonLinkItem(keys.person_pk(person_id), keys.link_sk(number)))
            tx.delete(AccountLinkItem(keys.account_pk(number), keys.link_sk(person_id)))

    # ---- sessions ------------------------------------------------------------------------------

    def create_session(self, session_hash: str, record: SessionRecord) -> None:
        """A person's session and its pointer in the person's partition: 1 TransactWriteItems; an
        invoice-QR session (no person): 1 PutItem. TTL removes both some time after they expire (the
        check does not wait for that)."""
        item = SessionItem(
            keys.session_pk(session_hash),
            keys.SESSION_SK,
            person_id=record.person_id,
            email=record.email,
            scope_account=record.scope_account,
            csrf=record.csrf,
            expires_at=iso(record.expires_at),
            token_generation=record.generation,
            token_link=record.link,
            ttl=record.expires_at,
        )
        if record.person_id is None:
            with errors():
                item.save()
            return
        pointer = SessionPointerItem(
            keys.person_pk(record.person_id),
            keys.session_pointer_sk(session_hash),
            expires_at=iso(record.expires_at),
            ttl=record.expires_at,
        )
        with errors(), TransactWrite(connection=self._connection) as tx:
            tx.save(item)
            tx.save(pointer)

    def get_session(self, session_hash: str) -> SessionRecord | None:
        """1 GetItem."""
        with errors():
            try:
                return _session_from(SessionItem.get(keys.session_pk(session_hash), keys.SESSION_SK))
            except SessionItem.DoesNotExist:
                return None

    def session_and_organizations(
        self, session_hash: str
    ) -> tuple[SessionRecord | None, dict[str, Organization]]:
        """The session and the organizations in one request: GetItem, or TransactGetItems when cold."""
        cached = self._catalogue.cached()
        if cached is not None:
            return self.get_session(session_hash), cached
        with errors(), TransactGet(connection=self._connection) as tx:
            session_future = tx.get(SessionItem, keys.session_pk(session_hash), keys.SESSION_SK)
            catalog_future = tx.get(CatalogItem, *keys.CATALOG_KEY)
        orgs = self._catalogue.remember(resolved(catalog_future))
        session = resolved(session_future)
        return (None if session is None else _session_from(session)), orgs

    def delete_session(self, session_hash: str, person_id: str | None = None) -> None:
        """Revoke: 1 DeleteItem, or 1 TransactWriteItems with the person's pointer to it."""
        session = SessionItem(keys.session_pk(session_hash), keys.SESSION_SK)
        if person_id is None:
            with errors():
                session.delete()
            return
        pointer = SessionPointerItem(keys.person_pk(person_id), keys.session_pointer_sk(session_hash))
        with errors(), TransactWrite(connection=self._connection) as tx:
            tx.delete(session)
            tx.delete(pointer)

    def end_sessions(self, person_id: str, keep: str | None = None) -> int:
        """End every session of a person but `keep`: 1 Query (strongly consistent, keys only) + 1
        BatchWriteItem per 12 sessions (each session with its pointer). How many were ended."""
        with errors():
            pointers = SessionPointerItem.query(
                keys.person_pk(person_id),
                SessionPointerItem.sk.startswith(keys.SESSION_POINTER_PREFIX),
                consistent_read=True,
                attributes_to_get=["pk", "sk"],
            )
            hashes = [p.sk.removeprefix(keys.SESSION_POINTER_PREFIX) for p in pointers]
        ended = [h for h in hashes if h != keep]
        if not ended:
            return 0
        with errors(), SessionItem.batch_write() as batch:
            for session_hash in ended:
                batch.delete(SessionItem(keys.session_pk(session_hash), keys.SESSION_SK))
                batch.delete(
                    SessionPointerItem(keys.person_pk(person_id), keys.session_pointer_sk(session_hash))
                )
        return len(ended)

    # ---- notices -------------------------------------------------------------------------------

    def add_notice(self, person_ids: list[str], notice: Notice) -> None:
        """The same notice for several people: BatchWriteItem, 25 a request; kept 60 days at most."""
        at = iso(notice.at)
        with errors(), NoticeItem.batch_write() as batch:
            for person_id in person_ids:
                batch.save(
                    NoticeItem(
                        keys.person_pk(person_id),
                        keys.notice_sk(at, uuid.uuid4().hex[:8]),
                        code=str(notice.code),
                        account=notice.account,
                        meter_id=notice.meter_id,
                        params=dict(notice.params),
                        at=at,
                        ttl=notice.at + NOTICE_LIFETIME,
                    )
                )

    def notices(self, person_id: str) -> list[Notice]:
        """The person's pending notices, oldest first: 1 Query."""
        with errors():
            items = NoticeItem.query(keys.person_pk(person_id), NoticeItem.sk.startswith(keys.NOTICE_PREFIX))
            return [
                Notice(
                    NoticeCode(i.code),
                    datetime.fromisoformat(i.at),
                    i.account,
                    i.meter_id,
                    dict(i.params.as_dict()) if i.params else {},
                    i.sk,
                )
                for i in items
            ]

    def clear_notices(self, person_id: str, notice_ids: list[str]) -> None:
        """Delete told notices: BatchWriteItem."""
        with errors(), NoticeItem.batch_write() as batch:
            for notice_id in notice_ids:
                batch.delete(NoticeItem(keys.person_pk(person_id), notice_id))


def _session_from(item: SessionItem) -> SessionRecord:
    return SessionRecord(
        item.person_id,
        item.email,
        item.scope_account,
        item.csrf,
        datetime.fromisoformat(item.expires_at),
        None if item.token_generation is None else int(item.token_generation),
        item.token_link,
    )
