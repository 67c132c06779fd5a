"""Linking by account + SRC against guessing: budgets reserved before judging, the holder's surname as a
second fact, the invoice's QR always open, the people already linked told, sign-in's budget."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ekc.domain.identity import PersonCaller
from ekc.domain.model import Account
from ekc.domain.notices import NoticeCode
from ekc.exceptions import BadCredentials, HolderNeeded, InvalidCode, InvalidRequest, TooManyAttempts
from ekc.services import accounts, auth, notices, qrcodes
from tests.fakes import FakeStores
from tests.guessing import Gate, Outcome, install_gate, outcome_of
from tests.unit.texts import error_text

NOW = datetime(2026, 11, 24, 21, 4, 36, tzinfo=UTC)
ACCOUNT = Account("77777", "512", "Горшеньов М. Ю.", "вул. Короля і Шута, буд. 43", "Кременчук", "05366")
OTHER = Account("88888", "640", "Петренко О. І.", "вул. Соборна, буд. 10", "Кременчук", "05366")
HOLDER = "Горшеньов"


@pytest.fixture
def stores() -> FakeStores:
    """77777 (its holder linked as p-holder) and 88888, nobody linked."""
    stores = FakeStores()
    stores.add_account(ACCOUNT, [], people=("p-holder",))
    stores.add_account(OTHER, [])
    return stores


@pytest.fixture
def metrics(monkeypatch: pytest.MonkeyPatch) -> Counter[tuple[str, str]]:
    """The metrics the linking service emits, by (name, dimension value)."""
    seen: Counter[tuple[str, str]] = Counter()
    monkeypatch.setattr(
        accounts, "count", lambda name, _dim, value, amount=1: seen.update({(name, value): 1})
    )
    return seen


def link(stores: FakeStores, who: str, code: str, holder: str | None = None, at: datetime = NOW) -> Any:
    """accounts.link_account for person `who`."""
    return accounts.link_account(PersonCaller(who), code, holder=holder, stores=stores, now=at)


def outcome(
    stores: FakeStores, who: str, code: str, holder: str | None = None, at: datetime = NOW
) -> Outcome:
    """What a link request came to."""
    return outcome_of(lambda: link(stores, who, code, holder, at))


def counted(stores: FakeStores) -> int:
    """Every guess counted in any budget."""
    return sum(stores.fake_attempts.counts_.values())


def printed_viber_token(account: Account) -> str:
    """The Viber QR's token of the account's current invoice."""
    return qrcodes.invoice_links(account.number, 0, NOW).viber.split("context=", 1)[1]


def printed_web_token(account: Account) -> str:
    """The web QR's token of the account's current invoice."""
    return qrcodes.invoice_links(account.number, 0, NOW).web.rsplit("/", 1)[1]


# ---- the code alone ---------------------------------------------------------------------------------


def test_link_by_the_right_code_links_and_costs_no_budget(stores: FakeStores) -> None:
    # Given a resident with the invoice of 88888
    # When they type its account and SRC code
    linked = link(stores, "p-1", "88888640")
    # Then it is linked, and the guess reserved for it was given back
    assert linked.number == "88888"
    assert "p-1" in stores.fake_accounts.linked["88888"]
    assert counted(stores) == 0


@pytest.mark.parametrize(
    "code",
    ["٨٨٨٨٨٦٤٠", "８８８８８６４０", "۸۸۸۸۸۶۴۰", "88888６40", "8888864O", "88888-640", "8888864", "abcdefgh"],
    ids=["arabic-indic", "fullwidth", "persian", "one-fullwidth", "letter-o", "dash", "seven", "letters"],
)
def test_link_malformed_code_is_not_counted_as_a_guess(stores: FakeStores, code: str) -> None:
    # Given a code that is not 8 or 9 ASCII digits (str.isdigit() takes the non-ASCII ones)
    # When it is sent
    with pytest.raises(InvalidCode) as caught:
        link(stores, "p-1", code)
    # Then it is refused as malformed, and no budget was asked or charged
    assert caught.value.code == "invalid_code"
    assert counted(stores) == 0
    assert stores.fake_attempts.asked == []


@pytest.mark.parametrize("holder", ["123", "Горшеньов1", "@@", "x" * 65])
def test_link_malformed_surname_is_not_counted_as_a_guess(stores: FakeStores, holder: str) -> None:
    # Given a surname that cannot be one / When it is sent with the code
    with pytest.raises(InvalidRequest) as caught:
        link(stores, "p-1", "77777512", holder)
    # Then it is refused as malformed, in Ukrainian, and nothing was counted
    assert caught.value.code == "bad_holder"
    assert "Прізвище" in error_text(caught.value)
    assert counted(stores) == 0


def test_link_after_a_mistyped_code_asks_for_the_holders_surname(
    stores: FakeStores, metrics: Counter[tuple[str, str]]
) -> None:
    # Given a resident who mistyped the SRC code once
    assert outcome(stores, "p-1", "77777513") is Outcome.WRONG
    # When they type the right code
    with pytest.raises(HolderNeeded) as caught:
        link(stores, "p-1", "77777512")
    # Then the code alone is not judged again: they are asked for the holder's surname, in Ukrainian
    assert "прізвище власника" in error_text(caught.value)
    # And with it (typed as they like: case, initials) the address is added
    assert link(stores, "p-1", "77777512", "горшеньов м.ю.").number == "77777"
    assert metrics[("LinkGuessWrong", "code")] == 1


def test_link_refusal_never_says_which_part_was_wrong(stores: FakeStores) -> None:
    # Given guesses with the surname: wrong code, wrong surname, an account that does not exist
    answers = []
    for who, code, holder in (
        ("p-1", "77777513", HOLDER),
        ("p-2", "77777512", "Петренко"),
        ("p-3", "12345512", HOLDER),
    ):
        with pytest.raises(InvalidCode) as caught:
            link(stores, who, code, holder)
        answers.append((caught.value.code, caught.value.params))
    # Then all three are the same refusal
    assert answers == [("link_refused", {})] * 3


def test_link_an_accounts_code_alone_budget_is_shared_by_everyone(stores: FakeStores) -> None:
    # Given a stranger whose code-alone guess at 88888 was wrong
    assert outcome(stores, "stranger", "88888100") is Outcome.WRONG
    # When someone else (the real holder) types the right code alone
    # Then it is not judged alone any more this month: the surname is asked for
    assert outcome(stores, "p-1", "88888640") is Outcome.HOLDER_NEEDED
    assert outcome(stores, "p-1", "88888640", "Петренко") is Outcome.LINKED


def test_link_the_citys_code_alone_budget_asks_everyone_for_the_surname(
    stores: FakeStores, metrics: Counter[tuple[str, str]]
) -> None:
    # Given ten wrong code-alone guesses this month, by ten people at ten accounts (none exist)
    for n in range(10):
        assert outcome(stores, f"guesser-{n}", f"5000{n}123") is Outcome.WRONG
    # When anyone types a code alone, even the right one
    # Then the city's budget is spent: the surname is asked for, and the alarm's metric counts it
    assert outcome(stores, "p-1", "88888640") is Outcome.HOLDER_NEEDED
    assert metrics[("GuessBudgetRefused", "link_code_city")] == 1
    # But next month there is room again... only once the previous month's guesses stop counting too
    assert outcome(stores, "p-1", "88888640", at=NOW + timedelta(days=30)) is Outcome.HOLDER_NEEDED
    assert outcome(stores, "p-1", "88888640", at=NOW + timedelta(days=60)) is Outcome.LINKED


def test_link_with_the_surname_pauses_when_the_accounts_budget_is_spent(stores: FakeStores) -> None:
    # Given three wrong guesses with a surname at 88888 this month, by three strangers
    for n in range(3):
        assert outcome(stores, f"stranger-{n}", f"8888810{n}", "Мельник") is Outcome.WRONG
    # When the holder tries with the right code and surname
    with pytest.raises(TooManyAttempts) as caught:
        link(stores, "p-1", "88888640", "Петренко")
    # Then linking 88888 by code is paused, with the day and time it resumes and the QR way named
    assert caught.value.code == "link_paused"
    text = error_text(caught.value)
    until = caught.value.params["until"]
    assert until.strftime("%d.%m.%Y") in text and until.strftime("%H:%M") in text
    assert "QR-код" in text
    assert until > NOW + timedelta(days=29)
    # And the invoice's QR still links it at once
    viber = printed_viber_token(OTHER)
    assert accounts.link_by_token(PersonCaller("p-1"), viber, stores=stores, now=NOW).number == "88888"


def test_link_a_persons_budgets_stop_one_identity(stores: FakeStores) -> None:
    # Given one person's five wrong guesses with a surname today, at five different accounts
    for n in range(5):
        assert outcome(stores, "p-1", f"6000{n}123", "Мельник") is Outcome.WRONG
    # When they guess again, anywhere / Then they are paused until tomorrow's window lets them
    assert outcome(stores, "p-1", "60009123", "Мельник") is Outcome.PAUSED


# ---- parallel bursts: reserved before judged ----------------------------------------------------------


def _burst(stores: FakeStores, calls: list[Any]) -> Counter[Outcome]:
    """Run the calls at once; every one reads the counters before any of them writes."""
    install_gate(stores, Gate(len(calls)))
    try:
        with ThreadPoolExecutor(max_workers=len(calls)) as pool:
            return Counter(pool.map(lambda call: call(), calls))
    finally:
        install_gate(stores, None)


def test_link_parallel_burst_of_codes_alone_is_judged_once(stores: FakeStores) -> None:
    # Given 40 guesses at 88888 from 40 identities, all reading the counters before any writes
    calls = [lambda n=n: outcome(stores, f"guesser-{n}", f"88888{n:03d}") for n in range(100, 140)]
    # When they run
    outcomes = _burst(stores, calls)
    # Then the account's code-alone budget (1 a month) judged exactly one; the others were not judged
    assert outcomes == Counter({Outcome.WRONG: 1, Outcome.HOLDER_NEEDED: 39})
    assert stores.fake_attempts.reservations == 1


def test_link_parallel_burst_with_surnames_is_judged_at_most_the_limit(stores: FakeStores) -> None:
    # Given 40 guesses with a surname at 88888 from 40 identities, all reading before any writes
    calls = [lambda n=n: outcome(stores, f"guesser-{n}", f"88888{n:03d}", "Мельник") for n in range(100, 140)]
    # When they run
    outcomes = _burst(stores, calls)
    # Then the account's budget with a surname (3 a month) judged exactly three
    assert outcomes == Counter({Outcome.WRONG: 3, Outcome.PAUSED: 37})


# ---- the invoice's QR: never locked ---------------------------------------------------------------------


def test_link_holder_is_never_locked_out_of_the_invoices_qr(stores: FakeStores) -> None:
    # Given every budget spent: the holder's own person, the account, and the city, both ways
    for n in range(10):
        outcome(stores, f"g-{n}", f"7000{n}123")
    for n in range(20):
        outcome(stores, f"h-{n}", f"77777{n:03d}" if n < 3 else f"7100{n:02d}123", "Мельник")
    outcome(stores, "p-1", "77777000")
    for n in range(5):
        outcome(stores, "p-1", f"7200{n}123", "Мельник")
    assert outcome(stores, "p-1", "77777512", HOLDER) is Outcome.PAUSED
    # When the holder scans the invoice's Viber QR / Then it links, and costs no budget
    before = counted(stores)
    linked = accounts.link_by_token(PersonCaller("p-1"), printed_viber_token(ACCOUNT), stores=stores, now=NOW)
    assert linked.number == "77777"
    assert counted(stores) == before
    # And the invoice's web QR signs in
    signed = auth.sign_in_by_qr(printed_web_token(ACCOUNT), stores=stores, now=NOW)
    assert signed.session.caller.account == "77777"  # type: ignore[union-attr]


def test_link_by_a_forged_token_is_not_counted(stores: FakeStores) -> None:
    # Given a token that was never issued / When it is scanned / Then it is refused, and nothing counted
    from ekc.exceptions import BadToken

    with pytest.raises(BadToken):
        accounts.link_by_token(PersonCaller("p-1"), "A" * 40, stores=stores, now=NOW)
    assert counted(stores) == 0


# ---- the people already linked are told -----------------------------------------------------------------


def test_link_tells_the_people_already_linked_but_not_the_linker(stores: FakeStores) -> None:
    # Given 77777's holder (p-holder) linked to it
    # When someone else links it by its code, and then someone by the Viber QR
    link(stores, "p-1", "77777512")
    accounts.link_by_token(PersonCaller("p-2"), printed_viber_token(ACCOUNT), stores=stores, now=NOW)
    # Then the holder hears twice that a new cabinet was linked, in whatever door they use next
    told = notices.take(PersonCaller("p-holder"), stores=stores)
    assert [(n.code, n.account, n.params["how"]) for n in told] == [
        (NoticeCode.ACCOUNT_LINKED, "77777", "code"),
        (NoticeCode.ACCOUNT_LINKED, "77777", "qr"),
    ]
    # and p-1 hears of p-2 only, p-2 of nobody
    assert [n.code for n in notices.take(PersonCaller("p-1"), stores=stores)] == [NoticeCode.ACCOUNT_LINKED]
    assert notices.take(PersonCaller("p-2"), stores=stores) == []


def test_link_again_by_someone_already_linked_tells_nobody(stores: FakeStores) -> None:
    # Given the holder, already linked, scanning the QR again
    accounts.link_by_token(PersonCaller("p-holder"), printed_viber_token(ACCOUNT), stores=stores, now=NOW)
    accounts.link_by_token(PersonCaller("p-1"), printed_viber_token(ACCOUNT), stores=stores, now=NOW)
    notices.take(PersonCaller("p-holder"), stores=stores)
    accounts.link_by_token(PersonCaller("p-1"), printed_viber_token(ACCOUNT), stores=stores, now=NOW)
    # Then nobody is told of a link that already was
    assert notices.take(PersonCaller("p-holder"), stores=stores) == []


# ---- sign-in: the e-mail's budget, reserved before the password is checked ---------------------------


@pytest.fixture
def login(stores: FakeStores) -> str:
    """A login with a known password."""
    auth.sign_up("victim@example.com", "right-password-1", stores=stores, now=NOW)
    return "victim@example.com"


def test_signin_parallel_wrong_passwords_are_judged_at_most_the_limit(stores: FakeStores, login: str) -> None:
    # Given 40 wrong passwords for one e-mail at once, all reading the counter before any writes
    def attempt() -> str:
        try:
            auth.sign_in(login, "wrong-password", stores=stores, now=NOW)
        except BadCredentials:
            return "judged"
        except TooManyAttempts:
            return "refused"
        return "signed in"

    outcomes = _burst(stores, [attempt] * 40)
    # Then ten were checked (the limit), thirty were refused unchecked
    assert outcomes == Counter({"judged": 10, "refused": 30})
    # and the right password is refused too, for now
    with pytest.raises(TooManyAttempts):
        auth.sign_in(login, "right-password-1", stores=stores, now=NOW)


def test_signin_right_passwords_cost_nothing(stores: FakeStores, login: str) -> None:
    # Given a resident who signs in twenty times in a few minutes (two devices, reloading)
    for minute in range(20):
        auth.sign_in(login, "right-password-1", stores=stores, now=NOW + timedelta(seconds=10 * minute))
    # Then no budget was spent
    assert counted(stores) == 0
