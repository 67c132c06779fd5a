"""Storage: the one package that talks to DynamoDB, split by kind of data behind ports.Protocols."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

from ekc.storage.ports import Stores

if TYPE_CHECKING:
    from pynamodb.connection import Connection


@lru_cache(maxsize=1)
def connection() -> Connection:
    """The container's one DynamoDB connection (hence one botocore client), bound to the settings."""
    from ekc.config import storage_settings
    from ekc.storage.base import bind

    return bind(storage_settings())


def dynamodb_client() -> Any:
    """The shared botocore DynamoDB client, for libraries that take one (Powertools' idempotency)."""
    return connection().client


@lru_cache(maxsize=1)
def get_stores() -> Stores:
    """The production stores, made once per container, sharing one botocore client."""
    from ekc.config import storage_settings
    from ekc.storage.accounts import DynamoAccounts
    from ekc.storage.attempts import DynamoAttempts
    from ekc.storage.catalogue import DynamoCatalogue
    from ekc.storage.closes import DynamoCloses
    from ekc.storage.people import DynamoPeople
    from ekc.storage.readings import DynamoReadings
    from ekc.storage.recovery import DynamoRecovery
    from ekc.storage.reminders import DynamoReminders
    from ekc.storage.viber import DynamoViberUsers

    shared = connection()
    catalogue = DynamoCatalogue(storage_settings())
    return Stores(
        catalogue=catalogue,
        accounts=DynamoAccounts(),
        readings=DynamoReadings(shared),
        people=DynamoPeople(shared, catalogue),
        attempts=DynamoAttempts(shared),
        closes=DynamoCloses(),
        recovery=DynamoRecovery(shared),
        viber_users=DynamoViberUsers(shared),
        reminders=DynamoReminders(),
    )


def forget() -> None:
    """Drop the cached connection and stores (a test's new container)."""
    get_stores.cache_clear()
    connection.cache_clear()
