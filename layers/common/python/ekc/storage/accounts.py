"""Accounts and their meters: one partition per account (account, meters, links)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from pynamodb.exceptions import UpdateError

from ekc.domain.model import Account, AccountBundle, Meter
from ekc.domain.months import Month
from ekc.domain.values import format_value
from ekc.exceptions import Conflict, NotFound
from ekc.storage import convert, keys
from ekc.storage.base import errors, is_condition_failure
from ekc.storage.items import AccountItem, AccountLinkItem, Item, MeterItem
from ekc.storage.ports import MeterKey


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
        people: set[str] = set()
        with errors():
            for item in Item.query(keys.account_pk(number)):
                if isinstance(item, AccountItem):
                    account = convert.account_from(item)
                elif isinstance(item, MeterItem):
                    meters.append(convert.meter_from(item, number))
                elif isinstance(item, AccountLinkItem):
                    people.add(item.person_id)
        if account is None:
            return None
        meters.sort(key=lambda m: m.id)
        return AccountBundle(account, meters, frozenset(people))

    def get_account(self, number: str) -> Account | None:
        """One account without its meters: 1 GetItem."""
        with errors():
            try:
                return convert.account_from(AccountItem.get(keys.account_pk(number), keys.ACCOUNT_SK))
            except AccountItem.DoesNotExist:
                return None

    def put_account(self, account: Account) -> None:
        """Create or replace an account (seed, billing import): 1 PutItem."""
        with errors():
            convert.account_to(account).save()

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
