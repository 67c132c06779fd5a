"""What operators do to meters: a verification or re-sealing starts a new seal epoch."""

from __future__ import annotations

from ekc.domain.model import Meter
from ekc.observability import logger
from ekc.storage import get_stores
from ekc.storage.ports import Stores


def record_seal(account: str, meter_id: str, epoch: int, *, stores: Stores | None = None) -> Meter:
    """A meter was verified or re-sealed: its bot goes off until the resident turns it on again.

    Conditional on the epoch moving forward, so replaying the same event changes nothing. 1 UpdateItem.
    """
    meter = (stores or get_stores()).accounts.set_seal_epoch(account, meter_id, epoch)
    logger.info("meter resealed", extra={"meter_id": meter_id, "seal_epoch": meter.seal_epoch})
    return meter
