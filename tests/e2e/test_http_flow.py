"""A resident's month over real HTTP against the running local stack (gateway, handler, DynamoDB Local)."""

from __future__ import annotations

from typing import Any

import requests


class Resident:
    """A client that keeps the session cookie as a browser would (requests drops Secure cookies on http)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.cookie: str | None = None
        self.csrf: str | None = None

    def call(self, method: str, path: str, body: Any = None) -> requests.Response:
        headers = {"Accept": "application/json"}
        if self.cookie:
            headers["Cookie"] = self.cookie
        if self.csrf and method != "GET":
            headers["X-CSRF-Token"] = self.csrf
        response = requests.request(method, f"{self.base_url}{path}", json=body, headers=headers, timeout=30)
        set_cookie = response.headers.get("Set-Cookie")
        if set_cookie:
            self.cookie = set_cookie.split(";", 1)[0]
        if response.ok and response.headers.get("Content-Type", "").startswith("application/json"):
            payload = response.json()
            if isinstance(payload, dict) and payload.get("csrf"):
                self.csrf = payload["csrf"]
        return response


def test_http_flow_sign_in_link_save_and_history(stack_url: str) -> None:
    resident = Resident(stack_url)
    # Given a new resident who signs up over HTTP
    signup = resident.call(
        "POST", "/api/auth/signup", {"email": "e2e-http@example.com", "password": "e2e-password"}
    )
    assert signup.status_code == 201, signup.text
    assert "HttpOnly" in signup.headers["Set-Cookie"] and "SameSite=Strict" in signup.headers["Set-Cookie"]
    # When they link 88888 by account + SRC
    linked = resident.call("POST", "/api/accounts", {"code": "88888640"})
    assert linked.status_code == 201, linked.text
    assert linked.json()["account"]["holder"] == "Петренко О. І."
    # And hand in the cold water reading with a comma
    page = resident.call("GET", "/api/accounts/88888").json()
    water = next(m for m in page["meters"] if m["kind"] == "cold_water")
    assert water["window"]["open"] is True
    previous = float(water["previous"]["value"])
    value = f"{previous + 1.25:.3f}".replace(".", ",")
    saved = resident.call(
        "POST", "/api/accounts/88888/readings", {"rows": [{"meter_id": water["id"], "value": value}]}
    )
    # Then it is saved, and the page, the history and the source say so
    assert saved.status_code == 200, saved.text
    assert saved.json()["results"][0]["status"] == "saved"
    again = {m["id"]: m for m in resident.call("GET", "/api/accounts/88888").json()["meters"]}
    assert again[water["id"]]["current"]["value"] == value.replace(",", ".")
    assert again[water["id"]]["current"]["source_label"].startswith("Дані внесено з сайту ")
    history = resident.call("GET", f"/api/accounts/88888/meters/{water['id']}/history").json()
    assert history["submissions"][0]["value"] == value.replace(",", ".")
    # And a stranger cannot see any of it
    stranger = Resident(stack_url)
    stranger.call(
        "POST", "/api/auth/signup", {"email": "e2e-stranger@example.com", "password": "e2e-password"}
    )
    assert stranger.call("GET", "/api/accounts/88888").status_code == 404
