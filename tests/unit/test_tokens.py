"""The invoice's QR tokens: signed, purpose-bound, expiring, and opaque."""

from __future__ import annotations

import base64
import string
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from ekc.exceptions import BadToken
from ekc.tokens import Purpose, check_token, hash_secret, make_token, web_token_expiry
from tests.unit.texts import error_text

SECRET = "test-signing-key-0123456789abcdef0123456789"
OTHER_SECRET = "another-signing-key-0123456789abcdef012345"
NOW = datetime(2019, 7, 23, 18, 4, 36, tzinfo=UTC)
EXPIRES = NOW + timedelta(days=60)
ACCOUNT = "77777"  # 6 header + 5 + 16 MAC = 27 bytes: a whole number of base64 quanta, no spare bits
URLSAFE = string.ascii_letters + string.digits + "-_"


@pytest.mark.parametrize("purpose", list(Purpose))
@pytest.mark.parametrize("account", ["77777", "123456", "05366001", "1"])
def test_token_round_trip(purpose: Purpose, account: str) -> None:
    # Given a token made for an account and a purpose
    token = make_token(SECRET, purpose, account, EXPIRES)
    # When it is checked for that purpose before it expires
    # Then it gives back the account, leading zeros included
    assert check_token(SECRET, purpose, token, NOW) == account


def test_token_without_expiry_never_expires() -> None:
    # Given a Viber link token printed with no expiry
    token = make_token(SECRET, Purpose.VIBER_LINK, ACCOUNT)
    # When it is checked decades later / Then it still works
    assert check_token(SECRET, Purpose.VIBER_LINK, token, NOW + timedelta(days=365 * 30)) == ACCOUNT


@pytest.mark.parametrize(
    ("made_for", "checked_for"),
    [(Purpose.VIBER_LINK, Purpose.WEB_SIGN_IN), (Purpose.WEB_SIGN_IN, Purpose.VIBER_LINK)],
)
def test_token_for_another_purpose_is_refused(made_for: Purpose, checked_for: Purpose) -> None:
    # Given a token made for one of the invoice's QR codes
    token = make_token(SECRET, made_for, ACCOUNT, EXPIRES)
    # When it is presented to the other door
    # Then it is refused: a Viber link is not a web sign-in, and vice versa
    with pytest.raises(BadToken):
        check_token(SECRET, checked_for, token, NOW)


def test_token_relabelled_to_another_purpose_is_refused() -> None:
    # Given a Viber token whose purpose byte is rewritten to WEB_SIGN_IN (the MAC left as it was)
    raw = bytearray(base64.urlsafe_b64decode(make_token(SECRET, Purpose.VIBER_LINK, ACCOUNT, EXPIRES)))
    raw[1] = Purpose.WEB_SIGN_IN
    forged = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    # When it is checked as a web sign-in / Then it is refused
    with pytest.raises(BadToken):
        check_token(SECRET, Purpose.WEB_SIGN_IN, forged, NOW)


def test_token_with_any_single_character_changed_is_refused() -> None:
    # Given a valid token
    token = make_token(SECRET, Purpose.WEB_SIGN_IN, ACCOUNT, EXPIRES)
    assert len(token) == 36  # 27 bytes: every character carries 6 bits of the token
    accepted = []
    # When each of its characters in turn is replaced by every other URL-safe character
    for position, original in enumerate(token):
        for replacement in URLSAFE:
            if replacement == original:
                continue
            tampered = token[:position] + replacement + token[position + 1 :]
            try:
                check_token(SECRET, Purpose.WEB_SIGN_IN, tampered, NOW)
            except BadToken:
                continue
            accepted.append(tampered)
    # Then not one of the 36 * 63 variants is accepted
    assert accepted == []


@pytest.mark.parametrize(
    "spelling",
    [
        pytest.param(lambda t: t + ".", id="trailing-dot"),
        pytest.param(lambda t: t[:10] + "!" + t[10:], id="inserted-junk"),
        pytest.param(lambda t: t.replace("-", "+").replace("_", "/"), id="standard-alphabet"),
        pytest.param(lambda t: t + "==", id="padded"),
    ],
)
def test_token_in_another_spelling_is_refused(spelling: Callable[[str], str]) -> None:
    # Given a valid token (one whose text contains '-' or '_', so the alphabet swap changes it)
    token = next(
        t
        for t in (make_token(SECRET, Purpose.WEB_SIGN_IN, f"{n:05d}", EXPIRES) for n in range(10000, 99999))
        if "-" in t or "_" in t
    )
    variant = spelling(token)
    assert variant != token
    # When a differently spelled text of the same bytes is presented
    # Then only the exact text that was issued is accepted, so a token has one spelling
    with pytest.raises(BadToken):
        check_token(SECRET, Purpose.WEB_SIGN_IN, variant, NOW)


