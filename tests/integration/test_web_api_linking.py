"""Adding addresses by account number + SRC code, and removing them: answers and stored links."""

from __future__ import annotations

from typing import Any

from tests.integration.conftest import Browser


def test_link_by_account_and_src_adds_the_address(web: Browser, table: Any) -> None:
    # Given the demo resident, who has only 77777
    web.sign_in()
    assert [a["number"] for a in web.call("GET", "/api/accounts").json["accounts"]] == ["77777"]
    # When they add 88888 with its SRC code 640, written with a space by habit
    answer = web.call("POST", "/api/accounts", {"code": "88888 640"})
    # Then it is linked both ways and listed
    assert answer.status == 201
    assert answer.json["account"] == {
        "number": "88888",
        "city": "Кременчук",
        "city_code": "05366",
        "holder": "Петренко О. І.",
        "address": "вул. Соборна, буд. 10, кв. 3",
    }
    assert sorted(a["number"] for a in web.call("GET", "/api/accounts").json["accounts"]) == [
        "77777",
        "88888",
    ]
    person = web.call("GET", "/api/me").json["person"]["id"]
    assert "Item" in table.get_item(Key={"pk": "ACC#88888", "sk": f"LINK#{person}"})
    assert web.call("GET", "/api/accounts/88888").status == 200
    # And linking again is harmless
    assert web.call("POST", "/api/accounts", {"code": "88888640"}).status == 201


def test_link_refusal_does_not_say_whether_the_account_exists(web: Browser) -> None:
    web.sign_in()
    wrong_src = web.call("POST", "/api/accounts", {"code": "88888641"})
    no_account = web.call("POST", "/api/accounts", {"code": "12345640"})
    assert wrong_src.status == no_account.status == 400
    assert wrong_src.json == no_account.json
    assert wrong_src.json["error"]["code"] == "link_refused"


def test_link_code_must_be_8_or_9_digits(web: Browser) -> None:
    web.sign_in()
    for code in ("1234567", "1234567890", "88888-640", "abcdefgh", ""):
        answer = web.call("POST", "/api/accounts", {"code": code})
        assert answer.status == 400 and answer.json["error"]["code"] == "invalid_code", code
        assert "8 або 9 цифр" in answer.json["error"]["message"]


def test_link_guessing_is_stopped_after_five_failures(web: Browser, table: Any) -> None:
    # Given five wrong SRC codes for 88888
    web.sign_in()
    for src in ("100", "101", "102", "103", "104"):
        assert web.call("POST", "/api/accounts", {"code": f"88888{src}"}).status == 400
    # When the right one is tried
    answer = web.call("POST", "/api/accounts", {"code": "88888640"})
    # Then it is refused for now, and nothing is linked
    assert answer.status == 429 and answer.json["error"]["code"] == "too_many_attempts"
    assert [a["number"] for a in web.call("GET", "/api/accounts").json["accounts"]] == ["77777"]


def test_link_guessing_is_limited_per_account_across_people(web: Browser) -> None:
    # Given five different people each failed once on 88888
    for n in range(5):
        guesser = Browser(web.handler)
        guesser.call(
            "POST", "/api/auth/signup", {"email": f"guesser{n}@example.com", "password": "guesser-pass"}
        )
        assert guesser.call("POST", "/api/accounts", {"code": f"8888820{n}"}).status == 400
    # Then the account is closed to linking for a while, even for the right code
    web.sign_in()
    assert web.call("POST", "/api/accounts", {"code": "88888640"}).status == 429


def test_unlink_removes_the_address_and_access(web: Browser, table: Any) -> None:
    web.sign_in()
    assert web.call("DELETE", "/api/accounts/77777").status == 204
    assert web.call("GET", "/api/accounts").json["accounts"] == []
    assert web.call("GET", "/api/accounts/77777").status == 404
    # The account and its meters stay: only the link went
    assert "Item" in table.get_item(Key={"pk": "ACC#77777", "sk": "ACCOUNT"})
