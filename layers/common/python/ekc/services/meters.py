"""What operators and the billing import do to meters: a re-sealing starts a new seal epoch."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from ekc import clock
from ekc.domain.model import Meter
from ekc.domain.notices import Notice, NoticeCode
from ekc.domain.windows import window_state
from ekc.exceptions import NotFound
from ekc.observability import logger
from ekc.services import notices
from ekc.storage import get_stores
from ekc.storage.ports import Stores


def record_seal(
    account: str,
    meter_id: str,
    epoch: int,
    *,
    opening: Decimal | None = None,
    stores: Stores | None = None,
    now: datetime | None = None,
) -> Meter:
    """A meter was verified, re-sealed or replaced: its bot goes off until the resident turns it on again.

    `opening` is the value the operator read on the (new) dial: the next reading is compared with it,
    not with the old meter's. The people linked to the account hear that the bot went off, in their
    next conversation. Conditional on the epoch moving forward, so replaying the same event changes
    nothing. 1 Query + 1 UpdateItem (+ the notices).
    """
    stores = stores or get_stores()
    now = now or clock.now()
    bundle = stores.accounts.load_account(account)
    before = next((m for m in bundle.meters if m.id == meter_id), None) if bundle else None
    if before is None:
        raise NotFound()
    opening_month = None
    if opening is not None:
        org = stores.catalogue.organizations().get(before.organization_id)
        if org is not None:
            # The reading of the window open now (or next) is the first one on the new dial.
            opening_month = window_state(org.rule, now).billing_month.plus(-1)
    after = stores.accounts.set_seal_epoch(account, meter_id, epoch, opening, opening_month)
    logger.info("meter resealed", extra={"meter_id": meter_id, "seal_epoch": after.seal_epoch})
    if before.seal_epoch < after.seal_epoch and before.bot_enabled:
        notice = Notice(NoticeCode.BOT_OFF_RESEALED, now, account=account, meter_id=meter_id)
        notices.tell_account(account, notice, stores=stores)
    return after
