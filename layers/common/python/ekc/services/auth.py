"""Web sign-up, sign-in (password or invoice QR), sessions and CSRF.

Only this module and the web API know about web sessions: a session resolves to a `Caller`, which is
all the other services see.
"""

from __future__ import annotations

import hmac
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ekc import clock
from ekc.config import link_settings, web_settings
from ekc.domain.identity import AccountCaller, Grant, PersonCaller, Proof
from ekc.exceptions import (
    BadCredentials,
    BadToken,
    Forbidden,
    InvalidRequest,
    NotFound,
    NotSignedIn,
    TooManyAttempts,
)
from ekc.services import access, attempts
from ekc.services.attempts import Budget, Claim
from ekc.storage import get_stores
from ekc.storage.ports import SessionRecord, Stores
from ekc.tokens import Purpose, hash_secret, read_token

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
MIN_PASSWORD = 8
MAX_PASSWORD = 256  # argon2 hashes anything, but a megabyte "password" is an attack, not a password


@lru_cache(maxsize=1)
def _hasher() -> PasswordHasher:
    """argon2id (the library's default type) with the configured cost; 4 lanes."""
    settings = web_settings()
    return PasswordHasher(
        time_cost=settings.argon2_time_cost, memory_cost=settings.argon2_memory_kib, parallelism=4
    )


@lru_cache(maxsize=1)
def _decoy_hash() -> str:
    # Verifying against a decoy for unknown e-mails keeps the answer time the same: no e-mail probing.
    return _hasher().hash(secrets.token_urlsafe(16))


def normalize_email(email: str) -> str:
    """An e-mail as logins are keyed (trimmed, lower case), or InvalidRequest("bad_email")."""
    return _normalize_email(email)


def hash_password(password: str) -> str:
    """An argon2id hash of an acceptable password, or InvalidRequest("weak_password")."""
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidRequest("weak_password")
    return _hasher().hash(password)


