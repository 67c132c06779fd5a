"""The guessing arithmetic of docs/decisions.md, tested by simulation: many identities, many accounts,
parallel bursts, a simulated year; counted, not timed (tests/guessing.py)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from ekc.services import accounts
from tests.guessing import (
    Attacker,
    Plan,
    Tally,
    arithmetic,
    build_city,
    holder_request,
    service_link_by_code,
    service_link_by_qr,
    simulate,
)

START = datetime(2026, 1, 1, tzinfo=UTC)
CITY_SIZE = 100_000
SURNAME_SHARE = 0.01  # the arithmetic's assumption about the most common surname (docs/decisions.md)


@pytest.fixture(scope="module")
def city_seed() -> int:
    """One seed for the module's cities."""
    return 6


@pytest.fixture(autouse=True)
def metrics(monkeypatch: pytest.MonkeyPatch) -> Counter[tuple[str, str]]:
    """The linking service's metrics, counted instead of printed (a simulation emits thousands)."""
    seen: Counter[tuple[str, str]] = Counter()
    monkeypatch.setattr(
        accounts, "count", lambda name, _dim, value, amount=1: seen.update({(name, value): 1})
    )
    return seen


def test_guessing_arithmetic_is_well_below_one_account_a_year() -> None:
    # Given the configured budgets and a most common surname borne by 1 % of holders
    bound = arithmetic(SURNAME_SHARE)
    # Then a determined attacker's judged guesses a year are capped city-wide and per account
    assert (bound.code_guesses, bound.holder_guesses, bound.per_account) == (70, 3660, 28)
    # and the expected number of accounts linked by guessing in a year is about one in nine years
    assert bound.expected_links == pytest.approx(0.1097, abs=1e-4)
    assert bound.expected_links < 0.2
    # and one chosen account whose holder's surname the attacker knows falls with under 3 % a year
    assert bound.one_account < 0.03


def test_guessing_a_year_against_the_whole_city_stays_within_the_arithmetic(
    metrics: Counter[tuple[str, str]], city_seed: int
) -> None:
    # Given a city of 100,000 accounts, and an attacker with unlimited throwaway identities who sends
    # a parallel burst of 12 guesses twice a day for a year, spread over every account, adding the
    # most common surname whenever asked, while real holders link their accounts meanwhile
    city = build_city(CITY_SIZE, city_seed, SURNAME_SHARE)
    plan = Plan(START, days=365, bursts_per_day=2, burst=12, identities=10**6, targets=city.numbers)
    # When it runs
    tally = simulate(city, plan, by_qr=service_link_by_qr(city.stores))
    # Then no more guesses were judged than the arithmetic allows, and it had no less to work with
    bound = arithmetic(SURNAME_SHARE)
    assert tally.requests == 365 * 2 * 12
    assert tally.judged_code <= bound.code_guesses + len(tally.linked)
    assert tally.judged_holder <= bound.holder_guesses
    assert tally.judged_holder >= bound.holder_guesses - 20  # the attacker did spend the city's budget
    # so the expected number of accounts linked in the year is well below one
    assert tally.expected_links <= bound.expected_links
    assert tally.expected_links < 0.2
    # and the holders never lost the invoice's QR: when their code was not judged, the QR linked them
    assert tally.holder_locked_out == 0
    assert tally.holder_linked_by_code + tally.holder_linked_by_qr == tally.holder_tries == 730
    # and the alarm's metric saw the city's budget refuse, every day of the attack
    assert metrics[("GuessBudgetRefused", "link_holder_city")] >= 365


def test_guessing_one_account_for_a_year_gets_28_guesses(city_seed: int) -> None:
    # Given an attacker with unlimited identities probing one account every six hours for a year,
    # adding the (here: right) surname when asked
    city = build_city(10, city_seed, common_share=1.0)
    plan = Plan(
        START, days=365, bursts_per_day=4, burst=1, identities=10**6, targets=["100003"], parallel=False
    )
    # When it runs
    tally = simulate(city, plan, link=service_link_by_code(city.stores))
    # Then at most 28 guesses were judged (7 alone, 21 with the surname): all 1,000 codes take 35 years
    assert tally.judged_code <= 7
    assert tally.judged_holder <= 21
    assert tally.judged == arithmetic().per_account or city.numbers[3] in tally.linked


def test_guessing_a_day_of_100_identities_over_the_city(city_seed: int) -> None:
    # Given the attack: 100 throwaway identities, guesses spread over 100,000 accounts, a
    # simulated day of parallel bursts of 100 every four hours (before, at one burst every five
    # minutes: 24,027 guesses judged, 28 accounts linked)
    city = build_city(CITY_SIZE, city_seed, SURNAME_SHARE)
    plan = Plan(
        START, days=1, bursts_per_day=6, burst=100, identities=100, targets=city.numbers, holders_per_burst=0
    )
    # When it runs
    tally = simulate(city, plan)
    # Then the day judged at most the city's budgets: 10 codes alone, 20 with a surname
    assert tally.judged_code <= 10 + len(tally.linked)
    assert tally.judged_holder <= 20
    assert tally.expected_links < 0.015


def test_guessing_burst_at_one_account_is_judged_as_its_budgets_allow(city_seed: int) -> None:
    # Given 40 guesses at one account at once, from 40 identities, each adding a surname when asked
    city = build_city(10, city_seed)
    plan = Plan(
        START, days=1, bursts_per_day=1, burst=40, identities=40, targets=["100001"], holders_per_burst=0
    )
    # When they run (reading the counters all before any writes)
    tally = simulate(city, plan)
    # Then one was judged alone and three with the surname: the account's budgets, not 40
    assert tally.requests == 40
    assert (tally.judged_code, tally.judged_holder) == (1, 3)


def test_guessing_holder_under_attack_always_has_the_qr(city_seed: int) -> None:
    # Given an attacker hitting one account five times a minute from fresh identities for a day,
    # and its holder trying to link it every ten minutes (before: refused 144 of 144 times by code)
    city = build_city(10, city_seed)
    tally = Tally()
    attacker = Attacker(city, city_seed, 10**6, ["100002"], tally)
    link, by_qr = service_link_by_code(city.stores), service_link_by_qr(city.stores)
    for minute in range(24 * 60):
        now = START + timedelta(minutes=minute)
        for _ in range(5):
            attacker.request(link, now)()
        if minute % 10 == 5:
            holder_request(city, "100002", f"holder-{minute}", link, by_qr, now, tally)()
    # Then the holder's code was mostly not judged (the account's budgets are spent by the attacker),
    # but the invoice's QR linked them every single time
    assert tally.holder_tries == 144
    assert tally.holder_refused_by_code >= 140
    assert tally.holder_linked_by_qr == tally.holder_refused_by_code
    assert tally.holder_locked_out == 0


def test_guessing_residents_without_an_attacker(city_seed: int) -> None:
    # Given a month without attackers: 40 residents a day link their accounts by code, one in ten
    # mistyping the SRC code first
    city = build_city(5000, city_seed)
    tally = Tally()
    link, by_qr = service_link_by_code(city.stores), service_link_by_qr(city.stores)
    n = 0
    for day in range(30):
        for i in range(40):
            now = START + timedelta(days=day, minutes=20 * i)
            holder_request(
                city, city.numbers[n], f"resident-{n}", link, by_qr, now, tally, typo=n % 10 == 0
            )()
            n += 1
    # Then every one of them linked by code (the mistyped ones after adding the surname), none needed the QR
    assert tally.holder_tries == 1200
    assert tally.holder_linked_by_code == 1200
    assert tally.holder_linked_by_qr == 0
