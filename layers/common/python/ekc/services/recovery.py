"""Password recovery by e-mail: a letter with a link that works once and expires, under quotas.

Nobody learns from the answer whether an e-mail is registered: the same answer (and the same quota)
whether a letter went out or not. A letter is counted against three quotas before it is sent (the
e-mail, the sender's address, the city) in one conditional transaction, so parallel requests cannot
send more than the limits allow. The letter's words are the door's (`letter`): services never word.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from ekc import clock
from ekc.config import link_settings, mail_settings
from ekc.domain.windows import KYIV
from ekc.exceptions import BadToken, NotFound, TooManyAttempts
from ekc.mail import Letter, Mailer, get_mailer
from ekc.services import auth
from ekc.storage import get_stores
from ekc.storage.ports import QuotaCell, ResetRecord, Stores
from ekc.tokens import hash_secret

# (link, minutes it works) -> (subject, text): the door's words for the letter.
Wording = Callable[[str, int], tuple[str, str]]


def link_minutes() -> int:
    """How long a recovery link works."""
    return mail_settings().recovery_link_minutes


def _quota_cells(email: str, sender: str, now: datetime) -> tuple[list[QuotaCell], datetime]:
    settings = mail_settings()
    seconds = settings.recovery_window_minutes * 60
    window = int(now.timestamp()) // seconds
    ends = datetime.fromtimestamp((window + 1) * seconds, UTC)
    expires = ends + timedelta(seconds=seconds)
    # The e-mail is hashed: a counter's key is no place for an address.
    whose = hashlib.sha256(email.encode()).hexdigest()[:32]
    cells = [
        QuotaCell(f"recovery-email#{whose}", window, settings.recovery_per_email, expires),
        QuotaCell(f"recovery-sender#{sender}", window, settings.recovery_per_address, expires),
        QuotaCell("recovery-city", window, settings.recovery_per_city, expires),
    ]
    return cells, ends


def request_recovery(
    email: str,
    sender: str,
    letter: Wording,
    *,
    stores: Stores | None = None,
    mailer: Mailer | None = None,
    now: datetime | None = None,
) -> None:
    """Send a recovery letter if the e-mail has a login; the same outcome to the caller either way.

    Requests: 1 TransactWriteItems (quotas) + 1 GetItem (the login) [+ 1 PutItem and 1 SES SendEmail
    when it has one]. TooManyAttempts("too_many_recovery") when a quota is spent for this hour.
    """
    settings = mail_settings()
    if not settings.enabled:
        raise NotFound("recovery_off")
    stores = stores or get_stores()
    now = now or clock.now()
    address = auth.normalize_email(email)
    cells, ends = _quota_cells(address, sender, now)
    if stores.recovery.take_quota(cells):
        raise TooManyAttempts("too_many_recovery", until=ends.astimezone(KYIV))
    login = stores.people.get_login(address)
    if login is None:
        return
    token = secrets.token_urlsafe(32)
    minutes = settings.recovery_link_minutes
    stores.recovery.put_reset(
        hash_secret(token), ResetRecord(login.person_id, address, now + timedelta(minutes=minutes))
    )
    # The token travels in the fragment, so it never reaches a server's access log.
    link = f"{link_settings().public_base_url}/#/reset/{token}"
    subject, text = letter(link, minutes)
    (mailer or get_mailer()).send(Letter(address, subject, text))


def reset_password(
    token: str, password: str, *, stores: Stores | None = None, now: datetime | None = None
) -> str:
    """Set a new password with a recovery link's token (once, before it expires); the login's e-mail.

    Every session of the person ends with it: whoever knew the old password (and signed in with it)
    is out. Requests: 1 GetItem + 1 TransactWriteItems + 1 Query [+ 1 BatchWriteItem per 12 sessions].
    BadToken("recovery_link") for a token unknown, used or expired; InvalidRequest("weak_password")
    for a password too short (the link stays usable).
    """
    if not mail_settings().enabled:
        raise NotFound("recovery_off")
    stores = stores or get_stores()
    now = now or clock.now()
    token_hash = hash_secret(token) if 0 < len(token) <= 128 else None
    record = None if token_hash is None else stores.recovery.get_reset(token_hash)
    if token_hash is None or record is None or record.expires_at <= now:
        raise BadToken("recovery_link")
    # Hashed only for a live link: a stream of made-up tokens costs a GetItem each, not an argon2 hash.
    stores.recovery.use_reset(token_hash, record, auth.hash_password(password), now)
    # After the password changed: a session opened with the old one after this Query would need the
    # old password to have been checked before the change, a race of milliseconds (docs/decisions.md).
    stores.people.end_sessions(record.person_id)
    return record.email
