"""Every key of the single table, built in one place (docs/storage.md lists them with their items)."""

from __future__ import annotations

import hashlib

CATALOG_KEY = ("CATALOG", "ORGANIZATIONS")
ACCOUNT_SK = "ACCOUNT"
TOKENS_SK = "TOKENS"
PROFILE_SK = "PROFILE"
LOGIN_SK = "LOGIN"
SESSION_SK = "SESSION"
LINK_PREFIX = "LINK#"
READING_PREFIX = "R#"
MONTH_PREFIX = "M#"
SAVE_SK = "SAVE"
NOTICE_PREFIX = "NOTICE#"
SESSION_POINTER_PREFIX = "SESS#"
RESET_SK = "RESET"
VIBER_IDENTITY_SK = "IDENTITY"
VIBER_POINTER_PREFIX = "VIBER#"

# Meters are spread over this many partitions of each organization index, so that no index partition
# is hot at a country's 50 million meters (docs/storage.md has the arithmetic). Changing it means
# re-writing every meter's index keys: a backfill.
ORG_SHARDS = 32


def account_pk(number: str) -> str:
    """The partition of an account: the account, its meters and its links."""
    return f"ACC#{number}"


def meter_sk(meter_id: str) -> str:
    """A meter inside its account's partition."""
    return f"MTR#{meter_id}"


def history_pk(meter_id: str) -> str:
    """The partition of a meter's history: one item per accepted submission."""
    return f"MTR#{meter_id}"


def reading_sk(at_iso: str, suffix: str) -> str:
    """A history item, ordered by server time; the suffix keeps two in one microsecond apart."""
    return f"{READING_PREFIX}{at_iso}#{suffix}"


def month_sk(billing_month: str) -> str:
    """A billing month's winner in its meter's history partition."""
    return f"{MONTH_PREFIX}{billing_month}"


def save_pk(account: str, key: str) -> str:
    """One submission's idempotency marker: the client's key, hashed (any length, any characters)."""
    return f"SAVE#{account}#{hashlib.sha256(key.encode()).hexdigest()[:32]}"


def person_pk(person_id: str) -> str:
    """The partition of a person: profile and the person's side of each link."""
    return f"PERSON#{person_id}"


def link_sk(whose: str) -> str:
    """A link: in an account's partition keyed by the person, in a person's by the account."""
    return f"{LINK_PREFIX}{whose}"


def notice_sk(at_iso: str, suffix: str) -> str:
    """A notice in a person's partition, oldest first."""
    return f"{NOTICE_PREFIX}{at_iso}#{suffix}"


def viber_pk(viber_id: str) -> str:
    """A Viber user's identity: which person they are and whether they are subscribed."""
    return f"VIBER#{viber_id}"


def person_viber_sk(viber_id: str) -> str:
    """In a person's partition: a Viber user who is this person (the reminders find them so)."""
    return f"{VIBER_POINTER_PREFIX}{viber_id}"


def reminded_pk(viber_id: str) -> str:
    """The reminders a Viber user was sent (one item per window and offset)."""
    return f"REMINDED#{viber_id}"


def reminded_sk(org_id: str, month: str, hours: int) -> str:
    """One reminder: an organization's window of a billing month, so many hours before its end."""
    return f"{org_id}#{month}#{hours}"


def reminder_run_pk(org_id: str, month: str, hours: int) -> str:
    """The partition of one reminder round (a window and an offset): one item per shard done."""
    return f"REMIND#{org_id}#{month}#{hours}"


def email_pk(email: str) -> str:
    """An e-mail login (its key makes e-mails unique)."""
    return f"EMAIL#{email}"


def session_pk(session_hash: str) -> str:
    """A web session, by the SHA-256 of its cookie."""
    return f"SESSION#{session_hash}"


def session_pointer_sk(session_hash: str) -> str:
    """A person's session, listed in the person's partition (so a password reset can end them all)."""
    return f"{SESSION_POINTER_PREFIX}{session_hash}"


def attempts_pk(key: str) -> str:
    """Failures at a guessable thing (a link code, a password)."""
    return f"ATTEMPTS#{key}"


def attempts_sk(window: int) -> str:
    """One counting window of failures."""
    return f"W#{window}"


def reset_pk(token_hash: str) -> str:
    """A password recovery, by the SHA-256 of its link's token (the token itself is never stored)."""
    return f"RESET#{token_hash}"


def quota_pk(key: str) -> str:
    """Requests counted against a limit (recovery letters per e-mail, per address, for the city)."""
    return f"QUOTA#{key}"


def quota_sk(window: int) -> str:
    """One counting window of a quota."""
    return f"W#{window}"


def shard_of(meter_id: str) -> int:
    """A meter's shard within its organization: stable, and even over many meters."""
    return int.from_bytes(hashlib.sha256(meter_id.encode()).digest()[:4], "big") % ORG_SHARDS


def org_index_pk(org_id: str, shard: int) -> str:
    """Partition key in the index of all meters of an organization (the export lists them)."""
    return f"ORG#{org_id}#{shard:02d}"


def bot_index_pk(org_id: str, shard: int) -> str:
    """Partition key in the sparse index of an organization's meters whose bot is on (the close)."""
    return f"BOT#{org_id}#{shard:02d}"


CLOSE_SK = "WINDOW"
CLOSE_SHARD_PREFIX = "SHARD#"


def close_pk(org_id: str, month: str) -> str:
    """The partition of one window's close: its record and its shards' progress."""
    return f"CLOSE#{org_id}#{month}"


def close_shard_sk(shard: int) -> str:
    """A shard's progress inside its window's close."""
    return f"{CLOSE_SHARD_PREFIX}{shard:02d}"