def test_token_six_digit_account_last_character_cannot_be_changed() -> None:
    # Given a token for a 6-digit account: 28 bytes, so its last character carries 2 spare bits
    token = make_token(SECRET, Purpose.WEB_SIGN_IN, "123456", EXPIRES)
    # When its last character is replaced by every other URL-safe character
    accepted = [
        token[:-1] + c for c in URLSAFE if c != token[-1] and _accepted(token[:-1] + c, Purpose.WEB_SIGN_IN)
    ]
    # Then none is accepted
    assert accepted == []


def _accepted(token: str, purpose: Purpose) -> bool:
    try:
        check_token(SECRET, purpose, token, NOW)
    except BadToken:
        return False
    return True


def test_token_expires_at_the_exact_second() -> None:
    # Given a token valid until a whole second
    expires = datetime(2019, 9, 21, 12, 0, 0, tzinfo=UTC)
    token = make_token(SECRET, Purpose.WEB_SIGN_IN, ACCOUNT, expires)
    # When it is checked one second, and a microsecond, before that second, and at it
    # Then it works until then and not at that second or after
    assert check_token(SECRET, Purpose.WEB_SIGN_IN, token, expires - timedelta(seconds=1)) == ACCOUNT
    assert check_token(SECRET, Purpose.WEB_SIGN_IN, token, expires - timedelta(microseconds=1)) == ACCOUNT
    for moment in (expires, expires + timedelta(seconds=1), expires + timedelta(days=400)):
        with pytest.raises(BadToken):
            check_token(SECRET, Purpose.WEB_SIGN_IN, token, moment)


def test_token_made_with_another_secret_is_refused() -> None:
    # Given a token signed with another key (another stage, or a rotated key)
    token = make_token(OTHER_SECRET, Purpose.WEB_SIGN_IN, ACCOUNT, EXPIRES)
    # When it is checked with ours / Then it is refused
    with pytest.raises(BadToken):
        check_token(SECRET, Purpose.WEB_SIGN_IN, token, NOW)


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "a",
        "abcde",  # not a valid base64 length
        "!!!!",
        "77777",
        "====",
        "A" * 36,
        "A" * 300,
        "Zm9vYmFy",  # 'foobar'
        "😀" * 10,
        base64.urlsafe_b64encode(bytes(22)).decode(),  # a header and MAC's worth of zeros, no account
        base64.urlsafe_b64encode(b"\x01\x01\x00\x00\x00\x00" + b"77777" + bytes(16)).decode(),
    ],
)
def test_token_garbage_is_refused(garbage: str) -> None:
    # Given text that was never issued as a token
    # When it is checked / Then it is refused with BadToken, never another exception
    with pytest.raises(BadToken) as caught:
        check_token(SECRET, Purpose.WEB_SIGN_IN, garbage, NOW)
    assert caught.value.code == "bad_token"
    assert "QR" in error_text(caught.value)


def test_token_for_a_non_numeric_account_is_refused() -> None:
    # Given a correctly signed token whose account is not a number (a bug in a print run)
    token = make_token(SECRET, Purpose.WEB_SIGN_IN, "77a77", EXPIRES)
    # When it is checked / Then it is refused rather than letting a strange key reach storage
    with pytest.raises(BadToken):
        check_token(SECRET, Purpose.WEB_SIGN_IN, token, NOW)


@pytest.mark.parametrize("account", ["77777", "123456", "05366001", "999999999"])
@pytest.mark.parametrize("purpose", list(Purpose))
def test_token_does_not_show_the_account_number(account: str, purpose: Purpose) -> None:
    # Given a token for an account
    token = make_token(SECRET, purpose, account, EXPIRES)
    # Then the account number is not readable in the link, and the text is URL-safe without padding
    assert account not in token
    assert set(token) <= set(URLSAFE)


def test_token_differs_by_purpose_and_account() -> None:
    # Given tokens of the same account for the two purposes, and of two accounts for one purpose
    web = make_token(SECRET, Purpose.WEB_SIGN_IN, ACCOUNT, EXPIRES)
    viber = make_token(SECRET, Purpose.VIBER_LINK, ACCOUNT, EXPIRES)
    other = make_token(SECRET, Purpose.WEB_SIGN_IN, "77778", EXPIRES)
    # Then all three differ
    assert len({web, viber, other}) == 3


def test_web_token_expiry_is_days_after_now() -> None:
    # Given a print run now / Then its web QR works for the configured number of days
    assert web_token_expiry(NOW, 60) == NOW + timedelta(days=60)


def test_hash_secret_is_stable_and_does_not_reveal_the_value() -> None:
    # Given a session id / When it is hashed for storage
    hashed = hash_secret("session-id-123")
    # Then the same id gives the same hash, another id another, and the id is not in it
    assert hashed == hash_secret("session-id-123")
    assert hashed != hash_secret("session-id-124")
    assert "session-id-123" not in hashed
    assert len(hashed) == 64
