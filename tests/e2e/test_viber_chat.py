"""The Viber door end to end: signed callbacks over real HTTP to the local stack's webhook, the bot's
answers read from the local fake of Viber's REST API, and the readings seen in the web cabinet's API.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Callable
from typing import Any

import pytest
import requests

from tests.viber_emulator import ViberUser, actions, colours, sign, texts

# The token the stack chose (local.run's dummy, unless the shell set one: then the stack has it too).
AUTH_TOKEN = os.environ.get("VIBER_AUTH_TOKEN") or "local-viber-auth-token"
UKRAINIAN = set("абвгґдеєжзиіїйклмнопрстуфхцчшщьюя")


@pytest.fixture
def http() -> requests.Session:
    """One HTTP connection pool for the test."""
    return requests.Session()


@pytest.fixture
def new_user(stack_url: str, http: requests.Session) -> Callable[[], ViberUser]:
    """A factory of Viber users talking to the stack over HTTP."""

    def post(body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
        response = http.post(f"{stack_url}/viber/webhook", data=body, headers=headers, timeout=30)
        try:
            return response.status_code, response.json()
        except ValueError:
            return response.status_code, None

    def sent(receiver: str) -> list[dict[str, Any]]:
        response = http.get(f"{stack_url}/_local/viber/sent", params={"receiver": receiver}, timeout=30)
        response.raise_for_status()
        return response.json()

    return lambda: ViberUser(post, sent, AUTH_TOKEN)


@pytest.fixture
def context(demo_links: dict[str, str]) -> str:
    """The Viber QR context of 77777's invoice, as the stack printed it."""
    return demo_links["viber_qr_77777"].split("context=", 1)[1]


