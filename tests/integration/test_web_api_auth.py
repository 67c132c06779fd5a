"""Sign-up, sign-in, sessions, CSRF, QR sign-in and who may see what: the real handler against moto."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from tests.integration.conftest import Browser

ACCOUNT_ROUTES = [
    ("GET", "/api/accounts/77777", None),
    ("POST", "/api/accounts/77777/readings", {"rows": [{"meter_id": "77777.2", "value": "202"}]}),
    ("GET", "/api/accounts/77777/meters/77777.2/history", None),
    ("PUT", "/api/accounts/77777/meters/77777.2/bot", {"enabled": True, "amount": "3"}),
    ("GET", "/api/accounts/77777/qr/viber", None),
    ("GET", "/api/accounts/77777/qr/web", None),
    ("GET", "/api/accounts/77777/viber-link", None),
]


def _stranger(web: Browser) -> Browser:
    stranger = Browser(web.handler)
    answer = stranger.call(
        "POST", "/api/auth/signup", {"email": "stranger@example.com", "password": "stranger-pass"}
    )
    assert answer.status == 201, answer.raw
    return stranger


def test_signup_stores_argon2id_hash_and_sets_strict_cookie(web: Browser, table: Any) -> None:
    # Given a new resident
    # When they sign up
    answer = web.call("POST", "/api/auth/signup", {"email": " New@Example.com ", "password": "correct horse"})
    # Then they are signed in with a cookie scripts and other sites cannot use
    assert answer.status == 201
    cookie = answer.cookies[0]
    assert cookie.startswith("__Host-session=")
    for attribute in ("HttpOnly", "Secure", "SameSite=Strict", "Path=/"):
        assert attribute in cookie
    assert answer.json["person"]["email"] == "new@example.com"
    assert "Max-Age=2592000" in cookie  # 30 days
    # And only an argon2id hash of the password is stored
    login = table.get_item(Key={"pk": "EMAIL#new@example.com", "sk": "LOGIN"})["Item"]
    assert login["password_hash"].startswith("$argon2id$")
    assert "correct horse" not in str(login)
    # And the stored session is keyed by a hash, not by the cookie value
    token = cookie.split(";")[0].split("=", 1)[1]
    assert "Item" not in table.get_item(Key={"pk": f"SESSION#{token}", "sk": "SESSION"})


def test_signup_refuses_a_taken_email_and_a_short_password(web: Browser) -> None:
    taken = web.call("POST", "/api/auth/signup", {"email": "demo@example.com", "password": "whatever123"})
    assert taken.status == 409 and taken.json["error"]["code"] == "email_taken"
    short = web.call("POST", "/api/auth/signup", {"email": "x@example.com", "password": "short"})
    assert short.status == 400 and short.json["error"]["code"] == "weak_password"
    malformed = web.call("POST", "/api/auth/signup", {"email": "x@example.com"})
    assert malformed.status == 400 and malformed.json["error"]["code"] == "invalid_request"


def test_signin_answers_the_same_for_unknown_email_and_wrong_password(web: Browser) -> None:
    wrong = web.call("POST", "/api/auth/signin", {"email": "demo@example.com", "password": "not-it-at-all"})
    unknown = web.call(
        "POST", "/api/auth/signin", {"email": "nobody@example.com", "password": "not-it-at-all"}
    )
    assert wrong.status == unknown.status == 401
    assert wrong.json == unknown.json
    assert wrong.json["error"]["message"] == "Неправильна електронна пошта або пароль."


def test_signin_is_rate_limited_per_email(web: Browser) -> None:
    # Given ten wrong passwords for one e-mail
    for _ in range(10):
        assert (
            web.call(
                "POST", "/api/auth/signin", {"email": "demo@example.com", "password": "guess-guess"}
            ).status
            == 401
        )
    # When the right password comes next
    answer = web.call("POST", "/api/auth/signin", {"email": "demo@example.com", "password": "demo12345"})
    # Then it is refused too, with a time to come back
    assert answer.status == 429
    assert answer.json["error"]["code"] == "too_many_attempts"
    assert "Спробуйте знову після" in answer.json["error"]["message"]


def test_signout_revokes_the_session(web: Browser, table: Any) -> None:
    web.sign_in()
    cookie = web.cookie
    items = table.scan()["Items"]
    [pointer] = [i for i in items if i["pk"].startswith("PERSON#") and i["sk"].startswith("SESS#")]
    assert {"pk": f"SESSION#{pointer['sk'].removeprefix('SESS#')}", "sk": "SESSION"} in [
        {"pk": i["pk"], "sk": i["sk"]} for i in items
    ]
    assert pointer["ttl"] and pointer["expires_at"]
    assert web.call("POST", "/api/auth/signout").status == 204
    # The session and its pointer in the person's partition are both gone
    left = table.scan()["Items"]
    assert not [i for i in left if i["pk"].startswith("SESSION#") or i["sk"].startswith("SESS#")]
    # The old cookie, replayed, no longer works
    web.cookie = cookie
    answer = web.call("GET", "/api/me")
    assert answer.status == 401 and answer.json["error"]["code"] == "not_signed_in"


def test_me_answers_401_without_a_session(web: Browser) -> None:
    answer = web.call("GET", "/api/me")
    assert answer.status == 401
    assert answer.json["error"]["message"] == "Увійдіть до кабінету."


@pytest.mark.parametrize(("method", "path", "body"), ACCOUNT_ROUTES)
def test_account_routes_hide_accounts_not_linked_to_you(
    web: Browser, method: str, path: str, body: Any
) -> None:
    # Given someone signed in who has not linked 77777
    stranger = _stranger(web)
    # When they ask for it
    answer = stranger.call(method, path, body)
    # Then it is as if it did not exist
    assert answer.status == 404 and answer.json["error"]["code"] == "not_found"


@pytest.mark.parametrize(("method", "path", "body"), [*ACCOUNT_ROUTES, ("GET", "/api/accounts", None)])
def test_account_routes_need_a_session(web: Browser, method: str, path: str, body: Any) -> None:
    answer = web.call(method, path, body)
    assert answer.status == 401


def test_unlink_of_someone_elses_account_leaves_their_link(web: Browser, table: Any) -> None:
    stranger = _stranger(web)
    assert stranger.call("DELETE", "/api/accounts/77777").status == 204
    # The demo user's link is untouched
    web.sign_in()
    assert web.call("GET", "/api/accounts/77777").status == 200


def test_qr_images_are_svg_and_png(web: Browser) -> None:
    web.sign_in()
    svg = web.call("GET", "/api/accounts/77777/qr/viber", query="format=svg")
    assert svg.status == 200 and svg.headers["content-type"] == "image/svg+xml"
    assert "<svg" in svg.raw
    png = web.call("GET", "/api/accounts/77777/qr/web", query="format=png")
    assert png.status == 200 and png.headers["content-type"] == "image/png"
    assert png.raw.encode("latin-1").startswith(b"\x89PNG\r\n\x1a\n")
    assert web.call("GET", "/api/accounts/77777/qr/other").status == 404
    assert web.call("GET", "/api/accounts/77777/qr/web", query="format=gif").status == 400


def test_web_qr_signs_in_to_that_account_only(web: Browser, demo: dict[str, Any]) -> None:
    # Given the web QR link printed on 77777's invoice
    token = demo["links"]["web_qr_77777"].rsplit("/", 1)[1]
    assert "77777" not in token
    # When someone with no login scans it
    answer = web.call("POST", "/api/auth/qr", {"token": token})
    # Then they land on 77777 and only there, for half a day
    assert answer.status == 200 and answer.json["scope_account"] == "77777" and answer.json["person"] is None
    assert "Max-Age=43200" in answer.cookies[0]
    assert web.call("GET", "/api/accounts/77777").status == 200
    saved = web.call(
        "POST", "/api/accounts/77777/readings", {"rows": [{"meter_id": "77777.2", "value": "205"}]}
    )
    assert saved.json["results"][0]["status"] == "saved"
    assert web.call("GET", "/api/accounts/88888").status == 404
    listed = web.call("GET", "/api/accounts")
    assert listed.status == 403 and listed.json["error"]["code"] == "scope"
    assert web.call("POST", "/api/accounts", {"code": "88888640"}).status == 403


def test_qr_signin_refuses_forged_and_viber_tokens(web: Browser, demo: dict[str, Any]) -> None:
    token = demo["links"]["web_qr_77777"].rsplit("/", 1)[1]
    raw = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    raw[-1] ^= 1
    forged = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    viber = demo["links"]["viber_qr_77777"].split("context=", 1)[1]
    for bad in (forged, viber, "not-a-token"):
        answer = web.call("POST", "/api/auth/qr", {"token": bad})
        assert answer.status == 401 and answer.json["error"]["code"] == "bad_token"


def test_openapi_document_lists_the_routes(web: Browser) -> None:
    answer = web.call("GET", "/api/openapi.json")
    assert answer.status == 200
    paths = answer.json["paths"]
    assert "/api/accounts/{account}/readings" in paths and "post" in paths["/api/accounts/{account}/readings"]


def test_unknown_api_path_answers_json_404(web: Browser) -> None:
    answer = web.call("GET", "/api/nothing-here")
    assert answer.status == 404 and answer.json["error"]["code"] == "not_found"


def test_qr_session_ends_after_half_a_day(web: Browser, demo: dict[str, Any], clock_at: Any) -> None:
    from datetime import timedelta

    from tests.integration.conftest import NOW

    token = demo["links"]["web_qr_77777"].rsplit("/", 1)[1]
    assert web.call("POST", "/api/auth/qr", {"token": token}).status == 200
    clock_at(NOW + timedelta(hours=11, minutes=59))
    assert web.call("GET", "/api/accounts/77777").status == 200
    clock_at(NOW + timedelta(hours=12))
    assert web.call("GET", "/api/accounts/77777").status == 401


# ---- access ends when it should (issue 6) ----------------------------------------------------------------


def _qr_token(demo: dict[str, Any]) -> str:
    return demo["links"]["web_qr_77777"].rsplit("/", 1)[1]


@pytest.mark.parametrize("kind", ["viber", "web"])
def test_qr_session_cannot_fetch_the_accounts_qr_codes(web: Browser, demo: dict[str, Any], kind: str) -> None:
    # Given a session opened by the invoice's web QR (a borrowed phone, say)
    assert web.call("POST", "/api/auth/qr", {"token": _qr_token(demo)}).status == 200
    # When it asks for the account's QR codes, which would carry lasting tokens
    answer = web.call("GET", f"/api/accounts/77777/qr/{kind}")
    # Then it is refused: a QR session mints no tokens that outlive it
    assert answer.status == 403 and answer.json["error"]["code"] == "scope"


def test_revoking_an_accounts_tokens_ends_its_qr_sessions(
    web: Browser, demo: dict[str, Any], table: Any
) -> None:
    from ekc.domain.identity import SystemCaller
    from ekc.services import accounts, qrcodes

    # Given a QR session on 77777 and the demo resident's password session
    assert web.call("POST", "/api/auth/qr", {"token": _qr_token(demo)}).status == 200
    resident = Browser(web.handler)
    resident.sign_in()
    # When the holder asks the billing centre to revoke 77777's tokens (an operator runs it)
    revoked = accounts.revoke_access(SystemCaller("operator:test"), "77777", unlink_everyone=False)
    assert revoked.generation == 1
    assert table.get_item(Key={"pk": "ACC#77777", "sk": "TOKENS"})["Item"]["generation"] == 1
    # Then the QR session is signed out at its next request, whichever it is
    for path in ("/api/accounts/77777", "/api/me"):
        answer = web.call("GET", path)
        assert answer.status == 401 and answer.json["error"]["code"] == "access_revoked", path
    # and the printed token no longer signs in, while a reprinted one does
    assert web.call("POST", "/api/auth/qr", {"token": _qr_token(demo)}).status == 401
    reprinted = qrcodes.web_link("77777", generation=revoked.generation).rsplit("/", 1)[1]
    assert web.call("POST", "/api/auth/qr", {"token": reprinted}).status == 200
    # while the resident's own (password) session goes on
    assert resident.call("GET", "/api/accounts/77777").status == 200


def test_a_cabinet_qr_dies_when_its_person_unlinks(web: Browser, monkeypatch: pytest.MonkeyPatch) -> None:
    from ekc.services import qrcodes

    # Given the demo resident's cabinet showing 77777's web QR (its link captured as it is drawn)
    shown: list[str] = []
    real = qrcodes.render
    monkeypatch.setattr(qrcodes, "render", lambda data, fmt: (shown.append(data), real(data, fmt))[1])
    web.sign_in()
    assert web.call("GET", "/api/accounts/77777/qr/web").status == 200
    token = shown[-1].rsplit("/", 1)[1]
    # and a phone that opened a session with it
    phone = Browser(web.handler)
    assert phone.call("POST", "/api/auth/qr", {"token": token}).status == 200
    assert phone.call("GET", "/api/accounts/77777").status == 200
    # When the resident removes 77777 from the cabinet
    assert web.call("DELETE", "/api/accounts/77777").status == 204
    # Then the phone's session ends and the QR no longer signs in
    assert phone.call("GET", "/api/accounts/77777").status == 401
    assert phone.call("POST", "/api/auth/qr", {"token": token}).status == 401


def test_signout_ends_a_qr_session(web: Browser, demo: dict[str, Any], table: Any) -> None:
    # Given a QR session
    assert web.call("POST", "/api/auth/qr", {"token": _qr_token(demo)}).status == 200
    cookie = web.cookie
    sessions = [i for i in table.scan()["Items"] if i["pk"].startswith("SESSION#") and "scope_account" in i]
    assert len(sessions) == 1
    # When it signs out
    answer = web.call("POST", "/api/auth/signout")
    # Then the cookie is cleared, the stored session deleted, and the old cookie opens nothing
    assert answer.status == 204 and "Max-Age=0" in answer.cookies[0]
    assert "Item" not in table.get_item(Key={"pk": sessions[0]["pk"], "sk": "SESSION"})
    web.cookie = cookie
    assert web.call("GET", "/api/accounts/77777").status == 401


# ---- "Відкрити у Viber": the same deep link as the Viber QR code ------------------------------------------


def test_viber_link_is_the_deep_link_the_viber_qr_encodes(web: Browser) -> None:
    from tests.qr_decode import decode_png

    # Given the demo resident signed in, with 77777 linked
    web.sign_in()
    # When the cabinet asks for 77777's Viber link, and for its Viber QR code at the same moment
    answer = web.call("GET", "/api/accounts/77777/viber-link")
    png = web.call("GET", "/api/accounts/77777/qr/viber", query="format=png")
    # Then the link opens the bot with this address: the chat URI and a context token, as the QR says
    assert answer.status == 200 and answer.headers["cache-control"] == "no-store"
    link = answer.json["link"]
    assert link.startswith("viber://pa?chatURI=") and "&context=" in link
    assert decode_png(png.raw.encode("latin-1")) == [link]
    # And the token is the person's own: a Viber user who opens it is linked to 77777
    token = link.split("context=", 1)[1]
    from ekc.config import link_settings
    from ekc.tokens import Purpose, read_token
    from tests.integration.conftest import NOW

    claims = read_token(link_settings().token_signing_key.get_secret_value(), Purpose.VIBER_LINK, token, NOW)
    assert claims.account == "77777" and claims.link is not None and claims.expires is not None


def test_viber_link_is_refused_to_a_qr_session_and_to_strangers(web: Browser, demo: dict[str, Any]) -> None:
    # Given a session opened by the invoice's web QR (a borrowed phone)
    assert web.call("POST", "/api/auth/qr", {"token": _qr_token(demo)}).status == 200
    # When it asks for the Viber link: refused like the QR codes (it would carry a lasting token)
    answer = web.call("GET", "/api/accounts/77777/viber-link")
    assert answer.status == 403 and answer.json["error"]["code"] == "scope"
    # And a stranger without the address learns nothing, not even that it exists
    stranger = _stranger(web)
    refused = stranger.call("GET", "/api/accounts/77777/viber-link")
    assert refused.status == 404 and refused.json["error"]["code"] == "not_found"
    # And without a session: 401
    assert Browser(web.handler).call("GET", "/api/accounts/77777/viber-link").status == 401
