"""Web sign-up, sign-in (password or invoice QR), sessions and CSRF."""

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
from ekc.config import get_settings
from ekc.domain.model import Actor, Person
from ekc.exceptions import BadCredentials, Forbidden, InvalidRequest, NotSignedIn
from ekc.services import attempts, get_repository
from ekc.storage.repository import Repository, SessionRecord
from ekc.tokens import Purpose, check_token, hash_secret

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
MIN_PASSWORD = 8
MAX_PASSWORD = 256  # argon2 hashes anything, but a megabyte "password" is an attack, not a password


@lru_cache(maxsize=1)
def _hasher() -> PasswordHasher:
    """argon2id (the library's default type) with the configured cost; 4 lanes."""
    settings = get_settings()
    return PasswordHasher(
        time_cost=settings.argon2_time_cost, memory_cost=settings.argon2_memory_kib, parallelism=4
    )


@lru_cache(maxsize=1)
def _decoy_hash() -> str:
    # Verifying against a decoy for unknown e-mails keeps the answer time the same: no e-mail probing.
    return _hasher().hash(secrets.token_urlsafe(16))


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A new session: the cookie value (shown once, stored only hashed) and the actor it stands for."""

    token: str
    actor: Actor
    expires_at: datetime
    lifetime: timedelta


def _normalize_email(email: str) -> str:
    email = email.strip().lower()
    if len(email) > 254 or not _EMAIL.match(email):
        raise InvalidRequest("bad_email")
    return email


def _open_session(repo: Repository, now: datetime, person: Person | None, scope: str | None) -> SignedIn:
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(24)
    settings = get_settings()
    lifetime = timedelta(days=settings.session_days) if person else timedelta(hours=settings.qr_session_hours)
    expires = now + lifetime
    session_hash = hash_secret(token)
    email = person.email if person else None
    repo.create_session(
        session_hash, SessionRecord(person.id if person else None, email, scope, csrf, expires)
    )
    return SignedIn(token, Actor(session_hash, csrf, person, scope), expires, lifetime)


def sign_up(
    email: str, password: str, *, repo: Repository | None = None, now: datetime | None = None
) -> SignedIn:
    """A new person with an e-mail login, signed in: 1 TransactWriteItems + 1 PutItem."""
    repo = repo or get_repository()
    now = now or clock.now()
    email = _normalize_email(email)
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidRequest("weak_password")
    person = Person(uuid.uuid4().hex, email)
    repo.create_login(person.id, email, _hasher().hash(password), now)
    return _open_session(repo, now, person, None)


def sign_in(
    email: str, password: str, *, repo: Repository | None = None, now: datetime | None = None
) -> SignedIn:
    """E-mail and password; failures are rate-limited per e-mail. 1 BatchGetItem + 1 GetItem + 1 PutItem."""
    repo = repo or get_repository()
    now = now or clock.now()
    settings = get_settings()
    try:
        email = _normalize_email(email)
    except InvalidRequest as exc:
        raise BadCredentials() from exc
    keys = [f"signin#{email}"]
    minutes = settings.link_failure_window_minutes
    attempts.check(repo, keys, settings.signin_failures_allowed, minutes, now)
    login = repo.get_login(email)
    try:
        _hasher().verify(login.password_hash if login else _decoy_hash(), password[:MAX_PASSWORD])
        if login is None:
            raise BadCredentials()
    except (VerificationError, InvalidHashError, BadCredentials) as exc:
        attempts.fail(repo, keys, minutes, now)
        raise BadCredentials() from exc
    return _open_session(repo, now, Person(login.person_id, email), None)


def sign_in_by_qr(token: str, *, repo: Repository | None = None, now: datetime | None = None) -> SignedIn:
    """The invoice's web QR: a session that sees only that one account. 1 PutItem."""
    repo = repo or get_repository()
    now = now or clock.now()
    account = check_token(
        get_settings().token_signing_key.get_secret_value(), Purpose.WEB_SIGN_IN, token, now
    )
    return _open_session(repo, now, None, account)


def resolve(
    session_token: str | None, *, repo: Repository | None = None, now: datetime | None = None
) -> Actor:
    """The actor behind a session cookie, or NotSignedIn. 1 request (organizations come along when cold)."""
    if not session_token:
        raise NotSignedIn()
    repo = repo or get_repository()
    now = now or clock.now()
    session_hash = hash_secret(session_token)
    record, _ = repo.session_and_organizations(session_hash)
    if record is None or record.expires_at <= now:
        raise NotSignedIn()
    person = Person(record.person_id, record.email) if record.person_id else None
    return Actor(session_hash, record.csrf, person, record.scope_account)


def sign_out(actor: Actor, *, repo: Repository | None = None) -> None:
    """Revoke the session: 1 DeleteItem."""
    (repo or get_repository()).delete_session(actor.session_id)


def check_csrf(actor: Actor, header: str | None) -> None:
    """State-changing requests must echo the session's CSRF token."""
    if not header or not hmac.compare_digest(header.encode(), actor.csrf.encode()):
        raise Forbidden("csrf")
