"""Reminders before a window closes: who still owes readings, told once through Viber, at Viber's pace.

A round is one organization's open window and one offset (`REMINDER_HOURS`, 48 and 24 by default);
it is due from that many hours before the window's end. The window close's schedule (every 15
minutes) calls `send_due`: each due round goes shard by shard through the organization's meters (the
sharded OrgMeters index, never a Scan), keeps the accounts with a meter still lacking a reading of the
month, and their linked people's subscribed Viber users (the person's pointers to their Viber users).
Each Viber user gets one message per round, listing every such meter of every account they are linked
to in that organization: the "sent" marker (one conditional PutItem per Viber user and round) is
written before the message goes, so a re-run, a retry or two runs at once never send twice, and a send
that fails is counted and logged, not tried again. A shard done is recorded, so later runs skip it;
a run out of time leaves the rest to the next one (its markers keep it from repeating itself).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ekc import clock
from ekc.channels import viber as words
from ekc.config import ReminderSettings, reminder_settings
from ekc.domain.model import Organization
from ekc.domain.reminders import due_offset
from ekc.domain.windows import window_state
from ekc.observability import count, logger
from ekc.services.closing import AccountDue, MeterDue, meters_due, reminder_candidates
from ekc.storage import get_stores, keys
from ekc.storage.ports import ReminderKey, Stores, ViberIdentity
from ekc.viber_api import Sent, ViberSender

SLOW_DOWN_SECONDS = 5.0  # after Viber's "too many requests": a pause before the next message


@dataclass
class RoundReport:
    """What one invocation did for one round."""

    org_id: str
    month: str
    hours: int
    sent: int = 0
    failed: int = 0
    already: int = 0  # Viber users reminded before (by an earlier run)
    shards_done: int = 0  # of keys.ORG_SHARDS, counting earlier runs'
    reasons: Counter[str] = field(default_factory=Counter)  # failures by reason

    def as_dict(self) -> dict[str, object]:
        """JSON for the operator's answer."""
        return {
            "org": self.org_id,
            "month": self.month,
            "hours_before_close": self.hours,
            "sent": self.sent,
            "failed": self.failed,
            "reminded_before": self.already,
            "shards_done": self.shards_done,
            "shards": keys.ORG_SHARDS,
            "failures": dict(sorted(self.reasons.items())),
        }


@dataclass
class ReminderReport:
    """What one invocation did for every due round."""

    now: datetime
    rounds: list[RoundReport] = field(default_factory=list)
    skipped: str | None = None  # why nothing was looked at (no offsets configured, no Viber token)

    def as_dict(self) -> dict[str, object]:
        """JSON for the operator's answer."""
        out: dict[str, object] = {"now": self.now.isoformat(), "rounds": [r.as_dict() for r in self.rounds]}
        if self.skipped:
            out["skipped"] = self.skipped
        return out


