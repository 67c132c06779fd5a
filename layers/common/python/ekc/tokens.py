"""Signed, purpose-bound tokens for the invoice's QR codes; the web, Viber and the print run share them.

A token is base64url(version | purpose | expiry | account | mac). The MAC is HMAC-SHA256 with a key
derived per purpose, so a Viber token can never be replayed as a web sign-in and the account number
never appears bare in a link.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
from datetime import datetime, timedelta
from enum import IntEnum

from ekc.exceptions import BadToken

_VERSION = 1
_MAC_BYTES = 16
_HEADER = struct.Struct(">BBI")  # version, purpose, expiry (unix seconds, 0 = never)


class Purpose(IntEnum):
    """What a token may be used for."""

    WEB_SIGN_IN = 1  # the invoice's "внести на сайт" QR: a session scoped to one account
    VIBER_LINK = 2  # the invoice's "внести через Viber" QR: links the account to a Viber user


def _key(secret: str, purpose: Purpose) -> bytes:
    return hmac.new(secret.encode(), f"ekc-token/{purpose.name}".encode(), hashlib.sha256).digest()


def make_token(secret: str, purpose: Purpose, account: str, expires: datetime | None = None) -> str:
    """A token binding `account` to `purpose`, valid until `expires` (or forever)."""
    expiry = 0 if expires is None else int(expires.timestamp())
    body = _HEADER.pack(_VERSION, purpose, expiry) + account.encode()
    mac = hmac.new(_key(secret, purpose), body, hashlib.sha256).digest()[:_MAC_BYTES]
    return base64.urlsafe_b64encode(body + mac).rstrip(b"=").decode()


def check_token(secret: str, purpose: Purpose, token: str, now: datetime) -> str:
    """The account a valid token was made for; BadToken if forged, for another purpose, or expired."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (ValueError, TypeError) as exc:
        raise BadToken() from exc
    # One token, one spelling: the decoder forgives stray characters and padding; we don't.
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode() != token:
        raise BadToken()
    if len(raw) <= _HEADER.size + _MAC_BYTES:
        raise BadToken()
    body, mac = raw[:-_MAC_BYTES], raw[-_MAC_BYTES:]
    version, token_purpose, expiry = _HEADER.unpack_from(body)
    expected = hmac.new(_key(secret, purpose), body, hashlib.sha256).digest()[:_MAC_BYTES]
    if not hmac.compare_digest(mac, expected) or version != _VERSION or token_purpose != purpose:
        raise BadToken()
    if expiry and now.timestamp() >= expiry:
        raise BadToken()
    account = body[_HEADER.size :].decode(errors="strict")
    if not account.isdigit():
        raise BadToken()
    return account


def web_token_expiry(now: datetime, days: int) -> datetime:
    """When a freshly printed web QR stops working."""
    return now + timedelta(days=days)


def hash_secret(value: str) -> str:
    """How session ids are stored: a leaked table must not hand out live sessions."""
    return hashlib.sha256(value.encode()).hexdigest()
