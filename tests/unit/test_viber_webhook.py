"""The webhook's own logic without sockets: the signature check, viberbot's base URL, sending and retrying."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from ekc.channels.viber_chat import Outgoing, Turn
from ekc.domain.notices import Notice, NoticeCode
from ekc.storage.ports import ViberIdentity
from tests.fakes import FakeStores

TOKEN = "unit-viber-auth-token"
NOW = datetime(2026, 11, 24, 21, 4, 36, tzinfo=UTC)


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("VIBER_AUTH_TOKEN", TOKEN)
    monkeypatch.setenv("VIBER_API_URL", "http://viber.invalid/pa/")
    from functions.viber_webhook import app

    real = app.api
    real.cache_clear()
    yield app
    real.cache_clear()


class FakeApi:
    """Stands in for viberbot's Api: each send takes the next outcome (None = accepted)."""

    def __init__(self, *outcomes: Exception | None) -> None:
        self.outcomes = list(outcomes)
        self.sent: list[tuple[str, Any]] = []
        self.tries = 0

    def send_messages(self, to: str, messages: list[Any]) -> list[int]:
        self.tries += 1
        outcome = self.outcomes.pop(0) if self.outcomes else None
        if outcome is not None:
            raise outcome
        self.sent.append((to, messages[0].to_dict()))
        return [1]


@pytest.fixture
def stores(monkeypatch: pytest.MonkeyPatch) -> FakeStores:
    from ekc.services import viber_people

    stores = FakeStores()
    monkeypatch.setattr(viber_people, "get_stores", lambda: stores)
    stores.viber_users.create(ViberIdentity("vb==", "p-1", True), NOW)
    return stores


def _turn(*texts: str, confirmed: bool = False) -> Turn:
    notice = Notice(
        NoticeCode.READING_SAVED, NOW, account="77777", meter_id="77777.2", params={"value": "205.000"}
    )
    return Turn([Outgoing(t, None, "1.x.y") for t in texts], "p-1", [notice] if confirmed else [])


def test_viber_webhook_signature_is_the_hmac_of_the_raw_body(app: Any) -> None:
    body = b'{"event":"message"}'
    good = hmac.new(TOKEN.encode(), body, hashlib.sha256).hexdigest()
    assert app.signature_ok(body, good) and app.signature_ok(body, good.upper())
    assert not app.signature_ok(body + b" ", good)
    assert not app.signature_ok(body, hmac.new(b"other", body, hashlib.sha256).hexdigest())
    assert not app.signature_ok(body, None) and not app.signature_ok(body, "")


def test_viber_webhook_viberbot_posts_to_the_configured_base_with_a_timeout(
    app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given viberbot's Api as the webhook builds it, and a session that only records
    posted: list[tuple[str, dict[str, Any]]] = []

    class Answer:
        status_code = 200

        def raise_for_status(self) -> None: ...

        def json(self) -> dict[str, Any]:
            return {"status": 0, "status_message": "ok", "message_token": 7}

    api = app.api()
    monkeypatch.setattr(
        api._request_sender._session, "post", lambda url, **kw: posted.append((url, kw)) or Answer()
    )
    # When it sends a text message
    from viberbot.api.messages import TextMessage

    assert api.send_messages("vb==", [TextMessage(text="Привіт")]) == [7]
    # Then the request went to VIBER_API_URL's send_message, with the token header and a timeout
    url, kw = posted[0]
    assert url == "http://viber.invalid/pa/send_message"
    assert kw["headers"]["X-Viber-Auth-Token"] == TOKEN and kw["timeout"] == 3.0
    assert "Привіт".encode() in kw["data"]


def test_viber_webhook_a_refusal_in_an_http_200_is_an_error(
    app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Answer:
        def raise_for_status(self) -> None: ...

        def json(self) -> dict[str, Any]:
            return {"status": 6, "status_message": "receiverNotSubscribed"}

    api = app.api()
    monkeypatch.setattr(api._request_sender._session, "post", lambda url, **kw: Answer())
    from viberbot.api.messages import TextMessage

    with pytest.raises(app.ViberRefused) as refused:
        api.send_messages("vb==", [TextMessage(text="Привіт")])
    assert refused.value.status == 6


def test_viber_webhook_send_retries_only_what_never_reached_viber(
    app: Any, monkeypatch: pytest.MonkeyPatch, stores: FakeStores
) -> None:
    # A connection error is retried once; a read timeout (maybe delivered) and a bad request are not
    fake = FakeApi(requests.ConnectionError("refused"))
    monkeypatch.setattr(app, "api", lambda: fake)
    assert app.send("vb==", _turn("Перше")) == 1 and fake.tries == 2
    fake = FakeApi(requests.ReadTimeout("slow"))
    monkeypatch.setattr(app, "api", lambda: fake)
    assert app.send("vb==", _turn("Перше")) == 0 and fake.tries == 1
    fake = FakeApi(app.ViberRefused(3, "badData"))
    monkeypatch.setattr(app, "api", lambda: fake)
    assert app.send("vb==", _turn("Перше")) == 0 and fake.tries == 1


def test_viber_webhook_an_unsubscribed_receiver_is_remembered_and_not_retried(
    app: Any, monkeypatch: pytest.MonkeyPatch, stores: FakeStores
) -> None:
    fake = FakeApi(app.ViberRefused(6, "receiverNotSubscribed"))
    monkeypatch.setattr(app, "api", lambda: fake)
    assert app.send("vb==", _turn("Привіт")) == 0
    assert fake.tries == 1
    assert stores.viber_users.get("vb==") == ViberIdentity("vb==", "p-1", False)


def test_viber_webhook_an_undelivered_confirmation_is_left_as_a_notice_and_counted(
    app: Any, monkeypatch: pytest.MonkeyPatch, stores: FakeStores, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a turn that saved a reading: a notice is told, then the confirmation fails twice (HTTP 503)
    failure = requests.HTTPError(response=type("R", (), {"status_code": 503})())
    fake = FakeApi(None, failure, failure)
    monkeypatch.setattr(app, "api", lambda: fake)
    delivered = app.send("vb==", _turn("Нагадування", "Показник збережено", confirmed=True))
    # Then the first message went, the confirmation did not; a READING_SAVED notice waits; a metric says so
    assert delivered == 1 and fake.tries == 3
    assert [n.code for n in stores.people.notices("p-1")] == [NoticeCode.READING_SAVED]
    assert '"ViberConfirmationUndelivered"' in capsys.readouterr().out


def test_viber_webhook_a_delivered_confirmation_leaves_nothing(
    app: Any, monkeypatch: pytest.MonkeyPatch, stores: FakeStores
) -> None:
    fake = FakeApi()
    monkeypatch.setattr(app, "api", lambda: fake)
    assert app.send("vb==", _turn("Показник збережено", confirmed=True)) == 1
    assert stores.people.notices("p-1") == []
    assert fake.sent[0][1]["text"] == "Показник збережено" and fake.sent[0][1]["tracking_data"] == "1.x.y"
