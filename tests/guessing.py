"""A simulated city under a guessing attack: many identities, many accounts, parallel bursts.

Counted, not timed: the clock is an argument, a "burst" is a set of requests made to read their
counters all before any of them writes (the worst interleaving DynamoDB could give them, whatever
the number of containers), and the expected number of accounts linked is summed from the guesses
that were judged. `tests/unit/test_guessing_simulation.py` runs it; docs/decisions.md quotes it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from random import Random

from ekc.domain.identity import PersonCaller
from ekc.domain.model import Account
from ekc.exceptions import DomainError, TooManyAttempts
from ekc.storage.ports import Stores
from tests.fakes import FakeStores

SRC_VALUES = 1000
# The attacker's best guess at a holder's surname: the most common one. Its share of holders is an
# assumption of the arithmetic (docs/decisions.md); the simulated city gives it exactly that share.
COMMON_SURNAME = "Мельник"
_TALLY_LOCK = threading.Lock()
_SYLLABLES = ("ко", "ва", "лен", "шев", "чен", "бон", "дар", "мар", "тин", "гор", "ше", "нь", "ов", "ук")


class Outcome(StrEnum):
    """What one link request came to."""

    LINKED = "linked"  # judged, right
    WRONG = "wrong"  # judged, wrong
    HOLDER_NEEDED = "holder_needed"  # not judged: the code alone may not be judged now
    PAUSED = "paused"  # not judged: a budget is spent


JUDGED = frozenset({Outcome.LINKED, Outcome.WRONG})


def outcome_of(call: Callable[[], object]) -> Outcome:
    """Run a link request and classify its answer."""
    try:
        call()
    except TooManyAttempts:
        return Outcome.PAUSED
    except DomainError as exc:
        if exc.code == "link_refused":
            return Outcome.WRONG
        if exc.code == "holder_needed":
            return Outcome.HOLDER_NEEDED
        raise
    return Outcome.LINKED


@dataclass
class City:
    """Accounts with random SRC codes; `common_share` of the holders bear the most common surname."""

    stores: FakeStores
    numbers: list[str]
    common_share: float

    def account(self, number: str) -> Account:
        """An account of the city."""
        found = self.stores.accounts.get_account(number)
        assert found is not None
        return found


def build_city(size: int, seed: int, common_share: float = 0.01) -> City:
    """A city of `size` accounts numbered from 100000 (6 digits, so account + SRC is 9 digits)."""
    rng = Random(seed)
    stores = FakeStores()
    numbers = [str(100000 + n) for n in range(size)]
    for number in numbers:
        if rng.random() < common_share:
            surname = COMMON_SURNAME
        else:
            surname = "".join(rng.choice(_SYLLABLES) for _ in range(3)).capitalize() + "енко"
        src = f"{rng.randrange(SRC_VALUES):03d}"
        # Straight into the fake's dict: put_account's copy costs seconds at a city's size.
        stores.fake_accounts.accounts[number] = Account(
            number, src, f"{surname} А. Б.", f"вул. Перша, {number}", "Кременчук", "05366"
        )
    return City(stores, numbers, common_share)


class Gate:
    """Holds each request after its first read of the counters until every request of the burst has
    read them: nobody writes before everybody has read."""

    def __init__(self, parties: int, timeout: float = 5.0) -> None:
        self._parties = parties
        self._arrived = 0
        self._timeout = timeout
        self._condition = threading.Condition()
        self._passed = threading.local()

    def __call__(self) -> None:
        if getattr(self._passed, "yes", False):
            return
        self._passed.yes = True
        with self._condition:
            self._arrived += 1
            self._condition.notify_all()
            self._condition.wait_for(lambda: self._arrived >= self._parties, self._timeout)


def install_gate(stores: Stores, gate: Callable[[], None] | None) -> None:
    """Make the fake's counter reads wait at `gate` once read (None: stop)."""
    stores.fake_attempts.after_read = gate  # type: ignore[attr-defined]


# How a simulation asks the service: (person, code, holder surname or None, now) -> None or raises.
LinkByCode = Callable[[PersonCaller, str, str | None, datetime], object]
LinkByQr = Callable[[PersonCaller, Account, datetime], object]


def service_link_by_code(stores: Stores) -> LinkByCode:
    """`accounts.link_account` on these stores."""
    from ekc.services import accounts

    def link(caller: PersonCaller, code: str, holder: str | None, now: datetime) -> object:
        return accounts.link_account(caller, code, holder=holder, stores=stores, now=now)

    return link


