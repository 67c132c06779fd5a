"""Signed, purpose-bound tokens for the invoice's QR codes; the web, Viber and the print run share them.

Version 2 (made since issue 6): base64url(version | purpose | expiry | generation | link length | link |
account | mac). The MAC is HMAC-SHA256 (first 16 bytes) with a key derived per purpose, so a Viber token
can never be replayed as a web sign-in and the account number never appears bare in a link.
- `generation` is the account's token generation when the token was made: raising the account's
  generation (`accounts.revoke_access`) voids every token made before, printed or handed out.
- `link` is set on tokens a cabinet handed out (the QR images of the web cabinet): the id of the link
  that was shown the code, so the token dies when that person unlinks.

Version 1 (printed before issue 6: no generation, no link) is still read, as generation 0 with no
link: invoices already in letterboxes keep working until their account's first revocation.
Every check of a token goes through `read_token`, and every caller compares the generation (and link)
with the account's (`ekc.services.access.grant_holds`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import IntEnum

from ekc.exceptions import BadToken

VERSION = 2
_V1 = 1
_MAC_BYTES = 16
LINK_BYTES = 8
MAX_GENERATION = 0xFFFF
_V1_HEADER = struct.Struct(">BBI")  # version, purpose, expiry (unix seconds, 0 = never)
_V2_HEADER = struct.Struct(">BBIHB")  # ... + generation, length of the link id (0 or LINK_BYTES)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Purpose(IntEnum):
    """What a token may be used for."""

    WEB_SIGN_IN = 1  # the invoice's "внести на сайт" QR: a session scoped to one account
    VIBER_LINK = 2  # the invoice's "внести через Viber" QR: links the account to a Viber user


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """What a valid token says: the account, the account's token generation it was made under, and
    the link it was handed out through (None for a printed token)."""

    account: str
    purpose: Purpose
    generation: int
    link: bytes | None
    expires: datetime | None
    version: int


def _key(secret: str, purpose: Purpose) -> bytes:
    return hmac.new(secret.encode(), f"ekc-token/{purpose.name}".encode(), hashlib.sha256).digest()


def _encode(secret: str, purpose: Purpose, body: bytes) -> str:
    mac = hmac.new(_key(secret, purpose), body, hashlib.sha256).digest()[:_MAC_BYTES]
    return base64.urlsafe_b64encode(body + mac).rstrip(b"=").decode()


def make_token(
    secret: str,
    purpose: Purpose,
    account: str,
    expires: datetime | None = None,
    *,
    generation: int = 0,
    link: bytes | None = None,
) -> str:
    """A version-2 token binding `account` to `purpose` and generation, valid until `expires` (or forever)."""
    if not 0 <= generation <= MAX_GENERATION:
        raise ValueError(f"token generation {generation} out of range")
    if link is not None and len(link) != LINK_BYTES:
        raise ValueError("a link id is 8 bytes")
    expiry = 0 if expires is None else int(expires.timestamp())
    link = link or b""
    body = _V2_HEADER.pack(VERSION, purpose, expiry, generation, len(link)) + link + account.encode()
    return _encode(secret, purpose, body)


def make_v1_token(secret: str, purpose: Purpose, account: str, expires: datetime | None = None) -> str:
    """A token as printed before version 2 (for tests of the invoices still in letterboxes)."""
    expiry = 0 if expires is None else int(expires.timestamp())
    return _encode(secret, purpose, _V1_HEADER.pack(_V1, purpose, expiry) + account.encode())


def read_token(secret: str, purpose: Purpose, token: str, now: datetime) -> TokenClaims:
    """What a valid token says; BadToken if forged, for another purpose, expired or malformed.

    The caller must still compare the generation and link with the account's (`access.grant_holds`).
    """
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (ValueError, TypeError) as exc:
        raise BadToken() from exc
    # One token, one spelling: the decoder forgives stray characters and padding; we don't.
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode() != token:
        raise BadToken()
    if len(raw) <= _V1_HEADER.size + _MAC_BYTES:
        raise BadToken()
    body, mac = raw[:-_MAC_BYTES], raw[-_MAC_BYTES:]
    expected = hmac.new(_key(secret, purpose), body, hashlib.sha256).digest()[:_MAC_BYTES]
    if not hmac.compare_digest(mac, expected):
        raise BadToken()
    # From here on the body is ours (the MAC covers the version byte): only its layout is read.
    version = body[0]
    if version == _V1:
        _, token_purpose, expiry = _V1_HEADER.unpack_from(body)
        generation, link, rest = 0, None, body[_V1_HEADER.size :]
    elif version == VERSION and len(body) > _V2_HEADER.size:
        _, token_purpose, expiry, generation, link_length = _V2_HEADER.unpack_from(body)
        if link_length not in (0, LINK_BYTES):
            raise BadToken()
        rest = body[_V2_HEADER.size :]
        link, rest = (rest[:link_length] or None), rest[link_length:]
    else:
        raise BadToken()
    if token_purpose != purpose:
        raise BadToken()
    if expiry and now.timestamp() >= expiry:
        raise BadToken()
    try:
        account = rest.decode("ascii")
    except UnicodeDecodeError as exc:
        raise BadToken() from exc
    if not account or not all("0" <= c <= "9" for c in account):
        raise BadToken()
    expires = datetime.fromtimestamp(expiry, UTC) if expiry else None
    return TokenClaims(account, purpose, generation, link, expires, version)


def link_id(person_id: str, linked_at: datetime) -> bytes:
    """The id of one link of a person to an account (a new link after unlinking gets a new id)."""
    micros = (linked_at - _EPOCH) // timedelta(microseconds=1)
    return hashlib.sha256(f"ekc-link/{person_id}/{micros}".encode()).digest()[:LINK_BYTES]


def web_token_expiry(now: datetime, days: int) -> datetime:
    """When a freshly printed web QR stops working."""
    return now + timedelta(days=days)


def hash_secret(value: str) -> str:
    """How session ids are stored: a leaked table must not hand out live sessions."""
    return hashlib.sha256(value.encode()).hexdigest()
