"""PynamoDB items of the single table. Keys: see docs/storage.md. Values are exact decimal strings."""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    DiscriminatorAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
)
from pynamodb.indexes import GlobalSecondaryIndex, IncludeProjection
from pynamodb.models import Model


class Item(Model):
    """Every item of the table: a partition key, a sort key and its type."""

    class Meta:
        table_name = "MainTable"
        region = "eu-central-1"
        host: str | None = None
        max_retry_attempts = 3
        # A reading is "saved" only after DynamoDB said so: an answer that does not come must end well
        # inside the function's own time limit, so the door can still say "nothing saved, try again".
        connect_timeout_seconds = 2
        read_timeout_seconds = 3
        # The billing import and the print run send this many requests at once through the one client;
        # a door's request sends one at a time, so the extra connections are never opened there.
        max_pool_connections = 24

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    type = DiscriminatorAttribute()
    ttl = TTLAttribute(null=True)


class WindowMap(MapAttribute):
    """A window rule: readings for month M from day `opens_day` of M+`opens_offset`..."""

    opens_offset = NumberAttribute()
    opens_day = NumberAttribute()
    closes_offset = NumberAttribute()
    closes_day = NumberAttribute()


class OrganizationMap(MapAttribute):
    """One utility in the catalogue."""

    id = UnicodeAttribute()
    name = UnicodeAttribute()
    window = WindowMap()


class CatalogItem(Item, discriminator="Catalog"):
    """pk=CATALOG sk=ORGANIZATIONS: every organization with its window, read with the session in one call."""

    organizations = ListAttribute(of=OrganizationMap, default=list)


class DebtMap(MapAttribute):
    """Current debt and payment details."""

    amount = UnicodeAttribute()
    recipient = UnicodeAttribute()
    iban = UnicodeAttribute()
    purpose = UnicodeAttribute()
    as_of = UnicodeAttribute(null=True)  # YYYY-MM-DD


class AccountItem(Item, discriminator="Account"):
    """pk=ACC#<number> sk=ACCOUNT."""

    number = UnicodeAttribute()
    src = UnicodeAttribute()
    holder = UnicodeAttribute()
    address = UnicodeAttribute()
    city = UnicodeAttribute()
    city_code = UnicodeAttribute()
    debt = DebtMap(null=True)


class AccountTokensItem(Item, discriminator="AccountTokens"):
    """pk=ACC#<number> sk=TOKENS: the account's QR token generation (absent item = 0), raised by an
    operator's revocation. Its own item: billing's imports write the Account item whole."""

    generation = NumberAttribute(default=0)


class WarningMap(MapAttribute):
    """A warning given with an accepted reading."""

    code = UnicodeAttribute()
    params = MapAttribute(default=dict)


class OrgMetersIndex(GlobalSecondaryIndex):
    """Every meter of an organization, sharded (the export lists them; then reads them in batches)."""

    class Meta:
        index_name = "OrgMeters"
        # Keys, and the item type PynamoDB filters a subclass's queries on; both never change.
        projection = IncludeProjection(["type"])

    org_pk = UnicodeAttribute(hash_key=True)
    meter_id = UnicodeAttribute(range_key=True)


class BotMetersIndex(GlobalSecondaryIndex):
    """Sparse: only meters whose bot is on carry `bot_pk` (the window close reads this, never a Scan)."""

    class Meta:
        index_name = "BotMeters"
        projection = IncludeProjection(["type"])

    bot_pk = UnicodeAttribute(hash_key=True)
    meter_id = UnicodeAttribute(range_key=True)