def cabinet(stack_url: str) -> requests.Session:
    """The demo resident signed in to the web cabinet's API (the Secure cookie carried by hand on http)."""
    web = requests.Session()
    answer = web.post(
        f"{stack_url}/api/auth/signin",
        json={"email": "demo@example.com", "password": "demo12345"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    web.headers["Cookie"] = answer.headers["Set-Cookie"].split(";", 1)[0]
    return web


def meters(web: requests.Session, stack_url: str) -> dict[str, Any]:
    answer = web.get(f"{stack_url}/api/accounts/77777", timeout=30)
    assert answer.status_code == 200, answer.text
    return {m["id"]: m for m in answer.json()["meters"]}


def test_viber_chat_full_journey_ends_in_the_web_cabinet(
    new_user: Callable[[], ViberUser], context: str, stack_url: str
) -> None:
    me = new_user()
    # Given a newcomer scanning 77777's invoice QR: welcome and main menu in the HTTP answer
    status, welcome = me.start(context)
    assert status == 200 and "Рахунок 77777" in welcome["text"]
    # When they add 88888 by account + SRC, typed with a space and a dash
    assert "Додати о/р" in actions(me.say("Особовий кабінет"))
    assert "SRC" in texts(me.say("Додати о/р"))
    linked = me.say("88888 - 640")
    assert "Рахунок 88888" in texts(linked) and "додано" in texts(linked)
    # And hand in a gas reading through the pink address and the light-green meter buttons
    addresses = me.say("Введення показників")
    assert colours(addresses)["Показники о/р 77777"] == "#F8BBD0"
    assert colours(addresses)["Повернутися до головного меню"] == "#7E57C2"
    meters_screen = me.say("Показники о/р 77777")
    assert colours(meters_screen)["Лічильник 77777.2"] == "#A5D6A7"
    assert "Лічильник 77777.4" not in actions(meters_screen)  # hot water's window is closed
    assert "Гаряча вода" in texts(meters_screen) and "прийом з" in texts(meters_screen)
    gas = f"{random.randint(202, 209)}.{random.randint(100, 999)}"
    me.say("Лічильник 77777.2")
    saved = me.say(gas)
    assert f"Показник {gas} м³" in texts(saved) and "за " in texts(saved)
    # And a cold water value lower than the previous one (saved, with the warning)
    me.say("Лічильник 77777.3")
    assert "менший за попередній" in texts(me.say("100.5"))
    # And an implausible electricity value, confirmed with Так
    me.say("Лічильник 77777.1")
    assert actions(me.say("98765"))[:2] == ["Так", "Ні"]
    done = me.say("Так")
    assert "98765.000" in texts(done) and "передано" in texts(done)
    # And look at the debt and remove 88888 again
    assert "IBAN: UA" in texts(me.say("Заборгованість о/р 77777"))
    assert "Так, видалити о/р 88888" in actions(me.say("Видалити о/р 88888"))
    assert "видалено" in texts(me.say("Так, видалити о/р 88888"))
    # Then the web cabinet (one database) shows the Viber readings with their source
    shown = meters(cabinet(stack_url), stack_url)
    assert shown["77777.2"]["current"]["value"] == gas
    assert shown["77777.2"]["current"]["channel"] == "viber"
    assert shown["77777.2"]["current"]["source_label"].startswith("Дані внесено через Viber ")
    assert shown["77777.3"]["current"]["value"] == "100.500"
    assert shown["77777.1"]["current"]["value"] == "98765.000"


def test_viber_chat_a_replayed_message_token_saves_and_answers_once(
    new_user: Callable[[], ViberUser], context: str, stack_url: str
) -> None:
    # Given a resident at the gas meter's step
    me = new_user()
    me.start(context)
    me.say("Введення показників")
    me.say("Показники о/р 77777")
    me.say("Лічильник 77777.2")
    value = f"{random.randint(202, 209)}.{random.randint(100, 999)}"
    payload = me.message(value)
    # When Viber sends the same callback three times
    statuses = [me.send(payload)[0] for _ in range(3)]
    # Then every delivery is 200, one confirmation went out, and one reading is in the history
    assert statuses == [200, 200, 200]
    assert len([m for m in me.replies() if "збережено" in m["text"]]) == 1
    web = cabinet(stack_url)
    history = web.get(f"{stack_url}/api/accounts/77777/meters/77777.2/history", timeout=30).json()
    assert [s["value"] for s in history["submissions"]].count(value) == 1


def test_viber_chat_refuses_unsigned_and_malformed_callbacks(
    new_user: Callable[[], ViberUser], context: str, stack_url: str
) -> None:
    me = new_user()
    started = {"event": "conversation_started", "message_token": 1, "timestamp": 1, "context": context}
    started["user"] = {"id": me.user_id}
    # Given callbacks with no signature, a wrong one, or one made with another token
    refused = [
        me.send(started, signature="")[0],
        me.send(started, signature="0" * 64)[0],
        me.send(started, signature=sign(json.dumps(started).encode(), "guessed-token"))[0],
    ]
    # And correctly signed bodies that are no JSON object, and events the bot does not act on
    malformed = [me.send({}, raw=raw)[0] for raw in (b"{", b"null", b"[]", "не json".encode())]
    unknown = [
        me.send({"event": name, "timestamp": 1, "message_token": 7, "user_id": me.user_id})[0]
        for name in ("delivered", "seen", "failed", "subscribed", "unsubscribed", "something_new")
    ]
    # Then: 403, 400 and 200; and nobody was linked or messaged
    assert refused == [403, 403, 403]
    assert malformed == [400, 400, 400, 400]
    assert unknown == [200] * 6
    assert me.replies() == []
    status, welcome = me.start()  # the same user opening the chat without a QR: no account is theirs
    assert status == 200
    assert "Рахунок" not in welcome["text"]
    assert "о/р 77777" not in texts(me.say("Особовий кабінет"))


def test_viber_chat_two_hundred_malformed_messages_each_answered_in_ukrainian_nothing_written(
    new_user: Callable[[], ViberUser], context: str, stack_url: str
) -> None:
    # Given a resident at the gas meter's step, and the account as the cabinet shows it
    me = new_user()
    me.start(context)
    me.say("Введення показників")
    me.say("Показники о/р 77777")
    me.say("Лічильник 77777.2")
    at_meter = me.tracking
    web = cabinet(stack_url)
    before = meters(web, stack_url)
    junk = [
        "двісті", "205.1234", "-3", "1e3", "205 м3", "9" * 120, "🙂", "0x1F", "205..5", ",5.",
        "<b>205</b>", "'; DROP TABLE --", "١٢٣", "ⅠⅡ", "２０５", "205/3", "+205", "205%", "₴205", "\u200b205",
    ]  # fmt: skip
    kinds = ["sticker", "picture", "location", "contact", "file", "video", "url", "rich_media"]
    messages = [(text, "text") for text in junk] + [(None, kind) for kind in kinds]
    me.replies()
    # When 200 of them arrive, each from the meter's step
    for n in range(200):
        text, kind = messages[n % len(messages)]
        me.tracking = at_meter
        assert me.send(me.message(text, kind=kind))[0] == 200, (text, kind)
    # Then each got one answer, in Ukrainian, asking again for the gas reading or for text
    answers = me.replies()
    assert len(answers) == 200
    for n, answer in enumerate(answers):
        assert UKRAINIAN & set(answer["text"].lower()), messages[n % len(messages)]
    # And nothing was written: the account's meters are as they were
    assert meters(web, stack_url) == before
