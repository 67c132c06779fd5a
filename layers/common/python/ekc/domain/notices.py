"""Notices: things to tell a person in their next conversation, in whatever door they use."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class NoticeCode(StrEnum):
    """What happened that the person should hear about."""

    # A meter was verified or re-sealed: its bot is off until the resident turns it on again.
    BOT_OFF_RESEALED = "bot_off_resealed"
    # Someone linked a new cabinet (web or Viber) to an account this person is linked to.
    ACCOUNT_LINKED = "account_linked"
    # Billing no longer lists a meter: it takes no readings; its history is kept.
    METER_RETIRED = "meter_retired"
    # A reading was saved but the door could not confirm it at the time (e.g. Viber did not deliver).
    READING_SAVED = "reading_saved"


@dataclass(frozen=True, slots=True)
class Notice:
    """One notice: a code, what it is about, and the values a channel needs to word it."""

    code: NoticeCode
    at: datetime
    account: str | None = None
    meter_id: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    id: str = ""  # set by storage