def service_link_by_qr(stores: Stores) -> LinkByQr:
    """`accounts.link_by_token` with the account's printed Viber token, on these stores."""
    from ekc.services import accounts, qrcodes

    def link(caller: PersonCaller, account: Account, now: datetime) -> object:
        generation = stores.accounts.token_generations([account.number])[account.number]
        token = qrcodes.invoice_links(account.number, generation, now).viber.split("context=", 1)[1]
        return accounts.link_by_token(caller, token, stores=stores, now=now)

    return link


@dataclass
class Tally:
    """What a simulation counted."""

    requests: int = 0
    judged_code: int = 0  # account + SRC alone, judged
    judged_holder: int = 0  # account + SRC + surname, judged
    expected_links: float = 0.0  # the attacker's expected number of accounts linked, summed per judged guess
    linked: set[str] = field(default_factory=set)  # accounts the attacker actually linked
    holder_tries: int = 0
    holder_linked_by_code: int = 0  # the holder linked by code (alone or with the surname)
    holder_refused_by_code: int = 0  # the holder's code (and surname) was not judged: a budget was spent
    holder_linked_by_qr: int = 0  # ... and then linked with the invoice's QR
    holder_locked_out: int = 0  # the holder could not link at all (must stay 0)

    @property
    def judged(self) -> int:
        """Every judged guess."""
        return self.judged_code + self.judged_holder

    @property
    def holder_refused_share(self) -> float:
        """How often the holder's own code was refused (not judged)."""
        return self.holder_refused_by_code / self.holder_tries if self.holder_tries else 0.0


class Attacker:
    """Spreads guesses over many accounts from many throwaway identities; never repeats a refuted code;
    adds the most common surname whenever the service asks for the holder's."""

    def __init__(self, city: City, seed: int, identities: int, targets: list[str], tally: Tally) -> None:
        self._city = city
        self._rng = Random(seed)
        self._identities = identities
        self._targets = targets
        self._tally = tally
        self._refuted: dict[str, set[str]] = {}
        self._lock = threading.Lock()
        self._next = 0

    def request(self, link: LinkByCode, now: datetime) -> Callable[[], Outcome]:
        """The next request: choose identity, account and an untried code now; run it later."""
        with self._lock:
            n = self._next
            self._next += 1
            number = self._targets[n % len(self._targets)]
            refuted = self._refuted.setdefault(number, set())
            code = f"{self._rng.randrange(SRC_VALUES):03d}"
            while code in refuted:
                code = f"{self._rng.randrange(SRC_VALUES):03d}"
        caller = PersonCaller(f"attacker-{n % self._identities}")

        def run() -> Outcome:
            first = outcome_of(lambda: link(caller, number + code, None, now))
            outcome = first
            if first is Outcome.HOLDER_NEEDED:
                outcome = outcome_of(lambda: link(caller, number + code, COMMON_SURNAME, now))
            self._count(number, code, outcome, with_holder=first is Outcome.HOLDER_NEEDED)
            return outcome

        return run

    def _count(self, number: str, code: str, outcome: Outcome, *, with_holder: bool) -> None:
        with self._lock:
            t = self._tally
            t.requests += 1
            if outcome not in JUDGED:
                return
            refuted = self._refuted[number]
            chance = 1 / (SRC_VALUES - len(refuted))
            if with_holder:
                t.judged_holder += 1
                t.expected_links += self._city.common_share * chance
            else:
                t.judged_code += 1
                t.expected_links += chance
                if outcome is Outcome.WRONG:
                    refuted.add(code)  # only the code alone refutes a code for sure
            if outcome is Outcome.LINKED:
                t.linked.add(number)