class Throttle:
    """At most `rate` messages a second, spaced evenly (Viber's limits: docs/viber.md "Reminders")."""

    def __init__(
        self,
        rate: float,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._gap = 1.0 / rate
        self._monotonic = monotonic
        self._sleep = sleep
        self._next = monotonic()
        self._lock = threading.Lock()

    def wait(self) -> None:
        """Block until the next message may go."""
        with self._lock:
            now = self._monotonic()
            if now < self._next:
                self._sleep(self._next - now)
                now = self._next
            self._next = now + self._gap

    def pause(self, seconds: float) -> None:
        """Send nothing for a while (Viber said "too many requests")."""
        with self._lock:
            self._next = max(self._next, self._monotonic()) + seconds


def _no_limit() -> float:
    return float("inf")


def default_sender() -> ViberSender | None:
    """The HTTP sender on VIBER_API_URL with the bot's token, or None when no token is configured."""
    from pydantic import ValidationError

    from ekc.config import viber_settings
    from ekc.viber_api import HttpViberSender

    try:
        return HttpViberSender(viber_settings())
    except ValidationError:
        return None


def send_due(
    *,
    now: datetime | None = None,
    org_id: str | None = None,
    stores: Stores | None = None,
    sender: ViberSender | None = None,
    settings: ReminderSettings | None = None,
    time_left: Callable[[], float] | None = None,
    throttle: Throttle | None = None,
) -> ReminderReport:
    """Send every reminder due now (or for one organization); what was done, per round."""
    settings = settings or reminder_settings()
    now = now or clock.now()
    report = ReminderReport(now)
    if not settings.offsets:
        report.skipped = "no_offsets"
        return report
    stores = stores or get_stores()
    rounds = due_rounds(stores.catalogue.organizations(), settings.offsets, now, org_id)
    if not rounds:
        return report
    sender = sender or default_sender()
    if sender is None:
        logger.error("reminders due but no Viber auth token configured: nothing sent")
        report.skipped = "no_viber_token"
        return report
    work = _Work(
        stores=stores,
        sender=sender,
        now=now,
        keep_until=now + timedelta(days=settings.reminder_keep_days),
        throttle=throttle or Throttle(settings.reminder_rate_per_second),
        time_left=time_left or _no_limit,
        margin=settings.reminder_margin_seconds,
    )
    for org, key in rounds:
        report.rounds.append(work.round(org, key))
    return report


def due_rounds(
    organizations: dict[str, Organization], offsets: Iterable[int], now: datetime, org_id: str | None = None
) -> list[tuple[Organization, ReminderKey]]:
    """Each organization's open window whose reminder is due now, with the offset due."""
    found = []
    for oid in sorted(organizations):
        if org_id is not None and oid != org_id:
            continue
        org = organizations[oid]
        state = window_state(org.rule, now)
        if not state.open:
            continue
        hours = due_offset(offsets, state.ends_at, now)
        if hours is not None:
            found.append((org, ReminderKey(oid, state.billing_month, hours)))
    return found


@dataclass
class _Work:
    stores: Stores
    sender: ViberSender
    now: datetime
    keep_until: datetime
    throttle: Throttle
    time_left: Callable[[], float]
    margin: int

    def out_of_time(self) -> bool:
        return self.time_left() < self.margin

    def round(self, org: Organization, key: ReminderKey) -> RoundReport:
        """One round, shard by shard, skipping shards an earlier run finished."""
        report = RoundReport(org.id, str(key.month), key.hours)
        done = self.stores.reminders.shards_done(key)
        seen: set[str] = set()  # people this run has dealt with (a person may have accounts in many shards)
        for shard in range(keys.ORG_SHARDS):
            if shard in done:
                continue
            if self.out_of_time():
                break
            if self._shard(org, key, shard, report, seen):
                self.stores.reminders.finish_shard(key, shard, self.now, self.keep_until)
                done.add(shard)
        report.shards_done = len(done)
        # One metric line per round and reason, not per message (a round may send tens of thousands).
        if report.sent:
            count("RemindersSent", "organization", org.id, report.sent)
        for reason, n in sorted(report.reasons.items()):
            count("RemindersFailed", "reason", reason, n)
        if report.reasons:  # the total, one series the alarm watches whatever the reasons
            count("RemindersFailed", "reason", "all", sum(report.reasons.values()))
        logger.info("reminders", extra=report.as_dict())
        return report

    def _shard(
        self, org: Organization, key: ReminderKey, shard: int, report: RoundReport, seen: set[str]
    ) -> bool:
        """The shard's reminders; False when time ran out before all were looked at."""
        for due in reminder_candidates(org.id, key.month, stores=self.stores, now=self.now, shards=[shard]):
            for person_id in sorted(due.people - seen):
                if self.out_of_time():
                    return False
                seen.add(person_id)
                self._person(org, key, person_id, due, report)
        return True

    def _person(
        self, org: Organization, key: ReminderKey, person_id: str, due: AccountDue, report: RoundReport
    ) -> None:
        """Remind each subscribed Viber user who is this person, once per round."""
        viber_users = [v for v in self.stores.viber_users.of_person(person_id) if v.subscribed]
        meters: list[tuple[str, MeterDue]] | None = None
        for viber_user in viber_users:
            # The marker first: whatever happens next, this reminder is never sent again.
            if not self.stores.reminders.mark(viber_user.viber_id, key, self.now, self.keep_until):
                report.already += 1
                continue
            if meters is None:
                meters = self._meters_of(person_id, org, key, due)
            screen = words.reminder(
                org.name,
                key.month,
                due.closes_at,
                [(number, m.meter, m.bot_value) for number, m in meters],
            )
            self._send(viber_user, org, key, {"text": screen.text, "keyboard": screen.keyboard()}, report)

    def _meters_of(
        self, person_id: str, org: Organization, key: ReminderKey, due: AccountDue
    ) -> list[tuple[str, MeterDue]]:
        """Every meter due in this organization of every account the person is linked to."""
        found = [(due.account, m) for m in due.meters]
        for linked in self.stores.people.linked_accounts(person_id):
            if linked.number == due.account:
                continue
            bundle = self.stores.accounts.load_account(linked.number)
            if bundle is None or person_id not in bundle.linked_people:
                continue
            found += [(linked.number, m) for m in meters_due(bundle.meters, org.id, key.month, self.now)]
        return sorted(found, key=lambda pair: (pair[0], pair[1].meter.id))

    def _send(
        self,
        viber_user: ViberIdentity,
        org: Organization,
        key: ReminderKey,
        message: dict[str, object],
        report: RoundReport,
    ) -> None:
        self.throttle.wait()
        try:
            sent: Sent = self.sender.send(viber_user.viber_id, message)
        except Exception as exc:  # a sender bug must not stop the round: this one is counted, not retried
            logger.exception("reminder send raised")
            sent = Sent(False, type(exc).__name__)
        if sent.ok:
            report.sent += 1
            return
        report.failed += 1
        report.reasons[sent.reason or "unknown"] += 1
        logger.warning(
            "reminder not delivered",
            extra={"who": _who(viber_user.viber_id), "reason": sent.reason, "round": str(key)},
        )
        if sent.unreachable:
            # Viber says they cannot get messages: nothing more is ever sent to them first.
            self.stores.viber_users.set_subscribed(viber_user.viber_id, False, self.now)
        if sent.too_fast:
            self.throttle.pause(SLOW_DOWN_SECONDS)


def _who(viber_id: str) -> str:
    """A Viber user in logs: a short hash, never the id itself."""
    return hashlib.sha256(viber_id.encode()).hexdigest()[:12]
