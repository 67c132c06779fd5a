"""Access ends when it should: QR sessions mint nothing, unlinking ends what a link handed out, a
per-account token generation revokes an account's printed tokens, sign-out ends the session."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from ekc.domain.identity import AccountCaller, PersonCaller, Proof, SystemCaller
from ekc.domain.model import Account
from ekc.exceptions import BadToken, Forbidden, NotFound, NotSignedIn
from ekc.services import accounts, auth, qrcodes, readings
from ekc.tokens import Purpose, make_v1_token, read_token
from tests.conftest import TEST_ENV
from tests.fakes import FakeStores

NOW = datetime(2026, 11, 24, 21, 4, 36, tzinfo=UTC)
ACCOUNT = Account("77777", "512", "Горшеньов М. Ю.", "вул. Короля і Шута, буд. 43", "Кременчук", "05366")
SECRET = TEST_ENV["TOKEN_SIGNING_KEY"]
OPERATOR = SystemCaller("operator:olena")


@pytest.fixture
def stores() -> FakeStores:
    """77777 with its holder p-1 linked."""
    stores = FakeStores()
    stores.add_account(ACCOUNT, [], people=("p-1",))
    return stores


def cabinet_link(stores: FakeStores, who: str, kind: qrcodes.QrKind, at: datetime = NOW) -> str:
    """The link inside the QR image the cabinet shows `who` (rendering captured, not decoded)."""
    shown: list[str] = []
    real = qrcodes.render

    def capture(data: str, image_format: str) -> tuple[bytes, str]:
        shown.append(data)
        return real(data, image_format)

    qrcodes.render = capture  # type: ignore[assignment]
    try:
        qrcodes.account_qr(PersonCaller(who), "77777", kind, "svg", stores=stores, now=at)
    finally:
        qrcodes.render = real  # type: ignore[assignment]
    return shown[0]


def web_token_of(link: str) -> str:
    """The token of a web sign-in link."""
    return urlsplit(link).fragment.removeprefix("/qr/")


def viber_token_of(link: str) -> str:
    """The token of a Viber deep link."""
    return parse_qs(urlsplit(link).query)["context"][0]


def qr_session(stores: FakeStores, token: str, at: datetime = NOW) -> auth.WebSession:
    """A web session opened by a web QR token, resolved as the next request would."""
    signed = auth.sign_in_by_qr(token, stores=stores, now=at)
    return auth.resolve(signed.token, stores=stores, now=at)


# ---- a QR session mints nothing ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(qrcodes.QrKind))
def test_qr_session_gets_no_qr_codes(stores: FakeStores, kind: qrcodes.QrKind) -> None:
    # Given a session opened by scanning the invoice's web QR (on a borrowed phone, say)
    session = qr_session(stores, web_token_of(qrcodes.invoice_links("77777", 0, NOW).web))
    # When it asks for the account's QR codes (a fresh web token, the Viber token)
    # Then it is refused: it must not mint tokens that outlive it
    with pytest.raises(Forbidden):
        qrcodes.account_qr(session.caller, "77777", kind, "svg", stores=stores, now=NOW)
    # and a phone caller neither
    with pytest.raises(Forbidden):
        qrcodes.account_qr(AccountCaller("77777", Proof.ACCOUNT_NUMBER), "77777", kind, "svg", stores=stores)


def test_qr_session_never_outlives_its_token(stores: FakeStores) -> None:
    # Given a printed web token with two hours left
    expires = NOW + timedelta(hours=2)
    token = make_v1_token(SECRET, Purpose.WEB_SIGN_IN, "77777", expires)
    # When it opens a session
    signed = auth.sign_in_by_qr(token, stores=stores, now=NOW)
    # Then the session ends with the token, not twelve hours later
    assert signed.expires_at == expires
    assert signed.lifetime == timedelta(hours=2)
    with pytest.raises(NotSignedIn):
        auth.resolve(signed.token, stores=stores, now=expires)


# ---- tokens a cabinet handed out die with the link --------------------------------------------------------


def test_cabinet_qr_codes_are_tied_to_the_persons_link_and_expire(stores: FakeStores) -> None:
    # Given the holder's cabinet showing 77777's QR codes
    web = read_token(
        SECRET, Purpose.WEB_SIGN_IN, web_token_of(cabinet_link(stores, "p-1", qrcodes.QrKind.WEB)), NOW
    )
    viber_link = cabinet_link(stores, "p-1", qrcodes.QrKind.VIBER)
    viber = read_token(SECRET, Purpose.VIBER_LINK, viber_token_of(viber_link), NOW)
    # Then both name the person's link and end within the configured 30 days (the Viber one too)
    assert web.link is not None and web.link == viber.link
    assert web.expires == viber.expires == NOW + timedelta(days=30)
    # and they differ from the printed ones, which name no link
    assert (
        read_token(
            SECRET, Purpose.VIBER_LINK, viber_token_of(qrcodes.invoice_links("77777", 0, NOW).viber), NOW
        ).link
        is None
    )


def test_unlinking_ends_the_tokens_and_sessions_the_link_handed_out(stores: FakeStores) -> None:
    # Given the holder's cabinet QR codes, a session opened with the web one, and a Viber user
    # about to scan the Viber one
    web_token = web_token_of(cabinet_link(stores, "p-1", qrcodes.QrKind.WEB))
    viber_token = viber_token_of(cabinet_link(stores, "p-1", qrcodes.QrKind.VIBER))
    session = qr_session(stores, web_token)
    assert readings.readings_page(session.caller, "77777", stores=stores, now=NOW).number == "77777"
    # When the holder removes the address from their cabinet
    accounts.unlink_account(PersonCaller("p-1"), "77777", stores=stores)
    # Then the session opened with it is signed out at its next request
    with pytest.raises(NotSignedIn) as caught:
        readings.readings_page(session.caller, "77777", stores=stores, now=NOW)
    assert caught.value.code == "access_revoked"
    with pytest.raises(NotSignedIn):
        auth.confirm(session, stores=stores)
    # and neither token works any more
    with pytest.raises(BadToken):
        auth.sign_in_by_qr(web_token, stores=stores, now=NOW)
    with pytest.raises(BadToken):
        accounts.link_by_token(PersonCaller("viber-9"), viber_token, stores=stores, now=NOW)
    # not even after the holder links the address again (a new link, a new id)
    accounts.link_by_token(
        PersonCaller("p-1"),
        viber_token_of(qrcodes.invoice_links("77777", 0, NOW).viber),
        stores=stores,
        now=NOW + timedelta(minutes=1),
    )
    with pytest.raises(BadToken):
        auth.sign_in_by_qr(web_token, stores=stores, now=NOW + timedelta(minutes=2))


def test_linking_again_keeps_the_tokens_the_link_handed_out(stores: FakeStores) -> None:
    # Given a token the holder's cabinet showed
    web_token = web_token_of(cabinet_link(stores, "p-1", qrcodes.QrKind.WEB))
    # When the holder, already linked, scans the invoice's Viber QR again
    accounts.link_by_token(
        PersonCaller("p-1"),
        viber_token_of(qrcodes.invoice_links("77777", 0, NOW).viber),
        stores=stores,
        now=NOW + timedelta(days=1),
    )
    # Then the link is the same link, and the token still signs in
    assert qr_session(stores, web_token, NOW + timedelta(days=1)).caller.account == "77777"  # type: ignore[union-attr]


# ---- the account's token generation ---------------------------------------------------------------------


def test_revoke_access_voids_every_token_and_session_of_the_account(stores: FakeStores) -> None:
    # Given printed tokens of both versions, a cabinet token, a session opened by each web one, and a
    # second person linked by code
    v1_web = make_v1_token(SECRET, Purpose.WEB_SIGN_IN, "77777", NOW + timedelta(days=60))
    v1_viber = make_v1_token(SECRET, Purpose.VIBER_LINK, "77777")
    printed = qrcodes.invoice_links("77777", 0, NOW)
    cabinet = web_token_of(cabinet_link(stores, "p-1", qrcodes.QrKind.WEB))
    sessions = [qr_session(stores, t) for t in (v1_web, web_token_of(printed.web), cabinet)]
    accounts.link_account(PersonCaller("p-2"), "77777512", stores=stores, now=NOW)
    # When the holder asks the billing centre to revoke everything (an operator runs it)
    revoked = accounts.revoke_access(OPERATOR, "77777", stores=stores)
    # Then the account is at generation 1 and nobody is linked any more
    assert revoked.generation == 1
    assert revoked.unlinked == ("p-1", "p-2")
    assert stores.fake_accounts.linked["77777"] == {}
    # and every session is signed out, every token refused
    for session in sessions:
        with pytest.raises(NotSignedIn):
            readings.readings_page(session.caller, "77777", stores=stores, now=NOW)
    for token in (v1_web, web_token_of(printed.web), cabinet):
        with pytest.raises(BadToken):
            auth.sign_in_by_qr(token, stores=stores, now=NOW)
    for token in (v1_viber, viber_token_of(printed.viber)):
        with pytest.raises(BadToken):
            accounts.link_by_token(PersonCaller("p-3"), token, stores=stores, now=NOW)
    # while the next print run, made under generation 1, works
    generation = stores.accounts.token_generations(["77777"])["77777"]
    reprinted = qrcodes.invoice_links("77777", generation, NOW)
    assert qr_session(stores, web_token_of(reprinted.web)).caller.account == "77777"  # type: ignore[union-attr]
    assert accounts.link_by_token(
        PersonCaller("p-3"), viber_token_of(reprinted.viber), stores=stores, now=NOW
    )


def test_revoke_access_can_keep_the_links(stores: FakeStores) -> None:
    # Given a lost invoice, but nobody to remove / When only the tokens are revoked
    revoked = accounts.revoke_access(OPERATOR, "77777", unlink_everyone=False, stores=stores)
    # Then the links stay and the holder's cabinet still sees the account
    assert revoked.unlinked == ()
    assert readings.readings_page(PersonCaller("p-1"), "77777", stores=stores, now=NOW).number == "77777"


def test_revoke_access_is_for_operators_only(stores: FakeStores) -> None:
    # Given a resident or a QR session / When they try to revoke / Then it is refused
    for caller in (PersonCaller("p-1"), AccountCaller("77777", Proof.INVOICE_QR)):
        with pytest.raises(Forbidden):
            accounts.revoke_access(caller, "77777", stores=stores)
    with pytest.raises(NotFound):
        accounts.revoke_access(OPERATOR, "12345", stores=stores)


def test_billing_reimport_never_brings_revoked_tokens_back(stores: FakeStores) -> None:
    # Given a revoked account
    accounts.revoke_access(OPERATOR, "77777", unlink_everyone=False, stores=stores)
    printed_before = qrcodes.invoice_links("77777", 0, NOW)  # generation 0, as an old print run had it
    # When billing imports the account again (its data knows nothing of generations)
    stores.accounts.put_account(replace(ACCOUNT, address="вул. Нова, 1"))
    # Then the generation stays, and the old tokens stay dead
    assert stores.accounts.token_generations(["77777"]) == {"77777": 1}
    with pytest.raises(BadToken):
        auth.sign_in_by_qr(web_token_of(printed_before.web), stores=stores, now=NOW)


def test_print_run_carries_the_accounts_generation(stores: FakeStores) -> None:
    # Given a revoked account
    accounts.revoke_access(OPERATOR, "77777", unlink_everyone=False, stores=stores)
    generation = stores.accounts.token_generations(["77777", "88888"])
    assert generation == {"77777": 1, "88888": 0}
    # When links are made under its generation
    token = web_token_of(qrcodes.invoice_links("77777", generation["77777"], NOW).web)
    # Then they carry it and work
    assert read_token(SECRET, Purpose.WEB_SIGN_IN, token, NOW).generation == 1
    assert qr_session(stores, token).caller.account == "77777"  # type: ignore[union-attr]
    # while a link made under an old generation is dead at birth: a mistake fails safe
    stale = web_token_of(qrcodes.web_link("77777", NOW))
    with pytest.raises(BadToken):
        auth.sign_in_by_qr(stale, stores=stores, now=NOW)
    fresh = web_token_of(qrcodes.web_link("77777", NOW, generation=1))
    assert qr_session(stores, fresh).caller.account == "77777"  # type: ignore[union-attr]


# ---- sign-out ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["password", "qr"])
def test_signout_ends_the_session(stores: FakeStores, how: str) -> None:
    # Given a session (by password, or by the invoice's web QR)
    if how == "password":
        auth.sign_up("p@example.com", "right-password-1", stores=stores, now=NOW)
        signed = auth.sign_in("p@example.com", "right-password-1", stores=stores, now=NOW)
    else:
        signed = auth.sign_in_by_qr(
            web_token_of(qrcodes.invoice_links("77777", 0, NOW).web), stores=stores, now=NOW
        )
    session = auth.resolve(signed.token, stores=stores, now=NOW)
    # When it signs out
    auth.sign_out(session, stores=stores)
    # Then the stored session is gone and its cookie opens nothing
    assert session.session_id not in stores.fake_people.sessions
    with pytest.raises(NotSignedIn):
        auth.resolve(signed.token, stores=stores, now=NOW)