class MeterItem(Item, discriminator="Meter"):
    """pk=ACC#<number> sk=MTR#<meter id>: the meter, its bot and the readings it shows now."""

    meter_id = UnicodeAttribute()
    kind = UnicodeAttribute()
    unit = UnicodeAttribute()
    org_id = UnicodeAttribute()
    digits = NumberAttribute(null=True)
    serial = UnicodeAttribute(null=True)
    note = UnicodeAttribute(default="")
    next_verification = UnicodeAttribute(null=True)
    prev_value = UnicodeAttribute(null=True)
    prev_month = UnicodeAttribute(null=True)
    cur_value = UnicodeAttribute(null=True)
    cur_month = UnicodeAttribute(null=True)
    cur_at = UnicodeAttribute(null=True)
    cur_channel = UnicodeAttribute(null=True)
    cur_who = UnicodeAttribute(null=True)
    cur_ip = UnicodeAttribute(null=True)
    cur_phone = UnicodeAttribute(null=True)
    cur_consumption = UnicodeAttribute(null=True)
    cur_warnings = ListAttribute(of=WarningMap, null=True)
    bot_enabled = BooleanAttribute(default=False)
    bot_amount = UnicodeAttribute(default="0.000")
    seal_epoch = NumberAttribute(default=0)
    usage = UnicodeAttribute(null=True)  # plausibility.UsageProfile.to_text(): the last 13 months of use
    opening_value = UnicodeAttribute(null=True)
    opening_month = UnicodeAttribute(null=True)
    day = UnicodeAttribute(null=True)  # Kyiv date of the last resident submission
    day_count = NumberAttribute(default=0)
    # Billing's date of the last verification or re-sealing; a later one switches the bot off.
    sealed_on = UnicodeAttribute(null=True)
    # Set when billing stopped listing the meter: no readings, out of both indexes, history kept.
    retired_on = UnicodeAttribute(null=True)
    # Index keys (keys.py): every live meter is in its organization's index; only bot-on ones in the bots'.
    org_pk = UnicodeAttribute(null=True)
    bot_pk = UnicodeAttribute(null=True)
    org_meters = OrgMetersIndex()
    bot_meters = BotMetersIndex()


class AccountLinkItem(Item, discriminator="AccountLink"):
    """pk=ACC#<number> sk=LINK#<person id>: who may see this account (read with the account)."""

    person_id = UnicodeAttribute()
    linked_at = UnicodeAttribute()


class PersonLinkItem(Item, discriminator="PersonLink"):
    """pk=PERSON#<id> sk=LINK#<number>: the person's addresses, with what the cabinet lists."""

    number = UnicodeAttribute()
    holder = UnicodeAttribute()
    address = UnicodeAttribute()
    city = UnicodeAttribute()
    city_code = UnicodeAttribute()
    linked_at = UnicodeAttribute()


class PersonItem(Item, discriminator="Person"):
    """pk=PERSON#<id> sk=PROFILE."""

    person_id = UnicodeAttribute()
    email = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()


class LoginItem(Item, discriminator="Login"):
    """pk=EMAIL#<lower-case e-mail> sk=LOGIN: makes e-mails unique and holds the argon2id hash."""

    person_id = UnicodeAttribute()
    password_hash = UnicodeAttribute()


class SessionItem(Item, discriminator="Session"):
    """pk=SESSION#<sha256 of the cookie> sk=SESSION; deleted on sign-out, expired by TTL and by check."""

    person_id = UnicodeAttribute(null=True)
    email = UnicodeAttribute(null=True)
    scope_account = UnicodeAttribute(null=True)
    csrf = UnicodeAttribute()
    expires_at = UnicodeAttribute()
    # An invoice-QR session: the token's generation and (hex) link, compared with the account on each use.
    token_generation = NumberAttribute(null=True)
    token_link = UnicodeAttribute(null=True)


class SessionPointerItem(Item, discriminator="SessionPointer"):
    """pk=PERSON#<id> sk=SESS#<sha256 of the cookie>: a person's session, written and deleted with it
    (same TTL), so ending every session of a person is a Query, not a Scan; the check never reads it."""

    expires_at = UnicodeAttribute()


class ReadingItem(Item, discriminator="Reading"):
    """pk=MTR#<meter id> sk=R#<server time>#<id>: every accepted submission, for history and disputes."""

    meter_id = UnicodeAttribute()
    account = UnicodeAttribute()
    billing_month = UnicodeAttribute()
    value = UnicodeAttribute()
    at = UnicodeAttribute()
    channel = UnicodeAttribute()
    who = UnicodeAttribute()
    ip = UnicodeAttribute(null=True)
    phone = UnicodeAttribute(null=True)
    consumption = UnicodeAttribute(null=True)
    warnings = ListAttribute(of=WarningMap, default=list)


class MonthItem(Item, discriminator="Month"):
    """pk=MTR#<meter id> sk=M#<YYYY-MM>: a billing month's winning reading, whatever the corrections."""

    meter_id = UnicodeAttribute()
    account = UnicodeAttribute()
    billing_month = UnicodeAttribute()
    value = UnicodeAttribute()
    at = UnicodeAttribute()
    channel = UnicodeAttribute()
    who = UnicodeAttribute()
    ip = UnicodeAttribute(null=True)
    phone = UnicodeAttribute(null=True)
    consumption = UnicodeAttribute(null=True)
    warnings = ListAttribute(of=WarningMap, default=list)


