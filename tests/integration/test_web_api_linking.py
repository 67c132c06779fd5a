"""Adding addresses by account number + SRC code (and the holder's surname when asked), and removing
them: answers, stored links and counters, notices, and what unlinking ends."""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.conditions import Key

from tests.integration.conftest import Browser


def _stranger(web: Browser, n: int = 0) -> Browser:
    guesser = Browser(web.handler)
    answer = guesser.call(
        "POST", "/api/auth/signup", {"email": f"guesser{n}@example.com", "password": "guesser-pass"}
    )
    assert answer.status == 201, answer.raw
    return guesser


def _attempt_items(table: Any) -> list[dict[str, Any]]:
    """The counters of link guesses (sign-in has its own)."""
    return [i for i in table.scan()["Items"] if i["pk"].startswith("ATTEMPTS#link_")]


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
    # And linking again is harmless, and the right code cost no budget
    assert web.call("POST", "/api/accounts", {"code": "88888640"}).status == 201
    assert all(item["count"] == 0 for item in _attempt_items(table))


def test_link_refusal_does_not_say_whether_the_account_exists(web: Browser) -> None:
    wrong_src = _stranger(web, 1).call("POST", "/api/accounts", {"code": "88888641"})
    no_account = _stranger(web, 2).call("POST", "/api/accounts", {"code": "12345640"})
    assert wrong_src.status == no_account.status == 400
    assert wrong_src.json == no_account.json
    assert wrong_src.json["error"]["code"] == "link_refused"


def test_link_code_must_be_8_or_9_ascii_digits_and_is_not_counted(web: Browser, table: Any) -> None:
    web.sign_in()
    for code in ("1234567", "1234567890", "88888-640", "abcdefgh", "", "٨٨٨٨٨٦٤٠", "８８８８８６４０"):
        answer = web.call("POST", "/api/accounts", {"code": code})
        assert answer.status == 400 and answer.json["error"]["code"] == "invalid_code", code
        assert "8 або 9 цифр" in answer.json["error"]["message"]
    # No guess was counted for any of them
    assert _attempt_items(table) == []


def test_link_after_a_mistake_asks_for_the_holders_surname(web: Browser, table: Any) -> None:
    # Given the demo resident who mistyped 88888's SRC code once
    web.sign_in()
    assert web.call("POST", "/api/accounts", {"code": "88888641"}).json["error"]["code"] == "link_refused"
    # When they type the right code
    asked = web.call("POST", "/api/accounts", {"code": "88888640"})
    # Then they are asked for the holder's surname, in Ukrainian
    assert asked.status == 400 and asked.json["error"]["code"] == "holder_needed"
    assert "прізвище власника" in asked.json["error"]["message"]
    # And with the surname as the invoice prints it (any case), the address is added
    added = web.call("POST", "/api/accounts", {"code": "88888640", "holder": "ПЕТРЕНКО"})
    assert added.status == 201 and added.json["account"]["number"] == "88888"
    # The counters are in the table, keyed by budget, with a TTL
    keys = {item["pk"] for item in _attempt_items(table)}
    assert "ATTEMPTS#link_code_account#88888" in keys and "ATTEMPTS#link_code_city#city" in keys
    assert all("ttl" in item for item in _attempt_items(table))


def test_link_guessing_at_one_account_pauses_after_its_budgets(web: Browser) -> None:
    # Given strangers who spent 88888's budgets: one wrong code alone, three wrong with a surname
    assert _stranger(web, 0).call("POST", "/api/accounts", {"code": "88888200"}).status == 400
    for n in range(1, 4):
        answer = _stranger(web, n).call("POST", "/api/accounts", {"code": f"8888820{n}", "holder": "Мельник"})
        assert answer.json["error"]["code"] == "link_refused"
    # When the holder comes with the right code and surname
    web.sign_in()
    assert web.call("POST", "/api/accounts", {"code": "88888640"}).json["error"]["code"] == "holder_needed"
    paused = web.call("POST", "/api/accounts", {"code": "88888640", "holder": "Петренко"})
    # Then linking 88888 by code is paused, the answer names when and points to the invoice's QR
    assert paused.status == 429 and paused.json["error"]["code"] == "link_paused"
    assert "QR-код" in paused.json["error"]["message"]
    assert [a["number"] for a in web.call("GET", "/api/accounts").json["accounts"]] == ["77777"]


def test_link_malformed_surname_is_refused_and_not_counted(web: Browser, table: Any) -> None:
    web.sign_in()
    answer = web.call("POST", "/api/accounts", {"code": "88888640", "holder": "12345"})
    assert answer.status == 400 and answer.json["error"]["code"] == "bad_holder"
    assert _attempt_items(table) == []


def test_link_tells_the_people_already_linked(web: Browser, table: Any) -> None:
    # Given the demo resident linked to 77777
    web.sign_in()
    demo_person = web.call("GET", "/api/me").json["person"]["id"]
    # When a stranger links 77777 with its code
    assert _stranger(web, 5).call("POST", "/api/accounts", {"code": "77777512"}).status == 201
    # Then a notice waits for the demo resident, for their next conversation in any door
    notices = table.query(
        KeyConditionExpression=Key("pk").eq(f"PERSON#{demo_person}") & Key("sk").begins_with("NOTICE#")
    )["Items"]
    assert [(n["code"], n["account"]) for n in notices] == [("account_linked", "77777")]


def test_unlink_removes_the_address_and_access(web: Browser, table: Any) -> None:
    web.sign_in()
    assert web.call("DELETE", "/api/accounts/77777").status == 204
    assert web.call("GET", "/api/accounts").json["accounts"] == []
    assert web.call("GET", "/api/accounts/77777").status == 404
    # The account and its meters stay: only the link went
    assert "Item" in table.get_item(Key={"pk": "ACC#77777", "sk": "ACCOUNT"})
