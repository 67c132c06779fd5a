"""The Viber webhook's real handler against moto, talking over real HTTP to the fake Viber API."""

from __future__ import annotations

import copy
import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import botocore.session
import pynamodb.connection.base as pynamodb_base
import pytest
from boto3.dynamodb.conditions import Key

from local.viber_fake import ViberFake
from tests.integration.conftest import EVENT, NOW, LambdaContextStub
from tests.viber_emulator import ViberUser, actions, colours, texts

AUTH_TOKEN = "integration-viber-auth-token"


class _FakeHandler(BaseHTTPRequestHandler):
    fake: ViberFake

    def do_POST(self) -> None:
        self._answer()

    def do_GET(self) -> None:
        self._answer()

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, out_headers, out = self.fake.handle(self.command, parts.path, parts.query, headers, body)
        self.send_response(status)
        for name, value in out_headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def viber_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[ViberFake]:
    """The fake Viber REST API on a real socket; the handler's VIBER_API_URL points at it."""
    fake = ViberFake(auth_token=lambda: AUTH_TOKEN)
    handler = type("Handler", (_FakeHandler,), {"fake": fake})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("VIBER_AUTH_TOKEN", AUTH_TOKEN)
    monkeypatch.setenv("VIBER_API_URL", f"http://127.0.0.1:{server.server_address[1]}/pa")
    monkeypatch.setenv("VIBER_TIMEOUT_SECONDS", "2")
    from functions.viber_webhook import app

    app.api.cache_clear()
    yield fake
    app.api.cache_clear()
    server.shutdown()
    server.server_close()


def webhook_event(body: bytes, headers: dict[str, str]) -> dict[str, Any]:
    """API Gateway's event for a POST /viber/webhook."""
    event = copy.deepcopy(EVENT)
    event["routeKey"] = "POST /viber/webhook"
    event["rawPath"] = "/viber/webhook"
    event["requestContext"]["http"].update(method="POST", path="/viber/webhook", sourceIp="52.0.0.1")
    event["headers"] = {**event["headers"], **{k.lower(): v for k, v in headers.items()}}
    event["body"] = body.decode("utf-8", errors="surrogateescape")
    event["isBase64Encoded"] = False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        import base64

        event["body"] = base64.b64encode(body).decode()
        event["isBase64Encoded"] = True
    return event