class SaveItem(Item, discriminator="Save"):
    """pk=SAVE#<account>#<key hash> sk=SAVE: one press of "save" (a message, a call's step), so a retry
    is recognised as the same submission; written in the save's own transaction; `ttl` two days."""

    # "saved"; "answered" (nothing to write: a question, a refusal); "abandoned" (a lost answer settled
    # as not saved, which now never can be)
    state = UnicodeAttribute()
    saved = MapAttribute(default=dict)  # meter id -> value saved
    at = UnicodeAttribute()


class NoticeItem(Item, discriminator="Notice"):
    """pk=PERSON#<id> sk=NOTICE#<server time>#<id>: to tell the person in their next conversation."""

    code = UnicodeAttribute()
    account = UnicodeAttribute(null=True)
    meter_id = UnicodeAttribute(null=True)
    params = MapAttribute(default=dict)
    at = UnicodeAttribute()


class ViberIdentityItem(Item, discriminator="ViberIdentity"):
    """pk=VIBER#<Viber user id> sk=IDENTITY: the person a Viber user is, and whether they are subscribed."""

    person_id = UnicodeAttribute()
    subscribed = BooleanAttribute(default=True)
    created_at = UnicodeAttribute()
    changed_at = UnicodeAttribute()


class PersonViberItem(Item, discriminator="PersonViber"):
    """pk=PERSON#<id> sk=VIBER#<Viber user id>: a pointer from a person to a Viber user who is them (the
    identity item decides: a pointer whose identity names another person now is ignored)."""

    viber_id = UnicodeAttribute()
    created_at = UnicodeAttribute()


class ReminderItem(Item, discriminator="Reminder"):
    """pk=REMINDED#<Viber user id> sk=<org>#<YYYY-MM>#<hours>: this reminder was taken to be sent
    (written before sending, on its absence: never twice); TTL."""

    at = UnicodeAttribute()


class ReminderShardItem(Item, discriminator="ReminderShard"):
    """pk=REMIND#<org>#<YYYY-MM>#<hours> sk=SHARD#<nn>: a shard whose reminders are all done; TTL."""

    shard = NumberAttribute()
    done_at = UnicodeAttribute()


class AttemptsItem(Item, discriminator="Attempts"):
    """pk=ATTEMPTS#<budget>#<whose> sk=W#<window number>: guesses reserved against a budget; TTL."""

    count = NumberAttribute(default=0)


class CloseItem(Item, discriminator="Close"):
    """pk=CLOSE#<org>#<YYYY-MM> sk=WINDOW: a window close's run, and once done its export's manifest."""

    org_id = UnicodeAttribute()
    month = UnicodeAttribute()
    run_id = UnicodeAttribute()
    started_at = UnicodeAttribute()
    ends_at = UnicodeAttribute()
    parts_done_at = UnicodeAttribute(null=True)
    done_at = UnicodeAttribute(null=True)
    manifest = UnicodeAttribute(null=True)


class CloseShardItem(Item, discriminator="CloseShard"):
    """pk=CLOSE#<org>#<YYYY-MM> sk=SHARD#<nn>: one shard's progress (bots, then export) and its lease."""

    shard = NumberAttribute()
    bots_done = BooleanAttribute(default=False)
    bots_cursor = UnicodeAttribute(null=True)
    export_done = BooleanAttribute(default=False)
    export_cursor = UnicodeAttribute(null=True)
    parts = ListAttribute(of=UnicodeAttribute, default=list)
    totals = MapAttribute(default=dict)  # counters and sums as exact decimal strings
    lease_token = UnicodeAttribute(null=True)
    lease_until = UnicodeAttribute(null=True)


class ResetItem(Item, discriminator="Reset"):
    """pk=RESET#<sha256 of the recovery link's token> sk=RESET: a password recovery waiting to be used
    (deleted when used; TTL removes it after it expired)."""

    person_id = UnicodeAttribute()
    email = UnicodeAttribute()
    expires_at = UnicodeAttribute()


class QuotaItem(Item, discriminator="Quota"):
    """pk=QUOTA#<what>#<whose> sk=W#<window>: requests counted against a limit (recovery letters)."""

    count = NumberAttribute(default=0)


MODELS: tuple[type[Item], ...] = (
    CatalogItem,
    AccountItem,
    AccountTokensItem,
    MeterItem,
    AccountLinkItem,
    PersonLinkItem,
    PersonItem,
    LoginItem,
    SessionItem,
    SessionPointerItem,
    ReadingItem,
    MonthItem,
    SaveItem,
    NoticeItem,
    ViberIdentityItem,
    PersonViberItem,
    ReminderItem,
    ReminderShardItem,
    AttemptsItem,
    CloseItem,
    CloseShardItem,
    ResetItem,
    QuotaItem,
)
