"""Every state-changing route of the resolver refuses a request without the CSRF token, found by
enumerating the routes (not by a hand-kept list), except the allowlisted ones that act for no session."""

from __future__ import annotations

import re
from typing import Any

import pytest

from functions.web_api import app as web_api
from tests.integration.conftest import Browser

# An example request for each state-changing route: a new route without one fails
# test_every_changing_route_has_an_example, so nobody can add a route this file does not try.
EXAMPLES: dict[tuple[str, str], tuple[str, Any]] = {
    ("POST", "/api/accounts"): ("/api/accounts", {"code": "88888640"}),
    ("DELETE", "/api/accounts/{account}"): ("/api/accounts/77777", None),
    ("POST", "/api/accounts/{account}/readings"): (
        "/api/accounts/77777/readings",
        {"rows": [{"meter_id": "77777.2", "value": "202"}]},
    ),
    ("PUT", "/api/accounts/{account}/meters/{meter}/bot"): (
        "/api/accounts/77777/meters/77777.2/bot",
        {"enabled": True, "amount": "3"},
    ),
    ("POST", "/api/auth/signout"): ("/api/auth/signout", None),
}


def _routes() -> set[tuple[str, str]]:
    return {
        (route.method.upper(), re.sub(r"<(\w+)>", r"{\1}", route.path))
        for route in [*web_api.app._static_routes, *web_api.app._dynamic_routes]
    }


def _changing() -> list[tuple[str, str]]:
    return sorted(r for r in _routes() if r[0] in web_api.CHANGING and r not in web_api.CSRF_EXEMPT)


def test_every_changing_route_has_an_example() -> None:
    # Given every state-changing route the resolver serves, less the allowlisted ones
    # Then each has an example request below, and no example names a route that is gone
    assert set(_changing()) == set(EXAMPLES)


def test_the_csrf_allowlist_holds_only_routes_that_act_for_no_session() -> None:
    # Given the allowlist
    # Then it names real routes, all of them signing in or recovering a password, never a cabinet route
    assert _routes() >= web_api.CSRF_EXEMPT
    assert all(
        path.startswith("/api/auth/") and path != "/api/auth/signout" for _, path in web_api.CSRF_EXEMPT
    )


@pytest.mark.parametrize("route", _changing(), ids=lambda r: f"{r[0]} {r[1]}")
def test_changing_route_refuses_a_missing_or_wrong_csrf_token(
    web: Browser, table: Any, route: tuple[str, str]
) -> None:
    path, body = EXAMPLES[route]
    # Given nobody signed in, the request is told to sign in first (the page then keeps what was typed)
    anonymous = web.call(route[0], path, body)
    assert anonymous.status == 401 and anonymous.json["error"]["code"] == "not_signed_in"
    # Given a signed-in resident whose browser is tricked into a request without the CSRF header
    web.sign_in()
    session_cookie, token = web.cookie, web.csrf
    web.csrf = None
    # When it arrives / Then it is refused before anything happens
    missing = web.call(route[0], path, body)
    assert missing.status == 403 and missing.json["error"]["code"] == "csrf"
    # And so is a request carrying another session's token
    web.csrf = "not-this-sessions-token"
    wrong = web.call(route[0], path, body)
    assert wrong.status == 403 and wrong.json["error"]["code"] == "csrf"
    # And nothing changed: no reading, no bot, the address still linked, the session still alive
    web.csrf = token
    meter = table.get_item(Key={"pk": "ACC#77777", "sk": "MTR#77777.2"})["Item"]
    assert "cur_value" not in meter and meter["bot_enabled"] is False
    assert [a["number"] for a in web.call("GET", "/api/accounts").json["accounts"]] == ["77777"]
    assert web.cookie == session_cookie and web.call("GET", "/api/me").status == 200


def test_a_session_checked_by_the_middleware_never_serves_the_next_request(web: Browser) -> None:
    # Given a signed-in save, whose session the CSRF middleware resolved for the route
    web.sign_in()
    body = {"rows": [{"meter_id": "77777.2", "value": "202"}]}
    assert web.call("POST", "/api/accounts/77777/readings", body).status == 200
    # When the next request to the same container comes without a cookie
    anonymous = Browser(web.handler)
    # Then it is not signed in: the resolved session lived for that one request only
    assert anonymous.call("GET", "/api/accounts").status == 401
    assert anonymous.call("POST", "/api/accounts/77777/readings", body).status == 401
