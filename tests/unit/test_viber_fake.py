"""The local fake of Viber's REST API and the simulator's files, without sockets."""

from __future__ import annotations

import io
import json
from typing import Any

from local.viber_fake import ViberFake, wsgi_app

TOKEN = "fake-token"


def _fake() -> ViberFake:
    return ViberFake(auth_token=lambda: TOKEN, webhook_url=lambda: "http://127.0.0.1:1")


def _post(fake: ViberFake, path: str, payload: Any, token: str | None = TOKEN) -> tuple[int, Any]:
    headers = {"x-viber-auth-token": token} if token else {}
    status, _, body = fake.handle("POST", path, "", headers, json.dumps(payload).encode())
    return status, json.loads(body)


def _message(receiver: str = "vb==", **extra: Any) -> dict[str, Any]:
    return {"receiver": receiver, "type": "text", "text": "Привіт", "auth_token": TOKEN, **extra}


def test_viber_fake_records_sends_without_the_token_and_answers_like_viber() -> None:
    fake = _fake()
    status, answer = _post(fake, "/pa/send_message", _message(tracking_data="1.a.b"))
    assert status == 200 and answer["status"] == 0 and answer["message_token"]
    _post(fake, "/pa/send_message", _message("other=="))
    status, _, body = fake.handle("GET", "/sent", "receiver=vb%3D%3D", {}, b"")
    sent = json.loads(body)
    assert sent == [{"receiver": "vb==", "type": "text", "text": "Привіт", "tracking_data": "1.a.b"}]
    assert len(json.loads(fake.handle("GET", "/sent", "", {}, b"")[2])) == 2
    fake.handle("DELETE", "/sent", "", {}, b"")
    assert json.loads(fake.handle("GET", "/sent", "", {}, b"")[2]) == []


def test_viber_fake_refuses_as_viber_does_in_an_http_200() -> None:
    fake = _fake()
    assert (
        _post(fake, "/pa/send_message", {**_message(), "auth_token": "wrong"}, token=None)[1]["status"] == 2
    )
    assert (
        _post(fake, "/pa/send_message", {"type": "text", "text": "x", "auth_token": TOKEN})[1]["status"] == 4
    )
    assert _post(fake, "/pa/send_message", _message(text=""))[1]["status"] == 4
    assert _post(fake, "/pa/send_message", _message(text="я" * 20_000))[1]["status"] == 3
    assert _post(fake, "/pa/no_such_thing", _message())[1]["status"] == 1
    assert fake.sent == []


def test_viber_fake_armed_failures_hit_the_next_sends_only() -> None:
    fake = _fake()
    assert _post(fake, "/fail", {"count": 1, "status": 6})[0] == 200
    assert _post(fake, "/fail", {"count": 1, "http": 503})[0] == 200
    assert _post(fake, "/pa/send_message", _message())[1]["status"] == 6
    assert _post(fake, "/pa/send_message", _message())[0] == 503
    assert _post(fake, "/pa/send_message", _message())[1]["status"] == 0
    assert len(fake.sent) == 1


def test_viber_fake_serves_the_simulator_and_nothing_outside_it() -> None:
    fake = _fake()
    status, headers, body = fake.handle("GET", "/", "", {}, b"")
    assert status == 200 and b"<html" in body and ("Content-Type", "text/html; charset=utf-8") in headers
    assert fake.handle("GET", "/simulator.js", "", {}, b"")[0] == 200
    for path in ("/../viber_fake.py", "/..%2Fviber_fake.py", "/.hidden", "/nope.js"):
        assert fake.handle("GET", path, "", {}, b"")[0] == 404


def test_viber_fake_serves_as_a_wsgi_app_under_its_mount() -> None:
    fake = _fake()
    status, _, body = fake.handle(
        "POST", "/pa/send_message", "", {"x-viber-auth-token": TOKEN}, json.dumps(_message()).encode()
    )
    assert status == 200 and json.loads(body)["status"] == 0
    started: list[str] = []
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/sent",
        "QUERY_STRING": "",
        "CONTENT_LENGTH": "0",
        "wsgi.input": io.BytesIO(b""),
    }
    body = b"".join(wsgi_app(fake)(environ, lambda status, headers: started.append(status)))
    assert started == ["200 OK"] and len(json.loads(body)) == 1
