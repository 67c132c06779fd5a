"""Account + SRC codes as typed from the invoice, and the rate limit on guessing them."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from ekc.channels.ukrainian import clock_time
from ekc.domain.windows import KYIV
from ekc.exceptions import InvalidCode, InvalidRequest, TooManyAttempts
from ekc.services import attempts
from ekc.services.accounts import split_code
from tests.fakes import FakeAttempts
from tests.unit.texts import error_text

ALLOWED = 5
MINUTES = 15
PERSON = "link#person#p-1"
ACCOUNT = "link#account#77777"
# 23/07/2019 10:00:00 UTC is the start of a 15-minute window (and 13:00 in Kyiv, UTC+3 in summer).
T0 = datetime(2019, 7, 23, 10, 0, 0, tzinfo=UTC)


def fail_times(repo: FakeAttempts, keys: list[str], times: int, at: datetime) -> None:
    """`times` failed guesses at `at`."""
    for _ in range(times):
        attempts.fail(repo, keys, MINUTES, at)  # type: ignore[arg-type]


def check(repo: FakeAttempts, keys: list[str], at: datetime) -> None:
    """The rate limit's check with the production limits."""
    attempts.check(repo, keys, ALLOWED, MINUTES, at)  # type: ignore[arg-type]


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


# ---- attempts: failures counted in 15-minute windows ----------------------------------------------------


def test_attempts_fail_counts_against_every_key_in_the_current_window() -> None:
    # Given an empty record
    repo = FakeAttempts()
    # When a guess fails at 10:07 UTC
    attempts.fail(repo, [PERSON, ACCOUNT], MINUTES, T0 + timedelta(minutes=7))  # type: ignore[arg-type]
    # Then both the person and the account have one failure, in the window that started at 10:00,
    # kept for two windows
    window = int(T0.timestamp()) // (MINUTES * 60)
    assert dict(repo.counts) == {(PERSON, window): 1, (ACCOUNT, window): 1}
    assert repo.expires[(PERSON, window)] == T0 + timedelta(minutes=7 + 2 * MINUTES)


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
    # Given failures at two moments
    repo = FakeAttempts()
    attempts.fail(repo, [PERSON], MINUTES, first)  # type: ignore[arg-type]
    attempts.fail(repo, [PERSON], MINUTES, second)  # type: ignore[arg-type]
    # Then they share a window exactly when no quarter-hour boundary lies between them
    assert (len(repo.counts) == 1) is same_window


def test_attempts_check_allows_fewer_failures_than_the_limit() -> None:
    # Given four failed guesses
    repo = FakeAttempts()
    fail_times(repo, [PERSON, ACCOUNT], ALLOWED - 1, T0 + timedelta(minutes=1))
    # When the fifth guess is checked / Then it may go ahead
    check(repo, [PERSON, ACCOUNT], T0 + timedelta(minutes=2))
    # and the check read this window and the previous one only
    window = int(T0.timestamp()) // (MINUTES * 60)
    assert repo.asked[-1] == ([PERSON, ACCOUNT], [window - 1, window])


def test_attempts_check_refuses_at_the_limit_with_a_kyiv_time() -> None:
    # Given five failed guesses at 10:01 UTC (13:01 in Kyiv)
    repo = FakeAttempts()
    fail_times(repo, [PERSON, ACCOUNT], ALLOWED, T0 + timedelta(minutes=1))
    # When a sixth guess is checked
    with pytest.raises(TooManyAttempts) as caught:
        check(repo, [PERSON, ACCOUNT], T0 + timedelta(minutes=2))
    # Then it is refused, and the time in the message is Kyiv's
    assert caught.value.code == "too_many_attempts"
    until = clock_time(caught.value.params["until"])
    assert re.fullmatch(r"\d\d:\d\d", until)
    assert until.startswith("13:")
    assert until in error_text(caught.value)


def test_attempts_check_refuses_when_any_one_key_is_exhausted() -> None:
    # Given an account guessed at five times by others, and a person with no failures
    repo = FakeAttempts()
    fail_times(repo, [ACCOUNT], ALLOWED, T0 + timedelta(minutes=1))
    # When this person tries that account / Then it is refused (the account is protected on its own)
    with pytest.raises(TooManyAttempts):
        check(repo, ["link#person#p-2", ACCOUNT], T0 + timedelta(minutes=2))
    # but the same person may still try another account
    check(repo, ["link#person#p-2", "link#account#88888"], T0 + timedelta(minutes=2))


def test_attempts_check_adds_the_previous_window() -> None:
    # Given three failures at the end of one window and two at the start of the next
    repo = FakeAttempts()
    fail_times(repo, [PERSON], 3, T0 + timedelta(minutes=14))
    fail_times(repo, [PERSON], 2, T0 + timedelta(minutes=16))
    # When a guess is checked / Then the five count together, so a boundary does not reset the limit
    with pytest.raises(TooManyAttempts):
        check(repo, [PERSON], T0 + timedelta(minutes=17))


def test_attempts_failures_two_windows_old_do_not_count() -> None:
    # Given five failures in the 10:00 window
    repo = FakeAttempts()
    fail_times(repo, [PERSON], ALLOWED, T0 + timedelta(minutes=1))
    # When a guess is checked in the 10:30 window / Then it may go ahead
    check(repo, [PERSON], T0 + timedelta(minutes=30))


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
    # Given failed guesses up to the limit
    repo = FakeAttempts()
    for offset, times in failures:
        fail_times(repo, [PERSON], times, T0 + offset)
    last_failure = T0 + max(offset for offset, _ in failures)
    # When the next guess is refused, naming a Kyiv time "try again after HH:MM"
    with pytest.raises(TooManyAttempts) as caught:
        check(repo, [PERSON], last_failure + timedelta(seconds=30))
    hour, minute = map(int, clock_time(caught.value.params["until"]).split(":"))
    named = (
        (last_failure + timedelta(seconds=30)).astimezone(KYIV).replace(hour=hour, minute=minute, second=0)
    )
    # Then a guess at that minute (and no new failures since) may go ahead: the message told the truth
    check(repo, [PERSON], named + timedelta(seconds=1))