def call_handler(body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    """The real lambda_handler, as API Gateway calls it."""
    from functions.viber_webhook import app

    raw = app.lambda_handler(webhook_event(body, headers), LambdaContextStub())
    text = raw.get("body") or ""
    return raw["statusCode"], json.loads(text) if text else None


@pytest.fixture
def user(demo: dict[str, Any], clock_at: Any, viber_api: ViberFake) -> Callable[[], ViberUser]:
    """A factory of Viber users talking to the handler, with the demo seeded and the clock at NOW."""

    def sent(receiver: str) -> list[dict[str, Any]]:
        return [m for m in viber_api.sent if m.get("receiver") == receiver]

    return lambda: ViberUser(call_handler, sent, AUTH_TOKEN)


def demo_context() -> str:
    from ekc.services import qrcodes

    return qrcodes.viber_link("77777").split("context=", 1)[1]


def items(table: Any, prefix: str) -> list[dict[str, Any]]:
    """Every item whose partition key starts with `prefix` (a test may scan; the code never does)."""
    return [i for i in table.scan()["Items"] if i["pk"].startswith(prefix)]


def readings_of(table: Any, meter_id: str) -> list[dict[str, Any]]:
    return table.query(KeyConditionExpression=Key("pk").eq(f"MTR#{meter_id}") & Key("sk").begins_with("R#"))[
        "Items"
    ]


def ours(table: Any, meter_id: str) -> list[dict[str, Any]]:
    """Readings handed in through Viber by the test's resident (the demo's history has some too)."""
    return [r for r in readings_of(table, meter_id) if r["channel"] == "viber" and r["who"] != "demo"]


def test_viber_webhook_qr_join_links_the_account_and_welcomes_in_the_http_answer(
    user: Callable[[], ViberUser], table: Any, viber_api: ViberFake
) -> None:
    # Given a newcomer scanning the invoice's Viber QR
    me = user()
    # When Viber tells the webhook the conversation started with the QR's context
    status, welcome = me.start(demo_context())
    # Then the welcome and the main menu come back in the HTTP answer, from ВАСя
    assert status == 200
    assert welcome["sender"]["name"] == "ВАСя"
    assert "Рахунок 77777" in welcome["text"] and "додано" in welcome["text"]
    assert colours([welcome]) == {"Особовий кабінет": "#A5D6A7", "Введення показників": "#FFB74D"}
    # And the account is linked to a new person, and nothing went through the REST API
    identity = items(table, "VIBER#")
    assert len(identity) == 1 and identity[0]["person_id"]
    links = [i for i in items(table, "ACC#77777") if i["sk"] == f"LINK#{identity[0]['person_id']}"]
    assert len(links) == 1
    assert viber_api.sent == []


def test_viber_webhook_a_reading_is_saved_confirmed_and_a_replay_changes_nothing(
    user: Callable[[], ViberUser], table: Any, viber_api: ViberFake
) -> None:
    # Given a resident at the gas meter's step
    me = user()
    me.start(demo_context())
    me.say("Введення показників")
    me.say("Показники о/р 77777")
    prompt = me.say("Лічильник 77777.2")
    assert "Попередній показник: 201.000 м³" in texts(prompt)
    # When they type the number, and Viber delivers that same callback twice
    payload = me.message("205,5")
    assert me.send(payload)[0] == 200
    first = me.replies()
    assert me.send(payload)[0] == 200
    # Then one reading is saved, with its confirmation, and the replay neither saves nor answers again
    assert len(readings_of(table, "77777.2")) == 1 + 12  # the demo's year of history, and ours
    assert [r["value"] for r in ours(table, "77777.2")] == ["205.500"]
    assert "Показник 205.500 м³" in texts(first) and "збережено" in texts(first)
    assert "Витрата за місяць: 4.500 м³" in texts(first)
    assert me.replies() == []
    # And the remaining open meters are offered
    assert actions(first)[:2] == ["Лічильник 77777.1", "Лічильник 77777.3"]


def test_viber_webhook_a_late_replay_after_the_idempotency_record_is_gone_saves_nothing(
    user: Callable[[], ViberUser], table: Any
) -> None:
    # Given a reading message handled once, and its idempotency record gone (expired after a day)
    import boto3

    me = user()
    me.start(demo_context())
    me.say("Введення показників")
    me.say("Показники о/р 77777")
    me.say("Лічильник 77777.2")
    payload = me.message("204")
    assert me.send(payload)[0] == 200
    records = boto3.resource("dynamodb", region_name="eu-central-1").Table("IdempotencyTable")
    for record in records.scan()["Items"]:
        records.delete_item(Key={"id": record["id"]})
    # When Viber delivers the same callback again
    assert me.send(payload)[0] == 200
    # Then the message_token, the reading's submission key, still keeps it to one reading
    assert [r["value"] for r in ours(table, "77777.2")] == ["204.000"]


def test_viber_webhook_refuses_bad_and_missing_signatures_and_writes_nothing(
    user: Callable[[], ViberUser], table: Any, viber_api: ViberFake
) -> None:
    # Given a well-formed callback that would link the demo account
    me = user()
    before = table.scan()["Items"]
    payload = me.message("Введення показників")
    started = {**me.message(), "event": "conversation_started", "user": {"id": me.user_id}}
    started["context"] = demo_context()
    # When it arrives unsigned, signed with another token, or with a signature of another body
    from tests.viber_emulator import sign

    answers = [
        me.send(payload, signature=""),
        me.send(payload, signature=sign(json.dumps(payload).encode(), "not-the-token")),
        me.send(started, signature=sign(b"{}", AUTH_TOKEN)),
        me.send(started, signature="zz" * 32),
    ]
    # Then each is refused with 403 before anything else: nothing written, nothing sent
    assert [status for status, _ in answers] == [403, 403, 403, 403]
    assert table.scan()["Items"] == before
    assert viber_api.sent == []


def test_viber_webhook_malformed_json_is_400_and_unknown_events_200(
    user: Callable[[], ViberUser], table: Any, viber_api: ViberFake
) -> None:
    # Given correctly signed bodies that are not Viber callbacks, and events the bot does not act on
    me = user()
    before = table.scan()["Items"]
    broken = [b"{not json", b"[1, 2]", b"\xff\xfe", b"", b'"text"']
    unknown = [
        {"event": "seen", "timestamp": 1, "message_token": 1, "user_id": me.user_id},
        {"event": "delivered", "timestamp": 1, "message_token": 2, "user_id": me.user_id},
        {"event": "failed", "timestamp": 1, "message_token": 3, "user_id": me.user_id, "desc": "x"},
        {"event": "webhook", "timestamp": 1, "message_token": 4},
        {"event": "client_status", "timestamp": 1},
        {"event": "message", "timestamp": 1},  # no sender, no token: nothing to answer
        {"no_event": True},
    ]
    # When they are posted
    refused = [me.send({}, raw=body)[0] for body in broken]
    accepted = [me.send(payload)[0] for payload in unknown]
    # Then the malformed ones are 400, the others 200, and nothing is written or sent
    assert refused == [400] * len(broken)
    assert accepted == [200] * len(unknown)
    assert table.scan()["Items"] == before
    assert viber_api.sent == []


def test_viber_webhook_implausible_value_needs_tak_and_lower_value_warns(
    user: Callable[[], ViberUser], table: Any
) -> None:
    # Given a resident at the electricity meter
    me = user()
    me.start(demo_context())
    me.say("Введення показників")
    me.say("Показники о/р 77777")
    me.say("Лічильник 77777.1")
    # When they type an implausible value
    question = me.say("99999")
    # Then nothing is saved yet and Так / Ні are offered
    assert "набагато більше, ніж зазвичай" in texts(question)
    assert actions(question)[:2] == ["Так", "Ні"]
    assert ours(table, "77777.1") == []
    # When they confirm
    saved = me.say("Так")
    # Then it is saved as confirmed
    assert "Показник 99999.000 кВт·год" in texts(saved)
    saved_items = ours(table, "77777.1")
    assert [r["value"] for r in saved_items] == ["99999.000"]
    assert saved_items[0]["warnings"][0]["code"] == "confirmed_high"
    # When they then give the cold water meter a value lower than its previous one
    me.say("Лічильник 77777.3")
    lower = me.say("100")
    # Then it is saved with the warning
    assert "менший за попередній (105.000)" in texts(lower)


def test_viber_webhook_undelivered_confirmation_is_told_next_time(
    user: Callable[[], ViberUser], table: Any, viber_api: ViberFake
) -> None:
    # Given a resident about to hand in a gas reading, and Viber failing the next send
    me = user()
    me.start(demo_context())
    me.say("Введення показників")
    me.say("Показники о/р 77777")
    me.say("Лічильник 77777.2")
    viber_api.failures.append({"count": 2, "http": 503})
    # When they type the number
    assert me.say("206") == []
    # Then the reading is saved, and a notice waits for them
    assert [r["value"] for r in ours(table, "77777.2")] == ["206.000"]
    notices = items(table, "PERSON#")
    assert [n["code"] for n in notices if n["sk"].startswith("NOTICE#")] == ["reading_saved"]
    # When they write again (their tracking data is the prompt's: the confirmation never arrived)
    later = me.say("Повернутися до головного меню")
    # Then the bot first tells them the reading was saved
    assert "Ваш показник 206.000 м³" in later[0]["text"] and "збережено" in later[0]["text"]
    assert later[-1]["text"].startswith("Головне меню")
    assert not [n for n in items(table, "PERSON#") if n["sk"].startswith("NOTICE#")]


def test_viber_webhook_unsubscribed_is_remembered_and_a_message_subscribes_again(
    user: Callable[[], ViberUser], table: Any
) -> None:
    # Given a resident the bot knows
    me = user()
    me.start(demo_context())
    # When they unsubscribe
    event = json.loads((__import__("pathlib").Path("tests/events/viber_unsubscribed.json")).read_text())
    event["user_id"] = me.user_id
    assert me.send(event)[0] == 200
    # Then the bot remembers not to write to them first
    from ekc.services import viber_people

    assert viber_people.may_message(me.user_id) is False
    # When they write to the bot again (Viber subscribes them by that), with no tracking data
    me.tracking = None
    assert me.say("Привіт")
    # Then they are subscribed again
    assert viber_people.may_message(me.user_id) is True


def test_viber_webhook_two_hundred_malformed_messages_each_get_ukrainian_and_nothing_is_written(
    user: Callable[[], ViberUser], table: Any, viber_api: ViberFake
) -> None:
    # Given a resident who joined, standing at the gas meter's step, and what the table holds then
    me = user()
    me.start(demo_context())
    me.say("Введення показників")
    me.say("Показники о/р 77777")
    me.say("Лічильник 77777.2")
    at_meter = me.tracking
    before = [i for i in table.scan()["Items"]]
    junk = _junk(200)
    # When 200 malformed messages arrive, each from the meter's step
    answers = []
    for text, kind in junk:
        me.tracking = at_meter
        answers.append(me.say(text, kind=kind))
    # Then every one got an answer in Ukrainian, and no reading, link or person was written
    for (text, kind), answer in zip(junk, answers, strict=True):
        assert answer, f"no answer to {text!r} ({kind})"
        assert any(ch in "абвгґдеєжзиіїйклмнопрстуфхцчшщьюя" for ch in texts(answer).lower()), text
    # (a typed value is answered once per delivery: its SAVE# marker, a TTL'd bookkeeping item, is
    # all the core writes for a refused value)
    bookkeeping = ("PERSON#", "SAVE#")
    after = [i for i in table.scan()["Items"] if not i["pk"].startswith(bookkeeping)]
    assert after == [i for i in before if not i["pk"].startswith(bookkeeping)]


def _junk(n: int) -> list[tuple[str | None, str]]:
    """Malformed messages: letters, too many decimals, signs, huge, emoji, non-text kinds."""
    samples: list[tuple[str | None, str]] = [
        ("двісті п'ять", "text"),
        ("205.1234", "text"),
        ("-5", "text"),
        ("1e5", "text"),
        ("205 м3", "text"),
        ("9" * 300, "text"),
        ("🙂", "text"),
        ("0x1F", "text"),
        ("205..5", "text"),
        (",5.", "text"),
        ("<script>alert(1)</script>", "text"),
        ("' OR 1=1 --", "text"),
        ("١٢٣", "text"),
        ("   ", "text"),
        (None, "sticker"),
        (None, "picture"),
        (None, "location"),
        (None, "contact"),
        (None, "file"),
        ("Лічильник ../../etc", "text"),
    ]
    return [samples[i % len(samples)] for i in range(n)]


@pytest.fixture
def ddb_calls(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """DynamoDB operations from now on, counted with botocore's before-call event."""
    counter: Counter[str] = Counter()
    session = botocore.session.get_session()
    session.register("before-call.dynamodb", lambda model, **_: counter.update([model.name]))
    monkeypatch.setattr(pynamodb_base, "get_session", lambda: session)
    return counter


def test_viber_webhook_request_budget_of_a_warm_reading_message(
    user: Callable[[], ViberUser], ddb_calls: Counter[str], clock_at: Any
) -> None:
    # Given a resident at a meter's step in a warm container (the counter on its one client)
    from ekc.storage import forget

    forget()
    me = user()
    me.start(demo_context())
    me.say("Введення показників")
    me.say("Показники о/р 77777")
    me.say("Лічильник 77777.2")
    clock_at(NOW + timedelta(seconds=5))
    ddb_calls.clear()
    # When they type the reading
    assert "збережено" in texts(me.say("207"))
    # Then: the account's Query + the reading's transaction, which also holds the delivery's marker
    assert ddb_calls == Counter({"Query": 1, "TransactWriteItems": 1})
