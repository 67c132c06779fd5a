"""Account + SRC codes as typed from the invoice, and the budgets that price guessing them."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from ekc.channels.ukrainian import clock_time
from ekc.domain.windows import KYIV
from ekc.exceptions import InvalidCode, InvalidRequest
from ekc.services import attempts
from ekc.services.accounts import split_code, surname_key
from ekc.services.attempts import Budget, Claim
from ekc.storage.ports import Cell
from tests.fakes import FakeAttempts
from tests.unit.texts import error_text

ALLOWED = 5
MINUTES = 15
BUDGET = Budget("test", ALLOWED, timedelta(minutes=MINUTES))
PERSON = Claim(BUDGET, "person#p-1")
ACCOUNT = Claim(BUDGET, "account#77777")
# 23/07/2019 10:00:00 UTC is the start of a 15-minute window (and 13:00 in Kyiv, UTC+3 in summer).
T0 = datetime(2019, 7, 23, 10, 0, 0, tzinfo=UTC)


def fail_times(repo: FakeAttempts, claims: list[Claim], times: int, at: datetime) -> None:
    """`times` wrong guesses at `at`: each reserved, and kept (a wrong guess is not given back)."""
    for _ in range(times):
        attempts.reserve(repo, claims, at)  # type: ignore[arg-type]


def check(repo: FakeAttempts, claims: list[Claim], at: datetime) -> attempts.Reserved:
    """One more guess, reserved if the budgets allow it."""
    return attempts.reserve(repo, claims, at)  # type: ignore[arg-type]


# ---- split_code ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "account", "src"),
    [
        ("77777512", "77777", "512"),
        ("777775123", "777775", "123"),
        ("05366001", "05366", "001"),
        (" 77777512 ", "77777", "512"),
        ("77777 512", "77777", "512"),
        ("77 777 512", "77777", "512"),
        ("77777\t512\n", "77777", "512"),
    ],
)
def test_split_code_takes_the_last_three_digits_as_src(code: str, account: str, src: str) -> None:
    # Given account + SRC written together (spaces forgiven)
    # When it is split
    # Then the SRC code is the last 3 digits and the account the rest, leading zeros kept
    assert split_code(code) == (account, src)


@pytest.mark.parametrize(
    "code",
    [
        "",
        "   ",
        "7777751",  # 7 digits
        "7777751234",  # 10 digits
        "77777-512",
        "77777/512",
        "7777751a",
        "abcdefgh",
        "-77777512",
        "+77777512",
        "77777.512",
        "٧٧٧٧٧٥١٢",  # Arabic-Indic digits: str.isdigit() says yes
        "７７７７７５１２",  # fullwidth digits
        "۷۷۷۷۷۵۱۲",  # Extended Arabic-Indic (Persian) digits
        "77777５12",  # one fullwidth digit among ASCII ones
        "7777751²",  # a superscript two
        "77777512\u200b",  # a zero-width space is not a space to forgive
        "O7777512",  # a letter O for a zero
    ],
)
def test_split_code_refuses_anything_but_8_or_9_digits(code: str) -> None:
    # Given something that is not 8 or 9 digits
    # When it is split
    with pytest.raises(InvalidCode) as caught:
        split_code(code)
    # Then it is refused with the code's own reason, in Ukrainian
    assert caught.value.code == "invalid_code"
    assert isinstance(caught.value, InvalidRequest)
    assert re.search(r"[А-Яа-яІіЇїЄє]", error_text(caught.value))
    assert "SRC" in error_text(caught.value)


# ---- surnames as typed -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("Горшеньов М. Ю.", "горшеньов"),
        ("  ГОРШЕНЬОВ ", "горшеньов"),
        ("горшеньов,", "горшеньов"),
        ("Дем’яненко", "дем'яненко"),
        ("Демʼяненко", "дем'яненко"),
        ("Квітка-Основ'яненко Г. Ф.", "квітка-основ'яненко"),
        ("", ""),
    ],
)
def test_surname_key_folds_case_initials_and_apostrophes(typed: str, key: str) -> None:
    # Given a surname as the invoice prints it or as a resident types it
    # When it is folded / Then the forms of one surname meet, and initials do not matter
    assert surname_key(typed) == key


# ---- budgets: a guess is reserved before it is judged ---------------------------------------------------


def test_attempts_reserve_counts_against_every_claim_in_the_current_window() -> None:
    # Given an empty record
    repo = FakeAttempts()
    # When a guess is reserved at 10:07 UTC
    reserved = check(repo, [PERSON, ACCOUNT], T0 + timedelta(minutes=7))
    # Then the person and the account each count one, in the window that started at 10:00,
    # kept until the end of the next window
    window = int(T0.timestamp()) // (MINUTES * 60)
    cells = {Cell(PERSON.key, window), Cell(ACCOUNT.key, window)}
    assert {c: n for c, n in repo.counts_.items() if n} == dict.fromkeys(cells, 1)
    assert set(reserved.cells) == cells
    assert repo.expires[Cell(PERSON.key, window)] == T0 + timedelta(minutes=2 * MINUTES)


@pytest.mark.parametrize(
    ("first", "second", "same_window"),
    [
        (T0, T0 + timedelta(minutes=14, seconds=59), True),
        (T0 + timedelta(minutes=14, seconds=59), T0 + timedelta(minutes=15), False),
        (T0 - timedelta(seconds=1), T0, False),
    ],
    ids=["start-and-last-second", "last-second-and-next-window", "second-before-and-start"],
)
def test_attempts_windows_change_at_quarter_hours(
    first: datetime, second: datetime, same_window: bool
) -> None:
    # Given guesses at two moments
    repo = FakeAttempts()
    check(repo, [PERSON], first)
    check(repo, [PERSON], second)
    # Then they share a window exactly when no quarter-hour boundary lies between them
    assert (len([n for n in repo.counts_.values() if n]) == 1) is same_window


def test_attempts_reserve_allows_fewer_guesses_than_the_limit() -> None:
    # Given four wrong guesses
    repo = FakeAttempts()
    fail_times(repo, [PERSON, ACCOUNT], ALLOWED - 1, T0 + timedelta(minutes=1))
    # When the fifth guess comes / Then it is reserved
    check(repo, [PERSON, ACCOUNT], T0 + timedelta(minutes=2))
    # and the read asked for this window and the previous one only
    window = int(T0.timestamp()) // (MINUTES * 60)
    assert {c.window for c in repo.asked[-1]} == {window - 1, window}


def test_attempts_reserve_refuses_at_the_limit_with_a_kyiv_time() -> None:
    # Given five wrong guesses at 10:01 UTC (13:01 in Kyiv)
    repo = FakeAttempts()
    fail_times(repo, [PERSON, ACCOUNT], ALLOWED, T0 + timedelta(minutes=1))
    # When a sixth guess comes
    with pytest.raises(attempts.Refused) as caught:
        check(repo, [PERSON, ACCOUNT], T0 + timedelta(minutes=2))
    # Then it is refused, naming both budgets and a time in Kyiv, and nothing more was counted
    assert caught.value.budgets == (BUDGET, BUDGET)
    until = clock_time(caught.value.until)
    assert re.fullmatch(r"\d\d:\d\d", until)
    assert until.startswith("13:")
    assert sum(repo.counts_.values()) == 2 * ALLOWED


def test_attempts_reserve_is_all_or_nothing_when_one_claim_is_spent() -> None:
    # Given an account guessed at five times by others, and a person with no guesses
    repo = FakeAttempts()
    fail_times(repo, [ACCOUNT], ALLOWED, T0 + timedelta(minutes=1))
    other = Claim(BUDGET, "person#p-2")
    # When this person guesses at that account / Then it is refused (the account is protected on its own)
    with pytest.raises(attempts.Refused) as caught:
        check(repo, [other, ACCOUNT], T0 + timedelta(minutes=2))
    assert [b.name for b in caught.value.budgets] == ["test"]
    # and the person was not charged for a guess that was never judged
    assert all(c.key != other.key for c, n in repo.counts_.items() if n)
    # but the same person may still guess at another account
    check(repo, [other, Claim(BUDGET, "account#88888")], T0 + timedelta(minutes=2))


def test_attempts_reserve_refuses_in_the_store_when_the_early_read_was_stale() -> None:
    # Given a budget with one guess left, and a read that (as in a parallel burst) saw none spent
    repo = FakeAttempts()
    fail_times(repo, [PERSON], ALLOWED - 1, T0 + timedelta(minutes=1))
    stale = FakeAttempts.counts
    repo.counts = lambda cells: dict.fromkeys(cells, 0)  # type: ignore[method-assign]
    # When two guesses come after that read / Then the conditional ADD lets exactly one through
    check(repo, [PERSON], T0 + timedelta(minutes=2))
    with pytest.raises(attempts.Refused):
        check(repo, [PERSON], T0 + timedelta(minutes=2))
    assert stale(repo, [Cell(PERSON.key, int(T0.timestamp()) // 900)]) == {
        Cell(PERSON.key, int(T0.timestamp()) // 900): ALLOWED
    }


def test_attempts_reserve_adds_the_previous_window() -> None:
    # Given three guesses at the end of one window and two at the start of the next
    repo = FakeAttempts()
    fail_times(repo, [PERSON], 3, T0 + timedelta(minutes=14))
    fail_times(repo, [PERSON], 2, T0 + timedelta(minutes=16))
    # When a guess comes / Then the five count together, so a boundary does not reset the limit
    with pytest.raises(attempts.Refused):
        check(repo, [PERSON], T0 + timedelta(minutes=17))


def test_attempts_guesses_two_windows_old_do_not_count() -> None:
    # Given five guesses in the 10:00 window
    repo = FakeAttempts()
    fail_times(repo, [PERSON], ALLOWED, T0 + timedelta(minutes=1))
    # When a guess comes in the 10:30 window / Then it is reserved
    check(repo, [PERSON], T0 + timedelta(minutes=30))


def test_attempts_release_gives_a_right_guess_back() -> None:
    # Given four wrong guesses and a fifth that turned out right
    repo = FakeAttempts()
    fail_times(repo, [PERSON], ALLOWED - 1, T0 + timedelta(minutes=1))
    right = check(repo, [PERSON], T0 + timedelta(minutes=2))
    # When it is given back
    attempts.release(repo, right)  # type: ignore[arg-type]
    # Then the budget still has one guess: right guesses cost nothing
    check(repo, [PERSON], T0 + timedelta(minutes=3))
    with pytest.raises(attempts.Refused):
        check(repo, [PERSON], T0 + timedelta(minutes=4))


@pytest.mark.parametrize(
    "failures",
    [
        pytest.param([(timedelta(minutes=14), 3), (timedelta(minutes=16), 2)], id="spread-over-two-windows"),
        pytest.param([(timedelta(minutes=1), ALLOWED)], id="all-in-the-current-window"),
    ],
)
def test_attempts_resident_is_let_in_at_the_time_the_refusal_names(
    failures: list[tuple[timedelta, int]],
) -> None:
    # Given wrong guesses up to the limit
    repo = FakeAttempts()
    for offset, times in failures:
        fail_times(repo, [PERSON], times, T0 + offset)
    last_failure = T0 + max(offset for offset, _ in failures)
    # When the next guess is refused, naming a Kyiv time "try again after HH:MM"
    with pytest.raises(attempts.Refused) as caught:
        check(repo, [PERSON], last_failure + timedelta(seconds=30))
    hour, minute = map(int, clock_time(caught.value.until).split(":"))
    named = (
        (last_failure + timedelta(seconds=30)).astimezone(KYIV).replace(hour=hour, minute=minute, second=0)
    )
    # Then a guess at that minute (and no new guesses since) is reserved: the message told the truth
    check(repo, [PERSON], named + timedelta(seconds=1))
