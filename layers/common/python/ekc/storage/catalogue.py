"""The organization catalogue: one item, cached per container for a minute."""

from __future__ import annotations

import time

from ekc.config import StorageSettings
from ekc.domain.model import Organization
from ekc.observability import count, logger
from ekc.storage import convert
from ekc.storage.base import errors
from ekc.storage.items import CatalogItem
from ekc.storage.keys import CATALOG_KEY


class DynamoCatalogue:
    """Organizations with their windows; the catalogue item is also read with a session when cold."""

    def __init__(self, settings: StorageSettings) -> None:
        self._ttl = settings.org_cache_seconds
        self._orgs: dict[str, Organization] | None = None
        self._until = 0.0

    def cached(self) -> dict[str, Organization] | None:
        """The organizations if the cache is fresh, else None."""
        if self._orgs is not None and time.monotonic() < self._until:
            return self._orgs
        return None

    def remember(self, catalog: CatalogItem | None) -> dict[str, Organization]:
        """Cache what a read of the catalogue item gave (None: no catalogue yet).

        An organization whose window rule makes no sense (an operator's typo in the console) is left
        out with an error and a metric the alarm watches: its meters say nothing, everyone else works.
        """
        orgs: dict[str, Organization] = {}
        for entry in catalog.organizations if catalog is not None else ():
            try:
                orgs[entry.id] = convert.org_from(entry)
            except (ValueError, TypeError, AttributeError) as exc:
                logger.error(
                    "broken window rule left out", extra={"org": getattr(entry, "id", "?"), "why": str(exc)}
                )
                # One series the alarm watches; the log names the org.
                count("BrokenWindowRule", "rule", "window")
        self._orgs = orgs
        self._until = time.monotonic() + self._ttl
        return orgs

    def organizations(self) -> dict[str, Organization]:
        """All organizations: cached for a minute, else 1 GetItem."""
        cached = self.cached()
        if cached is not None:
            return cached
        with errors():
            try:
                catalog = CatalogItem.get(*CATALOG_KEY)
            except CatalogItem.DoesNotExist:
                catalog = None
        return self.remember(catalog)

    def put_organizations(self, organizations: list[Organization]) -> None:
        """Replace the catalogue (seed, operators): 1 PutItem."""
        item = CatalogItem(*CATALOG_KEY, organizations=[convert.org_to(o) for o in organizations])
        with errors():
            item.save()
        self.remember(item)
