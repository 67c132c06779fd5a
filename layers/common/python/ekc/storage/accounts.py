"""Accounts and their meters: one partition per account (account, meters, links)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import fields
from datetime import datetime
from decimal import Decimal

from pynamodb.exceptions import PutError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from ekc.domain.model import Account, AccountBundle, Meter
from ekc.domain.months import Month
from ekc.domain.values import format_value
from ekc.exceptions import Conflict, NotFound
from ekc.storage import convert, keys
from ekc.storage.base import errors, is_condition_failure
from ekc.storage.items import AccountItem, AccountLinkItem, AccountTokensItem, Item, MeterItem
from ekc.storage.ports import MeterKey

# What `update_meter` may change: domain field -> the item attribute holding it. The rest of a meter (its
# readings, bot amount, usage profile, daily count) is the service's; a change there is a programming error.
UPDATABLE = {
    "organization_id": "org_id",
    "kind": "kind",
    "unit": "unit",
    "digits": "digits",
    "serial": "serial",
    "note": "note",
    "next_verification": "next_verification",
    "sealed_on": "sealed_on",
    "previous_value": "prev_value",
    "previous_month": "prev_month",
    "seal_epoch": "seal_epoch",
    "bot_enabled": "bot_enabled",
    "retired_on": "retired_on",
    "opening_value": "opening_value",
    "opening_month": "opening_month",
}
BATCH_WRITE = 25  # DynamoDB's limit of a BatchWriteItem
BATCH_ATTEMPTS = 8

# Changing these moves the meter in or out of an index.
INDEXED = ("organization_id", "bot_enabled", "retired_on")


def meter_changes(read: Meter, wanted: Meter) -> list[str]:
    """The fields that differ; ValueError if any is not one `update_meter` may write."""
    changed = [f.name for f in fields(Meter) if getattr(read, f.name) != getattr(wanted, f.name)]
    foreign = [name for name in changed if name not in UPDATABLE]
    if foreign or read.id != wanted.id or read.account != wanted.account:
        raise ValueError(f"update_meter cannot change {foreign or 'the key'}")
    if wanted.bot_enabled and not read.bot_enabled:
        raise ValueError("update_meter only switches bots off; residents switch them on")
    return changed


class DynamoAccounts:
    """Accounts and meters in DynamoDB."""

    def meter_keys(self, org_id: str, shard: int, *, bots_only: bool) -> Iterator[MeterKey]:
        """One shard of an organization's meters (or of those whose bot is on): Query of an index, paged."""
        if bots_only:
            index, key = MeterItem.bot_meters, keys.bot_index_pk(org_id, shard)
        else:
            index, key = MeterItem.org_meters, keys.org_index_pk(org_id, shard)
        with errors():
            for item in index.query(key):
                yield MeterKey(item.pk.removeprefix("ACC#"), item.meter_id)

    def get_accounts(self, numbers: list[str]) -> list[Account]:
        """Accounts by number: BatchGetItem, 100 keys a request, unprocessed keys retried by PynamoDB."""
        with errors():
            items = AccountItem.batch_get([(keys.account_pk(n), keys.ACCOUNT_SK) for n in numbers])
            return [convert.account_from(item) for item in items]

    def existing_accounts(self, numbers: list[str]) -> set[str]:
        """Which accounts exist: BatchGetItem of their keys only, 100 a request."""
        with errors():
            items = AccountItem.batch_get(
                [(keys.account_pk(n), keys.ACCOUNT_SK) for n in numbers],
                attributes_to_get=["pk", "sk", "type"],
            )
            return {item.pk.removeprefix("ACC#") for item in items}

    def put_accounts(self, accounts: list[Account]) -> None:
        """Create or replace accounts: BatchWriteItem, 25 a request (the item is all billing's data)."""
        with errors(), AccountItem.batch_write() as batch:
            for account in accounts:
                batch.save(convert.account_to(account))

    def put_meters(self, meters: list[Meter]) -> None:
        """Create meters with their index keys: BatchWriteItem, 25 a request, unprocessed ones sent again.

        The items are built as attribute values directly: the import's cost is then DynamoDB's, not
        PynamoDB's item objects (`bench/billing_import.py` holds it to raw BatchWriteItem).
        """
        connection = MeterItem._get_connection()
        items = [convert.new_meter_attributes(m) for m in meters]
        with errors():
            for start in range(0, len(items), BATCH_WRITE):
                pending = items[start : start + BATCH_WRITE]
                for attempt in range(BATCH_ATTEMPTS):
                    answer = connection.batch_write_item(put_items=pending) or {}
                    left = answer.get("UnprocessedItems", {}).get(MeterItem.Meta.table_name) or []
                    pending = [request["PutRequest"]["Item"] for request in left]
                    if not pending:
                        break
                    time.sleep(min(0.05 * 2**attempt, 2.0))  # throttled: back off, as DynamoDB asks
                else:
                    raise PutError("unprocessed items remain after retries")

    def update_meter(self, read: Meter, wanted: Meter) -> bool:
        """Billing's change of a meter: 1 UpdateItem of the changed attributes, conditional on what it
        was decided on (no reading yet if the previous reading changes, the seal epoch and bot switch
        as read); False when the condition refused it."""
        changed = meter_changes(read, wanted)
        if not changed:
            return True
        actions, condition = _meter_update(read, wanted, changed)
        item = MeterItem(keys.account_pk(read.account), keys.meter_sk(read.id))
        with errors():
            try:
                item.update(actions=actions, condition=condition)
            except UpdateError as exc:
                if is_condition_failure(exc):
                    return False
                raise
        return True

    def get_meters(self, wanted: list[MeterKey]) -> list[Meter]:
        """Meters by key: BatchGetItem, 100 keys a request, unprocessed keys retried by PynamoDB."""
        found = []
        with errors():
            for item in MeterItem.batch_get(
                [(keys.account_pk(k.account), keys.meter_sk(k.meter_id)) for k in wanted]
            ):
                found.append(convert.meter_from(item, item.pk.removeprefix("ACC#")))
        return found

    def load_account(self, number: str) -> AccountBundle | None:
        """The account, its meters and who is linked to it: 1 Query of its partition."""
        account: Account | None = None
        meters: list[Meter] = []
        since: dict[str, datetime] = {}
        generation = 0
        with errors():
            for item in Item.query(keys.account_pk(number)):
                if isinstance(item, AccountItem):
                    account = convert.account_from(item)
                elif isinstance(item, AccountTokensItem):
                    generation = int(item.generation)
                elif isinstance(item, MeterItem):
                    meters.append(convert.meter_from(item, number))
                elif isinstance(item, AccountLinkItem):
                    since[item.person_id] = datetime.fromisoformat(item.linked_at)
        if account is None:
            return None
        meters.sort(key=lambda m: m.id)
        return AccountBundle(account, meters, frozenset(since), since, generation)

    def get_account(self, number: str) -> Account | None:
        """One account without its meters: 1 GetItem."""
        with errors():
            try:
                return convert.account_from(AccountItem.get(keys.account_pk(number), keys.ACCOUNT_SK))
            except AccountItem.DoesNotExist:
                return None

    def put_account(self, account: Account) -> None:
        """Create or replace an account (seed, billing import): 1 PutItem (not the token generation)."""
        with errors():
            convert.account_to(account).save()

    def bump_token_generation(self, number: str) -> int:
        """Raise the account's token generation: 1 GetItem (the account exists) + 1 UpdateItem (ADD)."""
        if self.get_account(number) is None:
            raise NotFound()
        item = AccountTokensItem(keys.account_pk(number), keys.TOKENS_SK)
        with errors():
            # The discriminator is set too: the first bump creates the item.
            item.update(
                actions=[AccountTokensItem.generation.add(1), AccountTokensItem.type.set(AccountTokensItem)]
            )
        return int(item.generation)

    def token_generations(self, numbers: list[str]) -> dict[str, int]:
        """The token generation of each account (0 when never raised): BatchGetItem, 100 keys a request."""
        found = dict.fromkeys(numbers, 0)
        with errors():
            for item in AccountTokensItem.batch_get([(keys.account_pk(n), keys.TOKENS_SK) for n in numbers]):
                found[item.pk.removeprefix("ACC#")] = int(item.generation)
        return found

    def put_meter(self, meter: Meter) -> None:
        """Create or replace a meter with its index keys (seed, billing import): 1 PutItem."""
        with errors():
            convert.meter_to(meter).save()

    def set_bot(self, meter: Meter, enabled: bool, amount: Decimal) -> Meter:
        """Switch a meter's bot, entering or leaving the bots' index: 1 UpdateItem.

        Only if the meter exists (NotFound) and was not re-sealed since it was read (Conflict).
        """
        item = MeterItem(keys.account_pk(meter.account), keys.meter_sk(meter.id))
        index_key = keys.bot_index_pk(meter.organization_id, keys.shard_of(meter.id))
        with errors():
            try:
                item.update(
                    actions=[
                        MeterItem.bot_enabled.set(enabled),
                        MeterItem.bot_amount.set(format_value(amount)),
                        MeterItem.bot_pk.set(index_key) if enabled else MeterItem.bot_pk.remove(),
                    ],
                    condition=MeterItem.pk.exists() & (MeterItem.seal_epoch == meter.seal_epoch),
                )
            except UpdateError as exc:
                if not is_condition_failure(exc):
                    raise
                # Gone, or re-sealed since it was read (its bot went off): say which.
                try:
                    MeterItem.get(keys.account_pk(meter.account), keys.meter_sk(meter.id))
                except MeterItem.DoesNotExist:
                    raise NotFound() from exc
                raise Conflict("meter_resealed") from exc
        return convert.meter_from(item, meter.account)

    def set_seal_epoch(
        self,
        account: str,
        meter_id: str,
        epoch: int,
        opening: Decimal | None = None,
        opening_month: Month | None = None,
    ) -> Meter:
        """Record a verification or re-sealing; the bot goes off and leaves the index: 1 UpdateItem.

        With an opening value (the new dial's first reading), later readings are compared with it.
        """
        item = MeterItem(keys.account_pk(account), keys.meter_sk(meter_id))
        actions = [
            MeterItem.seal_epoch.set(epoch),
            MeterItem.bot_enabled.set(False),
            MeterItem.bot_pk.remove(),
        ]
        if opening is not None and opening_month is not None:
            actions += [
                MeterItem.opening_value.set(format_value(opening)),
                MeterItem.opening_month.set(str(opening_month)),
            ]
        with errors():
            try:
                item.update(
                    actions=actions,
                    condition=MeterItem.pk.exists() & (MeterItem.seal_epoch < epoch),
                )
            except UpdateError as exc:
                if not is_condition_failure(exc):
                    raise
                # Already at this epoch (a replay) or the meter is gone: read what is there.
                try:
                    item = MeterItem.get(keys.account_pk(account), keys.meter_sk(meter_id))
                except MeterItem.DoesNotExist:
                    raise NotFound() from exc
        return convert.meter_from(item, account)


def _meter_update(read: Meter, wanted: Meter, changed: list[str]) -> tuple[list[Action], Condition]:
    M = MeterItem
    target = convert.meter_to(wanted)
    actions: list[Action] = []
    for name in changed:
        attribute = getattr(M, UPDATABLE[name])
        value = getattr(target, UPDATABLE[name])
        actions.append(attribute.remove() if value is None else attribute.set(value))
    condition = M.pk.exists()
    if "previous_value" in changed or "previous_month" in changed:
        # Billing's previous reading counts only while the service has none of its own.
        condition &= M.cur_month.does_not_exist()
    if "seal_epoch" in changed:
        condition &= M.seal_epoch == read.seal_epoch
    if any(name in changed for name in INDEXED):
        for attribute, value in ((M.org_pk, target.org_pk), (M.bot_pk, target.bot_pk)):
            actions.append(attribute.remove() if value is None else attribute.set(value))
        # The index keys follow the bot switch as read: a resident's switch meanwhile must win.
        condition &= M.bot_enabled == read.bot_enabled
        if read.retired_on is None:
            condition &= M.retired_on.does_not_exist()
        else:
            condition &= M.retired_on == read.retired_on.isoformat()
    return actions, condition