def holder_request(
    city: City,
    number: str,
    who: str,
    link: LinkByCode,
    by_qr: LinkByQr | None,
    now: datetime,
    tally: Tally,
    typo: bool = False,
) -> Callable[[], Outcome]:
    """The real holder links their own account: the code (after a typo, if `typo`), the surname if
    asked, else the invoice's QR."""
    account = city.account(number)
    caller = PersonCaller(who)
    code = account.number + account.src
    mistyped = account.number + f"{(int(account.src) + 1) % SRC_VALUES:03d}"

    def run() -> Outcome:
        outcome = Outcome.WRONG if typo else None
        if typo:
            outcome = outcome_of(lambda: link(caller, mistyped, None, now))
        if outcome in (None, Outcome.WRONG):
            outcome = outcome_of(lambda: link(caller, code, None, now))
        if outcome is Outcome.HOLDER_NEEDED:
            outcome = outcome_of(lambda: link(caller, code, account.holder.split()[0], now))
        with _TALLY_LOCK:
            tally.holder_tries += 1
            if outcome is Outcome.LINKED:
                tally.holder_linked_by_code += 1
                return outcome
            tally.holder_refused_by_code += 1
        if by_qr is None:
            return outcome
        try:
            by_qr(caller, account, now)
        except DomainError:
            with _TALLY_LOCK:
                tally.holder_locked_out += 1
            return Outcome.PAUSED
        with _TALLY_LOCK:
            tally.holder_linked_by_qr += 1
        return Outcome.LINKED

    return run


@dataclass
class Plan:
    """An attack: how long, how often, how wide, against which accounts."""

    start: datetime
    days: float
    bursts_per_day: int
    burst: int  # the attacker's requests per burst, all in parallel
    identities: int
    targets: list[str]
    holders_per_burst: int = 1  # real holders linking their own accounts during the attack
    parallel: bool = True
    seed: int = 6


def simulate(
    city: City,
    plan: Plan,
    link: LinkByCode | None = None,
    by_qr: LinkByQr | None = None,
    install: Callable[[Stores, Callable[[], None] | None], None] = install_gate,
) -> Tally:
    """Run the attack against the city's stores and count what it achieved."""
    link = link or service_link_by_code(city.stores)
    tally = Tally()
    attacker = Attacker(city, plan.seed, plan.identities, plan.targets, tally)
    rng = Random(plan.seed + 1)
    step = timedelta(days=1) / plan.bursts_per_day
    bursts = int(plan.days * plan.bursts_per_day)
    with ThreadPoolExecutor(max_workers=plan.burst + plan.holders_per_burst) as pool:
        for b in range(bursts):
            now = plan.start + b * step
            calls = [attacker.request(link, now) for _ in range(plan.burst)]
            for h in range(plan.holders_per_burst):
                # The holder of an account the attacker is working on (the worst case for the holder).
                number = plan.targets[rng.randrange(len(plan.targets))]
                calls.append(holder_request(city, number, f"holder-{b}-{h}", link, by_qr, now, tally))
            if plan.parallel:
                gate = Gate(len(calls))
                install(city.stores, gate)
                try:
                    list(pool.map(lambda call: call(), calls))
                finally:
                    install(city.stores, None)
            else:
                for call in calls:
                    call()
    return tally


def yearly_cap(limit: int, window: timedelta, days: int = 365) -> int:
    """The most guesses a budget lets through in `days`: a span touches at most ceil(days/window) + 1
    windows, and any two adjacent ones together hold at most `limit`."""
    windows = -(-timedelta(days=days) // window) + 1
    return limit * -(-windows // 2)


@dataclass(frozen=True)
class Arithmetic:
    """The bound on what a determined attacker gets in a year (docs/decisions.md, "Guessing")."""

    code_guesses: int  # judged code-alone guesses, city-wide
    holder_guesses: int  # judged code + surname guesses, city-wide
    per_account: int  # judged guesses at one account, both ways together
    surname_share: float  # the most common surname's share of holders (the attacker's best guess)

    @property
    def expected_links(self) -> float:
        """Expected accounts linked: each judged guess has at most 1/(1000 - the account's refuted codes)."""
        chance = 1 / (SRC_VALUES - self.per_account)
        return self.code_guesses * chance + self.holder_guesses * self.surname_share * chance

    @property
    def one_account(self) -> float:
        """The chance to link one chosen account in a year, knowing its holder's surname."""
        return self.per_account / (SRC_VALUES - self.per_account)


def arithmetic(surname_share: float = 0.01, days: int = 365) -> Arithmetic:
    """The bound from the configured budgets (ekc.config.LinkingSettings)."""
    from ekc.config import linking_settings
    from ekc.services.accounts import DAY, MONTH

    s = linking_settings()
    return Arithmetic(
        code_guesses=yearly_cap(s.link_code_city_failures, MONTH, days),
        holder_guesses=yearly_cap(s.link_holder_city_failures, DAY, days),
        per_account=yearly_cap(s.link_code_account_failures, MONTH, days)
        + yearly_cap(s.link_holder_account_failures, MONTH, days),
        surname_share=surname_share,
    )
