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
from ekc.config import link_settings, linking_settings, web_settings
from ekc.domain.identity import AccountCaller, PersonCaller, Proof
from ekc.exceptions import BadCredentials, Forbidden, InvalidRequest, NotSignedIn
from ekc.services import attempts
from ekc.storage import get_stores
from ekc.storage.ports import SessionRecord, Stores
from ekc.tokens import Purpose, check_token, hash_secret

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
    stores: Stores, now: datetime, caller: PersonCaller | AccountCaller, email: str | None
) -> SignedIn:
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(24)
    settings = web_settings()
    if isinstance(caller, PersonCaller):
        lifetime, person_id, scope = timedelta(days=settings.session_days), caller.person_id, None
    else:
        lifetime, person_id, scope = timedelta(hours=settings.qr_session_hours), None, caller.account
    expires = now + lifetime
    session_hash = hash_secret(token)
    stores.people.create_session(session_hash, SessionRecord(person_id, email, scope, csrf, expires))
    return SignedIn(token, WebSession(session_hash, csrf, caller, email), expires, lifetime)


def sign_up(
    email: str, password: str, *, stores: Stores | None = None, now: datetime | None = None
) -> SignedIn:
    """A new person with an e-mail login, signed in: 1 TransactWriteItems + 1 PutItem."""
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
    """E-mail and password; failures are rate-limited per e-mail. 1 BatchGetItem + 1 GetItem + 1 PutItem."""
    stores = stores or get_stores()
    now = now or clock.now()
    settings = web_settings()
    try:
        email = _normalize_email(email)
    except InvalidRequest as exc:
        raise BadCredentials() from exc
    keys = [f"signin#{email}"]
    minutes = linking_settings().link_failure_window_minutes
    attempts.check(stores.attempts, keys, settings.signin_failures_allowed, minutes, now)
    login = stores.people.get_login(email)
    try:
        _hasher().verify(login.password_hash if login else _decoy_hash(), password[:MAX_PASSWORD])
        if login is None:
            raise BadCredentials()
    except (VerificationError, InvalidHashError, BadCredentials) as exc:
        attempts.fail(stores.attempts, keys, minutes, now)
        raise BadCredentials() from exc
    return _open_session(stores, now, PersonCaller(login.person_id), email)


def sign_in_by_qr(token: str, *, stores: Stores | None = None, now: datetime | None = None) -> SignedIn:
    """The invoice's web QR: a session that sees only that one account. 1 PutItem."""
    stores = stores or get_stores()
    now = now or clock.now()
    account = check_token(
        link_settings().token_signing_key.get_secret_value(), Purpose.WEB_SIGN_IN, token, now
    )
    return _open_session(stores, now, AccountCaller(account, Proof.INVOICE_QR), None)


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
        caller = AccountCaller(record.scope_account, Proof.INVOICE_QR)
    else:
        raise NotSignedIn()
    return WebSession(session_hash, record.csrf, caller, record.email)


def sign_out(session: WebSession, *, stores: Stores | None = None) -> None:
    """Revoke the session: 1 DeleteItem."""
    (stores or get_stores()).people.delete_session(session.session_id)


def check_csrf(session: WebSession, header: str | None) -> None:
    """State-changing requests must echo the session's CSRF token."""
    if not header or not hmac.compare_digest(header.encode(), session.csrf.encode()):
        raise Forbidden("csrf")