@dataclass(frozen=True, slots=True)
class WebSession:
    """A resolved web session: the caller it stands for, its id (the cookie's hash) and CSRF token."""

    session_id: str
    csrf: str
    caller: PersonCaller | AccountCaller
    email: str | None = None


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A new session: the cookie value (shown once, stored only hashed) and the session it opens."""

    token: str
    session: WebSession
    expires_at: datetime
    lifetime: timedelta


def _normalize_email(email: str) -> str:
    email = email.strip().lower()
    if len(email) > 254 or not _EMAIL.match(email):
        raise InvalidRequest("bad_email")
    return email


def _open_session(
    stores: Stores,
    now: datetime,
    caller: PersonCaller | AccountCaller,
    email: str | None,
    not_after: datetime | None = None,
) -> SignedIn:
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(24)
    settings = web_settings()
    if isinstance(caller, PersonCaller):
        lifetime, person_id, scope = timedelta(days=settings.session_days), caller.person_id, None
    else:
        lifetime, person_id, scope = timedelta(hours=settings.qr_session_hours), None, caller.account
    # A session opened by a token never outlives the token.
    if not_after is not None and now + lifetime > not_after:
        lifetime = not_after - now
    expires = now + lifetime
    grant = caller.grant if isinstance(caller, AccountCaller) else None
    record = SessionRecord(
        person_id,
        email,
        scope,
        csrf,
        expires,
        grant.generation if grant else None,
        grant.link.hex() if grant and grant.link else None,
    )
    session_hash = hash_secret(token)
    stores.people.create_session(session_hash, record)
    return SignedIn(token, WebSession(session_hash, csrf, caller, email), expires, lifetime)


def sign_up(
    email: str, password: str, *, stores: Stores | None = None, now: datetime | None = None
) -> SignedIn:
    """A new person with an e-mail login, signed in: 2 TransactWriteItems (the login, the session)."""
    stores = stores or get_stores()
    now = now or clock.now()
    email = _normalize_email(email)
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidRequest("weak_password")
    person_id = uuid.uuid4().hex
    stores.people.create_login(person_id, email, _hasher().hash(password), now)
    return _open_session(stores, now, PersonCaller(person_id), email)


def sign_in(
    email: str, password: str, *, stores: Stores | None = None, now: datetime | None = None
) -> SignedIn:
    """E-mail and password; each password check is reserved against the e-mail's budget first.

    Requests: 1 BatchGetItem + 1 TransactWriteItems (reserve) + 1 GetItem [+ 1 TransactWriteItems giving
    the reservation back + 1 TransactWriteItems opening the session (and its pointer) when the password
    was right].
    """
    stores = stores or get_stores()
    now = now or clock.now()
    settings = web_settings()
    try:
        email = _normalize_email(email)
    except InvalidRequest as exc:
        raise BadCredentials() from exc
    window = timedelta(minutes=settings.signin_window_minutes)
    budget = Budget("signin", settings.signin_failures_allowed, window)
    try:
        reserved = attempts.reserve(stores.attempts, [Claim(budget, email)], now)
    except attempts.Refused as refused:
        raise TooManyAttempts(until=refused.until) from None
    login = stores.people.get_login(email)
    try:
        _hasher().verify(login.password_hash if login else _decoy_hash(), password[:MAX_PASSWORD])
        if login is None:
            raise BadCredentials()
    except (VerificationError, InvalidHashError, BadCredentials) as exc:
        raise BadCredentials() from exc
    attempts.release(stores.attempts, reserved)
    return _open_session(stores, now, PersonCaller(login.person_id), email)


def sign_in_by_qr(token: str, *, stores: Stores | None = None, now: datetime | None = None) -> SignedIn:
    """The invoice's web QR: a session that sees only that one account, until the token expires at most.

    Never rate-limited (a token cannot be guessed). A token of a revoked generation, or handed out
    through a link that is gone, is a BadToken. Requests: 1 Query (the account) + 1 PutItem.
    """
    stores = stores or get_stores()
    now = now or clock.now()
    claims = read_token(link_settings().token_signing_key.get_secret_value(), Purpose.WEB_SIGN_IN, token, now)
    bundle = stores.accounts.load_account(claims.account)
    if bundle is None or not access.grant_holds(claims, bundle):
        raise BadToken()
    caller = AccountCaller(claims.account, Proof.INVOICE_QR, Grant(claims.generation, claims.link))
    return _open_session(stores, now, caller, None, not_after=claims.expires)


def resolve(
    session_token: str | None, *, stores: Stores | None = None, now: datetime | None = None
) -> WebSession:
    """The session behind a cookie, or NotSignedIn. 1 request (organizations come along when cold)."""
    if not session_token:
        raise NotSignedIn()
    stores = stores or get_stores()
    now = now or clock.now()
    session_hash = hash_secret(session_token)
    record, _ = stores.people.session_and_organizations(session_hash)
    if record is None or record.expires_at <= now:
        raise NotSignedIn()
    if record.person_id:
        caller: PersonCaller | AccountCaller = PersonCaller(record.person_id)
    elif record.scope_account:
        # Sessions stored before token generations existed were opened by generation-0 tokens.
        link = bytes.fromhex(record.link) if record.link else None
        grant = Grant(record.generation or 0, link)
        caller = AccountCaller(record.scope_account, Proof.INVOICE_QR, grant)
    else:
        raise NotSignedIn()
    return WebSession(session_hash, record.csrf, caller, record.email)


def confirm(session: WebSession, *, stores: Stores | None = None) -> WebSession:
    """The session, after checking that an invoice-QR session's token still holds (what /api/me asks;
    account routes check it with the account they read anyway). 1 Query for a QR session, else none."""
    if isinstance(session.caller, AccountCaller):
        try:
            access.load_for(session.caller, session.caller.account, stores or get_stores())
        except NotFound as exc:  # the account is gone from billing
            raise NotSignedIn("access_revoked") from exc
    return session


def sign_out(session: WebSession, *, stores: Stores | None = None) -> None:
    """Revoke the session: 1 TransactWriteItems (a person's, with its pointer) or 1 DeleteItem (QR)."""
    caller = session.caller
    person_id = caller.person_id if isinstance(caller, PersonCaller) else None
    (stores or get_stores()).people.delete_session(session.session_id, person_id)


def check_csrf(session: WebSession, header: str | None) -> None:
    """State-changing requests must echo the session's CSRF token."""
    if not header or not hmac.compare_digest(header.encode(), session.csrf.encode()):
        raise Forbidden("csrf")
